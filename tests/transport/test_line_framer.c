/* Tests for src/transport/line_framer.c: framing is checked byte by byte, across every split. */
#include <stdio.h>
#include <string.h>

#include "fa_test.h"
#include "transport/line_framer.h"

/* Feeds `in` in chunks of `step` bytes (0 = all at once) and records the events as text:
 * "L:<line>" per line, "BIG" per oversized line, "NOMEM" otherwise; joined with '|'. */
static void run(size_t max, const char *in, size_t n, size_t step, int finish, char *out,
                size_t outsz) {
    fa__line_framer_t f;
    fa__line_framer_init(&f, max);
    out[0] = '\0';
    size_t pos = 0;
    while (pos < n) {
        size_t len = step ? (n - pos < step ? n - pos : step) : n - pos;
        size_t off = 0;
        while (off < len) {
            fa__line_t line;
            size_t used = fa__line_framer_feed(&f, in + pos + off, len - off, &line);
            ck_assert_uint_gt(used, 0);
            ck_assert_uint_le(used, len - off);
            off += used;
            char ev[256];
            if (line.event == FA_LINE_OK) {
                ck_assert_ptr_null(memchr(line.data, '\n', line.len));
                snprintf(ev, sizeof ev, "L:%.*s|", (int)line.len, line.data);
            } else if (line.event == FA_LINE_TOOBIG) {
                snprintf(ev, sizeof ev, "BIG|");
            } else if (line.event == FA_LINE_NOMEM) {
                snprintf(ev, sizeof ev, "NOMEM|");
            } else {
                continue;
            }
            strncat(out, ev, outsz - strlen(out) - 1);
        }
        pos += len;
    }
    if (finish) {
        fa__line_t line;
        fa__line_framer_finish(&f, &line);
        char ev[256] = "";
        if (line.event == FA_LINE_OK)
            snprintf(ev, sizeof ev, "L:%.*s|", (int)line.len, line.data);
        else if (line.event == FA_LINE_TOOBIG)
            snprintf(ev, sizeof ev, "BIG|");
        strncat(out, ev, outsz - strlen(out) - 1);
    }
    fa__line_framer_reset(&f);
}

/* Same result for every chunk size from 1 byte to the whole input. */
static void check_all_splits(size_t max, const char *in, int finish, const char *expect) {
    size_t n = strlen(in);
    char got[4096];
    for (size_t step = 0; step <= n; step++) {
        run(max, in, n, step, finish, got, sizeof got);
        ck_assert_msg(strcmp(got, expect) == 0, "step %zu: got '%s', want '%s'", step, got, expect);
    }
}

START_TEST(test_lines_in_one_chunk_are_zero_copy) {
    fa__line_framer_t f;
    fa__line_framer_init(&f, 100);
    const char *in = "{\"a\":1}\n{\"b\":2}\n";
    fa__line_t line;
    size_t used = fa__line_framer_feed(&f, in, strlen(in), &line);
    ck_assert_uint_eq(used, 8);
    ck_assert_int_eq(line.event, FA_LINE_OK);
    ck_assert_ptr_eq(line.data, in); /* points into the input: no copy */
    ck_assert_uint_eq(line.len, 7);
    used = fa__line_framer_feed(&f, in + 8, strlen(in) - 8, &line);
    ck_assert_ptr_eq(line.data, in + 8);
    ck_assert_uint_eq(f.lines, 2);
    fa__line_framer_reset(&f);
}
END_TEST

START_TEST(test_many_lines_every_split) {
    check_all_splits(100, "one\ntwo\nthree\n", 0, "L:one|L:two|L:three|");
}
END_TEST

START_TEST(test_crlf_is_tolerated) {
    check_all_splits(100, "one\r\ntwo\r\n", 0, "L:one|L:two|");
    /* Only one trailing CR is framing; an inner CR is data. */
    check_all_splits(100, "a\rb\r\n", 0, "L:a\rb|");
}
END_TEST

START_TEST(test_blank_lines_are_skipped) {
    check_all_splits(100, "\n\r\n  \t\nx\n\n", 0, "L:x|");
}
END_TEST

START_TEST(test_partial_line_waits_for_newline) {
    check_all_splits(100, "abc", 0, "");
    check_all_splits(100, "abc\nde", 0, "L:abc|");
}
END_TEST

START_TEST(test_unterminated_last_line_at_eof) {
    check_all_splits(100, "abc\nlast", 1, "L:abc|L:last|");
    check_all_splits(100, "abc\n", 1, "L:abc|");
    check_all_splits(100, "abc\n  ", 1, "L:abc|");
}
END_TEST

