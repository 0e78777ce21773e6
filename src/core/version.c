/* version.c: version strings. Python is linked from the first issue on (the host arrives later),
 * so the report states the embedded version and the GIL mode that version allows. */
#include "fasterapi/version.h"

#include <Python.h>
#include <jansson.h>
#include <stdio.h>
#include <uv.h>

const char *fa_version(void) {
    return FA_VERSION_STRING;
}

int fa_version_report(char *buf, unsigned long size) {
    /* Py_GetVersion() is safe before Py_Initialize (it formats compile-time constants). */
    /* 3.12.0-3.12.3 run shared-GIL too: their subinterpreters abort at exit (gh-119213, see
     * src/pyhost/host.c). */
    const char *mode = PY_VERSION_HEX >= 0x030C0400
                           ? "per-interpreter GIL (PEP 684 subinterpreters)"
                       : PY_VERSION_HEX >= 0x030C0000
                           ? "shared GIL (Python 3.12.0-3.12.3: gh-119213; use >= 3.12.4)"
                           : "shared GIL (Python < 3.12: main-interpreter mode)";
    return snprintf(buf, size,
                    "fasterapi %s\n"
                    "python %s (%s)\n"
                    "libuv %s\n"
                    "jansson %s\n",
                    FA_VERSION_STRING, PY_VERSION, mode, uv_version_string(),
                    jansson_version_str());
}
