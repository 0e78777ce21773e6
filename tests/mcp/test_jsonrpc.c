/* Tests for src/mcp/jsonrpc.c: envelope classification and reply writing. */
#include <stdlib.h>
#include <string.h>

#include "fa_test.h"
#include "fasterapi/error.h"
#include "mcp/jsonrpc.h"

static fa__rpc_kind_t kind_of(const char *text, const char **why, json_t **keep) {
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(v);
    fa__rpc_msg_t m;
    fa__rpc_classify(v, &m);
    *why = m.why ? m.why : "";
    *keep = v;
    return m.kind;
}

#define KIND(text, want, why_want)                                                                 \
    do {                                                                                           \
        const char *why;                                                                           \
        json_t *v;                                                                                 \
        ck_assert_int_eq(kind_of(text, &why, &v), want);                                           \
        ck_assert_str_eq(why, why_want);                                                           \
        json_decref(v);                                                                            \
    } while (0)

START_TEST(test_classify) {
    KIND("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", FA_RPC_REQUEST, "");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}", FA_RPC_REQUEST, "");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":-5,\"method\":\"ping\"}", FA_RPC_REQUEST, "");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"x\",\"params\":[]}", FA_RPC_REQUEST, "");
    KIND("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", FA_RPC_NOTIFICATION, "");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{}}", FA_RPC_RESPONSE, "");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-1,\"message\":\"m\"}}",
         FA_RPC_RESPONSE, "");
    KIND("1", FA_RPC_INVALID, "a message must be a JSON object");
    KIND("[]", FA_RPC_INVALID, "a batch must not be empty or nested");
    KIND("{\"id\":1,\"method\":\"ping\"}", FA_RPC_INVALID, "jsonrpc must be \"2.0\"");
    KIND("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", FA_RPC_INVALID,
         "jsonrpc must be \"2.0\"");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", FA_RPC_INVALID,
         "id must not be null (MCP requires a string or an integer)");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", FA_RPC_INVALID,
         "id must be a string or an integer");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", FA_RPC_INVALID,
         "id must be a string or an integer");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":1}", FA_RPC_INVALID, "missing method");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", FA_RPC_INVALID, "method must be a string");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":\"x\"}", FA_RPC_INVALID,
         "params must be an object or an array");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"result\":1}", FA_RPC_INVALID,
         "a request must not carry result or error");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}", FA_RPC_INVALID_RESPONSE,
         "a response must not carry both result and error");
    KIND("{\"jsonrpc\":\"2.0\",\"result\":{}}", FA_RPC_INVALID_RESPONSE,
         "a response needs the id of the request it answers");
    KIND("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\"}}", FA_RPC_INVALID_RESPONSE,
         "error must be an object with an integer code and a string message");
}
END_TEST

START_TEST(test_invalid_keeps_readable_id) {
    json_t *v = json_loads("{\"id\":\"q\",\"method\":\"ping\"}", 0, NULL);
    fa__rpc_msg_t m;
    fa__rpc_classify(v, &m);
    ck_assert_int_eq(m.kind, FA_RPC_INVALID);
    ck_assert_str_eq(json_string_value(m.id), "q");
    json_decref(v);
}
END_TEST

START_TEST(test_parse_errors_say_where) {
    char why[200];
    int code;
    ck_assert_ptr_null(fa__rpc_parse("{\"a\":", 5, 64, &code, why, sizeof why));
    ck_assert_int_eq(code, FA_EJSON);
    ck_assert_str_eq(why, "line 1 column 6: expected a JSON value, found the end of the input");
    ck_assert_ptr_null(fa__rpc_parse("{\"a\":1,\"a\":2}", 13, 64, &code, why, sizeof why));
    ck_assert_str_eq(why, "line 1 column 8: duplicate object key 'a'");
    ck_assert_ptr_null(fa__rpc_parse("\"\xff\"", 3, 64, &code, why, sizeof why));
    ck_assert_str_eq(why, "line 1 column 2: invalid UTF-8 byte 0xff in a string");
    ck_assert_ptr_null(fa__rpc_parse("[[[1]]]", 7, 2, &code, why, sizeof why));
    ck_assert_int_eq(code, FA_ELIMIT);
    json_t *v = fa__rpc_parse("7", 1, 64, &code, why, sizeof why); /* any value parses */
    ck_assert(json_is_integer(v));
    json_decref(v);
}
END_TEST

/* A request valid but for a number out of range is answered by id (-32602, naming the member)
 * instead of -32700 with id null, which left the client waiting (issue 9 section 4). */
static json_t *rpc_parse(const char *text, int *code, char *why, size_t why_size) {
    return fa__rpc_parse(text, strlen(text), 64, code, why, why_size);
}

