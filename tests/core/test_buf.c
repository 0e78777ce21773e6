/* Tests for src/core/buf.c. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "fa_test.h"

START_TEST(test_append_and_grow) {
    fa__buf_t b = FA__BUF_INIT;
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(fa__buf_append(&b, "abc", 3), 0);
    ck_assert_uint_eq(b.len, 30000);
    ck_assert_int_eq(memcmp(b.data + 29997, "abc", 3), 0);
    ck_assert_uint_le(b.cap, 2 * 30000 + 256);
    fa__buf_free(&b);
    ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_appendf_short_and_long) {
    fa__buf_t b = FA__BUF_INIT;
    ck_assert_int_eq(fa__buf_appendf(&b, "%d-%s", 7, "x"), 0);
    char big[1000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(fa__buf_appendf(&b, "[%s]", big), 0);
    ck_assert_uint_eq(b.len, 3 + 1001);
    ck_assert_int_eq(memcmp(b.data, "7-x[y", 5), 0);
    ck_assert_int_eq(b.data[b.len - 1], ']');
    fa__buf_free(&b);
}
END_TEST

START_TEST(test_consume_and_detach) {
    fa__buf_t b = FA__BUF_INIT;
    fa__buf_append_str(&b, "hello world");
    fa__buf_consume(&b, 6);
    ck_assert_uint_eq(b.len, 5);
    size_t len;
    char *s = fa__buf_detach(&b, &len);
    ck_assert_str_eq(s, "world");
    ck_assert_uint_eq(len, 5);
    ck_assert_ptr_null(b.data);
    free(s);
    fa__buf_append_str(&b, "x");
    fa__buf_consume(&b, 100);
    ck_assert_uint_eq(b.len, 0);
    fa__buf_free(&b);
}
END_TEST

int main(void) {
    Suite *s = suite_create("core/buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, test_append_and_grow);
    tcase_add_test(tc, test_appendf_short_and_long);
    tcase_add_test(tc, test_consume_and_detach);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
