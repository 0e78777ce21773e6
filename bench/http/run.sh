#!/bin/sh
# bench/http/run.sh: FasterAPI's C HTTP/1.1 + WebSocket server against nginx and npm ws, peers
# measured in the same run, interleaved; prints ONE markdown table of medians, ratios and
# targets, and writes every raw run to bench/results/http-<UTC stamp>.json.
#
#   cmake --preset release && cmake --build build/release -j2
#   bench/http/run.sh                        # from the repo root (or anywhere)
#   ROUNDS=5 DURATION=10 PARTS="http ws" bench/http/run.sh
#
# What it measures (http_bench.py has the method):
#   http   wrk -t1 -c64 + the TechEmpower Accept/Connection headers on /plaintext, plain and
#          pipelined x16 (pipeline.lua): examples/techempower with --io-threads 1 vs nginx with 1
#          worker (targets >= 1.0x plain, >= 1.5x pipelined), then 2 I/O threads vs 2 workers;
#          /json for reference.
#   ws     ws_load (this folder, C) against our /ws echo (examples/embed_c web example) and an
#          npm ws echo server: messages/s and server CPU per message (target <= 0.5x ws's).
#   scale  10,000 idle keep-alive connections: server RSS growth per connection (target
#          <= 4 KiB) and wrk -c64 throughput with them open vs without (target >= 0.90).
# When the FasterAPI servers are not built it measures the peers alone and says so.
#
# Environment: ROUNDS (3), DURATION (5: seconds per wrk/ws_load run), WARMUP (1 s per server),
# CONNS (64), WRK_THREADS (1), PIPELINE (16), PARTS ("http ws scale"), WS_CONNS (32), WS_WINDOW
# (16), WS_IO_THREADS (1, like node's one event loop), WS_MODES ("text:32 binary:1024"),
# IDLE_CONNS (10000), WITH_FA (1; 0 = peers only), QUIET_WAIT (5) and QUIET_MAX (0.2): before
# each run, wait up to QUIET_WAIT seconds until the rest of the box uses less than QUIET_MAX
# CPUs; OTHERS_MAX (0.2): a run during which other processes used more CPUs than this is flagged
# (kept in the medians, counted in a warning). NICE (0; e.g. -5 as root puts every server and
# client ahead of other work on a shared box, the same for both sides). FA_TE, FA_WEB (server
# binaries), NGINX, BUILD_DIR (build/release) override paths.
#
# It installs what is missing: wrk and nginx-light from Debian (apt-get, as root), and npm ws
# (pinned in package.json/package-lock.json here) into build/bench-http/node_modules.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

command -v python3 >/dev/null 2>&1 || { echo "http/run.sh: python3 is not on PATH" >&2; exit 1; }

apt_install() { # package...
    if [ "$(id -u)" -ne 0 ]; then
        echo "http/run.sh: $* missing; install it (apt-get install $*) or run as root" >&2
        exit 1
    fi
    echo "http/run.sh: installing $* (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
        >/dev/null 2>&1 || {
        apt-get update -q >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
            >/dev/null
    }
}

command -v wrk >/dev/null 2>&1 || apt_install wrk
if [ -z "${NGINX:-}" ]; then
    if command -v nginx >/dev/null 2>&1; then
        NGINX=$(command -v nginx)
    elif [ -x /usr/sbin/nginx ]; then
        NGINX=/usr/sbin/nginx
    else
        apt_install nginx-light
        NGINX=/usr/sbin/nginx
    fi
fi
export NGINX

case " ${PARTS:-http ws scale} " in
*" ws "*)
    command -v node >/dev/null 2>&1 || { echo "http/run.sh: node is not on PATH" >&2; exit 1; }
    NODE_DIR=${NODE_DIR:-$root/build/bench-http}
    export NODE_DIR
    if [ ! -f "$NODE_DIR/node_modules/ws/package.json" ] ||
        ! cmp -s "$here/package-lock.json" "$NODE_DIR/package-lock.json"; then
        echo "http/run.sh: installing npm ws into ${NODE_DIR#"$root"/} (npm ci)" >&2
        mkdir -p "$NODE_DIR"
        cp "$here/package.json" "$here/package-lock.json" "$NODE_DIR/"
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || {
            echo "http/run.sh: npm ci failed" >&2
            exit 1
        }
    fi
    ;;
esac

# 10,000 idle connections need as many descriptors in the server and in the client; every
# process started from here inherits this (http_bench.py raises it again when it can).
# shellcheck disable=SC3045 # dash and bash both have ulimit -n and -H
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec python3 "$here/http_bench.py" "$@"
