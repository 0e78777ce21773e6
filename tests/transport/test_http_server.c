/* Tests for the HTTP/1.1 server (src/transport/http_server.c, http_conn.c): each test runs a
 * server on a libuv loop in its own thread and talks to it over raw sockets, so every byte on the
 * wire is checked. Every test ends with the server loop's uv_loop_close() == 0 (STYLE.md §13). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "core/buf.h"
#include "fa_test.h"
#include "fasterapi/error.h"
#include "fasterapi/http.h"
#include "transport/http_internal.h"

/* ---- server on a thread ---- */

typedef void (*setup_fn)(fa_http_server_t *srv, fa_http_options_t *opts);

typedef struct {
    fa_http_server_t *srv;
    uv_loop_t loop;
    pthread_t th;
    fa_http_options_t opts;
    setup_fn setup;
    int port;
    int start_rc;
    int close_rc;
    int closed;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready;
} server_t;

static void *server_thread(void *arg) {
    server_t *s = arg;
    uv_loop_init(&s->loop);
    int rc = fa_http_server_new(&s->srv, &s->opts);
    if (rc == 0 && s->setup)
        s->setup(s->srv, &s->opts);
    if (rc == 0)
        rc = fa_http_server_start(s->srv, &s->loop);
    pthread_mutex_lock(&s->mu);
    s->start_rc = rc;
    s->port = rc == 0 ? fa_http_server_port(s->srv) : 0;
    s->ready = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (rc == 0)
        uv_run(&s->loop, UV_RUN_DEFAULT);
    s->close_rc = uv_loop_close(&s->loop);
    return NULL;
}

static server_t *server_start_opts(setup_fn setup, const fa_http_options_t *opts) {
    server_t *s = calloc(1, sizeof *s);
    if (opts)
        s->opts = *opts;
    else
        fa_http_options_init(&s->opts);
    s->opts.port = 0;
    s->setup = setup;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_create(&s->th, NULL, server_thread, s);
    pthread_mutex_lock(&s->mu);
    while (!s->ready)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    ck_assert_int_eq(s->start_rc, 0);
    if (!s->opts.unix_path)
        ck_assert_int_gt(s->port, 0);
    return s;
}

static server_t *server_start(setup_fn setup) {
    return server_start_opts(setup, NULL);
}

