/* Tests for src/pyhost (host.c, pool.c, dispatch.c, module.c, shared.c) in-process: the real
 * host serves tests/fixtures/python/host_app.py through a real server reading and writing temp
 * files. Each test runs in its own forked process, so each initialises Python afresh. */
#include <Python.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pyhost/pyversion.h"
#include "fa_test.h"
#include "fasterapi.h"
#include "mcp/server_internal.h"
#include "pyhost/host.h"

#define APP FA_FIXTURES_DIR "/python/host_app.py"

/* Serves the given request lines (after initialize) and returns the output, one JSON value per
 * line, as an array. */
static json_t *serve(const char *const *lines, size_t n, int workers, int shared,
                     unsigned timeout_ms) {
    char in_path[] = "/tmp/fa_host_in_XXXXXX", out_path[] = "/tmp/fa_host_out_XXXXXX";
    int in_fd = mkstemp(in_path), out_fd = mkstemp(out_path);
    ck_assert(in_fd >= 0 && out_fd >= 0);
    FILE *in = fdopen(in_fd, "w");
    fputs("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
          "\"protocolVersion\":\"2025-11-25\"}}\n",
          in);
    for (size_t i = 0; i < n; i++)
        fprintf(in, "%s\n", lines[i]);
    fclose(in);
    fa__pyhost_options_t ho = {APP, NULL, workers, 0, shared, NULL, NULL, 0};
    fa__pyhost_t *h;
    ck_assert_int_eq(fa__pyhost_open(&h, &ho), 0);
    fa_server_options_t so;
    fa_server_options_init(&so);
    so.tool_timeout_ms = timeout_ms;
    so.shutdown_timeout_ms = 3000;
    fa_server_t *srv;
    ck_assert_int_eq(fa_server_new(&srv, &so), 0);
    ck_assert_int_eq(fa__pyhost_serve(h, srv), 0);
    ck_assert_str_eq(fa__pyhost_mode(h),
                     shared || !FA_PY_OWN_GIL_DEFAULT ? "shared GIL" : "own GIL");
    int rd = open(in_path, O_RDONLY);
    ck_assert_int_eq(fa_server_run_fds(srv, rd, out_fd), 0);
    close(rd);
    close(out_fd);
    ck_assert_uint_eq(srv->abandoned, 0);
    ck_assert_int_eq(fa__pyhost_close(h), 0); /* before the server: see fa__pyhost_failed */
    fa_server_free(srv);
    size_t len;
    char *text = fa_test_read_file(out_path, &len);
    unlink(in_path);
    unlink(out_path);
    json_t *all = json_array();
    for (char *p = text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        ck_assert_ptr_nonnull(nl);
        json_t *v = json_loadb(p, (size_t)(nl - p), 0, NULL);
        ck_assert_ptr_nonnull(v);
        json_array_append_new(all, v);
    }
    free(text);
    return all;
}

/* The response with the given integer id (borrowed from all), or fails. */
static json_t *reply(json_t *all, json_int_t id) {
    size_t i;
    json_t *m;
    json_array_foreach (all, i, m) {
        json_t *mid = json_object_get(m, "id");
        if (json_is_integer(mid) && json_integer_value(mid) == id)
            return m;
    }
    ck_abort_msg("no reply with id %lld", (long long)id);
    return NULL;
}

static const char *text_of(json_t *all, json_int_t id) {
    json_t *r = json_object_get(reply(all, id), "result");
    return json_string_value(
        json_object_get(json_array_get(json_object_get(r, "content"), 0), "text"));
}

START_TEST(test_sync_async_and_structured_tools) {
    const char *lines[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
        "\"arguments\":{\"text\":\"h\\u00e9\"}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"later\","
        "\"arguments\":{\"text\":\"async\"}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"whoami\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":"
        "\"not_json\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
        "\"arguments\":{}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"big\"}}",
    };
    json_t *all = serve(lines, 6, 2, 0, 0);
    ck_assert_str_eq(text_of(all, 1), "h\xc3\xa9");
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(reply(all, 1), "result"), "structuredContent"),
            "result")),
        "h\xc3\xa9");
    ck_assert_str_eq(text_of(all, 2), "async");
    ck_assert_ptr_nonnull(strstr(text_of(all, 3), "'3' on ")); /* str, as FastMCP gives it */
    /* No JSON form: the text of its str(), as FastMCP does. */
    ck_assert_ptr_nonnull(strstr(text_of(all, 4), "<object object at"));
    /* Past 64 bits: a clear error naming the value, not a silently rounded float. */
    json_t *r6 = json_object_get(reply(all, 6), "result");
    ck_assert(json_is_true(json_object_get(r6, "isError")));
    ck_assert_str_eq(text_of(all, 6), "Tool big returned a value that is not JSON: "
                                      "/structuredContent/result: integer 1180591620717411303424 "
                                      "is out of range (64-bit)");
    /* Validated in C: the tool never ran. */
    ck_assert_ptr_nonnull(strstr(text_of(all, 5), "missing required property 'text'"));
    json_decref(all);
}
END_TEST

/* A module global is per interpreter; fasterapi.shared is one C object for all of them. */
START_TEST(test_shared_state_spans_interpreters) {
    enum { N = 200 };
    static char bufs[N][128];
    const char *lines[N + 1];
    for (int i = 0; i < N; i++) {
        snprintf(bufs[i], sizeof bufs[i],
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":"
                 "\"hit\"}}",
                 i + 1);
        lines[i] = bufs[i];
    }
    json_t *all = serve(lines, N, 2, 0, 0);
    /* Every increment is seen exactly once: the returned values are 1..N in some order. */
    char seen[N + 1] = {0};
    for (int i = 1; i <= N; i++) {
        json_t *sc = json_object_get(json_object_get(reply(all, i), "result"), "structuredContent");
        json_int_t v = json_integer_value(json_object_get(sc, "result"));
        ck_assert(v >= 1 && v <= N && !seen[v]);
        seen[v] = 1;
    }
    json_decref(all);
}
END_TEST

START_TEST(test_timeout_stops_a_busy_plain_tool) {
    const char *lines[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"spin\"}}",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"later\","
        "\"arguments\":{\"text\":\"slow\",\"ms\":10000}}}",
    };
    /* One worker: if the busy loop were not interrupted, nothing else could run and the server
     * would be abandoned at shutdown (serve() asserts it was not). */
    json_t *all = serve(lines, 2, 1, 0, 300);
    ck_assert_ptr_nonnull(strstr(text_of(all, 1), "timed out after 300 ms"));
    ck_assert_ptr_nonnull(strstr(text_of(all, 2), "timed out after 300 ms"));
    json_decref(all);
}
END_TEST

START_TEST(test_shared_gil_mode) {
    const char *lines[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"later\","
        "\"arguments\":{\"text\":\"one\"}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\","
        "\"arguments\":{\"text\":\"two\"}}}",
    };
    json_t *all = serve(lines, 2, 2, 1, 0);
    ck_assert_str_eq(text_of(all, 1), "one");
    ck_assert_str_eq(text_of(all, 2), "two");
    json_decref(all);
}
END_TEST

int main(void) {
    fa_log_set_level(FA_LOG_WARN);
    Suite *s = suite_create("pyhost/host");
    TCase *tc = tcase_create("host");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sync_async_and_structured_tools);
    tcase_add_test(tc, test_shared_state_spans_interpreters);
    tcase_add_test(tc, test_timeout_stops_a_busy_plain_tool);
    tcase_add_test(tc, test_shared_gil_mode);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
