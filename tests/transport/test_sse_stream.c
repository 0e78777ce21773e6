/* Tests for src/transport/sse_stream.c: SSE streams and channels on a real server.
 *
 * The server runs on its own libuv loop in a thread; the test thread is the client (blocking
 * sockets with timeouts) and the publisher, so every cross-thread path (publish, send, close
 * from a thread that is not the loop) is the real one. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "fa_test.h"
#include "fasterapi/error.h"
#include "fasterapi/http.h"
#include "fasterapi/sse.h"
#include "transport/http_internal.h"
#include "transport/sse.h"

static fa_http_server_t *srv;
static fa_sse_channel_t *chan, *chan_big;
static uv_loop_t loop;
static uv_thread_t loop_thread;
static int port;

/* What the loop thread reports. */
static _Atomic uint64_t plain_handle; /* fa_sse_stream_t of the last /plain stream, packed */
static _Atomic int closes, last_reason;

static void on_close(fa_sse_stream_t s, int reason, void *data) {
    (void)s;
    (void)data;
    atomic_store(&last_reason, reason);
    atomic_fetch_add(&closes, 1);
}

static void chan_cb(fa_http_req_t *req, void *data) {
    fa_sse_options_t o;
    fa_sse_options_init(&o);
    o.channel = data;
    o.retry_ms = 100;
    o.keepalive_ms = 60;
    o.on_close = on_close;
    ck_assert_int_eq(fa_sse_open(req, &o, NULL), 0);
    /* A second open on the same request is refused. */
    ck_assert_int_eq(fa_sse_open(req, &o, NULL), FA_ESTATE);
}

static void plain_cb(fa_http_req_t *req, void *data) {
    (void)data;
    fa_sse_options_t o;
    fa_sse_options_init(&o);
    o.on_close = on_close;
    o.keepalive_ms = 60000;
    fa_sse_stream_t h;
    ck_assert_int_eq(fa_sse_open(req, &o, &h), 0);
    atomic_store(&plain_handle, (uint64_t)h.id << 32 | h.gen);
}

/* A request deferred to another thread (as a Python worker's are), parked until the test thread
 * turns it into a stream with a message to the loop (web_stream.c does the same). */
static fa_http_deferred_t *_Atomic parked;

static void defer_cb(fa_http_req_t *req, void *data) {
    (void)data;
    fa_http_deferred_t *d = fa_http_req_defer(req);
    ck_assert_ptr_nonnull(d);
    atomic_store(&parked, d);
}

static fa_http_deferred_t *wait_parked(void) {
    for (int i = 0; i < 2000 && !atomic_load(&parked); i++)
        usleep(1000);
    fa_http_deferred_t *d = atomic_exchange(&parked, NULL);
    ck_assert_ptr_nonnull(d);
    return d;
}

typedef struct {
    fa__http_msg_t msg; /* first */
    fa_http_deferred_t *d;
    int mode; /* 0: SSE on chan, 1: a plain chunked stream, 2: expect the hold to fail */
} hold_msg_t;

static _Atomic int holds_failed, drains, stream_closes;

static void hold_drain(fa__http_stream_t *s, void *ctx) {
    (void)s;
    (void)ctx;
    atomic_fetch_add(&drains, 1);
}

static void hold_close(fa__http_stream_t *s, void *ctx) {
    (void)s;
    (void)ctx;
    atomic_fetch_add(&stream_closes, 1);
}

