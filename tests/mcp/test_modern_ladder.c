/* Tests for src/mcp/modern_ladder.c: the _meta envelope, SEP-2243 header decoding, the
 * validation ladder's order (research/spec_2026.md §1.4) and the HTTP era rule (§1.2). */
#include <stdlib.h>
#include <string.h>

#include "fa_test.h"
#include "fasterapi/error.h"
#include "mcp/modern.h"

#define META(v)                                                                                    \
    "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"" v "\","                            \
    "\"io.modelcontextprotocol/clientCapabilities\":{}}"

static json_t *parse(const char *text) {
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    ck_assert_msg(v != NULL, "%s: %s", text, e.text);
    return v;
}

/* Schema lookup for rung 9: one tool, "hdr", with a string, an integer and a boolean header. */
static const json_t *schema_of(void *arg, const char *name) {
    return strcmp(name, "hdr") == 0 ? arg : NULL;
}

static int ladder(const char *body, const fa__mcp_headers_t *h, int *status, json_t **data) {
    json_t *msg = parse(body);
    json_t *schema = parse("{\"type\":\"object\",\"properties\":{"
                           "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
                           "\"level\":{\"type\":\"integer\",\"x-mcp-header\":\"Level\"},"
                           "\"dry\":{\"type\":\"boolean\",\"x-mcp-header\":\"Dry\"},"
                           "\"other\":{\"type\":\"string\"}}}");
    fa__ladder_t v;
    int rc = fa__mcp_ladder(msg, h, schema_of, schema, &v);
    ck_assert_int_eq(rc, v.code);
    if (status)
        *status = v.status;
    if (data)
        *data = v.data;
    else
        json_decref(v.data);
    json_decref(schema);
    json_decref(msg);
    return rc;
}

static const fa__mcp_headers_t std_list = {"2026-07-28", "tools/list", NULL, NULL, 0};

START_TEST(test_envelope) {
    fa__env_t e;
    json_t *p = parse("{" META("2026-07-28") "}");
    fa__mcp_envelope(p, &e);
    ck_assert_int_eq(e.status, FA__ENV_OK);
    ck_assert_str_eq(e.version, "2026-07-28");
    ck_assert_int_eq(e.log_level, -1);
    json_decref(p);
    p = parse("{\"_meta\":{\"progressToken\":1}}"); /* other _meta keys are not a claim */
    fa__mcp_envelope(p, &e);
    ck_assert_int_eq(e.status, FA__ENV_NONE);
    json_decref(p);
    fa__mcp_envelope(NULL, &e);
    ck_assert_int_eq(e.status, FA__ENV_NONE);
    p = parse("{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}");
    fa__mcp_envelope(p, &e);
    ck_assert_int_eq(e.status, FA__ENV_MALFORMED); /* clientCapabilities missing */
    json_decref(p);
    p = parse("{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":7,"
              "\"io.modelcontextprotocol/clientCapabilities\":{}}}");
    fa__mcp_envelope(p, &e);
    ck_assert_int_eq(e.status, FA__ENV_MALFORMED);
    json_decref(p);
    p = parse("{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"v9\","
              "\"io.modelcontextprotocol/clientCapabilities\":{}}}");
    fa__mcp_envelope(p, &e);
    ck_assert_int_eq(e.status, FA__ENV_UNSUPPORTED);
    json_decref(p);
    p = parse("{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
              "\"io.modelcontextprotocol/clientCapabilities\":{},"
              "\"io.modelcontextprotocol/logLevel\":\"warning\"}}");
    fa__mcp_envelope(p, &e);
    ck_assert_int_eq(e.status, FA__ENV_OK);
    ck_assert_int_eq(e.log_level, 3);
    json_decref(p);
    p = parse("{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
              "\"io.modelcontextprotocol/clientCapabilities\":{},"
              "\"io.modelcontextprotocol/logLevel\":\"loud\"}}");
    fa__mcp_envelope(p, &e);
    ck_assert_int_eq(e.status, FA__ENV_MALFORMED);
    json_decref(p);
    p = parse("{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
              "\"io.modelcontextprotocol/clientCapabilities\":{},"
              "\"io.modelcontextprotocol/clientInfo\":\"me\"}}");
    fa__mcp_envelope(p, &e);
    ck_assert_int_eq(e.status, FA__ENV_MALFORMED);
    json_decref(p);
}
END_TEST

