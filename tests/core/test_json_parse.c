/* Tests for src/core/json_parse.c: every JSON form, the errors jansson also reports, nesting
 * limits, and agreement with json_loadb on a generated corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/json_parse.h"
#include "fa_test.h"
#include "fasterapi/error.h"

static json_t *P(const char *text, fa__json_error_t *err) {
    return fa__json_parse(text, strlen(text), 64, NULL, err);
}

static json_t *jansson(const char *text, size_t n) {
    return json_loadb(text, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
}

/* Parses with both and requires the same verdict and an equal value. */
static void same_as_jansson(const char *text, size_t n) {
    fa__json_error_t err;
    json_t *a = fa__json_parse(text, n, 2048, NULL, &err);
    if (memchr(text, '\0', n)) {
        /* A raw NUL byte is never valid JSON (jansson sometimes skips it: it accepts "[1\0]"). */
        ck_assert_msg(a == NULL, "accepted a raw NUL byte in '%.*s'", (int)n, text);
        return;
    }
    json_t *b = jansson(text, n);
    ck_assert_msg((a == NULL) == (b == NULL), "verdicts differ on '%.*s': ours %s (%s), jansson %s",
                  (int)n, text, a ? "ok" : "error", a ? "" : err.text, b ? "ok" : "error");
    if (a)
        ck_assert_msg(json_equal(a, b), "values differ on '%.*s'", (int)n, text);
    json_decref(a);
    json_decref(b);
}

START_TEST(test_values) {
    const char *ok[] = {"0",
                        "-0",
                        "1",
                        "-12",
                        "9223372036854775807",
                        "-9223372036854775808",
                        "1.5",
                        "-0.0",
                        "1e3",
                        "1E-2",
                        "2.5e+10",
                        "1e400000x"[0] ? "1e-400" : "",
                        "true",
                        "false",
                        "null",
                        "\"\"",
                        "\"abc\"",
                        "\"\\u00e9\\ud83d\\ude00\"",
                        "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
                        "\"a\\u0000b\"",
                        "[]",
                        "{}",
                        "[1,[2,[]]]",
                        " \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \n",
                        "\"\xf0\x9f\x98\x80\"",
                        "{\"k\\u00e9y\":1}",
                        NULL};
    for (int i = 0; ok[i]; i++) {
        fa__json_error_t err;
        json_t *v = P(ok[i], &err);
        ck_assert_msg(v != NULL, "'%s': %s", ok[i], err.text);
        json_decref(v);
        same_as_jansson(ok[i], strlen(ok[i]));
    }
    fa__json_error_t err;
    json_t *v = P("\"a\\u0000b\"", &err);
    ck_assert_uint_eq(json_string_length(v), 3); /* NUL kept inside the value */
    json_decref(v);
    v = P("{\"a\\/b\":[1.0,2]}", &err);
    ck_assert(json_is_real(json_array_get(json_object_get(v, "a/b"), 0)));
    ck_assert(json_is_integer(json_array_get(json_object_get(v, "a/b"), 1)));
    json_decref(v);
}
END_TEST

