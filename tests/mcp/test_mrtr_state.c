/* Tests for src/mcp/mrtr_state.c: requestState round trip, every byte tampered, wrong binding,
 * expiry, and key files shared between instances. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "fa_test.h"
#include "fasterapi/error.h"
#include "mcp/mrtr_state.h"

static json_t *payload(const char *digest, uint64_t exp) {
    return json_pack("{s:i, s:s, s:s, s:s, s:I, s:i, s:[{s:s, s:s, s:{s:s}}], s:[]}", "v", 1, "m",
                     "tools/call", "n", "ask", "d", digest, "e", (json_int_t)exp, "r", 1, "a", "k",
                     "r0", "m", "elicitation/create", "r", "action", "accept", "p");
}

START_TEST(test_round_trip_and_bindings) {
    fa__state_key_t k;
    ck_assert_int_eq(fa__state_key_random(&k), 0);
    json_t *args = json_pack("{s:i, s:s}", "b", 2, "a", "x");
    json_t *same = json_pack("{s:s, s:i}", "a", "x", "b", 2); /* other key order, same args */
    char d[65], d2[65];
    ck_assert_int_eq(fa__args_digest(args, d), 0);
    ck_assert_int_eq(fa__args_digest(same, d2), 0);
    ck_assert_str_eq(d, d2);
    json_t *p = payload(d, 1000);
    char *st;
    size_t n;
    ck_assert_int_eq(fa__state_seal(&k, p, &st, &n), 0);
    ck_assert_uint_eq(strlen(st), n);
    ck_assert_ptr_null(strpbrk(st, "+/="));
    json_t *got;
    const char *why;
    ck_assert_int_eq(fa__state_open(&k, st, n, "tools/call", "ask", d, 999, &got, &why), 0);
    ck_assert(json_equal(got, p));
    json_decref(got);
    /* Wrong tool, method, arguments; expired. */
    ck_assert_int_eq(fa__state_open(&k, st, n, "tools/call", "other", d, 999, &got, &why),
                     FA_EINVAL);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(fa__state_open(&k, st, n, "prompts/get", "ask", d, 999, &got, &why),
                     FA_EINVAL);
    json_object_set_new(args, "b", json_integer(3));
    ck_assert_int_eq(fa__args_digest(args, d2), 0);
    ck_assert_str_ne(d, d2);
    ck_assert_int_eq(fa__state_open(&k, st, n, "tools/call", "ask", d2, 999, &got, &why),
                     FA_EINVAL);
    ck_assert_int_eq(fa__state_open(&k, st, n, "tools/call", "ask", d, 1001, &got, &why),
                     FA_EINVAL);
    ck_assert_str_eq(why, "the requestState has expired");
    /* Another process's key. */
    fa__state_key_t k2;
    ck_assert_int_eq(fa__state_key_random(&k2), 0);
    ck_assert_int_eq(fa__state_open(&k2, st, n, "tools/call", "ask", d, 999, &got, &why),
                     FA_EINVAL);
    /* Appended text (the suite's "-TAMPERED"), truncation, empty. */
    char *t = malloc(n + 10);
    snprintf(t, n + 10, "%s-TAMPERED", st);
    ck_assert_int_eq(fa__state_open(&k, t, strlen(t), "tools/call", "ask", d, 999, &got, &why),
                     FA_EINVAL);
    ck_assert_int_eq(fa__state_open(&k, st, n - 1, "tools/call", "ask", d, 999, &got, &why),
                     FA_EINVAL);
    ck_assert_int_eq(fa__state_open(&k, st, 0, "tools/call", "ask", d, 999, &got, &why), FA_EINVAL);
    free(t);
    free(st);
    json_decref(p);
    json_decref(args);
    json_decref(same);
}
END_TEST

START_TEST(test_every_byte_tampered) {
    fa__state_key_t k;
    ck_assert_int_eq(fa__state_key_random(&k), 0);
    char d[65];
    fa__args_digest(NULL, d);
    json_t *p = payload(d, 1000);
    char *st;
    size_t n;
    ck_assert_int_eq(fa__state_seal(&k, p, &st, &n), 0);
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (size_t i = 0; i < n; i++) {
        char saved = st[i];
        /* Two substitutions per position: the next letter and one far away. */
        for (int step = 1; step <= 40; step += 39) {
            const char *pos = strchr(alpha, saved);
            st[i] = alpha[((size_t)(pos - alpha) + (size_t)step) % 64];
            json_t *got;
            const char *why;
            ck_assert_msg(fa__state_open(&k, st, n, "tools/call", "ask", d, 999, &got, &why) ==
                              FA_EINVAL,
                          "byte %zu changed and still accepted", i);
        }
        st[i] = saved;
    }
    json_t *got;
    const char *why;
    ck_assert_int_eq(fa__state_open(&k, st, n, "tools/call", "ask", d, 999, &got, &why), 0);
    json_decref(got);
    free(st);
    json_decref(p);
}
END_TEST

START_TEST(test_key_file_shared) {
    char path[] = "/tmp/fa_state_key_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "0123456789abcdef0123456789abcdef\n", 33), 33);
    close(fd);
    fa__state_key_t a, b;
    ck_assert_int_eq(fa__state_key_file(&a, path), 0);
    ck_assert_int_eq(fa__state_key_file(&b, path), 0); /* "another instance" */
    char d[65];
    fa__args_digest(NULL, d);
    json_t *p = payload(d, 1000);
    char *st;
    size_t n;
    ck_assert_int_eq(fa__state_seal(&a, p, &st, &n), 0);
    json_t *got;
    const char *why;
    ck_assert_int_eq(fa__state_open(&b, st, n, "tools/call", "ask", d, 5, &got, &why), 0);
    json_decref(got);
    free(st);
    json_decref(p);
    /* Too short a key file is refused. */
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_eq(write(fd, "short", 5), 5);
    close(fd);
    ck_assert_int_eq(fa__state_key_file(&a, path), FA_EINVAL);
    unlink(path);
    ck_assert_int_eq(fa__state_key_file(&a, path), FA_ENOENT);
}
END_TEST

/* Regression (found by fuzz_modern): an answer holding U+0000 (which the message parser accepts)
 * must not make the state unopenable. */
START_TEST(test_state_with_nul_answer) {
    fa__state_key_t k;
    ck_assert_int_eq(fa__state_key_random(&k), 0);
    char d[65];
    fa__args_digest(NULL, d);
    json_t *p = payload(d, 1000);
    json_object_set_new(p, "x", json_stringn("a\0b", 3));
    char *st;
    size_t n;
    ck_assert_int_eq(fa__state_seal(&k, p, &st, &n), 0);
    json_t *got;
    const char *why;
    ck_assert_int_eq(fa__state_open(&k, st, n, "tools/call", "ask", d, 999, &got, &why), 0);
    ck_assert(json_equal(got, p));
    json_decref(got);
    free(st);
    json_decref(p);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mcp/mrtr_state");
    TCase *tc = tcase_create("state");
    tcase_add_test(tc, test_round_trip_and_bindings);
    tcase_add_test(tc, test_every_byte_tampered);
    tcase_add_test(tc, test_key_file_shared);
    tcase_add_test(tc, test_state_with_nul_answer);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
