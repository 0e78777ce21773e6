/* web_server.c: a small web app on the FasterAPI C embedding API (fasterapi/http.h).
 *
 *   fasterapi-example-web [--port 8000] [--host 127.0.0.1] [--io-threads N] [--static DIR]
 *                         [--clock-ms 1000] [--max-connections N] [--max-body BYTES]
 *                         [--header-timeout-ms MS] [--body-timeout-ms MS]
 *
 * Routes:
 *   GET  /json          a JSON object
 *   GET  /items/{id}    echoes the decoded path parameter and the query parameter q as JSON
 *   POST /echo          echoes the request body with its Content-Type
 *   GET  /slow?ms=N     answered N ms later (at most 10 s) from another thread (fa_http_req_defer)
 *   GET  /static/...    files under DIR (default: the current directory)
 *   GET  /events        Server-Sent Events: a clock, one event per second (--clock-ms) with an
 *                       id; a client that reconnects with Last-Event-ID gets what it missed
 *   GET  /ws            WebSocket echo: every text or binary message comes back as sent
 *
 * Try it:
 *   curl -s 'http://127.0.0.1:8000/items/a%20b?q=x+y'
 *   curl -s -d hello http://127.0.0.1:8000/echo
 *   curl -sN http://127.0.0.1:8000/events
 *   curl -sN -H 'Last-Event-ID: 3' http://127.0.0.1:8000/events
 *
 * SIGINT/SIGTERM stop it gracefully (requests in flight are answered first).
 */
#define _POSIX_C_SOURCE 200809L
#include <fasterapi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void json_cb(fa_http_req_t *req, void *data) {
    (void)data;
    json_t *o = json_pack("{s:s, s:[i,i,i]}", "message", "Hello from C", "numbers", 1, 2, 3);
    fa_http_res_send_json(req, 200, o);
    json_decref(o);
}

static void item_cb(fa_http_req_t *req, void *data) {
    (void)data;
    const char *q = fa_http_req_query_param(req, "q");
    json_t *o = json_pack("{s:s, s:s?}", "id", fa_http_req_param(req, "id"), "q", q);
    fa_http_res_send_json(req, 200, o);
    json_decref(o);
}

static void echo_cb(fa_http_req_t *req, void *data) {
    (void)data;
    size_t len;
    const char *body = fa_http_req_body(req, &len);
    const char *ctype = fa_http_req_header(req, "Content-Type");
    fa_http_res_send(req, 200, ctype ? ctype : "application/octet-stream", body, len);
}

/* /slow: the handler returns at once; a thread answers later, as a handler waiting on a database
 * or a worker pool would. */
typedef struct {
    fa_http_deferred_t *d;
    long ms;
} slow_job_t;

