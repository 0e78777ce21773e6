/* tests/mcp/capture.h: a session with no transport whose every message the test keeps, parsed,
 * in `lines` (the engine driven one line at a time: tests/mcp/test_modern.c, test_tasks.c). One
 * capture per test program; the program owns `lines` (json_array() in its setup) and frees it and
 * cap_buf in its teardown. */
#ifndef FASTERAPI_TESTS_MCP_CAPTURE_H
#define FASTERAPI_TESTS_MCP_CAPTURE_H

#include <jansson.h>

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

#endif
