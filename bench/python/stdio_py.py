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
LAYOUTS = os.environ.get("LAYOUTS", "none same").split()  # unpinned first: the headline
COLD_ROUNDS = bl.env_int("COLD_ROUNDS", 11)  # a start is 50-400 ms on a shared box: medians of 11
# SUITE=py (bench/python/run.sh): the Python echo, the TS SDK and the C example.
# SUITE=c (bench/stdio/run.sh): the C echo example and the TS SDK.
SUITE = os.environ.get("SUITE", "py")
PIN_CPU = bl.env_int("PIN_CPU", 1 if bl.NCPU > 1 else 0)
PY_ARGS = os.environ.get("PY_ARGS", "").split()
WITH_C = os.environ.get("WITH_C", "1") != "0"
APP = os.path.join(bl.ROOT, "bench", "python", "echo_app.py")

# External reference: Python SDK v1.29.0 FastMCP on stdio, this box (research/peers.md 2b).
PYSDK_SEQ = 377.0
PYSDK_PIPE = 364.0

FA_ARGS = os.environ.get("FA_ARGS", "").split()
if SUITE == "c":
    SERVERS = [("fasterapi-c", N_C, M_C, [bl.C_ECHO, "--quiet"] + FA_ARGS),
               ("ts-sdk", N_TS, M_TS, ["node", bl.TS_ECHO])]
    MAIN = "fasterapi-c"
else:
    SERVERS = [
        ("fasterapi-py", N_PY, M_PY, [bl.FASTERAPI, "run", APP, "--log-level", "warn"] + PY_ARGS),
        ("ts-sdk", N_TS, M_TS, ["node", bl.TS_ECHO]),
    ]
    if WITH_C:
        SERVERS.append(("fasterapi-c", N_C, M_C, [bl.C_ECHO, "--quiet"]))
    MAIN = "fasterapi-py"

# Targets (issue 9 section 3), judged on the unpinned layout: how AI clients launch servers.
if SUITE == "c":
    PIPE_X, SEQ_X = 8.0, 0.6   # pipelined >= 8x the TS SDK, sequential p50 <= 0.6x its p50
else:
    PIPE_X, SEQ_X = 4.0, 1.0   # pipelined >= 4x, sequential p50 <= the TS SDK's
COLD_MS, COLD_X = 120.0, 0.6   # first tools/call answered <= 120 ms and <= 0.6x the TS SDK


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


def cold_start(meta: dict) -> dict:
    """Spawn to the first answered tools/call, unpinned, as a client launches a server: the
    initialize, initialized and tools/call requests are written at once (bl.first_call_ms).
    COLD_ROUNDS runs per server after one unmeasured warm-up start each, servers alternating."""
    if COLD_ROUNDS <= 0:
        return {}
    env = bl.env_with_pycache()
    servers = [(label, cmd) for label, _, _, cmd in SERVERS]
    for label, cmd in servers:
        bl.first_call_ms(cmd, env)
    out = {label: [] for label, _ in servers}
    for r in range(COLD_ROUNDS):
        for label, cmd in (servers if r % 2 == 0 else servers[::-1]):
            bl.wait_quiet(QUIET_MAX, QUIET_WAIT)
            out[label].append(bl.first_call_ms(cmd, env))
    return {label: {"first_call_ms": bl.median(v), "runs_ms": v} for label, v in out.items()}


