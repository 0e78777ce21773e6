#!/bin/sh
# Builds and runs every test: the main suite in the `ci` preset (-Werror, all labels: unit,
# fuzz corpus replay, integration, lint), then the unit tests and fuzz corpora under ASan+UBSan
# and the unit tests under TSan, then the Python host's tests (unit, package, integration) on a
# build embedding Debian's Python 3.11, the shared-GIL fallback mode (DESIGN.md §4), when the
# main build embeds a newer Python. Prints one summary line per suite and a final verdict.
#   scripts/test_all.sh           everything (what `make test` and .ci/run do)
#   scripts/test_all.sh --quick   the main suite only
set -u
cd "$(dirname "$0")/.." || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/bootstrap.sh --test || exit 1

summary=""
status=0
run_suite() { # preset
    preset=$1
    echo "==> [$preset] configure and build"
    if ! cmake --preset "$preset" >"build-$preset.log" 2>&1 || \
       ! cmake --build --preset "$preset" -j "$jobs" >>"build-$preset.log" 2>&1; then
        tail -50 "build-$preset.log"
        summary="$summary
  $preset: BUILD FAILED (see build-$preset.log)"
        status=1
        return
    fi
    rm -f "build-$preset.log"
    echo "==> [$preset] ctest"
    out=$(mktemp)
    rcfile=$(mktemp)
    # POSIX sh has no pipefail: carry ctest's exit status out of the pipe in a file.
    { ctest --preset "$preset" -j "$jobs" 2>&1; echo $? >"$rcfile"; } | tee "$out"
    rc=$(cat "$rcfile")
    line=$(grep -E "tests passed|tests failed" "$out" | tail -1)
    rm -f "$out" "$rcfile"
    [ -z "$line" ] && line="no summary (ctest exit $rc)"
    if [ "$rc" != 0 ] || ! echo "$line" | grep -q " 0 tests failed"; then
        status=1
    fi
    summary="$summary
  $preset: $line"
}

run_suite ci
if [ $quick = 0 ]; then
    run_suite asan
    run_suite tsan
    if [ "$(scripts/find_python.sh 2>/dev/null)" != "$(readlink -f /usr/bin/python3.11 2>/dev/null)" ]; then
        run_suite py311
    fi
fi
echo
echo "==> summary$summary"
if [ $status = 0 ]; then
    echo "ALL TEST SUITES PASSED"
else
    echo "SOME TEST SUITES FAILED"
fi
exit $status
