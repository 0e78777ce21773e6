#!/usr/bin/env python3
"""bench/http/onemrc.py: the One Million Request Challenge (examples/1mrc) under `fasterapi run
--http`, and the same file under FastAPI + uvicorn for a smaller N, in the same run.

    cmake --preset release && cmake --build build/release -j2 --target fasterapi_cli onemrc_load
    python3 bench/http/onemrc.py        # ROUNDS=3 N=1000000 UV_N=20000 WORKERS=2 CONNS=64 WINDOW=1

Each round starts fresh servers (the totals are checked from zero): FasterAPI with WORKERS
workers takes N events, uvicorn (Debian's python3-fastapi 0.92 + python3-uvicorn 0.17, defaults,
one process; the app's import line swapped) takes UV_N; the order alternates by round. Events
are sent by bench/http/onemrc_load (C, epoll: CONNS keep-alive connections, WINDOW requests in
flight on each, exactly N requests; the server's CPU per request from /proc) and then GET /stats
is checked against examples/1mrc/load.py's expected totals, exactly, and (FasterAPI) that each
worker took events. Before each run the box must be quiet (benchlib.wait_quiet, QUIET_MAX CPUs
busy, up to QUIET_WAIT s); the level found is stored. Prints a markdown table of medians and the
ratio (median of per-round ratios); raw runs go to bench/results/onemrc-<stamp>.json.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import benchlib as bl  # noqa: E402  (quiet wait, medians, results)

ROOT = bl.ROOT
FA_CLI = os.environ.get("FA_CLI") or os.path.join(bl.BUILD, "fasterapi")
LOADER = os.environ.get("ONEMRC_LOAD") or os.path.join(bl.BUILD, "bench", "http", "onemrc_load")
APP = os.path.join(ROOT, "examples", "1mrc", "app.py")
UVICORN_PY = os.environ.get("UVICORN_PYTHON") or "/usr/bin/python3"
ROUNDS = bl.env_int("ROUNDS", 3)
N = bl.env_int("N", 1_000_000)
UV_N = bl.env_int("UV_N", 20_000)
WORKERS = bl.env_int("WORKERS", 2)
CONNS = bl.env_int("CONNS", 64)
WINDOW = bl.env_int("WINDOW", 1)
USERS = bl.env_int("USERS", 10_000)
QUIET_WAIT = bl.env_float("QUIET_WAIT", 5.0)
QUIET_MAX = bl.env_float("QUIET_MAX", 0.2)
START_TIMEOUT = 30.0

_spec = importlib.util.spec_from_file_location("onemrc_load_py", os.path.join(ROOT, "examples", "1mrc", "load.py"))
assert _spec is not None and _spec.loader is not None
load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(load)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A server process; ready once `ready` matches its output (or its port answers)."""

    def __init__(self, cmd: List[str], port: int, errpath: str, env: Optional[Dict[str, str]] = None,
                 ready: Optional[str] = None, cwd: Optional[str] = None) -> None:
        self.port = port
        self.errpath = errpath
        self.err = open(errpath, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err,
                                     env=env, cwd=cwd)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("%s ended: %s" % (cmd[0], self.tail()))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("%s did not start: %s" % (cmd[0], self.tail()))
            if ready is not None:
                if re.search(ready, self.tail()):
                    break
            else:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    pass
            time.sleep(0.05)

    def tail(self) -> str:
        with open(self.errpath, "rb") as f:
            return f.read()[-3000:].decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()


def start_fasterapi(tmp: str) -> Proc:
    port = free_port()
    # The "serving FILE: ..." line: every worker interpreter is up (before it the early worker,
    # in the main interpreter, serves alone).
    return Proc([FA_CLI, "run", APP, "--http", "127.0.0.1:%d" % port, "--workers", str(WORKERS),
                 "--log-level", "info"], port, os.path.join(tmp, "fasterapi-%d.err" % port),
                ready=r"serving \S+: .*Python")


def start_uvicorn(tmp: str) -> Proc:
    with open(APP) as f:
        src = f.read()
    swapped = src.replace("from fasterapi import App, HTTPException", "from fastapi import FastAPI as App, HTTPException")
    if swapped == src:
        bl.die("onemrc.py: cannot swap the import line of %s" % APP)
    with open(os.path.join(tmp, "onemrc_fastapi.py"), "w") as f:
        f.write(swapped)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = tmp + os.pathsep + os.path.join(ROOT, "python")  # fasterapi.shared
    return Proc([UVICORN_PY, "-m", "uvicorn", "onemrc_fastapi:app", "--port", str(port), "--log-level", "warning"],
                port, os.path.join(tmp, "uvicorn-%d.err" % port), env=env, cwd=tmp)


