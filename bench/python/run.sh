#!/bin/sh
# bench/python/run.sh: a Python echo tool on FasterAPI (`fasterapi run bench/python/echo_app.py`)
# against the official TypeScript SDK v1.x echo server on stdio, with the C echo example as the
# runtime's floor, all driven by bench/stdio's bench_stdio with run.sh's N/W/M and its pinning
# layouts, `same` (run.sh's default) and `none`, in one run. Prints the medians per layout next to
# the targets (>= 150k calls/s pipelined, >= 4x the TS SDK pipelined, >= 100x the Python SDK's
# FastMCP external figure of 377 calls/s) and the sequential p50. stdio_py.py has the method.
#
#   bench/python/run.sh                # needs build/release (cmake --preset release), node
#   ROUNDS=3 LAYOUTS=none bench/python/run.sh
#
# Environment: ROUNDS (5), W window (256), WARMUP (2000), N_PY/M_PY pipelined/sequential calls
# for the Python echo (200000/20000), N_TS/M_TS for the TS SDK (40000/10000), N_FA/M_FA for the C
# example (200000/20000), LAYOUTS ("same none"; also split), PIN_CPU (1 on a multi-CPU box),
# PY_ARGS (extra `fasterapi run` options, e.g. "--workers 1"), WITH_C (1; 0 leaves out the C
# example), QUIET_WAIT (5) and QUIET_MAX (0.15) as in bench/stdio/run.sh, BUILD_DIR (build/release;
# e.g. a release build on Debian's PGO-built 3.11:
#   cmake --preset release -B build/release311 -DFASTERAPI_PYTHON=/usr/bin/python3.11).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null 2>&1 || { echo "python/run.sh: python3 is not on PATH" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "python/run.sh: node is not on PATH" >&2; exit 1; }
exec python3 "$here/stdio_py.py" "$@"
