#!/usr/bin/env python3
"""bench/http/python_ws.py: WebSocket echo with a Python handler (bench/http/py_ws_echo.py under
`fasterapi run --http`) against the npm `ws` echo server (ws_echo_server.cjs, one node event
loop) and, for reference, our C echo (examples/embed_c web_server /ws), all in the same run,
interleaved; prints one markdown table of medians: messages/s and server CPU time per message,
with the target of issue 8 (the Python handler's CPU per message <= 1/2 of ws's).

    cmake --preset release && cmake --build build/release -j2
    PARTS=ws bench/http/run.sh --help >/dev/null 2>&1 || true   # (installs npm ws; or npm ci)
    python3 bench/http/python_ws.py      # ROUNDS=3 DURATION=5 WORKERS="1" WS_MODES="text:32 binary:1024"
    FA_CLI_BASE=/other/build/release/fasterapi python3 bench/http/python_ws.py   # A/B in the same rounds

Method: ws_load (C, this folder) keeps WS_CONNS connections with WS_WINDOW messages in flight
each, after WARMUP seconds, for DURATION seconds; the server's CPU time is read from /proc for
the server process (with every thread: the I/O loop and the worker interpreters) over the run,
so CPU per message counts everything the server spends, Python included. The Python server runs
with --io-threads 1 (node has one event loop); WORKERS lists the worker interpreter counts to
measure (default 1: one Python thread against node's one thread). Each run waits for a quiet box
(http_bench's gate) and flags runs during which other processes were busy. The value is the
median over ROUNDS, the order of the servers rotated every round. Raw runs go to
bench/results/python-ws-<stamp>.json.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import http_bench as hb  # noqa: E402  (Server, run_ws, free_port, the quiet gate)

bl = hb.bl
FA_CLI = os.environ.get("FA_CLI") or os.path.join(bl.BUILD, "fasterapi")
APP = os.path.join(HERE, "py_ws_echo.py")
WORKERS = [int(w) for w in (os.environ.get("WORKERS") or "1").split()]
# FA_CLI_BASE: another build's CLI (e.g. main's) measured in the same rounds, for an A/B that
# does not depend on how busy the box was in another sitting.
FA_CLI_BASE = os.environ.get("FA_CLI_BASE")

RUNS: List[Dict[str, Any]] = []


def start_python(workers: int, cli: str = FA_CLI, tag: str = "python") -> hb.Server:
    port = hb.free_port()
    return hb.Server("%s-%d" % (tag, workers), "FasterAPI Python handler%s, %d worker%s" % (
                         " (%s)" % cli if tag != "python" else "", workers, "s" if workers > 1 else ""),
                     [cli, "run", APP, "--http", "127.0.0.1:%d" % port, "--workers", str(workers),
                      "--io-threads", str(hb.WS_IO_THREADS), "--log-level", "warn"], port)


def med(key: str, mode: str, field: str) -> Optional[float]:
    return bl.median(r[field] for r in RUNS if r["server"] == key and r["mode"] == mode and r.get("valid")
                     and r.get(field) is not None)


def paired(key: str, mode: str, field: str) -> Optional[float]:
    """Median over rounds of key's figure / ws's figure from the same round (run back to back)."""
    by: Dict[int, Dict[str, float]] = {}
    for r in RUNS:
        if r["mode"] == mode and r.get("valid") and r.get(field):
            by.setdefault(r["round"], {})[r["server"]] = r[field]
    return bl.median([v[key] / v["ws"] for v in by.values() if key in v and "ws" in v])


def main() -> None:
    bl.need_build(FA_CLI, hb.WS_LOAD)
    if not os.path.isfile(os.path.join(hb.NODE_DIR, "node_modules", "ws", "package.json")):
        bl.die("python_ws.py: npm ws is not in %s (run `PARTS=ws bench/http/run.sh` once, or npm ci there "
               "with bench/http/package*.json)" % hb.NODE_DIR)
    tmp = tempfile.mkdtemp(prefix="pyws-")
    hb.TMP = tmp
    meta = {"code": bl.code_version(), "machine": bl.machine_meta(), "rounds": hb.ROUNDS,
            "duration_s": hb.DURATION, "ws_conns": hb.WS_CONNS, "ws_window": hb.WS_WINDOW,
            "io_threads": hb.WS_IO_THREADS, "workers": WORKERS, "loadavg_before": bl.loadavg()}
    servers: List[hb.Server] = []
    try:
        servers = [start_python(w) for w in WORKERS] + [hb.start_node_ws()]
        if FA_CLI_BASE:
            servers += [start_python(w, FA_CLI_BASE, "base") for w in WORKERS]
        if os.access(hb.FA_WEB, os.X_OK):
            c = hb.start_fa_web()
            c.key, c.name = "c", "FasterAPI C handler (embed_c web_server)"
            servers.append(c)
        for s in servers:
            no = hb.has_ws(s)
            if no:
                bl.die("python_ws.py: %s has no WebSocket at /ws: %s\n%s" % (s.name, no, s.tail()))
        for rnd in range(1, hb.ROUNDS + 1):
            for j, mode in enumerate(hb.WS_MODES):
                kind, _, size = mode.partition(":")
                k = (rnd + j) % len(servers)
                for s in servers[k:] + servers[:k]:
                    r = hb.run_ws(s, kind == "binary", int(size or 32))
                    r.update(server=s.key, mode=mode, round=rnd)
                    died = s.died()
                    if died:
                        r["valid"] = False
                        r["server_died"] = died
                    RUNS.append(r)
                    print("round %d %-9s %-12s %s msg/s  server %s us/msg%s%s" % (
                        rnd, s.key, mode, bl.fmt(r.get("msgs_per_s"), "%.0f"),
                        bl.fmt(r.get("server_cpu_us_per_msg"), "%.2f"),
                        " [busy box %.2f]" % r.get("others_cpus", 0) if r.get("flagged") else "",
                        "" if r.get("valid") else " INVALID " + str(r.get("output", ""))[-200:]),
                        file=sys.stderr, flush=True)
                    if died:
                        bl.die("%s %s:\n%s" % (s.name, died, s.tail()))
    finally:
        for s in servers:
            s.stop()
        meta["loadavg_after"] = bl.loadavg()
    names = {s.key: s.name for s in servers}
    rows = []
    verdicts = []
    for mode in hb.WS_MODES:
        for key in [s.key for s in servers]:
            rate = med(key, mode, "msgs_per_s")
            cpu = med(key, mode, "server_cpu_us_per_msg")
            rc = paired(key, mode, "server_cpu_us_per_msg") if key != "ws" else None
            target = ""
            if key.startswith(("python", "base")):
                ok = None if rc is None else rc <= 0.5
                verdicts.append((key, mode, ok))
                target = bl.verdict(ok)
            rows.append([mode, names[key], bl.fmt(rate, "%.0f"),
                         bl.fmt(paired(key, mode, "msgs_per_s"), "%.2fx") if key != "ws" else "1.00x",
                         bl.fmt(med(key, mode, "lat_p99_us"), "%.0f"), bl.fmt(cpu, "%.2f"),
                         bl.fmt(rc, "%.2fx") if key != "ws" else "1.00x", target])
    print("\n### WebSocket echo: Python handler vs npm ws (ws_load -c%d -W%d, %ds x %d rounds, medians)\n"
          % (hb.WS_CONNS, hb.WS_WINDOW, hb.DURATION, hb.ROUNDS))
    bl.table(["msg", "server", "msgs/s", "vs ws", "p99 us", "server CPU us/msg", "CPU vs ws",
              "target <= 0.5x"], rows)
    print("(one I/O thread each; the load generator shares the %d CPUs with the server; load %s -> %s)"
          % (os.cpu_count() or 0, meta["loadavg_before"], meta["loadavg_after"]))
    path = bl.write_result("python-ws", {"meta": meta, "runs": RUNS})
    print("Raw results: %s" % path)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
