/* Tests for src/mcp/modern.c and mrtr.c on a live server loop: an MRTR round trip through a C
 * tool that asks twice (elicitation, then sampling) with requestState carried by the "client",
 * tampered and mismatched state, and the Streamable HTTP exchange entry fa__mcp_modern_handle
 * (statuses, JSON vs SSE, input_required, -32021, listen streams, abort). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "fa_test.h"
#include "fasterapi.h"
#include "mcp/modern.h"
#include "mcp/server_internal.h"

#include "capture.h"

#define META_CAPS(caps)                                                                            \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","                       \
    "\"io.modelcontextprotocol/clientCapabilities\":" caps "}"

/* ---- tools ---- */

typedef struct {
    fa_call_t *call;
    json_t *first;
} ask_t;

static void ask_second(void *arg, const json_t *result, const json_t *error) {
    ask_t *a = arg;
    if (error) {
        fa_call_fail(a->call, "second question failed");
    } else {
        char text[256];
        snprintf(text, sizeof text, "name=%s model=%s",
                 json_string_value(json_object_get(json_object_get(a->first, "content"), "name")),
                 json_string_value(json_object_get(result, "model")));
        fa_call_complete(a->call, fa_result_text(text));
    }
    json_decref(a->first);
    free(a);
}

static void ask_first(void *arg, const json_t *result, const json_t *error) {
    ask_t *a = arg;
    if (error) {
        fa_call_fail(a->call, "first question failed");
        free(a);
        return;
    }
    a->first = json_deep_copy(result);
    if (fa_call_request_keyed(a->call, "model_pick", "sampling/createMessage",
                              json_pack("{s:[], s:i}", "messages", "maxTokens", 10), ask_second,
                              a) != 0) {
        json_decref(a->first);
        free(a);
    }
}

/* Asks from a worker thread, like the Python host's await ctx.elicit(...). */
static void ask_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    ask_t *a = calloc(1, sizeof *a);
    a->call = call;
    if (fa_call_request(
            call, "elicitation/create",
            json_pack("{s:s, s:{s:s}}", "message", "Name?", "requestedSchema", "type", "object"),
            ask_first, a) != 0)
        free(a);
}

static void echo_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    fa_call_complete(call, fa_result_text(json_string_value(json_object_get(args, "text"))));
}

static void progress_cb(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    fa_call_progress(call, 1, 2, NULL);
    fa_call_progress(call, 2, 2, NULL);
    fa_call_complete(call, fa_result_text("done"));
}

/* ---- harness ---- */

static void setup(void) {
    closed = 0;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    fa_server_options_t o;
    fa_server_options_init(&o);
    o.name = "modern";
    o.version = "1.0";
    o.workers = 2;
    ck_assert_int_eq(fa_server_new(&srv, &o), 0);
    fa_tool_def_t defs[] = {
        {.name = "ask", .description = "Asks twice", .cb = ask_cb},
        {.name = "echo",
         .description = "Echo",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\","
                         "\"x-mcp-header\":\"Text\"}}}",
         .cb = echo_cb},
        {.name = "progress", .description = "Progress", .cb = progress_cb},
    };
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        ck_assert_int_eq(fa_server_add_tool(srv, &defs[i]), 0);
    static const fa__ops_t no_ops = {0};
    ck_assert_int_eq(
        fa__server_set_catalog(srv, json_pack("[{s:s, s:s}]", "uri", "memo://one", "name", "one"),
                               NULL, NULL, 0, &no_ops),
        0);
    ck_assert_int_eq(fa_server_start(srv, &loop), 0);
    lines = json_array();
    ck_assert_int_eq(fa__session_open(srv, &cap_ops, NULL, &cap), 0);
}

/* Sends one line on the capture session and returns the next message (borrowed). */
static json_t *roundtrip(const char *text) {
    size_t n = json_array_size(lines);
    fa__session_on_line(cap, text, strlen(text));
    wait_lines(n + 1);
    return json_array_get(lines, n);
}

