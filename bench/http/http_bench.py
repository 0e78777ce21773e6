"""bench/http/http_bench.py: FasterAPI's C HTTP/1.1 and WebSocket server against nginx and npm
ws on one box, same run, interleaved. run.sh installs what is missing and starts this; the
header of run.sh lists the environment. Standard library only (any python3 >= 3.8).

Three parts (PARTS="http ws scale"):

  http   wrk -t1 -c64 with the TechEmpower Accept/Connection headers against `/plaintext`, plain
         and pipelined x16 (pipeline.lua), FasterAPI (examples/techempower, --io-threads 1) vs
         nginx with 1 worker, then --io-threads 2 vs 2 workers; `/json` for reference (nginx
         answers it with a static `return`, it serializes nothing).
  ws     ws_load (C, in this folder) against our /ws (examples/embed_c web example) and an npm
         ws echo server: messages/s and the server's CPU time per message.
  scale  10,000 idle keep-alive connections (http_hold) held open on a fresh server: VmRSS
         growth per connection, and a wrk -c64 /plaintext run with them open against one
         without.

Each round starts fresh servers, warms each up, and alternates which server goes first. Before
every measured run the box must be quiet (bounded wait); during the run the CPU time used by
anything but the server and the client is measured from /proc/stat (user+nice+system+steal;
softirq is left out because loopback TCP work lands there) and a run where it exceeds OTHERS_MAX
CPUs is flagged. Flagged runs stay in the medians (a busy box slows both servers); the table says
how many there were and the raw file lists them with the processes that were busy.
"""

from __future__ import annotations

import http.client
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional, Sequence

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import benchlib as bl  # noqa: E402  (bench/python/benchlib.py: quiet wait, medians, results)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = bl.ROOT
BUILD = bl.BUILD
FA_TE = os.environ.get("FA_TE") or os.path.join(BUILD, "examples", "techempower",
                                                "fasterapi-techempower")
FA_WEB = os.environ.get("FA_WEB") or os.path.join(BUILD, "examples", "embed_c",
                                                  "fasterapi-example-web")
WS_LOAD = os.path.join(BUILD, "bench", "http", "ws_load")
HTTP_HOLD = os.path.join(BUILD, "bench", "http", "http_hold")
NODE_DIR = os.environ.get("NODE_DIR") or os.path.join(ROOT, "build", "bench-http")
NGINX = os.environ.get("NGINX") or "nginx"

ROUNDS = bl.env_int("ROUNDS", 3)
DURATION = bl.env_int("DURATION", 5)
WARMUP = bl.env_int("WARMUP", 1)
CONNS = bl.env_int("CONNS", 64)
WRK_THREADS = bl.env_int("WRK_THREADS", 1)
PIPELINE = bl.env_int("PIPELINE", 16)
QUIET_WAIT = bl.env_float("QUIET_WAIT", 5.0)
QUIET_MAX = bl.env_float("QUIET_MAX", 0.2)
OTHERS_MAX = bl.env_float("OTHERS_MAX", 0.2)
WS_CONNS = bl.env_int("WS_CONNS", 32)
WS_WINDOW = bl.env_int("WS_WINDOW", 16)
WS_IO_THREADS = bl.env_int("WS_IO_THREADS", 1)
WS_MODES = (os.environ.get("WS_MODES") or "text:32 binary:1024").split()
IDLE_CONNS = bl.env_int("IDLE_CONNS", 10000)
PARTS = (os.environ.get("PARTS") or "http ws scale").split()
NICE = bl.env_int("NICE", 0)  # e.g. -5 (root): servers and clients ahead of other work
WITH_FA = os.environ.get("WITH_FA", "1") != "0"
NOFILE = 65536  # 10,000 idle connections + wrk's + slack, for the servers and the clients

TFB_ACCEPT_PLAIN = ("text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,"
                    "application/xml;q=0.8,*/*;q=0.7")
TFB_ACCEPT_JSON = ("application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,"
                   "application/xml;q=0.8,*/*;q=0.7")

RUNS: List[Dict[str, Any]] = []
WARNINGS: List[str] = []
CHECKS: Dict[str, Any] = {}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---- the box ------------------------------------------------------------------------------------

def stat_cpu() -> List[int]:
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


def others_busy_ticks(a: List[int], b: List[int]) -> int:
    """user + nice + system + steal ticks between two /proc/stat samples (not irq/softirq:
    loopback TCP processing is accounted there, and it is the benchmark's own traffic)."""
    d = [y - x for x, y in zip(a, b)]
    return d[0] + d[1] + d[2] + (d[7] if len(d) > 7 else 0)


