#!/bin/sh
# bench/objects/run.sh: what FasterAPI's Python API objects cost to create (the web App(),
# WebSocket(), SSEConnection(); FastMCP(), Context, tool registration and the Python side of one
# echo call), in ns per object, measured with timeit in the Python FasterAPI embeds
# (PYTHONPATH=python) and inside `fasterapi run` (a worker's isolated subinterpreter), next to
# the seed project's App() 1,510 ns, WebSocket() 1,567 ns and SSEConnection() 496 ns. Target:
# >= 2x faster. objects_bench.py says how they are paired.
#
#   bench/objects/run.sh               # needs build/release (cmake --preset release)
#   ROUNDS=5 bench/objects/run.sh
#
# Environment: ROUNDS (3), FASTERAPI_PYTHON (default: the one in build/release/CMakeCache.txt),
# QUIET_WAIT (5) and QUIET_MAX (0.15) as in bench/stdio/run.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null 2>&1 || { echo "objects/run.sh: python3 is not on PATH" >&2; exit 1; }
exec python3 "$here/objects_bench.py" "$@"
