/* fuzz/fuzz_schema.c: the tool-argument validator (mcp/schema.h).
 *
 * Input layout: a schema, one NUL byte, an instance (two JSON texts; JSON never contains a raw
 * NUL, so the separator is unambiguous). Without a NUL the whole input is the schema and it is
 * validated against {} (a call without arguments) and against itself.
 *
 * The runtime only validates schemas that fa__schema_check accepted at registration, so the
 * harness does the same. Checked on every input: no crash, leak, UB or runaway time (recursion
 * is bounded by FA_SCHEMA_MAX_DEPTH, $ref cycles included); fa__schema_check returns 0 or
 * FA_ESCHEMA with a reason; fa__schema_validate returns 0 with no message or FA_ESCHEMA with a
 * non-empty one, and answers the same way twice (it keeps no state between calls).
 */
#include <string.h>

#include <jansson.h>

#include "fasterapi/error.h"
#include "fuzz_common.h"
#include "mcp/schema.h"

static json_t *load(const char *s, size_t n) {
    json_error_t err;
    return json_loadb(s, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
}

static void validate_twice(const json_t *schema, const json_t *instance) {
    fa__buf_t err = FA__BUF_INIT, again = FA__BUF_INIT;
    int rc = fa__schema_validate(schema, instance, &err);
    FUZZ_CHECK(rc == 0 || rc == FA_ESCHEMA);
    FUZZ_CHECK(rc == 0 ? err.len == 0 : err.len > 0);
    FUZZ_CHECK(memchr(err.data ? err.data : "", '\0', err.len) == NULL);
    FUZZ_CHECK(fa__schema_validate(schema, instance, &again) == rc);
    FUZZ_CHECK(again.len == err.len &&
               (err.len == 0 || memcmp(again.data, err.data, err.len) == 0));
    fa__buf_free(&err);
    fa__buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    const char *sep = size ? memchr(text, '\0', size) : NULL;
    size_t schema_len = sep ? (size_t)(sep - text) : size;

    json_t *schema = load(text, schema_len);
    if (!schema)
        return 0;
    char why[256];
    memset(why, 0x55, sizeof why);
    int rc = fa__schema_check(schema, why, sizeof why);
    FUZZ_CHECK(rc == 0 || rc == FA_ESCHEMA);
    if (rc != 0) {
        FUZZ_CHECK(memchr(why, '\0', sizeof why) != NULL && why[0] != '\0');
        json_decref(schema);
        return 0;
    }
    if (sep) {
        json_t *instance = load(sep + 1, size - schema_len - 1);
        if (instance) {
            validate_twice(schema, instance);
            json_decref(instance);
        }
    } else {
        json_t *empty = json_object();
        FUZZ_CHECK(empty != NULL);
        validate_twice(schema, empty);
        validate_twice(schema, schema);
        json_decref(empty);
    }
    json_decref(schema);
    return 0;
}