static void server_stop(server_t *s) {
    ck_assert_int_eq(fa_http_server_stop(s->srv), 0);
    pthread_join(s->th, NULL);
    ck_assert_int_eq(s->close_rc, 0);
    fa_http_server_free(s->srv);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* ---- client ---- */

typedef struct {
    int fd;
    char buf[1 << 16];
    size_t len;
} client_t;

static client_t *client_connect(int port) {
    client_t *c = calloc(1, sizeof *c);
    c->fd = fa_test_connect_loopback(port);
    return c;
}

static void client_close(client_t *c) {
    close(c->fd);
    free(c);
}

static void client_send(client_t *c, const char *data, size_t len) {
    while (len) {
        ssize_t w = send(c->fd, data, len, MSG_NOSIGNAL);
        ck_assert_int_gt(w, 0);
        data += w;
        len -= (size_t)w;
    }
}

static void client_sends(client_t *c, const char *s) {
    client_send(c, s, strlen(s));
}

/* Reads more bytes; returns 0 at EOF (or reset), -1 on timeout. */
static int client_fill(client_t *c) {
    ck_assert_uint_lt(c->len, sizeof c->buf - 1);
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return -1;
    if (n <= 0)
        return 0;
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    return 1;
}

typedef struct {
    int status;
    char head[4096];
    char body[8192];
    size_t body_len;
} response_t;

/* Reads one response (Content-Length or chunked body; no body when no_body). 1 on success, 0 at
 * EOF before a response. */
static int read_response_ex(client_t *c, response_t *r, int no_body) {
    memset(r, 0, sizeof *r);
    char *end;
    while (!(end = strstr(c->buf, "\r\n\r\n"))) {
        int rc = client_fill(c);
        ck_assert_int_ne(rc, -1);
        if (rc == 0)
            return 0;
    }
    size_t hl = (size_t)(end + 4 - c->buf);
    ck_assert_uint_lt(hl, sizeof r->head);
    memcpy(r->head, c->buf, hl);
    r->head[hl] = '\0';
    ck_assert_int_eq(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    size_t need = 0;
    const char *cl = strcasestr(r->head, "\r\nContent-Length: ");
    int chunked = strcasestr(r->head, "\r\nTransfer-Encoding: chunked") != NULL;
    if (cl)
        need = strtoul(cl + 18, NULL, 10);
    if (no_body || r->status < 200 || r->status == 204 || r->status == 304)
        need = 0;
    memmove(c->buf, c->buf + hl, c->len - hl + 1);
    c->len -= hl;
    if (chunked && !no_body) {
        for (;;) {
            char *crlf;
            while (!(crlf = strstr(c->buf, "\r\n")))
                ck_assert_int_eq(client_fill(c), 1);
            size_t sz = strtoul(c->buf, NULL, 16);
            size_t line = (size_t)(crlf + 2 - c->buf);
            while (c->len < line + sz + 2)
                ck_assert_int_eq(client_fill(c), 1);
            memcpy(r->body + r->body_len, c->buf + line, sz);
            r->body_len += sz;
            memmove(c->buf, c->buf + line + sz + 2, c->len - line - sz - 2 + 1);
            c->len -= line + sz + 2;
            if (sz == 0)
                break;
        }
        return 1;
    }
    while (c->len < need)
        ck_assert_int_eq(client_fill(c), 1);
    ck_assert_uint_lt(need, sizeof r->body);
    memcpy(r->body, c->buf, need);
    r->body_len = need;
    memmove(c->buf, c->buf + need, c->len - need + 1);
    c->len -= need;
    return 1;
}

static int read_response(client_t *c, response_t *r) {
    return read_response_ex(c, r, 0);
}

/* 1 when the server closed the connection (EOF) with nothing more to read. */
static int client_sees_eof(client_t *c) {
    if (c->len)
        return 0;
    int rc = client_fill(c);
    return rc == 0;
}

/* ---- handlers ---- */

static void h_hello(fa_http_req_t *req, void *data) {
    (void)data;
    fa_http_res_header(req, "X-Test", "1");
    fa_http_res_send(req, 200, "text/plain", "Hello, World!", 13);
}

static void h_item(fa_http_req_t *req, void *data) {
    (void)data;
    const char *id = fa_http_req_param(req, "id");
    const char *q = fa_http_req_query_param(req, "q");
    char body[256];
    int n = snprintf(body, sizeof body, "id=%s q=%s", id ? id : "-", q ? q : "-");
    fa_http_res_send(req, 200, "text/plain", body, (size_t)n);
}

static void h_echo(fa_http_req_t *req, void *data) {
    (void)data;
    size_t len;
    const char *body = fa_http_req_body(req, &len);
    fa_http_res_send(req, 200, "application/octet-stream", body, len);
}

static void h_silent(fa_http_req_t *req, void *data) {
    (void)req;
    (void)data; /* answers nothing: the server must say 500 and keep the connection */
}

static void h_json(fa_http_req_t *req, void *data) {
    (void)data;
    json_t *o = json_pack("{s:s}", "message", "Hello, World!");
    fa_http_res_send_json(req, 200, o);
    json_decref(o);
}

/* Deferred: a thread answers after ms milliseconds (query ?ms=N), echoing the path. */
typedef struct {
    fa_http_deferred_t *d;
    long ms;
} job_t;

static _Atomic int jobs_done;

static void *job_thread(void *arg) {
    job_t *j = arg;
    struct timespec ts = {j->ms / 1000, (j->ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    fa_http_req_t *req = fa_http_deferred_req(j->d);
    char body[128];
    int n = snprintf(body, sizeof body, "late %s", fa_http_req_path(req));
    fa_http_header_t h = {"X-Late", "yes"};
    fa_http_respond(j->d, 200, "text/plain", &h, 1, body, (size_t)n);
    free(j);
    atomic_fetch_add(&jobs_done, 1);
    return NULL;
}

static void h_slow(fa_http_req_t *req, void *data) {
    (void)data;
    const char *ms = fa_http_req_query_param(req, "ms");
    job_t *j = calloc(1, sizeof *j);
    j->ms = ms ? atol(ms) : 50;
    j->d = fa_http_req_defer(req);
    ck_assert_ptr_nonnull(j->d);
    pthread_t t;
    pthread_create(&t, NULL, job_thread, j);
    pthread_detach(t);
}

/* Deferred and never answered by the test until it says so (handler timeout, stale handles). */
static fa_http_deferred_t *_Atomic parked;
static void h_park(fa_http_req_t *req, void *data) {
    (void)data;
    atomic_store(&parked, fa_http_req_defer(req));
}

static void wait_parked(void) {
    for (int i = 0; i < 500 && !atomic_load(&parked); i++)
        usleep(2000);
    ck_assert_ptr_nonnull(atomic_load(&parked));
}

static void setup_routes(fa_http_server_t *srv, fa_http_options_t *opts) {
    (void)opts;
    ck_assert_int_eq(fa_http_route(srv, "GET", "/hello", h_hello, NULL), 0);
    ck_assert_int_eq(fa_http_route(srv, "GET", "/items/{id}", h_item, NULL), 0);
    ck_assert_int_eq(fa_http_route(srv, "POST", "/echo", h_echo, NULL), 0);
    ck_assert_int_eq(fa_http_route(srv, "GET", "/silent", h_silent, NULL), 0);
    ck_assert_int_eq(fa_http_route(srv, "GET", "/json", h_json, NULL), 0);
    ck_assert_int_eq(fa_http_route(srv, NULL, "/slow", h_slow, NULL), 0);
    ck_assert_int_eq(fa_http_route(srv, "GET", "/park", h_park, NULL), 0);
    ck_assert_int_eq(fa_http_route(srv, "GET", "/bad/{x", h_hello, NULL), FA_EINVAL);
    ck_assert_int_eq(fa_http_route(srv, "FETCH", "/x", h_hello, NULL), FA_EINVAL);
}

/* ---- tests ---- */

START_TEST(test_keep_alive_and_headers) {
    server_t *s = server_start(setup_routes);
    client_t *c = client_connect(s->port);
    response_t r;
    for (int i = 0; i < 3; i++) {
        client_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        ck_assert(read_response(c, &r));
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "Hello, World!");
        ck_assert_ptr_nonnull(strstr(r.head, "\r\nServer: fasterapi\r\n"));
        ck_assert_ptr_nonnull(strstr(r.head, "\r\nDate: "));
        ck_assert_ptr_nonnull(strstr(r.head, " GMT\r\n"));
        ck_assert_ptr_nonnull(strstr(r.head, "\r\nX-Test: 1\r\n"));
        ck_assert_ptr_nonnull(strstr(r.head, "\r\nContent-Type: text/plain\r\n"));
        ck_assert_ptr_null(strstr(r.head, "Connection: close"));
    }
    client_sends(c, "GET /json HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_str_eq(r.body, "{\"message\":\"Hello, World!\"}");
    ck_assert_ptr_nonnull(strstr(r.head, "\r\nContent-Type: application/json\r\n"));
    client_close(c);
    server_stop(s);
}
END_TEST

START_TEST(test_pipelining_in_order) {
    server_t *s = server_start(setup_routes);
    client_t *c = client_connect(s->port);
    char req[4096];
    size_t n = 0;
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(req + n, sizeof req - n,
                              "GET /items/%d?q=v%%20%d HTTP/1.1\r\nHost: x\r\n\r\n", i, i);
    client_send(c, req, n);
    for (int i = 0; i < 10; i++) {
        response_t r;
        ck_assert(read_response(c, &r));
        char want[64];
        snprintf(want, sizeof want, "id=%d q=v %d", i, i);
        ck_assert_str_eq(r.body, want);
    }
    client_close(c);
    server_stop(s);
}
END_TEST

START_TEST(test_head_404_405_500) {
    server_t *s = server_start(setup_routes);
    client_t *c = client_connect(s->port);
    response_t r;
    client_sends(c, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response_ex(c, &r, 1));
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.head, "\r\nContent-Length: 13\r\n"));
    /* No body followed: the next response starts right here. */
    client_sends(c, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 404);
    client_sends(c, "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 405);
    ck_assert_ptr_nonnull(strstr(r.head, "\r\nAllow: GET, HEAD\r\n"));
    client_sends(c, "GET /silent HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 500);
    /* Still open after all of those. */
    client_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    client_close(c);
    server_stop(s);
}
END_TEST

/* Error-body hooks (fa__http_add_error_body): "/rpc" has its own format (as the MCP endpoint),
 * every other path gets a JSON 404/405 (as the web App); the catch-all one is registered first,
 * yet the path-specific one is asked first. */
static const char *rpc_error_body(void *data, const char *path, size_t path_len, int status,
                                  const char *text, fa__buf_t *out) {
    (void)data;
    if (path_len < 4 || memcmp(path, "/rpc", 4) != 0 || (path_len > 4 && path[4] != '?'))
        return NULL;
    return fa__buf_appendf(out, "rpc %d %s", status, text) == 0 ? "application/x-rpc" : NULL;
}

static const char *detail_error_body(void *data, const char *path, size_t path_len, int status,
                                     const char *text, fa__buf_t *out) {
    (void)path;
    (void)path_len;
    (void)text;
    ck_assert_ptr_eq(data, (void *)&detail_error_body);
    if (status != 404 && status != 405)
        return NULL;
    return fa__buf_appendf(out, "{\"detail\":%d}", status) == 0 ? "application/json" : NULL;
}

static void setup_error_bodies(fa_http_server_t *srv, fa_http_options_t *opts) {
    setup_routes(srv, opts);
    ck_assert_int_eq(fa_http_route(srv, "POST", "/rpc", h_echo, NULL), 0);
    ck_assert_int_eq(fa__http_add_error_body(srv, detail_error_body, (void *)&detail_error_body, 1),
                     0);
    ck_assert_int_eq(fa__http_add_error_body(srv, rpc_error_body, NULL, 0), 0);
    ck_assert_int_eq(fa__http_add_error_body(srv, rpc_error_body, NULL, 0), 0);
    ck_assert_int_eq(fa__http_add_error_body(srv, rpc_error_body, NULL, 0), 0);
    ck_assert_int_eq(fa__http_add_error_body(srv, rpc_error_body, NULL, 0), FA_ENOSPC);
}

START_TEST(test_error_body_hooks_chain) {
    server_t *s = server_start(setup_error_bodies);
    client_t *c = client_connect(s->port);
    response_t r;
    client_sends(c, "GET /nowhere?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(r.body, "{\"detail\":404}");
    ck_assert_ptr_nonnull(strstr(r.head, "\r\nContent-Type: application/json\r\n"));
    client_sends(c, "DELETE /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.body, "{\"detail\":405}");
    ck_assert_ptr_nonnull(strstr(r.head, "\r\nAllow: GET, HEAD\r\n"));
    /* HEAD: the head of the JSON answer (its length), no body. */
    client_sends(c, "HEAD /nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response_ex(c, &r, 1));
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_nonnull(strstr(r.head, "\r\nContent-Length: 14\r\n"));
    /* The path-specific hook first, though registered after the catch-all one. */
    client_sends(c, "GET /rpc HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.body, "rpc 405 Method Not Allowed");
    ck_assert_ptr_nonnull(strstr(r.head, "\r\nContent-Type: application/x-rpc\r\n"));
    /* A status no hook takes (the handler did not answer: 500) keeps the text body. */
    client_sends(c, "GET /silent HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 500);
    ck_assert_ptr_nonnull(strstr(r.head, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
    client_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    client_close(c);
    server_stop(s);
}
END_TEST

static void setup_small_limits(fa_http_server_t *srv, fa_http_options_t *opts) {
    setup_routes(srv, opts);
}

static fa_http_options_t small_limits(void) {
    fa_http_options_t o;
    fa_http_options_init(&o);
    o.max_body = 100;
    o.max_request_line = 256;
    o.max_head = 1024;
    return o;
}

static void expect_error_and_close(int port, const char *request, int status) {
    client_t *c = client_connect(port);
    client_sends(c, request);
    response_t r;
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, status);
    ck_assert_ptr_nonnull(strstr(r.head, "\r\nConnection: close\r\n"));
    ck_assert(client_sees_eof(c));
    client_close(c);
}

START_TEST(test_limits_413_414_431_and_smuggling_400) {
    fa_http_options_t o = small_limits();
    server_t *s = server_start_opts(setup_small_limits, &o);
    expect_error_and_close(s->port, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n",
                           413);
    char line[600];
    memset(line, 'a', sizeof line);
    memcpy(line, "GET /", 5);
    strcpy(line + 500, " HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_error_and_close(s->port, line, 414);
    char head[2000];
    int n = snprintf(head, sizeof head, "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < 60; i++)
        n += snprintf(head + n, sizeof head - (size_t)n, "X-H%d: %s\r\n", i, "0123456789");
    snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    expect_error_and_close(s->port, head, 431);
    expect_error_and_close(s->port,
                           "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                           400);
    /* A chunked body over the limit. */
    expect_error_and_close(s->port,
                           "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "80\r\n",
                           413);
    server_stop(s);
}
END_TEST

START_TEST(test_bodies_chunked_and_content_length) {
    server_t *s = server_start(setup_routes);
    client_t *c = client_connect(s->port);
    response_t r;
    client_sends(c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n1;ext=1\r\n \r\n");
    usleep(20000); /* split across reads */
    client_sends(c, "5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n"
                    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.body_len, 11);
    ck_assert_str_eq(r.body, "hello world");
    ck_assert(read_response(c, &r));
    ck_assert_str_eq(r.body, "abc");
    /* A body bigger than the initial read buffer, in pieces. */
    static char big[20000];
    memset(big, 'z', sizeof big);
    char head[128];
    snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
             sizeof big);
    client_sends(c, head);
    client_send(c, big, 7000);
    usleep(10000);
    client_send(c, big + 7000, sizeof big - 7000);
    /* The body is larger than response_t.body: read the head and count. */
    char *end;
    while (!(end = strstr(c->buf, "\r\n\r\n")))
        ck_assert_int_eq(client_fill(c), 1);
    ck_assert_ptr_nonnull(strstr(c->buf, "Content-Length: 20000\r\n"));
    size_t hl = (size_t)(end + 4 - c->buf);
    while (c->len < hl + sizeof big)
        ck_assert_int_eq(client_fill(c), 1);
    ck_assert_uint_eq(c->len, hl + sizeof big);
    c->len = 0;
    c->buf[0] = '\0';
    client_close(c);
    server_stop(s);
}
END_TEST

START_TEST(test_expect_100_continue) {
    server_t *s = server_start(setup_routes);
    client_t *c = client_connect(s->port);
    client_sends(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                    "Expect: 100-continue\r\n\r\n");
    response_t r;
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 100);
    client_sends(c, "ping");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "ping");
    /* Body sent along with the head: no 100. */
    client_sends(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                    "Expect: 100-continue\r\n\r\npong");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "pong");
    client_close(c);
    /* Rejected from its Content-Length: 413, no 100. */
    fa_http_options_t o = small_limits();
    server_t *s2 = server_start_opts(setup_small_limits, &o);
    expect_error_and_close(s2->port,
                           "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                           "Expect: 100-continue\r\n\r\n",
                           413);
    server_stop(s2);
    server_stop(s);
}
END_TEST

START_TEST(test_http10) {
    server_t *s = server_start(setup_routes);
    client_t *c = client_connect(s->port);
    response_t r;
    client_sends(c, "GET /hello HTTP/1.0\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.head, "Connection: close"));
    ck_assert(client_sees_eof(c));
    client_close(c);
    c = client_connect(s->port);
    client_sends(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_ptr_nonnull(strstr(r.head, "Connection: keep-alive"));
    client_sends(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_ptr_nonnull(strstr(r.head, "Connection: close"));
    ck_assert(client_sees_eof(c));
    client_close(c);
    server_stop(s);
}
END_TEST

START_TEST(test_deferred_in_order) {
    server_t *s = server_start(setup_routes);
    client_t *c = client_connect(s->port);
    /* The slow one first: the fast ones behind it wait for it. */
    client_sends(c, "GET /slow?ms=100 HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /slow?ms=10 HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n");
    response_t r;
    ck_assert(read_response(c, &r));
    ck_assert_str_eq(r.body, "late /slow");
    ck_assert_ptr_nonnull(strstr(r.head, "\r\nX-Late: yes\r\n"));
    ck_assert(read_response(c, &r));
    ck_assert_str_eq(r.body, "id=1 q=-");
    ck_assert(read_response(c, &r));
    ck_assert_str_eq(r.body, "late /slow");
    ck_assert(read_response(c, &r));
    ck_assert_str_eq(r.body, "id=2 q=-");
    client_close(c);
    server_stop(s);
}
END_TEST

static _Atomic int stale_seen;
static void stale_cb(fa__http_loop_t *loop, fa__http_conn_t *conn, fa__http_msg_t *m) {
    (void)loop;
    atomic_store(&stale_seen, conn == NULL ? 1 : 2);
    free(m);
}

static _Atomic int ref_taken;
static fa__http_conn_ref_t the_ref;
static void h_ref(fa_http_req_t *req, void *data) {
    (void)data;
    the_ref = fa__http_conn_ref(fa__http_req_conn(req));
    atomic_store(&ref_taken, 1);
    fa_http_res_send(req, 200, NULL, "", 0);
}

static void setup_ref(fa_http_server_t *srv, fa_http_options_t *opts) {
    setup_routes(srv, opts);
    fa_http_route(srv, "GET", "/ref", h_ref, NULL);
}

START_TEST(test_stale_handle_after_client_left) {
    atomic_store(&parked, NULL);
    server_t *s = server_start(setup_ref);
    client_t *c = client_connect(s->port);
    client_sends(c, "GET /ref HTTP/1.1\r\nHost: x\r\n\r\nGET /park HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_parked();
    response_t r;
    ck_assert(read_response(c, &r));
    client_close(c);
    usleep(50000); /* the server sees the close */
    /* The deferred request's connection is gone: the answer goes into the void. */
    fa_http_req_t *req = fa_http_deferred_req(atomic_load(&parked));
    ck_assert_str_eq(fa_http_req_path(req), "/park");
    ck_assert_int_eq(fa_http_respond(atomic_load(&parked), 200, "text/plain", NULL, 0, "x", 1), 0);
    /* A message to the old connection's handle is delivered as stale. */
    fa__http_msg_t *m = calloc(1, sizeof *m);
    m->cb = stale_cb;
    m->to = the_ref;
    ck_assert_int_eq(fa__http_post(s->srv, m), 0);
    for (int i = 0; i < 200 && !atomic_load(&stale_seen); i++)
        usleep(2000);
    ck_assert_int_eq(atomic_load(&stale_seen), 1);
    /* And the server goes on. */
    c = client_connect(s->port);
    client_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    client_close(c);
    server_stop(s);
}
END_TEST

START_TEST(test_slowloris_and_body_timeouts) {
    fa_http_options_t o;
    fa_http_options_init(&o);
    o.header_timeout_ms = 150;
    o.body_timeout_ms = 150;
    server_t *s = server_start_opts(setup_routes, &o);
    client_t *c = client_connect(s->port);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    client_sends(c, "GET /hello HTTP/1.1\r\nHo");
    response_t r;
    ck_assert(read_response(c, &r));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_eq(r.status, 408);
    ck_assert(client_sees_eof(c));
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ck_assert_int_ge(ms, 100);
    ck_assert_int_lt(ms, 2000);
    client_close(c);
    c = client_connect(s->port);
    client_sends(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 408);
    ck_assert(client_sees_eof(c));
    client_close(c);
    server_stop(s);
}
END_TEST

START_TEST(test_idle_keepalive_timeout) {
    fa_http_options_t o;
    fa_http_options_init(&o);
    o.keepalive_timeout_ms = 100;
    server_t *s = server_start_opts(setup_routes, &o);
    client_t *c = client_connect(s->port);
    client_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    response_t r;
    ck_assert(read_response(c, &r));
    ck_assert(client_sees_eof(c)); /* closed silently after 100 ms idle */
    client_close(c);
    server_stop(s);
}
END_TEST

START_TEST(test_handler_timeout_504) {
    atomic_store(&parked, NULL);
    fa_http_options_t o;
    fa_http_options_init(&o);
    o.handler_timeout_ms = 100;
    server_t *s = server_start_opts(setup_routes, &o);
    client_t *c = client_connect(s->port);
    client_sends(c, "GET /park HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    response_t r;
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 504);
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    /* The late answer is dropped, and the request memory is still valid until then. */
    wait_parked();
    ck_assert_str_eq(fa_http_req_path(fa_http_deferred_req(atomic_load(&parked))), "/park");
    ck_assert_int_eq(fa_http_respond(atomic_load(&parked), 200, NULL, NULL, 0, "late", 4), 0);
    client_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "Hello, World!");
    client_close(c);
    server_stop(s);
}
END_TEST

START_TEST(test_connection_cap) {
    fa_http_options_t o;
    fa_http_options_init(&o);
    o.max_connections = 2;
    server_t *s = server_start_opts(setup_routes, &o);
    client_t *a = client_connect(s->port), *b = client_connect(s->port);
    response_t r;
    client_sends(a, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(a, &r));
    client_sends(b, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(b, &r));
    client_t *x = client_connect(s->port);
    ck_assert(read_response(x, &r));
    ck_assert_int_eq(r.status, 503);
    ck_assert(client_sees_eof(x));
    client_close(x);
    /* Once one leaves, a new one is served. */
    client_close(a);
    usleep(50000);
    x = client_connect(s->port);
    client_sends(x, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(x, &r));
    ck_assert_int_eq(r.status, 200);
    client_close(x);
    client_close(b);
    server_stop(s);
}
END_TEST

START_TEST(test_graceful_shutdown_with_request_in_flight) {
    server_t *s = server_start(setup_routes);
    client_t *idle = client_connect(s->port);
    client_t *c = client_connect(s->port);
    client_sends(c, "GET /slow?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(50000);
    ck_assert_int_eq(fa_http_server_stop(s->srv), 0);
    /* The idle connection is closed at once; the busy one gets its answer, then the close. */
    ck_assert(client_sees_eof(idle));
    response_t r;
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "late /slow");
    ck_assert_ptr_nonnull(strstr(r.head, "Connection: close"));
    ck_assert(client_sees_eof(c));
    client_close(c); /* ends the server's lingering close at once */
    pthread_join(s->th, NULL);
    ck_assert_int_eq(s->close_rc, 0);
    /* New connections are refused once the listener is closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)s->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ne(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    close(fd);
    fa_http_server_free(s->srv);
    client_close(idle);
    free(s);
}
END_TEST

START_TEST(test_deferred_answered_after_server_freed) {
    atomic_store(&parked, NULL);
    fa_http_options_t o;
    fa_http_options_init(&o);
    o.shutdown_timeout_ms = 50;
    server_t *s = server_start_opts(setup_routes, &o);
    client_t *c = client_connect(s->port);
    client_sends(c, "GET /park?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    wait_parked();
    ck_assert_int_eq(fa_http_server_stop(s->srv), 0);
    /* The shutdown deadline closes the connection with the request unanswered. */
    ck_assert(client_sees_eof(c));
    client_close(c);
    pthread_join(s->th, NULL);
    ck_assert_int_eq(s->close_rc, 0);
    fa_http_server_free(s->srv);
    /* The request view is still valid, and the late answer is dropped safely (the server's memory
     * lives until this last reference goes). */
    fa_http_deferred_t *d = atomic_load(&parked);
    ck_assert_str_eq(fa_http_req_query_param(fa_http_deferred_req(d), "x"), "1");
    ck_assert_int_eq(fa_http_respond(d, 200, NULL, NULL, 0, "late", 4), FA_ESTATE);
    free(s);
}
END_TEST

/* TechEmpower checks that Date changes between two requests (research/perf_anchors.md §A.5). */
START_TEST(test_date_changes_each_second) {
    server_t *s = server_start(setup_routes);
    client_t *c = client_connect(s->port);
    char dates[2][64];
    for (int i = 0; i < 2; i++) {
        response_t r;
        client_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        ck_assert(read_response(c, &r));
        const char *d = strstr(r.head, "\r\nDate: ");
        ck_assert_ptr_nonnull(d);
        ck_assert_int_eq(sscanf(d + 8, "%63[^\r]", dates[i]), 1);
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(dates[i], "%a, %d %b %Y %H:%M:%S GMT", &tm);
        ck_assert_ptr_nonnull(end);
        ck_assert_int_eq(*end, '\0');
        if (i == 0)
            usleep(1100 * 1000);
    }
    ck_assert_str_ne(dates[0], dates[1]);
    client_close(c);
    server_stop(s);
}
END_TEST

/* fa_http_server_close from a handler on loop 0, libuv style: the callback fires once every
 * handle is closed, and the caller's loop then ends. */
static _Atomic int close_cb_calls;
static void on_closed(fa_http_server_t *srv) {
    (void)srv;
    atomic_fetch_add(&close_cb_calls, 1);
}
static void h_close(fa_http_req_t *req, void *data) {
    fa_http_server_t *srv = data;
    fa_http_server_close(srv, on_closed);
    fa_http_server_close(srv, on_closed); /* a second call is a no-op */
    fa_http_res_send(req, 202, NULL, "", 0);
}
static void setup_close(fa_http_server_t *srv, fa_http_options_t *opts) {
    setup_routes(srv, opts);
    fa_http_route(srv, "POST", "/close", h_close, srv);
}

START_TEST(test_close_from_a_handler) {
    server_t *s = server_start(setup_close); /* one loop: close runs on loop 0's thread */
    client_t *c = client_connect(s->port);
    client_sends(c, "POST /close HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    response_t r;
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 202);
    ck_assert_ptr_nonnull(strstr(r.head, "Connection: close"));
    ck_assert(client_sees_eof(c));
    client_close(c);
    pthread_join(s->th, NULL); /* uv_run returned: nothing of the server is left on the loop */
    ck_assert_int_eq(s->close_rc, 0);
    ck_assert_int_eq(atomic_load(&close_cb_calls), 1);
    ck_assert_int_eq(fa_http_server_stop(s->srv), FA_ESTATE);
    fa_http_server_free(s->srv);
    free(s);
}
END_TEST

START_TEST(test_metrics) {
    fa_http_options_t o;
    fa_http_options_init(&o);
    o.metrics_path = "/metrics";
    server_t *s = server_start_opts(setup_routes, &o);
    client_t *c = client_connect(s->port);
    response_t r;
    client_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert(read_response(c, &r));
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body,
                                 "fasterapi_http_requests_total{route=\"/hello\",method=\"GET\","
                                 "status=\"2xx\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "status=\"4xx\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "fasterapi_http_connections_open 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "fasterapi_http_request_duration_seconds_count 2\n"));
    client_close(c);
    server_stop(s);
}
END_TEST

START_TEST(test_io_threads_and_unix_socket) {
    fa_http_options_t o;
    fa_http_options_init(&o);
    o.io_threads = 3;
    server_t *s = server_start_opts(setup_routes, &o);
    for (int i = 0; i < 12; i++) {
        client_t *c = client_connect(s->port);
        response_t r;
        client_sends(c, "GET /slow?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        ck_assert(read_response(c, &r));
        ck_assert_str_eq(r.body, "late /slow");
        client_close(c);
    }
    server_stop(s);

    char path[64];
    snprintf(path, sizeof path, "/tmp/fa_http_test_%d.sock", (int)getpid());
    fa_http_options_init(&o);
    o.unix_path = path;
    s = server_start_opts(setup_routes, &o);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {0};
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, path);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    client_t *c = calloc(1, sizeof *c);
    c->fd = fd;
    response_t r;
    client_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    client_close(c);
    server_stop(s);
    unlink(path);
}
END_TEST

/* A client that never reads while the server has more than max_output for it is closed. */
static void h_big(fa_http_req_t *req, void *data) {
    (void)data;
    static char big[256 * 1024];
    fa_http_res_send(req, 200, "application/octet-stream", big, sizeof big);
}

static void setup_big(fa_http_server_t *srv, fa_http_options_t *opts) {
    (void)opts;
    fa_http_route(srv, "GET", "/big", h_big, NULL);
}

START_TEST(test_output_limit_closes_non_reader) {
    fa_http_options_t o;
    fa_http_options_init(&o);
    o.max_output = 512 * 1024;
    server_t *s = server_start_opts(setup_big, &o);
    client_t *c = client_connect(s->port);
    int small = 4096;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    /* Many requests, never reading: the server must stop reading or drop us, not buffer all. */
    char req[] = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
    struct timeval tv = {0, 200000};
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    for (int i = 0; i < 200; i++) {
        ssize_t w = send(c->fd, req, sizeof req - 1, MSG_NOSIGNAL);
        if (w <= 0)
            break;
    }
    usleep(200000);
    /* The server is still healthy for others. */
    client_t *d = client_connect(s->port);
    client_sends(d, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    char *end;
    while (!(end = strstr(d->buf, "\r\n\r\n")))
        ck_assert_int_eq(client_fill(d), 1);
    ck_assert_int_eq(strncmp(d->buf, "HTTP/1.1 200", 12), 0);
    client_close(d);
    client_close(c);
    server_stop(s);
}
END_TEST

/* ---- hooks: protocol takeover, streams, messages ---- */

static _Atomic int proto_closed;
static size_t upper_read(fa__http_conn_t *c, void *ctx, char *data, size_t len) {
    (void)ctx;
    /* Consumes whole lines only: the rest must be offered again with more bytes. */
    char *nl = memchr(data, '\n', len);
    if (!nl)
        return 0;
    size_t n = (size_t)(nl - data) + 1;
    fa__buf_t *out = fa__http_conn_out(c);
    for (size_t i = 0; i < n; i++)
        fa__buf_putc(out, (char)(data[i] >= 'a' && data[i] <= 'z' ? data[i] - 32 : data[i]));
    fa__http_conn_flush(c);
    if (n == 5 && memcmp(data, "bye!\n", 5) == 0)
        fa__http_conn_close(c);
    return n;
}
static void upper_close(fa__http_conn_t *c, void *ctx) {
    (void)c;
    (void)ctx;
    atomic_fetch_add(&proto_closed, 1);
}
static const fa__http_proto_t upper_proto = {upper_read, NULL, upper_close, NULL};

static void h_upgrade(fa_http_req_t *req, void *data) {
    (void)data;
    fa_http_res_header(req, "Upgrade", "upper");
    fa_http_res_header(req, "Connection", "Upgrade");
    fa_http_res_send(req, 101, NULL, NULL, 0);
    ck_assert_int_eq(fa__http_takeover(req, &upper_proto, NULL), 0);
}

typedef struct {
    fa__http_msg_t msg;
    fa__http_stream_t *stream;
    int end;
} stream_msg_t;

static _Atomic int stream_closed;
static fa__http_stream_t *the_stream;
static fa__http_conn_ref_t stream_ref;

static void stream_msg_cb(fa__http_loop_t *loop, fa__http_conn_t *conn, fa__http_msg_t *m) {
    (void)loop;
    stream_msg_t *sm = (stream_msg_t *)m;
    if (conn) {
        ck_assert_ptr_eq(fa__http_stream_conn(sm->stream), conn);
        ck_assert_int_eq(fa__http_stream_write(sm->stream, "from another thread\n", 20), 0);
        if (sm->end)
            fa__http_stream_end(sm->stream);
    }
    free(sm);
}

static void stream_close_cb(fa__http_stream_t *st, void *ctx) {
    (void)st;
    (void)ctx;
    atomic_fetch_add(&stream_closed, 1);
}

static void h_stream(fa_http_req_t *req, void *data) {
    (void)data;
    fa__http_stream_t *st = fa__http_stream_start(
        req, 200, "text/event-stream", "Cache-Control: no-store\r\n", stream_close_cb, NULL);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(fa__http_stream_write(st, "first\n", 6), 0);
    the_stream = st;
    stream_ref = fa__http_conn_ref(fa__http_stream_conn(st));
}

/* A stream started and ended inside its own handler (regression: the request object was pooled
 * twice, found by fuzz_http_conn). */
static void h_short_stream(fa_http_req_t *req, void *data) {
    (void)data;
    fa__http_stream_t *st = fa__http_stream_start(req, 200, "text/plain", NULL, NULL, NULL);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(fa__http_stream_write(st, "short", 5), 0);
    fa__http_stream_end(st);
}

static void setup_hooks(fa_http_server_t *srv, fa_http_options_t *opts) {
    setup_routes(srv, opts);
    fa_http_route(srv, "GET", "/short", h_short_stream, NULL);
    fa_http_route(srv, "GET", "/upgrade", h_upgrade, NULL);
    fa_http_route(srv, "GET", "/stream", h_stream, NULL);
}

START_TEST(test_stream_ended_inside_its_handler) {
    server_t *s = server_start(setup_hooks);
    for (int round = 0; round < 2; round++) {
        client_t *c = client_connect(s->port);
        client_sends(c, "GET /short HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /short HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /slow?ms=5 HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /short HTTP/1.1\r\nHost: x\r\n\r\n");
        response_t r;
        for (int i = 0; i < 4; i++) {
            ck_assert(read_response(c, &r));
            ck_assert_int_eq(r.status, 200);
            ck_assert_str_eq(r.body, i == 2 ? "late /slow" : "short");
        }
        client_close(c);
    }
    server_stop(s);
}
END_TEST

START_TEST(test_takeover_after_101) {
    server_t *s = server_start(setup_hooks);
    client_t *c = client_connect(s->port);
    /* The protocol's first bytes arrive in the same write as the head. */
    client_sends(c, "GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                    "Upgrade: upper\r\n\r\nhello\nwor");
    response_t r;
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 101);
    ck_assert_ptr_nonnull(strstr(r.head, "\r\nUpgrade: upper\r\n"));
    while (!strstr(c->buf, "HELLO\n"))
        ck_assert_int_eq(client_fill(c), 1);
    client_sends(c, "ld\n");
    while (!strstr(c->buf, "WORLD\n"))
        ck_assert_int_eq(client_fill(c), 1);
    ck_assert_str_eq(c->buf, "HELLO\nWORLD\n");
    c->len = 0;
    c->buf[0] = '\0';
    client_sends(c, "bye!\n");
    while (!strstr(c->buf, "BYE!\n"))
        ck_assert_int_eq(client_fill(c), 1);
    c->len = 0;
    ck_assert(client_sees_eof(c));
    client_close(c);
    for (int i = 0; i < 200 && !atomic_load(&proto_closed); i++)
        usleep(2000);
    ck_assert_int_eq(atomic_load(&proto_closed), 1);
    server_stop(s);
}
END_TEST

START_TEST(test_stream_written_from_another_thread) {
    server_t *s = server_start(setup_hooks);
    client_t *c = client_connect(s->port);
    /* A request pipelined behind the stream waits for the stream's end. */
    client_sends(c,
                 "GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    while (!strstr(c->buf, "first\n"))
        ck_assert_int_eq(client_fill(c), 1);
    ck_assert_ptr_nonnull(strstr(c->buf, "Transfer-Encoding: chunked\r\n"));
    ck_assert_ptr_nonnull(strstr(c->buf, "Cache-Control: no-store\r\n"));
    ck_assert_ptr_null(strstr(c->buf, "Hello, World!"));
    for (int i = 0; i < 2; i++) {
        stream_msg_t *m = calloc(1, sizeof *m);
        m->msg.cb = stream_msg_cb;
        m->msg.to = stream_ref;
        m->stream = the_stream;
        m->end = i == 1;
        ck_assert_int_eq(fa__http_post(s->srv, &m->msg), 0);
    }
    response_t r;
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "first\nfrom another thread\nfrom another thread\n");
    ck_assert(read_response(c, &r));
    ck_assert_str_eq(r.body, "Hello, World!");
    ck_assert_int_eq(atomic_load(&stream_closed), 0);
    /* A second stream is ended by a graceful shutdown: its owner hears it, the client gets the
     * last chunk. */
    client_sends(c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    while (!strstr(c->buf, "first\n"))
        ck_assert_int_eq(client_fill(c), 1);
    ck_assert_int_eq(fa_http_server_stop(s->srv), 0);
    ck_assert(read_response(c, &r));
    ck_assert_str_eq(r.body, "first\n");
    ck_assert(client_sees_eof(c));
    client_close(c);
    pthread_join(s->th, NULL);
    ck_assert_int_eq(s->close_rc, 0);
    ck_assert_int_eq(atomic_load(&stream_closed), 1);
    /* After the server stopped, a post is refused (the message stays the caller's). */
    fa__http_msg_t m = {stream_msg_cb, stream_ref};
    ck_assert_int_eq(fa__http_post(s->srv, &m), FA_ESTATE);
    fa_http_server_free(s->srv);
    free(s);
}
END_TEST

/* Property: a pipeline of mixed requests (GET, Content-Length and chunked bodies, Expect) cut at
 * random points and sent piece by piece gets exactly the responses it gets in one write. */
static size_t build_mixed_pipeline(uint64_t *rng, char *out, size_t cap, int n) {
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        int kind = (int)(fa_test_rand(rng) % 4);
        char body[300];
        size_t bl = (size_t)(fa_test_rand(rng) % sizeof body);
        for (size_t k = 0; k < bl; k++)
            body[k] = (char)('a' + (fa_test_rand(rng) % 26));
        if (kind == 0) {
            len += (size_t)snprintf(out + len, cap - len,
                                    "GET /items/%d?q=%d HTTP/1.1\r\nHost: x\r\n\r\n", i, i);
        } else if (kind == 1 || kind == 3) {
            len +=
                (size_t)snprintf(out + len, cap - len,
                                 "POST /echo HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n\r\n",
                                 kind == 3 ? "Expect: 100-continue\r\n" : "", bl);
            memcpy(out + len, body, bl);
            len += bl;
        } else {
            len += (size_t)snprintf(
                out + len, cap - len,
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
            size_t at = 0;
            while (at < bl) {
                size_t piece = 1 + (size_t)(fa_test_rand(rng) % 64);
                if (piece > bl - at)
                    piece = bl - at;
                len += (size_t)snprintf(out + len, cap - len, "%zx\r\n", piece);
                memcpy(out + len, body + at, piece);
                len += piece;
                memcpy(out + len, "\r\n", 2);
                len += 2;
                at += piece;
            }
            len += (size_t)snprintf(out + len, cap - len, "0\r\n\r\n");
        }
    }
    return len;
}

/* Reads n final responses (skipping 100 Continue) and returns their status+body concatenated. */
static char *collect(client_t *c, int n) {
    fa__buf_t all = FA__BUF_INIT;
    for (int i = 0; i < n;) {
        response_t r;
        ck_assert(read_response(c, &r));
        if (r.status == 100)
            continue;
        fa__buf_appendf(&all, "%d:", r.status);
        fa__buf_append(&all, r.body, r.body_len);
        fa__buf_putc(&all, '|');
        i++;
    }
    fa__buf_putc(&all, '\0');
    return all.data;
}

START_TEST(test_random_splits_same_answers) {
    server_t *s = server_start(setup_routes);
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    static char pipe_buf[64 * 1024];
    for (int iter = 0; iter < 8; iter++) {
        int n = 3 + (int)(fa_test_rand(&rng) % 10);
        size_t len = build_mixed_pipeline(&rng, pipe_buf, sizeof pipe_buf, n);
        client_t *a = client_connect(s->port);
        client_send(a, pipe_buf, len);
        char *whole = collect(a, n);
        client_close(a);
        client_t *b = client_connect(s->port);
        int one = 1;
        setsockopt(b->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        size_t at = 0;
        while (at < len) {
            size_t piece = 1 + (size_t)(fa_test_rand(&rng) % 97);
            if (piece > len - at)
                piece = len - at;
            client_send(b, pipe_buf + at, piece);
            at += piece;
            if (fa_test_rand(&rng) % 8 == 0)
                usleep(1000); /* let the server see this cut */
        }
        char *split = collect(b, n);
        ck_assert_str_eq(split, whole);
        client_close(b);
        free(whole);
        free(split);
    }
    server_stop(s);
}
END_TEST

START_TEST(test_bind_failure_and_url) {
    server_t *s = server_start(setup_routes);
    char url[64];
    ck_assert_int_gt(fa_http_server_url(s->srv, url, sizeof url), 0);
    char want[64];
    snprintf(want, sizeof want, "http://127.0.0.1:%d", s->port);
    ck_assert_str_eq(url, want);
    ck_assert_int_eq(fa_http_server_url(s->srv, url, 8), FA_ERANGE);
    /* A second server on the same port fails cleanly (no SO_REUSEPORT with one loop), on the
     * caller's loop and with fa_http_server_run's own loop. */
    fa_http_options_t o;
    fa_http_options_init(&o);
    o.port = s->port;
    fa_http_server_t *srv2;
    ck_assert_int_eq(fa_http_server_new(&srv2, &o), 0);
    uv_loop_t loop;
    uv_loop_init(&loop);
    ck_assert_int_eq(fa_http_server_start(srv2, &loop), -EADDRINUSE);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    fa_http_server_free(srv2);
    ck_assert_int_eq(fa_http_server_new(&srv2, &o), 0);
    ck_assert_int_eq(fa_http_server_run(srv2), -EADDRINUSE);
    fa_http_server_free(srv2);
    o.io_threads = 2;
    ck_assert_int_eq(fa_http_server_new(&srv2, &o), 0);
    ck_assert_int_eq(fa_http_server_run(srv2), -EADDRINUSE);
    fa_http_server_free(srv2);
    /* Bad options. */
    o.io_threads = -1;
    ck_assert_int_eq(fa_http_server_new(&srv2, &o), FA_EINVAL);
    fa_http_options_init(&o);
    o.server_name = "evil\r\nX: y";
    ck_assert_int_eq(fa_http_server_new(&srv2, &o), FA_EINVAL);
    server_stop(s);
}
END_TEST

/* ---- static files ---- */

static char static_dir[128];

static void write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void setup_static(fa_http_server_t *srv, fa_http_options_t *opts) {
    setup_routes(srv, opts);
    ck_assert_int_eq(fa_http_route_static(srv, "/static/", static_dir), 0);
    ck_assert_int_eq(fa_http_route_static(srv, "/static", "/nonexistent/dir"), FA_ENOENT);
}

/* Reads a response whose body may be large; returns the body (malloc'd), sets *len. */
static char *read_big(client_t *c, int *status, size_t *len) {
    char *end;
    while (!(end = strstr(c->buf, "\r\n\r\n")))
        ck_assert_int_eq(client_fill(c), 1);
    size_t hl = (size_t)(end + 4 - c->buf);
    ck_assert_int_eq(sscanf(c->buf, "HTTP/1.1 %d", status), 1);
    const char *cl = strcasestr(c->buf, "\r\nContent-Length: ");
    ck_assert_ptr_nonnull(cl);
    size_t need = strtoul(cl + 18, NULL, 10);
    char *body = malloc(need + 1);
    size_t have = c->len - hl < need ? c->len - hl : need;
    memcpy(body, c->buf + hl, have);
    size_t rest = c->len - hl - have;
    memmove(c->buf, c->buf + hl + have, rest + 1);
    c->len = rest;
    while (have < need) {
        ssize_t n = recv(c->fd, body + have, need - have, 0);
        ck_assert_int_gt(n, 0);
        have += (size_t)n;
    }
    *len = need;
    return body;
}

START_TEST(test_static_files) {
    snprintf(static_dir, sizeof static_dir, "/tmp/fa_http_static_%d", (int)getpid());
    char path[256];
    mkdir(static_dir, 0700);
    snprintf(path, sizeof path, "%s/sub", static_dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/hello.txt", static_dir);
    write_file(path, "hello world", 11);
    static char big[300000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7 + i / 1000);
    snprintf(path, sizeof path, "%s/sub/big.bin", static_dir);
    write_file(path, big, sizeof big);
    char outside[256];
    snprintf(outside, sizeof outside, "%s.secret", static_dir);
    write_file(outside, "secret", 6);
    snprintf(path, sizeof path, "%s/link.txt", static_dir);
    ck_assert_int_eq(symlink(outside, path), 0);

    server_t *s = server_start(setup_static);
    client_t *c = client_connect(s->port);
    response_t r;
    client_sends(c, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "hello world");
    ck_assert_ptr_nonnull(strstr(r.head, "Content-Type: text/plain; charset=utf-8\r\n"));
    ck_assert_ptr_nonnull(strstr(r.head, "Last-Modified: "));
    char *et = strstr(r.head, "ETag: ");
    ck_assert_ptr_nonnull(et);
    char etag[80] = {0};
    sscanf(et + 6, "%79[^\r]", etag);
    char req[512];
    snprintf(req, sizeof req,
             "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: W/\"x\", %s\r\n\r\n",
             etag);
    client_sends(c, req);
    ck_assert(read_response(c, &r));
    ck_assert_int_eq(r.status, 304);
    ck_assert_ptr_null(strstr(r.head, "Content-Length"));
    const struct {
        const char *range;
        int status;
        const char *body;
        const char *content_range;
    } cases[] = {
        {"bytes=2-4", 206, "llo", "bytes 2-4/11"},   {"bytes=-3", 206, "rld", "bytes 8-10/11"},
        {"bytes=6-", 206, "world", "bytes 6-10/11"}, {"bytes=6-100", 206, "world", "bytes 6-10/11"},
        {"bytes=11-", 416, NULL, "bytes */11"},      {"bytes=0-1,3-4", 200, "hello world", NULL},
        {"bytes=x", 200, "hello world", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(req, sizeof req, "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nRange: %s\r\n\r\n",
                 cases[i].range);
        client_sends(c, req);
        ck_assert(read_response(c, &r));
        ck_assert_int_eq(r.status, cases[i].status);
        if (cases[i].body)
            ck_assert_str_eq(r.body, cases[i].body);
        if (cases[i].content_range) {
            char want[80];
            snprintf(want, sizeof want, "Content-Range: %s\r\n", cases[i].content_range);
            ck_assert_ptr_nonnull(strstr(r.head, want));
        }
    }
    const struct {
        const char *path;
        int status;
    } refused[] = {
        {"/static/../x", 404},
        {"/static/%2e%2e/%2e%2e/etc/passwd", 404},
        {"/static/sub", 404},
        {"/static/sub/", 404},
        {"/static/link.txt", 404},
        {"/static/a%00b", 400},
        {"/static/nothere", 404},
        {"/static/", 404},
        {"/static/sub/../hello.txt", 404},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", refused[i].path);
        client_sends(c, req);
        ck_assert(read_response(c, &r));
        ck_assert_msg(r.status == refused[i].status, "%s -> %d", refused[i].path, r.status);
        if (r.status == 400) { /* a framing-level error closes; reconnect */
            client_close(c);
            c = client_connect(s->port);
        }
    }
    /* A big file (sendfile) with a small response pipelined behind it, and HEAD. */
    client_sends(c, "GET /static/sub/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                    "HEAD /static/sub/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    int status;
    size_t len;
    char *body = read_big(c, &status, &len);
    ck_assert_int_eq(status, 200);
    ck_assert_uint_eq(len, sizeof big);
    ck_assert_int_eq(memcmp(body, big, sizeof big), 0);
    free(body);
    ck_assert(read_response_ex(c, &r, 1));
    ck_assert_ptr_nonnull(strstr(r.head, "Content-Length: 300000\r\n"));
    ck_assert(read_response(c, &r));
    ck_assert_str_eq(r.body, "hello world");
    client_sends(c, "GET /static/sub/big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=100000-\r\n\r\n");
    body = read_big(c, &status, &len);
    ck_assert_int_eq(status, 206);
    ck_assert_uint_eq(len, sizeof big - 100000);
    ck_assert_int_eq(memcmp(body, big + 100000, len), 0);
    free(body);
    client_close(c);
    server_stop(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", static_dir, outside);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("transport/http_server");
    TCase *tc = tcase_create("http_server");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_keep_alive_and_headers);
    tcase_add_test(tc, test_pipelining_in_order);
    tcase_add_test(tc, test_head_404_405_500);
    tcase_add_test(tc, test_error_body_hooks_chain);
    tcase_add_test(tc, test_limits_413_414_431_and_smuggling_400);
    tcase_add_test(tc, test_bodies_chunked_and_content_length);
    tcase_add_test(tc, test_expect_100_continue);
    tcase_add_test(tc, test_http10);
    tcase_add_test(tc, test_deferred_in_order);
    tcase_add_test(tc, test_stale_handle_after_client_left);
    tcase_add_test(tc, test_slowloris_and_body_timeouts);
    tcase_add_test(tc, test_idle_keepalive_timeout);
    tcase_add_test(tc, test_handler_timeout_504);
    tcase_add_test(tc, test_connection_cap);
    tcase_add_test(tc, test_graceful_shutdown_with_request_in_flight);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_date_changes_each_second);
    tcase_add_test(tc, test_close_from_a_handler);
    tcase_add_test(tc, test_deferred_answered_after_server_freed);
    tcase_add_test(tc, test_io_threads_and_unix_socket);
    tcase_add_test(tc, test_output_limit_closes_non_reader);
    tcase_add_test(tc, test_static_files);
    tcase_add_test(tc, test_takeover_after_101);
    tcase_add_test(tc, test_stream_ended_inside_its_handler);
    tcase_add_test(tc, test_bind_failure_and_url);
    tcase_add_test(tc, test_random_splits_same_answers);
    tcase_add_test(tc, test_stream_written_from_another_thread);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
