#!/bin/sh
# Installs the build into a temporary prefix, then builds examples/embed_c against the installed
# headers and library with pkg-config only (what an embedder does) and runs it for one ping.
#   scripts/test_install.sh <build-dir>
set -eu
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in include/fasterapi.h include/fasterapi/mcp.h lib/pkgconfig/fasterapi.pc bin/fasterapi; do
    [ -e "$prefix/$f" ] || { echo "missing after install: $f"; exit 1; }
done
ls "$prefix"/lib/libfasterapi.so* >/dev/null
# The C library is the product for embedders: it must not drag in libpython (DESIGN.md §5).
if ldd "$prefix"/lib/libfasterapi.so | grep -q libpython; then
    echo "libfasterapi.so links libpython"; exit 1
fi
if pkg-config --libs --static --with-path="$prefix/lib/pkgconfig" fasterapi 2>/dev/null | grep -q python; then
    echo "fasterapi.pc names libpython"; exit 1
fi
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -o "$prefix/echo" "$src/examples/embed_c/echo_server.c" \
    $(pkg-config --cflags --libs fasterapi) -lpthread
out=$(printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"ping"}' | "$prefix/echo" --quiet)
[ "$out" = '{"jsonrpc":"2.0","id":1,"result":{}}' ] || { echo "unexpected reply: $out"; exit 1; }
"$prefix/bin/fasterapi" --version | grep -q '^fasterapi ' || { echo "installed CLI broken"; exit 1; }
echo "install ok: headers, shared library, pkg-config and CLI work from $prefix"
