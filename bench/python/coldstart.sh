#!/bin/sh
# bench/python/coldstart.sh: cold start and idle RSS. Spawns `fasterapi run` with 2 workers on the
# quickstart (examples/quickstart/server.py) and on bench/python/echo_app.py, the TS SDK echo
# server (bench/stdio/ts_echo_server.mjs) and the C echo example, sends initialize +
# notifications/initialized + tools/list at once, and measures the time from spawn to the
# tools/list reply, then to a first tools/call reply, and VmRSS after 1 s idle. Medians of ROUNDS
# runs. Targets: <= 150 ms and <= 60 MB (TS SDK ~300 ms / 85 MB, Python SDK ~1.1 s / 63 MB as
# external references). coldstart.py has the method.
#
#   bench/python/coldstart.sh          # needs build/release (cmake --preset release), node
#   ROUNDS=7 WORKERS=2 bench/python/coldstart.sh
#
# Environment: ROUNDS (9; at least 7 for the targets), WORKERS (2), IDLE_S (1.0), NOPYC (1: also
# a row without byte-code cache, as this box's PYTHONDONTWRITEBYTECODE=1 gives it), WITH_C (1; 0
# leaves out the C example), QUIET_WAIT (5) and QUIET_MAX (0.15) as in bench/stdio/run.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null 2>&1 || { echo "coldstart.sh: python3 is not on PATH" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "coldstart.sh: node is not on PATH" >&2; exit 1; }
exec python3 "$here/coldstart.py" "$@"
