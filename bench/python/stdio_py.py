"""bench/python/stdio_py.py: a Python echo tool on FasterAPI against the TypeScript SDK echo
server, on stdio, driven by bench_stdio (run it through bench/python/run.sh, which documents the
environment variables).

Servers, all answering `tools/call echo {"text": "hello"}` with the text as text content:
  fasterapi-py  fasterapi run bench/python/echo_app.py  (the tool is Python, run on the worker
                pool; default workers = CPUs, as a user gets it)
  ts-sdk        node bench/stdio/ts_echo_server.mjs     (official TS SDK v1.x, untuned)
  fasterapi-c   the C echo example (examples/embed_c), as in bench/stdio/run.sh: the floor of
                the same runtime without Python, to show what the Python path costs
Same bench_stdio phases, window, warm-up and N/M as bench/stdio/run.sh, and both pinning layouts
of run.sh in the same run: `same` (client and server on one vCPU, run.sh's default) and `none`.
Every bench_stdio run waits for a quiet box first (run.sh's rule); rounds alternate the order of
the servers. The Python SDK's FastMCP cannot be installed here (no PyPI), so its figure is the
external reference measured earlier on this box (research/peers.md section 2b: 377 calls/s
sequential, 364 pipelined, 2.4 ms CPU per call), printed as a ratio, clearly labelled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

ROUNDS = bl.env_int("ROUNDS", 5)
W = bl.env_int("W", 256)
WARMUP = bl.env_int("WARMUP", 2000)
N_PY = bl.env_int("N_PY", 200000)
M_PY = bl.env_int("M_PY", 20000)
N_TS = bl.env_int("N_TS", 40000)
M_TS = bl.env_int("M_TS", 10000)
N_C = bl.env_int("N_FA", 200000)
M_C = bl.env_int("M_FA", 20000)
QUIET_WAIT = bl.env_float("QUIET_WAIT", 5)
QUIET_MAX = bl.env_float("QUIET_MAX", 0.15)
LAYOUTS = os.environ.get("LAYOUTS", "same none").split()
PIN_CPU = bl.env_int("PIN_CPU", 1 if bl.NCPU > 1 else 0)
PY_ARGS = os.environ.get("PY_ARGS", "").split()
WITH_C = os.environ.get("WITH_C", "1") != "0"
APP = os.path.join(bl.ROOT, "bench", "python", "echo_app.py")

# External reference: Python SDK v1.29.0 FastMCP on stdio, this box (research/peers.md 2b).
PYSDK_SEQ = 377.0
PYSDK_PIPE = 364.0

SERVERS = [
    ("fasterapi-py", N_PY, M_PY, [bl.FASTERAPI, "run", APP, "--log-level", "warn"] + PY_ARGS),
    ("ts-sdk", N_TS, M_TS, ["node", bl.TS_ECHO]),
]
if WITH_C:
    SERVERS.append(("fasterapi-c", N_C, M_C, [bl.C_ECHO, "--quiet"]))


def pins(layout: str) -> tuple:
    """(client options for bench_stdio, server command prefix) as bench/stdio/run.sh sets them."""
    if layout == "same":
        return ["-c", str(PIN_CPU)], ["taskset", "-c", str(PIN_CPU)]
    if layout == "split":
        return ["-c", str(0 if PIN_CPU else 1)], ["taskset", "-c", str(PIN_CPU)]
    if layout == "none":
        return [], []
    bl.die("LAYOUTS: each must be same, split or none")
    raise AssertionError


def run_one(layout: str, label: str, n: int, m: int, cmd: list, rnd: int) -> list:
    busy, _ = bl.wait_quiet(QUIET_MAX, QUIET_WAIT)
    cpin, spin = pins(layout)
    argv = [bl.BENCH_STDIO, "--json", *cpin, "-n", str(n), "-W", str(W), "-w", str(WARMUP), "-s",
            str(m), "-l", label, "--", *spin, *cmd]
    with tempfile.TemporaryFile("w+") as err:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=err, text=True)
        err.seek(0)
        errtext = err.read()
    rows = []
    for line in r.stdout.splitlines():
        if line.strip():
            row = json.loads(line)
            row.update({"round": rnd, "layout": layout, "busy_cpus_before": round(busy, 2)})
            rows.append(row)
    status = "ok" if r.returncode == 0 else "INVALID: " + " ".join(errtext.strip().splitlines()[-3:])
    print("  round %d %-4s %-12s busy %.2f  %s [%s]" % (
        rnd, layout, label, busy,
        "  ".join("%s %.0f/s p50 %.1fus" % (x["phase"][:4], x["calls_per_s"], x["lat_p50_us"])
                  for x in rows) or "no result", status), flush=True)
    return rows


def main() -> None:
    bl.need_build(bl.FASTERAPI, bl.BENCH_STDIO, *( [bl.C_ECHO] if WITH_C else []))
    bl.need_ts_sdk()
    if any(lay != "none" for lay in LAYOUTS) and subprocess.run(
            ["sh", "-c", "command -v taskset"], stdout=subprocess.DEVNULL).returncode != 0:
        bl.die("taskset (util-linux) is needed for pinned layouts; use LAYOUTS=none")
    meta = bl.machine_meta()
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    meta.update({"rounds": ROUNDS, "window": W, "warmup": WARMUP, "n_py": N_PY, "m_py": M_PY,
                 "n_ts": N_TS, "m_ts": M_TS, "n_c": N_C, "m_c": M_C, "layouts": LAYOUTS,
                 "pin_cpu": PIN_CPU, "py_args": PY_ARGS, "node": node, "quiet_wait_s": QUIET_WAIT,
                 "quiet_max_cpus": QUIET_MAX})
    print("bench/python: %d rounds, window %d, warm-up %d, layouts %s (cpu %d), load %s" % (
        ROUNDS, W, WARMUP, "/".join(LAYOUTS), PIN_CPU, meta["loadavg_before"]))
    print(bl.code_line(meta))
    runs = []
    for r in range(1, ROUNDS + 1):
        for layout in LAYOUTS:
            order = SERVERS if r % 2 else SERVERS[::-1]
            for label, n, m, cmd in order:
                runs.extend(run_one(layout, label, n, m, cmd, r))
    meta["loadavg_after"] = bl.loadavg()

    def med(layout: str, server: str, phase: str, key: str):
        return bl.median(x[key] for x in runs if x["layout"] == layout and x["server"] == server
                         and x["phase"] == phase and x["valid"])

    medians = {}
    for layout in LAYOUTS:
        medians[layout] = {}
        for label, _, _, _ in SERVERS:
            pipe = [x["calls_per_s"] for x in runs if x["layout"] == layout and x["server"] == label
                    and x["phase"] == "pipelined" and x["valid"]]
            medians[layout][label] = {
                "pipelined_calls_per_s": med(layout, label, "pipelined", "calls_per_s"),
                "sequential_calls_per_s": med(layout, label, "sequential", "calls_per_s"),
                "seq_p50_us": med(layout, label, "sequential", "lat_p50_us"),
                "seq_p99_us": med(layout, label, "sequential", "lat_p99_us"),
                "pipe_server_cpu_us_per_call": med(layout, label, "pipelined", "server_cpu_us_per_call"),
                "seq_server_cpu_us_per_call": med(layout, label, "sequential", "server_cpu_us_per_call"),
                "peak_rss_mb": (lambda v: v / 1024 if v else None)(
                    med(layout, label, "sequential", "server_peak_rss_kb")),
                "valid_runs": len(pipe),
                "pipelined_range": [f(pipe, default=None) for f in (min, max)],
            }
    path = bl.write_result("python-stdio", {"meta": meta, "medians": medians, "runs": runs})

    labels = [s[0] for s in SERVERS]
    for layout in LAYOUTS:
        md = medians[layout]
        py, ts = md["fasterapi-py"], md["ts-sdk"]
        print()
        print("medians over %d rounds, pin=%s%s, window %d (load %s -> %s)" % (
            ROUNDS, layout, " (cpu %d)" % PIN_CPU if layout != "none" else "", W,
            meta["loadavg_before"], meta["loadavg_after"]))

        def cell(m: dict, key, f: str) -> str:
            if isinstance(key, tuple):
                return bl.fmt(m[key[0]], f) + " / " + bl.fmt(m[key[1]], f)
            return bl.fmt(m[key], f)

        def ratio(key: str) -> str:
            a, b = py[key], ts[key]
            return bl.fmt(a / b if a and b else None, "%.2fx")

        spec = [("pipelined calls/s", "pipelined_calls_per_s", "%.0f", True),
                ("sequential calls/s", "sequential_calls_per_s", "%.0f", True),
                ("sequential p50 / p99 us", ("seq_p50_us", "seq_p99_us"), "%.1f", False),
                ("server CPU us/call pipelined", "pipe_server_cpu_us_per_call", "%.2f", False),
                ("server CPU us/call sequential", "seq_server_cpu_us_per_call", "%.2f", False),
                ("server peak RSS MB", "peak_rss_mb", "%.1f", False)]
        rows = []
        for name, key, f, rat in spec:
            rows.append([name] + [cell(md[s], key, f) for s in labels] +
                        [ratio(key) if rat else ""])
        bl.table([""] + labels + ["py/TS"], rows, 30)
        for s in labels:
            rg = md[s]["pipelined_range"]
            print("  %-12s pipelined range %s..%s calls/s, %d valid rounds" % (
                s, bl.fmt(rg[0], "%.0f"), bl.fmt(rg[1], "%.0f"), md[s]["valid_runs"]))
        p, q = py["pipelined_calls_per_s"], py["sequential_calls_per_s"]
        rt = p / ts["pipelined_calls_per_s"] if p and ts["pipelined_calls_per_s"] else None
        print("targets (pin=%s):" % layout)
        print("  fasterapi-py >= 150k calls/s pipelined     %12s  %s" % (
            bl.fmt(p, "%.0f"), bl.verdict(None if p is None else p >= 150000)))
        print("  >= 4x the TS SDK pipelined rate             %12s  %s" % (
            bl.fmt(rt, "%.2fx"), bl.verdict(None if rt is None else rt >= 4)))
        rp = p / PYSDK_SEQ if p else None
        print("  >= 100x Python SDK FastMCP (377 calls/s)*   %12s  %s" % (
            bl.fmt(rp, "%.0fx"), bl.verdict(None if rp is None else rp >= 100)))
        print("      (sequential: %s; pipelined vs its 364 pipelined: %s)" % (
            bl.fmt(q / PYSDK_SEQ if q else None, "%.0fx"), bl.fmt(p / PYSDK_PIPE if p else None, "%.0fx")))
        print("  sequential p50 (reported, no target)        %12s" % bl.fmt(py["seq_p50_us"], "%.1f us"))
    b = [x["busy_cpus_before"] for x in runs]
    if b:
        print()
        print("box load: median %.2f, max %.2f CPUs busy with other work just before a run" % (
            bl.median(b), max(b)))
    print("* The Python SDK (mcp 1.29 FastMCP) cannot be installed here (PyPI is unreachable), so "
          "it is not run: 377 calls/s\n  is the external reference measured earlier on this box "
          "(research/peers.md 2b), a ratio against a figure, not a same-run peer.")
    invalid = [x for x in runs if not x["valid"]]
    if invalid:
        print("WARNING: %d invalid phase result(s) were left out of the medians" % len(invalid))
    print("raw results: %s" % path)


if __name__ == "__main__":
    main()
