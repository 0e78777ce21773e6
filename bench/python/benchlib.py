"""bench/python/benchlib.py: what the Python-driven benchmarks share (bench/gil, bench/python,
bench/objects). Standard library only; runs on any python3 >= 3.8 (the drivers are clients, so
they need not be the Python that FasterAPI embeds).

  * quiet-machine wait: the box has 2 vCPUs shared with other people's builds and tests, so
    before each measured run we wait (bounded) until the rest of the box is idle and record how
    busy it was, exactly like bench/stdio/run.sh (busy_cpus / wait_quiet);
  * a tiny newline-delimited JSON-RPC client for MCP servers on stdio (StdioServer);
  * per-process figures from /proc: CPU time over all threads (schedstat, ns resolution), RSS;
  * medians, tables and the result file in bench/results/.

Nothing here asserts on time: a slow run is reported, never failed.
"""

from __future__ import annotations

import json
import os
import select
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD_DIR") or os.path.join(ROOT, "build", "release")  # BUILD_DIR: another build, e.g. one on Debian 3.11
FASTERAPI = os.path.join(BUILD, "fasterapi")
C_ECHO = os.path.join(BUILD, "examples", "embed_c", "fasterapi-example-c")
BENCH_STDIO = os.path.join(BUILD, "bench", "stdio", "bench_stdio")
TS_ECHO = os.path.join(ROOT, "bench", "stdio", "ts_echo_server.mjs")
NCPU = os.cpu_count() or 1

PROTOCOL_VERSION = "2025-11-25"


def env_int(name: str, default: int) -> int:
    v = os.environ.get(name, "")
    return int(v) if v.strip() else default


def env_float(name: str, default: float) -> float:
    v = os.environ.get(name, "")
    return float(v) if v.strip() else default


def die(msg: str) -> None:
    print(msg, file=sys.stderr)
    sys.exit(1)


def need_build(*paths: str) -> None:
    missing = [p for p in paths if not os.access(p, os.X_OK)]
    if missing:
        die("%s missing; build first:\n    cd %s && cmake --preset release && "
            "cmake --build --preset release -j2" % (", ".join(os.path.relpath(p, ROOT) for p in missing), ROOT))


def need_ts_sdk() -> None:
    """Installs the pinned TS SDK into bench/stdio/node_modules when absent (as run.sh does)."""
    here = os.path.join(ROOT, "bench", "stdio")
    if os.path.isdir(os.path.join(here, "node_modules", "@modelcontextprotocol", "sdk")) and \
            os.path.isdir(os.path.join(here, "node_modules", "zod")):
        return
    print("installing the TS SDK into bench/stdio/node_modules (npm ci)", file=sys.stderr)
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=here,
                       stdout=subprocess.DEVNULL)
    if r.returncode != 0:
        die("npm ci failed")


# ---- how busy is the box ------------------------------------------------------------------------

def _stat_cpu() -> tuple:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]  # total, idle + iowait


def busy_cpus(interval: float = 1.0) -> float:
    """CPUs' worth of non-idle time on the whole box over `interval` seconds."""
    t1, i1 = _stat_cpu()
    time.sleep(interval)
    t2, i2 = _stat_cpu()
    d = t2 - t1
    return (1.0 - (i2 - i1) / d) * NCPU if d > 0 else 0.0


class BoxMeter:
    """Non-idle CPU time of the whole box between start() and stop(), in CPU-seconds."""

    def start(self) -> None:
        self.t0 = _stat_cpu()

    def stop(self) -> float:
        t1 = _stat_cpu()
        d = t1[0] - self.t0[0]
        ticks = os.sysconf("SC_CLK_TCK")
        return (d - (t1[1] - self.t0[1])) / ticks


def wait_quiet(max_busy: float, max_wait: float) -> tuple:
    """Waits up to max_wait seconds until the rest of the box uses less than max_busy CPUs.
    Returns (last level measured, seconds waited). The run goes ahead after max_wait anyway:
    the level is stored with the result instead."""
    t0 = time.monotonic()
    while True:
        level = busy_cpus()
        waited = time.monotonic() - t0
        if level < max_busy or waited >= max_wait:
            return level, waited


def busy_processes(min_pcpu: float = 10.0) -> str:
    """The other processes using >= min_pcpu % CPU (ps' lifetime average), for the record."""
    try:
        out = subprocess.run(["ps", "-eo", "pcpu=,comm=", "--sort=-pcpu"], capture_output=True,
                             text=True).stdout
    except OSError:
        return "?"
    hot = []
    for line in out.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and float(parts[0]) >= min_pcpu:
            hot.append("%s(%s%%)" % (parts[1], parts[0]))
    return " ".join(hot)


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---- /proc figures of one process ---------------------------------------------------------------

def proc_cpu_ns(pid: int) -> int:
    """On-CPU nanoseconds summed over the process's live threads (schedstat)."""
    total = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def proc_status(pid: int) -> Dict[str, int]:
    """VmRSS, VmHWM (kB) and Threads from /proc/<pid>/status."""
    out: Dict[str, int] = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads", "RssAnon", "RssFile"):
                out[k] = int(v.split()[0])
    return out


# ---- a minimal MCP client on stdio --------------------------------------------------------------

def rpc(id_: Optional[int], method: str, params: Optional[dict] = None) -> bytes:
    msg: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if id_ is not None:
        msg["id"] = id_
    if params is not None:
        msg["params"] = params
    return (json.dumps(msg, separators=(",", ":")) + "\n").encode()