static void hold_cb(fa__http_loop_t *l, fa__http_conn_t *conn, fa__http_msg_t *m) {
    (void)l;
    (void)conn;
    hold_msg_t *hm = (hold_msg_t *)m;
    fa__http_stream_t *hs = fa__http_deferred_hold(hm->d, hold_close, NULL);
    if (!hs) {
        atomic_fetch_add(&holds_failed, 1);
    } else if (hm->mode == 2) {
        ck_abort_msg("held a request whose connection is gone");
    } else if (hm->mode == 0) {
        fa_sse_options_t o;
        fa_sse_options_init(&o);
        o.channel = chan;
        o.on_close = on_close;
        ck_assert_int_eq(fa__sse_open_held(hs, &o, NULL), 0);
    } else {
        ck_assert_int_eq(fa__http_held_stream(hs, 201, "text/plain", "X-A: b\r\n"), 0);
        fa__http_stream_on_drain(hs, hold_drain);
        ck_assert_int_eq(fa__http_stream_write(hs, "hello", 5), 0);
        fa__http_stream_end(hs);
    }
    free(hm);
}

static void post_hold(fa_http_deferred_t *d, int mode) {
    hold_msg_t *m = calloc(1, sizeof *m);
    m->msg.cb = hold_cb;
    m->msg.to.loop = 0;
    m->msg.to.slot = FA__HTTP_NO_SLOT;
    m->d = d;
    m->mode = mode;
    ck_assert_int_eq(fa__http_post(srv, &m->msg), 0);
}

/* Blocks the loop for a while, so that publishers can outrun it deterministically. */
static _Atomic int blocking;

static void block_cb(fa_http_req_t *req, void *data) {
    (void)data;
    atomic_store(&blocking, 1);
    usleep(300 * 1000);
    fa_http_res_send(req, 200, "text/plain", "ok", 2);
}

static fa_sse_stream_t plain(void) {
    uint64_t v = atomic_load(&plain_handle);
    fa_sse_stream_t h = {(uint32_t)(v >> 32), (uint32_t)v};
    return h;
}

static void run_loop(void *arg) {
    (void)arg;
    uv_run(&loop, UV_RUN_DEFAULT);
}

static void setup(void) {
    signal(SIGPIPE, SIG_IGN); /* the client side closes sockets the server still writes to */
    /* Fresh counters, also when CK_FORK=no runs every test in one process. */
    atomic_store(&closes, 0);
    atomic_store(&last_reason, 0);
    atomic_store(&plain_handle, 0);
    atomic_store(&blocking, 0);
    atomic_store(&parked, NULL);
    atomic_store(&holds_failed, 0);
    atomic_store(&drains, 0);
    atomic_store(&stream_closes, 0);
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    fa_http_options_t opts;
    fa_http_options_init(&opts);
    opts.port = 0;
    opts.shutdown_timeout_ms = 2000;
    ck_assert_int_eq(fa_http_server_new(&srv, &opts), 0);
    ck_assert_int_eq(fa_sse_channel_new(&chan, srv, 0, 8), 0);
    ck_assert_int_eq(fa_sse_channel_new(&chan_big, srv, 0, 4096), 0);
    ck_assert_int_eq(fa_http_route(srv, "GET", "/s", chan_cb, chan), 0);
    ck_assert_int_eq(fa_http_route(srv, "GET", "/big", chan_cb, chan_big), 0);
    ck_assert_int_eq(fa_http_route(srv, "GET", "/plain", plain_cb, NULL), 0);
    ck_assert_int_eq(fa_http_route(srv, "GET", "/block", block_cb, NULL), 0);
    ck_assert_int_eq(fa_http_route(srv, "GET", "/deferred", defer_cb, NULL), 0);
    ck_assert_int_eq(fa_http_server_start(srv, &loop), 0);
    port = fa_http_server_port(srv);
    ck_assert_int_gt(port, 0);
    ck_assert_int_eq(uv_thread_create(&loop_thread, run_loop, NULL), 0);
}

static void teardown(void) {
    fa_http_server_stop(srv); /* FA_ESTATE when a test stopped it already */
    uv_thread_join(&loop_thread);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    fa_http_server_free(srv);
    fa_sse_channel_free(chan);
    fa_sse_channel_free(chan_big);
}

/* ---- a small blocking client ---- */

typedef struct {
    int fd;
    char buf[65536];
    size_t len;
} client_t;

