/* techempower.c: the TechEmpower Framework Benchmarks "plaintext" and "json" tests on the public
 * C API (research/perf_anchors.md §A.5).
 *
 *   fasterapi-techempower --port 8080 [--host 127.0.0.1] [--io-threads N]
 *
 * /plaintext answers "Hello, World!" as text/plain; /json serialises a new {"message": "Hello,
 * World!"} object with jansson on every request (the rules forbid caching the serialisation).
 * The server adds Server and Date (re-rendered every second) and Content-Length; pipelining is
 * handled by the server. SIGINT/SIGTERM stop it gracefully.
 */
#include <fasterapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void plaintext(fa_http_req_t *req, void *data) {
    (void)data;
    static const char body[] = "Hello, World!";
    fa_http_res_send(req, 200, "text/plain", body, sizeof body - 1);
}

static void json(fa_http_req_t *req, void *data) {
    (void)data;
    json_t *obj = json_object();
    json_object_set_new(obj, "message", json_string("Hello, World!"));
    fa_http_res_send_json(req, 200, obj);
    json_decref(obj);
}

static void announce(fa_http_server_t *srv, void *data) {
    char url[128];
    if (fa_http_server_url(srv, url, sizeof url) > 0)
        fprintf(stderr, "%s: listening on %s\n", (const char *)data, url);
}

static void usage(const char *argv0) {
    fprintf(stderr, "usage: %s [--port N] [--host H] [--io-threads N]\n", argv0);
    exit(2);
}

int main(int argc, char **argv) {
    fa_http_options_t opts;
    fa_http_options_init(&opts);
    opts.port = 8080;
    opts.handle_signals = 1;
    opts.on_listen = announce;
    opts.on_listen_data = "fasterapi-techempower";
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--port") == 0)
            opts.port = atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--host") == 0)
            opts.host = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--io-threads") == 0)
            opts.io_threads = atoi(argv[++i]);
        else
            usage(argv[0]);
    }
    fa_http_server_t *srv;
    int rc = fa_http_server_new(&srv, &opts);
    if (rc) {
        fprintf(stderr, "fasterapi-techempower: %s\n", fa_strerror(rc));
        return 1;
    }
    fa_http_route(srv, "GET", "/plaintext", plaintext, NULL);
    fa_http_route(srv, "GET", "/json", json, NULL);
    rc = fa_http_server_run(srv);
    fa_http_server_free(srv);
    if (rc) {
        fprintf(stderr, "fasterapi-techempower: %s\n", fa_strerror(rc));
        return 1;
    }
    return 0;
}