def proc_ticks(pid: int) -> int:
    """utime + stime of a whole process (every thread, live or exited), in clock ticks."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return 0
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def all_proc_ticks() -> Dict[int, tuple]:
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    s = f.read()
                comm = s[s.index("(") + 1:s.rindex(")")]
                fields = s[s.rindex(")") + 2:].split()
                out[int(d)] = (comm, int(fields[11]) + int(fields[12]))
            except (OSError, ValueError, IndexError):
                pass
    return out


def busy_others(before: Dict[int, tuple], after: Dict[int, tuple], ours: Sequence[int],
                secs: float) -> str:
    """The other processes that used >= 5 % of a CPU during a run (those that lived through it)."""
    tck = os.sysconf("SC_CLK_TCK")
    hot = []
    for pid, (comm, t) in after.items():
        if pid in ours or pid == os.getpid() or pid not in before:
            continue
        d = (t - before[pid][1]) / tck / secs
        if d >= 0.05:
            hot.append((d, "%s(%.0f%%)" % (comm, 100 * d)))
    return " ".join(x[1] for x in sorted(hot, reverse=True)[:6])


class Gate:
    """Waits for a quiet box before a run, then measures what else ran during it."""

    def __init__(self) -> None:
        self.level, self.waited = bl.wait_quiet(QUIET_MAX, QUIET_WAIT)
        self.t0 = time.monotonic()
        self.stat0 = stat_cpu()
        self.procs0 = all_proc_ticks()

    def finish(self, ours_ticks: float, ours: Sequence[int]) -> Dict[str, Any]:
        secs = time.monotonic() - self.t0
        stat1 = stat_cpu()
        tck = os.sysconf("SC_CLK_TCK")
        others = max(0.0, (others_busy_ticks(self.stat0, stat1) - ours_ticks) / tck / secs)
        rec = {"busy_before": round(self.level, 2), "waited_s": round(self.waited, 1),
               "others_cpus": round(others, 2),
               "others": busy_others(self.procs0, all_proc_ticks(), ours, secs)}
        rec["flagged"] = self.level >= QUIET_MAX or others >= OTHERS_MAX
        return rec


# ---- servers ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("exited with status %s before listening" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("not listening on %d after %.0f s" % (port, timeout))


def children(pid: int) -> List[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    s = f.read()
                if int(s[s.rindex(")") + 2:].split()[1]) == pid:
                    out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


class Server:
    def __init__(self, key: str, name: str, cmd: List[str], port: int,
                 workers: int = 0, tmp: Optional[str] = None) -> None:
        self.key, self.name, self.cmd, self.port = key, name, cmd, port
        self.workers = workers  # nginx: wait for this many worker processes
        self.tmp = tmp
        self.errpath = os.path.join(TMP, "%s-%d.err" % (key, port))
        self.spawn()

    def spawn(self) -> None:
        self.err = open(self.errpath, "ab")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.err,
                                     stderr=self.err, cwd=ROOT)
        try:
            wait_port(self.port, self.proc)
            deadline = time.monotonic() + 5
            while self.workers and len(children(self.proc.pid)) < self.workers and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError("%s (%s): %s; its output:\n%s" % (
                self.name, " ".join(self.cmd), e, self.tail()))

    def died(self) -> Optional[str]:
        """None while it runs, else how it ended (a server must only end when stopped)."""
        rc = self.proc.poll()
        if rc is None:
            return None
        if rc < 0:
            try:
                return "killed by %s" % signal.Signals(-rc).name
            except ValueError:
                return "killed by signal %d" % -rc
        return "exited with status %d" % rc

    def tail(self) -> str:
        try:
            with open(self.errpath, "rb") as f:
                return f.read()[-1500:].decode("utf-8", "replace")
        except OSError:
            return ""

    def pids(self) -> List[int]:
        return [self.proc.pid] + (children(self.proc.pid) if self.workers else [])

    def rss_pid(self) -> int:
        """The process whose memory grows with connections: nginx's single worker, else us."""
        if self.workers:
            kids = children(self.proc.pid)
            if len(kids) == 1:
                return kids[0]
        return self.proc.pid

    def ticks(self) -> int:
        return sum(proc_ticks(p) for p in self.pids())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                WARNINGS.append("%s did not stop within 10 s of SIGTERM; killed" % self.name)
                self.proc.kill()
                self.proc.wait()
            else:
                if self.proc.returncode not in (0, -signal.SIGTERM):
                    WARNINGS.append("%s %s on SIGTERM" % (self.name, self.died()))
        self.err.close()


