/* fuzz/fuzz_jsonrpc.c: the JSON-RPC envelope (mcp/jsonrpc.h) and our JSON writer (core/json.h).
 *
 * The input is one stdio message. What the harness checks, on every input:
 *   - fa__rpc_parse (our parser, core/json_parse.c) accepts exactly what json_loadb accepts
 *     (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL) and builds an equal value;
 *     otherwise NULL with a "line L column C: ..." reason. The one exception (jsonrpc.h): a
 *     message jansson refuses only for an out-of-range number comes back with FA_ERANGE,
 *     marked so that classify answers it by id with -32602; every such message has an object
 *     classify reports that way, and no other message does;
 *   - nesting limits: for every limit L the parse succeeds iff the value's depth is <= L, and
 *     fails with FA_ELIMIT otherwise;
 *   - fa__rpc_classify, on the message and on each element of a batch: the kind equals an
 *     independent classification written from the header's rules, and the borrowed fields point
 *     at the message's own members;
 *   - replies: the id, an error reply (with the message as "data"), a result reply, the same
 *     result spliced raw, and a notification are written for every kind; each must parse back
 *     with jansson to exactly the fields given, contain no raw '\n', and leave the buffer as it
 *     was when a limit stops it;
 *   - fa__json_write round trip: the text parses back to an equal value (same types; reals
 *     compared with ==), writing that again gives the same bytes, and values nested deeper than
 *     FA_JSON_WRITE_MAX_DEPTH give FA_ELIMIT;
 *   - fa__json_write_real on the first 8 input bytes taken as a double (NaN, infinities,
 *     subnormals, -0.0 included): reads back as exactly that double, or "null" when not finite.
 */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "core/json.h"
#include "core/json_parse.h"
#include "fasterapi/error.h"
#include "fuzz_common.h"
#include "mcp/jsonrpc.h"

#define PREFIX "prefix,"
#define PREFIX_LEN (sizeof PREFIX - 1)
#define MAX_BATCH_CHECKS 64 /* batch elements classified per input (keeps each run fast) */

