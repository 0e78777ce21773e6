/* Tests for src/mcp/session.c (and the lifecycle in server.c): the engine driven through fake
 * sessions on a loop the test owns, with a fake executor that holds calls until the test finishes
 * them, so every accounting rule can be checked step by step: many sessions at once, replies
 * reaching the session that asked, a result for a closed session dropped safely, per-session and
 * per-server in-flight limits, round-robin hand-out of freed slots, backpressure (pause/resume),
 * output held while a transport is blocked, and fa_server_close's callback.
 */
#include <string.h>
#include <uv.h>

#include "fa_test.h"
#include "fasterapi.h"
#include "mcp/server_internal.h"

/* ---- a fake transport ---- */

typedef struct {
    fa__buf_t out; /* everything committed, newline-separated */
    int commits;
    int paused;  /* pause/resume calls balance */
    int blocked; /* what ops->blocked answers */
    int stops, closes;
    fa__session_t *s;
    int kinds[16]; /* what out() was told, for the last 16 messages */
    char rels[16][16];
    int nout;
} fake_t;

static fa__buf_t *f_out(fa__session_t *s, const fa__out_info_t *info) {
    fake_t *f = s->transport;
    int i = f->nout++ % 16;
    f->kinds[i] = (int)info->kind;
    snprintf(f->rels[i], sizeof f->rels[i], "%.*s", (int)info->rel_len, info->rel ? info->rel : "");
    return &f->out;
}
static void f_commit(fa__session_t *s) {
    fake_t *f = s->transport;
    fa__buf_putc(&f->out, '\n');
    f->commits++;
}
static void f_pause(fa__session_t *s) {
    ((fake_t *)s->transport)->paused++;
}
static void f_resume(fa__session_t *s) {
    ((fake_t *)s->transport)->paused--;
}
static int f_blocked(fa__session_t *s) {
    return ((fake_t *)s->transport)->blocked;
}
static void f_stop(fa__session_t *s) {
    ((fake_t *)s->transport)->stops++;
}
static void f_close(fa__session_t *s) {
    fake_t *f = s->transport;
    f->closes++;
    f->s = NULL;
    fa__session_close(s);
}

static const fa__session_ops_t fake_ops = {f_out,     f_commit, f_pause, f_resume,
                                           f_blocked, f_stop,   f_close, NULL};

/* ---- a fake executor: calls wait in `held` until the test finishes them ---- */

#define MAXHELD 64
static fa_call_t *held[MAXHELD];
static int nheld, ncancelled;

static int ex_submit(void *self, fa_call_t *c) {
    (void)self;
    if (nheld == MAXHELD)
        return FA_EFULL;
    held[nheld++] = c;
    return 0;
}
static void ex_wake(void *self, int n) {
    (void)self;
    (void)n;
}
static void ex_cancel(void *self, fa_call_t *c) {
    (void)self;
    (void)c;
    ncancelled++;
}

/* Finishes the i-th held call with a text result naming its arguments' "n". */
static void finish(int i) {
    fa_call_t *c = held[i];
    memmove(held + i, held + i + 1, (size_t)(nheld - i - 1) * sizeof *held);
    nheld--;
    char text[64];
    snprintf(text, sizeof text, "done %lld",
             (long long)json_integer_value(json_object_get(c->args, "n")));
    ck_assert_int_eq(fa_call_complete(c, fa_result_text(text)), 0);
}

static void noop_tool(fa_call_t *call, const json_t *args, void *data) {
    (void)call;
    (void)args;
    (void)data; /* never run: the fake executor holds calls */
}

/* A non-blocking tool: progress, then its result, inside the callback. */
static void inline_tool(fa_call_t *call, const json_t *args, void *data) {
    (void)data;
    fa_call_progress(call, 1, 1, NULL);
    char text[64];
    snprintf(text, sizeof text, "inline %lld",
             (long long)json_integer_value(json_object_get(args, "n")));
    fa_call_complete(call, fa_result_text(text));
}

/* A non-blocking tool that breaks its promise: the call is finished later, by the test. */
static fa_call_t *left_call;
static void leaving_tool(fa_call_t *call, const json_t *args, void *data) {
    (void)args;
    (void)data;
    left_call = call;
}

/* ---- the fixture ---- */

static uv_loop_t loop;
static fa_server_t *srv;
static int closed_cb_ran;

static int with_catalog; /* setup_server also installs a one-resource catalog */

