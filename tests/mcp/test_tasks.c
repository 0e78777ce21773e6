/* Tests for src/mcp/tasks.c on a live server loop: tools/call as a task (CreateTaskResult,
 * polling to completed, isError and JSON-RPC errors), the per-request capability gate (-32021
 * before any lookup, required tools), questions as inputRequests answered with tasks/update
 * (unknown keys ignored), tasks/cancel (idempotent, the tool sees the cancellation), the MRTR
 * rounds of a tool that asks before its task starts, discover and tools/list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "fa_test.h"
#include "fasterapi.h"
#include "mcp/server_internal.h"

#include "capture.h"
#include "mcp/tasks.h"

#define META_CAPS(caps)                                                                            \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":" caps "}"
#define EXT "{\"extensions\":{\"io.modelcontextprotocol/tasks\":{}},\"elicitation\":{}}"

/* ---- tools ---- */

static void job_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    if (json_is_true(json_object_get(args, "fail"))) {
        fa_call_error(call, -32603, "job failed", NULL);
        return;
    }
    json_t *r = fa_result_text("job done");
    if (json_is_true(json_object_get(args, "tool_error")))
        json_object_set_new(r, "isError", json_true());
    fa_call_complete(call, r);
}

static void answered(void *arg, const json_t *result, const json_t *error) {
    fa_call_t *call = arg;
    if (error) {
        fa_call_fail(call, "the question failed");
        return;
    }
    char text[128];
    snprintf(text, sizeof text, "answer=%s",
             json_string_value(json_object_get(json_object_get(result, "content"), "name")));
    fa_call_complete(call, fa_result_text(text));
}

static void asker_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    fa_call_request_keyed(
        call, "user_name", "elicitation/create",
        json_pack("{s:s, s:{s:s}}", "message", "Name?", "requestedSchema", "type", "object"),
        answered, call);
}

static _Atomic int saw_cancel, sleeping;

/* Runs until cancelled (on a worker thread), then says so. */
static void sleeper_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    uint64_t start = uv_hrtime();
    sleeping = 1;
    while (!fa_call_is_cancelled(call) && uv_hrtime() - start < 20000000000ull)
        uv_sleep(1);
    saw_cancel = fa_call_is_cancelled(call);
    fa_call_complete(call, fa_result_text("stopped"));
}

/* ---- harness (as tests/mcp/test_modern.c) ---- */

static void setup(void) {
    closed = 0;
    saw_cancel = sleeping = 0;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    fa_server_options_t o;
    fa_server_options_init(&o);
    o.name = "tasks";
    o.version = "1.0";
    o.workers = 2;
    ck_assert_int_eq(fa_server_new(&srv, &o), 0);
    fa_tool_def_t defs[] = {
        {.name = "job", .description = "Job", .cb = job_cb, .task_support = "optional"},
        {.name = "only", .description = "Task only", .cb = job_cb, .task_support = "required"},
        {.name = "asker", .description = "Asks", .cb = asker_cb, .task_support = "optional"},
        {.name = "sleeper", .description = "Sleeps", .cb = sleeper_cb, .task_support = "optional"},
        {.name = "plain", .description = "Never a task", .cb = job_cb},
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        ck_assert_int_eq(fa_server_add_tool(srv, &defs[i]), 0);
    /* A tool that asks before its task starts (the Python host's input_before_task=True). */
    json_t *def =
        json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:{s:b}}", "name", "ask_first", "description",
                  "Asks, then a task", "inputSchema", "type", "object", "execution", "taskSupport",
                  "required", "x-fasterapi", "taskInputFirst", 1);
    ck_assert_int_eq(fa__server_add_tool_json(srv, def, asker_cb, NULL), 0);
    json_decref(def);
    ck_assert_int_eq(fa_server_start(srv, &loop), 0);
    lines = json_array();
    ck_assert_int_eq(fa__session_open(srv, &cap_ops, NULL, &cap), 0);
}

static int next_id = 1;

/* Sends a request (method, params members without _meta, caps) and returns the response. */
static json_t *rpc(const char *method, const char *params, const char *caps) {
    char *t;
    ck_assert_int_ge(asprintf(&t,
                              "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":{%s%s"
                              "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":"
                              "\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":%s}}}",
                              next_id++, method, params, params[0] ? "," : "", caps),
                     0);
    size_t n = json_array_size(lines);
    fa__session_on_line(cap, t, strlen(t));
    free(t);
    wait_lines(n + 1);
    return json_array_get(lines, n);
}

static json_t *result_of(json_t *msg) {
    json_t *r = json_object_get(msg, "result");
    ck_assert_msg(r != NULL, "not a result: %s", json_dumps(msg, JSON_COMPACT));
    return r;
}

