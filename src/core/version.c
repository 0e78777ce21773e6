/* version.c: version strings. Python is linked from the first issue on (the host arrives later),
 * so the report states the embedded version and the GIL mode that version allows. */
#include "fasterapi/version.h"

#include <Python.h>
#include <jansson.h>
#include <stdio.h>
#include <uv.h>

#include "core/pyversion.h"

const char *fa_version(void) {
    return FA_VERSION_STRING;
}

int fa_version_report(char *buf, unsigned long size) {
    /* Py_GetVersion() is safe before Py_Initialize (it formats compile-time constants). */
    const char *mode = FA_PY_OWN_GIL_DEFAULT ? "per-interpreter GIL (PEP 684 subinterpreters)"
                       : FA_PY_OWN_GIL_BROKEN
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
