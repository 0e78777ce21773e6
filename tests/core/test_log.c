/* Tests for src/core/log.c: level parsing, threshold, that records go to stderr only, and the
 * start-up phase trace (FASTERAPI_TRACE_START). Each test runs in its own fork, so the trace's
 * once-read environment starts fresh in each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "fa_test.h"
#include "fasterapi/error.h"

START_TEST(test_parse_levels) {
    fa_log_level_t l;
    ck_assert_int_eq(fa_log_parse_level("debug", &l), 0);
    ck_assert_int_eq(l, FA_LOG_DEBUG);
    ck_assert_int_eq(fa_log_parse_level("WARNING", &l), 0);
    ck_assert_int_eq(l, FA_LOG_WARN);
    ck_assert_int_eq(fa_log_parse_level("off", &l), 0);
    ck_assert_int_eq(l, FA_LOG_OFF);
    ck_assert_int_eq(fa_log_parse_level("loud", &l), FA_EINVAL);
    ck_assert_int_eq(fa_log_parse_level(NULL, &l), FA_EINVAL);
}
END_TEST

/* Captures what the calls in `body` write to fd 1 and fd 2. */
static void capture(void (*body)(void), char *err, size_t errsz, char *out, size_t outsz) {
    int ep[2], op[2];
    ck_assert_int_eq(pipe(ep), 0);
    ck_assert_int_eq(pipe(op), 0);
    int saved_err = dup(2), saved_out = dup(1);
    dup2(ep[1], 2);
    dup2(op[1], 1);
    body();
    fflush(stdout);
    dup2(saved_err, 2);
    dup2(saved_out, 1);
    close(ep[1]);
    close(op[1]);
    ssize_t n = read(ep[0], err, errsz - 1);
    err[n > 0 ? n : 0] = '\0';
    n = read(op[0], out, outsz - 1);
    out[n > 0 ? n : 0] = '\0';
    close(ep[0]);
    close(op[0]);
    close(saved_err);
    close(saved_out);
}

static void log_some(void) {
    fa_log_set_level(FA_LOG_INFO);
    FA_DEBUG("hidden %d", 1);
    FA_INFO("shown %d", 2);
    fa_log(FA_LOG_WARN, "public %s", "api");
    fa_log_set_level(FA_LOG_OFF);
    FA_ERROR("also hidden");
    fa_log_set_level(FA_LOG_INFO);
}

START_TEST(test_records_go_to_stderr_only) {
    char err[4096], out[4096];
    capture(log_some, err, sizeof err, out, sizeof out);
    ck_assert_str_eq(out, ""); /* stdout carries protocol bytes only */
    ck_assert_ptr_null(strstr(err, "hidden"));
    ck_assert_ptr_nonnull(strstr(err, "INFO  shown 2\n"));
    ck_assert_ptr_nonnull(strstr(err, "WARN  public api\n"));
    char pid[32];
    snprintf(pid, sizeof pid, "fasterapi[%d]", (int)getpid());
    ck_assert_ptr_nonnull(strstr(err, pid));
    ck_assert_int_eq(err[4], '-'); /* starts with an ISO 8601 UTC timestamp */
    ck_assert_int_eq(err[10], 'T');
}
END_TEST

static void log_long(void) {
    char big[10000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    FA_WARN("%s", big);
}

START_TEST(test_long_records_are_truncated_to_one_line) {
    char err[8192], out[64];
    capture(log_long, err, sizeof err, out, sizeof out);
    size_t n = strlen(err);
    ck_assert_uint_le(n, 4096);
    ck_assert_int_eq(err[n - 1], '\n');
    ck_assert_ptr_eq(strchr(err, '\n'), err + n - 1);
}
END_TEST

static void trace_two(void) {
    fa__trace_start("main");
    usleep(3000);
    fa__trace_start("later phase");
}

START_TEST(test_trace_start_prints_phases_in_ms_since_the_first) {
    setenv("FASTERAPI_TRACE_START", "1", 1);
    char err[4096], out[4096];
    capture(trace_two, err, sizeof err, out, sizeof out);
    ck_assert_str_eq(out, "");
    double t0 = -1, t1 = -1;
    char p0[32] = "", p1[32] = "";
    ck_assert_int_eq(
        sscanf(err, "fasterapi: start +%lf ms %31[^\n]\nfasterapi: start +%lf ms %31[^\n]\n", &t0,
               p0, &t1, p1),
        4);
    ck_assert_str_eq(p0, "main");
    ck_assert_str_eq(p1, "later phase");
    ck_assert(t0 >= 0 && t0 < 1.0);
    ck_assert(t1 >= 3.0 && t1 < 10000.0);
}
END_TEST

START_TEST(test_trace_start_is_silent_unless_asked) {
    char err[4096], out[4096];
    unsetenv("FASTERAPI_TRACE_START");
    capture(trace_two, err, sizeof err, out, sizeof out);
    ck_assert_str_eq(err, "");
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_trace_start_zero_means_off) {
    char err[4096], out[4096];
    setenv("FASTERAPI_TRACE_START", "0", 1);
    capture(trace_two, err, sizeof err, out, sizeof out);
    ck_assert_str_eq(err, "");
}
END_TEST

int main(void) {
    Suite *s = suite_create("core/log");
    TCase *tc = tcase_create("log");
    tcase_add_test(tc, test_parse_levels);
    tcase_add_test(tc, test_records_go_to_stderr_only);
    tcase_add_test(tc, test_long_records_are_truncated_to_one_line);
    tcase_add_test(tc, test_trace_start_prints_phases_in_ms_since_the_first);
    tcase_add_test(tc, test_trace_start_is_silent_unless_asked);
    tcase_add_test(tc, test_trace_start_zero_means_off);
    suite_add_tcase(s, tc);
    return fa_test_run(s);
}