static json_t *load(const char *s, size_t n) {
    json_error_t err;
    return json_loadb(s, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
}

/* Containers nested around the deepest value: 0 for a scalar, 1 for [] or [1]. */
static int depth_of(const json_t *v) {
    int deepest = 0;
    if (json_is_object(v)) {
        const char *key;
        json_t *val;
        json_object_foreach ((json_t *)(uintptr_t)v, key, val) {
            int d = depth_of(val);
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            int d = depth_of(json_array_get(v, i));
            deepest = d > deepest ? d : deepest;
        }
        return deepest + 1;
    }
    return 0;
}

/* json_equal, but strict about integer vs real and with reals compared by value (==). */
static int same_value(const json_t *a, const json_t *b) {
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        const char *key;
        json_t *val;
        json_object_foreach ((json_t *)(uintptr_t)a, key, val) {
            const json_t *other = json_object_get(b, key);
            if (!other || !same_value(val, other))
                return 0;
        }
        return 1;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_value(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_INTEGER:
        return json_integer_value(a) == json_integer_value(b);
    case JSON_REAL:
        return json_real_value(a) == json_real_value(b);
    default:
        return 1; /* true, false, null */
    }
}

static int has_newline(const fa__buf_t *b, size_t from) {
    return b->len > from && memchr(b->data + from, '\n', b->len - from) != NULL;
}

static int valid_id(const json_t *id) {
    return json_is_string(id) || json_is_integer(id);
}

static int is_v2(const json_t *version) {
    return json_is_string(version) && strcmp(json_string_value(version), "2.0") == 0;
}

/* Writes v, checks the round trip, and returns the depth verdict: 0 written, FA_ELIMIT. */
static int check_write(const json_t *v) {
    int depth = depth_of(v);
    fa__buf_t b = FA__BUF_INIT;
    int rc = fa__json_write(&b, v);
    /* Depth 0 is the root; a value at depth > FA_JSON_WRITE_MAX_DEPTH is refused. With d
     * containers the deepest value sits at d - 1 (an empty innermost container) or at d. */
    if (depth <= FA_JSON_WRITE_MAX_DEPTH)
        FUZZ_CHECK(rc == 0);
    else if (depth > FA_JSON_WRITE_MAX_DEPTH + 1)
        FUZZ_CHECK(rc == FA_ELIMIT);
    else
        FUZZ_CHECK(rc == 0 || rc == FA_ELIMIT);
    if (rc == 0) {
        FUZZ_CHECK(!has_newline(&b, 0));
        int reparsed_depth = -1;
        fa__json_error_t perr;
        json_t *reparsed = fa__json_parse(b.data, b.len, 4096, &reparsed_depth, &perr);
        FUZZ_CHECK(reparsed != NULL && reparsed_depth == depth);
        json_decref(reparsed);
        json_t *back = load(b.data, b.len);
        FUZZ_CHECK(back != NULL);
        FUZZ_CHECK(same_value(v, back));
        /* Key order and the real format are deterministic: a second pass is byte-identical. */
        fa__buf_t again = FA__BUF_INIT;
        FUZZ_CHECK(fa__json_write(&again, back) == 0);
        FUZZ_CHECK(again.len == b.len && memcmp(again.data, b.data, b.len) == 0);
        size_t dlen = 0;
        char *dumped = fa__json_dumps(v, &dlen);
        FUZZ_CHECK(dumped && dlen == b.len && memcmp(dumped, b.data, b.len) == 0);
        FUZZ_CHECK(dumped[dlen] == '\0');
        free(dumped);
        fa__buf_free(&again);
        json_decref(back);
    } else {
        FUZZ_CHECK(fa__json_dumps(v, NULL) == NULL);
    }
    fa__buf_free(&b);
    return rc;
}

static void check_real(const uint8_t *data, size_t size) {
    if (size < sizeof(double))
        return;
    double d;
    memcpy(&d, data, sizeof d);
    fa__buf_t b = FA__BUF_INIT;
    FUZZ_CHECK(fa__json_write_real(&b, d) == 0);
    if (!isfinite(d)) {
        FUZZ_CHECK(b.len == 4 && memcmp(b.data, "null", 4) == 0);
    } else {
        json_t *back = load(b.data, b.len);
        FUZZ_CHECK(json_is_real(back)); /* "1.0", never "1": the type survives */
        FUZZ_CHECK(json_real_value(back) == d);
        FUZZ_CHECK(!signbit(json_real_value(back)) == !signbit(d));
        json_decref(back);
    }
    fa__buf_free(&b);
}

/* Parses one reply written after PREFIX and checks the envelope; returns it (caller owns). */
static json_t *parse_reply(const fa__buf_t *b, const json_t *id) {
    FUZZ_CHECK(b->len > PREFIX_LEN && memcmp(b->data, PREFIX, PREFIX_LEN) == 0);
    FUZZ_CHECK(!has_newline(b, 0));
    json_t *r = load(b->data + PREFIX_LEN, b->len - PREFIX_LEN);
    FUZZ_CHECK(json_is_object(r));
    FUZZ_CHECK(is_v2(json_object_get(r, "jsonrpc")));
    if (id) {
        json_t *rid = json_object_get(r, "id");
        FUZZ_CHECK(rid && same_value(rid, id));
    }
    return r;
}

static void check_replies(const json_t *msg, const fa__rpc_msg_t *m, int code) {
    /* The id as JSON text, the way the engine keeps it for the reply. */
    fa__buf_t idb = FA__BUF_INIT;
    FUZZ_CHECK(fa__rpc_write_id(&idb, m->id) == 0);
    json_t *id = load(idb.data, idb.len);
    FUZZ_CHECK(id && (m->id ? same_value(id, m->id) : json_is_null(id)));

    /* Error reply, with the whole message as data (the engine never does that, but data is any
     * JSON value) and the method or the reason as message (arbitrary UTF-8 to escape). */
    const char *message = m->method ? m->method : m->why ? m->why : "";
    fa__buf_t b = FA__BUF_INIT;
    FUZZ_CHECK(fa__buf_append(&b, PREFIX, PREFIX_LEN) == 0);
    int rc = fa__rpc_write_error(&b, idb.data, idb.len, code, message, msg);
    if (rc == 0) {
        json_t *r = parse_reply(&b, id);
        FUZZ_CHECK(json_object_size(r) == 3);
        json_t *err = json_object_get(r, "error");
        FUZZ_CHECK(json_is_object(err) && json_object_size(err) == 3);
        FUZZ_CHECK(json_integer_value(json_object_get(err, "code")) == code);
        FUZZ_CHECK(json_is_string(json_object_get(err, "message")));
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(err, "message")), message) == 0);
        FUZZ_CHECK(same_value(json_object_get(err, "data"), msg));
        json_decref(r);
    } else {
        FUZZ_CHECK(rc == FA_ELIMIT && depth_of(msg) > FA_JSON_WRITE_MAX_DEPTH);
        FUZZ_CHECK(b.len == PREFIX_LEN);
    }
    b.len = PREFIX_LEN;
    FUZZ_CHECK(fa__rpc_write_error(&b, idb.data, idb.len, code, message, NULL) == 0);
    json_t *r = parse_reply(&b, id);
    FUZZ_CHECK(!json_object_get(json_object_get(r, "error"), "data"));
    json_decref(r);

    /* Result reply with the params (or the whole message), then the same result spliced raw. */
    const json_t *result = m->params ? m->params : msg;
    b.len = PREFIX_LEN;
    rc = fa__rpc_write_result(&b, idb.data, idb.len, result);
    if (rc == 0) {
        r = parse_reply(&b, id);
        FUZZ_CHECK(json_object_size(r) == 3);
        FUZZ_CHECK(same_value(json_object_get(r, "result"), result));
        json_decref(r);
        size_t raw_len = 0;
        char *raw = fa__json_dumps(result, &raw_len);
        FUZZ_CHECK(raw != NULL);
        fa__buf_t b2 = FA__BUF_INIT;
        FUZZ_CHECK(fa__buf_append(&b2, PREFIX, PREFIX_LEN) == 0);
        FUZZ_CHECK(fa__rpc_write_result_raw(&b2, idb.data, idb.len, raw, raw_len) == 0);
        FUZZ_CHECK(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0);
        fa__buf_free(&b2);
        free(raw);
    } else {
        FUZZ_CHECK(rc == FA_ELIMIT && depth_of(result) > FA_JSON_WRITE_MAX_DEPTH);
        FUZZ_CHECK(b.len == PREFIX_LEN);
    }

    /* A notification with the same method and params (what the server sends to clients). */
    if (m->method) {
        b.len = PREFIX_LEN;
        rc = fa__rpc_write_notification(&b, m->method, m->params);
        if (rc == 0) {
            r = parse_reply(&b, NULL);
            FUZZ_CHECK(!json_object_get(r, "id"));
            FUZZ_CHECK(json_object_size(r) == (m->params ? 3u : 2u));
            FUZZ_CHECK(strcmp(json_string_value(json_object_get(r, "method")), m->method) == 0);
            if (m->params)
                FUZZ_CHECK(same_value(json_object_get(r, "params"), m->params));
            json_decref(r);
        } else {
            FUZZ_CHECK(rc == FA_ELIMIT && depth_of(m->params) > FA_JSON_WRITE_MAX_DEPTH);
            FUZZ_CHECK(b.len == PREFIX_LEN);
        }
    }
    json_decref(id);
    fa__buf_free(&idb);
    fa__buf_free(&b);
}