static void setup_server(size_t max_inflight, size_t per_session, size_t max_queued) {
    nheld = ncancelled = closed_cb_ran = 0;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    fa_server_options_t o;
    fa_server_options_init(&o);
    o.max_inflight = max_inflight;
    o.max_session_inflight = per_session;
    o.max_queued = max_queued;
    ck_assert_int_eq(fa_server_new(&srv, &o), 0);
    fa_tool_def_t def = {.name = "t", .cb = noop_tool};
    ck_assert_int_eq(fa_server_add_tool(srv, &def), 0);
    fa_tool_def_t fast = {.name = "fast", .cb = inline_tool, .flags = FA_TOOL_NONBLOCKING};
    ck_assert_int_eq(fa_server_add_tool(srv, &fast), 0);
    fa_tool_def_t leave = {.name = "leave", .cb = leaving_tool, .flags = FA_TOOL_NONBLOCKING};
    ck_assert_int_eq(fa_server_add_tool(srv, &leave), 0);
    fa__executor_t ex = {NULL, ex_submit, ex_wake, ex_cancel};
    fa__server_set_executor(srv, &ex);
    if (with_catalog) {
        static const fa__ops_t no_ops = {0};
        ck_assert_int_eq(fa__server_set_catalog(
                             srv, json_pack("[{s:s, s:s}]", "uri", "memo://one", "name", "one"),
                             NULL, NULL, 0, &no_ops),
                         0);
    }
    ck_assert_int_eq(fa_server_start(srv, &loop), 0);
}

static void on_closed(fa_server_t *s) {
    ck_assert_ptr_eq(s, srv);
    closed_cb_ran++;
}

