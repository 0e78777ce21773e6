"""bench/python/coldstart.py: cold start and idle memory of `fasterapi run` against the TS SDK
(run it through bench/python/coldstart.sh, which documents the environment variables).

One run of one server:
  1. t0, spawn the server (fork + exec from this client; no shell, no taskset);
  2. at once write initialize + notifications/initialized + tools/list in one write(): the pipe
     holds them until the server reads;
  3. ready = the time the tools/list reply is read (the tool count is checked);
  4. then one tools/call (echo, or quickstart's add) is sent: first call = the time its reply is
     read, from t0 (so it includes step 3);
  5. sleep IDLE_S (1 s), read VmRSS, RssAnon, RssFile and Threads from /proc/<pid>/status;
  6. close stdin, wait for exit.
Rounds alternate the order of the servers and each run waits for a quiet box first. Medians of
ROUNDS runs. External references, not run here (research/peers.md 2b, "spawn to initialize
reply", then RSS after 1,000 calls): TS SDK v1.32.2 320 ms / 83 MB, Python SDK 1.29 FastMCP
1,137 ms / 63 MB (the Python SDK cannot be installed on this box).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

ROUNDS = bl.env_int("ROUNDS", 9)
WORKERS = bl.env_int("WORKERS", 2)
IDLE_S = bl.env_float("IDLE_S", 1.0)
QUIET_WAIT = bl.env_float("QUIET_WAIT", 5)
QUIET_MAX = bl.env_float("QUIET_MAX", 0.15)
WITH_C = os.environ.get("WITH_C", "1") != "0"

QUICKSTART = os.path.join(bl.ROOT, "examples", "quickstart", "server.py")
ECHO_APP = os.path.join(bl.ROOT, "bench", "python", "echo_app.py")
ECHO = ("echo", {"text": "hello"})

# Byte-code. A user's installed package has its .pyc files, so the main rows run with a byte-code
# cache under build/ (PYTHONPYCACHEPREFIX, filled by an unmeasured warm-up start; the source tree is
# not written). This box exports PYTHONDONTWRITEBYTECODE=1, and a fresh checkout has no
# python/fasterapi/__pycache__: there every start compiles the fasterapi package from source, in
# each of the three interpreters (main + one per worker). The "no .pyc" row (NOPYC=1, default)
# measures that: a copy of the package without __pycache__ (FASTERAPI_PYTHONPATH points the host
# at it) and PYTHONDONTWRITEBYTECODE=1; the standard library keeps its own .pyc files.
PYCACHE = os.path.join(bl.BUILD, "bench-pycache")
ENV_PYC = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV_PYC["PYTHONPYCACHEPREFIX"] = PYCACHE
NOPYC = os.environ.get("NOPYC", "1") != "0"
NOPYC_DIR = tempfile.mkdtemp(prefix="fa-nopyc-")
ENV_NOPYC = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
ENV_NOPYC.update(PYTHONDONTWRITEBYTECODE="1", FASTERAPI_PYTHONPATH=NOPYC_DIR)

SERVERS = [
    ("fasterapi quickstart", [bl.FASTERAPI, "run", QUICKSTART, "--workers", str(WORKERS)],
     ("add", {"a": 1, "b": 2}), ENV_PYC),
    ("fasterapi echo_app", [bl.FASTERAPI, "run", ECHO_APP, "--workers", str(WORKERS)], ECHO,
     ENV_PYC),
    ("ts-sdk echo", ["node", bl.TS_ECHO], ECHO, None),
]
if NOPYC:
    SERVERS.append(("fasterapi echo_app, no .pyc", [bl.FASTERAPI, "run", ECHO_APP, "--workers",
                                                    str(WORKERS)], ECHO, ENV_NOPYC))
if WITH_C:
    SERVERS.append(("fasterapi-c echo (floor)", [bl.C_ECHO, "--quiet"], ECHO, None))

TARGET_MS = 150.0
TARGET_MB = 60.0


def one(label: str, cmd: list, tool: tuple, env: dict, rnd: int, quiet: bool = True) -> dict:
    busy = bl.wait_quiet(QUIET_MAX, QUIET_WAIT)[0] if quiet else -1.0
    first = bl.initialize(1) + bl.INITIALIZED + bl.rpc(2, "tools/list", {})
    s = bl.StdioServer(cmd, env=env)
    try:
        s.send(first)
        got = s.wait_for([1, 2], timeout=60)
        t_ready = got[2][0]
        ntools = len(got[2][1]["result"]["tools"])
        s.send(bl.rpc(3, "tools/call", {"name": tool[0], "arguments": tool[1]}))
        t_call = s.wait_for([3], timeout=60)[3][0]
        time.sleep(IDLE_S)
        st = bl.proc_status(s.pid)
    finally:
        rc = s.close()
    row = {"server": label, "round": rnd, "command": cmd, "ready_ms": (t_ready - s.t_spawn) * 1e3,
           "init_reply_ms": (got[1][0] - s.t_spawn) * 1e3,
           "first_call_ms": (t_call - s.t_spawn) * 1e3, "tools": ntools,
           "rss_mb": st["VmRSS"] / 1024, "rss_anon_mb": st.get("RssAnon", 0) / 1024,
           "rss_file_mb": st.get("RssFile", 0) / 1024, "hwm_mb": st["VmHWM"] / 1024,
           "threads": st["Threads"], "busy_cpus_before": round(busy, 2), "exit_code": rc}
    print("  round %s %-28s busy %s  tools/list %6.1f ms  first call %6.1f ms  RSS %5.1f MB"
          "  (anon %.1f, file %.1f)  threads %d%s" % (
              rnd or "w", label, "%.2f" % busy if quiet else "  - ", row["ready_ms"],
              row["first_call_ms"], row["rss_mb"],
              row["rss_anon_mb"], row["rss_file_mb"], row["threads"],
              "" if rc == 0 else "  exit %d" % rc), flush=True)
    return row


def main() -> None:
    bl.need_build(bl.FASTERAPI, *([bl.C_ECHO] if WITH_C else []))
    bl.need_ts_sdk()
    meta = bl.machine_meta()
    meta.update({"rounds": ROUNDS, "workers": WORKERS, "idle_s": IDLE_S, "quiet_wait_s": QUIET_WAIT,
                 "quiet_max_cpus": QUIET_MAX, "pycache_prefix": PYCACHE})
    print("bench/python coldstart: %d rounds, --workers %d, idle %.1f s before reading RSS, load %s" % (
        ROUNDS, WORKERS, IDLE_S, meta["loadavg_before"]))
    atexit.register(shutil.rmtree, NOPYC_DIR, True)
    shutil.copytree(os.path.join(bl.ROOT, "python", "fasterapi"), os.path.join(NOPYC_DIR, "fasterapi"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    print("warm-up start of each server (fills the byte-code cache and the page cache):")
    for label, cmd, tool, env in SERVERS:
        one(label, cmd, tool, env, 0, quiet=False)
    print(bl.code_line(meta))
    runs = []
    for r in range(1, ROUNDS + 1):
        for label, cmd, tool, env in (SERVERS if r % 2 else SERVERS[::-1]):
            runs.append(one(label, cmd, tool, env, r))
    meta["loadavg_after"] = bl.loadavg()
    keys = ("ready_ms", "init_reply_ms", "first_call_ms", "rss_mb", "rss_anon_mb", "rss_file_mb",
            "threads")
    med = {}
    for label, _, _, _ in SERVERS:
        rows = [x for x in runs if x["server"] == label and x["exit_code"] == 0]
        med[label] = {k: bl.median(x[k] for x in rows) for k in keys}
        med[label]["ready_range_ms"] = [min((x["ready_ms"] for x in rows), default=None),
                                        max((x["ready_ms"] for x in rows), default=None)]
        med[label]["runs"] = len(rows)
    path = bl.write_result("coldstart", {"meta": meta, "medians": med, "runs": runs})

    print()
    print("medians over %d runs each (load %s -> %s)" % (ROUNDS, meta["loadavg_before"],
                                                        meta["loadavg_after"]))
    rows = []
    for label, _, _, _ in SERVERS:
        m = med[label]
        rows.append([label, bl.fmt(m["ready_ms"], "%.0f"),
                     "%s..%s" % (bl.fmt(m["ready_range_ms"][0], "%.0f"), bl.fmt(m["ready_range_ms"][1], "%.0f")),
                     bl.fmt(m["first_call_ms"], "%.0f"), bl.fmt(m["rss_mb"], "%.1f"),
                     bl.fmt(m["rss_anon_mb"], "%.1f") + " / " + bl.fmt(m["rss_file_mb"], "%.1f"),
                     bl.fmt(m["threads"], "%.0f")])
    rows.append(["TS SDK v1.32.2 (external ref)*", "320", "", "", "83", "", ""])
    rows.append(["Python SDK 1.29 FastMCP (ext. ref)*", "1137", "", "", "63", "", ""])
    bl.table(["server", "tools/list ms", "range", "1st call ms", "RSS MB", "anon / file", "threads"],
             rows, 36)
    print("* measured earlier on this box, spawn to initialize reply and RSS after 1,000 calls "
          "(research/peers.md 2b);\n  the Python SDK cannot be installed here (no PyPI), so it is "
          "not run.")
    print()
    print("targets (fasterapi run, --workers %d):" % WORKERS)
    for label in ("fasterapi quickstart", "fasterapi echo_app"):
        m = med[label]
        ts = med["ts-sdk echo"]
        print("  %-22s spawn -> tools/list <= %.0f ms  %8s  %s   (TS SDK same run: %s ms)" % (
            label, TARGET_MS, bl.fmt(m["ready_ms"], "%.0f ms"),
            bl.verdict(None if m["ready_ms"] is None else m["ready_ms"] <= TARGET_MS),
            bl.fmt(ts["ready_ms"], "%.0f")))
        print("  %-22s idle RSS <= %.0f MB            %8s  %s   (TS SDK same run: %s MB)" % (
            "", TARGET_MB, bl.fmt(m["rss_mb"], "%.1f MB"),
            bl.verdict(None if m["rss_mb"] is None else m["rss_mb"] <= TARGET_MB),
            bl.fmt(ts["rss_mb"], "%.1f")))
    bad = [x for x in runs if x["exit_code"] != 0]
    if bad:
        print("WARNING: %d run(s) ended with a non-zero exit status and were left out" % len(bad))
    print("raw results: %s" % path)


if __name__ == "__main__":
    main()
