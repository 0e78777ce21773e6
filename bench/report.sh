#!/bin/sh
# bench/report.sh: bench/results/report.md and its PNG plots (also copied to docs/bench/) from
# the newest result of each benchmark; `make bench` runs it last. Needs Debian's
# python3-matplotlib, installed here when missing (apt-get, as root).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
if ! "$PY" -c "import matplotlib" >/dev/null 2>&1; then
    echo "bench/report: installing python3-matplotlib (apt-get)" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get install -y python3-matplotlib >/dev/null 2>&1 ||
        { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y python3-matplotlib >/dev/null; } || {
        echo "bench/report: cannot install python3-matplotlib; no plots" >&2
        exit 1
    }
fi
exec "$PY" "$here/report.py" "$@"