static int decode(const char *in, char *out, size_t cap) {
    fa__buf_t b = FA__BUF_INIT;
    int rc = fa__mcp_header_decode(in, &b);
    if (rc == 0) {
        ck_assert_uint_lt(b.len, cap);
        memcpy(out, b.data ? b.data : "", b.len);
        out[b.len] = '\0';
    }
    fa__buf_free(&b);
    return rc;
}

START_TEST(test_header_decode) {
    char out[64];
    ck_assert_int_eq(decode("=?base64?SGVsbG8=?=", out, sizeof out), 0);
    ck_assert_str_eq(out, "Hello");
    ck_assert_int_eq(decode("  \t=?base64?SGVsbG8=?= ", out, sizeof out), 0);
    ck_assert_str_eq(out, "Hello");
    ck_assert_int_eq(decode("=?base64?SGVsbG8?=", out, sizeof out), FA_EINVAL); /* padding */
    ck_assert_int_eq(decode("=?base64?SGVs!!!bG8=?=", out, sizeof out), FA_EINVAL);
    ck_assert_int_eq(decode("=?base64?SGVsbG9=?=", out, sizeof out), FA_EINVAL); /* pad bits */
    ck_assert_int_eq(decode("=?base64?/w==?=", out, sizeof out), FA_EINVAL); /* 0xff: no UTF-8 */
    ck_assert_int_eq(decode("=?base64?SGVs=G8=?=", out, sizeof out), FA_EINVAL);
    ck_assert_int_eq(decode("=?base64?4pyT?=", out, sizeof out), 0);
    ck_assert_str_eq(out, "\xe2\x9c\x93");
    ck_assert_int_eq(decode("=?base64?"
                            "?=",
                            out, sizeof out),
                     0);
    ck_assert_str_eq(out, "");
    /* A marker missing: literal (SEP-2243). */
    ck_assert_int_eq(decode("=?base64?SGVsbG8=", out, sizeof out), 0);
    ck_assert_str_eq(out, "=?base64?SGVsbG8=");
    ck_assert_int_eq(decode("SGVsbG8=", out, sizeof out), 0);
    ck_assert_str_eq(out, "SGVsbG8=");
    ck_assert_int_eq(decode("=?BASE64?SGVsbG8=?=", out, sizeof out), 0); /* markers are exact */
    ck_assert_str_eq(out, "=?BASE64?SGVsbG8=?=");
}
END_TEST

START_TEST(test_ladder_order) {
    int status;
    json_t *data = NULL;
    /* Missing _meta beats header checks: -32602/400. */
    ck_assert_int_eq(ladder("{\"jsonrpc\":\"2.0\",\"id\":101,\"method\":\"server/discover\","
                            "\"params\":{}}",
                            &std_list, &status, NULL),
                     FA_RPC_INVALID_PARAMS);
    ck_assert_int_eq(status, 400);
    /* Body v999 under header 2026-07-28: mismatch (-32020) beats unsupported (-32022). */
    fa__mcp_headers_t h = {"2026-07-28", "server/discover", NULL, NULL, 0};
    ck_assert_int_eq(ladder("{\"jsonrpc\":\"2.0\",\"id\":302,\"method\":\"server/discover\","
                            "\"params\":{" META("v999.0.0") "}}",
                            &h, &status, NULL),
                     FA_RPC_HEADER_MISMATCH);
    ck_assert_int_eq(status, 400);
    /* Both v999: -32022 with {supported, requested}. */
    h.protocol_version = "v999.0.0";
    ck_assert_int_eq(ladder("{\"jsonrpc\":\"2.0\",\"id\":301,\"method\":\"server/discover\","
                            "\"params\":{" META("v999.0.0") "}}",
                            &h, &status, &data),
                     FA_RPC_UNSUPPORTED_VERSION);
    ck_assert_int_eq(status, 400);
    ck_assert_str_eq(json_string_value(json_object_get(data, "requested")), "v999.0.0");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(data, "supported"), 0)),
                     "2026-07-28");
    json_decref(data);
    /* Passing. */
    ck_assert_int_eq(
        ladder("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" META(
                   "2026-07-28") "}}",
               &std_list, &status, NULL),
        0);
    /* Not JSON-RPC: -32600/400. */
    ck_assert_int_eq(ladder("{\"id\":1,\"method\":\"tools/list\"}", &std_list, &status, NULL),
                     FA_RPC_INVALID_REQUEST);
    ck_assert_int_eq(status, 400);
    /* initialize with a modern header and no claim: -32020 (spec_2026 §1.2 step 4). */
    fa__mcp_headers_t hi = {"2026-07-28", "initialize", NULL, NULL, 0};
    ck_assert_int_eq(ladder("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                            "\"protocolVersion\":\"2026-07-28\"}}",
                            &hi, &status, NULL),
                     FA_RPC_HEADER_MISMATCH);
}
END_TEST

