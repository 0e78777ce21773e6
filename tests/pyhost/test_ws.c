/* Tests for src/pyhost/ws.c: the WebSocket rows of fa__pyweb_mount, and real connections through
 * the real host (tests/fixtures/python/web_ws_app.py on its worker interpreters) and a real HTTP
 * server on a loopback port: echo with a path parameter and a subprotocol, a broadcast group, a
 * handler that raises (1011), a client flooding a slow handler (the socket is paused and resumed,
 * nothing is lost), clients that vanish. Run under ASan with leak detection, this also checks that
 * every connection's state is freed. Each test runs in its own forked process (Check). */
#include <Python.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fa_test.h"
#include "fasterapi.h"
#include "pyhost/host.h"
#include "pyhost/web.h"

#include "web_run.h"

#define APP FA_FIXTURES_DIR "/python/web_ws_app.py"

START_TEST(test_mount_checks_ws_rows) {
    fa_http_options_t o;
    fa_http_options_init(&o);
    fa_http_server_t *http;
    ck_assert_int_eq(fa_http_server_new(&http, &o), 0);
    fa__pyweb_t *web = NULL;
    /* A subprotocol that is not a string; too many subprotocols; a bad pattern. */
    json_t *t = json_loads("[[\"WS\",\"/a\",0,{\"subprotocols\":[1]}]]", 0, NULL);
    ck_assert_int_eq(fa__pyweb_mount(&web, NULL, http, t), FA_EINVAL);
    json_decref(t);
    t = json_loads("[[\"WS\",\"/a\",0,{\"subprotocols\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
                   "\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]}]]",
                   0, NULL);
    ck_assert_int_eq(fa__pyweb_mount(&web, NULL, http, t), FA_EINVAL);
    json_decref(t);
    t = json_loads("[[\"WS\",\"no-slash\",0,{}]]", 0, NULL);
    ck_assert_int_ne(fa__pyweb_mount(&web, NULL, http, t), 0);
    ck_assert_ptr_null(web);
    json_decref(t);
    t = json_loads("[[\"GET\",\"/x\",0],[\"WS\",\"/ws/{id}\",0,{\"subprotocols\":[\"a\",\"b\"],"
                   "\"max_message\":100}],[\"WS\",\"/ws2\",0,{}]]",
                   0, NULL);
    ck_assert_int_eq(fa__pyweb_mount(&web, NULL, http, t), 0);
    ck_assert_ptr_nonnull(web);
    json_decref(t);
    fa_http_server_free(http);
    fa__pyweb_free(web);
}
END_TEST

/* ---- a minimal client (RFC 6455 §5: client frames are masked) ---- */

static int ws_connect(int port, const char *path, const char *protocols) {
    int fd = fa_test_connect_loopback(port);
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "%s%s%s\r\n",
                     path, protocols ? "Sec-WebSocket-Protocol: " : "", protocols ? protocols : "",
                     protocols ? "\r\n" : "");
    ck_assert_int_eq(write(fd, req, (size_t)n), n);
    /* The 101 head, byte by byte so no frame byte is consumed. */
    char head[1024];
    size_t len = 0;
    while (len < sizeof head - 1 && !(len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0)) {
        ck_assert_int_eq(read(fd, head + len, 1), 1);
        len++;
    }
    head[len] = '\0';
    ck_assert_msg(strncmp(head, "HTTP/1.1 101 ", 13) == 0, "%s", head);
    ck_assert_ptr_nonnull(strstr(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")); /* RFC 6455 §1.3 */
    return fd;
}

static void ws_send(int fd, int opcode, const char *data, size_t len) {
    unsigned char h[14];
    size_t hl = 0;
    h[hl++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        h[hl++] = (unsigned char)(0x80 | len);
    } else {
        ck_assert_uint_lt(len, 65536);
        h[hl++] = 0x80 | 126;
        h[hl++] = (unsigned char)(len >> 8);
        h[hl++] = (unsigned char)len;
    }
    static const unsigned char key[4] = {1, 2, 3, 4};
    memcpy(h + hl, key, 4);
    hl += 4;
    unsigned char *f = malloc(hl + len);
    memcpy(f, h, hl);
    for (size_t i = 0; i < len; i++)
        f[hl + i] = (unsigned char)data[i] ^ key[i % 4];
    ck_assert_int_eq(write(fd, f, hl + len), (ssize_t)(hl + len));
    free(f);
}

static void read_all(int fd, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, (char *)buf + got, n - got);
        ck_assert_int_gt(k, 0);
        got += (size_t)k;
    }
}

/* The next data or close frame (server frames are unmasked and small here): its opcode; the
 * payload, NUL-terminated, in out. */
static int ws_recv(int fd, char *out, size_t cap) {
    for (;;) {
        unsigned char h[2];
        read_all(fd, h, 2);
        size_t len = h[1] & 0x7f;
        if (len == 126) {
            unsigned char e[2];
            read_all(fd, e, 2);
            len = (size_t)e[0] << 8 | e[1];
        }
        ck_assert_uint_lt(len, cap);
        read_all(fd, out, len);
        out[len] = '\0';
        int op = h[0] & 0x0f;
        if (op != 9 && op != 10)
            return op;
    }
}

static unsigned close_code(const char *payload) {
    return (unsigned)(unsigned char)payload[0] << 8 | (unsigned char)payload[1];
}