static int error_code(json_t *msg) {
    json_t *e = json_object_get(msg, "error");
    ck_assert_msg(e != NULL, "not an error: %s", json_dumps(msg, JSON_COMPACT));
    return (int)json_integer_value(json_object_get(e, "code"));
}

static json_t *get_task(const char *task_id) {
    char p[80];
    snprintf(p, sizeof p, "\"taskId\":\"%s\"", task_id);
    return result_of(rpc("tasks/get", p, EXT));
}

/* Polls tasks/get until the status is `want` (5 s at most); returns the task (borrowed). */
static json_t *wait_status(const char *task_id, const char *want) {
    uint64_t start = uv_hrtime();
    for (;;) {
        json_t *t = get_task(task_id);
        const char *st = json_string_value(json_object_get(t, "status"));
        if (strcmp(st, want) == 0)
            return t;
        ck_assert_msg(uv_hrtime() - start < 5000000000ull, "task %s stuck in %s (want %s)", task_id,
                      st, want);
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_sleep(2);
    }
}

static char *start_task(const char *tool, const char *args) {
    char p[200];
    snprintf(p, sizeof p, "\"name\":\"%s\",\"arguments\":%s", tool, args);
    json_t *r = result_of(rpc("tools/call", p, EXT));
    ck_assert_str_eq(json_string_value(json_object_get(r, "resultType")), "task");
    ck_assert_ptr_null(json_object_get(r, "result"));
    ck_assert_ptr_null(json_object_get(r, "requestState"));
    ck_assert_ptr_nonnull(json_object_get(r, "createdAt"));
    return strdup(json_string_value(json_object_get(r, "taskId")));
}

static const char *text_of(json_t *result) {
    return json_string_value(
        json_object_get(json_array_get(json_object_get(result, "content"), 0), "text"));
}

/* ---- tests ---- */

START_TEST(test_task_completes) {
    char *id = start_task("job", "{}");
    /* Durable at once: tasks/get resolves right after the CreateTaskResult. */
    json_t *t = get_task(id);
    ck_assert_str_eq(json_string_value(json_object_get(t, "resultType")), "complete");
    t = wait_status(id, "completed");
    ck_assert_str_eq(text_of(json_object_get(t, "result")), "job done");
    ck_assert_ptr_null(json_object_get(json_object_get(t, "result"), "resultType"));
    free(id);

    /* A tool error is still completed; a JSON-RPC error is failed with the error. */
    id = start_task("job", "{\"tool_error\":true}");
    t = wait_status(id, "completed");
    ck_assert(json_is_true(json_object_get(json_object_get(t, "result"), "isError")));
    free(id);
    id = start_task("job", "{\"fail\":true}");
    t = wait_status(id, "failed");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(t, "error"), "code")),
                     -32603);
    ck_assert_ptr_null(json_object_get(t, "result"));
    free(id);
}
END_TEST

START_TEST(test_capability_gate) {
    /* Without the extension: an optional tool answers at once, a required one refuses. */
    json_t *r = result_of(rpc("tools/call", "\"name\":\"job\",\"arguments\":{}", "{}"));
    ck_assert_str_eq(json_string_value(json_object_get(r, "resultType")), "complete");
    ck_assert_str_eq(text_of(r), "job done");
    json_t *m = rpc("tools/call", "\"name\":\"only\",\"arguments\":{}", "{}");
    ck_assert_int_eq(error_code(m), FA_RPC_MISSING_CAPABILITY);
    ck_assert_ptr_nonnull(json_object_get(
        json_object_get(json_object_get(json_object_get(json_object_get(m, "error"), "data"),
                                        "requiredCapabilities"),
                        "extensions"),
        FA_TASKS_EXTENSION));
    /* A forbidden tool is never a task, even when the client offers tasks. */
    r = result_of(rpc("tools/call", "\"name\":\"plain\",\"arguments\":{}", EXT));
    ck_assert_str_eq(json_string_value(json_object_get(r, "resultType")), "complete");
    /* The tasks methods without the extension: -32021 before the lookup; with it, -32602. */
    ck_assert_int_eq(error_code(rpc("tasks/get", "\"taskId\":\"gate-test\"", "{}")),
                     FA_RPC_MISSING_CAPABILITY);
    ck_assert_int_eq(
        error_code(rpc("tasks/update", "\"taskId\":\"gate-test\",\"inputResponses\":{}", "{}")),
        FA_RPC_MISSING_CAPABILITY);
    ck_assert_int_eq(error_code(rpc("tasks/cancel", "\"taskId\":\"gate-test\"", "{}")),
                     FA_RPC_MISSING_CAPABILITY);
    ck_assert_int_eq(error_code(rpc("tasks/get", "\"taskId\":\"nonexistent\"", EXT)),
                     FA_RPC_INVALID_PARAMS);
    ck_assert_int_eq(error_code(rpc("tasks/get", "\"taskId\":5", EXT)), FA_RPC_INVALID_PARAMS);
    /* tasks/list and tasks/result are not part of the extension. */
    ck_assert_int_eq(error_code(rpc("tasks/list", "", EXT)), FA_RPC_METHOD_NOT_FOUND);
    ck_assert_int_eq(error_code(rpc("tasks/result", "\"taskId\":\"x\"", EXT)),
                     FA_RPC_METHOD_NOT_FOUND);
}
END_TEST

