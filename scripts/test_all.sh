#!/bin/sh
# Builds and runs every test: the main suite in the `ci` preset (-Werror, all labels: unit,
# fuzz corpus replay, integration, lint), then the unit tests, fuzz corpora and the integration
# suites labelled leakcheck (tests/integration/CMakeLists.txt: LeakSanitizer on) under ASan+UBSan,
# and the unit tests under TSan, then the Python host's tests (unit, package, integration) on
# every other Python the host supports that is installed: Debian's 3.11 (the shared-GIL fallback
# mode, DESIGN.md §4) and the newest 3.12 (preset py311 with FASTERAPI_PYTHON overridden), when
# the main build embeds something else. Prints one summary line per suite and a final verdict.
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
# run_suite NAME [PYTHON]: configure, build and test the preset NAME; with PYTHON, the py311
# preset's build and tests in build/NAME, embedding PYTHON instead of Debian's 3.11.
run_suite() {
    preset=$1
    dir=build/$preset
    if [ $# -ge 2 ]; then
        conf="--preset py311 -B $dir -DFASTERAPI_PYTHON=$2"
        tests="--test-dir $dir --output-on-failure -R pyhost|python" # the py311 test preset's
    else
        conf="--preset $preset"
        tests="--preset $preset"
    fi
    echo "==> [$preset] configure and build"
    # $conf and $tests are word lists (no spaces inside a word).
    if ! cmake $conf >"build-$preset.log" 2>&1 || \
       ! cmake --build "$dir" -j "$jobs" >>"build-$preset.log" 2>&1; then
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
    { ctest $tests -j "$jobs" 2>&1; echo $? >"$rcfile"; } | tee "$out"
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
    main_py=$(scripts/find_python.sh 2>/dev/null)
    if [ "$main_py" != "$(readlink -f /usr/bin/python3.11 2>/dev/null)" ]; then
        run_suite py311
    fi
    py312=$(scripts/find_python.sh --only 3.12 2>/dev/null) && [ "$py312" != "$main_py" ] &&
        run_suite py312 "$py312"
fi
echo
echo "==> summary$summary"
if [ $status = 0 ]; then
    echo "ALL TEST SUITES PASSED"
else
    echo "SOME TEST SUITES FAILED"
fi
exit $status
