/* Tests for src/core/utf8.c. */
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "fa_test.h"

START_TEST(test_valid) {
    ck_assert(fa__utf8_valid("", 0));
    ck_assert(fa__utf8_valid("abc", 3));
    ck_assert(fa__utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9)); /* é € 😀 */
    ck_assert(!fa__utf8_valid("\xff", 1));
    ck_assert(!fa__utf8_valid("\xc3", 1));             /* truncated */
    ck_assert(!fa__utf8_valid("\xc0\xaf", 2));         /* overlong */
    ck_assert(!fa__utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    ck_assert(!fa__utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}
END_TEST

START_TEST(test_clip_never_splits_a_character) {
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* a é € 😀 : 1+2+3+4 bytes */
    size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10};
    for (size_t len = 0; len <= 10; len++) {
        size_t got = fa__utf8_clip(s, len);
        ck_assert_msg(got == want[len], "len %zu: got %zu want %zu", len, got, want[len]);
        ck_assert(fa__utf8_valid(s, got));
    }
}
END_TEST

START_TEST(test_sanitize) {
    size_t n;
    char *out = fa__utf8_sanitize("a\xff"
                                  "b\xc3",
                                  4, &n);
    ck_assert_str_eq(out, "a\xef\xbf\xbd"
                          "b\xef\xbf\xbd");
    ck_assert_uint_eq(n, 8);
    ck_assert(fa__utf8_valid(out, n));
    free(out);
}
END_TEST

START_TEST(test_utf8_feed_dfa) {
    /* The DFA against the byte-at-a-time definition for every 1- and 2-byte input and a sample
     * of 3- and 4-byte ones: valid exactly when fa__utf8_seq_len walks it completely. */
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            unsigned char s[2] = {(unsigned char)a, (unsigned char)b};
            uint8_t st = FA_UTF8_ACCEPT;
            size_t got = fa__utf8_feed(&st, (const char *)s, 2);
            size_t n1 = fa__utf8_seq_len(s, 2);
            int valid = n1 == 2 || (n1 == 1 && fa__utf8_seq_len(s + 1, 1) == 1);
            ck_assert_int_eq(got == 2 && st == FA_UTF8_ACCEPT, valid);
        }
    }
    /* Fail-fast position and ASCII fast path around 8-byte blocks. */
    char buf[40];
    for (size_t at = 0; at < 32; at++) {
        memset(buf, 'a', sizeof buf);
        buf[at] = (char)0xff;
        uint8_t st = FA_UTF8_ACCEPT;
        ck_assert_uint_eq(fa__utf8_feed(&st, buf, sizeof buf), at);
        ck_assert_uint_eq(st, FA_UTF8_REJECT);
        ck_assert_uint_eq(fa__utf8_feed(&st, "a", 1), 0); /* sticky */
    }
    /* Boundaries: U+10FFFF ok, U+D7FF and U+E000 ok, U+FFFF ok. */
    ck_assert(fa__utf8_valid("\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf", 13));
}
END_TEST

int main(void) {
    Suite *s = suite_create("core/utf8");
    TCase *tc = tcase_create("utf8");
    tcase_add_test(tc, test_valid);
    tcase_add_test(tc, test_clip_never_splits_a_character);
    tcase_add_test(tc, test_sanitize);
    tcase_add_test(tc, test_utf8_feed_dfa);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
