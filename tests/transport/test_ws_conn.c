/* Tests for src/transport/ws_conn.c: WebSocket routes on the HTTP server, driven over raw sockets
 * by a client written here (it masks its frames and parses the server's with the client side of
 * transport/ws.h's parser), so every byte on the wire is checked. The server runs on a libuv loop
 * in its own thread; every test ends with that loop's uv_loop_close() == 0 (STYLE.md §13). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "fa_test.h"
#include "fasterapi/error.h"
#include "fasterapi/http.h"
#include "fasterapi/ws.h"
#include "transport/ws.h"

/* ---- what the server's callbacks saw (loop thread writes, test thread reads) ---- */

static pthread_mutex_t ev_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ev_cv = PTHREAD_COND_INITIALIZER;
static int opened, closed_n, last_close_code;
static char last_close_reason[128];
static fa_ws_handle_t handles[8];
static int last_send_rc, flood_done;
static fa_ws_set_t *room;

static void wait_for(int *counter, int want) {
    pthread_mutex_lock(&ev_mu);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    while (*counter < want)
        if (pthread_cond_timedwait(&ev_cv, &ev_mu, &ts) != 0)
            break;
    int got = *counter;
    pthread_mutex_unlock(&ev_mu);
    ck_assert_int_ge(got, want);
}

static void on_open(fa_ws_t *ws, fa_http_req_t *req, void *data) {
    (void)data;
    ck_assert_str_eq(fa_http_req_path(req), "/ws");
    if (room)
        ck_assert_int_eq(fa_ws_set_add(room, fa_ws_handle(ws)), 0);
    pthread_mutex_lock(&ev_mu);
    handles[opened % 8] = fa_ws_handle(ws);
    opened++;
    pthread_cond_broadcast(&ev_cv);
    pthread_mutex_unlock(&ev_mu);
}

static void on_message(fa_ws_t *ws, int type, const char *msg, size_t len, void *data) {
    (void)data;
    if (len == 8 && memcmp(msg, "close-me", 8) == 0) {
        ck_assert_int_eq(fa_ws_close(ws, 4000, "as asked"), 0);
        ck_assert_int_eq(fa_ws_send(ws, FA_WS_TEXT, "late", 4), FA_ESTATE);
        return;
    }
    if (len == 5 && memcmp(msg, "flood", 5) == 0) {
        /* Inside a read batch nothing is written before the callback returns: the queue grows
         * until the output limit drops the connection. */
        static char chunk[16384];
        int rc;
        size_t n = 0;
        while ((rc = fa_ws_send(ws, FA_WS_BINARY, chunk, sizeof chunk)) == 0)
            ck_assert_uint_lt(++n, 1000);
        pthread_mutex_lock(&ev_mu);
        last_send_rc = rc;
        flood_done++;
        pthread_cond_broadcast(&ev_cv);
        pthread_mutex_unlock(&ev_mu);
        return;
    }
    if (len == 5 && memcmp(msg, "bcast", 5) == 0 && room) {
        /* From the loop thread: the connections of this loop are written directly. */
        ck_assert_int_eq(fa_ws_broadcast(room, FA_WS_TEXT, "from-loop", 9),
                         (int)fa_ws_set_size(room));
        return;
    }
    if (len == 4 && memcmp(msg, "\xff\xfe\xfd\xfc", 4) == 0) {
        ck_assert_int_eq(fa_ws_send(ws, FA_WS_TEXT, msg, len), FA_EINVAL); /* not UTF-8 */
    }
    ck_assert_int_eq(fa_ws_send(ws, type, msg, len), 0); /* echo */
}

static void on_close(fa_ws_t *ws, int code, const char *reason, size_t len, void *data) {
    (void)ws;
    (void)data;
    pthread_mutex_lock(&ev_mu);
    last_close_code = code;
    snprintf(last_close_reason, sizeof last_close_reason, "%.*s", (int)len, reason);
    closed_n++;
    pthread_cond_broadcast(&ev_cv);
    pthread_mutex_unlock(&ev_mu);
}

