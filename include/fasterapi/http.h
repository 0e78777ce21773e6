/* fasterapi/http.h: an HTTP/1.1 server on libuv with C route handlers.
 *
 *   fa_http_options_t opts;
 *   fa_http_options_init(&opts);
 *   opts.port = 8080;
 *   opts.handle_signals = 1;
 *   fa_http_server_t *srv;
 *   fa_http_server_new(&srv, &opts);
 *   fa_http_route(srv, "GET", "/items/{id}", item_cb, NULL);
 *   fa_http_server_run(srv);      // blocks until SIGINT/SIGTERM or fa_http_server_stop
 *   fa_http_server_free(srv);
 *
 * Threads. fa_http_server_new, _route*, _start, _run, _close and _free are called by one thread,
 * the owner. With fa_http_server_start the server runs on a libuv loop the owner provides (loop
 * 0; with io_threads > 1 the other loops get their own threads); with fa_http_server_run it makes
 * its own loops and blocks. Handlers run on the I/O thread that owns the connection, one request
 * at a time per connection; everything a handler gets (the fa_http_req_t and the strings it hands
 * out) is valid until the handler returns, or, after fa_http_req_defer, until the request is
 * answered. A handler must answer (fa_http_res_send*), or defer; one that does neither is answered
 * with 500. fa_http_respond, fa_http_server_stop and fa_http_server_port may be called from any
 * thread. Nothing here installs a signal handler unless opts.handle_signals is set.
 *
 * Errors are negative FA_E* codes (fasterapi/error.h); HTTP errors (404, 413, ...) are responses,
 * never C return codes.
 */
#ifndef FASTERAPI_HTTP_H
#define FASTERAPI_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "fasterapi/common.h"

/* libuv's loop type (uv_loop_t); declared here so that this header does not need <uv.h> and its
 * POSIX feature macros. */
struct uv_loop_s;

typedef struct fa_http_server_s fa_http_server_t;
typedef struct fa_http_req_s fa_http_req_t;

/* Limits and timeouts: named, with the reason for each default; every one is an option below. */
/* Connections open at once over all loops: nginx's worker_connections order (it defaults to 512 per
 * worker, commonly raised to 10240). Beyond it a new connection gets 503 and is closed. */
#define FA_HTTP_MAX_CONNECTIONS 10240
/* Output queued for one client. A client that stops reading while more than this waits is closed
 * (memory stays bounded); above half of it, the server stops reading requests from it. */
#define FA_HTTP_MAX_OUTPUT (4u * 1024u * 1024u)
/* Idle keep-alive: 60 s, between uvicorn's 5 s (too short for a browser that reuses a connection
 * a little later) and nginx's 75 s. A proxy in front should use a shorter idle timeout than this,
 * so that it, not the server, closes an idle connection (no race on a reused connection). */
#define FA_HTTP_KEEPALIVE_TIMEOUT_MS 60000
/* The whole request head must arrive within 10 s of its first byte (slowloris) -> 408 and close;
 * nginx's client_header_timeout is 60 s, but a head is at most a few KiB. */
#define FA_HTTP_HEADER_TIMEOUT_MS 10000
/* A body that makes no progress for 30 s -> 408 and close (nginx client_body_timeout: 60 s
 * between two reads; ours also counts from the head). */
#define FA_HTTP_BODY_TIMEOUT_MS 30000
/* A handler (or a deferred request) that has not answered after 60 s -> 504. */
#define FA_HTTP_HANDLER_TIMEOUT_MS 60000
/* Graceful shutdown waits this long for in-flight requests, then closes everything. */
#define FA_HTTP_SHUTDOWN_TIMEOUT_MS 5000
/* listen(2) backlog: the kernel caps it at net.core.somaxconn (4096 on recent kernels). */
#define FA_HTTP_BACKLOG 1024

typedef struct {
    const char *host;      /* address to bind (default "127.0.0.1": loopback unless asked) */
    int port;              /* TCP port; 0 = any free port (see fa_http_server_port) */
    const char *unix_path; /* listen on this Unix socket instead of TCP (optional) */
    int io_threads;        /* libuv loops, each with its own SO_REUSEPORT listener (default 1) */
    int backlog;
    /* Limits (0 = the default named above / in transport limits). */
    size_t max_request_line, max_head, max_headers;
    uint64_t max_body;
    size_t max_connections;
    size_t max_output;
    /* Timeouts in milliseconds (0 = the default). */
    uint64_t keepalive_timeout_ms, header_timeout_ms, body_timeout_ms, handler_timeout_ms,
        shutdown_timeout_ms;
    const char *server_name;  /* the Server header (default "fasterapi") */
    int handle_signals;       /* fa_http_server_run stops gracefully on SIGINT/SIGTERM */
    const char *metrics_path; /* serve Prometheus metrics at this path (default: off) */
    /* Called once on loop 0's thread when every listener is bound (print the URL, signal a test).
     */
    void (*on_listen)(fa_http_server_t *srv, void *data);
    void *on_listen_data;
} fa_http_options_t;

typedef void (*fa_http_handler_cb)(fa_http_req_t *req, void *data);
typedef void (*fa_http_close_cb)(fa_http_server_t *srv);

/* A header for fa_http_respond: name and value, NUL-terminated, copied. */
typedef struct {
    const char *name;
    const char *value;
} fa_http_header_t;

/* A request answered later (fa_http_req_defer). */
typedef struct fa_http_deferred_s fa_http_deferred_t;

/* ---- lifecycle ---- */

FA_EXTERN void fa_http_options_init(fa_http_options_t *opts);
/* Copies what it needs from opts. 0 or FA_EINVAL (a bad option) / FA_ENOMEM. */
FA_EXTERN int fa_http_server_new(fa_http_server_t **out, const fa_http_options_t *opts);
/* Owner thread, after the server has closed (or was never started). Memory still referenced by
 * unanswered deferred requests is released when they are answered. */
