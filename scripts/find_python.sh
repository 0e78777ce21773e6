#!/bin/sh
# Print the absolute path of the Python interpreter FasterAPI embeds.
#
# Order (DESIGN.md §4): $FASTERAPI_PYTHON if set; otherwise the newest CPython >= 3.12 that was
# built with a shared libpython and ships its headers (python3.14/3.13/3.12 on PATH, then every
# pyenv version); otherwise Debian's 3.11 (libpython3.11-dev), which runs without per-interpreter
# GILs. Exit 1 (and say why on stderr) when nothing usable exists.
#
# Output: one line, the interpreter path. With -v, a second line on stderr says which was chosen.
# With --only 3.12 (>= 3.12 only): the newest usable interpreter of that version, or exit 1.

verbose=0
only=""  # --only 3.12: the newest usable CPython of exactly that minor version, no fallback
while [ $# -gt 0 ]; do
    case $1 in
        -v) verbose=1 ;;
        --only) only=$2; shift ;;
        *) echo "find_python: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

# Prints "<major.minor> <shared> <Python.h exists> <libpython exists>" for a candidate, or nothing.
probe() {
    "$1" - <<'EOF' 2>/dev/null
import os, sys, sysconfig
v = sysconfig.get_config_var
inc = sysconfig.get_paths()["include"]
lib = os.path.join(v("LIBDIR") or "", v("LDLIBRARY") or "")
print("%d.%d %s %d %d %s" % (sys.version_info[0], sys.version_info[1], v("Py_ENABLE_SHARED") or 0,
      os.path.exists(os.path.join(inc, "Python.h")), os.path.exists(lib), os.path.realpath(sys.executable)))
EOF
}

usable() { # $1 = probe output; usable means shared libpython + headers present
    set -- $1
    [ "$#" -eq 5 ] && [ "$2" = "1" ] && [ "$3" = "1" ] && [ "$4" = "1" ]
}

if [ -n "${FASTERAPI_PYTHON:-}" ]; then
    out=$(probe "$FASTERAPI_PYTHON")
    if ! usable "$out"; then
        echo "find_python: FASTERAPI_PYTHON=$FASTERAPI_PYTHON is not a CPython with a shared libpython and headers" >&2
        exit 1
    fi
    set -- $out
    [ $verbose = 1 ] && echo "find_python: using FASTERAPI_PYTHON=$5 (Python $1)" >&2
    echo "$5"
    exit 0
fi

best=""
best_ver=0
consider() {
    out=$(probe "$1") || return 0
    usable "$out" || return 0
    set -- $out
    [ -n "$only" ] && [ "$1" != "$only" ] && return 0
    major=${1%%.*}
    minor=${1#*.}
    score=$((major * 100 + minor))
    if [ "$score" -ge 312 ] && [ "$score" -gt "$best_ver" ]; then
        best_ver=$score
        best=$5
    fi
}

for name in python3.14 python3.13 python3.12; do
    p=$(command -v "$name" 2>/dev/null) && consider "$p"
done
pyenv_root=${PYENV_ROOT:-$HOME/.pyenv}
for p in "$pyenv_root"/versions/3.1[2-9]*/bin/python3; do
    [ -x "$p" ] && consider "$p"
done

if [ -n "$best" ]; then
    [ $verbose = 1 ] && echo "find_python: using $best (newest CPython >= 3.12 with a shared libpython)" >&2
    echo "$best"
    exit 0
fi
if [ -n "$only" ]; then
    echo "find_python: no CPython $only with a shared libpython and headers was found" >&2
    exit 1
fi

for p in /usr/bin/python3.11 "$(command -v python3.11 2>/dev/null)"; do
    [ -n "$p" ] && [ -x "$p" ] || continue
    out=$(probe "$p")
    if usable "$out"; then
        set -- $out
        echo "find_python: no CPython >= 3.12 with a shared libpython was found; falling back to $5" >&2
        echo "find_python: Python 3.11 has no per-interpreter GIL, so tools will share one GIL" >&2
        echo "$5"
        exit 0
    fi
done

echo "find_python: no usable Python found: install libpython3.11-dev (Debian) or a CPython >= 3.12" >&2
echo "find_python: built with --enable-shared, or set FASTERAPI_PYTHON=/path/to/python3.x" >&2
exit 1
