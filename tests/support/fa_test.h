/* fa_test.h: small helpers shared by the Check suites. */
#ifndef FA_TEST_H
#define FA_TEST_H

#include <check.h>
#include <stdlib.h>

/* Runs one suite in fork mode and returns the process exit code (0 = all passed). */
int fa_test_run(Suite *s);

/* Reads a whole file into a NUL-terminated malloc'd buffer; *len gets its size. Aborts on error
 * (tests only). */
char *fa_test_read_file(const char *path, size_t *len);

/* A deterministic pseudo-random JSON value for property tests: scalars of every type (any
 * int64, reals of every magnitude, strings with control characters and quotes), arrays and
 * objects nested up to about 6 levels. *state is the xorshift state (any non-zero seed). */
#include <jansson.h>
#include <stdint.h>
json_t *fa_test_random_json(uint64_t *state, int depth);
uint64_t fa_test_rand(uint64_t *state);

/* A TCP connection to 127.0.0.1:port with a 5 s receive timeout (a test never hangs on a silent
 * server). Fails the test if it cannot connect. */
int fa_test_connect_loopback(int port);

#endif