static void client_open(client_t *c, const char *path, const char *extra) {
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(c->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[512];
    int n =
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n", path, extra ? extra : "");
    ck_assert_int_eq(write(c->fd, req, (size_t)n), n);
}

/* Reads until `needle` is in the buffer (returns 1) or ms pass (returns 0). */
static int client_wait(client_t *c, const char *needle, int ms) {
    for (int waited = 0; waited <= ms; waited += 10) {
        c->buf[c->len] = '\0';
        if (strstr(c->buf, needle))
            return 1;
        struct pollfd p = {c->fd, POLLIN, 0};
        if (poll(&p, 1, 10) == 1) {
            ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
            if (r <= 0)
                return strstr(c->buf, needle) != NULL;
            c->len += (size_t)r;
        }
    }
    c->buf[c->len] = '\0';
    return strstr(c->buf, needle) != NULL;
}

static void client_close(client_t *c) {
    close(c->fd);
}

static int wait_int(_Atomic int *v, int want, int ms) {
    for (int i = 0; i < ms && atomic_load(v) < want; i++)
        usleep(1000);
    return atomic_load(v) >= want;
}

START_TEST(test_head_replay_and_live) {
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fa_sse_channel_publish(chan, NULL, NULL, "before", 6, NULL), 0);
    client_t *c = malloc(sizeof *c);
    client_open(c, "/s", "Last-Event-ID: 1\r\n");
    ck_assert(client_wait(c, "id: 3\ndata: before\n\n", 2000));
    ck_assert_ptr_nonnull(strstr(c->buf, "HTTP/1.1 200 OK\r\n"));
    ck_assert_ptr_nonnull(strstr(c->buf, "Content-Type: text/event-stream\r\n"));
    ck_assert_ptr_nonnull(strstr(c->buf, "Cache-Control: no-cache\r\n"));
    ck_assert_ptr_nonnull(strstr(c->buf, "X-Accel-Buffering: no\r\n"));
    ck_assert_ptr_nonnull(strstr(c->buf, "Transfer-Encoding: chunked\r\n"));
    ck_assert_ptr_nonnull(strstr(c->buf, "retry: 100\n\n"));
    ck_assert_ptr_null(strstr(c->buf, "id: 1\n")); /* the client had 1 */
    ck_assert_ptr_nonnull(strstr(c->buf, "id: 2\ndata: before\n\n"));
    ck_assert_int_eq(fa_sse_channel_subscribers(chan), 1);
    /* Live, from this (non-loop) thread. */
    char id[300];
    ck_assert_int_eq(fa_sse_channel_publish(chan, "tick", NULL, "a\nb", 3, id), 0);
    ck_assert_str_eq(id, "4");
    ck_assert(client_wait(c, "event: tick\nid: 4\ndata: a\ndata: b\n\n", 2000));
    /* Refused events publish nothing. */
    ck_assert_int_eq(fa_sse_channel_publish(chan, "a\nb", NULL, "x", 1, NULL), FA_EINVAL);
    /* The client leaves: on_close(FA_EOF), the subscription goes away. */
    client_close(c);
    ck_assert(wait_int(&closes, 1, 2000));
    ck_assert_int_eq(atomic_load(&last_reason), FA_EOF);
    ck_assert_int_eq(fa_sse_channel_subscribers(chan), 0);
    free(c);
}
END_TEST

