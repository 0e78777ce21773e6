/* fuzz_http_conn.c: the HTTP connection (src/transport/http_conn.c) fed arbitrary client bytes.
 *
 * One server with small limits runs on a loop driven by this thread. Each input is split in two at
 * a point chosen by its first byte (so buffer compaction, growth and resumed parsing are
 * exercised), written into one end of a socketpair whose other end the server adopts, then the
 * client half-closes and the loop runs until the server has answered and closed. Routes cover the
 * paths with the most buffer handling: bodies echoed (Content-Length and chunked), path and query
 * parameters, a handler that does not answer, a stream, and a protocol takeover after 101.
 *
 * Invariants: no crash or sanitizer report; every connection ends (the server closes it once the
 * client has half-closed); what the server sends starts with a status line; no connection is left
 * open.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "fasterapi/http.h"
#include "fuzz_common.h"
#include "transport/http_internal.h"

static uv_loop_t loop;
static fa_http_server_t *srv;
static char sock_path[64];

static void h_echo(fa_http_req_t *req, void *data) {
    (void)data;
    size_t len;
    const char *body = fa_http_req_body(req, &len);
    fa_http_res_send(req, 200, "application/octet-stream", body, len);
}

static void h_item(fa_http_req_t *req, void *data) {
    (void)data;
    const char *id = fa_http_req_param(req, "id");
    const char *q = fa_http_req_query_param(req, "q");
    const char *h = fa_http_req_header(req, "X-A");
    fa_http_res_header(req, "X-Id", id ? id : "");
    json_t *o = json_pack("{s:s?, s:s?, s:s?}", "id", id, "q", q, "h", h);
    fa_http_res_send_json(req, 200, o);
    json_decref(o);
}

static void h_silent(fa_http_req_t *req, void *data) {
    (void)req;
    (void)data;
}

static void h_stream(fa_http_req_t *req, void *data) {
    (void)data;
    fa__http_stream_t *s = fa__http_stream_start(req, 200, "text/plain", NULL, NULL, NULL);
    if (s) {
        fa__http_stream_write(s, "a", 1);
        fa__http_stream_end(s);
    }
}

static size_t echo_read(fa__http_conn_t *c, void *ctx, char *d, size_t n) {
    (void)ctx;
    size_t take = n > 7 ? n - 3 : n; /* leave some bytes for the next call */
    fa__buf_append(fa__http_conn_out(c), d, take);
    fa__http_conn_flush(c);
    return take;
}

static void echo_close(fa__http_conn_t *c, void *ctx) {
    (void)c;
    (void)ctx;
}

static const fa__http_proto_t echo_proto = {echo_read, NULL, echo_close, NULL};

static void h_upgrade(fa_http_req_t *req, void *data) {
    (void)data;
    fa_http_res_header(req, "Upgrade", "echo");
    fa_http_res_header(req, "Connection", "Upgrade");
    fa_http_res_send(req, 101, NULL, NULL, 0);
    fa__http_takeover(req, &echo_proto, NULL);
}

static void setup(void) {
    uv_loop_init(&loop);
    fa_http_options_t o;
    fa_http_options_init(&o);
    snprintf(sock_path, sizeof sock_path, "/tmp/fa_fuzz_http_%d.sock", (int)getpid());
    o.unix_path = sock_path;
    o.max_request_line = 512;
    o.max_head = 2048;
    o.max_headers = 16;
    o.max_body = 4096;
    o.max_output = 64 * 1024;
    FUZZ_CHECK(fa_http_server_new(&srv, &o) == 0);
    fa_http_route(srv, NULL, "/echo", h_echo, NULL);
    fa_http_route(srv, "GET", "/items/{id}", h_item, NULL);
    fa_http_route(srv, "GET", "/files/{rest:path}", h_item, NULL);
    fa_http_route(srv, "GET", "/silent", h_silent, NULL);
    fa_http_route(srv, "GET", "/stream", h_stream, NULL);
    fa_http_route(srv, "GET", "/upgrade", h_upgrade, NULL);
    FUZZ_CHECK(fa_http_server_start(srv, &loop) == 0);
    unlink(sock_path); /* connections come through fa__http_conn_adopt only */
}

static void write_some(int fd, const uint8_t *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return; /* the server closed early (an error answer): fine */
        p += w;
        n -= (size_t)w;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!srv)
        setup();
    if (size > 32 * 1024)
        return 0;
    int sv[2];
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    /* Big enough buffers that the whole input fits without the loop running. */
    int big = 256 * 1024;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    FUZZ_CHECK(fa__http_conn_adopt(srv, 0, sv[1]) == 0);
    size_t cut = size ? data[0] % (size + 1) : 0;
    write_some(sv[0], data, cut);
    uv_run(&loop, UV_RUN_NOWAIT);
    write_some(sv[0], data + cut, size - cut);
    shutdown(sv[0], SHUT_WR);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    char out[65536];
    size_t got = 0;
    char first[9] = {0};
    int eof = 0;
    for (int spins = 0; spins < 100000 && !eof; spins++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        for (;;) {
            ssize_t n = read(sv[0], out, sizeof out);
            if (n > 0) {
                if (got < 9)
                    memcpy(first + got, out, (size_t)n < 9 - got ? (size_t)n : 9 - got);
                got += (size_t)n;
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                eof = 1;
            break;
        }
    }
    FUZZ_CHECK(eof);
    if (got >= 9)
        FUZZ_CHECK(memcmp(first, "HTTP/1.1 ", 9) == 0);
    close(sv[0]);
    /* The server's side goes away within a few iterations (lingering ends at our close). */
    for (int spins = 0; spins < 1000 && srv->loops[0].nconns; spins++)
        uv_run(&loop, UV_RUN_NOWAIT);
    FUZZ_CHECK(srv->loops[0].nconns == 0);
    return 0;
}
