/* pyhost/host.h: the Python host as the CLI uses it.
 *
 *   fa__pyhost_open   initialise CPython, import the user's file in the main interpreter and
 *                     export its table (tools, resources, prompts); nothing reaches stdout
 *   fa__pyhost_serve  register the table with a server and start the worker pool (isolated
 *                     interpreters, or the main interpreter as the fallback); returns as soon
 *                     as calls can run (in the main interpreter until the isolated workers
 *                     are up) and logs the "serving" line once the pool is complete
 *   fa__pyhost_close  stop the pool (each worker ends its interpreter) and finalise CPython
 *
 * All on the CLI's main thread; between serve and close that thread runs the server's loop and
 * holds no Python thread state.
 */
#ifndef FA_PYHOST_HOST_H
#define FA_PYHOST_HOST_H

#include <jansson.h>

#include "fasterapi/http.h"
#include "fasterapi/mcp.h"

typedef struct fa__pyhost_s fa__pyhost_t;

typedef struct {
    const char *app_path; /* the user's server file */
    const char *app_name; /* --mcp NAME, or NULL */
    int workers;          /* 0 = number of CPUs */
    int debug;            /* tracebacks in tool errors */
    int force_shared;     /* run in the main interpreter even where subinterpreters work */
    const char *venv;     /* a virtual environment to import packages from (--venv, or
                             VIRTUAL_ENV), or NULL: its Python version must be the embedded one */
    const char *web_name; /* --app NAME: the App instance's variable name, or NULL */
    double web_timeout_s; /* async web handlers are cancelled after this (0: never) */
} fa__pyhost_options_t;

/* Returns 0, or FA_EPYTHON after printing the Python error (with traceback) to stderr. */
int fa__pyhost_open(fa__pyhost_t **out, const fa__pyhost_options_t *o);
/* The exported table (borrowed): {"name","version","title","instructions","tools",...}. */
const json_t *fa__pyhost_table(const fa__pyhost_t *h);
/* The App's route table ([[method, pattern, flags], ...], borrowed), or NULL: no App. */
const json_t *fa__pyhost_web_table(const fa__pyhost_t *h);
/* Whether the file defines an MCP server (FastMCP), not only a web app. */
int fa__pyhost_has_mcp(const fa__pyhost_t *h);
/* After fa__pyhost_serve, before the HTTP server starts: registers the App's routes on it (the
 * requests run on the pool's workers). The registration lives until fa__pyhost_close, which must
 * come after the HTTP server is freed. 0 or a negative FA_E* (logged). */
int fa__pyhost_mount_web(fa__pyhost_t *h, fa_http_server_t *http);
/* Registers everything with srv and starts the pool. 0 or a negative FA_E* (error printed). */
int fa__pyhost_serve(fa__pyhost_t *h, fa_server_t *srv);
/* Whether the worker interpreters failed to start after serve had returned (the error is
 * logged and the server told to stop): the run should end with a failure status. */
int fa__pyhost_failed(const fa__pyhost_t *h);
/* "own GIL" / "shared GIL": the mode the pool runs in (after serve). */
const char *fa__pyhost_mode(const fa__pyhost_t *h);
/* Returns 1 when the worker interpreters failed to start (fa__pyhost_failed), else 0. */
int fa__pyhost_close(fa__pyhost_t *h);
/* The directory holding the fasterapi Python package (env FASTERAPI_PYTHONPATH, the install
 * tree next to the executable, or the source tree this was built from). */
const char *fa__pyhost_package_dir(void);
/* One line: the embedded Python's version and GIL mode (version.c); like snprintf. */
int fa__py_version_report(char *buf, unsigned long size);

#endif