/* The classification rules of mcp/jsonrpc.h, written again independently. */
static fa__rpc_kind_t expected_kind(const json_t *msg) {
    if (!json_is_object(msg))
        return FA_RPC_INVALID;
    const json_t *id = json_object_get(msg, "id"), *method = json_object_get(msg, "method");
    const json_t *result = json_object_get(msg, "result"), *error = json_object_get(msg, "error");
    const json_t *params = json_object_get(msg, "params");
    int v2 = is_v2(json_object_get(msg, "jsonrpc"));
    if (!method && (result || error)) {
        int error_ok =
            !error || (json_is_object(error) && json_is_integer(json_object_get(error, "code")) &&
                       json_is_string(json_object_get(error, "message")));
        int id_ok = valid_id(id) || (error && json_is_null(id));
        return v2 && !(result && error) && id_ok && error_ok ? FA_RPC_RESPONSE
                                                             : FA_RPC_INVALID_RESPONSE;
    }
    if ((id && !valid_id(id)) || !v2 || !json_is_string(method) || result || error ||
        (params && !json_is_object(params) && !json_is_array(params)))
        return FA_RPC_INVALID;
    return id ? FA_RPC_REQUEST : FA_RPC_NOTIFICATION;
}

/* Objects classify reported with -32602 (an out-of-range number), in this input. */
static int range_reports;
/* This input came back marked (FA_ERANGE): the mark is a "jsonrpc" string starting with the
 * byte 0xFF, which no parsed message holds; the engine only classifies such a message and
 * answers with its id and the reason, so the writer checks (which reparse what they write) are
 * left to the inputs that parse cleanly. */
static int range_marked;

