#!/usr/bin/env python3
"""bench/http/python_web.py: the Python web app (examples/techempower/app.py under `fasterapi run
--http`) against the same file under FastAPI + uvicorn (Debian's python3-fastapi and
python3-uvicorn, the import line swapped) and against our C /json route
(examples/techempower, the C API), all in the same run, interleaved; prints one markdown table
of medians and ratios against the targets of issue 8 (Python /json >= 10x uvicorn and >= 50% of
the C /json), and the scaling of the Python app from 1 to 2 workers.

    cmake --preset release && cmake --build build/release -j2
    python3 bench/http/python_web.py          # ROUNDS=3 DURATION=5 WORKERS="1 2"

Method: wrk -t1 -c64 with the TechEmpower Accept/Connection headers (http_bench.run_wrk: waits
for a quiet box, flags runs during which other processes were busy), each server warmed up for
WARMUP seconds, the order of the servers rotated every round; the value is the median over
ROUNDS. uvicorn runs with its defaults (one process, the asyncio loop, httptools when present),
as `uvicorn app:app` is run in FastAPI's own tutorial. Raw runs go to
bench/results/python-web-<stamp>.json.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import http_bench as hb  # noqa: E402  (Server, run_wrk, free_port, the quiet gate)

bl = hb.bl
FA_CLI = os.environ.get("FA_CLI") or os.path.join(bl.BUILD, "fasterapi")
APP = os.path.join(bl.ROOT, "examples", "techempower", "app.py")
UVICORN_PY = os.environ.get("UVICORN_PYTHON") or "/usr/bin/python3"
WORKERS = [int(w) for w in (os.environ.get("WORKERS") or "1 2").split()]

RUNS: List[Dict[str, Any]] = []


def start_python(workers: int) -> hb.Server:
    port = hb.free_port()
    return hb.Server("python-%d" % workers, "FasterAPI Python, %d worker%s" % (workers, "s" if workers > 1 else ""),
                     [FA_CLI, "run", APP, "--http", "127.0.0.1:%d" % port, "--workers", str(workers),
                      "--log-level", "warn"], port)


def start_uvicorn(tmp: str) -> hb.Server:
    with open(APP) as f:
        src = f.read()
    swapped = src.replace("from fasterapi import App, PlainTextResponse",
                          "from fastapi import FastAPI as App\nfrom fastapi.responses import PlainTextResponse")
    if swapped == src:
        bl.die("python_web.py: cannot swap the import line of %s" % APP)
    with open(os.path.join(tmp, "te_fastapi.py"), "w") as f:
        f.write(swapped)
    port = hb.free_port()
    # Through env, so that the module is found in tmp whatever the cwd of Server is.
    return hb.Server("uvicorn", "FastAPI + uvicorn", ["env", "PYTHONPATH=" + tmp, UVICORN_PY, "-m", "uvicorn",
                                                      "te_fastapi:app", "--port", str(port),
                                                      "--log-level", "warning"], port)


def start_c() -> hb.Server:
    port = hb.free_port()
    return hb.Server("c", "FasterAPI C route", [hb.FA_TE, "--port", str(port), "--io-threads", "1"], port)


def med(key: str, path: str, field: str = "rps") -> Optional[float]:
    return bl.median(r[field] for r in RUNS if r["server"] == key and r["path"] == path and r.get("valid"))


def main() -> None:
    bl.need_build(FA_CLI, hb.FA_TE)
    if subprocess.run([UVICORN_PY, "-c", "import fastapi, uvicorn"], capture_output=True).returncode:
        bl.die("python_web.py: %s cannot import fastapi and uvicorn (apt-get install python3-fastapi "
               "python3-uvicorn, or scripts/bootstrap.sh --test)" % UVICORN_PY)
    tmp = tempfile.mkdtemp(prefix="pyweb-")
    hb.TMP = tmp
    meta = {"code": bl.code_version(), "machine": bl.machine_meta(), "rounds": hb.ROUNDS,
            "duration_s": hb.DURATION, "conns": hb.CONNS, "wrk_threads": hb.WRK_THREADS,
            "workers": WORKERS, "loadavg_before": bl.loadavg()}
    servers: List[hb.Server] = []
    try:
        servers = [start_c(), start_uvicorn(tmp)] + [start_python(w) for w in WORKERS]
        for s in servers:
            hb.run_wrk(s, "/json", 1, hb.WARMUP, measure=False)
        for rnd in range(1, hb.ROUNDS + 1):
            k = rnd % len(servers)
            for s in servers[k:] + servers[:k]:
                paths = ["/json", "/plaintext"] if s.key.startswith("python") else ["/json"]
                for path in paths:
                    r = hb.run_wrk(s, path, 1, hb.DURATION)
                    r.update(server=s.key, path=path, round=rnd)
                    RUNS.append(r)
                    print("round %d %-10s %-10s %s req/s%s" % (rnd, s.key, path, bl.fmt(r["rps"], "%.0f"),
                                                               "" if r["valid"] else " (INVALID)"),
                          file=sys.stderr)
    finally:
        for s in servers:
            s.stop()
        meta["loadavg_after"] = bl.loadavg()
    uv = med("uvicorn", "/json")
    c = med("c", "/json")
    best = max(WORKERS)

    def ratio(v: Optional[float], ref: Optional[float], f: str) -> str:
        return f % (v / ref) if v and ref else "n/a"

    rows = []
    for w in WORKERS:
        name = "%d worker%s" % (w, "s" if w > 1 else "")
        py = med("python-%d" % w, "/json")
        rows.append(["Python /json, " + name, bl.fmt(py, "%.0f"), ratio(py, uv, "%.1fx"),
                     "%.0f%%" % (100 * py / c) if py and c else "n/a",
                     bl.fmt(med("python-%d" % w, "/json", "server_cpu_us_per_req"), "%.1f")])
        pt = med("python-%d" % w, "/plaintext")
        rows.append(["Python /plaintext, " + name, bl.fmt(pt, "%.0f"), "", "",
                     bl.fmt(med("python-%d" % w, "/plaintext", "server_cpu_us_per_req"), "%.1f")])
    rows.append(["FastAPI + uvicorn /json", bl.fmt(uv, "%.0f"), "1.0x", "",
                 bl.fmt(med("uvicorn", "/json", "server_cpu_us_per_req"), "%.1f")])
    rows.append(["C route /json (examples/techempower)", bl.fmt(c, "%.0f"), "", "100%",
                 bl.fmt(med("c", "/json", "server_cpu_us_per_req"), "%.1f")])
    print("\n### Python web app vs FastAPI + uvicorn (wrk -t%d -c%d, %ds x %d rounds, medians)\n"
          % (hb.WRK_THREADS, hb.CONNS, hb.DURATION, hb.ROUNDS))
    bl.table(["server", "req/s", "vs uvicorn", "of C /json", "server CPU us/req"], rows)
    py = med("python-%d" % best, "/json")
    print("\nTargets (issue 8): Python /json >= 10x uvicorn: %s; >= 50%% of the C /json: %s"
          % (bl.verdict(py / uv >= 10 if py and uv else None), bl.verdict(py / c >= 0.5 if py and c else None)))
    if len(WORKERS) > 1:
        for path in ("/json", "/plaintext"):
            lo, hi = med("python-%d" % min(WORKERS), path), med("python-%d" % best, path)
            print("Scaling %d -> %d workers, %s: %s" % (min(WORKERS), best, path,
                                                        bl.fmt(hi / lo if hi and lo else None, "%.2fx")))
    print("(the load generator shares the %d CPUs with the server)" % (os.cpu_count() or 0))
    path = bl.write_result("python-web", {"meta": meta, "runs": RUNS})
    print("Raw results: %s" % path)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
