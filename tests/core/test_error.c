/* Tests for src/core/error.c: the X-macro table gives names and messages for every code. */
#include <string.h>

#include "fa_test.h"
#include "fasterapi/error.h"

START_TEST(test_system_codes_are_negated_errno) {
    ck_assert_int_eq(FA_ENOMEM, -ENOMEM);
    ck_assert_int_eq(FA_EAGAIN, -EAGAIN);
    ck_assert_int_eq(FA_EMSGSIZE, -EMSGSIZE);
}
END_TEST

START_TEST(test_names_and_messages) {
    ck_assert_str_eq(fa_err_name(FA_ENOMEM), "ENOMEM");
    ck_assert_str_eq(fa_strerror(FA_ENOMEM), "not enough memory");
    ck_assert_str_eq(fa_err_name(FA_EFULL), "EFULL");
    ck_assert_str_eq(fa_strerror(FA_EFULL), "queue is full");
    ck_assert_str_eq(fa_err_name(0), "OK");
    ck_assert_str_eq(fa_err_name(12345), "UNKNOWN");
    ck_assert_str_eq(fa_strerror(-999999), "unknown error");
}
END_TEST

START_TEST(test_project_codes_do_not_collide_with_errno) {
    /* Linux errno values stay below 4000, project codes are at -4001 and below. */
#define CHECK_ONE(name, value, msg) ck_assert(value < 0);
    FA_ERRNO_MAP(CHECK_ONE)
#undef CHECK_ONE
    ck_assert_int_lt(FA_EFULL, -4000);
    ck_assert_int_lt(FA_EPYTHON, -4000);
}
END_TEST

int main(void) {
    Suite *s = suite_create("core/error");
    TCase *tc = tcase_create("error");
    tcase_add_test(tc, test_system_codes_are_negated_errno);
    tcase_add_test(tc, test_names_and_messages);
    tcase_add_test(tc, test_project_codes_do_not_collide_with_errno);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
