#!/usr/bin/env python3
"""bench/mcp_http/nginx_scale.py: the scale-out row of issue 7 -- modern (2026-07-28, stateless)
`tools/call` of the Python echo through the shipped deploy/nginx.conf, one and two `fasterapi run
--http` instances behind it, against one instance reached directly, in the same run.

    cmake --preset release && cmake --build build/release -j2 --target fasterapi_cli mcp_load
    python3 bench/mcp_http/nginx_scale.py          # ROUNDS=3 DURATION=5 CONNS=32 MODE=modern

Cells, interleaved in every round (the order reverses every other round):
  direct        mcp_load -> instance n1
  nginx, 1      mcp_load -> nginx -> n1 (both upstream entries of the config point at n1)
  nginx, 2      mcp_load -> nginx -> n1 and n2 (the config as shipped: consistent hash on the
                request id for modern requests, so both instances take calls)
The nginx config is deploy/nginx.conf made runnable as tests/integration/nginx/test_nginx.py makes
it (ports, temp paths; `worker_processes auto` = one nginx worker per vCPU). CPU per call counts
every process of the cell: the instance(s), and nginx's master and workers. mcp_load reopens a
connection when nginx ends it after its `keepalive_requests` (1000), as a client does; the count
is reported.

On this 2-vCPU box the load generator, nginx and the instances share two vCPUs, so the figure to
read is the CPU per call and what the proxy adds; more instances can only help on more cores.
Writes bench/results/nginx_scale-<stamp>.json and prints a markdown table of medians.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "nginx"))
import benchlib as bl  # noqa: E402
import test_nginx  # noqa: E402  (make_conf, free_port, wait_port: the config as the CI test runs it)

ROUNDS = bl.env_int("ROUNDS", 3)
DURATION = bl.env_float("DURATION", 5.0)
WARMUP = bl.env_float("WARMUP", 1.0)
CONNS = bl.env_int("CONNS", 32)
MODE = os.environ.get("MODE", "modern")
QUIET_WAIT = bl.env_float("QUIET_WAIT", 5.0)
QUIET_MAX = bl.env_float("QUIET_MAX", 0.3)
MCP_LOAD = os.path.join(bl.BUILD, "bench", "mcp_http", "mcp_load")
APP = os.path.join(HERE, "echo_server.py")
CELLS = ["direct", "nginx, 1 instance", "nginx, 2 instances"]


def children(pid: int) -> List[int]:
    out: List[int] = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def main() -> None:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not nginx:
        bl.die("nginx is not installed (apt-get install nginx-light)")
    bl.need_build(bl.FASTERAPI, MCP_LOAD)
    tmp = tempfile.mkdtemp(prefix="fa-nginx-bench-")
    procs: List[subprocess.Popen] = []
    meta = bl.machine_meta()
    meta.update({"rounds": ROUNDS, "duration_s": DURATION, "conns": CONNS, "mode": MODE})
    print("bench/mcp_http/nginx_scale: %d rounds x %s, %s, %d connections, %.0f s each; load %s" % (
        ROUNDS, ", ".join(CELLS), MODE, CONNS, DURATION, meta["loadavg_before"]))
    print(bl.code_line(meta))
    runs: List[Dict[str, Any]] = []
    try:
        pa, pb, p1, p2 = (test_nginx.free_port() for _ in range(4))
        fronts = {1: "127.0.0.1:%d" % p1, 2: "127.0.0.1:%d" % p2}

        def instance(port: int, node: str) -> subprocess.Popen:
            argv = [bl.FASTERAPI, "run", APP, "--http", "127.0.0.1:%d" % port, "--node-id", node,
                    "--log-level", "warn"]
            for f in fronts.values():
                argv += ["--allow-host", f]
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(tmp, node + ".log"), "w"))
            procs.append(p)
            return p

        def proxy(listen: int, a: int, b: int, name: str) -> subprocess.Popen:
            d = os.path.join(tmp, name)
            os.mkdir(d)
            conf = os.path.join(d, "nginx.conf")
            test_nginx.make_conf(conf, d, listen, a, b)
            p = subprocess.Popen([nginx, "-p", d, "-c", conf, "-e", os.path.join(d, "error.log"),
                                  "-g", "daemon off; pid %s/nginx.pid;" % d],
                                 stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "nginx.log"), "w"))
            procs.append(p)
            return p

        n1, n2 = instance(pa, "n1"), instance(pb, "n2")
        x1, x2 = proxy(p1, pa, pa, "one"), proxy(p2, pa, pb, "two")
        for p, port, log in ((n1, pa, "n1.log"), (n2, pb, "n2.log"), (x1, p1, "one/error.log"),
                             (x2, p2, "two/error.log")):
            test_nginx.wait_port(port, p, log, os.path.join(tmp, log))
        cells = {"direct": (pa, [n1.pid]),
                 "nginx, 1 instance": (p1, [n1.pid, x1.pid] + children(x1.pid)),
                 "nginx, 2 instances": (p2, [n1.pid, n2.pid, x2.pid] + children(x2.pid))}
        for r in range(1, ROUNDS + 1):
            order = CELLS if r % 2 else list(reversed(CELLS))
            for cell in order:
                port, pids = cells[cell]
                busy, _ = bl.wait_quiet(QUIET_MAX, QUIET_WAIT)
                cmd = [MCP_LOAD, "-p", str(port), "-m", MODE, "-c", str(CONNS), "-w", str(WARMUP),
                       "-d", str(DURATION), "-l", cell, "--json"]
                for pid in pids:
                    cmd += ["-P", str(pid)]
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=DURATION + WARMUP + 60)
                try:
                    res = json.loads(out.stdout.strip().splitlines()[-1])
                except (IndexError, ValueError):
                    res = {"valid": False, "error": (out.stderr or out.stdout).strip()[-300:]}
                res.update({"round": r, "cell": cell, "busy_cpus_before": round(busy, 2)})
                runs.append(res)
                print("  round %d %-19s %8.0f calls/s  p50 %6s us  p99 %6s us  CPU %5s us/call  "
                      "reconnects %s  errors %s%s" % (
                          r, cell, res.get("calls_per_s", 0), res.get("lat_p50_us"),
                          res.get("lat_p99_us"), res.get("server_cpu_us_per_call"),
                          res.get("reconnects"), res.get("errors"),
                          "" if res.get("valid") else "  INVALID: " + str(res.get("error"))), flush=True)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    meta["loadavg_after"] = bl.loadavg()
    path = bl.write_result("nginx_scale", {"meta": meta, "runs": runs})

    def med(cell: str, key: str) -> float:
        v = bl.median(x[key] for x in runs if x["cell"] == cell and x.get("valid"))
        return v if v is not None else 0.0

    base = med("direct", "calls_per_s")
    print()
    print("| path | calls/s | p50 / p99 us | CPU us/call (all processes) | x direct |")
    print("|---|---:|---:|---:|---:|")
    for cell in CELLS:
        rate = med(cell, "calls_per_s")
        print("| %s | %.0f | %.0f / %.0f | %.1f | %.2fx |" % (
            cell, rate, med(cell, "lat_p50_us"), med(cell, "lat_p99_us"),
            med(cell, "server_cpu_us_per_call"), rate / base if base else 0))
    invalid = [x for x in runs if not x.get("valid")]
    busy = sum(1 for x in runs if x["busy_cpus_before"] > QUIET_MAX)
    print("\n%d rounds, medians; %d invalid runs; %d of %d started on a busy box (> %.2f CPUs used "
          "by others); load %s -> %s. Raw runs: %s" % (
              ROUNDS, len(invalid), busy, len(runs), QUIET_MAX, meta["loadavg_before"],
              meta["loadavg_after"], os.path.relpath(path, bl.ROOT)))
    if invalid:
        sys.exit(1)


if __name__ == "__main__":
    main()
