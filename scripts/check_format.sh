#!/bin/sh
# Checks every tracked C source against .clang-format with the pinned clang-format major (14).
# Exit 77 (ctest "skipped") when that version is not installed; 1 with the offending files listed.
cd "$(dirname "$0")/.." || exit 1
cf=""
for c in clang-format-14 clang-format; do
    if command -v "$c" >/dev/null 2>&1 && "$c" --version | grep -q 'version 14\.'; then
        cf=$c
        break
    fi
done
if [ -z "$cf" ]; then
    echo "check_format: clang-format 14 not found (scripts/bootstrap.sh --test installs it); skipped"
    exit 77
fi
if [ -d .git ]; then
    files=$(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')
else
    files=$(find include src tests fuzz bench examples -name '*.[ch]')
fi
bad=""
for f in $files; do
    [ -f "$f" ] || continue
    if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
        bad="$bad $f"
    fi
done
if [ -n "$bad" ]; then
    echo "check_format: not formatted with $cf (run: $cf -i$bad)"
    exit 1
fi
echo "check_format: $(echo "$files" | wc -w) files ok ($cf)"