def run_one(key: str, srv: Proc, n: int, workers: int) -> Dict[str, Any]:
    level, waited = bl.wait_quiet(QUIET_MAX, QUIET_WAIT)
    cmd = [LOADER, "-p", str(srv.port), "-n", str(n), "-c", str(CONNS), "-W", str(WINDOW), "-u", str(USERS),
           "-P", str(srv.proc.pid)]
    p = subprocess.run(cmd, capture_output=True, timeout=max(120.0, n / 500.0))
    try:
        r: Dict[str, Any] = json.loads(p.stdout)
    except ValueError:
        r = {"error": "onemrc_load printed no result: %r %r" % (p.stdout[-300:], p.stderr[-300:])}
    r.update(server=key, busy_before=round(level, 2), quiet_waited_s=round(waited, 1), loadavg=bl.loadavg())
    try:
        stats = load.get_stats("127.0.0.1", srv.port)
    except Exception as e:  # noqa: BLE001 - recorded, the run is invalid
        stats = {"error": str(e)}
    problems = load.check(stats, load.expected_totals(n, USERS), n, workers) if "error" not in stats else [stats["error"]]
    if r.get("error"):
        problems.insert(0, str(r["error"]))
    if r.get("ok") != n:
        problems.insert(0, "%s of %d answered 200 (%r)" % (r.get("ok"), n, r.get("status")))
    r.update(stats=stats, exact=not problems, problems=problems)
    return r


def main() -> None:
    bl.need_build(FA_CLI, LOADER)
    have_uv = subprocess.run([UVICORN_PY, "-c", "import fastapi, uvicorn"], capture_output=True).returncode == 0
    if not have_uv:
        print("(%s cannot import fastapi and uvicorn: FasterAPI only; apt-get install python3-fastapi "
              "python3-uvicorn, or scripts/bootstrap.sh --test)" % UVICORN_PY, file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="onemrc-")
    meta = {"code": bl.code_version(), "machine": bl.machine_meta(), "rounds": ROUNDS, "n": N, "uv_n": UV_N,
            "workers": WORKERS, "conns": CONNS, "window": WINDOW, "users": USERS}
    runs: List[Dict[str, Any]] = []
    try:
        for rnd in range(1, ROUNDS + 1):
            order = ["fasterapi", "uvicorn"] if rnd % 2 else ["uvicorn", "fasterapi"]
            for key in order:
                if key == "uvicorn" and not have_uv:
                    continue
                srv = start_fasterapi(tmp) if key == "fasterapi" else start_uvicorn(tmp)
                try:
                    r = run_one(key, srv, N if key == "fasterapi" else UV_N, WORKERS if key == "fasterapi" else 0)
                finally:
                    srv.stop()
                r["round"] = rnd
                runs.append(r)
                print("round %d %-9s %7d events %7.2f s %8.0f req/s  server %5.1f us/req  %s"
                      % (rnd, key, r.get("n", 0), r.get("seconds", 0.0), r.get("rps", 0.0),
                         r.get("server_cpu_us_per_req", 0.0),
                         "exact" if r["exact"] else "WRONG: " + "; ".join(r["problems"])), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(key: str, field: str, sub: Optional[str] = None) -> Optional[float]:
        return bl.median((r.get(field) or {}).get(sub) if sub else r.get(field)
                         for r in runs if r["server"] == key and r["exact"])

    ratios = []
    for rnd in range(1, ROUNDS + 1):
        pair = {r["server"]: r for r in runs if r["round"] == rnd and r["exact"]}
        if "fasterapi" in pair and "uvicorn" in pair and pair["uvicorn"].get("rps"):
            ratios.append(pair["fasterapi"]["rps"] / pair["uvicorn"]["rps"])
    ratio = bl.median(ratios)
    rows = []
    for key, name, n in (("fasterapi", "FasterAPI, %d workers" % WORKERS, N), ("uvicorn", "FastAPI + uvicorn", UV_N)):
        if not any(r["server"] == key for r in runs):
            continue
        exact = sum(1 for r in runs if r["server"] == key and r["exact"])
        total = sum(1 for r in runs if r["server"] == key)
        rows.append([name, "{:,}".format(n), bl.fmt(med(key, "seconds"), "%.2f"), bl.fmt(med(key, "rps"), "%.0f"),
                     bl.fmt(med(key, "server_cpu_us_per_req"), "%.1f"), bl.fmt(med(key, "latency_ms", "p50"), "%.2f"),
                     bl.fmt(med(key, "latency_ms", "p99"), "%.2f"), "%d/%d" % (exact, total)])
    print("\n### 1MRC: POST /event x N then GET /stats (onemrc_load -c%d -W%d, %d rounds, medians)\n"
          % (CONNS, WINDOW, ROUNDS))
    bl.table(["server", "events", "total s", "req/s", "server CPU us/req", "p50 ms", "p99 ms", "exact runs"], rows)
    fa = med("fasterapi", "rps")
    print("\nFasterAPI / uvicorn req/s: %s (median of per-round ratios); target (issue 8) >= 50k req/s: %s"
          % (bl.fmt(ratio, "%.1fx"), bl.verdict(fa >= 50000 if fa else None)))
    print("Every run exact: %s" % bl.verdict(all(r["exact"] for r in runs) if runs else None))
    print("(the load generator shares the %d CPUs with the server; load average %s)" % (os.cpu_count() or 0, bl.loadavg()))
    path = bl.write_result("onemrc", {"meta": meta, "runs": runs, "ratio_rps": ratio, "ratios": ratios})
    print("Raw results: %s" % path)
    if not all(r["exact"] for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