NGINX_CONF = """\
worker_processes {workers};
daemon off;
master_process on;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
worker_rlimit_nofile {nofile};
events {{
    worker_connections {wconns};
}}
http {{
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path {tmp}/body;
    server {{
        listen 127.0.0.1:{port} reuseport;
        location = /plaintext {{
            default_type text/plain;
            return 200 'Hello, World!';
        }}
        location = /json {{
            default_type application/json;
            return 200 '{{"message":"Hello, World!"}}';
        }}
    }}
}}
"""


def start_nginx(workers: int) -> Server:
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="nginx-", dir=TMP)
    os.chmod(tmp, 0o755)  # workers run as nobody when the master is root
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(workers=workers, tmp=tmp, nofile=NOFILE,
                                  wconns=IDLE_CONNS + 1024, port=port))
    return Server("nginx", "nginx %d worker%s" % (workers, "s" if workers > 1 else ""),
                  [NGINX, "-e", os.path.join(tmp, "error.log"), "-p", tmp, "-c", conf], port,
                  workers=workers, tmp=tmp)


def start_fa(io_threads: int) -> Server:
    port = free_port()
    return Server("fasterapi", "FasterAPI %d I/O thread%s" % (io_threads, "s" if io_threads > 1
                                                              else ""),
                  [FA_TE, "--port", str(port), "--io-threads", str(io_threads)], port)


def start_fa_web() -> Server:
    port = free_port()
    # One I/O thread: the npm ws peer is one node event loop.
    return Server("fasterapi", "FasterAPI /ws", [FA_WEB, "--port", str(port), "--io-threads",
                                                 str(WS_IO_THREADS)], port)


def start_node_ws() -> Server:
    port = free_port()
    env_cmd = ["env", "NODE_PATH=" + os.path.join(NODE_DIR, "node_modules"), "node",
               os.path.join(HERE, "ws_echo_server.cjs"), str(port)]
    # env execs node, so the pid measured is node's.
    return Server("ws", "npm ws %s" % ws_version(), env_cmd, port)


def ws_version() -> str:
    try:
        with open(os.path.join(NODE_DIR, "node_modules", "ws", "package.json")) as f:
            return json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        return "?"


def check_http(srv: Server) -> Dict[str, Any]:
    """What a TechEmpower validator looks at first (rules: perf_anchors.md A.5), plus the
    pipelining the x16 test relies on: 16 requests in one write must get 16 whole responses."""
    out: Dict[str, Any] = {}
    dates = []
    for path, want_type, want_body in (("/plaintext", "text/plain", b"Hello, World!"),
                                       ("/json", "application/json", None),
                                       ("/plaintext", "text/plain", b"Hello, World!")):
        problems = []
        if dates:
            time.sleep(1.1)  # the Date header must move on (TFB rejects a frozen one)
        try:
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            c.close()
            dates.append(r.getheader("Date"))
            if r.status != 200:
                problems.append("status %d" % r.status)
            if not (r.getheader("Content-Type") or "").startswith(want_type):
                problems.append("Content-Type %r" % r.getheader("Content-Type"))
            for h in ("Server", "Date"):
                if not r.getheader(h):
                    problems.append("no %s header" % h)
            if want_body is not None and body != want_body:
                problems.append("body %r" % body[:60])
            if want_body is None:
                try:
                    if json.loads(body) != {"message": "Hello, World!"}:
                        problems.append("body %r" % body[:60])
                except ValueError:
                    problems.append("body is not JSON: %r" % body[:60])
        except (OSError, http.client.HTTPException) as e:
            problems.append(str(e))
        out.setdefault(path, []).extend(problems)
    if len(dates) == 3 and dates[0] and dates[0] == dates[2]:
        out["/plaintext"].append("Date did not change in 2 s: %r" % dates[0])
    problems = []
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(("GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: %s\r\n"
                       "Connection: keep-alive\r\n\r\n" % TFB_ACCEPT_PLAIN).encode() * 16)
            buf = b""
            deadline = time.monotonic() + 5
            while buf.count(b"Hello, World!") < 16 and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        if buf.count(b"HTTP/1.1 200 ") != 16 or buf.count(b"Hello, World!") != 16:
            problems.append("16 pipelined requests got %d responses" % buf.count(b"HTTP/1.1 "))
    except OSError as e:
        problems.append("pipelined: %s" % e)
    out["pipelined x16"] = problems
    return out


# ---- clients ------------------------------------------------------------------------------------

def parse_dur_ms(s: str) -> Optional[float]:
    for unit, k in (("us", 1e-3), ("ms", 1.0), ("s", 1e3), ("m", 6e4)):
        if s.endswith(unit):
            try:
                return float(s[:-len(unit)]) * k
            except ValueError:
                return None
    return None


