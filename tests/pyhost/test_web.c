/* Tests for src/pyhost/web.c: the route table checks of fa__pyweb_mount, and real requests
 * through the real host (tests/fixtures/python/web_app.py on its worker interpreters) and a real
 * HTTP server on a loopback port. Each test runs in its own forked process (Check), so each
 * initialises Python afresh. */
#include <Python.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fa_test.h"
#include "fasterapi.h"
#include "pyhost/host.h"
#include "pyhost/web.h"

#include "web_run.h"

#define APP FA_FIXTURES_DIR "/python/web_app.py"

static fa_http_server_t *new_http(void) {
    fa_http_options_t o;
    fa_http_options_init(&o);
    fa_http_server_t *http;
    ck_assert_int_eq(fa_http_server_new(&http, &o), 0);
    return http;
}

START_TEST(test_mount_checks_the_table) {
    fa_http_server_t *http = new_http();
    fa__pyweb_t *web = (fa__pyweb_t *)1;
    /* A row without a method string, a pattern the router refuses, too many rows. */
    json_t *t = json_loads("[[\"GET\",\"/a\",0],[1,\"/b\",0]]", 0, NULL);
    ck_assert_int_eq(fa__pyweb_mount(&web, NULL, http, t), FA_EINVAL);
    ck_assert_ptr_null(web);
    json_decref(t);
    t = json_loads("[[\"GET\",\"no-slash\",0]]", 0, NULL);
    ck_assert_int_eq(fa__pyweb_mount(&web, NULL, http, t), FA_EINVAL);
    json_decref(t);
    t = json_array();
    for (int i = 0; i < 4097; i++)
        json_array_append_new(t, json_pack("[s, s, i]", "GET", "/x", 0));
    ck_assert_int_eq(fa__pyweb_mount(&web, NULL, http, t), FA_ERANGE);
    json_decref(t);
    t = json_loads("[[\"GET\",\"/c/{id}\",0],[\"POST\",\"/c/{rest:path}\",1]]", 0, NULL);
    ck_assert_int_eq(fa__pyweb_mount(&web, NULL, http, t), 0);
    ck_assert_ptr_nonnull(web);
    json_decref(t);
    fa_http_server_free(http);
    fa__pyweb_free(web);
}
END_TEST

/* ---- a real round trip ---- */

/* One request on a new connection; returns the whole response (connection: close). */
static char *exchange(int port, const char *req) {
    int fd = fa_test_connect_loopback(port);
    size_t len = strlen(req);
    ck_assert_int_eq(write(fd, req, len), (ssize_t)len);
    size_t cap = 65536, n = 0;
    char *out = malloc(cap);
    ssize_t k;
    while ((k = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    close(fd);
    return out;
}

START_TEST(test_requests_run_on_the_workers) {
    fa__pyhost_options_t ho = {APP, NULL, 2, 0, 0, NULL, NULL, 5.0};
    run_t r = {0};
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cond, NULL);
    ck_assert_int_eq(fa__pyhost_open(&r.host, &ho), 0);
    ck_assert_int_eq(fa__pyhost_has_mcp(r.host), 0);
    /* The app's 3 routes, then GET /openapi.json and GET /docs. */
    ck_assert_uint_eq(json_array_size(fa__pyhost_web_table(r.host)), 5);
    fa_server_t *srv;
    pthread_t t;
    web_run_start(&r, &srv, &t);

    char *a =
        exchange(r.port, "GET /sync/41?q=x%20y HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    ck_assert_msg(strstr(a, "HTTP/1.1 200 OK\r\n") == a, "%s", a);
    ck_assert_ptr_nonnull(strstr(a, "\r\n\r\n{\"n\":41,\"q\":\"x y\"}"));
    free(a);
    a = exchange(r.port, "GET /sync/nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    ck_assert_msg(strstr(a, "HTTP/1.1 422 ") == a, "%s", a);
    ck_assert_ptr_nonnull(strstr(a, "\"loc\":[\"path\",\"n\"]"));
    free(a);
    a = exchange(r.port, "POST /async HTTP/1.1\r\nHost: t\r\nContent-Type: text/x-test\r\n"
                         "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
    ck_assert_msg(strstr(a, "HTTP/1.1 200 OK\r\n") == a, "%s", a);
    ck_assert_ptr_nonnull(strstr(a, "{\"len\":5,\"ct\":\"text/x-test\",\"client\":\"127.0.0.1\"}"));
    free(a);
    /* No route: the core's 404 in FastAPI's shape (the web mount's error-body hook). */
    a = exchange(r.port, "GET /missing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    ck_assert_msg(strstr(a, "HTTP/1.1 404 ") == a, "%s", a);
    ck_assert_ptr_nonnull(strstr(a, "\r\nContent-Type: application/json\r\n"));
    ck_assert_ptr_nonnull(strstr(a, "\r\n\r\n{\"detail\":\"Not Found\"}"));
    free(a);
    a = exchange(r.port, "GET /openapi.json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    ck_assert_msg(strstr(a, "HTTP/1.1 200 OK\r\n") == a, "%s", a);
    ck_assert_ptr_nonnull(strstr(a, "\"openapi\":\"3.1.0\""));
    ck_assert_ptr_nonnull(strstr(a, "\"/sync/{n}\""));
    free(a);
    a = exchange(r.port, "GET /drop HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    ck_assert_msg(strstr(a, "HTTP/1.1 500 ") == a, "%s", a);
    free(a);
    /* Pipelined on one connection: answered in order (keep-alive, then close). */
    a = exchange(r.port, "GET /sync/1 HTTP/1.1\r\nHost: t\r\n\r\n"
                         "GET /sync/2 HTTP/1.1\r\nHost: t\r\n\r\n"
                         "GET /sync/3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    const char *p1 = strstr(a, "{\"n\":1,"), *p2 = strstr(a, "{\"n\":2,"),
               *p3 = strstr(a, "{\"n\":3,");
    ck_assert_msg(p1 && p2 && p3 && p1 < p2 && p2 < p3, "%s", a);
    free(a);

    web_run_stop(&r, srv, t);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("pyhost_web");
    TCase *tc = tcase_create("web");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mount_checks_the_table);
    tcase_add_test(tc, test_requests_run_on_the_workers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return fa_test_run(suite());
}