static const char *const protocols[] = {"chat", "json", NULL};
static fa_ws_options_t wsopts;
static int io_threads = 1;

/* ---- server on a thread ---- */

typedef struct {
    fa_http_server_t *srv;
    uv_loop_t loop;
    pthread_t th;
    int port, start_rc, close_rc, ready;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} server_t;

static void *server_thread(void *arg) {
    server_t *s = arg;
    uv_loop_init(&s->loop);
    fa_http_options_t opts;
    fa_http_options_init(&opts);
    opts.port = 0;
    opts.io_threads = io_threads;
    int rc = fa_http_server_new(&s->srv, &opts);
    if (rc == 0)
        rc = fa_ws_route(s->srv, "/ws", &wsopts);
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

static void reset_events(void) {
    opened = closed_n = last_close_code = 0;
    last_close_reason[0] = '\0';
    last_send_rc = flood_done = 0;
    memset(handles, 0, sizeof handles);
}

static server_t *server_start(void) {
    reset_events();
    server_t *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_create(&s->th, NULL, server_thread, s);
    pthread_mutex_lock(&s->mu);
    while (!s->ready)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    ck_assert_int_eq(s->start_rc, 0);
    return s;
}

static void server_stop(server_t *s) {
    ck_assert_int_eq(fa_http_server_stop(s->srv), 0);
    pthread_join(s->th, NULL);
    ck_assert_int_eq(s->close_rc, 0);
    fa_http_server_free(s->srv);
    free(s);
}

static void setup_options(void) {
    fa_ws_options_init(&wsopts);
    wsopts.on_open = on_open;
    wsopts.on_message = on_message;
    wsopts.on_close = on_close;
    wsopts.subprotocols = protocols;
    wsopts.close_timeout_ms = 300;
    wsopts.no_idle = 1;
}

/* ---- client ---- */

typedef struct {
    int fd;
    char buf[1 << 17];
    size_t len;
    fa__ws_parser_t p;
} client_t;

static client_t *client_connect(int port) {
    client_t *c = calloc(1, sizeof *c);
    c->fd = fa_test_connect_loopback(port);
    fa__ws_limits_t lim;
    fa__ws_limits_default(&lim);
    lim.client = 1;
    fa__ws_parser_init(&c->p, &lim);
    return c;
}

static void client_close(client_t *c) {
    close(c->fd);
    free(c);
}

static void client_send(client_t *c, const void *data, size_t len) {
    const char *p = data;
    while (len) {
        ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);
        ck_assert_int_gt(w, 0);
        p += w;
        len -= (size_t)w;
    }
}

/* Reads more bytes; 0 at EOF (or reset), -1 on timeout. */
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

/* Sends the request and reads the answer's head into head (the rest stays in c->buf). Returns
 * the status. */
static int client_request(client_t *c, const char *req, char *head, size_t cap) {
    client_send(c, req, strlen(req));
    char *end;
    while (!(end = strstr(c->buf, "\r\n\r\n")))
        ck_assert_int_eq(client_fill(c), 1);
    size_t hl = (size_t)(end + 4 - c->buf);
    ck_assert_uint_lt(hl, cap);
    memcpy(head, c->buf, hl);
    head[hl] = '\0';
    memmove(c->buf, c->buf + hl, c->len - hl + 1);
    c->len -= hl;
    int status = 0;
    ck_assert_int_eq(sscanf(head, "HTTP/1.1 %d", &status), 1);
    return status;
}

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define UPGRADE                                                                                    \
    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"                 \
    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n"

