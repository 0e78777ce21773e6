/* tests/mcp/capture.h: a session with no transport whose every message the test keeps, parsed,
 * in `lines` (the engine driven one line at a time: tests/mcp/test_modern.c, test_tasks.c). One
 * capture per test program; the program owns `lines` (json_array() in its setup) and frees it and
 * cap_buf in its teardown. */
#ifndef FASTERAPI_TESTS_MCP_CAPTURE_H
#define FASTERAPI_TESTS_MCP_CAPTURE_H

#include <jansson.h>
#include <uv.h>

#include "fa_test.h"
#include "mcp/server_internal.h"

static json_t *lines;      /* every message the capture session wrote */
static fa__buf_t cap_buf;  /* the message being written */
static fa__session_t *cap; /* the session; NULL once the engine closed it */

static fa__buf_t *cap_out(fa__session_t *s, const fa__out_info_t *info) {
    (void)s;
    (void)info;
    cap_buf.len = 0;
    return &cap_buf;
}
static void cap_commit(fa__session_t *s) {
    (void)s;
    json_t *v = json_loadb(cap_buf.data, cap_buf.len, 0, NULL);
    ck_assert_msg(v != NULL, "not JSON: %.*s", (int)cap_buf.len, cap_buf.data);
    json_array_append_new(lines, v);
}
static void cap_nop(fa__session_t *s) {
    (void)s;
}
static void cap_close(fa__session_t *s) {
    fa__session_close(s);
    cap = NULL;
}
static const fa__session_ops_t cap_ops = {cap_out, cap_commit, cap_nop,   cap_nop,
                                          NULL,    NULL,       cap_close, NULL};

static uv_loop_t loop;
static fa_server_t *srv;
static int closed; /* fa_server_close's callback ran */

static void on_closed(fa_server_t *s) {
    (void)s;
    closed = 1;
}

/* Closes the server (unless the test did), its loop, and the capture. */
static void capture_teardown(void) {
    if (!closed) {
        fa_server_close(srv, on_closed);
        while (!closed)
            uv_run(&loop, UV_RUN_ONCE);
    }
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    fa_server_free(srv);
    json_decref(lines);
    fa__buf_free(&cap_buf);
}

/* Runs the loop until `n` messages were captured (10 s at most). */
static void wait_lines(size_t n) {
    uint64_t start = uv_hrtime();
    while (json_array_size(lines) < n) {
        ck_assert_msg(uv_hrtime() - start < 10000000000ull, "timed out waiting for %zu lines", n);
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
}

#endif
