/* pyversion.h: which GIL mode the embedded CPython gets, decided once from PY_VERSION_HEX
 * (include <Python.h> first). Used by `fasterapi --version` (pyhost/version.c), the host (host.c)
 * and its tests. */
#ifndef FA_PYHOST_PYVERSION_H
#define FA_PYHOST_PYVERSION_H

/* Isolated subinterpreters with their own GIL exist from 3.12 (PEP 684). */
#define FA_PY_HAS_OWN_GIL (PY_VERSION_HEX >= 0x030C0000)
/* 3.12.0-3.12.3 free objects across isolated interpreters and abort at exit once a
 * subinterpreter used asyncio or hashlib (CPython gh-119213, fixed in 3.12.4): the host runs
 * those in shared-GIL mode. */
#define FA_PY_OWN_GIL_BROKEN (FA_PY_HAS_OWN_GIL && PY_VERSION_HEX < 0x030C0400)
/* The mode the host uses unless told --shared-gil or an extension refuses isolation. */
#define FA_PY_OWN_GIL_DEFAULT (FA_PY_HAS_OWN_GIL && !FA_PY_OWN_GIL_BROKEN)

#endif
