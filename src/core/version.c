/* version.c: version strings of FasterAPI and the C libraries it runs on. The embedded Python's
 * line comes from the Python host (pyhost/version.c): the core library does not link libpython. */
#include "fasterapi/version.h"

#include <jansson.h>
#include <stdio.h>
#include <uv.h>

const char *fa_version(void) {
    return FA_VERSION_STRING;
}

int fa_version_report(char *buf, unsigned long size) {
    return snprintf(buf, size,
                    "fasterapi %s\n"
                    "libuv %s\n"
                    "jansson %s\n",
                    FA_VERSION_STRING, uv_version_string(), jansson_version_str());
}