START_TEST(test_unknown_id_replays_nothing) {
    for (int i = 0; i < 20; i++) /* the ring keeps 8: ids 1..12 are gone */
        ck_assert_int_eq(fa_sse_channel_publish(chan, NULL, NULL, "old", 3, NULL), 0);
    client_t *c = malloc(sizeof *c);
    client_open(c, "/s", "Last-Event-ID: 5\r\n");
    ck_assert(client_wait(c, "retry: 100\n\n", 2000));
    ck_assert_int_eq(fa_sse_channel_publish(chan, NULL, NULL, "new", 3, NULL), 0);
    ck_assert(client_wait(c, "id: 21\ndata: new\n\n", 2000));
    ck_assert_ptr_null(strstr(c->buf, "data: old"));
    client_close(c);
    /* A kept id replays from the next one. */
    client_open(c, "/s", "Last-Event-ID: 18\r\n");
    ck_assert(client_wait(c, "id: 21\ndata: new\n\n", 2000));
    ck_assert_ptr_nonnull(strstr(c->buf, "id: 19\n"));
    ck_assert_ptr_null(strstr(c->buf, "id: 18\n"));
    client_close(c);
    free(c);
}
END_TEST

START_TEST(test_head_request_gets_no_stream) {
    client_t *c = malloc(sizeof *c);
    c->len = 0;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&a, sizeof a), 0);
    const char *head = "HEAD /s HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    ck_assert_int_eq(write(c->fd, head, strlen(head)), (ssize_t)strlen(head));
    /* The HEAD answer has no body, so the next response follows it directly. */
    ck_assert(client_wait(c, "HTTP/1.1 404", 2000));
    ck_assert_ptr_nonnull(strstr(c->buf, "Content-Type: text/event-stream\r\n"));
    ck_assert_ptr_null(strstr(c->buf, "retry:"));
    ck_assert_ptr_null(strstr(c->buf, "Transfer-Encoding"));
    ck_assert_int_eq(fa_sse_channel_subscribers(chan), 0);
    client_close(c);
    ck_assert_int_eq(atomic_load(&closes), 0); /* no stream, so no on_close */
    free(c);
}
END_TEST

/* A subscriber whose loop falls more than the ring's window behind is closed (FA_ELIMIT) rather
 * than silently skipping events; its client reconnects. */
START_TEST(test_fell_behind_is_closed) {
    client_t *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    client_open(a, "/s", NULL);
    ck_assert(client_wait(a, "retry: 100\n\n", 2000));
    client_open(b, "/block", NULL);
    for (int i = 0; i < 2000 && !atomic_load(&blocking); i++)
        usleep(1000);
    ck_assert(atomic_load(&blocking));
    for (int i = 0; i < 20; i++) /* the ring keeps 8 */
        ck_assert_int_eq(fa_sse_channel_publish(chan, NULL, NULL, "x", 1, NULL), 0);
    ck_assert(wait_int(&closes, 1, 2000));
    ck_assert_int_eq(atomic_load(&last_reason), FA_ELIMIT);
    ck_assert(client_wait(a, "0\r\n\r\n", 2000));
    ck_assert_ptr_null(strstr(a->buf, "data: x"));
    ck_assert_int_eq(fa_sse_channel_subscribers(chan), 0);
    /* Reconnecting with an id still kept replays from there. */
    client_close(a);
    client_open(a, "/s", "Last-Event-ID: 15\r\n");
    ck_assert(client_wait(a, "id: 20\n", 2000));
    ck_assert_ptr_nonnull(strstr(a->buf, "id: 16\n"));
    ck_assert_ptr_null(strstr(a->buf, "id: 15\n"));
    client_close(a);
    client_close(b);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_keepalive_comment) {
    client_t *c = malloc(sizeof *c);
    client_open(c, "/s", NULL);
    ck_assert(client_wait(c, ": keep-alive\n\n", 2000));
    client_close(c);
    free(c);
}
END_TEST

