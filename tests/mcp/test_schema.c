/* Tests for src/mcp/schema.c: registration checks and argument validation messages. */
#include <stdlib.h>
#include <string.h>

#include "fa_test.h"
#include "fasterapi/error.h"
#include "mcp/schema.h"

static json_t *J(const char *text) {
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
    ck_assert_msg(v != NULL, "bad test JSON %s: %s", text, err.text);
    return v;
}

/* Validates and returns the message ("" when valid). Static buffer: one use at a time. */
static const char *check(const char *schema, const char *instance) {
    static char msg[1024];
    json_t *s = J(schema), *i = J(instance);
    fa__buf_t err = FA__BUF_INIT;
    int rc = fa__schema_validate(s, i, &err);
    ck_assert(rc == 0 || rc == FA_ESCHEMA);
    ck_assert_int_eq(rc == 0, err.len == 0);
    snprintf(msg, sizeof msg, "%.*s", (int)err.len, err.data ? err.data : "");
    fa__buf_free(&err);
    json_decref(s);
    json_decref(i);
    return msg;
}

#define VALID(s, i) ck_assert_str_eq(check(s, i), "")
#define INVALID(s, i, m) ck_assert_str_eq(check(s, i), m)

START_TEST(test_types) {
    const char *s = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},"
                    "\"x\":{\"type\":\"number\"},\"s\":{\"type\":\"string\"},"
                    "\"b\":{\"type\":\"boolean\"},\"z\":{\"type\":\"null\"},"
                    "\"a\":{\"type\":\"array\"},\"o\":{\"type\":\"object\"},"
                    "\"u\":{\"type\":[\"string\",\"null\"]}}}";
    VALID(s, "{\"n\":1,\"x\":1.5,\"s\":\"\",\"b\":false,\"z\":null,\"a\":[],\"o\":{},\"u\":null}");
    VALID(s, "{\"n\":2.0}"); /* 2020-12: an integer is any number with no fraction */
    VALID(s, "{\"x\":3}");
    INVALID(s, "{\"n\":1.5}", "/n: expected integer, got number");
    INVALID(s, "{\"n\":\"1\"}", "/n: expected integer, got string");
    INVALID(s, "{\"b\":0}", "/b: expected boolean, got integer");
    INVALID(s, "{\"u\":1}", "/u: expected one of the listed types, got integer");
    INVALID(s, "[]", "expected object, got array");
}
END_TEST

START_TEST(test_required_and_additional) {
    const char *s = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},"
                    "\"required\":[\"text\"],\"additionalProperties\":false}";
    VALID(s, "{\"text\":\"hi\"}");
    INVALID(s, "{}", "missing required property 'text'");
    INVALID(s, "{\"text\":\"a\",\"extra\":1}", "unexpected property 'extra'");
    const char *t = "{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}";
    VALID(t, "{\"a\":1,\"b\":2}");
    INVALID(t, "{\"a\":1,\"b\":\"x\"}", "/b: expected integer, got string");
}
END_TEST

START_TEST(test_numbers_strings_arrays) {
    VALID("{\"minimum\":1,\"maximum\":3}", "2");
    INVALID("{\"minimum\":1}", "0", "0 is less than the minimum 1");
    INVALID("{\"maximum\":1}", "1.5", "1.5 is greater than the maximum 1");
    INVALID("{\"exclusiveMinimum\":1}", "1", "1 must be greater than 1");
    INVALID("{\"exclusiveMaximum\":1}", "1", "1 must be less than 1");
    VALID("{\"multipleOf\":0.1}", "0.3");
    INVALID("{\"multipleOf\":2}", "3", "3 is not a multiple of 2");
    /* Lengths count code points, not bytes: "é" is 2 bytes, 1 character. */
    VALID("{\"maxLength\":1}", "\"\xc3\xa9\"");
    INVALID("{\"minLength\":2}", "\"\xc3\xa9\"", "expected at least 2 characters, got 1");
    INVALID("{\"maxLength\":1}", "\"ab\"", "expected at most 1 characters, got 2");
    VALID("{\"items\":{\"type\":\"string\"},\"minItems\":1}", "[\"a\"]");
    INVALID("{\"items\":{\"type\":\"string\"}}", "[\"a\",2]", "/1: expected string, got integer");
    INVALID("{\"minItems\":1}", "[]", "expected at least 1 items, got 0");
    INVALID("{\"maxItems\":1}", "[1,2]", "expected at most 1 items, got 2");
    INVALID("{\"uniqueItems\":true}", "[1,2,1.0]", "items 0 and 2 are equal but must be unique");
    VALID("{\"prefixItems\":[{\"type\":\"integer\"},{\"type\":\"string\"}],\"items\":false}",
          "[1,\"a\"]");
    INVALID("{\"prefixItems\":[{\"type\":\"integer\"}],\"items\":false}", "[1,2]",
            "expected at most 1 items");
}
END_TEST