static client_t *ws_connect(int port) {
    client_t *c = client_connect(port);
    char head[2048];
    int st = client_request(c, UPGRADE "Sec-WebSocket-Protocol: superchat, json\r\n\r\n", head,
                            sizeof head);
    ck_assert_int_eq(st, 101);
    ck_assert_ptr_nonnull(strcasestr(head, "\r\nUpgrade: websocket\r\n"));
    ck_assert_ptr_nonnull(strcasestr(head, "\r\nConnection: Upgrade\r\n"));
    /* RFC 6455 §1.3's key and answer. */
    ck_assert_ptr_nonnull(
        strstr(head, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    ck_assert_ptr_nonnull(strstr(head, "\r\nSec-WebSocket-Protocol: json\r\n"));
    ck_assert_ptr_null(strcasestr(head, "Content-Length"));
    return c;
}

static void ws_send(client_t *c, int fin, int opcode, const void *payload, size_t len) {
    static const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
    unsigned char *f = malloc(len + 14);
    size_t h = fa__ws_frame_header(f, opcode, fin, len);
    f[1] |= 0x80;
    memcpy(f + h, key, 4);
    h += 4;
    if (len)
        memcpy(f + h, payload, len);
    fa__ws_mask(f + h, len, key, 0);
    client_send(c, f, h + len);
    free(f);
}

typedef struct {
    fa__ws_event_type_t type;
    int opcode;
    unsigned code;
    char data[70000];
    size_t len;
} frame_t;

/* Reads the next whole message or control frame from the server; 0 at EOF. */
static int ws_read(client_t *c, frame_t *f) {
    memset(f, 0, offsetof(frame_t, data));
    f->len = 0;
    for (;;) {
        size_t off = 0;
        while (off < c->len) {
            fa__ws_event_t ev;
            int64_t r = fa__ws_parser_feed(&c->p, c->buf + off, c->len - off, &ev);
            if (r == FA_EAGAIN) {
                off = c->len;
                break;
            }
            ck_assert_int_ge(r, 0);
            off += (size_t)r;
            ck_assert_uint_le(f->len + ev.len, sizeof f->data);
            memcpy(f->data + f->len, ev.data, ev.len);
            f->len += ev.len;
            if (ev.type != FA_WS_EV_DATA || ev.fin) {
                f->type = ev.type;
                f->opcode = ev.opcode;
                f->code = ev.code;
                memmove(c->buf, c->buf + off, c->len - off);
                c->len -= off;
                return 1;
            }
        }
        c->len = 0;
        int rc = client_fill(c);
        ck_assert_int_ne(rc, -1);
        if (rc == 0)
            return 0;
    }
}

static int client_sees_eof(client_t *c) {
    return c->len == 0 && client_fill(c) == 0;
}

/* ---- tests ---- */

START_TEST(test_handshake_echo_ping_close) {
    setup_options();
    server_t *s = server_start();
    client_t *c = ws_connect(s->port);
    wait_for(&opened, 1);
    frame_t *f = malloc(sizeof *f);
    /* Text, binary, a fragmented text with a ping in the middle, 64 KiB binary. */
    ws_send(c, 1, FA_WS_OP_TEXT, "Hello", 5);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(f->type, FA_WS_EV_DATA);
    ck_assert_int_eq(f->opcode, FA_WS_OP_TEXT);
    ck_assert_uint_eq(f->len, 5);
    ck_assert_int_eq(memcmp(f->data, "Hello", 5), 0);
    ws_send(c, 1, FA_WS_OP_BINARY, "\x00\xff\x01", 3);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(f->opcode, FA_WS_OP_BINARY);
    ck_assert_int_eq(memcmp(f->data, "\x00\xff\x01", 3), 0);
    ws_send(c, 0, FA_WS_OP_TEXT, "\xce\xba\xe1", 3); /* κό split inside ό */
    ws_send(c, 1, FA_WS_OP_PING, "png", 3);
    ws_send(c, 1, FA_WS_OP_CONT, "\xbd\xb9", 2);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(f->type, FA_WS_EV_PONG); /* auto-pong, before the message ends */
    ck_assert_uint_eq(f->len, 3);
    ck_assert_int_eq(memcmp(f->data, "png", 3), 0);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(f->opcode, FA_WS_OP_TEXT);
    ck_assert_uint_eq(f->len, 5);
    ck_assert_int_eq(memcmp(f->data, "\xce\xba\xe1\xbd\xb9", 5), 0);
    static char big[65536];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 13);
    ws_send(c, 1, FA_WS_OP_BINARY, big, sizeof big);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_uint_eq(f->len, sizeof big);
    ck_assert_int_eq(memcmp(f->data, big, sizeof big), 0);
    /* Close handshake: the server echoes the code, then closes TCP. */
    ws_send(c, 1, FA_WS_OP_CLOSE,
            "\x03\xe8"
            "bye",
            5);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(f->type, FA_WS_EV_CLOSE);
    ck_assert_uint_eq(f->code, 1000);
    ck_assert(client_sees_eof(c));
    wait_for(&closed_n, 1);
    ck_assert_int_eq(last_close_code, 1000);
    ck_assert_str_eq(last_close_reason, "bye");
    /* The handle is dead now: a send from this thread is refused. */
    ck_assert(!fa_ws_alive(handles[0]));
    ck_assert_int_eq(fa_ws_send_to(handles[0], FA_WS_TEXT, "x", 1), FA_ESTATE);
    free(f);
    client_close(c);
    server_stop(s);
}
END_TEST

START_TEST(test_bad_frames_close_with_codes) {
    setup_options();
    server_t *s = server_start();
    frame_t *f = malloc(sizeof *f);
    /* Unmasked frame -> 1002. */
    client_t *c = ws_connect(s->port);
    client_send(c, "\x81\x02hi", 4);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(f->type, FA_WS_EV_CLOSE);
    ck_assert_uint_eq(f->code, 1002);
    ck_assert(client_sees_eof(c));
    client_close(c);
    wait_for(&closed_n, 1);
    ck_assert_int_eq(last_close_code, 1002);
    /* Invalid UTF-8 in a text message -> 1007. */
    c = ws_connect(s->port);
    ws_send(c, 1, FA_WS_OP_TEXT, "\xce\xba\xed\xa0\x80", 5);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_uint_eq(f->code, 1007);
    ck_assert(client_sees_eof(c));
    client_close(c);
    wait_for(&closed_n, 2);
    /* Reserved opcode -> 1002; TCP closed without a close frame -> on_close 1006. */
    c = ws_connect(s->port);
    ws_send(c, 1, 3, "x", 1);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_uint_eq(f->code, 1002);
    client_close(c);
    wait_for(&closed_n, 3);
    c = ws_connect(s->port);
    wait_for(&opened, 4);
    client_close(c);
    wait_for(&closed_n, 4);
    ck_assert_int_eq(last_close_code, 1006);
    free(f);
    server_stop(s);
}
END_TEST

START_TEST(test_bad_handshakes) {
    setup_options();
    server_t *s = server_start();
    char head[2048];
    client_t *c = client_connect(s->port);
    ck_assert_int_eq(client_request(c,
                                    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                    "Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\n"
                                    "Sec-WebSocket-Key: " KEY "\r\n\r\n",
                                    head, sizeof head),
                     426);
    ck_assert_ptr_nonnull(strstr(head, "\r\nSec-WebSocket-Version: 13\r\n"));
    client_close(c);
    c = client_connect(s->port);
    ck_assert_int_eq(client_request(c,
                                    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                    "Sec-WebSocket-Key: short\r\n\r\n",
                                    head, sizeof head),
                     400);
    client_close(c);
    c = client_connect(s->port);
    ck_assert_int_eq(client_request(c, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", head, sizeof head),
                     400);
    client_close(c);
    /* No subprotocol in common: 101 without Sec-WebSocket-Protocol. */
    c = client_connect(s->port);
    ck_assert_int_eq(
        client_request(c, UPGRADE "Sec-WebSocket-Protocol: mqtt\r\n\r\n", head, sizeof head), 101);
    ck_assert_ptr_null(strstr(head, "Sec-WebSocket-Protocol"));
    client_close(c);
    ck_assert_int_eq(opened, 1);
    server_stop(s);
}
END_TEST

START_TEST(test_server_close_and_timeout) {
    setup_options();
    server_t *s = server_start();
    frame_t *f = malloc(sizeof *f);
    client_t *c = ws_connect(s->port);
    ws_send(c, 1, FA_WS_OP_TEXT, "close-me", 8);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(f->type, FA_WS_EV_CLOSE);
    ck_assert_uint_eq(f->code, 4000);
    ck_assert_int_eq(memcmp(f->data, "as asked", 8), 0);
    /* Messages after our close are ignored; the client never answers: TCP closes after the
     * close timeout (300 ms here). */
    ws_send(c, 1, FA_WS_OP_TEXT, "ignored", 7);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert(client_sees_eof(c));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    ck_assert_double_ge(ms, 150);
    wait_for(&closed_n, 1);
    ck_assert_int_eq(last_close_code, 4000);
    client_close(c);
    /* The same, but the client answers: TCP closes at once. */
    c = ws_connect(s->port);
    ws_send(c, 1, FA_WS_OP_TEXT, "close-me", 8);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_uint_eq(f->code, 4000);
    ws_send(c, 1, FA_WS_OP_CLOSE, "\x0f\xa0", 2);
    ck_assert(client_sees_eof(c));
    wait_for(&closed_n, 2);
    ck_assert_int_eq(last_close_code, 4000);
    client_close(c);
    free(f);
    server_stop(s);
}
END_TEST

START_TEST(test_idle_ping_then_close) {
    setup_options();
    wsopts.no_idle = 0;
    wsopts.idle_timeout_ms = 100;
    server_t *s = server_start();
    frame_t *f = malloc(sizeof *f);
    client_t *c = ws_connect(s->port);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(f->type, FA_WS_EV_PING);
    /* Answering counts as activity: the next thing is another ping, not a close. */
    ws_send(c, 1, FA_WS_OP_PONG, NULL, 0);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(f->type, FA_WS_EV_PING);
    /* Silence: close 1001. */
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(f->type, FA_WS_EV_CLOSE);
    ck_assert_uint_eq(f->code, 1001);
    ws_send(c, 1, FA_WS_OP_CLOSE, "\x03\xe9", 2);
    ck_assert(client_sees_eof(c));
    wait_for(&closed_n, 1);
    ck_assert_int_eq(last_close_code, 1001);
    client_close(c);
    free(f);
    server_stop(s);
}
END_TEST

START_TEST(test_send_from_other_threads_and_broadcast) {
    setup_options();
    ck_assert_int_eq(fa_ws_set_new(&room), 0);
    server_t *s = server_start();
    frame_t *f = malloc(sizeof *f);
    client_t *a = ws_connect(s->port), *b = ws_connect(s->port);
    wait_for(&opened, 2);
    ck_assert_uint_eq(fa_ws_set_size(room), 2);
    ck_assert_int_eq(fa_ws_set_add(room, handles[0]), FA_EEXIST);
    /* From this (non-loop) thread, in order. */
    for (int i = 0; i < 50; i++) {
        char m[16];
        int n = snprintf(m, sizeof m, "m%d", i);
        ck_assert_int_eq(fa_ws_send_to(handles[0], FA_WS_TEXT, m, (size_t)n), 0);
    }
    for (int i = 0; i < 50; i++) {
        char m[16];
        int n = snprintf(m, sizeof m, "m%d", i);
        ck_assert_int_eq(ws_read(a, f), 1);
        ck_assert_uint_eq(f->len, (size_t)n);
        ck_assert_int_eq(memcmp(f->data, m, (size_t)n), 0);
    }
    ck_assert_int_eq(fa_ws_send_to(handles[0], FA_WS_TEXT, "\xff", 1), FA_EINVAL);
    ck_assert_int_eq(fa_ws_send_to(handles[0], 7, "x", 1), FA_EINVAL);
    fa_ws_handle_t bogus = {handles[0].id, handles[0].gen + 2};
    ck_assert_int_eq(fa_ws_send_to(bogus, FA_WS_TEXT, "x", 1), FA_ESTATE);
    fa_ws_handle_t zero = {0, 0};
    ck_assert_int_eq(fa_ws_send_to(zero, FA_WS_TEXT, "x", 1), FA_ESTATE);
    /* Broadcast to both. */
    ck_assert_int_eq(fa_ws_broadcast(room, FA_WS_BINARY, "all", 3), 2);
    ck_assert_int_eq(ws_read(a, f), 1);
    ck_assert_int_eq(f->opcode, FA_WS_OP_BINARY);
    ck_assert_int_eq(memcmp(f->data, "all", 3), 0);
    ck_assert_int_eq(ws_read(b, f), 1);
    ck_assert_int_eq(memcmp(f->data, "all", 3), 0);
    /* b leaves: the next broadcast reaches only a, and forgets b. */
    client_close(b);
    wait_for(&closed_n, 1);
    ck_assert_int_eq(fa_ws_broadcast(room, FA_WS_TEXT, "left", 4), 1);
    ck_assert_uint_eq(fa_ws_set_size(room), 1);
    ck_assert_int_eq(ws_read(a, f), 1);
    ck_assert_int_eq(memcmp(f->data, "left", 4), 0);
    /* Close from another thread. */
    ck_assert_int_eq(fa_ws_close_to(handles[0], 1000, "done"), 0);
    ck_assert_int_eq(ws_read(a, f), 1);
    ck_assert_int_eq(f->type, FA_WS_EV_CLOSE);
    ck_assert_uint_eq(f->code, 1000);
    ws_send(a, 1, FA_WS_OP_CLOSE, "\x03\xe8", 2);
    ck_assert(client_sees_eof(a));
    wait_for(&closed_n, 2);
    ck_assert_int_eq(fa_ws_close_to(handles[0], 1000, NULL), FA_ESTATE);
    ck_assert_int_eq(fa_ws_broadcast(room, FA_WS_TEXT, "none", 4), 0);
    ck_assert_uint_eq(fa_ws_set_size(room), 0);
    client_close(a);
    free(f);
    server_stop(s);
    fa_ws_set_free(room);
    room = NULL;
}
END_TEST

START_TEST(test_broadcast_from_the_loop_and_across_loops) {
    setup_options();
    io_threads = 2;
    ck_assert_int_eq(fa_ws_set_new(&room), 0);
    server_t *s = server_start();
    frame_t *f = malloc(sizeof *f);
    client_t *cl[4];
    for (int i = 0; i < 4; i++)
        cl[i] = ws_connect(s->port);
    wait_for(&opened, 4);
    ws_send(cl[0], 1, FA_WS_OP_TEXT, "bcast", 5);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(ws_read(cl[i], f), 1);
        ck_assert_uint_eq(f->len, 9);
        ck_assert_int_eq(memcmp(f->data, "from-loop", 9), 0);
    }
    ck_assert_int_eq(fa_ws_broadcast(room, FA_WS_BINARY, "from-test", 9), 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(ws_read(cl[i], f), 1);
        ck_assert_int_eq(memcmp(f->data, "from-test", 9), 0);
        client_close(cl[i]);
    }
    wait_for(&closed_n, 4);
    free(f);
    server_stop(s);
    fa_ws_set_free(room);
    room = NULL;
    io_threads = 1;
}
END_TEST

/* Threads keep sending to a connection while it closes: every send is queued or refused with
 * FA_ESTATE, none touches the closed connection (ASan/TSan builds check the memory side). */
typedef struct {
    fa_ws_handle_t h;
    int sent, refused;
} sender_t;

static void *sender(void *arg) {
    sender_t *sd = arg;
    for (int i = 0; i < 20000; i++) {
        int rc = fa_ws_send_to(sd->h, FA_WS_TEXT, "tick", 4);
        ck_assert(rc == 0 || rc == FA_ESTATE);
        if (rc == 0) {
            sd->sent++;
        } else {
            sd->refused++;
            if (sd->refused > 10)
                break;
        }
    }
    return NULL;
}

START_TEST(test_sends_racing_with_close) {
    setup_options();
    server_t *s = server_start();
    frame_t *f = malloc(sizeof *f);
    client_t *c = ws_connect(s->port);
    wait_for(&opened, 1);
    sender_t sd[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        sd[i].h = handles[0];
        sd[i].sent = sd[i].refused = 0;
        pthread_create(&th[i], NULL, sender, &sd[i]);
    }
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(memcmp(f->data, "tick", 4), 0);
    client_close(c); /* mid-stream */
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    wait_for(&closed_n, 1);
    ck_assert_int_eq(fa_ws_send_to(handles[0], FA_WS_TEXT, "late", 4), FA_ESTATE);
    free(f);
    server_stop(s);
}
END_TEST

START_TEST(test_output_limit_drops_a_client_that_does_not_read) {
    setup_options();
    wsopts.max_output = 256 * 1024;
    server_t *s = server_start();
    client_t *c = ws_connect(s->port);
    ws_send(c, 1, FA_WS_OP_TEXT, "flood", 5);
    wait_for(&flood_done, 1);
    wait_for(&closed_n, 1);
    ck_assert_int_eq(last_close_code, 1006);
    ck_assert_int_eq(last_send_rc, FA_EPIPE);
    client_close(c);
    server_stop(s);
}
END_TEST

/* Frames posted from another thread wait for the end of the loop's inbox drain to be written
 * together, but a connection's waiting output is written once it reaches 64 KiB: a burst larger
 * than max_output to a client that reads must not look like output piling up unread. */
START_TEST(test_a_burst_from_another_thread_beyond_max_output) {
    setup_options();
    wsopts.max_output = 128 * 1024;
    server_t *s = server_start();
    frame_t *f = malloc(sizeof *f);
    client_t *c = ws_connect(s->port);
    wait_for(&opened, 1);
    static char big[16 * 1024];
    for (int i = 0; i < 12; i++) { /* 192 KiB */
        memset(big, 'a' + i, sizeof big);
        ck_assert_int_eq(fa_ws_send_to(handles[0], FA_WS_BINARY, big, sizeof big), 0);
    }
    for (int i = 0; i < 12; i++) {
        ck_assert_int_eq(ws_read(c, f), 1);
        ck_assert_int_eq(f->opcode, FA_WS_OP_BINARY);
        ck_assert_uint_eq(f->len, sizeof big);
        ck_assert_int_eq(f->data[0], 'a' + i);
        ck_assert_int_eq(f->data[sizeof big - 1], 'a' + i);
    }
    pthread_mutex_lock(&ev_mu);
    int gone = closed_n;
    pthread_mutex_unlock(&ev_mu);
    ck_assert_int_eq(gone, 0);
    client_close(c);
    free(f);
    server_stop(s);
}
END_TEST

START_TEST(test_message_size_limit) {
    setup_options();
    wsopts.max_message = 1000;
    server_t *s = server_start();
    frame_t *f = malloc(sizeof *f);
    client_t *c = ws_connect(s->port);
    static char pl[1001];
    memset(pl, 'a', sizeof pl);
    ws_send(c, 0, FA_WS_OP_TEXT, pl, 600);
    ws_send(c, 1, FA_WS_OP_CONT, pl, 400); /* exactly 1000: fine */
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_uint_eq(f->len, 1000);
    ws_send(c, 1, FA_WS_OP_BINARY, pl, 1001);
    ck_assert_int_eq(ws_read(c, f), 1);
    ck_assert_int_eq(f->type, FA_WS_EV_CLOSE);
    ck_assert_uint_eq(f->code, 1009);
    ck_assert(client_sees_eof(c));
    client_close(c);
    free(f);
    server_stop(s);
}
END_TEST

int main(void) {
    Suite *s = suite_create("transport/ws_conn");
    TCase *tc = tcase_create("ws_conn");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_handshake_echo_ping_close);
    tcase_add_test(tc, test_bad_frames_close_with_codes);
    tcase_add_test(tc, test_bad_handshakes);
    tcase_add_test(tc, test_server_close_and_timeout);
    tcase_add_test(tc, test_idle_ping_then_close);
    tcase_add_test(tc, test_send_from_other_threads_and_broadcast);
    tcase_add_test(tc, test_broadcast_from_the_loop_and_across_loops);
    tcase_add_test(tc, test_sends_racing_with_close);
    tcase_add_test(tc, test_output_limit_drops_a_client_that_does_not_read);
    tcase_add_test(tc, test_message_size_limit);
    tcase_add_test(tc, test_a_burst_from_another_thread_beyond_max_output);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
