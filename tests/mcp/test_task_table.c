/* Tests for src/mcp/task_table.c: the task table of the tasks extension (lifecycle, inputs by
 * key, cancel idempotence, unknown and partial updates, the task cap, expiry, timestamps). */
#include <string.h>

#include "fa_test.h"
#include "fasterapi/error.h"
#include "mcp/tasks.h"

/* Records what the table hands back for pending input requests. */
typedef struct {
    int answered, abandoned;
    json_t *last; /* copy of the last answer */
} inputs_t;

static void on_input(void *req, const json_t *answer, void *arg) {
    inputs_t *in = arg;
    ck_assert_ptr_eq(req, in); /* the tests pass the recorder itself as the request */
    if (answer) {
        in->answered++;
        json_decref(in->last);
        in->last = json_deep_copy(answer);
    } else {
        in->abandoned++;
    }
}

static const char *status_of(const fa__tasks_t *t, const fa__task_t *k) {
    json_t *j = fa__task_json(t, k, 1);
    static char buf[32];
    snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(j, "status")));
    json_decref(j);
    return buf;
}

START_TEST(test_lifecycle) {
    inputs_t in = {0};
    fa__tasks_t t;
    fa__tasks_init(&t, 8, 60000, on_input, &in);
    fa__task_t *k;
    ck_assert_int_eq(fa__tasks_create(&t, 1785234600123ull, &k, NULL), 0);
    ck_assert_uint_eq(strlen(k->id), 32);
    ck_assert_ptr_eq(fa__tasks_find(&t, k->id), k);

    /* The CreateTaskResult shape: Task fields only. */
    json_t *j = fa__task_json(&t, k, 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "working");
    ck_assert_str_eq(json_string_value(json_object_get(j, "createdAt")),
                     "2026-07-28T10:30:00.123Z");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "ttlMs")), 60000);
    ck_assert_int_gt(json_integer_value(json_object_get(j, "pollIntervalMs")), 0);
    ck_assert_ptr_null(json_object_get(j, "result"));
    ck_assert_ptr_null(json_object_get(j, "inputRequests"));
    json_decref(j);

    /* A question: input_required with the request under the tool's key. */
    json_t *params = json_pack("{s:s}", "message", "Sure?");
    char key[FA_MCP_TASK_KEY_MAX + 24];
    ck_assert_int_eq(
        fa__task_ask(&t, k, "confirm", "elicitation/create", params, &in, 1785234601000ull, key),
        0);
    json_decref(params);
    ck_assert_str_eq(key, "confirm");
    j = fa__task_json(&t, k, 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "input_required");
    ck_assert_str_eq(json_string_value(json_object_get(j, "lastUpdatedAt")),
                     "2026-07-28T10:30:01.000Z");
    json_t *q = json_object_get(json_object_get(j, "inputRequests"), "confirm");
    ck_assert_str_eq(json_string_value(json_object_get(q, "method")), "elicitation/create");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(q, "params"), "message")),
                     "Sure?");
    json_decref(j);

    /* The answer goes to the request; the task works again. */
    json_t *resp = json_pack("{s:{s:s}}", "confirm", "action", "accept");
    ck_assert_uint_eq(fa__task_update(&t, k, resp, 1785234602000ull), 1);
    json_decref(resp);
    ck_assert_int_eq(in.answered, 1);
    ck_assert_str_eq(json_string_value(json_object_get(in.last, "action")), "accept");
    ck_assert_str_eq(status_of(&t, k), "working");

    /* The result: completed, inlined by tasks/get; a later outcome does not replace it. */
    json_t *result = json_pack("{s:[{s:s, s:s}]}", "content", "type", "text", "text", "ok");
    ck_assert_int_eq(fa__task_finish(&t, k, FA__TASK_COMPLETED, result, 1785234603000ull), 0);
    json_decref(result);
    ck_assert_int_eq(fa__task_finish(&t, k, FA__TASK_FAILED, NULL, 1785234604000ull), 1);
    j = fa__task_json(&t, k, 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "completed");
    ck_assert_ptr_null(json_object_get(j, "error"));
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_array_get(json_object_get(json_object_get(j, "result"), "content"), 0), "text")),
        "ok");
    json_decref(j);
    ck_assert_int_eq(in.abandoned, 0);
    fa__tasks_free(&t);
    json_decref(in.last);
}
END_TEST

START_TEST(test_failed_keeps_error) {
    fa__tasks_t t;
    fa__tasks_init(&t, 8, 60000, NULL, NULL);
    fa__task_t *k;
    ck_assert_int_eq(fa__tasks_create(&t, 1000, &k, NULL), 0);
    json_t *err = json_pack("{s:i, s:s}", "code", -32603, "message", "boom");
    ck_assert_int_eq(fa__task_finish(&t, k, FA__TASK_FAILED, err, 2000), 0);
    json_decref(err);
    json_t *j = fa__task_json(&t, k, 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "failed");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     -32603);
    ck_assert_ptr_null(json_object_get(j, "result"));
    json_decref(j);
    fa__tasks_free(&t);
}
END_TEST