static void teardown_server(void) {
    fa_server_close(srv, on_closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(closed_cb_ran, 1);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    fa_server_free(srv);
}

static void spin(void) {
    for (int i = 0; i < 5; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
}

static void send_line(fake_t *f, const char *line) {
    fa__session_on_line(f->s, line, strlen(line));
    spin();
}

static void open_session(fake_t *f) {
    memset(f, 0, sizeof *f);
    ck_assert_int_eq(fa__session_open(srv, &fake_ops, f, &f->s), 0);
    send_line(f, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                 "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}}}");
    send_line(f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    f->out.len = 0;
    f->commits = 0;
    f->nout = 0;
}

static void call(fake_t *f, int id, int n) {
    char line[200];
    snprintf(line, sizeof line,
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\",\"params\":{\"name\":\"t\","
             "\"arguments\":{\"n\":%d}}}",
             id, n);
    send_line(f, line);
}

static int has(const fake_t *f, const char *needle) {
    return f->out.len && memmem(f->out.data, f->out.len, needle, strlen(needle)) != NULL;
}

/* Which session a held call belongs to. */
static int owner(int i, const fake_t *a) {
    return held[i]->sref == a->s->ref;
}

START_TEST(test_replies_reach_the_session_that_asked) {
    setup_server(64, 0, 16);
    fake_t a, b;
    open_session(&a);
    open_session(&b);
    call(&a, 1, 10);
    call(&b, 1, 20); /* the same id in another session is fine */
    ck_assert_int_eq(nheld, 2);
    finish(1);
    finish(0);
    spin();
    ck_assert(has(&a, "done 10") && !has(&a, "done 20"));
    ck_assert(has(&b, "done 20") && !has(&b, "done 10"));
    ck_assert_uint_eq(srv->outstanding, 0);
    fa__buf_free(&a.out);
    fa__buf_free(&b.out);
    teardown_server();
}
END_TEST

START_TEST(test_result_for_closed_session_is_dropped) {
    setup_server(64, 0, 16);
    fake_t a, b;
    open_session(&a);
    open_session(&b);
    call(&a, 1, 1);
    call(&a, 2, 2);
    fa__sref_t old = a.s->ref;
    fa__session_close(a.s);
    a.s = NULL;
    ck_assert_ptr_null(fa__session_get(srv, old));
    ck_assert_int_eq(ncancelled, 2); /* the tools were told to stop */
    size_t before = a.out.len;
    /* A new session may reuse the slot: the old handle must still miss. */
    fake_t c;
    open_session(&c);
    ck_assert_ptr_null(fa__session_get(srv, old));
    finish(0);
    finish(0);
    spin();
    ck_assert_uint_eq(a.out.len, before);
    ck_assert_int_eq(c.commits, 0); /* nothing leaked into the slot's new owner */
    ck_assert_uint_eq(srv->outstanding, 0);
    call(&b, 5, 5);
    finish(0);
    spin();
    ck_assert(has(&b, "done 5"));
    fa__buf_free(&a.out);
    fa__buf_free(&b.out);
    fa__buf_free(&c.out);
    teardown_server();
}
END_TEST

START_TEST(test_per_session_limit) {
    setup_server(64, 2, 16);
    fake_t a, b;
    open_session(&a);
    open_session(&b);
    for (int i = 1; i <= 5; i++)
        call(&a, i, i);
    ck_assert_int_eq(nheld, 2); /* a's own limit */
    ck_assert_uint_eq(a.s->queued, 3);
    call(&b, 1, 100);
    ck_assert_int_eq(nheld, 3); /* b is not held back by a */
    ck_assert(owner(2, &b));
    finish(0); /* one of a's: its next one starts */
    spin();
    ck_assert_int_eq(nheld, 3);
    ck_assert_uint_eq(a.s->queued, 2);
    while (nheld)
        finish(0), spin();
    for (int i = 1; i <= 5; i++) {
        char want[32];
        snprintf(want, sizeof want, "done %d", i);
        ck_assert_msg(has(&a, want), "missing %s", want);
    }
    ck_assert_uint_eq(srv->outstanding, 0);
    ck_assert_uint_eq(srv->queued, 0);
    fa__buf_free(&a.out);
    fa__buf_free(&b.out);
    teardown_server();
}
END_TEST

START_TEST(test_freed_slots_go_round_robin) {
    setup_server(2, 0, 16);
    fake_t a, b;
    open_session(&a);
    open_session(&b);
    for (int i = 1; i <= 4; i++)
        call(&a, i, i);
    call(&b, 1, 100);
    ck_assert_int_eq(nheld, 2); /* the server's limit */
    ck_assert_uint_eq(srv->queued, 3);
    finish(0);
    spin();
    finish(0);
    spin();
    /* Two slots freed: a (first in line) got one, then b, although a has more waiting. */
    ck_assert_int_eq(nheld, 2);
    ck_assert(owner(0, &a) != owner(1, &a));
    while (nheld)
        finish(0), spin();
    ck_assert(has(&b, "done 100"));
    ck_assert(has(&a, "done 4"));
    fa__buf_free(&a.out);
    fa__buf_free(&b.out);
    teardown_server();
}
END_TEST

START_TEST(test_backpressure_pauses_and_resumes) {
    setup_server(1, 0, 2);
    fake_t a;
    open_session(&a);
    call(&a, 1, 1); /* runs */
    call(&a, 2, 2); /* queued */
    ck_assert_int_eq(a.paused, 0);
    call(&a, 3, 3); /* queued: the backlog is full, the transport pauses */
    ck_assert_int_eq(a.paused, 1);
    call(&a, 4, 4); /* a transport that reads anyway gets an overload error, not a loss */
    ck_assert(has(&a, "\"id\":4") && has(&a, "-32000"));
    finish(0);
    spin();
    ck_assert_int_eq(a.paused, 0);
    while (nheld)
        finish(0), spin();
    ck_assert(has(&a, "done 1") && has(&a, "done 2") && has(&a, "done 3"));
    fa__buf_free(&a.out);
    teardown_server();
}
END_TEST

START_TEST(test_output_held_while_blocked) {
    setup_server(64, 0, 16);
    fake_t a;
    open_session(&a);
    call(&a, 1, 1);
    call(&a, 2, 2);
    a.blocked = 1;
    finish(0);
    finish(0);
    spin();
    ck_assert_int_eq(a.commits, 0);
    ck_assert_uint_eq(srv->outstanding, 2); /* held calls still count: no new ones start */
    a.blocked = 0;
    fa__session_writable(a.s);
    ck_assert_int_eq(a.commits, 2);
    char *one = memmem(a.out.data, a.out.len, "done 1", 6);
    char *two = memmem(a.out.data, a.out.len, "done 2", 6);
    ck_assert(one && two && one < two); /* in order */
    ck_assert_uint_eq(srv->outstanding, 0);
    fa__buf_free(&a.out);
    teardown_server();
}
END_TEST

/* fa_server_notify_resource_updated reaches every session subscribed to the uri, as an
 * unrelated notification (no request id: Streamable HTTP's standalone stream), held behind a
 * blocked session's output like anything else, and nothing reaches the others. */
START_TEST(test_resource_updated_fans_out_to_subscribers) {
    with_catalog = 1;
    setup_server(64, 0, 16);
    with_catalog = 0;
    fake_t a, b, c;
    open_session(&a);
    open_session(&b);
    open_session(&c);
    const char *sub = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/subscribe\","
                      "\"params\":{\"uri\":\"memo://one\"}}";
    send_line(&a, sub);
    send_line(&b, sub);
    send_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/subscribe\","
                  "\"params\":{\"uri\":\"memo://other\"}}");
    ck_assert(has(&a, "\"id\":5,\"result\":{}"));
    a.out.len = b.out.len = c.out.len = 0;
    a.commits = b.commits = c.commits = 0;
    a.nout = b.nout = 0;
    b.blocked = 1;
    ck_assert_int_eq(fa_server_notify_resource_updated(srv, "memo://one"), 0);
    ck_assert_int_eq(fa_server_notify_resource_updated(srv, NULL), FA_EINVAL);
    spin();
    const char *note = "\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":"
                       "\"memo://one\"}";
    ck_assert_int_eq(a.commits, 1);
    ck_assert(has(&a, note));
    ck_assert_int_eq(a.kinds[0], FA__OUT_NOTIFY);
    ck_assert_str_eq(a.rels[0], ""); /* tied to no request */
    ck_assert_int_eq(b.commits, 0);  /* held while blocked */
    ck_assert_int_eq(c.commits, 0);  /* not subscribed to this uri */
    b.blocked = 0;
    fa__session_writable(b.s);
    ck_assert_int_eq(b.commits, 1);
    ck_assert(has(&b, note));
    ck_assert_int_eq(c.commits, 0);
    /* After unsubscribing, a session hears nothing more. */
    send_line(&a, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"resources/unsubscribe\","
                  "\"params\":{\"uri\":\"memo://one\"}}");
    a.out.len = 0;
    a.commits = 0;
    ck_assert_int_eq(fa_server_notify_resource_updated(srv, "memo://one"), 0);
    spin();
    ck_assert_int_eq(a.commits, 0);
    ck_assert_int_eq(b.commits, 2);
    fa__buf_free(&a.out);
    fa__buf_free(&b.out);
    fa__buf_free(&c.out);
    teardown_server();
}
END_TEST

START_TEST(test_closing_a_blocked_session_frees_held_output) {
    setup_server(64, 0, 16);
    fake_t a;
    open_session(&a);
    call(&a, 1, 1);
    a.blocked = 1;
    finish(0);
    spin();
    ck_assert_uint_eq(srv->held_total, 1);
    fa__session_close(a.s);
    ck_assert_uint_eq(srv->held_total, 0);
    ck_assert_uint_eq(srv->outstanding, 0);
    fa__buf_free(&a.out);
    teardown_server(); /* ASan: nothing leaked */
}
END_TEST

START_TEST(test_close_answers_running_calls_and_closes_sessions) {
    setup_server(64, 0, 16);
    fake_t a, b;
    open_session(&a);
    open_session(&b);
    call(&a, 7, 7);
    fa_server_close(srv, on_closed);
    spin();
    ck_assert_int_eq(a.stops, 1);
    ck_assert_int_eq(b.stops, 1);
    ck_assert_int_eq(closed_cb_ran, 0); /* a call is still running */
    /* New sessions are refused while shutting down. */
    fake_t c;
    memset(&c, 0, sizeof c);
    ck_assert_int_eq(fa__session_open(srv, &fake_ops, &c, &c.s), FA_ESTATE);
    finish(0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert(has(&a, "done 7"));
    ck_assert_int_eq(a.closes, 1);
    ck_assert_int_eq(b.closes, 1);
    ck_assert_int_eq(closed_cb_ran, 1);
    ck_assert_int_eq(uv_loop_close(&loop), 0);
    fa_server_free(srv);
    fa__buf_free(&a.out);
    fa__buf_free(&b.out);
}
END_TEST

START_TEST(test_session_cap) {
    nheld = 0;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    fa_server_options_t o;
    fa_server_options_init(&o);
    o.max_sessions = 3;
    ck_assert_int_eq(fa_server_new(&srv, &o), 0);
    fa__executor_t ex = {NULL, ex_submit, ex_wake, ex_cancel};
    fa__server_set_executor(srv, &ex);
    ck_assert_int_eq(fa_server_start(srv, &loop), 0);
    fake_t f[4];
    memset(f, 0, sizeof f);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fa__session_open(srv, &fake_ops, &f[i], &f[i].s), 0);
    ck_assert_int_eq(fa__session_open(srv, &fake_ops, &f[3], &f[3].s), FA_ELIMIT);
    fa__session_close(f[1].s);
    ck_assert_int_eq(fa__session_open(srv, &fake_ops, &f[3], &f[3].s), 0);
    closed_cb_ran = 0;
    teardown_server();
}
END_TEST

START_TEST(test_thousands_of_sessions) {
    setup_server(64, 0, 4);
    enum { N = 3000 };
    fake_t *f = calloc(N, sizeof *f);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(fa__session_open(srv, &fake_ops, &f[i], &f[i].s), 0);
        fa__session_set_log_level(f[i].s, 2);
    }
    ck_assert_uint_eq(srv->nsessions, N);
    for (int i = 0; i < N; i += 2)
        fa__session_close(f[i].s);
    ck_assert_uint_eq(srv->nsessions, N / 2);
    for (int i = 0; i < N; i += 2)
        ck_assert_int_eq(fa__session_open(srv, &fake_ops, &f[i], &f[i].s), 0);
    ck_assert_uint_le(srv->nslots, N); /* freed slots were reused */
    teardown_server();
    for (int i = 0; i < N; i++)
        fa__buf_free(&f[i].out);
    free(f);
}
END_TEST

START_TEST(test_nonblocking_tool_runs_inline) {
    setup_server(64, 0, 16);
    fake_t a;
    open_session(&a);
    const char *line = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"fast\",\"arguments\":{\"n\":3},\"_meta\":{\"progressToken\":"
                       "\"p\"}}}";
    fa__session_on_line(a.s, line, strlen(line));
    /* Answered before the loop ran again, with no executor involved, progress first. */
    ck_assert_int_eq(nheld, 0);
    ck_assert_int_eq(a.commits, 2);
    char *prog = memmem(a.out.data, a.out.len, "notifications/progress", 22);
    char *res = memmem(a.out.data, a.out.len, "inline 3", 8);
    ck_assert(prog && res && prog < res);
    ck_assert_uint_eq(srv->outstanding, 0);
    /* Each message was routed with the id of the request it belongs to. */
    ck_assert_int_eq(a.nout, 2);
    ck_assert_int_eq(a.kinds[0], FA__OUT_NOTIFY);
    ck_assert_str_eq(a.rels[0], "9");
    ck_assert_int_eq(a.kinds[1], FA__OUT_RESPONSE);
    ck_assert_str_eq(a.rels[1], "9");
    /* One that returns unfinished is delivered when it is finished, from anywhere. */
    line = "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":{"
           "\"name\":\"leave\"}}";
    fa__session_on_line(a.s, line, strlen(line));
    ck_assert_ptr_nonnull(left_call);
    ck_assert_uint_eq(srv->outstanding, 1);
    ck_assert_int_eq(fa_call_complete(left_call, fa_result_text("later")), 0);
    spin();
    ck_assert(has(&a, "later"));
    ck_assert_uint_eq(srv->outstanding, 0);
    fa__buf_free(&a.out);
    teardown_server();
}
END_TEST

int main(void) {
    Suite *s = suite_create("mcp/session");
    TCase *tc = tcase_create("session");
    tcase_add_test(tc, test_replies_reach_the_session_that_asked);
    tcase_add_test(tc, test_result_for_closed_session_is_dropped);
    tcase_add_test(tc, test_per_session_limit);
    tcase_add_test(tc, test_freed_slots_go_round_robin);
    tcase_add_test(tc, test_backpressure_pauses_and_resumes);
    tcase_add_test(tc, test_output_held_while_blocked);
    tcase_add_test(tc, test_resource_updated_fans_out_to_subscribers);
    tcase_add_test(tc, test_closing_a_blocked_session_frees_held_output);
    tcase_add_test(tc, test_close_answers_running_calls_and_closes_sessions);
    tcase_add_test(tc, test_session_cap);
    tcase_add_test(tc, test_thousands_of_sessions);
    tcase_add_test(tc, test_nonblocking_tool_runs_inline);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