/* ---- the server ---- */

START_TEST(test_connections_run_on_the_workers) {
    fa__pyhost_options_t ho = {APP, NULL, 2, 0, 0, NULL, NULL, 5.0};
    run_t r = {0};
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    ck_assert_int_eq(fa__pyhost_open(&r.host, &ho), 0);
    /* 1 HTTP route, /openapi.json and /docs, then the 4 WebSocket rows. */
    ck_assert_uint_eq(json_array_size(fa__pyhost_web_table(r.host)), 7);
    fa_server_t *srv;
    pthread_t t;
    web_run_start(&r, &srv, &t);
    char buf[8192];

    /* Echo, with the path parameter and the negotiated subprotocol. */
    int fd = ws_connect(r.port, "/echo/t1", "x, p1");
    ws_send(fd, 1, "hello", 5);
    ck_assert_int_eq(ws_recv(fd, buf, sizeof buf), 1);
    ck_assert_str_eq(buf, "t1:p1:hello");
    /* A burst (one write, so one read on the server): one hand-over to the handler, answers in
     * order. */
    char burst[5 * 16];
    size_t blen = 0;
    for (int i = 0; i < 5; i++) {
        unsigned char *f = (unsigned char *)burst + blen;
        f[0] = 0x81;
        f[1] = 0x80 | 2;
        memset(f + 2, 0, 4); /* mask key 0 */
        f[6] = 'm';
        f[7] = (unsigned char)('0' + i);
        blen += 8;
    }
    ck_assert_int_eq(write(fd, burst, blen), (ssize_t)blen);
    for (int i = 0; i < 5; i++) {
        char want[16];
        snprintf(want, sizeof want, "t1:p1:m%d", i);
        ck_assert_int_eq(ws_recv(fd, buf, sizeof buf), 1);
        ck_assert_str_eq(buf, want);
    }
    ws_send(fd, 8, "\x03\xe8", 2); /* close 1000 */
    ck_assert_int_eq(ws_recv(fd, buf, sizeof buf), 8);
    ck_assert_uint_eq(close_code(buf), 1000);
    close(fd);

    /* The order of a handler's sends (40 x 2 KB: more than one turn gathers), a broadcast to a
     * group it is in, one more send and its close. */
    fd = ws_connect(r.port, "/order", NULL);
    ws_send(fd, 1, "40", 2);
    for (int i = 0; i < 40; i++) {
        char want[16];
        snprintf(want, sizeof want, "%d:yyy", i);
        ck_assert_int_eq(ws_recv(fd, buf, sizeof buf), 1);
        ck_assert_uint_eq(strlen(buf), strlen(want) - 3 + 2000);
        ck_assert_msg(strncmp(buf, want, strlen(want)) == 0, "message %d: %.10s", i, buf);
    }
    ck_assert_int_eq(ws_recv(fd, buf, sizeof buf), 1);
    ck_assert_str_eq(buf, "broadcast");
    ck_assert_int_eq(ws_recv(fd, buf, sizeof buf), 1);
    ck_assert_str_eq(buf, "last");
    ck_assert_int_eq(ws_recv(fd, buf, sizeof buf), 8);
    ck_assert_uint_eq(close_code(buf), 4000);
    ck_assert_str_eq(buf + 2, "done");
    close(fd);

    /* A broadcast group: three members, one message from one of them reaches all. */
    int m[3];
    for (int i = 0; i < 3; i++) {
        m[i] = ws_connect(r.port, "/room", NULL);
        ck_assert_int_eq(ws_recv(m[i], buf, sizeof buf), 1);
        ck_assert_str_eq(buf, "joined");
    }
    ws_send(m[1], 1, "to all", 6);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(ws_recv(m[i], buf, sizeof buf), 1);
        ck_assert_str_eq(buf, "to all");
    }
    close(m[0]); /* vanishes: 1006 on the server side, and it leaves the group */
    close(m[2]);

    /* A handler that raises: 1011. */
    fd = ws_connect(r.port, "/boom", NULL);
    ck_assert_int_eq(ws_recv(fd, buf, sizeof buf), 8);
    ck_assert_uint_eq(close_code(buf), 1011);
    close(fd);

    /* A flood at a slow handler: 1000 messages, far beyond the inbound bound; the socket is
     * paused and resumed and every message arrives. */
    fd = ws_connect(r.port, "/count", NULL);
    char payload[200];
    memset(payload, 'x', sizeof payload);
    for (int i = 0; i < 1000; i++)
        ws_send(fd, 2, payload, sizeof payload);
    ck_assert_int_eq(ws_recv(fd, buf, sizeof buf), 1);
    ck_assert_str_eq(buf, "1000");
    close(fd);

    /* The last member is still served (its group lost the others). */
    ws_send(m[1], 1, "alone", 5);
    ck_assert_int_eq(ws_recv(m[1], buf, sizeof buf), 1);
    ck_assert_str_eq(buf, "alone");
    /* Left open: the server's shutdown closes it (1001) and the worker's handler is cancelled. */

    web_run_stop(&r, srv, t);
    close(m[1]);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("pyhost_ws");
    TCase *tc = tcase_create("ws");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mount_checks_ws_rows);
    tcase_add_test(tc, test_connections_run_on_the_workers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return fa_test_run(suite());
}