START_TEST(test_cancel_idempotent) {
    inputs_t in = {0};
    fa__tasks_t t;
    fa__tasks_init(&t, 8, 60000, on_input, &in);
    fa__task_t *k;
    ck_assert_int_eq(fa__tasks_create(&t, 1000, &k, NULL), 0);
    ck_assert_int_eq(fa__task_ask(&t, k, "a", "roots/list", NULL, &in, 1100, NULL), 0);
    /* Cancelling abandons the pending question (its asker gets an error, not silence). */
    ck_assert_int_eq(fa__task_finish(&t, k, FA__TASK_CANCELLED, NULL, 1200), 0);
    ck_assert_int_eq(in.abandoned, 1);
    ck_assert_str_eq(status_of(&t, k), "cancelled");
    /* Again, and a late result: no effect. */
    ck_assert_int_eq(fa__task_finish(&t, k, FA__TASK_CANCELLED, NULL, 1300), 1);
    ck_assert_int_eq(fa__task_finish(&t, k, FA__TASK_COMPLETED, NULL, 1400), 1);
    ck_assert_str_eq(status_of(&t, k), "cancelled");
    json_t *j = fa__task_json(&t, k, 1);
    ck_assert_ptr_null(json_object_get(j, "result"));
    ck_assert_ptr_null(json_object_get(j, "inputRequests"));
    json_decref(j);
    /* A terminal task takes no more questions. */
    ck_assert_int_eq(fa__task_ask(&t, k, "b", "roots/list", NULL, &in, 1500, NULL), FA_ESTATE);
    ck_assert_int_eq(in.abandoned, 1);
    fa__tasks_free(&t);
}
END_TEST

START_TEST(test_partial_and_unknown_updates) {
    inputs_t in = {0};
    fa__tasks_t t;
    fa__tasks_init(&t, 8, 60000, on_input, &in);
    fa__task_t *k;
    ck_assert_int_eq(fa__tasks_create(&t, 1000, &k, NULL), 0);
    ck_assert_int_eq(fa__task_ask(&t, k, "first", "elicitation/create", NULL, &in, 1001, NULL), 0);
    ck_assert_int_eq(fa__task_ask(&t, k, "last", "elicitation/create", NULL, &in, 1002, NULL), 0);

    /* Unknown keys only: nothing happens. */
    json_t *r = json_pack("{s:{}, s:{}}", "unknown-key", "zzz");
    ck_assert_uint_eq(fa__task_update(&t, k, r, 1003), 0);
    json_decref(r);
    ck_assert_int_eq(in.answered, 0);

    /* One of two (plus an unknown one): the answered key is gone at once, the other stays. */
    r = json_pack("{s:{s:s}, s:{}}", "first", "action", "accept", "nope");
    ck_assert_uint_eq(fa__task_update(&t, k, r, 1004), 1);
    ck_assert_int_eq(in.answered, 1);
    json_t *j = fa__task_json(&t, k, 1);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "input_required");
    ck_assert_ptr_null(json_object_get(json_object_get(j, "inputRequests"), "first"));
    ck_assert_ptr_nonnull(json_object_get(json_object_get(j, "inputRequests"), "last"));
    json_decref(j);

    /* The same answer again: already answered, ignored. */
    ck_assert_uint_eq(fa__task_update(&t, k, r, 1005), 0);
    json_decref(r);
    ck_assert_int_eq(in.answered, 1);

    r = json_pack("{s:{s:s}}", "last", "action", "decline");
    ck_assert_uint_eq(fa__task_update(&t, k, r, 1006), 1);
    json_decref(r);
    ck_assert_str_eq(status_of(&t, k), "working");
    ck_assert_int_eq(in.answered, 2);
    fa__tasks_free(&t);
    ck_assert_int_eq(in.abandoned, 0);
    json_decref(in.last);
}
END_TEST

