#!/bin/sh
# Install what building and testing FasterAPI needs. Idempotent: it only installs what is missing.
#
#   scripts/bootstrap.sh          build dependencies (compiler, cmake, libuv, jansson, Check, ...)
#   scripts/bootstrap.sh --test   also what the tests need (clang for fuzzers, clang-format, node)
#
# As root it runs apt-get; otherwise it prints the exact command to run and exits 1 if anything is
# missing. At the end it finds the Python to embed (scripts/find_python.sh) and prints it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

pkgs="gcc make cmake pkg-config libuv1-dev libjansson-dev check libssl-dev"
if [ $want_test = 1 ]; then
    # clang + libclang-rt: libFuzzer harnesses and the fuzz preset; clang-format-14: the pinned
    # formatter (.clang-format); nodejs/npm: the official TypeScript SDK client and server;
    # python3-autobahn: the WebSocket conformance driver; nginx-light + its echo module: the
    # reference server the HTTP bad-input tests are proven against (tests/integration/http);
    # python3-pydantic: real pydantic.Field through the host on Debian's 3.11 (issue 9).
    pkgs="$pkgs clang libclang-rt-14-dev clang-format-14 python3-autobahn nginx-light"
    pkgs="$pkgs python3-pydantic"
    pkgs="$pkgs libnginx-mod-http-echo"
    # python3-fastapi + python3-uvicorn: the peer of the Python web benchmark (bench/http
    # python_web.py) and the reference the web app's FastAPI-compatibility tests compare with.
    pkgs="$pkgs python3-fastapi python3-uvicorn"
    # chromium: the headless browser the web App's /docs page is tested in.
    pkgs="$pkgs chromium"
    command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
    command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
fi

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=""
for p in $pkgs; do
    installed "$p" || missing="$missing $p"
done

# Python: prefer a shared CPython >= 3.12; when none exists fall back to Debian's 3.11.
if ! "$here/find_python.sh" >/dev/null 2>&1; then
    installed libpython3.11-dev || missing="$missing libpython3.11-dev python3.11"
fi

if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ]; then
        echo "bootstrap: installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        # shellcheck disable=SC2086
        if ! apt-get install -y --no-install-recommends $missing; then
            apt-get update
            # shellcheck disable=SC2086
            apt-get install -y --no-install-recommends $missing
        fi
    else
        echo "bootstrap: missing packages:$missing" >&2
        echo "bootstrap: run: sudo apt-get install -y$missing" >&2
        exit 1
    fi
fi

py=$("$here/find_python.sh" -v)
echo "bootstrap: ok (python: $py)"