START_TEST(test_input_requests) {
    char *id = start_task("asker", "{}");
    json_t *t = wait_status(id, "input_required");
    json_t *q = json_object_get(json_object_get(t, "inputRequests"), "user_name");
    ck_assert_str_eq(json_string_value(json_object_get(q, "method")), "elicitation/create");
    char p[300];
    /* An unknown key: acknowledged, ignored. */
    snprintf(p, sizeof p, "\"taskId\":\"%s\",\"inputResponses\":{\"unknown-key\":{}}", id);
    json_t *ack = result_of(rpc("tasks/update", p, EXT));
    ck_assert_str_eq(json_string_value(json_object_get(ack, "resultType")), "complete");
    ck_assert_ptr_null(json_object_get(ack, "status"));
    t = get_task(id);
    ck_assert_str_eq(json_string_value(json_object_get(t, "status")), "input_required");
    /* Not an object: refused. */
    snprintf(p, sizeof p, "\"taskId\":\"%s\",\"inputResponses\":[]", id);
    ck_assert_int_eq(error_code(rpc("tasks/update", p, EXT)), FA_RPC_INVALID_PARAMS);
    snprintf(p, sizeof p, "\"taskId\":\"%s\",\"inputResponses\":{\"user_name\":12345}", id);
    ck_assert_int_eq(error_code(rpc("tasks/update", p, EXT)), FA_RPC_INVALID_PARAMS);
    t = get_task(id); /* nothing was delivered */
    ck_assert_ptr_nonnull(json_object_get(json_object_get(t, "inputRequests"), "user_name"));
    /* The answer: the key is gone at once, and the tool finishes with it. */
    snprintf(p, sizeof p,
             "\"taskId\":\"%s\",\"inputResponses\":{\"user_name\":{\"action\":\"accept\","
             "\"content\":{\"name\":\"Alice\"}}}",
             id);
    result_of(rpc("tasks/update", p, EXT));
    t = get_task(id);
    ck_assert_ptr_null(json_object_get(t, "inputRequests"));
    t = wait_status(id, "completed");
    ck_assert_str_eq(text_of(json_object_get(t, "result")), "answer=Alice");
    free(id);
}
END_TEST