START_TEST(test_send_close_and_stale_handle) {
    client_t *c = malloc(sizeof *c);
    client_open(c, "/plain", NULL);
    ck_assert(client_wait(c, "\r\n\r\n", 2000));
    for (int i = 0; i < 200 && atomic_load(&plain_handle) == 0; i++)
        usleep(1000);
    fa_sse_stream_t h = plain();
    ck_assert_int_eq(h.gen & 1u, 1);
    ck_assert_int_eq(fa_sse_send(h, NULL, "x1", "hello", 5), 0);
    ck_assert(client_wait(c, "id: x1\ndata: hello\n\n", 2000));
    ck_assert_int_eq(fa_sse_send(h, "bad\n", NULL, "x", 1), FA_EINVAL);
    ck_assert_int_eq(fa_sse_close(h), 0);
    ck_assert(client_wait(c, "\r\n0\r\n\r\n", 2000)); /* the last chunk */
    ck_assert(wait_int(&closes, 1, 2000));
    ck_assert_int_eq(atomic_load(&last_reason), 0);
    ck_assert_int_eq(fa_sse_send(h, NULL, NULL, "late", 4), FA_ESTATE);
    ck_assert_int_eq(fa_sse_close(h), FA_ESTATE);
    fa_sse_stream_t zero = {0, 0};
    ck_assert_int_eq(fa_sse_send(zero, NULL, NULL, "x", 1), FA_ESTATE);
    fa_sse_stream_t far = {1u << 30, 1};
    ck_assert_int_eq(fa_sse_send(far, NULL, NULL, "x", 1), FA_ESTATE);
    /* The connection stays usable (keep-alive): the next request is answered. */
    ck_assert_int_eq(write(c->fd, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 31), 31);
    ck_assert(client_wait(c, "HTTP/1.1 404", 2000));
    client_close(c);
    free(c);
}
END_TEST

START_TEST(test_server_shutdown_ends_streams) {
    client_t *c = malloc(sizeof *c);
    client_open(c, "/s", NULL);
    ck_assert(client_wait(c, "retry: 100\n\n", 2000));
    ck_assert_int_eq(fa_http_server_stop(srv), 0);
    /* The stream ends at once (not after shutdown_timeout_ms) with its last chunk. */
    ck_assert(wait_int(&closes, 1, 1000));
    ck_assert_int_eq(atomic_load(&last_reason), FA_ECANCELED);
    ck_assert(client_wait(c, "0\r\n\r\n", 1000));
    ck_assert_int_eq(fa_sse_channel_subscribers(chan), 0);
    client_close(c);
    free(c);
}
END_TEST

/* Two publisher threads, two clients: every client gets every event exactly once, in id
 * order (ids are given by the channel under its lock, so they are the order), however the
 * wake-ups coalesce. */
#define PUBS 2
#define PER_PUB 300

static void publisher(void *arg) {
    (void)arg;
    for (int i = 0; i < PER_PUB; i++) {
        ck_assert_int_eq(fa_sse_channel_publish(chan_big, NULL, NULL, "p", 1, NULL), 0);
    }
}

START_TEST(test_concurrent_publishers) {
    client_t *c[2];
    for (int k = 0; k < 2; k++) {
        c[k] = malloc(sizeof *c[k]);
        client_open(c[k], "/big", NULL);
        ck_assert(client_wait(c[k], "retry: 100\n\n", 2000));
    }
    ck_assert_int_eq(fa_sse_channel_subscribers(chan_big), 2);
    uv_thread_t t[PUBS];
    for (int i = 0; i < PUBS; i++)
        ck_assert_int_eq(uv_thread_create(&t[i], publisher, NULL), 0);
    for (int i = 0; i < PUBS; i++)
        uv_thread_join(&t[i]);
    char last[64];
    snprintf(last, sizeof last, "id: %d\n", PUBS * PER_PUB);
    for (int k = 0; k < 2; k++) {
        ck_assert(client_wait(c[k], last, 5000));
        int next = 1;
        const char *p = c[k]->buf;
        while ((p = strstr(p, "id: ")) != NULL) {
            ck_assert_int_eq(atoi(p + 4), next);
            next++;
            p += 4;
        }
        ck_assert_int_eq(next, PUBS * PER_PUB + 1);
        client_close(c[k]);
        free(c[k]);
    }
}
END_TEST

