"""bench/objects/objects_bench.py: ns per object for FasterAPI's Python API objects, next to the
seed project's figures (run it through bench/objects/run.sh).

Each round measures objects_cost.measure() twice, in fresh processes:
  python3.x    the Python FasterAPI embeds (FASTERAPI_PYTHON from build/release's CMake cache),
               PYTHONPATH=python: plain main interpreter
  subinterp    inside `fasterapi run bench/objects/objects_app.py --workers 1`: the tool runs the
               same loops in the worker's isolated subinterpreter (own GIL)
and the table shows the median over rounds of each environment's best-of-5 timeit figure.

The seed project's numbers (research/perf_anchors.md, its BENCHMARK_RESULTS.md: macOS Apple
Silicon, Python 3.13.7, -O3 -mcpu=native -flto) are for its web App(), WebSocket() and
SSEConnection(), set against ours: fasterapi.web.App(), the WebSocket object an @app.websocket
handler gets (built as the host builds it, over a stand-in connection: objects_cost.py) and
SSEConnection() (fed by send()) / SSEConnection(gen). The MCP objects (FastMCP(), Context) are
extra rows. Different machines: the seed's figures are from an Apple Silicon laptop.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import benchlib as bl  # noqa: E402

ROUNDS = bl.env_int("ROUNDS", 3)
QUIET_WAIT = bl.env_float("QUIET_WAIT", 5)
QUIET_MAX = bl.env_float("QUIET_MAX", 0.15)
HERE = os.path.dirname(os.path.abspath(__file__))

SEED = {"App()": 1510.0, "WebSocket()": 1567.0, "SSEConnection()": 496.0}
# (our row, the seed row it is set against)
PAIRS = [("App()", "App()"), ("WebSocket(conn, loop)", "WebSocket()"),
         ("SSEConnection()", "SSEConnection()"), ("SSEConnection(gen)", "SSEConnection()")]
EXTRA = ["FastMCP()", "FastMCP(name, instructions=...)", "Context(handle, mcp, dispatcher)", "Context()",
         "Dispatcher.call_tool(echo)", "@mcp.tool() registration"]


def embedded_python() -> str:
    p = os.environ.get("FASTERAPI_PYTHON")
    if p:
        return p
    cache = os.path.join(bl.BUILD, "CMakeCache.txt")
    with open(cache) as f:
        m = re.search(r"^FASTERAPI_PYTHON:FILEPATH=(.*)$", f.read(), re.M)
    if not m:
        bl.die("no FASTERAPI_PYTHON in %s" % cache)
    return m.group(1).strip()


def plain(py: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(bl.ROOT, "python"), HERE]))
    r = subprocess.run([py, os.path.join(HERE, "objects_cost.py")], env=env, capture_output=True,
                       text=True)
    if r.returncode != 0:
        bl.die("objects_cost.py failed:\n" + r.stderr)
    return json.loads(r.stdout)


def hosted() -> dict:
    cmd = [bl.FASTERAPI, "run", os.path.join(HERE, "objects_app.py"), "--workers", "1",
           "--log-level", "warn"]
    with bl.StdioServer(cmd) as s:
        s.handshake()
        s.send(bl.rpc(2, "tools/call", {"name": "measure", "arguments": {}}))
        msg = s.wait_for([2], timeout=300)[2][1]
        s.close()
    res = msg["result"]
    # `-> dict` gives text content only (no output schema): the JSON is in the text
    return res.get("structuredContent") or json.loads(res["content"][0]["text"])


def main() -> None:
    bl.need_build(bl.FASTERAPI)
    py = embedded_python()
    meta = bl.machine_meta()
    meta.update({"rounds": ROUNDS, "python": py})
    print("bench/objects: %d rounds, %s and `fasterapi run` (isolated subinterpreter), load %s" % (
        ROUNDS, py, meta["loadavg_before"]))
    print(bl.code_line(meta))
    runs = []
    for r in range(1, ROUNDS + 1):
        for env, fn in ((("python", lambda: plain(py)), ("subinterp", hosted)) if r % 2 else
                        (("subinterp", hosted), ("python", lambda: plain(py)))):
            busy, _ = bl.wait_quiet(QUIET_MAX, QUIET_WAIT)
            res = fn()
            runs.append({"round": r, "env": env, "busy_cpus_before": round(busy, 2), **res})
            print("  round %d %-9s busy %.2f  %s" % (r, env, busy, "  ".join(
                "%s %.0f" % (k, v) for k, v in res["ns"].items())), flush=True)
    meta["loadavg_after"] = bl.loadavg()
    version = runs[0]["python"]
    med = {env: {k: bl.median(x["ns"][k] for x in runs if x["env"] == env) for k in runs[0]["ns"]}
           for env in ("python", "subinterp")}
    path = bl.write_result("objects", {"meta": meta, "seed_ns": SEED, "medians_ns": med, "runs": runs})

    print()
    print("ns per object, median of %d rounds (each best of 5 timeit runs), Python %s on this box;"
          % (ROUNDS, version))
    print("seed project: Apple Silicon, Python 3.13.7 (research/perf_anchors.md)")
    rows = []
    for ours, theirs in PAIRS:
        a, b = med["python"][ours], med["subinterp"][ours]
        rows.append([ours, "%.0f" % a, "%.0f" % b, "%s %.0f" % (theirs, SEED[theirs]),
                     "%.1fx" % (SEED[theirs] / max(a, b)),
                     bl.verdict(SEED[theirs] / max(a, b) >= 2)])
    for ours in EXTRA:
        rows.append([ours, "%.0f" % med["python"][ours], "%.0f" % med["subinterp"][ours], "", "", ""])
    bl.table(["object", "python3", "subinterp", "seed figure", "seed/ours", "target >=2x"], rows, 34)
    print("(seed/ours uses the slower of our two columns; the last rows have no seed counterpart)")
    print("WebSocket(conn, loop) is built over a stand-in connection (the host's C WebSocketConn "
          "exists only for a live\nconnection); the seed's figures are from another machine "
          "(Apple Silicon). Load average: %s -> %s" % (meta["loadavg_before"], meta["loadavg_after"]))
    print("raw results: %s" % path)


if __name__ == "__main__":
    main()