static void check_message(json_t *msg, int code) {
    fa__rpc_msg_t m;
    fa__rpc_classify(msg, &m);
    FUZZ_CHECK(m.kind == expected_kind(msg));
    FUZZ_CHECK(m.code == 0 || (m.code == FA_RPC_INVALID_PARAMS &&
                               (m.kind == FA_RPC_INVALID || m.kind == FA_RPC_INVALID_RESPONSE)));
    range_reports += m.code != 0;
    if (range_marked)
        return; /* holds the classify mark (invalid UTF-8): never written back, see below */
    const json_t *id = json_object_get(msg, "id"), *method = json_object_get(msg, "method");
    const json_t *params = json_object_get(msg, "params");
    switch (m.kind) {
    case FA_RPC_REQUEST:
    case FA_RPC_NOTIFICATION:
        FUZZ_CHECK(m.why == NULL && m.result == NULL && m.error == NULL);
        FUZZ_CHECK(m.id == id && (m.kind == FA_RPC_REQUEST) == (id != NULL));
        FUZZ_CHECK(m.method && m.method == json_string_value(method));
        FUZZ_CHECK(m.params == params);
        break;
    case FA_RPC_RESPONSE:
        FUZZ_CHECK(m.why == NULL && m.method == NULL && m.params == NULL);
        FUZZ_CHECK(m.result == json_object_get(msg, "result"));
        FUZZ_CHECK(m.error == json_object_get(msg, "error"));
        FUZZ_CHECK((m.result == NULL) != (m.error == NULL));
        FUZZ_CHECK(valid_id(id) ? m.id == id : (m.id == NULL && json_is_null(id)));
        break;
    case FA_RPC_INVALID:
    case FA_RPC_INVALID_RESPONSE:
        FUZZ_CHECK(m.why != NULL && m.why[0] != '\0');
        FUZZ_CHECK(m.method == NULL && m.params == NULL);
        /* An id is kept only when it is one the invalid-request reply may echo. */
        FUZZ_CHECK(m.id == NULL || (m.id == id && valid_id(id)));
        break;
    default:
        FUZZ_FAIL("unknown kind");
    }
    check_replies(msg, &m, code);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    check_real(data, size);

    char why[200];
    memset(why, 0x55, sizeof why);
    int pcode = 0;
    json_t *msg = fa__rpc_parse(text, size, FA_RPC_PARSE_DEPTH_CAP, &pcode, why, sizeof why);
    /* Differential: the same verdict and an equal value as jansson's loader. A raw NUL byte is
     * never valid JSON; jansson sometimes skips it (it accepts "[1\0]"), so we only require
     * that we refuse it. */
    json_t *ref = memchr(text, '\0', size) ? NULL : load(text, size);
    FUZZ_CHECK((msg == NULL) == (ref == NULL) || (msg && !ref && pcode == FA_ERANGE));
    FUZZ_CHECK(msg == NULL || pcode == 0 || pcode == FA_ERANGE);
    if (ref)
        FUZZ_CHECK(same_value(msg, ref));
    json_decref(ref);
    if (!msg) {
        FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL);
        FUZZ_CHECK(strncmp(why, "line ", 5) == 0);
        FUZZ_CHECK(pcode == FA_EJSON || pcode == FA_ELIMIT);
        return 0;
    }
    range_marked = pcode == FA_ERANGE;
    int depth = depth_of(msg);
    static const int limits[] = {0, 1, 2, 3, 16, 64, 1000};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        int lcode = 0;
        json_t *lim = fa__rpc_parse(text, size, limits[i], &lcode, why, sizeof why);
        FUZZ_CHECK((lim != NULL) == (depth <= limits[i]));
        if (!lim)
            FUZZ_CHECK(lcode == FA_ELIMIT);
        json_decref(lim);
    }
    if (!range_marked)
        check_write(msg);

    /* Any int is a valid code on the wire; derive one from the input for variety. */
    int code = (int)(int32_t)((uint32_t)size * 2654435761u);
    range_reports = 0;
    check_message(msg, code);
    if (json_is_array(msg))
        for (size_t i = 0; i < json_array_size(msg) && i < MAX_BATCH_CHECKS; i++)
            check_message(json_array_get(msg, i), code);
    if (pcode == FA_ERANGE && (!json_is_array(msg) || json_array_size(msg) <= MAX_BATCH_CHECKS))
        FUZZ_CHECK(range_reports == 1);
    else if (pcode != FA_ERANGE)
        FUZZ_CHECK(range_reports == 0);
    json_decref(msg);
    return 0;
}