FA_EXTERN void fa_http_server_free(fa_http_server_t *srv);

/* Registers a route before the server starts. method: "GET", "POST", ... or NULL for any method.
 * pattern: "/static", "/items/{id}", "/files/{rest:path}". HEAD uses the GET route. The first
 * registration of a pattern+method wins. 0, FA_EINVAL (bad pattern or method), FA_ESTATE (started),
 * FA_ENOMEM. */
FA_EXTERN int fa_http_route(fa_http_server_t *srv, const char *method, const char *pattern,
                            fa_http_handler_cb cb, void *data);
/* Serves the files under `dir` at `prefix` (GET and HEAD): ETag/If-None-Match, Last-Modified, a
 * single byte range, Content-Type from the extension; paths leaving dir are refused. */
FA_EXTERN int fa_http_route_static(fa_http_server_t *srv, const char *prefix, const char *dir);

/* Binds and starts listening; loop 0 is `loop` (the caller runs it; loops 1..io_threads-1 get
 * their own threads). Once per server: after a failure or a close, make a new server. 0 or a
 * negative error (-EADDRINUSE, ...); on failure nothing is left on `loop`. */
FA_EXTERN int fa_http_server_start(fa_http_server_t *srv, struct uv_loop_s *loop);
/* Loop 0's thread only (a handler on another loop uses fa_http_server_stop): graceful shutdown
 * (stop accepting, close idle connections, finish in-flight requests up to shutdown_timeout_ms,
 * then close everything and every handle); cb (may be NULL) fires on loop 0 when done. A second
 * call is a no-op. */
FA_EXTERN void fa_http_server_close(fa_http_server_t *srv, fa_http_close_cb cb);
/* Owner thread: makes the loops, serves, and returns 0 after a graceful shutdown (from
 * fa_http_server_stop or, with handle_signals, SIGINT/SIGTERM), or an error from start. */
FA_EXTERN int fa_http_server_run(fa_http_server_t *srv);
/* Any thread: begins a graceful shutdown. 0, or FA_ESTATE when not running. */
FA_EXTERN int fa_http_server_stop(fa_http_server_t *srv);
/* Any thread, after start: the bound TCP port (useful when port 0 was asked); 0 for Unix. */
FA_EXTERN int fa_http_server_port(const fa_http_server_t *srv);

/* Any thread, after start: "http://127.0.0.1:8080", "http://[::1]:8080" or "unix:/path", written
 * NUL-terminated into buf. Returns its length, or FA_ERANGE when cap is too small. */
FA_EXTERN int fa_http_server_url(const fa_http_server_t *srv, char *buf, size_t cap);

/* ---- request view (handler thread, while the request is not answered) ---- */

/* "GET", "POST", ... as sent (NUL-terminated). */
FA_EXTERN const char *fa_http_req_method(const fa_http_req_t *req);
/* The raw path (still percent-encoded) and query string (without '?'; "" when absent), both
 * NUL-terminated copies valid like the request. */
FA_EXTERN const char *fa_http_req_path(const fa_http_req_t *req);
FA_EXTERN const char *fa_http_req_query(const fa_http_req_t *req);
/* First header named `name` (case-insensitive), NUL-terminated; NULL when absent. */
FA_EXTERN const char *fa_http_req_header(fa_http_req_t *req, const char *name);
/* Path parameter from the route pattern, percent-decoded; NULL when absent. */
FA_EXTERN const char *fa_http_req_param(const fa_http_req_t *req, const char *name);
/* First query parameter `name`, decoded ('+' is a space); NULL when absent or malformed. */
FA_EXTERN const char *fa_http_req_query_param(fa_http_req_t *req, const char *name);
/* The request body (Content-Length or de-chunked); *len may be NULL. Not NUL-terminated. */
FA_EXTERN const char *fa_http_req_body(const fa_http_req_t *req, size_t *len);

/* ---- responses (handler thread) ---- */

/* Adds a response header for the coming fa_http_res_send*; name and value are copied. CR/LF in
 * either -> FA_EINVAL (header injection). Content-Length, Transfer-Encoding, Date and Server are
 * the server's. */
FA_EXTERN int fa_http_res_header(fa_http_req_t *req, const char *name, const char *value);
/* Answers: status, Content-Type (NULL = none), body (copied). 0 or FA_ESTATE (already answered). */
FA_EXTERN int fa_http_res_send(fa_http_req_t *req, int status, const char *content_type,
                               const void *body, size_t len);
/* Answers with json serialised compactly as application/json. Borrows json. */
FA_EXTERN int fa_http_res_send_json(fa_http_req_t *req, int status, const json_t *json);

/* Detaches the request from the handler: returns a handle that must be answered exactly once
 * with fa_http_respond, from any thread. The request view (req and its strings) stays valid until
 * then. NULL on out of memory (the request is then answered with 500). */
FA_EXTERN fa_http_deferred_t *fa_http_req_defer(fa_http_req_t *req);
/* Any thread: answers a deferred request (headers: nheaders entries, may be NULL; body copied).
 * Consumes d in every case. If the client left, the server stopped, or the handler timeout already
 * answered 504, the answer is dropped. 0, or FA_ESTATE when it was dropped because the server is
 * gone, FA_ENOMEM. */
FA_EXTERN int fa_http_respond(fa_http_deferred_t *d, int status, const char *content_type,
                              const fa_http_header_t *headers, size_t nheaders, const void *body,
                              size_t len);
/* The request view of a deferred request (valid until fa_http_respond). */
FA_EXTERN fa_http_req_t *fa_http_deferred_req(fa_http_deferred_t *d);

#endif
