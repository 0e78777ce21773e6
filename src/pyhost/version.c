/* version.c: the embedded Python's version and the GIL mode that version allows, for
 * `fasterapi --version`. */
#include <Python.h>
#include <stdio.h>

#include "pyhost/host.h"
#include "pyhost/pyversion.h"

int fa__py_version_report(char *buf, unsigned long size) {
    /* Py_GetVersion() is safe before Py_Initialize (it formats compile-time constants). */
    const char *mode = FA_PY_OWN_GIL_DEFAULT ? "per-interpreter GIL (PEP 684 subinterpreters)"
                       : FA_PY_OWN_GIL_BROKEN
                           ? "shared GIL (Python 3.12.0-3.12.3: gh-119213; use >= 3.12.4)"
                           : "shared GIL (Python < 3.12: main-interpreter mode)";
    return snprintf(buf, size, "python %s (%s)\n", PY_VERSION, mode);
}
