/* main.c: the `fasterapi` executable. The library has no main (DESIGN.md §3).
 *
 *   fasterapi run FILE.py [options]    serve the file's FastMCP app over stdio
 *   fasterapi inspect FILE.py          print its tool/resource/prompt table as JSON
 *   fasterapi --version                versions of FasterAPI, Python (and its GIL mode), libuv,
 *                                      jansson
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "fasterapi.h"
#include "mcp/server_internal.h"
#include "pyhost/host.h"

static void usage(FILE *out) {
    fputs("usage: fasterapi run FILE.py [options]   serve the FastMCP app in FILE.py over stdio\n"
          "       fasterapi inspect FILE.py [--mcp NAME]\n"
          "                                          print its tools, resources and prompts as "
          "JSON\n"
          "       fasterapi --version\n"
          "\n"
          "run options:\n"
          "  --workers N         Python worker threads, each with its own interpreter and GIL\n"
          "                      (default: the number of CPUs)\n"
          "  --tool-timeout S    cancel a call that runs longer than S seconds (default: none)\n"
          "  --state-key-file F  sign 2026-07-28 requestState with a key derived from file F\n"
          "                      (32+ secret bytes) so several instances accept each other's\n"
          "                      state (default: a random key per process)\n"
          "  --log-level L       trace, debug, info, warn, error or off (default: info; logs go\n"
          "                      to stderr, stdout carries only MCP messages)\n"
          "  --mcp NAME          the FastMCP instance's variable name (default: mcp, or the only\n"
          "                      instance in the file)\n"
          "  --debug             include Python tracebacks in tool errors\n"
          "  --shared-gil        run tools in the main interpreter even where isolated\n"
          "                      subinterpreters are available\n"
          "  --venv DIR          import packages from this virtual environment (default: the\n"
          "                      active one, $VIRTUAL_ENV); its Python version must be the\n"
          "                      embedded one (fasterapi --version)\n",
          out);
}

typedef struct {
    const char *file, *mcp, *venv, *state_key_file;
    int workers, debug, shared;
    double timeout;
} run_args_t;

static int parse_args(int argc, char **argv, run_args_t *a) {
    memset(a, 0, sizeof *a);
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (strcmp(o, "--debug") == 0) {
            a->debug = 1;
        } else if (strcmp(o, "--shared-gil") == 0) {
            a->shared = 1;
        } else if (strcmp(o, "--workers") == 0 && v) {
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 64) {
                fprintf(stderr, "fasterapi: --workers takes a number from 1 to 64\n");
                return -1;
            }
            a->workers = (int)n;
            i++;
        } else if (strcmp(o, "--tool-timeout") == 0 && v) {
            a->timeout = strtod(v, &end);
            if (*end || !(a->timeout > 0) || a->timeout > 86400) {
                fprintf(stderr, "fasterapi: --tool-timeout takes seconds (> 0, <= 86400)\n");
                return -1;
            }
            i++;
        } else if (strcmp(o, "--log-level") == 0 && v) {
            fa_log_level_t l;
            if (fa_log_parse_level(v, &l) != 0) {
                fprintf(stderr, "fasterapi: unknown log level '%s'\n", v);
                return -1;
            }
            fa_log_set_level(l);
            i++;
        } else if (strcmp(o, "--state-key-file") == 0 && v) {
            a->state_key_file = v;
            i++;
        } else if (strcmp(o, "--mcp") == 0 && v) {
            a->mcp = v;
            i++;
        } else if (strcmp(o, "--venv") == 0 && v) {
            a->venv = v;
            i++;
        } else if (o[0] == '-') {
            fprintf(stderr, "fasterapi: unknown or incomplete option '%s'\n", o);
            return -1;
        } else if (!a->file) {
            a->file = o;
        } else {
            fprintf(stderr, "fasterapi: unexpected argument '%s'\n", o);
            return -1;
        }
    }
    if (!a->file) {
        fprintf(stderr, "fasterapi: which file? (fasterapi %s FILE.py)\n", argv[1]);
        return -1;
    }
    if (!a->venv) {
        const char *active = getenv("VIRTUAL_ENV"); /* set by `source venv/bin/activate` */
        a->venv = active && *active ? active : NULL;
    }
    return 0;
}