START_TEST(test_keys_unique_over_life) {
    inputs_t in = {0};
    fa__tasks_t t;
    fa__tasks_init(&t, 8, 60000, on_input, &in);
    fa__task_t *k;
    ck_assert_int_eq(fa__tasks_create(&t, 1000, &k, NULL), 0);
    char key[FA_MCP_TASK_KEY_MAX + 24];
    ck_assert_int_eq(fa__task_ask(&t, k, "q", "roots/list", NULL, &in, 1001, key), 0);
    ck_assert_str_eq(key, "q");
    json_t *r = json_pack("{s:{}}", "q");
    fa__task_update(&t, k, r, 1002);
    json_decref(r);
    /* The tool asks under "q" again after it was answered: a new key, never a reused one. */
    ck_assert_int_eq(fa__task_ask(&t, k, "q", "roots/list", NULL, &in, 1003, key), 0);
    ck_assert_str_eq(key, "q_2");
    ck_assert_int_eq(fa__task_ask(&t, k, NULL, "roots/list", NULL, &in, 1004, key), 0);
    ck_assert_str_eq(key, "r3");
    char longkey[FA_MCP_TASK_KEY_MAX + 2];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    ck_assert_int_eq(fa__task_ask(&t, k, longkey, "roots/list", NULL, &in, 1005, key), 0);
    ck_assert_str_eq(key, "r4");
    /* Freeing the table abandons the three pending ones. */
    fa__tasks_free(&t);
    ck_assert_int_eq(in.abandoned, 3);
    json_decref(in.last);
}
END_TEST

START_TEST(test_cap_and_eviction) {
    fa__tasks_t t;
    fa__tasks_init(&t, 2, 600000, NULL, NULL);
    fa__task_t *a, *b, *c;
    void *evicted = (void *)1;
    ck_assert_int_eq(fa__tasks_create(&t, 1000, &a, &evicted), 0);
    ck_assert_ptr_null(evicted);
    ck_assert_int_eq(fa__tasks_create(&t, 1001, &b, NULL), 0);
    /* Full of live tasks: a clear refusal. */
    ck_assert_int_eq(fa__tasks_create(&t, 1002, &c, NULL), FA_ELIMIT);
    ck_assert_ptr_null(c);
    /* One ended, but too recently: still full (its result must stay readable). */
    ck_assert_int_eq(fa__task_finish(&t, a, FA__TASK_COMPLETED, NULL, 2000), 0);
    a->owner = &t;
    ck_assert_int_eq(fa__tasks_create(&t, 2000 + FA_MCP_TASK_MIN_KEEP_MS - 1, &c, NULL), FA_ELIMIT);
    /* Long enough ago: it makes room, and its owner data is handed back. */
    char gone[33];
    memcpy(gone, a->id, sizeof gone);
    ck_assert_int_eq(fa__tasks_create(&t, 2000 + FA_MCP_TASK_MIN_KEEP_MS, &c, &evicted), 0);
    ck_assert_ptr_eq(evicted, &t);
    ck_assert_ptr_null(fa__tasks_find(&t, gone));
    ck_assert_ptr_eq(fa__tasks_find(&t, b->id), b);
    ck_assert_ptr_eq(fa__tasks_find(&t, c->id), c);
    ck_assert_uint_eq(t.n, 2);
    ck_assert_ptr_null(fa__tasks_find(&t, "nonexistent"));
    ck_assert_ptr_null(fa__tasks_find(&t, NULL));
    fa__tasks_free(&t);
}
END_TEST

START_TEST(test_expiry_in_creation_order) {
    fa__tasks_t t;
    fa__tasks_init(&t, 8, 1000, NULL, NULL);
    fa__task_t *a, *b;
    ck_assert_int_eq(fa__tasks_create(&t, 0, &a, NULL), 0);
    ck_assert_int_eq(fa__tasks_create(&t, 500, &b, NULL), 0);
    ck_assert_ptr_null(fa__tasks_expired(&t, 999));
    ck_assert_ptr_eq(fa__tasks_expired(&t, 1000), a);
    fa__tasks_remove(&t, a);
    ck_assert_ptr_null(fa__tasks_expired(&t, 1499));
    ck_assert_ptr_eq(fa__tasks_expired(&t, 1500), b);
    fa__tasks_remove(&t, b);
    ck_assert_ptr_null(fa__tasks_expired(&t, UINT64_MAX));
    ck_assert_uint_eq(t.n, 0);
    fa__tasks_free(&t);
}
END_TEST

START_TEST(test_iso8601) {
    char out[32];
    fa__iso8601_ms(0, out);
    ck_assert_str_eq(out, "1970-01-01T00:00:00.000Z");
    fa__iso8601_ms(1785234600123ull, out);
    ck_assert_str_eq(out, "2026-07-28T10:30:00.123Z");
    ck_assert_str_eq(fa__task_status_name(FA__TASK_INPUT_REQUIRED), "input_required");
}
END_TEST

int main(void) {
    Suite *s = suite_create("mcp/task_table");
    TCase *tc = tcase_create("task_table");
    tcase_add_test(tc, test_lifecycle);
    tcase_add_test(tc, test_failed_keeps_error);
    tcase_add_test(tc, test_cancel_idempotent);
    tcase_add_test(tc, test_partial_and_unknown_updates);
    tcase_add_test(tc, test_keys_unique_over_life);
    tcase_add_test(tc, test_cap_and_eviction);
    tcase_add_test(tc, test_expiry_in_creation_order);
    tcase_add_test(tc, test_iso8601);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
