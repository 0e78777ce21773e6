"""bench/gil/gil_bench.py: does a CPU-bound Python tool scale across workers? (run it through
bench/gil/run.sh, which documents the environment variables).

Three server configurations of `fasterapi run bench/gil/gil_app.py`, same process otherwise:
  own-gil x2     --workers 2             two workers, each in its own subinterpreter and GIL
  shared-gil x2  --workers 2 --shared-gil  two worker threads in the main interpreter: one GIL
  x1             --workers 1             the baseline
For each, a fresh server is spawned and handshaken, BURN_WARMUP concurrent warm-up calls are made
(so each worker has run the tool once), then K `tools/call burn` requests are written in one
write() and the wall time until the last reply is measured. The server's CPU time over the batch
(schedstat, all threads) gives the cores it used; the whole box's non-idle time over the batch
minus ours gives what other work stole. Rounds alternate the order of the configurations, and
every batch waits for a quiet box first. Speedup = median wall(x1) / median wall(config).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import benchlib as bl  # noqa: E402

ROUNDS = bl.env_int("ROUNDS", 5)
K = bl.env_int("K", 8)
N = bl.env_int("BURN_N", 4_000_000)
WARMUP = bl.env_int("BURN_WARMUP", 2)
QUIET_WAIT = bl.env_float("QUIET_WAIT", 30)
QUIET_MAX = bl.env_float("QUIET_MAX", 0.15)
APP = os.path.join(bl.ROOT, "bench", "gil", "gil_app.py")
EXPECT = (N - 1) * N * (2 * N - 1) // 6 % (2**61 - 1)  # what burn(N) returns

CONFIGS = [
    ("own-gil x2", ["--workers", "2"]),
    ("shared-gil x2", ["--workers", "2", "--shared-gil"]),
    ("x1", ["--workers", "1"]),
]


def call(id_: int) -> bytes:
    return bl.rpc(id_, "tools/call", {"name": "burn", "arguments": {"n": N}})


def one_batch(label: str, args: list, rnd: int) -> dict:
    busy, waited = bl.wait_quiet(QUIET_MAX, QUIET_WAIT)
    cmd = [bl.FASTERAPI, "run", APP, "--log-level", "warn"] + args
    with bl.StdioServer(cmd) as s:
        s.handshake()
        ids = list(range(100, 100 + WARMUP))
        s.send(b"".join(call(i) for i in ids))
        s.wait_for(ids)
        ids = list(range(1000, 1000 + K))
        batch = b"".join(call(i) for i in ids)
        box = bl.BoxMeter()
        cpu0 = bl.proc_cpu_ns(s.pid)
        box.start()
        t0 = s.send(batch)
        replies = s.wait_for(ids, timeout=600)
        t1 = max(t for t, _ in replies.values())
        cpu1 = bl.proc_cpu_ns(s.pid)
        box_cpu = box.stop()
        for _, msg in replies.values():
            got = msg["result"].get("structuredContent", {}).get("result")
            if got != EXPECT:
                raise RuntimeError("burn returned %r, expected %r" % (got, EXPECT))
        rc = s.close()
    wall = t1 - t0
    srv_cpu = (cpu1 - cpu0) / 1e9
    lat = sorted(t - t0 for t, _ in replies.values())
    row = {"config": label, "round": rnd, "args": args, "wall_s": wall, "server_cpu_s": srv_cpu,
           "cores": srv_cpu / wall if wall > 0 else None,
           # what the rest of the box used during the batch (client and other work)
           "others_cpus_during": max(0.0, box_cpu - srv_cpu) / wall if wall > 0 else None,
           "first_reply_s": lat[0], "busy_cpus_before": busy, "quiet_waited_s": waited,
           "exit_code": rc}
    print("  round %d %-14s busy %.2f  wall %7.1f ms  cores %.2f  others %.2f  first %6.1f ms%s" % (
        rnd, label, busy, wall * 1e3, row["cores"], row["others_cpus_during"], lat[0] * 1e3,
        "" if rc == 0 else "  exit %d" % rc), flush=True)
    return row


def main() -> None:
    bl.need_build(bl.FASTERAPI)
    meta = bl.machine_meta()
    meta.update({"rounds": ROUNDS, "k": K, "burn_n": N, "warmup": WARMUP, "quiet_wait_s": QUIET_WAIT,
                 "quiet_max_cpus": QUIET_MAX})
    print("bench/gil: %d rounds, K=%d concurrent burn(%d) calls, load %s" % (
        ROUNDS, K, N, meta["loadavg_before"]))
    print(bl.code_line(meta))
    runs = []
    for r in range(1, ROUNDS + 1):
        order = CONFIGS if r % 2 else CONFIGS[::-1]
        for label, args in order:
            runs.append(one_batch(label, args, r))
    meta["loadavg_after"] = bl.loadavg()

    med = {}
    for label, _ in CONFIGS:
        rows = [x for x in runs if x["config"] == label]
        med[label] = {k: bl.median(x[k] for x in rows)
                      for k in ("wall_s", "cores", "others_cpus_during", "busy_cpus_before")}
        med[label]["range_ms"] = [min(x["wall_s"] for x in rows) * 1e3, max(x["wall_s"] for x in rows) * 1e3]
    base = med["x1"]["wall_s"]
    for label in med:
        med[label]["speedup"] = base / med[label]["wall_s"] if base and med[label]["wall_s"] else None
    path = bl.write_result("gil", {"meta": meta, "medians": med, "runs": runs})

    print()
    print("medians over %d rounds (K=%d calls of burn(%d), ~%.0f ms each alone; load %s -> %s)" % (
        ROUNDS, K, N, base / K * 1e3, meta["loadavg_before"], meta["loadavg_after"]))
    rows = []
    for label, args in CONFIGS:
        m = med[label]
        rows.append([label + " (" + " ".join(args) + ")", bl.fmt(m["wall_s"] * 1e3, "%.0f"),
                     "%.0f..%.0f" % tuple(m["range_ms"]), bl.fmt(m["speedup"], "%.2fx"),
                     bl.fmt(m["cores"], "%.2f"), bl.fmt(m["others_cpus_during"], "%.2f"),
                     bl.fmt(m["busy_cpus_before"], "%.2f")])
    bl.table(["configuration", "wall ms", "range ms", "vs x1", "cores", "others", "busy before"], rows, 44)
    print("(cores: server CPU time / wall; others: CPUs used by everything else on the box during "
          "the batch; busy before: the quiet-wait's last sample)")
    print()
    print("targets:")
    a, b = med["own-gil x2"]["speedup"], med["shared-gil x2"]["speedup"]
    print("  own-gil x2 speedup >= 1.8x     %8s  %s" % (
        bl.fmt(a, "%.2fx"), bl.verdict(None if a is None else a >= 1.8)))
    print("  shared-gil x2 speedup <= 1.1x  %8s  %s" % (
        bl.fmt(b, "%.2fx"), bl.verdict(None if b is None else b <= 1.1)))
    print("  (reference, research/subinterp.md 5.1: OWN_GIL pair 1.78-2.13x, shared-GIL threads 0.80-0.92x)")
    bad = [x for x in runs if x["exit_code"] != 0]
    if bad:
        print("WARNING: %d run(s) ended with a non-zero server exit status" % len(bad))
    print("raw results: %s" % path)


if __name__ == "__main__":
    main()