def print_cold(cold: dict) -> None:
    if not cold:
        return
    print("cold start, spawn -> first tools/call answered, unpinned (median of %d; ms):" % COLD_ROUNDS)
    for label, c in cold.items():
        print("  %-14s %8s   runs %s" % (label, bl.fmt(c["first_call_ms"], "%.1f"),
                                       " ".join("%.0f" % x for x in c["runs_ms"])))
    m, t = cold.get(MAIN, {}).get("first_call_ms"), cold.get("ts-sdk", {}).get("first_call_ms")
    x = m / t if m and t else None
    if SUITE == "py":
        print("  target: %s <= %.0f ms  %s;  <= %.1fx the TS SDK  %s  %s" % (
            MAIN, COLD_MS, bl.verdict(None if m is None else m <= COLD_MS), COLD_X,
            bl.fmt(x, "%.2fx"), bl.verdict(None if x is None else x <= COLD_X)))
    else:
        print("  %s / TS SDK: %s" % (MAIN, bl.fmt(x, "%.2fx")))


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
    print("bench/%s: %d rounds, window %d, warm-up %d, layouts %s (cpu %d), load %s" % (
        "python" if SUITE == "py" else "stdio",
        ROUNDS, W, WARMUP, "/".join(LAYOUTS), PIN_CPU, meta["loadavg_before"]))
    print(bl.code_line(meta))
    cold = cold_start(meta)
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
    path = bl.write_result("python-stdio" if SUITE == "py" else "stdio",
                           {"meta": meta, "suite": SUITE, "medians": medians, "runs": runs,
                            "coldstart": cold})

    labels = [s[0] for s in SERVERS]
    for layout in LAYOUTS:
        md = medians[layout]
        py, ts = md[MAIN], md["ts-sdk"]
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
        bl.table([""] + labels + [MAIN.split("-")[1] + "/TS"], rows, 30)
        for s in labels:
            rg = md[s]["pipelined_range"]
            print("  %-12s pipelined range %s..%s calls/s, %d valid rounds" % (
                s, bl.fmt(rg[0], "%.0f"), bl.fmt(rg[1], "%.0f"), md[s]["valid_runs"]))
        p, q = py["pipelined_calls_per_s"], py["sequential_calls_per_s"]
        rt = p / ts["pipelined_calls_per_s"] if p and ts["pipelined_calls_per_s"] else None
        rs = py["seq_p50_us"] / ts["seq_p50_us"] if py["seq_p50_us"] and ts["seq_p50_us"] else None
        judged = layout == "none"
        tag = "" if judged else "  (pinned: reported; the targets are for unpinned)"
        print("targets (pin=%s)%s:" % (layout, tag))
        v = (lambda ok: bl.verdict(ok) if judged else "")
        print("  %s pipelined >= %.0fx the TS SDK          %12s  %s" % (
            MAIN, PIPE_X, bl.fmt(rt, "%.2fx"), v(None if rt is None else rt >= PIPE_X)))
        print("  %s sequential p50 <= %.1fx the TS SDK's   %12s  %s   (%s vs %s us)" % (
            MAIN, SEQ_X, bl.fmt(rs, "%.2fx"), v(None if rs is None else rs <= SEQ_X),
            bl.fmt(py["seq_p50_us"], "%.1f"), bl.fmt(ts["seq_p50_us"], "%.1f")))
        if SUITE == "py":
            print("  fasterapi-py >= 150k calls/s pipelined     %12s  %s" % (
                bl.fmt(p, "%.0f"), bl.verdict(None if p is None else p >= 150000)))
            rp = p / PYSDK_SEQ if p else None
            print("  >= 100x Python SDK FastMCP (377 calls/s)*   %12s  %s" % (
                bl.fmt(rp, "%.0fx"), bl.verdict(None if rp is None else rp >= 100)))
            print("      (sequential: %s; pipelined vs its 364 pipelined: %s)" % (
                bl.fmt(q / PYSDK_SEQ if q else None, "%.0fx"), bl.fmt(p / PYSDK_PIPE if p else None, "%.0fx")))
        else:
            print("  fasterapi-c >= 300k calls/s pipelined      %12s  %s" % (
                bl.fmt(p, "%.0f"), bl.verdict(None if p is None else p >= 300000)))
    print()
    print_cold(cold)
    b = [x["busy_cpus_before"] for x in runs]
    if b:
        print()
        print("box load: median %.2f, max %.2f CPUs busy with other work just before a run" % (
            bl.median(b), max(b)))
    if SUITE == "py":
        print("* The Python SDK (mcp 1.29 FastMCP) cannot be installed here (PyPI is unreachable), so "
          "it is not run: 377 calls/s\n  is the external reference measured earlier on this box "
              "(research/peers.md 2b), a ratio against a figure, not a same-run peer.")
    invalid = [x for x in runs if not x["valid"]]
    if invalid:
        print("WARNING: %d invalid phase result(s) were left out of the medians" % len(invalid))
    print("raw results: %s" % path)


if __name__ == "__main__":
    main()