START_TEST(test_ladder_standard_headers) {
    const char *list = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" META(
        "2026-07-28") "}}";
    fa__mcp_headers_t h = {"2026-07-28", "prompts/list", NULL, NULL, 0};
    ck_assert_int_eq(ladder(list, &h, NULL, NULL), FA_RPC_HEADER_MISMATCH); /* wrong method */
    h.method = NULL;
    ck_assert_int_eq(ladder(list, &h, NULL, NULL), FA_RPC_HEADER_MISMATCH); /* missing */
    h.method = "TOOLS/LIST";
    ck_assert_int_eq(ladder(list, &h, NULL, NULL), FA_RPC_HEADER_MISMATCH); /* values: case */
    h.method = " tools/list\t";
    ck_assert_int_eq(ladder(list, &h, NULL, NULL), 0); /* OWS trimmed */
    h.protocol_version = NULL;
    ck_assert_int_eq(ladder(list, &h, NULL, NULL), FA_RPC_HEADER_MISMATCH); /* version missing */
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"echo\",\"arguments\":{}," META("2026-07-28") "}}";
    fa__mcp_headers_t c = {"2026-07-28", "tools/call", NULL, NULL, 0};
    ck_assert_int_eq(ladder(call, &c, NULL, NULL), FA_RPC_HEADER_MISMATCH); /* Mcp-Name missing */
    c.name = "wrong_tool_name";
    ck_assert_int_eq(ladder(call, &c, NULL, NULL), FA_RPC_HEADER_MISMATCH);
    c.name = "  echo  ";
    ck_assert_int_eq(ladder(call, &c, NULL, NULL), 0);
    c.name = "=?base64?ZWNobw==?=";
    ck_assert_int_eq(ladder(call, &c, NULL, NULL), 0);
    c.name = "=?base64?ZWNobw?=";
    ck_assert_int_eq(ladder(call, &c, NULL, NULL), FA_RPC_HEADER_MISMATCH);
    const char *read = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/read\",\"params\":{"
                       "\"uri\":\"test://a\"," META("2026-07-28") "}}";
    fa__mcp_headers_t r = {"2026-07-28", "resources/read", "test://a", NULL, 0};
    ck_assert_int_eq(ladder(read, &r, NULL, NULL), 0);
    r.name = "test://b";
    ck_assert_int_eq(ladder(read, &r, NULL, NULL), FA_RPC_HEADER_MISMATCH);
}
END_TEST