static void *slow_thread(void *arg) {
    slow_job_t *job = arg;
    struct timespec ts = {job->ms / 1000, (job->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    char body[64];
    int n = snprintf(body, sizeof body, "{\"slept_ms\":%ld}", job->ms);
    fa_http_respond(job->d, 200, "application/json", NULL, 0, body, (size_t)n);
    free(job);
    return NULL;
}

static void slow_cb(fa_http_req_t *req, void *data) {
    (void)data;
    const char *ms = fa_http_req_query_param(req, "ms");
    long v = ms ? atol(ms) : 100;
    if (v < 0 || v > 10000) {
        fa_http_res_send(req, 400, "text/plain", "ms must be 0..10000\n", 20);
        return;
    }
    slow_job_t *job = malloc(sizeof *job);
    if (!job) {
        fa_http_res_send(req, 503, "text/plain", "busy\n", 5);
        return;
    }
    job->ms = v;
    job->d = fa_http_req_defer(req);
    pthread_t t;
    if (!job->d || pthread_create(&t, NULL, slow_thread, job) != 0) {
        if (job->d)
            fa_http_respond(job->d, 503, "text/plain", NULL, 0, "busy\n", 5);
        free(job);
        return;
    }
    pthread_detach(t);
}

/* /events: every client subscribes to one channel, which a clock thread publishes to. The
 * channel numbers the events and keeps the last ones, so an EventSource that loses its
 * connection and comes back with Last-Event-ID resumes without a gap. */
static fa_sse_channel_t *clock_chan;
static long clock_ms = 1000;
static atomic_int clock_stop;

static void events_cb(fa_http_req_t *req, void *data) {
    fa_sse_options_t o;
    fa_sse_options_init(&o);
    o.channel = data;
    o.retry_ms = clock_ms; /* reconnect after about one tick */
    if (fa_sse_open(req, &o, NULL) != 0)
        fa_http_res_send(req, 503, "text/plain", "busy\n", 5);
}

static void *clock_thread(void *arg) {
    (void)arg;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load(&clock_stop)) {
        next.tv_nsec += (clock_ms % 1000) * 1000000L;
        next.tv_sec += clock_ms / 1000 + next.tv_nsec / 1000000000L;
        next.tv_nsec %= 1000000000L;
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        struct tm tm;
        gmtime_r(&now.tv_sec, &tm);
        char text[64];
        size_t n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
        n += (size_t)snprintf(text + n, sizeof text - n, ".%03ldZ", now.tv_nsec / 1000000L);
        /* id NULL: the channel numbers the events "1", "2", ... */
        fa_sse_channel_publish(clock_chan, NULL, NULL, text, n, NULL);
    }
    return NULL;
}
/* /ws: echo each message with its type (fasterapi/ws.h). The route options must outlive the
 * server, hence static. */
static void ws_echo(fa_ws_t *ws, int type, const char *msg, size_t len, void *data) {
    (void)data;
    fa_ws_send(ws, type, msg, len);
}

static fa_ws_options_t ws_echo_opts;

static void announce(fa_http_server_t *srv, void *data) {
    (void)data;
    char url[160];
    if (fa_http_server_url(srv, url, sizeof url) > 0)
        fprintf(stderr, "fasterapi-example-web: listening on %s\n", url);
}

int main(int argc, char **argv) {
    fa_http_options_t opts;
    fa_http_options_init(&opts);
    opts.handle_signals = 1;
    opts.on_listen = announce;
    /* /ws echoes messages of up to 16 MiB (FA_WS_DEFAULT_MAX_MESSAGE, as the Autobahn suite's
     * largest cases send): the output a client may leave unread must hold such an echo and the
     * next one, so raise the server's 4 MiB default. */
    opts.max_output = 40u * 1024u * 1024u;
    const char *dir = ".";
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--port") == 0) {
            opts.port = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--host") == 0) {
            opts.host = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--io-threads") == 0) {
            opts.io_threads = atoi(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--static") == 0) {
            dir = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--max-connections") == 0) {
            opts.max_connections = (size_t)atol(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--max-body") == 0) {
            opts.max_body = (uint64_t)atoll(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--header-timeout-ms") == 0) {
            opts.header_timeout_ms = (uint64_t)atoll(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--body-timeout-ms") == 0) {
            opts.body_timeout_ms = (uint64_t)atoll(argv[++i]);
        } else if (i + 1 < argc && strcmp(argv[i], "--clock-ms") == 0) {
            clock_ms = atol(argv[++i]);
            if (clock_ms < 1 || clock_ms > 3600000)
                clock_ms = 1000;
        } else {
            fprintf(stderr,
                    "usage: %s [--port N] [--host H] [--io-threads N] [--static DIR] "
                    "[--clock-ms N]\n"
                    "       [--max-connections N] [--max-body BYTES] [--header-timeout-ms MS] "
                    "[--body-timeout-ms MS]\n",
                    argv[0]);
            return 2;
        }
    }
    fa_http_server_t *srv;
    int rc = fa_http_server_new(&srv, &opts);
    if (rc) {
        fprintf(stderr, "fasterapi-example-web: %s\n", fa_strerror(rc));
        return 1;
    }
    fa_http_route(srv, "GET", "/json", json_cb, NULL);
    fa_http_route(srv, "GET", "/items/{id}", item_cb, NULL);
    fa_http_route(srv, "POST", "/echo", echo_cb, NULL);
    fa_http_route(srv, "GET", "/slow", slow_cb, NULL);
    fa_ws_options_init(&ws_echo_opts);
    ws_echo_opts.on_message = ws_echo;
    fa_ws_route(srv, "/ws", &ws_echo_opts);
    rc = fa_http_route_static(srv, "/static", dir);
    if (rc)
        fprintf(stderr, "fasterapi-example-web: no static route (%s)\n", fa_strerror(rc));
    pthread_t clock;
    int have_clock = 0;
    if (fa_sse_channel_new(&clock_chan, srv, 0, 0) == 0 &&
        fa_http_route(srv, "GET", "/events", events_cb, clock_chan) == 0 &&
        pthread_create(&clock, NULL, clock_thread, NULL) == 0)
        have_clock = 1;
    else
        fprintf(stderr, "fasterapi-example-web: no /events route\n");
    rc = fa_http_server_run(srv);
    if (have_clock) {
        atomic_store(&clock_stop, 1);
        pthread_join(clock, NULL);
    }
    fa_sse_channel_free(clock_chan); /* after the server closed: its streams are gone */
    fa_http_server_free(srv);
    if (rc) {
        fprintf(stderr, "fasterapi-example-web: %s\n", fa_strerror(rc));
        return 1;
    }
    return 0;
}