START_TEST(test_enum_const_composition) {
    VALID("{\"enum\":[\"red\",\"green\"]}", "\"red\"");
    INVALID("{\"enum\":[\"red\",\"green\"]}", "\"blue\"",
            "value is not one of the allowed values (\"red\", \"green\")");
    VALID("{\"const\":1}", "1.0");
    INVALID("{\"const\":1}", "2", "value must be the constant given in the schema");
    const char *opt = "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}";
    VALID(opt, "null");
    VALID(opt, "\"x\"");
    INVALID(opt, "3", "value matches none of the allowed forms (anyOf)");
    const char *one = "{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}";
    VALID(one, "1.5");
    INVALID(one, "1", "value must match exactly one allowed form (oneOf), matched 2");
    VALID("{\"allOf\":[{\"minimum\":1},{\"maximum\":2}]}", "1");
    INVALID("{\"allOf\":[{\"minimum\":1},{\"maximum\":2}]}", "3",
            "3 is greater than the maximum 2");
    INVALID("{\"not\":{\"type\":\"string\"}}", "\"s\"",
            "value matches a form the schema excludes (not)");
    VALID("true", "{}");
    INVALID("{\"properties\":{\"a\":false}}", "{\"a\":1}", "/a: no value is allowed here");
}
END_TEST

START_TEST(test_refs_and_defs) {
    const char *s = "{\"type\":\"object\",\"properties\":{\"p\":{\"$ref\":\"#/$defs/Point\"},"
                    "\"l\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/N\"}}},"
                    "\"$defs\":{\"Point\":{\"type\":\"object\",\"required\":[\"x\"],"
                    "\"properties\":{\"x\":{\"type\":\"number\"}}}},"
                    "\"definitions\":{\"N\":{\"type\":\"integer\"}}}";
    VALID(s, "{\"p\":{\"x\":1},\"l\":[1,2]}");
    INVALID(s, "{\"p\":{}}", "/p: missing required property 'x'");
    INVALID(s, "{\"l\":[1,\"2\"]}", "/l/1: expected integer, got string");
    /* A self-referencing schema terminates on finite input. */
    const char *tree = "{\"type\":\"object\",\"properties\":{\"kids\":{\"type\":\"array\","
                       "\"items\":{\"$ref\":\"#\"}}}}";
    VALID(tree, "{\"kids\":[{\"kids\":[{}]}]}");
    /* A $ref cycle with no instance progress is cut off, not an infinite loop. */
    INVALID("{\"$ref\":\"#\"}", "1", "schema nesting is too deep");
}
END_TEST

START_TEST(test_work_is_bounded) {
    /* Regression (found by fuzzing): anyOf over $refs is exponential in the instance depth; a
     * 40-deep argument must fail fast with a clear message rather than run for years. */
    const char *s = "{\"type\":\"object\",\"$ref\":\"#/$defs/N\",\"$defs\":{\"N\":{\"type\":"
                    "\"object\",\"properties\":{\"c\":{\"anyOf\":[{\"$ref\":\"#/$defs/N\"},"
                    "{\"$ref\":\"#/$defs/N\"},{\"type\":\"integer\"}]}}}}}";
    char inst[1024] = "";
    for (int i = 0; i < 40; i++)
        strcat(inst, "{\"c\":");
    strcat(inst, "\"x\"");
    for (int i = 0; i < 40; i++)
        strcat(inst, "}");
    ck_assert_str_eq(check(s, inst), "the arguments are too complex to check against this schema "
                                     "(more than 1000000 validation steps)");
    /* anyOf stops at the first match, so the matching case stays cheap at any depth. */
    inst[0] = '\0';
    for (int i = 0; i < 40; i++)
        strcat(inst, "{\"c\":");
    strcat(inst, "1");
    for (int i = 0; i < 40; i++)
        strcat(inst, "}");
    VALID(s, inst);
    /* uniqueItems is O(n log n): 20000 distinct items validate quickly, a duplicate is found. */
    fa__buf_t big = FA__BUF_INIT;
    fa__buf_putc(&big, '[');
    for (int i = 0; i < 20000; i++)
        fa__buf_appendf(&big, "%s%d", i ? "," : "", i);
    fa__buf_append_str(&big, ",7.0]");
    fa__buf_putc(&big, '\0');
    ck_assert_str_eq(check("{\"uniqueItems\":true}", big.data),
                     "items 7 and 20000 are equal but must be unique");
    fa__buf_free(&big);
}
END_TEST