START_TEST(test_limit_is_exact) {
    check_all_splits(5, "12345\n", 0, "L:12345|");
    check_all_splits(5, "12345\r\n", 0, "L:12345|"); /* the CR of CRLF is not counted */
    check_all_splits(5, "123456\nok\n", 0, "BIG|L:ok|");
}
END_TEST

START_TEST(test_oversized_line_reported_once_then_resync) {
    check_all_splits(4, "aaaaaaaaaaaaaaaa\nbb\nccccccc\ndd\n", 0, "BIG|L:bb|BIG|L:dd|");
    /* An oversized line still open at EOF is not returned by finish. */
    check_all_splits(4, "ok\naaaaaaaaaa", 1, "L:ok|BIG|");
    /* Regression (found by fuzzing): max + 1 bytes at EOF are over the limit unless the extra
     * byte is the CR of a CRLF. */
    check_all_splits(3, "abcd", 1, "BIG|");
    check_all_splits(3, "abc\r", 1, "L:abc|");
}
END_TEST

START_TEST(test_oversized_reported_as_soon_as_limit_crossed) {
    fa__line_framer_t f;
    fa__line_framer_init(&f, 8);
    fa__line_t line;
    ck_assert_uint_eq(fa__line_framer_feed(&f, "12345", 5, &line), 5);
    ck_assert_int_eq(line.event, FA_LINE_NONE);
    ck_assert_uint_eq(fa__line_framer_feed(&f, "6789", 4, &line), 4);
    ck_assert_int_eq(line.event, FA_LINE_NONE); /* 9 = 8 + a possible CR of CRLF */
    ck_assert_uint_eq(fa__line_framer_feed(&f, "0", 1, &line), 1);
    ck_assert_int_eq(line.event, FA_LINE_TOOBIG); /* before any newline arrives */
    ck_assert(fa__line_framer_has_partial(&f));
    ck_assert_uint_eq(fa__line_framer_feed(&f, "xxxx", 4, &line), 4);
    ck_assert_int_eq(line.event, FA_LINE_NONE); /* reported once */
    ck_assert_uint_eq(fa__line_framer_feed(&f, "x\nok\n", 5, &line), 2);
    ck_assert_int_eq(line.event, FA_LINE_NONE);
    ck_assert_uint_eq(fa__line_framer_feed(&f, "ok\n", 3, &line), 3);
    ck_assert_int_eq(line.event, FA_LINE_OK);
    ck_assert_uint_eq(f.oversized, 1);
    fa__line_framer_reset(&f);
}
END_TEST

START_TEST(test_large_line_byte_by_byte_is_linear) {
    /* 1 MiB line fed one byte at a time: the partial buffer grows geometrically and each byte
     * is scanned once; a quadratic framer would take minutes here. */
    size_t n = 1u << 20;
    fa__line_framer_t f;
    fa__line_framer_init(&f, n);
    fa__line_t line;
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(fa__line_framer_feed(&f, "x", 1, &line), 1);
        ck_assert_int_eq(line.event, FA_LINE_NONE);
    }
    fa__line_framer_feed(&f, "\n", 1, &line);
    ck_assert_int_eq(line.event, FA_LINE_OK);
    ck_assert_uint_eq(line.len, n);
    ck_assert_uint_le(f.partial.cap, 4 * n);
    fa__line_framer_reset(&f);
}
END_TEST

START_TEST(test_reset_forgets_partial) {
    fa__line_framer_t f;
    fa__line_framer_init(&f, 100);
    fa__line_t line;
    fa__line_framer_feed(&f, "abc", 3, &line);
    fa__line_framer_reset(&f);
    fa__line_framer_feed(&f, "x\n", 2, &line);
    ck_assert_int_eq(line.event, FA_LINE_OK);
    ck_assert_uint_eq(line.len, 1);
    fa__line_framer_reset(&f);
}
END_TEST

int main(void) {
    Suite *s = suite_create("transport/line_framer");
    TCase *tc = tcase_create("framer");
    tcase_add_test(tc, test_lines_in_one_chunk_are_zero_copy);
    tcase_add_test(tc, test_many_lines_every_split);
    tcase_add_test(tc, test_crlf_is_tolerated);
    tcase_add_test(tc, test_blank_lines_are_skipped);
    tcase_add_test(tc, test_partial_line_waits_for_newline);
    tcase_add_test(tc, test_unterminated_last_line_at_eof);
    tcase_add_test(tc, test_limit_is_exact);
    tcase_add_test(tc, test_oversized_line_reported_once_then_resync);
    tcase_add_test(tc, test_oversized_reported_as_soon_as_limit_crossed);
    tcase_add_test(tc, test_large_line_byte_by_byte_is_linear);
    tcase_add_test(tc, test_reset_forgets_partial);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