def parse_wrk(out: str) -> Dict[str, Any]:
    r: Dict[str, Any] = {"rps": None, "requests": None, "p50_ms": None, "p99_ms": None,
                         "errors": 0, "non2xx": 0}
    for line in out.splitlines():
        w = line.split()
        if not w:
            continue
        if w[0] == "Requests/sec:":
            r["rps"] = float(w[1])
        elif len(w) > 2 and w[1] == "requests" and w[2] == "in":
            r["requests"] = int(w[0])
        elif w[0] == "50%" and len(w) > 1:
            r["p50_ms"] = parse_dur_ms(w[1])
        elif w[0] == "99%" and len(w) > 1:
            r["p99_ms"] = parse_dur_ms(w[1])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            r["non2xx"] = int(w[-1])
        elif line.strip().startswith("Socket errors:"):
            # "Socket errors: connect 0, read 0, write 0, timeout 0"
            nums = [int(x.rstrip(",")) for x in w[2:] if x.rstrip(",").isdigit()]
            r["errors"] = sum(nums)
    return r


def run_client(cmd: List[str], limit_s: float) -> tuple:
    """Runs a load generator to completion (killed after limit_s: the backstop, they all stop on
    their own); returns (its output, the CPU ticks it used from wait4's rusage, exit status)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    killer = threading.Timer(limit_s, p.kill)
    killer.start()
    assert p.stdout is not None
    out = p.stdout.read().decode("utf-8", "replace")
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = (os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode")
                    else status)
    killer.cancel()
    return out, (ru.ru_utime + ru.ru_stime) * os.sysconf("SC_CLK_TCK"), p.returncode


def run_wrk(srv: Server, path: str, pipeline: int, duration: float, conns: int = CONNS,
            measure: bool = True) -> Dict[str, Any]:
    accept = TFB_ACCEPT_JSON if path == "/json" else TFB_ACCEPT_PLAIN
    url = "http://127.0.0.1:%d%s" % (srv.port, path)
    cmd = ["wrk", "-t", str(min(WRK_THREADS, conns)), "-c", str(conns), "-d",
           "%gs" % duration, "--latency", "--timeout", "8",
           "-H", "Host: 127.0.0.1:%d" % srv.port, "-H", "Accept: " + accept,
           "-H", "Connection: keep-alive", url]
    if pipeline > 1:
        cmd[-1:-1] = ["-s", os.path.join(HERE, "pipeline.lua")]
        cmd += ["--", str(pipeline)]
    gate = Gate() if measure else None
    t0 = srv.ticks()
    out, client_ticks, rc = run_client(cmd, duration + 20)
    server_ticks = srv.ticks() - t0
    r = parse_wrk(out)
    if pipeline > 1:
        # wrk times a pipelined batch from its write to the first response only (and often
        # prints 0): not a latency figure worth keeping.
        r["p50_ms"] = r["p99_ms"] = None
    tck = os.sysconf("SC_CLK_TCK")
    r["server_cpu_us_per_req"] = (server_ticks / tck * 1e6 / r["requests"]
                                  if r["requests"] else None)
    r["client_cpus"] = round(client_ticks / tck / duration, 2)
    r["valid"] = (rc == 0 and r["rps"] is not None and r["errors"] == 0 and
                  r["non2xx"] == 0 and bool(r["requests"]))
    if not r["valid"]:
        r["output"] = out[-800:]
    if gate:
        r.update(gate.finish(server_ticks + client_ticks, srv.pids()))
    return r


def run_ws(srv: Server, binary: bool, size: int) -> Dict[str, Any]:
    cmd = [WS_LOAD, "-p", str(srv.port), "-u", "/ws", "-c", str(WS_CONNS), "-W", str(WS_WINDOW),
           "-s", str(size), "-w", str(WARMUP), "-d", str(DURATION), "-l", srv.key, "--json"]
    if binary:
        cmd.insert(1, "-b")
    for pid in srv.pids():
        cmd += ["-P", str(pid)]
    gate = Gate()
    t0 = srv.ticks()
    r = {"valid": False}
    out, client_ticks, rc = run_client(cmd, WARMUP + DURATION + 30)
    server_ticks = srv.ticks() - t0
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            try:
                r = json.loads(line)
            except ValueError:
                pass
            break
    r["valid"] = bool(r.get("valid")) and rc == 0
    if not r["valid"]:
        r["output"] = out[-800:]
    r.update(gate.finish(server_ticks + client_ticks, srv.pids()))
    return r


def vm_rss_kb(pid: int) -> int:
    return bl.proc_status(pid)["VmRSS"]


def run_scale(srv: Server, rnd: int) -> Dict[str, Any]:
    """Baseline wrk run, then IDLE_CONNS idle connections held while the same wrk run repeats
    (the order flips on even rounds); RSS growth per held connection."""
    res: Dict[str, Any] = {}
    hold_first = rnd % 2 == 0

    def hold_and_run() -> None:
        rss_pid = srv.rss_pid()
        time.sleep(0.3)
        rss0 = vm_rss_kb(rss_pid)
        h = subprocess.Popen([HTTP_HOLD, "-p", str(srv.port), "-n", str(IDLE_CONNS),
                              "-u", "/plaintext", "-t", str(4 * DURATION + 120)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        assert h.stdout is not None and h.stdin is not None
        killer = threading.Timer(4 * DURATION + 180, h.kill)
        killer.start()
        line = h.stdout.readline().decode().strip()
        res["hold_setup"] = line
        if not line.startswith("ready"):
            res["hold_error"] = line or "http_hold exited"
            WARNINGS.append("%s: idle connections not set up: %s" % (srv.name, line))
            h.kill()
        else:
            time.sleep(0.5)  # let the server finish whatever the last connections started
            rss1 = vm_rss_kb(rss_pid)
            res["rss_before_kb"], res["rss_after_kb"] = rss0, rss1
            res["rss_per_conn_kib"] = (rss1 - rss0) / IDLE_CONNS
            res["loaded"] = run_wrk(srv, "/plaintext", 1, DURATION)
            h.stdin.write(b"done\n")
            h.stdin.flush()
            tail = h.stdout.readline().decode().strip()
            try:
                res["hold"] = json.loads(tail)
                if res["hold"]["closed_by_server"]:
                    WARNINGS.append("%s closed %d of the %d idle connections while they were "
                                    "held" % (srv.name, res["hold"]["closed_by_server"],
                                              IDLE_CONNS))
            except (ValueError, KeyError):
                res["hold_error"] = tail
        h.stdin.close()
        h.wait()
        killer.cancel()
        time.sleep(0.5)  # the server closes 10k sockets

    if hold_first:
        hold_and_run()
        res["baseline"] = run_wrk(srv, "/plaintext", 1, DURATION)
    else:
        res["baseline"] = run_wrk(srv, "/plaintext", 1, DURATION)
        hold_and_run()
    b, l = res.get("baseline", {}), res.get("loaded", {})
    if b.get("valid") and l.get("valid"):
        res["loaded_over_baseline"] = l["rps"] / b["rps"]
    return res


# ---- the parts ----------------------------------------------------------------------------------

def record(part: str, test: str, srv: Server, rnd: int, r: Dict[str, Any]) -> None:
    r.update({"part": part, "test": test, "server": srv.key, "server_name": srv.name,
              "round": rnd})
    how = srv.died()
    if how:
        # The run's figures are not the server's any more; start it again for the next runs.
        r["valid"] = False
        r["server_died"] = how
        r.setdefault("output", "")
        r["output"] = "server %s; its output: %s" % (how, srv.tail()[-300:]) + r["output"]
        WARNINGS.append("%s %s during %s, round %d (restarted)" % (srv.name, how, test, rnd))
        srv.err.close()
        srv.spawn()
    RUNS.append(r)
    flag = " [busy box: %.2f before, %.2f during %s]" % (
        r.get("busy_before", 0), r.get("others_cpus", 0), r.get("others", "")) \
        if r.get("flagged") else ""
    if not r.get("valid", True):
        flag += " INVALID: " + r.get("output", "").strip().replace("\n", " | ")[:300]
    if part == "http":
        log("  round %d %-12s %-22s %9s req/s  p99 %s  server %s us/req%s" % (
            rnd, test, srv.name, bl.fmt(r.get("rps"), "%.0f"), bl.fmt(r.get("p99_ms"), "%.2f ms"),
            bl.fmt(r.get("server_cpu_us_per_req"), "%.2f"), flag))
    elif part == "ws":
        log("  round %d %-12s %-22s %9s msg/s  p99 %s us  server %s us/msg%s" % (
            rnd, test, srv.name, bl.fmt(r.get("msgs_per_s"), "%.0f"),
            bl.fmt(r.get("lat_p99_us"), "%.0f"), bl.fmt(r.get("server_cpu_us_per_msg"), "%.2f"),
            flag))
    else:
        b, l = r.get("baseline", {}), r.get("loaded", {})
        log("  round %d %-12s %-22s RSS +%s KiB/conn, c64 %s req/s alone, %s with %d idle "
            "(%s)" % (rnd, test, srv.name, bl.fmt(r.get("rss_per_conn_kib"), "%.2f"),
                      bl.fmt(b.get("rps"), "%.0f"), bl.fmt(l.get("rps"), "%.0f"), IDLE_CONNS,
                      bl.fmt(r.get("loaded_over_baseline"), "%.3f")))


def ordered(pair: List[Server], i: int) -> List[Server]:
    return pair if i % 2 == 0 else pair[::-1]


def warm(srv: Server) -> None:
    run_wrk(srv, "/plaintext", 1, WARMUP, measure=False)


def part_http(rnd: int) -> None:
    for threads, tests in ((1, ["plain", "pipelined", "json"]), (2, ["plain", "pipelined"])):
        pair: List[Server] = []
        try:
            if WITH_FA:
                pair.append(start_fa(threads))
            pair.append(start_nginx(threads))
            for s in pair:
                key = "%s-%d" % (s.key, threads)
                if key not in CHECKS:
                    CHECKS[key] = check_http(s)
                warm(s)
            for j, test in enumerate(tests):
                for s in ordered(pair, rnd + j):
                    path = "/json" if test == "json" else "/plaintext"
                    pipe = PIPELINE if test == "pipelined" else 1
                    record("http", "%s-%d" % (test, threads), s, rnd,
                           run_wrk(s, path, pipe, DURATION))
        finally:
            for s in pair:
                s.stop()


def part_ws(rnd: int) -> None:
    pair: List[Server] = []
    try:
        if WITH_FA:
            pair.append(start_fa_web())
        pair.append(start_node_ws())
        for j, mode in enumerate(WS_MODES):
            kind, _, size = mode.partition(":")
            for s in ordered(pair, rnd + j):
                record("ws", mode, s, rnd, run_ws(s, kind == "binary", int(size or 32)))
    finally:
        for s in pair:
            s.stop()


def part_scale(rnd: int) -> None:
    starters = ([lambda: start_fa(1)] if WITH_FA else []) + [lambda: start_nginx(1)]
    for start in ordered(starters, rnd):
        s = start()
        try:
            warm(s)
            record("scale", "idle-%d" % IDLE_CONNS, s, rnd, run_scale(s, rnd))
        finally:
            s.stop()


# ---- report -------------------------------------------------------------------------------------

def med(part: str, test: str, server: str, key: str, sub: Optional[str] = None) -> Optional[float]:
    vals = []
    for r in RUNS:
        if r["part"] == part and r["test"] == test and r["server"] == server and \
                r.get("valid", True):
            x = r.get(sub, {}) if sub else r
            if x.get("valid", True) and x.get(key) is not None and x.get(key, 0) >= 0:
                vals.append(x[key])
    return bl.median(vals)


def paired_ratio(part: str, test: str, key: str, peer: str,
                 sub: Optional[str] = None) -> Optional[float]:
    """Median over rounds of FasterAPI's figure / the peer's from the same round. The two ran
    back to back, so a round where the box got busier slows both: the per-round ratio is
    steadier on a shared box than the ratio of the two medians."""
    def val(r: Dict[str, Any]) -> Optional[float]:
        x = r.get(sub, {}) if sub else r
        v = x.get(key)
        return v if x.get("valid", True) and v is not None and v > 0 else None
    by_round: Dict[int, Dict[str, float]] = {}
    for r in RUNS:
        if r["part"] == part and r["test"] == test and r.get("valid", True) and \
                val(r) is not None:
            by_round.setdefault(r["round"], {})[r["server"]] = val(r)  # type: ignore
    return bl.median([v["fasterapi"] / v[peer] for v in by_round.values()
                      if "fasterapi" in v and peer in v])


def k(v: Optional[float]) -> str:
    return "-" if v is None else ("%.1fk" % (v / 1000) if v >= 10000 else "%.0f" % v)


def report(meta: Dict[str, Any]) -> Dict[str, Any]:
    rows: List[List[str]] = []
    summary: Dict[str, Any] = {}
    fa_missing = "not built" if not WITH_FA else None

    def row(name: str, fa: str, peer: str, rat: Optional[float], target: str,
            ok: Optional[bool]) -> None:
        rows.append([name, fa_missing or fa, peer, bl.fmt(rat, "%.2fx"), target,
                     "" if not target else bl.verdict(ok)])

    def http_cell(test: str, server: str) -> str:
        rps = med("http", test, server, "rps")
        if rps is None:
            return "-"
        p99 = med("http", test, server, "p99_ms")
        return "%s req/s,%s %s µs CPU/req" % (
            k(rps), "" if p99 is None else " p99 %.1f ms," % p99,
            bl.fmt(med("http", test, server, "server_cpu_us_per_req"), "%.1f"))

    if "http" in PARTS:
        for test, label, tgt in (
                ("plain-1", "`/plaintext` c%d, 1 I/O thread vs nginx 1 worker" % CONNS, 1.0),
                ("pipelined-1", "`/plaintext` pipelined ×%d, 1 thread vs 1 worker" % PIPELINE,
                 1.5),
                ("plain-2", "`/plaintext` c%d, 2 I/O threads vs nginx 2 workers" % CONNS, 1.0),
                ("pipelined-2", "`/plaintext` pipelined ×%d, 2 threads vs 2 workers" % PIPELINE,
                 1.5),
                ("json-1", "`/json` c%d, 1 thread (nginx: static `return`, reference)" % CONNS,
                 None)):
            fa, ng = med("http", test, "fasterapi", "rps"), med("http", test, "nginx", "rps")
            rat = paired_ratio("http", test, "rps", "nginx")
            summary[test] = {"fasterapi_rps": fa, "nginx_rps": ng, "ratio": rat}
            row(label, http_cell(test, "fasterapi"), http_cell(test, "nginx"), rat,
                "≥ %.1fx" % tgt if tgt else "", None if rat is None or tgt is None
                else rat >= tgt)
    if "ws" in PARTS:
        for mode in WS_MODES:
            kind, _, size = mode.partition(":")
            what = "WS echo %s %s B, %d conns × %d in flight" % (kind, size, WS_CONNS, WS_WINDOW)
            fa = med("ws", mode, "fasterapi", "msgs_per_s")
            ws = med("ws", mode, "ws", "msgs_per_s")
            fac = med("ws", mode, "fasterapi", "server_cpu_us_per_msg")
            wsc = med("ws", mode, "ws", "server_cpu_us_per_msg")
            summary["ws-" + mode] = {"fasterapi_msgs_per_s": fa, "ws_msgs_per_s": ws,
                                     "fasterapi_cpu_us_per_msg": fac, "ws_cpu_us_per_msg": wsc}

            def wcell(server: str, rate: Optional[float]) -> str:
                if rate is None:
                    return "-"
                return "%s msg/s, p99 %s ms" % (
                    k(rate), bl.fmt((med("ws", mode, server, "lat_p99_us") or 0) / 1000, "%.1f"))
            row(what + ": messages/s", wcell("fasterapi", fa), wcell("ws", ws),
                paired_ratio("ws", mode, "msgs_per_s", "ws"), "", None)
            rc = paired_ratio("ws", mode, "server_cpu_us_per_msg", "ws")
            row(what + ": server CPU/msg", bl.fmt(fac, "%.2f µs"), bl.fmt(wsc, "%.2f µs"), rc,
                "≤ 0.50x", None if rc is None else rc <= 0.5)
    if "scale" in PARTS:
        t = "idle-%d" % IDLE_CONNS
        far, ngr = med("scale", t, "fasterapi", "rss_per_conn_kib"), \
            med("scale", t, "nginx", "rss_per_conn_kib")
        row("%d idle keep-alive conns: RSS growth per conn" % IDLE_CONNS,
            bl.fmt(far, "%.2f KiB"), bl.fmt(ngr, "%.2f KiB"),
            paired_ratio("scale", t, "rss_per_conn_kib", "nginx"), "≤ 4 KiB",
            None if far is None else far <= 4.0)
        fal, ngl = med("scale", t, "fasterapi", "loaded_over_baseline"), \
            med("scale", t, "nginx", "loaded_over_baseline")

        def scell(server: str, v: Optional[float]) -> str:
            if v is None:
                return "-"
            return "%.2f (%s vs %s req/s)" % (v, k(med("scale", t, server, "rps", "loaded")),
                                              k(med("scale", t, server, "rps", "baseline")))
        row("c%d req/s with them open ÷ without" % CONNS, scell("fasterapi", fal),
            scell("nginx", ngl), None, "≥ 0.90", None if fal is None else fal >= 0.9)
        summary["scale"] = {"fasterapi_rss_kib_per_conn": far, "nginx_rss_kib_per_conn": ngr,
                            "fasterapi_loaded_over_baseline": fal,
                            "nginx_loaded_over_baseline": ngl}

    print()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.strptime(meta["timestamp"], "%Y%m%dT%H%M%SZ"))
    print("### bench/http, %s, medians of %d rounds (wrk -t%d -d%ds; %d vCPUs shared by client "
          "and server%s)" % (when, meta["rounds"], meta["wrk_threads"], meta["duration_s"],
                             meta["cpus"], ", nice %d" % meta["nice"] if meta.get("nice") else ""))
    print()
    print("| Test | FasterAPI | Peer | FA / peer (median of per-round ratios) | Target | Met |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    flagged = [r for r in RUNS if r.get("flagged") or any(
        isinstance(v, dict) and v.get("flagged") for v in r.values())]
    invalid = [r for r in RUNS if not r.get("valid", True) or any(
        isinstance(v, dict) and v.get("valid") is False for v in r.values())]
    print("Peers: %s; npm ws %s on node %s. Code: %s." % (
        meta["nginx"], meta["ws"], meta["node"], meta["code"]))
    if flagged:
        print("WARNING: %d of %d runs ran on a busy box (others above %.2f CPUs before or during "
              "the run); they are in the medians, listed in the raw file." % (
                  len(flagged), len(RUNS), OTHERS_MAX))
    if invalid:
        print("WARNING: %d run(s) invalid (errors, non-2xx or bad echoes), left out of the "
              "medians." % len(invalid))
    for key, checks in CHECKS.items():
        for path, problems in checks.items():
            if problems:
                print("WARNING: %s %s: %s" % (key, path, "; ".join(problems)))
    for w in WARNINGS:
        print("WARNING: " + w)
    return summary


def tool_version(cmd: List[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def code_meta() -> str:
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", "-C", ROOT, *a], capture_output=True,
                                  text=True).stdout.strip()
        except OSError:
            return ""
    built = "-"
    if WITH_FA:
        try:
            built = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(os.stat(FA_TE).st_mtime))
        except OSError:
            pass
    dirty = git("status", "--porcelain", "--", "src", "include", "examples")
    return "commit %s%s, built %s" % (git("rev-parse", "--short", "HEAD") or "?",
                                     " (+ local changes)" if dirty else "", built)


def main() -> None:
    global TMP, WITH_FA
    if len(sys.argv) == 3 and sys.argv[1] == "--report":
        # Re-print the table of an earlier run from its raw file (bench/results/http-*.json).
        with open(sys.argv[2]) as f:
            data = json.load(f)
        RUNS.extend(data["runs"])
        CHECKS.update(data["checks"])
        WARNINGS.extend(data["warnings"])
        WITH_FA = data["meta"]["with_fasterapi"]
        report(data["meta"])
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if hard < IDLE_CONNS + 1100:
            WARNINGS.append("RLIMIT_NOFILE hard limit %d is below %d idle connections" % (
                hard, IDLE_CONNS))
    if NICE:
        try:
            os.nice(NICE)  # inherited by every server and client started from here
        except OSError as e:
            WARNINGS.append("NICE=%d not applied: %s" % (NICE, e))
    need = [WS_LOAD, HTTP_HOLD]
    bl.need_build(*need)
    fa_bins = [FA_TE] + ([FA_WEB] if "ws" in PARTS else [])
    missing = [b for b in fa_bins if not os.access(b, os.X_OK)]
    if WITH_FA and missing:
        log("FasterAPI server(s) not built: %s: measuring the peers only" % ", ".join(
            os.path.relpath(m, ROOT) for m in missing))
        WITH_FA = False
    TMP = tempfile.mkdtemp(prefix="bench-http-")
    meta = {"timestamp": bl.stamp(), "rounds": ROUNDS, "duration_s": DURATION,
            "warmup_s": WARMUP, "conns": CONNS, "wrk_threads": WRK_THREADS,
            "pipeline": PIPELINE, "ws_conns": WS_CONNS, "ws_window": WS_WINDOW,
            "ws_io_threads": WS_IO_THREADS, "ws_modes": WS_MODES, "idle_conns": IDLE_CONNS,
            "parts": PARTS, "quiet_wait_s": QUIET_WAIT, "quiet_max_cpus": QUIET_MAX,
            "others_max_cpus": OTHERS_MAX, "nice": NICE, "cpus": bl.NCPU,
            "kernel": os.uname().release, "loadavg_before": bl.loadavg(),
            "busy_before": bl.busy_processes(), "nginx": tool_version([NGINX, "-v"]),
            "wrk": tool_version(["wrk", "--version"]), "node": tool_version(["node", "--version"]),
            "ws": ws_version(), "with_fasterapi": WITH_FA, "code": code_meta()}
    log("bench/http: %d rounds, %d s runs, parts %s, load %s%s" % (
        ROUNDS, DURATION, " ".join(PARTS), meta["loadavg_before"],
        "" if WITH_FA else ", PEERS ONLY"))
    try:
        for rnd in range(1, ROUNDS + 1):
            if "http" in PARTS:
                part_http(rnd)
            if "ws" in PARTS:
                part_ws(rnd)
            if "scale" in PARTS:
                part_scale(rnd)
    finally:
        meta["loadavg_after"] = bl.loadavg()
        summary = report(meta)
        path = bl.write_result("http", {"meta": meta, "summary": summary, "checks": CHECKS,
                                        "warnings": WARNINGS, "runs": RUNS})
        print("Raw results: %s" % path)
        subprocess.run(["rm", "-rf", TMP])


TMP = ""

if __name__ == "__main__":
    main()