static const char *str_or(const json_t *table, const char *key, const char *dflt) {
    const char *s = json_string_value(json_object_get(table, key));
    return s ? s : dflt;
}

static int cmd_run(int argc, char **argv) {
    run_args_t a;
    if (parse_args(argc, argv, &a) != 0)
        return 2;
    /* stdout is the protocol. Keep a private copy for it and point fd 1 at stderr, so nothing
     * else (print in a C extension, os.write(1, ...)) can corrupt the stream. */
    int proto = dup(STDOUT_FILENO);
    if (proto < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        fprintf(stderr, "fasterapi: cannot set up stdout: %s\n", strerror(errno));
        return 1;
    }
    fa__pyhost_options_t ho = {a.file, a.mcp, a.workers, a.debug, a.shared, a.venv};
    fa__pyhost_t *host;
    if (fa__pyhost_open(&host, &ho) != 0)
        return 1;
    const json_t *table = fa__pyhost_table(host);
    fa_server_options_t so;
    fa_server_options_init(&so);
    so.name = str_or(table, "name", "fasterapi");
    so.version = str_or(table, "version", FA_VERSION_STRING);
    so.title = str_or(table, "title", NULL);
    so.instructions = str_or(table, "instructions", NULL);
    so.workers = a.workers;
    so.handle_signals = 1; /* the CLI owns the process: SIGINT/SIGTERM shut down gracefully */
    so.tool_timeout_ms = a.timeout > 0 ? (unsigned)(a.timeout * 1000.0 + 0.5) : 0;
    so.state_key_file = a.state_key_file;
    fa_server_t *srv;
    int rc = fa_server_new(&srv, &so);
    if (rc == 0)
        rc = fa__pyhost_serve(host, srv);
    if (rc) {
        fa_server_free(srv);
        fa__pyhost_close(host);
        return 1;
    }
    FA_INFO("serving %s: %zu tool(s), Python %s (%s)", a.file,
            json_array_size(json_object_get(table, "tools")), FA_PYTHON_VERSION,
            fa__pyhost_mode(host));
    rc = fa_server_run_fds(srv, STDIN_FILENO, proto);
    close(proto);
    if (srv->abandoned) {
        /* Tools that never returned still run on worker threads inside their interpreters;
         * neither the interpreters nor Python can be shut down under them. Leave now. */
        FA_WARN("exiting without finalising Python: %zu call(s) never returned", srv->abandoned);
        fflush(stderr);
        _exit(rc == 0 ? 0 : 1);
    }
    fa_server_free(srv);
    fa__pyhost_close(host);
    return rc == 0 ? 0 : 1;
}

static int cmd_inspect(int argc, char **argv) {
    run_args_t a;
    if (parse_args(argc, argv, &a) != 0)
        return 2;
    /* Python's own stdout goes to stderr while the app loads; the table goes to stdout. */
    int out = dup(STDOUT_FILENO);
    if (out < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
        return 1;
    fa__pyhost_options_t ho = {a.file, a.mcp, 1, 0, 0, a.venv};
    fa__pyhost_t *host;
    if (fa__pyhost_open(&host, &ho) != 0)
        return 1;
    char *text = json_dumps(fa__pyhost_table(host), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fa__pyhost_close(host);
    if (!text)
        return 1;
    FILE *f = fdopen(out, "w");
    fprintf(f, "%s\n", text);
    fclose(f);
    free(text);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        char report[512];
        int n = fa_version_report(report, sizeof report);
        /* Python's line after FasterAPI's own (the library links no Python; the host does). */
        if (n > 0 && (size_t)n < sizeof report)
            fa__py_version_report(report + n, sizeof report - (size_t)n);
        fputs(report, stdout);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return cmd_run(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "inspect") == 0)
        return cmd_inspect(argc, argv);
    if (argc >= 2)
        fprintf(stderr, "fasterapi: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