static char *ask_call(int id, const char *answers, const char *state) {
    char *t;
    ck_assert_int_ge(
        asprintf(&t,
                 "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{"
                 "\"name\":\"ask\",\"arguments\":{}%s%s%s%s%s," META_CAPS(
                     "{\"elicitation\":{},\"sampling\":{}}") "}}",
                 id, answers ? ",\"inputResponses\":" : "", answers ? answers : "",
                 state ? ",\"requestState\":\"" : "", state ? state : "", state ? "\"" : ""),
        0);
    return t;
}

START_TEST(test_mrtr_round_trip) {
    /* Round 1: the first question comes back as input_required. */
    char *t = ask_call(1, NULL, NULL);
    json_t *r = json_object_get(roundtrip(t), "result");
    free(t);
    ck_assert_str_eq(json_string_value(json_object_get(r, "resultType")), "input_required");
    json_t *q = json_object_get(json_object_get(r, "inputRequests"), "r0");
    ck_assert_str_eq(json_string_value(json_object_get(q, "method")), "elicitation/create");
    ck_assert_uint_eq(json_object_size(json_object_get(r, "inputRequests")), 1);
    ck_assert_ptr_null(json_object_get(r, "ttlMs")); /* no cache hints on input_required */
    char *s1 = strdup(json_string_value(json_object_get(r, "requestState")));

    /* A wrong key: asked again (a new input_required), not an error. */
    t = ask_call(2, "{\"other\":{\"action\":\"accept\"}}", s1);
    r = json_object_get(roundtrip(t), "result");
    free(t);
    ck_assert_str_eq(json_string_value(json_object_get(r, "resultType")), "input_required");
    ck_assert_ptr_nonnull(json_object_get(json_object_get(r, "inputRequests"), "r0"));

    /* Round 2: the answer; the tool re-runs, its first question is answered at once, the
     * second (its own key) starts round 2 with a new state. */
    const char *a1 = "{\"r0\":{\"action\":\"accept\",\"content\":{\"name\":\"Ann\"}}}";
    t = ask_call(3, a1, s1);
    r = json_object_get(roundtrip(t), "result");
    free(t);
    ck_assert_str_eq(json_string_value(json_object_get(r, "resultType")), "input_required");
    q = json_object_get(json_object_get(r, "inputRequests"), "model_pick");
    ck_assert_str_eq(json_string_value(json_object_get(q, "method")), "sampling/createMessage");
    char *s2 = strdup(json_string_value(json_object_get(r, "requestState")));
    ck_assert_str_ne(s1, s2);

    /* Round 3: the second answer only (the first travels in the state). */
    const char *a2 = "{\"model_pick\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\","
                     "\"text\":\"x\"},\"model\":\"m1\"}}";
    t = ask_call(4, a2, s2);
    r = json_object_get(roundtrip(t), "result");
    free(t);
    ck_assert_str_eq(json_string_value(json_object_get(r, "resultType")), "complete");
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_array_get(json_object_get(r, "content"), 0), "text")),
                     "name=Ann model=m1");

    /* SEP-2322: an answer offered before its question (the tool's own key, model_pick) is used
     * when the tool asks it, and keys nobody asks for are ignored: one retry completes. */
    t = ask_call(40,
                 "{\"r0\":{\"action\":\"accept\",\"content\":{\"name\":\"Bo\"}},"
                 "\"junk\":{\"ignored\":true},\"model_pick\":{\"role\":\"assistant\","
                 "\"content\":{\"type\":\"text\",\"text\":\"x\"},\"model\":\"m2\"}}",
                 s1);
    r = json_object_get(roundtrip(t), "result");
    free(t);
    ck_assert_str_eq(json_string_value(json_object_get(r, "resultType")), "complete");
    ck_assert_str_eq(json_string_value(
                         json_object_get(json_array_get(json_object_get(r, "content"), 0), "text")),
                     "name=Bo model=m2");

    /* Tampered state: a JSON-RPC error (-32602), never another round or a result. */
    char *bad;
    ck_assert_int_ge(asprintf(&bad, "%s-TAMPERED", s2), 0);
    t = ask_call(5, a2, bad);
    json_t *e = json_object_get(roundtrip(t), "error");
    free(t);
    free(bad);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "code")), FA_RPC_INVALID_PARAMS);
    s2[3] = s2[3] == 'A' ? 'B' : 'A';
    t = ask_call(6, a2, s2);
    e = json_object_get(roundtrip(t), "error");
    free(t);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "code")), FA_RPC_INVALID_PARAMS);

    /* The state of one tool on another tool, or with other arguments: refused. */
    char *other;
    ck_assert_int_ge(asprintf(&other,
                              "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{"
                              "\"name\":\"echo\",\"arguments\":{},\"requestState\":\"%s\","
                              "\"inputResponses\":%s," META_CAPS("{}") "}}",
                              s1, a1),
                     0);
    e = json_object_get(roundtrip(other), "error");
    free(other);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "code")), FA_RPC_INVALID_PARAMS);
    ck_assert_int_ge(asprintf(&other,
                              "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{"
                              "\"name\":\"ask\",\"arguments\":{\"x\":1},\"requestState\":\"%s\","
                              "\"inputResponses\":%s," META_CAPS("{}") "}}",
                              s1, a1),
                     0);
    e = json_object_get(roundtrip(other), "error");
    free(other);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "code")), FA_RPC_INVALID_PARAMS);

    /* Without the sampling capability the second question ends the call with -32021. */
    ck_assert_int_ge(asprintf(&other,
                              "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
                              "\"name\":\"ask\",\"arguments\":{},\"requestState\":\"%s\","
                              "\"inputResponses\":%s," META_CAPS("{\"elicitation\":{}}") "}}",
                              s1, a1),
                     0);
    e = json_object_get(roundtrip(other), "error");
    free(other);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "code")), FA_RPC_MISSING_CAPABILITY);
    ck_assert_ptr_nonnull(json_object_get(
        json_object_get(json_object_get(e, "data"), "requiredCapabilities"), "sampling"));
    free(s1);
    free(s2);
}
END_TEST