/* Runs the loop until the sleeper tool is inside its callback. */
static void wait_sleeping(void) {
    uint64_t start = uv_hrtime();
    while (!sleeping) {
        ck_assert_msg(uv_hrtime() - start < 5000000000ull, "the sleeper never started");
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
}

START_TEST(test_cancel) {
    char *id = start_task("sleeper", "{}");
    wait_sleeping(); /* a call cancelled while still queued never runs: nothing to observe */
    char p[80];
    snprintf(p, sizeof p, "\"taskId\":\"%s\"", id);
    json_t *ack = result_of(rpc("tasks/cancel", p, EXT));
    ck_assert_str_eq(json_string_value(json_object_get(ack, "resultType")), "complete");
    ck_assert_ptr_null(json_object_get(ack, "taskId"));
    ck_assert_ptr_null(json_object_get(ack, "status"));
    json_t *t = get_task(id);
    ck_assert_str_eq(json_string_value(json_object_get(t, "status")), "cancelled");
    /* The tool saw it and stopped; its late result does not revive the task. */
    uint64_t start = uv_hrtime();
    while (!saw_cancel && uv_hrtime() - start < 5000000000ull) {
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
    ck_assert(saw_cancel);
    for (int i = 0; i < 20; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
    t = get_task(id);
    ck_assert_str_eq(json_string_value(json_object_get(t, "status")), "cancelled");
    ck_assert_ptr_null(json_object_get(t, "result"));
    /* Cancelling again, or a completed task: the same empty ack. */
    ack = result_of(rpc("tasks/cancel", p, EXT));
    ck_assert_ptr_null(json_object_get(ack, "status"));
    free(id);
    id = start_task("job", "{}");
    wait_status(id, "completed");
    snprintf(p, sizeof p, "\"taskId\":\"%s\"", id);
    result_of(rpc("tasks/cancel", p, EXT));
    t = get_task(id);
    ck_assert_str_eq(json_string_value(json_object_get(t, "status")), "completed");
    free(id);
}
END_TEST

START_TEST(test_input_before_task) {
    /* Round 1: the question goes out as input_required, no task yet. */
    json_t *r = result_of(rpc("tools/call", "\"name\":\"ask_first\",\"arguments\":{}", EXT));
    ck_assert_str_eq(json_string_value(json_object_get(r, "resultType")), "input_required");
    ck_assert_ptr_null(json_object_get(r, "taskId"));
    ck_assert_ptr_nonnull(json_object_get(json_object_get(r, "inputRequests"), "user_name"));
    char *state = strdup(json_string_value(json_object_get(r, "requestState")));
    /* Round 2: the answers make it a task, which finishes with them. */
    char p[4096];
    snprintf(p, sizeof p,
             "\"name\":\"ask_first\",\"arguments\":{},\"inputResponses\":{\"user_name\":{"
             "\"action\":\"accept\",\"content\":{\"name\":\"Bob\"}}},\"requestState\":\"%s\"",
             state);
    free(state);
    r = result_of(rpc("tools/call", p, EXT));
    ck_assert_str_eq(json_string_value(json_object_get(r, "resultType")), "task");
    ck_assert_ptr_null(json_object_get(r, "requestState"));
    ck_assert_ptr_null(json_object_get(r, "inputRequests"));
    char *id = strdup(json_string_value(json_object_get(r, "taskId")));
    json_t *t = wait_status(id, "completed");
    ck_assert_str_eq(text_of(json_object_get(t, "result")), "answer=Bob");
    free(id);
}
END_TEST

START_TEST(test_discover_and_list) {
    json_t *r = result_of(rpc("server/discover", "", "{}"));
    json_t *caps = json_object_get(r, "capabilities");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(caps, "extensions"), FA_TASKS_EXTENSION));
    ck_assert_ptr_null(json_object_get(caps, "tasks"));
    r = result_of(rpc("tools/list", "", "{}"));
    size_t i;
    json_t *tool;
    int seen = 0;
    json_array_foreach (json_object_get(r, "tools"), i, tool) {
        const char *name = json_string_value(json_object_get(tool, "name"));
        const char *ts =
            json_string_value(json_object_get(json_object_get(tool, "execution"), "taskSupport"));
        ck_assert_ptr_null(json_object_get(tool, "x-fasterapi")); /* engine option, not served */
        if (strcmp(name, "only") == 0 || strcmp(name, "ask_first") == 0)
            seen += ts && strcmp(ts, "required") == 0;
        else if (strcmp(name, "plain") == 0)
            seen += ts == NULL;
    }
    ck_assert_int_eq(seen, 3);
}
END_TEST

START_TEST(test_bad_task_support_refused) {
    fa_tool_def_t d = {.name = "bad", .cb = job_cb, .task_support = "sometimes"};
    fa_server_t *s2;
    ck_assert_int_eq(fa_server_new(&s2, NULL), 0);
    ck_assert_int_eq(fa_server_add_tool(s2, &d), FA_EINVAL);
    fa_server_free(s2);
}
END_TEST

START_TEST(test_cap_reached) {
    /* A server allowing one task: the second is refused while the first lives. */
    closed = 0;
    fa_server_close(srv, on_closed);
    while (!closed)
        uv_run(&loop, UV_RUN_ONCE);
    fa_server_free(srv);
    fa_server_options_t o;
    fa_server_options_init(&o);
    o.workers = 2;
    o.max_tasks = 1;
    ck_assert_int_eq(fa_server_new(&srv, &o), 0);
    fa_tool_def_t d = {.name = "sleeper", .cb = sleeper_cb, .task_support = "optional"};
    ck_assert_int_eq(fa_server_add_tool(srv, &d), 0);
    closed = 0;
    ck_assert_int_eq(fa_server_start(srv, &loop), 0);
    ck_assert_int_eq(fa__session_open(srv, &cap_ops, NULL, &cap), 0);
    char *id = start_task("sleeper", "{}");
    wait_sleeping();
    json_t *m = rpc("tools/call", "\"name\":\"sleeper\",\"arguments\":{}", EXT);
    ck_assert_int_eq(error_code(m), FA_RPC_SERVER_OVERLOADED);
    free(id);
    /* Shutdown cancels the live task rather than wait for it. */
    fa_server_close(srv, on_closed);
    uint64_t start = uv_hrtime();
    while (!closed)
        uv_run(&loop, UV_RUN_ONCE);
    ck_assert(saw_cancel);
    ck_assert_uint_lt(uv_hrtime() - start, 2000000000ull);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mcp/tasks");
    TCase *tc = tcase_create("tasks");
    tcase_add_checked_fixture(tc, setup, capture_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_task_completes);
    tcase_add_test(tc, test_capability_gate);
    tcase_add_test(tc, test_input_requests);
    tcase_add_test(tc, test_cancel);
    tcase_add_test(tc, test_input_before_task);
    tcase_add_test(tc, test_discover_and_list);
    tcase_add_test(tc, test_bad_task_support_refused);
    tcase_add_test(tc, test_cap_reached);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