def initialize(id_: int = 1) -> bytes:
    return rpc(id_, "initialize", {"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                                   "clientInfo": {"name": "bench", "version": "1"}})


INITIALIZED = rpc(None, "notifications/initialized")


class StdioServer:
    """A server process with pipes on stdin/stdout; replies are matched by id. The server's stderr
    goes to `stderr` (default /dev/null: the servers log at info level)."""

    def __init__(self, cmd: Sequence[str], stderr: Any = subprocess.DEVNULL,
                 env: Optional[Dict[str, str]] = None) -> None:
        self.cmd = list(cmd)
        self.t_spawn = time.perf_counter()
        self.p = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=stderr, env=env, bufsize=0)
        self.pid = self.p.pid
        self.buf = b""
        self.replies: Dict[Any, tuple] = {}  # id -> (perf_counter when read, message)

    def send(self, data: bytes) -> float:
        assert self.p.stdin is not None
        self.p.stdin.write(data)
        return time.perf_counter()

    def _read_some(self, timeout: float) -> bool:
        assert self.p.stdout is not None
        fd = self.p.stdout.fileno()
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return False
        chunk = os.read(fd, 1 << 20)
        now = time.perf_counter()
        if not chunk:
            raise RuntimeError("server closed stdout (exit status %s)" % self.p.poll())
        self.buf += chunk
        *lines, self.buf = self.buf.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            msg = json.loads(line)
            if "id" in msg and "method" not in msg:
                self.replies[msg["id"]] = (now, msg)
        return True

    def wait_for(self, ids: Iterable[Any], timeout: float = 120.0) -> Dict[Any, tuple]:
        """Reads until every id in `ids` has a reply; returns {id: (time read, message)}.
        Raises on a JSON-RPC error, a tool error (isError) or a timeout."""
        want = set(ids)
        deadline = time.monotonic() + timeout
        while not want <= self.replies.keys():
            left = deadline - time.monotonic()
            if left <= 0 or not self._read_some(left):
                raise RuntimeError("no reply to %s within %.0f s" % (sorted(want - self.replies.keys()),
                                                                     timeout))
        out = {i: self.replies.pop(i) for i in want}
        for i, (_, msg) in out.items():
            if "error" in msg:
                raise RuntimeError("request %s failed: %s" % (i, msg["error"]))
            if isinstance(msg.get("result"), dict) and msg["result"].get("isError"):
                raise RuntimeError("tool call %s failed: %s" % (i, msg["result"]))
        return out

    def handshake(self) -> dict:
        self.send(initialize(1) + INITIALIZED)
        return self.wait_for([1])[1][1]["result"]

    def close(self, timeout: float = 10.0) -> int:
        """Closes stdin (the stdio way to stop an MCP server) and waits; kills it on timeout."""
        try:
            if self.p.stdin:
                self.p.stdin.close()
        except OSError:
            pass
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return -9

    def __enter__(self) -> "StdioServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.p.poll() is None:
            self.close()


def env_with_pycache() -> Dict[str, str]:
    """The environment for cold starts: byte-code cached under build/ (bench-pycache), as an
    installed package has its .pyc files (coldstart.py explains)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = os.path.join(BUILD, "bench-pycache")
    return env


def first_call_ms(cmd: Sequence[str], env: Optional[Dict[str, str]] = None,
                  tool: tuple = ("echo", {"text": "hello"})) -> float:
    """Spawn to the first answered tools/call, in ms: initialize, initialized and the call are
    written at once, as a client that launches a server and calls a tool at once."""
    s = StdioServer(cmd, env=env)
    try:
        s.send(initialize(1) + INITIALIZED + rpc(2, "tools/call", {"name": tool[0], "arguments": tool[1]}))
        got = s.wait_for([1, 2], timeout=60)
    finally:
        s.close()
    return (got[2][0] - s.t_spawn) * 1e3


# ---- results ------------------------------------------------------------------------------------

def median(v: Iterable[Optional[float]]) -> Optional[float]:
    xs = [x for x in v if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v: Optional[float], f: str) -> str:
    return "-" if v is None else f % v


def verdict(ok: Optional[bool]) -> str:
    return "?" if ok is None else ("met" if ok else "NOT met")


def stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def code_version() -> Dict[str, Any]:
    """Which code was measured: the commit, whether src/ include/ python/ differ from it (others
    may be editing the tree), and when the binary was built."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", ROOT, *args], capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""
    try:
        built = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.stat(FASTERAPI).st_mtime))
    except OSError:
        built = None
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "dirty": git("status", "--porcelain", "--", "src", "include", "python").splitlines(),
            "binary_built": built}


def code_line(meta: Dict[str, Any]) -> str:
    c = meta["code"]
    return "code: commit %s%s, fasterapi built %s" % (
        c["commit"] or "?", " + %d changed file(s)" % len(c["dirty"]) if c["dirty"] else "",
        c["binary_built"] or "?")


def machine_meta() -> Dict[str, Any]:
    return {"cpus": NCPU, "kernel": os.uname().release, "loadavg_before": loadavg(),
            "busy_processes_before": busy_processes(), "code": code_version()}


def write_result(name: str, data: Dict[str, Any]) -> str:
    d = os.path.join(ROOT, "bench", "results")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "%s-%s.json" % (name, stamp()))
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    return os.path.relpath(path, ROOT)


def table(header: List[str], rows: List[List[str]], first_width: int = 34) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    widths[0] = max(widths[0], first_width)
    line = "%-*s" % (widths[0], header[0]) + "".join("  %*s" % (w, h) for w, h in zip(widths[1:], header[1:]))
    print(line)
    for r in rows:
        print("%-*s" % (widths[0], r[0]) + "".join("  %*s" % (w, c) for w, c in zip(widths[1:], r[1:])))
