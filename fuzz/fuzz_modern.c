/* fuzz/fuzz_modern.c: the pure 2026-07-28 input handling (mcp/modern.h, mcp/mrtr_state.h):
 * the HTTP era rule, the header validation ladder, SEP-2243 header decoding and requestState
 * verification, all of which read attacker-controlled bytes.
 *
 * Input: four header lines, then the body:
 *   <MCP-Protocol-Version>\n<Mcp-Method>\n<Mcp-Name>\n<Name>:<Mcp-Param value>\n<body...>
 * a line that is exactly "-" stands for an absent header. What the harness checks:
 *   - fa__mcp_http_era returns one of the two eras; the parsed message it hands back (if any)
 *     is the parse of the body;
 *   - fa__mcp_ladder on the parsed body: 0 with no data, or a code among the ones the ladder
 *     may give (-32600, -32602, -32020, -32022, -32603) with the HTTP status that goes with it
 *     (400, or 500 for out of memory), and data only with -32022 ({supported, requested});
 *   - fa__mcp_header_decode on every header: 0 or FA_EINVAL, and the buffer is untouched on
 *     FA_EINVAL; a successful decode is valid UTF-8 when the (trimmed) value is a base64
 *     sentinel;
 *   - fa__state_open on the body as a requestState: never accepts (no input can carry a valid
 *     MAC under a key the input does not know), and gives no payload when it refuses; a state
 *     sealed from the body's JSON (when it is an object) opens to an equal payload.
 */
#include <string.h>

#include <jansson.h>

#include "core/utf8.h"
#include "fasterapi/error.h"
#include "fuzz_common.h"
#include "mcp/jsonrpc.h"
#include "mcp/modern.h"
#include "mcp/mrtr_state.h"

static const json_t *schema_of(void *arg, const char *name) {
    (void)name;
    return arg;
}

/* Takes one line (up to '\n') from [*p, end) as a NUL-terminated string in out. */
static const char *line(const char **p, const char *end, char *out, size_t cap) {
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p = nl ? nl + 1 : end;
    return strcmp(out, "-") == 0 || memchr(out, '\0', n) ? NULL : out;
}

static void check_decode(const char *v) {
    if (!v)
        return;
    fa__buf_t b = FA__BUF_INIT;
    FUZZ_CHECK(fa__buf_append(&b, "x", 1) == 0);
    int rc = fa__mcp_header_decode(v, &b);
    FUZZ_CHECK(rc == 0 || rc == FA_EINVAL);
    if (rc == FA_EINVAL)
        FUZZ_CHECK(b.len == 1);
    /* The sentinel is the whole value once SP/HTAB are trimmed; then the result is UTF-8. */
    size_t n = strlen(v);
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (rc == 0 && n >= 11 && memcmp(v, "=?base64?", 9) == 0 && memcmp(v + n - 2, "?=", 2) == 0)
        FUZZ_CHECK(fa__utf8_valid(b.data + 1, b.len - 1));
    fa__buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = (const char *)data, *end = p + size;
    char v[256], m[256], n[256], pr[256];
    fa__mcp_headers_t h = {line(&p, end, v, sizeof v), line(&p, end, m, sizeof m),
                           line(&p, end, n, sizeof n), NULL, 0};
    const char *param = line(&p, end, pr, sizeof pr);
    fa__mcp_param_hdr_t ph;
    char *colon = param ? strchr(pr, ':') : NULL;
    if (colon) {
        *colon = '\0';
        ph = (fa__mcp_param_hdr_t){pr, colon + 1};
        h.params = &ph;
        h.nparams = 1;
    }
    size_t blen = (size_t)(end - p);

    json_t *parsed;
    int era = fa__mcp_http_era(p, blen, h.protocol_version, 64, &parsed);
    FUZZ_CHECK(era == FA__ERA_LEGACY || era == FA__ERA_MODERN);
    int code;
    char why[128];
    json_t *msg = parsed ? parsed : fa__rpc_parse(p, blen, 64, &code, why, sizeof why);
    if (msg && json_is_object(msg)) {
        json_t *schema = json_pack("{s:s, s:{s:{s:s, s:s}}}", "type", "object", "properties", "a",
                                   "type", "string", "x-mcp-header", colon ? pr : "A");
        fa__ladder_t lv;
        int rc = fa__mcp_ladder(msg, &h, schema_of, schema, &lv);
        FUZZ_CHECK(rc == lv.code);
        if (rc == 0) {
            FUZZ_CHECK(lv.data == NULL);
        } else {
            FUZZ_CHECK(rc == FA_RPC_INVALID_REQUEST || rc == FA_RPC_INVALID_PARAMS ||
                       rc == FA_RPC_HEADER_MISMATCH || rc == FA_RPC_UNSUPPORTED_VERSION ||
                       rc == FA_RPC_INTERNAL_ERROR);
            FUZZ_CHECK(lv.status == (rc == FA_RPC_INTERNAL_ERROR ? 500 : 400));
            FUZZ_CHECK(!lv.data || rc == FA_RPC_UNSUPPORTED_VERSION);
            if (rc == FA_RPC_UNSUPPORTED_VERSION)
                FUZZ_CHECK(json_is_array(json_object_get(lv.data, "supported")) &&
                           json_is_string(json_object_get(lv.data, "requested")));
        }
        json_decref(lv.data);
        json_decref(schema);
    }

    check_decode(h.protocol_version);
    check_decode(h.method);
    check_decode(h.name);
    if (colon)
        check_decode(ph.value);

    static fa__state_key_t key = {{1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                   17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32},
                                  1};
    json_t *payload;
    const char *reason;
    int rc = fa__state_open(&key, p, blen, "tools/call", "t", "d", 0, &payload, &reason);
    FUZZ_CHECK(rc == FA_EINVAL && payload == NULL);
    if (json_is_object(msg)) {
        /* What we seal, we open (when it binds what the retry names). */
        json_t *bound = json_deep_copy(msg);
        json_object_set_new(bound, "v", json_integer(1));
        json_object_set_new(bound, "m", json_string("tools/call"));
        json_object_set_new(bound, "n", json_string("t"));
        json_object_set_new(bound, "d", json_string("d"));
        json_object_set_new(bound, "e", json_integer(10));
        char *st;
        size_t len;
        if (fa__state_seal(&key, bound, &st, &len) == 0) {
            FUZZ_CHECK(
                fa__state_open(&key, st, len, "tools/call", "t", "d", 5, &payload, &reason) == 0);
            FUZZ_CHECK(json_equal(payload, bound));
            json_decref(payload);
            free(st);
        }
        json_decref(bound);
    }
    json_decref(msg);
    return 0;
}