static int schema_ok(const char *schema, char *why) {
    json_t *s = J(schema);
    int rc = fa__schema_check(s, why, 256);
    json_decref(s);
    return rc;
}

START_TEST(test_registration_checks) {
    char why[256];
    ck_assert_int_eq(schema_ok("{\"type\":\"object\"}", why), 0);
    ck_assert_int_eq(schema_ok("{\"type\":\"object\",\"$schema\":"
                               "\"https://json-schema.org/draft/2020-12/schema\"}",
                               why),
                     0);
    ck_assert_int_eq(schema_ok("{\"type\":\"string\"}", why), FA_ESCHEMA);
    ck_assert_str_eq(why, "a tool schema needs \"type\": \"object\" at its root");
    ck_assert_int_eq(schema_ok("[]", why), FA_ESCHEMA);
    ck_assert_int_eq(
        schema_ok("{\"type\":\"object\",\"$schema\":\"http://example.com/other\"}", why),
        FA_ESCHEMA);
    ck_assert_int_eq(schema_ok("{\"type\":\"object\",\"properties\":[]}", why), FA_ESCHEMA);
    ck_assert_int_eq(schema_ok("{\"type\":\"object\",\"required\":[1]}", why), FA_ESCHEMA);
    ck_assert_int_eq(
        schema_ok("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"strin\"}}}", why),
        FA_ESCHEMA);
    ck_assert_int_eq(schema_ok("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":"
                               "\"#/$defs/Missing\"}}}",
                               why),
                     FA_ESCHEMA);
    ck_assert_int_eq(schema_ok("{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":"
                               "\"https://example.com/s.json\"}}}",
                               why),
                     FA_ESCHEMA); /* never fetched */
    ck_assert_int_eq(schema_ok("{\"type\":\"object\",\"minLength\":-1}", why), FA_ESCHEMA);
    ck_assert_int_eq(schema_ok("{\"type\":\"object\",\"anyOf\":[]}", why), FA_ESCHEMA);
    ck_assert_int_eq(schema_ok("{\"type\":\"object\",\"maximum\":\"3\"}", why), FA_ESCHEMA);
}
END_TEST

START_TEST(test_integral_reals_become_integers) {
    json_t *schema = J("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},"
                       "\"x\":{\"type\":\"number\"},\"l\":{\"type\":\"array\",\"items\":"
                       "{\"type\":\"integer\"}},\"o\":{\"anyOf\":[{\"type\":\"integer\"},"
                       "{\"type\":\"null\"}]},\"f\":{\"anyOf\":[{\"type\":\"string\"},"
                       "{\"type\":\"integer\",\"maximum\":0}]}}}");
    json_t *args = J("{\"n\":50.0,\"x\":2.0,\"l\":[1.0,2],\"o\":3.0,\"f\":-1.0}");
    fa__buf_t err = FA__BUF_INIT;
    ck_assert_int_eq(fa__schema_validate_args(schema, args, &err), 0);
    char *s = json_dumps(args, JSON_COMPACT);
    /* integer-typed values arrive as integers; a "number" stays as sent */
    ck_assert_str_eq(s, "{\"n\":50,\"x\":2.0,\"l\":[1,2],\"o\":3,\"f\":-1}");
    free(s);
    json_decref(args);
    /* Nothing changes when validation fails. */
    args = J("{\"n\":50.0,\"x\":\"no\"}");
    ck_assert_int_eq(fa__schema_validate_args(schema, args, &err), FA_ESCHEMA);
    ck_assert(json_is_real(json_object_get(args, "n")));
    fa__buf_free(&err);
    json_decref(args);
    json_decref(schema);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mcp/schema");
    TCase *tc = tcase_create("schema");
    tcase_add_test(tc, test_types);
    tcase_add_test(tc, test_required_and_additional);
    tcase_add_test(tc, test_numbers_strings_arrays);
    tcase_add_test(tc, test_enum_const_composition);
    tcase_add_test(tc, test_refs_and_defs);
    tcase_add_test(tc, test_work_is_bounded);
    tcase_add_test(tc, test_integral_reals_become_integers);
    tcase_add_test(tc, test_registration_checks);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