START_TEST(test_out_of_range_number_is_answered_by_id) {
    char why[200];
    int code;
    const char *req = "{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"tools/call\",\"params\":{"
                      "\"name\":\"add\",\"arguments\":{\"a\":1e400,\"b\":18446744073709551616}}}";
    json_t *v = fa__rpc_parse(req, strlen(req), 64, &code, why, sizeof why);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(code, FA_ERANGE);
    ck_assert_str_eq(why, "line 1 column 88: params.arguments.a: real number overflow");
    fa__rpc_msg_t m;
    fa__rpc_classify(v, &m);
    ck_assert_int_eq(m.kind, FA_RPC_INVALID);
    ck_assert_int_eq(m.code, FA_RPC_INVALID_PARAMS);
    ck_assert_int_eq(json_integer_value(m.id), 41);
    ck_assert_str_eq(m.why, "params.arguments.a: real number overflow (JSON numbers here must fit "
                            "a 64-bit integer or a double)");
    json_decref(v);

    /* In a batch: the element holding the number is marked, the others are untouched. */
    const char *batch =
        "[{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"ping\"},"
        "{\"jsonrpc\":\"2.0\",\"id\":\"b\",\"method\":\"x\",\"params\":{\"n\":-1e999}}]";
    v = fa__rpc_parse(batch, strlen(batch), 64, &code, why, sizeof why);
    ck_assert_ptr_nonnull(v);
    fa__rpc_classify(json_array_get(v, 0), &m);
    ck_assert_int_eq(m.kind, FA_RPC_REQUEST);
    ck_assert_int_eq(m.code, 0);
    fa__rpc_classify(json_array_get(v, 1), &m);
    ck_assert_int_eq(m.kind, FA_RPC_INVALID);
    ck_assert_int_eq(m.code, FA_RPC_INVALID_PARAMS);
    ck_assert_str_eq(json_string_value(m.id), "b");
    ck_assert(strncmp(m.why, "params.n: real number overflow", 30) == 0);
    json_decref(v);

    /* The id itself out of range: still answered, without an id; a response: never answered. */
    v = rpc_parse("{\"jsonrpc\":\"2.0\",\"id\":1e400,\"method\":\"ping\"}", &code, why, sizeof why);
    ck_assert_ptr_nonnull(v);
    fa__rpc_classify(v, &m);
    ck_assert_int_eq(m.kind, FA_RPC_INVALID);
    ck_assert_ptr_null(m.id);
    ck_assert(strncmp(m.why, "id: real number overflow", 24) == 0);
    json_decref(v);
    v = rpc_parse("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"n\":1e400}}", &code, why,
                  sizeof why);
    ck_assert_ptr_nonnull(v);
    fa__rpc_classify(v, &m);
    ck_assert_int_eq(m.kind, FA_RPC_INVALID_RESPONSE);
    json_decref(v);

    /* Not an object, or another error after the number: a plain parse error as before. */
    ck_assert_ptr_null(fa__rpc_parse("[1e400]", 7, 64, &code, why, sizeof why));
    ck_assert_int_eq(code, FA_EJSON);
    ck_assert_ptr_null(fa__rpc_parse("{\"a\":1e400,}", 12, 64, &code, why, sizeof why));
    ck_assert_int_eq(code, FA_EJSON);
    ck_assert_str_eq(why, "line 1 column 6: a: real number overflow");
}
END_TEST

START_TEST(test_writers) {
    fa__buf_t b = FA__BUF_INIT;
    json_t *r = json_pack("{s:i}", "x", 1);
    ck_assert_int_eq(fa__rpc_write_result(&b, "7", 1, r), 0);
    fa__buf_putc(&b, '\0');
    ck_assert_str_eq(b.data, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"x\":1}}");
    b.len = 0;
    ck_assert_int_eq(fa__rpc_write_error(&b, "\"a\"", 3, -32601, "Method not found: x", NULL), 0);
    fa__buf_putc(&b, '\0');
    ck_assert_str_eq(b.data, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"error\":{\"code\":-32601,"
                             "\"message\":\"Method not found: x\"}}");
    b.len = 0;
    ck_assert_int_eq(fa__rpc_write_error(&b, "null", 4, -32600, "bad \"quote\"\n", r), 0);
    fa__buf_putc(&b, '\0');
    ck_assert_str_eq(b.data, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
                             "\"message\":\"bad \\\"quote\\\"\\n\",\"data\":{\"x\":1}}}");
    b.len = 0;
    ck_assert_int_eq(fa__rpc_write_notification(&b, "notifications/message", r), 0);
    fa__buf_putc(&b, '\0');
    ck_assert_str_eq(b.data, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\","
                             "\"params\":{\"x\":1}}");
    b.len = 0;
    ck_assert_int_eq(fa__rpc_write_result_raw(&b, "1", 1, "{}", 2), 0);
    fa__buf_putc(&b, '\0');
    ck_assert_str_eq(b.data, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
    b.len = 0;
    json_t *id = json_string("x\"y");
    ck_assert_int_eq(fa__rpc_write_id(&b, id), 0);
    ck_assert_int_eq(fa__rpc_write_id(&b, NULL), 0);
    fa__buf_putc(&b, '\0');
    ck_assert_str_eq(b.data, "\"x\\\"y\"null");
    json_decref(id);
    json_decref(r);
    fa__buf_free(&b);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mcp/jsonrpc");
    TCase *tc = tcase_create("jsonrpc");
    tcase_add_test(tc, test_classify);
    tcase_add_test(tc, test_invalid_keeps_readable_id);
    tcase_add_test(tc, test_parse_errors_say_where);
    tcase_add_test(tc, test_out_of_range_number_is_answered_by_id);
    tcase_add_test(tc, test_writers);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