START_TEST(test_deferred_request_becomes_sse) {
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fa_sse_channel_publish(chan, NULL, NULL, "x", 1, NULL), 0);
    client_t *c = malloc(sizeof *c);
    client_open(c, "/deferred", "Last-Event-ID: 2\r\n");
    post_hold(wait_parked(), 0); /* from this thread, as a worker would */
    /* The replay after id 2 (read from the deferred request's copy), then live events. */
    ck_assert(client_wait(c, "id: 3\ndata: x\n\n", 2000));
    ck_assert_ptr_null(strstr(c->buf, "id: 2\n"));
    ck_assert_ptr_nonnull(strstr(c->buf, "Content-Type: text/event-stream\r\n"));
    ck_assert_int_eq(fa_sse_channel_subscribers(chan), 1);
    ck_assert_int_eq(fa_sse_channel_publish(chan, NULL, NULL, "live", 4, NULL), 0);
    ck_assert(client_wait(c, "id: 4\ndata: live\n\n", 2000));
    client_close(c);
    ck_assert(wait_int(&closes, 1, 2000));
    ck_assert_int_eq(atomic_load(&stream_closes), 0); /* the holder's callback was handed over */
    ck_assert_int_eq(fa_sse_channel_subscribers(chan), 0);
    free(c);
}
END_TEST

START_TEST(test_deferred_request_becomes_chunked_stream) {
    client_t *c = malloc(sizeof *c);
    client_open(c, "/deferred", NULL);
    post_hold(wait_parked(), 1);
    ck_assert(client_wait(c, "5\r\nhello\r\n0\r\n\r\n", 2000));
    ck_assert_ptr_nonnull(strstr(c->buf, "HTTP/1.1 201 Created\r\n"));
    ck_assert_ptr_nonnull(strstr(c->buf, "X-A: b\r\n"));
    ck_assert_ptr_nonnull(strstr(c->buf, "Transfer-Encoding: chunked\r\n"));
    ck_assert_int_ge(atomic_load(&drains), 1);        /* the chunk's flush told the producer */
    ck_assert_int_eq(atomic_load(&stream_closes), 0); /* ended, not closed under it */
    /* The connection serves the next request. */
    c->len = 0;
    ck_assert_int_eq(write(c->fd, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n", 33), 33);
    ck_assert(client_wait(c, "\r\n\r\nok", 2000));
    client_close(c);
    free(c);
}
END_TEST

START_TEST(test_deferred_hold_after_client_left) {
    client_t *c = malloc(sizeof *c);
    client_open(c, "/deferred", NULL);
    fa_http_deferred_t *d = wait_parked();
    /* A reset (not a half-close, which leaves the connection waiting for its answers): the
     * connection is gone and the deferred request is orphaned. */
    struct linger lg = {1, 0};
    ck_assert_int_eq(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    client_close(c);
    usleep(100 * 1000);
    post_hold(d, 2);
    ck_assert(wait_int(&holds_failed, 1, 2000)); /* released there (ASan: no leak) */
    ck_assert_int_eq(atomic_load(&stream_closes), 0);
    free(c);
}
END_TEST

int main(void) {
    Suite *s = suite_create("transport/sse_stream");
    TCase *tc = tcase_create("sse_stream");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_head_replay_and_live);
    tcase_add_test(tc, test_unknown_id_replays_nothing);
    tcase_add_test(tc, test_head_request_gets_no_stream);
    tcase_add_test(tc, test_fell_behind_is_closed);
    tcase_add_test(tc, test_keepalive_comment);
    tcase_add_test(tc, test_send_close_and_stale_handle);
    tcase_add_test(tc, test_concurrent_publishers);
    tcase_add_test(tc, test_server_shutdown_ends_streams);
    tcase_add_test(tc, test_deferred_request_becomes_sse);
    tcase_add_test(tc, test_deferred_request_becomes_chunked_stream);
    tcase_add_test(tc, test_deferred_hold_after_client_left);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
