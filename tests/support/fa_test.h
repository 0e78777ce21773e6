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

#endif
