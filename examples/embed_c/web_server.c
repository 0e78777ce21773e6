/* web_server.c: a small web app on the FasterAPI C embedding API (fasterapi/http.h).
 *
 *   fasterapi-example-web [--port 8000] [--host 127.0.0.1] [--io-threads N] [--static DIR]
 *
 * Routes:
 *   GET  /json          a JSON object
 *   GET  /items/{id}    echoes the decoded path parameter and the query parameter q as JSON
 *   POST /echo          echoes the request body with its Content-Type
 *   GET  /slow?ms=N     answered N ms later (at most 10 s) from another thread (fa_http_req_defer)
 *   GET  /static/...    files under DIR (default: the current directory)
 *
 * Try it:
 *   curl -s 'http://127.0.0.1:8000/items/a%20b?q=x+y'
 *   curl -s -d hello http://127.0.0.1:8000/echo
 *
 * SIGINT/SIGTERM stop it gracefully (requests in flight are answered first).
 */
#define _POSIX_C_SOURCE 200809L
#include <fasterapi.h>
#include <pthread.h>
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
        } else {
            fprintf(stderr, "usage: %s [--port N] [--host H] [--io-threads N] [--static DIR]\n",
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
    rc = fa_http_route_static(srv, "/static", dir);
    if (rc)
        fprintf(stderr, "fasterapi-example-web: no static route (%s)\n", fa_strerror(rc));
    rc = fa_http_server_run(srv);
    fa_http_server_free(srv);
    if (rc) {
        fprintf(stderr, "fasterapi-example-web: %s\n", fa_strerror(rc));
        return 1;
    }
    return 0;
}
