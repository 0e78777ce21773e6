#!/bin/sh
# bench/gil/run.sh: CPU-bound Python tools on FasterAPI's worker pool. K concurrent calls of a
# pure-Python tool (gil_app.py: burn(n) = sum of squares below n) against three servers:
#   own-gil x2     --workers 2               (default mode: one subinterpreter + GIL per worker)
#   shared-gil x2  --workers 2 --shared-gil  (two threads in the main interpreter, one GIL)
#   x1             --workers 1               (the baseline)
# and prints the median wall time of the batch and the speedup of each against x1. Targets:
# own-gil x2 >= 1.8x, shared-gil x2 <= 1.1x (it cannot scale: that row shows the GIL is what the
# subinterpreters remove). gil_bench.py explains the method.
#
#   bench/gil/run.sh                   # needs build/release (cmake --preset release)
#   ROUNDS=3 K=8 BURN_N=4000000 bench/gil/run.sh
#
# Environment: ROUNDS (5), K concurrent calls per batch (8), BURN_N (4000000: ~150 ms per call
# on this box's EPYC vCPUs with Python 3.13), BURN_WARMUP (2 calls before the batch),
# QUIET_WAIT (30) and QUIET_MAX (0.15): before each batch, wait up to QUIET_WAIT seconds until
# the rest of the box uses less than QUIET_MAX CPUs. This benchmark needs both vCPUs, so it
# waits longer than bench/stdio/run.sh; the level found is printed and stored either way.
#
# No pinning: the point is to let the two workers use both vCPUs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null 2>&1 || { echo "gil/run.sh: python3 is not on PATH" >&2; exit 1; }
exec python3 "$here/gil_bench.py" "$@"
