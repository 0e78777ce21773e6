/* pyhost/web.h: Python web routes (fasterapi.web.App) on the C HTTP core (web.c).
 *
 *   fa__pyweb_mount    registers the app's route table on an HTTP server (before it starts);
 *                      each matched request becomes a job on the Python pool's web queue
 *   fa__pyweb_run      runs one job on a worker (its GIL held)
 *   fa__pyweb_add_type adds `_fasterapi.HttpRequest` to a module (per interpreter)
 */
#ifndef FA_PYHOST_WEB_H
#define FA_PYHOST_WEB_H

#include <jansson.h>

#include "fasterapi/http.h"

/* Route flags, the third column of a table row (_runtime.web_table). */
#define FA_PYWEB_NEEDS_CLIENT 1u /* a handler reads Request.client: look the peer up */

typedef struct fa__pyweb_s fa__pyweb_t;
typedef struct fa__pyws_s fa__pyws_t;
typedef struct fa__pyweb_job_s fa__pyweb_job_t;
struct fa__pypool_s;

/* table: [[method, pattern, flags], ...]; row i runs the App's route row i in every worker.
 * 0, or FA_EINVAL (a malformed row), FA_ERANGE (too many routes), an fa_http_route error. */
int fa__pyweb_mount(fa__pyweb_t **out, struct fa__pypool_s *pool, fa_http_server_t *http,
                    const json_t *table);
/* After the HTTP server has been freed. */
void fa__pyweb_free(fa__pyweb_t *web);
/* Answers a job that will not run (any thread) and frees it. */
void fa__pyweb_job_reject(fa__pyweb_job_t *job, int status, const char *text);

/* ws.c. Registers WebSocket row `row` (["WS", pattern, flags, {"subprotocols": [...],
 * "max_message": n}]) as the App's WebSocket route #index; *ws is created on first use. 0,
 * FA_EINVAL, FA_ENOMEM, an fa_ws_route error. */
int fa__pyws_add(fa__pyws_t **ws, struct fa__pypool_s *pool, fa_http_server_t *http,
                 const json_t *row, uint32_t index);
/* After the HTTP server and the pool are gone; also frees the broadcast groups. */
void fa__pyws_free(fa__pyws_t *ws);

/* ---- streaming answers and SSE channels (web_stream.c) ---- */

#ifdef Py_PYTHON_H /* the Python parts, for the files that include Python.h (first) */
/* creq.stream(status, content_type, headers, keepalive_ms) -> `_fasterapi.HttpStream`: takes the
 * deferred request (*dp is set to NULL once taken) and starts a chunked response. NULL with a
 * Python error (the request is then still the caller's). */
PyObject *fa__pyweb_stream_open(PyObject *module, fa_http_deferred_t **dp, PyObject *const *args,
                                Py_ssize_t nargs);
/* creq.sse_subscribe(channel, keepalive_ms, retry_ms): answers the request with an event stream
 * subscribed to the named channel (replay after Last-Event-ID first). Same ownership rule. */
PyObject *fa__pyweb_sse_subscribe(fa_http_deferred_t **dp, PyObject *const *args, Py_ssize_t nargs);
/* Adds `HttpStream`, sse_publish and sse_subscribers to a module (per interpreter). */
int fa__pyweb_stream_add_type(PyObject *module);
#endif
/* The server channels are made on (at mount), and their end (after the server has been freed). */
void fa__pyweb_channels_bind(fa_http_server_t *srv);
void fa__pyweb_channels_free(void);

#endif
