/* Tests for src/core/map.c, checked against a brute-force model under random operations. */
#include <stdio.h>
#include <string.h>

#include "core/map.h"
#include "fa_test.h"
#include "fasterapi/error.h"

START_TEST(test_put_get_del) {
    fa__map_t m = FA__MAP_INIT;
    int a = 1, b = 2;
    ck_assert_ptr_null(fa__map_get(&m, "x", 1));
    ck_assert_int_eq(fa__map_put(&m, "x", 1, &a), 0);
    ck_assert_int_eq(fa__map_put(&m, "\"x\"", 3, &b), 0); /* "x" the string vs x */
    ck_assert_int_eq(fa__map_put(&m, "x", 1, &b), FA_EEXIST);
    ck_assert_ptr_eq(fa__map_get(&m, "x", 1), &a);
    ck_assert_ptr_eq(fa__map_get(&m, "\"x\"", 3), &b);
    ck_assert_ptr_eq(fa__map_del(&m, "x", 1), &a);
    ck_assert_ptr_null(fa__map_get(&m, "x", 1));
    ck_assert_ptr_null(fa__map_del(&m, "x", 1));
    ck_assert_uint_eq(m.count, 1);
    fa__map_free(&m);
}
END_TEST

#define NKEYS 3000
static char keys[NKEYS][16];
static int present[NKEYS];

START_TEST(test_random_ops_match_model) {
    fa__map_t m = FA__MAP_INIT;
    unsigned x = 12345;
    for (int i = 0; i < NKEYS; i++)
        snprintf(keys[i], sizeof keys[i], "%d", i * 7919);
    for (int op = 0; op < 200000; op++) {
        x = x * 1103515245u + 12345u;
        int k = (int)((x >> 8) % NKEYS);
        size_t len = strlen(keys[k]);
        if ((x >> 4) & 1) {
            int rc = fa__map_put(&m, keys[k], len, keys[k]);
            ck_assert_int_eq(rc, present[k] ? FA_EEXIST : 0);
            present[k] = 1;
        } else {
            void *v = fa__map_del(&m, keys[k], len);
            ck_assert_ptr_eq(v, present[k] ? (void *)keys[k] : NULL);
            present[k] = 0;
        }
        if (op % 1000 == 0) {
            size_t count = 0;
            for (int i = 0; i < NKEYS; i++) {
                count += (size_t)present[i];
                ck_assert_ptr_eq(fa__map_get(&m, keys[i], strlen(keys[i])),
                                 present[i] ? (void *)keys[i] : NULL);
            }
            ck_assert_uint_eq(count, m.count);
            ck_assert_uint_le(m.count * 2, m.cap);
        }
    }
    fa__map_free(&m);
}
END_TEST

int main(void) {
    Suite *s = suite_create("core/map");
    TCase *tc = tcase_create("map");
    tcase_add_test(tc, test_put_get_del);
    tcase_add_test(tc, test_random_ops_match_model);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
