/* Tests for src/core/json.c: the writer round-trips through jansson, reals are shortest, the
 * output never holds a raw newline. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "fa_test.h"
#include "fasterapi/error.h"

static char *dump(const json_t *v) {
    char *s = fa__json_dumps(v, NULL);
    ck_assert_ptr_nonnull(s);
    return s;
}

static void check_text(const char *json_in, const char *want) {
    json_error_t err;
    json_t *v = json_loads(json_in, JSON_DECODE_ANY, &err);
    ck_assert_msg(v != NULL, "%s: %s", json_in, err.text);
    char *s = dump(v);
    ck_assert_str_eq(s, want);
    free(s);
    json_decref(v);
}

START_TEST(test_scalars_and_containers) {
    check_text("null", "null");
    check_text("true", "true");
    check_text("false", "false");
    check_text("0", "0");
    check_text("-42", "-42");
    check_text("9223372036854775807", "9223372036854775807");
    check_text("\"\"", "\"\"");
    check_text("[]", "[]");
    check_text("{}", "{}");
    check_text("[1, [2, {\"a\": [ ]}], {\"b\": null}]", "[1,[2,{\"a\":[]}],{\"b\":null}]");
}
END_TEST

START_TEST(test_keys_keep_insertion_order) {
    json_t *o = json_object();
    json_object_set_new(o, "z", json_integer(1));
    json_object_set_new(o, "a", json_integer(2));
    json_object_set_new(o, "m", json_integer(3));
    char *s = dump(o);
    ck_assert_str_eq(s, "{\"z\":1,\"a\":2,\"m\":3}");
    free(s);
    json_decref(o);
}
END_TEST

START_TEST(test_reals_are_shortest_round_trip) {
    struct {
        double d;
        const char *want;
    } cases[] = {{0.1, "0.1"},
                 {1.0, "1.0"},
                 {-2.5, "-2.5"},
                 {0.30000000000000004, "0.30000000000000004"},
                 {1e300, "1e+300"},
                 {5e-324, "4.94065645841247e-324"},
                 {123456789.0, "123456789.0"},
                 {-0.0, "-0.0"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fa__buf_t b = FA__BUF_INIT;
        ck_assert_int_eq(fa__json_write_real(&b, cases[i].d), 0);
        fa__buf_putc(&b, '\0');
        ck_assert_str_eq(b.data, cases[i].want);
        ck_assert(strtod(b.data, NULL) == cases[i].d);
        fa__buf_free(&b);
    }
    fa__buf_t b = FA__BUF_INIT;
    fa__json_write_real(&b, NAN);
    fa__buf_putc(&b, '\0');
    ck_assert_str_eq(b.data, "null"); /* JSON has no NaN */
    fa__buf_free(&b);
}
END_TEST

START_TEST(test_string_escapes) {
    const char raw[] = "a\"b\\c\n\r\t\b\f\x01\x1f/\xc3\xa9\xe2\x80\xa8";
    fa__buf_t b = FA__BUF_INIT;
    ck_assert_int_eq(fa__json_write_string(&b, raw, sizeof raw - 1), 0);
    fa__buf_putc(&b, '\0');
    ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f/\xc3\xa9\xe2\x80\xa8\"");
    ck_assert_ptr_null(strchr(b.data, '\n'));
    json_t *back = json_loads(b.data, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(json_string_value(back), raw);
    json_decref(back);
    fa__buf_free(&b);
    /* Embedded NUL (jansson allows it in values built with json_stringn). */
    json_t *z = json_stringn("a\0b", 3);
    char *s = dump(z);
    ck_assert_str_eq(s, "\"a\\u0000b\"");
    free(s);
    json_decref(z);
}
END_TEST

static uint64_t rng = 0x9E3779B97F4A7C15ull;

START_TEST(test_round_trip_property) {
    for (int i = 0; i < 5000; i++) {
        json_t *v = fa_test_random_json(&rng, 0);
        size_t len;
        char *s = fa__json_dumps(v, &len);
        ck_assert_ptr_nonnull(s);
        ck_assert_ptr_null(memchr(s, '\n', len));
        json_error_t err;
        json_t *back = json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        ck_assert_msg(back != NULL, "%s: %s", s, err.text);
        /* jansson's json_equal compares reals exactly, so equality proves exact round trip. */
        ck_assert_msg(json_equal(v, back), "round trip changed %s", s);
        free(s);
        json_decref(back);
        json_decref(v);
    }
}
END_TEST

START_TEST(test_depth_limit_when_writing) {
    json_t *root = json_array(), *cur = root;
    for (int i = 0; i < FA_JSON_WRITE_MAX_DEPTH + 5; i++) {
        json_t *a = json_array();
        json_array_append_new(cur, a);
        cur = a;
    }
    fa__buf_t b = FA__BUF_INIT;
    ck_assert_int_eq(fa__json_write(&b, root), FA_ELIMIT);
    fa__buf_free(&b);
    json_decref(root);
}
END_TEST

int main(void) {
    Suite *s = suite_create("core/json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, test_scalars_and_containers);
    tcase_add_test(tc, test_keys_keep_insertion_order);
    tcase_add_test(tc, test_reals_are_shortest_round_trip);
    tcase_add_test(tc, test_string_escapes);
    tcase_add_test(tc, test_round_trip_property);
    tcase_add_test(tc, test_depth_limit_when_writing);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