/* ---- the HTTP exchange ---- */

typedef struct {
    json_t *events; /* [kind, status, message] */
    int final;
} sink_t;

static void emit(void *ctx, fa__emit_t kind, int status, const char *text, size_t len) {
    sink_t *k = ctx;
    ck_assert_int_eq(k->final, 0); /* nothing after the final emit */
    json_t *msg = text ? json_loadb(text, len, 0, NULL) : json_null();
    ck_assert_ptr_nonnull(msg);
    json_array_append_new(k->events, json_pack("[i, i, o]", kind, status, msg));
    k->final = kind != FA__EMIT_EVENT;
}

static fa__mcp_exchange_t *post(sink_t *k, const char *body, const fa__mcp_headers_t *h) {
    static const fa__mcp_modern_ops_t ops = {emit};
    fa__mcp_exchange_t *x;
    k->events = json_array();
    k->final = 0;
    ck_assert_int_eq(fa__mcp_modern_handle(srv, body, strlen(body), NULL, h, &ops, k, &x), 0);
    return x;
}

static void wait_final(sink_t *k) {
    uint64_t start = uv_hrtime();
    while (!k->final) {
        ck_assert_msg(uv_hrtime() - start < 10000000000ull, "no final emit");
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
    uv_run(&loop, UV_RUN_NOWAIT); /* the reap */
}

static int ev_kind(sink_t *k, size_t i) {
    return (int)json_integer_value(json_array_get(json_array_get(k->events, i), 0));
}
static int ev_status(sink_t *k, size_t i) {
    return (int)json_integer_value(json_array_get(json_array_get(k->events, i), 1));
}
static json_t *ev_msg(sink_t *k, size_t i) {
    return json_array_get(json_array_get(k->events, i), 2);
}

START_TEST(test_http_exchange) {
    sink_t k;
    fa__mcp_headers_t h = {"2026-07-28", "server/discover", NULL, NULL, 0};
    /* Answered at once: JSON 200, no exchange left. */
    ck_assert_ptr_null(post(&k,
                            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\","
                            "\"params\":{" META_CAPS("{}") "}}",
                            &h));
    ck_assert_int_eq(ev_kind(&k, 0), FA__EMIT_JSON);
    ck_assert_int_eq(ev_status(&k, 0), 200);
    ck_assert_str_eq(
        json_string_value(json_array_get(
            json_object_get(json_object_get(ev_msg(&k, 0), "result"), "supportedVersions"), 0)),
        "2026-07-28");
    json_decref(k.events);
    /* Ladder failures carry their statuses and the request id. */
    h.method = NULL;
    post(
        &k,
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{" META_CAPS("{}") "}}",
        &h);
    ck_assert_int_eq(ev_status(&k, 0), 400);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(ev_msg(&k, 0), "error"), "code")),
        FA_RPC_HEADER_MISMATCH);
    ck_assert_int_eq(json_integer_value(json_object_get(ev_msg(&k, 0), "id")), 2);
    json_decref(k.events);
    h.method = "ping";
    post(&k, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\",\"params\":{" META_CAPS("{}") "}}",
         &h);
    ck_assert_int_eq(ev_status(&k, 0), 404);
    json_decref(k.events);
    h.method = "tools/list";
    post(&k, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\",\"params\":{}}", &h);
    ck_assert_int_eq(ev_status(&k, 0), 400);
    json_decref(k.events);
    post(&k,
         "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\",\"params\":{" META_CAPS(
             "{}") "}}",
         &(fa__mcp_headers_t){"2026-07-28", "notifications/whatever", NULL, NULL, 0});
    ck_assert_int_eq(ev_kind(&k, 0), FA__EMIT_ACCEPTED);
    ck_assert_int_eq(ev_status(&k, 0), 202);
    json_decref(k.events);
    post(&k, "{broken", &h);
    ck_assert_int_eq(ev_status(&k, 0), 400);
    json_decref(k.events);

    /* A tool call: later, JSON; x-mcp-header checked (Mcp-Param-Text). */
    fa__mcp_param_hdr_t p[] = {{"Text", "=?base64?aGk=?="}};
    fa__mcp_headers_t c = {"2026-07-28", "tools/call", "echo", p, 1};
    const char *echo = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"echo\",\"arguments\":{\"text\":\"hi\"}," META_CAPS("{}") "}}";
    ck_assert_ptr_nonnull(post(&k, echo, &c));
    wait_final(&k);
    ck_assert_int_eq(json_array_size(k.events), 1);
    ck_assert_int_eq(ev_kind(&k, 0), FA__EMIT_JSON);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(ev_msg(&k, 0), "result"), "resultType")),
        "complete");
    json_decref(k.events);
    p[0].value = "ho";
    ck_assert_ptr_null(post(&k, echo, &c));
    ck_assert_int_eq(ev_status(&k, 0), 400);
    json_decref(k.events);

    /* Progress streams: EVENT, EVENT, END. */
    fa__mcp_headers_t pr = {"2026-07-28", "tools/call", "progress", NULL, 0};
    post(&k,
         "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"progress\",\"_meta\":{\"progressToken\":\"t\","
         "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
         "\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
         &pr);
    wait_final(&k);
    ck_assert_int_eq(json_array_size(k.events), 3);
    ck_assert_int_eq(ev_kind(&k, 0), FA__EMIT_EVENT);
    ck_assert_int_eq(ev_kind(&k, 1), FA__EMIT_EVENT);
    ck_assert_int_eq(ev_kind(&k, 2), FA__EMIT_END);
    json_decref(k.events);

    /* MRTR over HTTP: input_required (200); without the capability -32021 (400). */
    fa__mcp_headers_t ah = {"2026-07-28", "tools/call", "ask", NULL, 0};
    post(&k,
         "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"ask\"," META_CAPS("{\"elicitation\":{}}") "}}",
         &ah);
    wait_final(&k);
    ck_assert_int_eq(ev_status(&k, 0), 200);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(ev_msg(&k, 0), "result"), "resultType")),
        "input_required");
    json_decref(k.events);
    post(&k,
         "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"ask\"," META_CAPS("{}") "}}",
         &ah);
    wait_final(&k);
    ck_assert_int_eq(ev_status(&k, 0), 400);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(ev_msg(&k, 0), "error"), "code")),
        FA_RPC_MISSING_CAPABILITY);
    json_decref(k.events);

    /* A listen stream: the ack, a change, then the client goes away. */
    fa__mcp_headers_t lh = {"2026-07-28", "subscriptions/listen", NULL, NULL, 0};
    fa__mcp_exchange_t *x =
        post(&k,
             "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"subscriptions/listen\",\"params\":{"
             "\"notifications\":{\"toolsListChanged\":true}," META_CAPS("{}") "}}",
             &lh);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(json_array_size(k.events), 1);
    ck_assert_str_eq(json_string_value(json_object_get(ev_msg(&k, 0), "method")),
                     "notifications/subscriptions/acknowledged");
    ck_assert_int_eq(fa_server_notify_changed(srv, FA_MCP_CHANGED_TOOLS), 0);
    uint64_t start = uv_hrtime();
    while (json_array_size(k.events) < 2 && uv_hrtime() - start < 5000000000ull) {
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
    ck_assert_str_eq(json_string_value(json_object_get(ev_msg(&k, 1), "method")),
                     "notifications/tools/list_changed");
    ck_assert_int_eq(ev_kind(&k, 1), FA__EMIT_EVENT);
    size_t before = srv->nsessions;
    fa__mcp_modern_abort(x);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_uint_eq(srv->nsessions, before - 1);
    ck_assert_int_eq(fa_server_notify_changed(srv, FA_MCP_CHANGED_TOOLS), 0);
    for (int i = 0; i < 5; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
    ck_assert_uint_eq(json_array_size(k.events), 2); /* nothing after the client left */
    json_decref(k.events);

    /* resourceSubscriptions: the URIs (strings only) are acknowledged, and a change announced
     * for one of them reaches the stream, tagged; other URIs do not. */
    sink_t r = {NULL, 0}; /* post() gives it its event list */
    fa__mcp_exchange_t *rx = post(
        &r,
        "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"subscriptions/listen\",\"params\":{"
        "\"notifications\":{\"resourceSubscriptions\":[\"memo://one\",7,\"memo://x\"]}," META_CAPS(
            "{}") "}}",
        &lh);
    ck_assert_ptr_nonnull(rx);
    json_t *ackn = json_object_get(json_object_get(ev_msg(&r, 0), "params"), "notifications");
    ck_assert_uint_eq(json_array_size(json_object_get(ackn, "resourceSubscriptions")), 2);
    ck_assert_int_eq(fa_server_notify_resource_updated(srv, "memo://elsewhere"), 0);
    ck_assert_int_eq(fa_server_notify_resource_updated(srv, "memo://one"), 0);
    start = uv_hrtime();
    while (json_array_size(r.events) < 2 && uv_hrtime() - start < 5000000000ull) {
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
    json_t *upd = ev_msg(&r, 1);
    ck_assert_str_eq(json_string_value(json_object_get(upd, "method")),
                     "notifications/resources/updated");
    json_t *up = json_object_get(upd, "params");
    ck_assert_str_eq(json_string_value(json_object_get(up, "uri")), "memo://one");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(up, "_meta"),
                                                        "io.modelcontextprotocol/subscriptionId")),
                     11);
    for (int i = 0; i < 5; i++) {
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_sleep(1);
    }
    ck_assert_uint_eq(json_array_size(r.events), 2); /* memo://elsewhere reached nobody */
    fa__mcp_modern_abort(rx);
    uv_run(&loop, UV_RUN_NOWAIT);
    json_decref(r.events);

    /* A listen stream still open at shutdown ends with its final result. */
    static sink_t last;
    post(&last,
         "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"subscriptions/listen\",\"params\":{"
         "\"notifications\":{}," META_CAPS("{}") "}}",
         &lh);
    closed = 0;
    fa_server_close(srv, on_closed);
    while (!closed)
        uv_run(&loop, UV_RUN_ONCE);
    ck_assert_int_eq(last.final, 1);
    ck_assert_int_eq(ev_kind(&last, 1), FA__EMIT_END);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ev_msg(&last, 1), "result"),
                                                       "resultType")),
                     "complete");
    json_decref(last.events);
}
END_TEST

int main(void) {
    fa_log_set_level(FA_LOG_ERROR);
    Suite *s = suite_create("mcp/modern");
    TCase *tc = tcase_create("modern");
    tcase_add_checked_fixture(tc, setup, capture_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_mrtr_round_trip);
    tcase_add_test(tc, test_http_exchange);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