START_TEST(test_ladder_param_headers) {
    const char *body = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"hdr\",\"arguments\":{\"region\":\"Hello\",\"level\":42,"
                       "\"dry\":true,\"other\":\"x\"}," META("2026-07-28") "}}";
    fa__mcp_param_hdr_t p[3] = {
        {"region", "=?base64?SGVsbG8=?="}, {"LEVEL", "42.0"}, {"Dry", "true"}};
    fa__mcp_headers_t h = {"2026-07-28", "tools/call", "hdr", p, 3};
    ck_assert_int_eq(ladder(body, &h, NULL, NULL), 0);
    p[1].value = "43";
    ck_assert_int_eq(ladder(body, &h, NULL, NULL), FA_RPC_HEADER_MISMATCH);
    p[1].value = "42";
    p[2].value = "TRUE";
    ck_assert_int_eq(ladder(body, &h, NULL, NULL), FA_RPC_HEADER_MISMATCH);
    p[2].value = "true";
    p[0].value = "=?base64?SGVsbG8?=";
    int status;
    ck_assert_int_eq(ladder(body, &h, &status, NULL), FA_RPC_HEADER_MISMATCH);
    ck_assert_int_eq(status, 400);
    h.nparams = 2; /* Dry missing while the body has it */
    p[0].value = "Hello";
    ck_assert_int_eq(ladder(body, &h, NULL, NULL), FA_RPC_HEADER_MISMATCH);
    /* Null or absent body values need no header. */
    const char *nulls = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
                        "\"name\":\"hdr\",\"arguments\":{\"region\":null}," META("2026-07-28") "}}";
    fa__mcp_headers_t none = {"2026-07-28", "tools/call", "hdr", NULL, 0};
    ck_assert_int_eq(ladder(nulls, &none, NULL, NULL), 0);
}
END_TEST

static int era(const char *body, const char *hdr) {
    json_t *parsed;
    int e = fa__mcp_http_era(body, strlen(body), hdr, 64, &parsed);
    json_decref(parsed);
    return e;
}

START_TEST(test_http_era) {
    ck_assert_int_eq(
        era("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}", NULL),
        FA__ERA_LEGACY);
    ck_assert_int_eq(era("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", "2025-11-25"),
                     FA__ERA_LEGACY);
    ck_assert_int_eq(
        era("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" META(
                "2026-07-28") "}}]",
            "2026-07-28"),
        FA__ERA_LEGACY);
    ck_assert_int_eq(era("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", "2026-07-28"),
                     FA__ERA_LEGACY);
    ck_assert_int_eq(
        era("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{" META(
                "2026-07-28") "}}",
            NULL),
        FA__ERA_MODERN);
    ck_assert_int_eq(
        era("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{" META(
                "2026-07-28") "}}",
            NULL),
        FA__ERA_MODERN);
    ck_assert_int_eq(
        era("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{}}", "2026-07-28"),
        FA__ERA_MODERN);
    ck_assert_int_eq(
        era("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{}}", "v999"),
        FA__ERA_MODERN);
    /* The claim spelled with an escape is still a claim. */
    ck_assert_int_eq(era("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"params\":{"
                         "\"_meta\":{\"io.modelcontextprotocol\\/protocolVersion\":\"2026-07-28\","
                         "\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
                         NULL),
                     FA__ERA_MODERN);
    /* The key text inside an argument value is not a claim. */
    ck_assert_int_eq(era("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{"
                         "\"name\":\"echo\",\"arguments\":{\"text\":"
                         "\"io.modelcontextprotocol/protocolVersion\"}}}",
                         NULL),
                     FA__ERA_LEGACY);
    ck_assert_int_eq(era("{not json", NULL), FA__ERA_LEGACY);
    ck_assert_int_eq(era("{not json", "2026-07-28"), FA__ERA_MODERN);
    ck_assert_int_eq(fa__mcp_status_for_code(FA_RPC_METHOD_NOT_FOUND), 404);
    ck_assert_int_eq(fa__mcp_status_for_code(FA_RPC_MISSING_CAPABILITY), 400);
    ck_assert_int_eq(fa__mcp_status_for_code(FA_RPC_INVALID_PARAMS), 200);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mcp/modern_ladder");
    TCase *tc = tcase_create("ladder");
    tcase_add_test(tc, test_envelope);
    tcase_add_test(tc, test_header_decode);
    tcase_add_test(tc, test_ladder_order);
    tcase_add_test(tc, test_ladder_standard_headers);
    tcase_add_test(tc, test_ladder_param_headers);
    tcase_add_test(tc, test_http_era);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
