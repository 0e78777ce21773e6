#!/bin/sh
# bench/stdio/run.sh: FasterAPI's C echo example against the official TypeScript SDK v1.x echo
# server (ts_echo_server.mjs), both on stdio, driven by bench_stdio. Prints the medians over
# ROUNDS rounds next to the targets and writes every raw result to bench/results/.
#
#   bench/stdio/run.sh                 # from anywhere; needs build/release (cmake --preset release)
#   ROUNDS=3 LAYOUTS=none bench/stdio/run.sh
#
# Every run measures both layouts, unpinned (`none`, how an AI client launches a server: the
# headline) and pinned (`same`), in interleaved rounds, and the cold start (spawn to the first
# answered tools/call, COLD_ROUNDS runs per server). The driver is bench/python/stdio_py.py
# (SUITE=c), shared with bench/python/run.sh.
#
# Environment: ROUNDS (5), W window (256), WARMUP (2000), N_FA/M_FA pipelined/sequential calls
# for FasterAPI (200000/20000), N_TS/M_TS for the TS SDK (40000/10000: it is slower, and calls/s
# does not depend on N once a phase lasts a few hundred ms), LAYOUTS ("none same"; PIN=X is
# LAYOUTS=X), PIN_CPU (1 on a multi-CPU box, else 0), COLD_ROUNDS (11), FA_ARGS (extra server
# options, e.g. "--workers 1"), QUIET_WAIT (5) and QUIET_MAX (0.15): before each round, wait up
# to QUIET_WAIT seconds until the rest of the box uses less than QUIET_MAX CPUs (sampled over
# 1 s from /proc/stat); the round runs anyway after that, and the level measured is stored with
# each result ("busy_cpus_before").
#
# CPU pinning (PIN). The box has 2 vCPUs shared with other work, and client and server share
# them. A cross-vCPU wake-up is expensive on this VM: a bare C responder answers a sequential
# pipe round trip in ~4 us when it shares the client's vCPU and ~45 us when it does not. Three
# layouts were measured with this script, 3-5 rounds each, on a quiet box and with other
# people's fuzzers running:
#   none   no pinning. The scheduler sometimes co-locates client and server and sometimes not,
#          so sequential results are bimodal (TS SDK 9k or 55k calls/s, FasterAPI 15k or 43k,
#          from one run to the next).
#   split  client on one vCPU, the whole server on the other: every sequential round trip pays
#          two cross-vCPU wake-ups (p50 ~60 us FasterAPI, 35-55 us TS), the widest spread of the
#          three under load (TS pipelined 8k..57k calls/s).
#   same   client and the whole server on one vCPU (PIN_CPU). The default: the only layout with
#          stable sequential latency in every condition (p50 within a few percent run to run,
#          quiet or loaded, for both servers), and equal: each server gets one vCPU shared with
#          the client. Known bias: the TS server loses ~15-20% of pipelined throughput against
#          none/split (57k vs 65-72k calls/s on a quiet box; V8's GC/JIT helper threads lose
#          their own vCPU, the likely reason) while FasterAPI does not (341k-373k in all three),
#          so the pipelined FA/TS ratio is ~6.5x here against ~5.2x with PIN=none or split.
# Server CPU us/call is the most contention-robust figure in every layout.
# The layout is recorded in the result file.
#
# bench/python/run.sh runs the same measurement (this bench_stdio, these N/W/M defaults, the same
# layouts) with a Python echo tool (`fasterapi run bench/python/echo_app.py`) against this TS
# server, both `same` and `none` in one run; bench/README.md lists every benchmark.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null 2>&1 || { echo "run.sh: python3 is not on PATH" >&2; exit 1; }
command -v node >/dev/null 2>&1 || { echo "run.sh: node is not on PATH" >&2; exit 1; }
if [ -n "${PIN:-}" ] && [ -z "${LAYOUTS:-}" ]; then
    LAYOUTS=$PIN
    export LAYOUTS
fi
SUITE=c exec python3 "$here/../python/stdio_py.py" "$@"