START_TEST(test_errors) {
    struct {
        const char *text;
        const char *msg;
    } cases[] = {
        {"", "line 1 column 1: expected a JSON value, found the end of the input"},
        {"  x", "line 1 column 3: expected a JSON value, found 'x'"},
        {"{\"a\":1,}", "line 1 column 8: expected a string key, found '}'"},
        {"[1,]", "line 1 column 4: expected a JSON value, found ']'"},
        {"[1 2]", "line 1 column 4: expected ',' or ']' in an array, found '2'"},
        {"{\"a\" 1}", "line 1 column 6: expected ':' after an object key, found '1'"},
        {"01", "line 1 column 2: leading zeros are not allowed in numbers"},
        {"1.", "line 1 column 3: expected a digit after the decimal point, found the end of the "
               "input"},
        {"-", "line 1 column 2: expected a digit, found the end of the input"},
        {"1e+", "line 1 column 4: expected a digit in the exponent, found the end of the input"},
        {"\"abc", "line 1 column 5: unterminated string"},
        {"\"a\tb\"", "line 1 column 3: control character 0x09 in a string (it must be escaped)"},
        {"\"\\x\"", "line 1 column 2: invalid escape in a string"},
        {"\"\\ud800\"", "line 1 column 2: invalid Unicode escape (lone surrogate \\uD800)"},
        {"\"\\udc00\"", "line 1 column 2: invalid Unicode escape (lone surrogate \\uDC00)"},
        {"{\"a\":1,\"a\":2}", "line 1 column 8: duplicate object key 'a'"},
        {"{\"a\\u0000\":1}", "line 1 column 2: NUL byte in an object key is not supported"},
        {"1 2", "line 1 column 3: expected the end of the input after the JSON value, found '2'"},
        {"tru", "line 1 column 1: expected a JSON value, found 't'"},
        {"[\n1,\n@]", "line 3 column 1: expected a JSON value, found '@'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fa__json_error_t err;
        ck_assert_ptr_null(P(cases[i].text, &err));
        ck_assert_int_eq(err.code, FA_EJSON);
        char got[200];
        snprintf(got, sizeof got, "line %d column %d: %s", err.line, err.column, err.text);
        ck_assert_msg(strcmp(got, cases[i].msg) == 0, "'%s': got '%s'", cases[i].text, got);
        same_as_jansson(cases[i].text, strlen(cases[i].text)); /* jansson refuses them too */
    }
    const char bad_utf8[][8] = {"\"\xff\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\""};
    for (size_t i = 0; i < 4; i++)
        same_as_jansson(bad_utf8[i], strlen(bad_utf8[i]));
}
END_TEST

/* Numbers JSON allows but a 64-bit integer or a double cannot hold: FA_ERANGE with the member's
 * path (the JSON-RPC layer names it in its answer); jansson refuses them too. With
 * FA_JSON_RANGE_AS_NULL they parse as null and nothing else changes. */
START_TEST(test_out_of_range_numbers) {
    struct {
        const char *text, *msg, *path;
    } cases[] = {
        {"9223372036854775808", "line 1 column 1: integer too big for a 64-bit value", ""},
        {"-9223372036854775809", "line 1 column 1: integer too big for a 64-bit value", ""},
        {"1e400", "line 1 column 1: real number overflow", ""},
        {"{\"a\":{\"b\":[1,2,1e999]}}", "line 1 column 16: real number overflow", "a.b[2]"},
        {"[{\"x\":1},{\"params\":{\"n\":18446744073709551616}}]",
         "line 1 column 25: integer too big for a 64-bit value", "[1].params.n"},
        {"{\"k\\u00e9y\":[[-1e309]]}", "line 1 column 15: real number overflow",
         "k\xc3\xa9y[0][0]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fa__json_error_t err;
        ck_assert_ptr_null(P(cases[i].text, &err));
        ck_assert_int_eq(err.code, FA_ERANGE);
        char got[200];
        snprintf(got, sizeof got, "line %d column %d: %s", err.line, err.column, err.text);
        ck_assert_msg(strcmp(got, cases[i].msg) == 0, "'%s': got '%s'", cases[i].text, got);
        ck_assert_str_eq(err.path, cases[i].path);
        same_as_jansson(cases[i].text, strlen(cases[i].text));
        json_t *v = fa__json_parse_ex(cases[i].text, strlen(cases[i].text), 64,
                                      FA_JSON_RANGE_AS_NULL, NULL, &err);
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(err.code, 0);
        json_decref(v);
    }
    /* As null, in place. */
    fa__json_error_t err;
    json_t *v = fa__json_parse_ex("{\"a\":[1,1e400]}", 15, 64, FA_JSON_RANGE_AS_NULL, NULL, &err);
    ck_assert_ptr_nonnull(v);
    ck_assert(json_is_null(json_array_get(json_object_get(v, "a"), 1)));
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(v, "a"), 0)), 1);
    json_decref(v);
    /* Other errors are still errors. */
    ck_assert_ptr_null(fa__json_parse_ex("[1e400,]", 8, 64, FA_JSON_RANGE_AS_NULL, NULL, &err));
    ck_assert_int_eq(err.code, FA_EJSON);
    /* A long path keeps its innermost part. */
    char deep[600] = "";
    size_t n = 0;
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"member%02d\":", i);
    n += (size_t)snprintf(deep + n, sizeof deep - n, "1e400");
    for (int i = 0; i < 20; i++)
        deep[n++] = '}';
    ck_assert_ptr_null(fa__json_parse(deep, n, 64, NULL, &err));
    ck_assert_int_eq(err.code, FA_ERANGE);
    ck_assert_msg(strncmp(err.path, "...", 3) == 0, "path '%s'", err.path);
    ck_assert_msg(strstr(err.path, "member19") != NULL, "path '%s'", err.path);
    ck_assert_int_lt((int)strlen(err.path), FA_JSON_PATH_MAX);
}
END_TEST

START_TEST(test_depth_limit_and_report) {
    char text[5000];
    int depth;
    fa__json_error_t err;
    for (int d = 0; d < 2100; d++)
        text[d] = '[';
    for (int d = 0; d < 2100; d++)
        text[2100 + d] = ']';
    json_t *v = fa__json_parse(text, 4200, 2048, &depth, &err);
    ck_assert_ptr_null(v); /* 2100 > 2048: refused before recursing further */
    ck_assert_int_eq(err.code, FA_ELIMIT);
    v = fa__json_parse(text + 100, 4000, 2048, &depth, &err);
    ck_assert_ptr_nonnull(v); /* exactly 2000 deep */
    ck_assert_int_eq(depth, 2000);
    json_decref(v);
    v = fa__json_parse("{\"a\":[{\"b\":[]}]}", 16, 3, &depth, &err);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(err.code, FA_ELIMIT);
    ck_assert_int_eq(depth, 4);
    v = fa__json_parse("{\"a\":[{\"b\":[]}]}", 16, 4, &depth, &err);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(depth, 4);
    json_decref(v);
}
END_TEST

/* Random documents written by fa__json_write (plus mutations) parse the same as jansson. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;

START_TEST(test_agrees_with_jansson_on_generated_documents) {
    for (int i = 0; i < 3000; i++) {
        json_t *v = fa_test_random_json(&rng, 0);
        size_t len;
        char *s = fa__json_dumps(v, &len);
        same_as_jansson(s, len);
        /* Mutations: drop, duplicate or replace one byte. */
        for (int m = 0; m < 4 && len > 1; m++) {
            char *t = malloc(len + 1);
            memcpy(t, s, len);
            size_t at = fa_test_rand(&rng) % len;
            t[at] = "{}[],:\"\\ 0e.-x\xc3"[fa_test_rand(&rng) % 16];
            same_as_jansson(t, len);
            same_as_jansson(t, at); /* truncated */
            free(t);
        }
        free(s);
        json_decref(v);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("core/json_parse");
    TCase *tc = tcase_create("json_parse");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_values);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_out_of_range_numbers);
    tcase_add_test(tc, test_depth_limit_and_report);
    tcase_add_test(tc, test_agrees_with_jansson_on_generated_documents);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
