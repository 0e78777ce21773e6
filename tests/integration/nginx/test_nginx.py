#!/usr/bin/env python3
"""integration/nginx-two-instances: two `fasterapi run examples/conformance/server.py --http`
instances behind nginx configured by deploy/nginx.conf (the shipped file, with only its ports
and paths rewritten), all on free loopback ports.

Checks, in order:
  1. GET /healthz through nginx (the instances' --health route).
  2. Modern (2026-07-28, stateless) requests through nginx land on both instances.
  3. Legacy (2025-11-25) sessions through nginx: sessions are minted by both instances (ids
     "n1."/"n2."), and each keeps working for 20 requests that all land on the instance that
     minted it (each instance's --metrics request counts).
  4. MRTR: an input_required requestState minted by instance A is accepted by instance B (same
     --state-key-file) and refused with -32602 by an instance started with another key.
  5. The official conformance legs alpha12-2026-07-28 and alpha12-2025-11-25 THROUGH nginx
     (tests/conformance/run --url), zero failures.
  6. Instance B stops: a request of a session it held gets nginx's JSON-RPC 404 (the client
     starts a new session), and modern requests are still answered (by A).

nginx missing is a FAILURE with a clear message (scripts/bootstrap.sh --test installs it), never
a skip. Standard library only.

    FASTERAPI=build/dev/fasterapi tests/integration/nginx/test_nginx.py [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CONF = os.path.join(ROOT, "deploy", "nginx.conf")
SERVER = os.path.join(ROOT, "examples", "conformance", "server.py")
RUNNER = os.path.join(ROOT, "tests", "conformance", "run")
LEGS = ["alpha12-2026-07-28", "alpha12-2025-11-25"]

# Limits, each with its reason.
# Cold start of an instance is ~150 ms; an ASan build on a loaded 2-core machine is far slower.
START_S = 30
# One HTTP exchange in the direct checks (all are quick tools or lists).
HTTP_S = 10
# The session check: as many requests as the brief asks a session to survive.
SESSION_REQUESTS = 20
# Sessions opened until both instances have minted one: each initialize lands on either
# instance (random key), so the chance that 16 all land on the same one is 2^-15.
MAX_SESSIONS = 16
# Modern requests sent to see both instances answer (same 2^-(n-1) argument).
MODERN_REQUESTS = 16
# The two conformance legs take 2-3 minutes together; the runner bounds each leg itself.
CONFORMANCE_S = 900

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
ACCEPT = "application/json, text/event-stream"


def fail(msg: str) -> None:
    print(f"FAIL: {msg}", flush=True)
    raise SystemExit(1)


def say(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen, what: str, log: str) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            fail(f"{what} exited with status {proc.returncode} before listening; log {log}:\n"
                 + tail(log))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    fail(f"{what} did not listen on 127.0.0.1:{port} within {START_S} s; log {log}:\n" + tail(log))


def tail(path: str, lines: int = 20) -> str:
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        return f"  ({e})"
    return "\n".join("  | " + x for x in text.splitlines()[-lines:])


class Proc:
    """A child process in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: list[str], log: str) -> None:
        self.name, self.log_path = name, log
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def http(url: str, method: str = "GET", body: object = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """(status, headers with lower-case names, body text); never raises on an HTTP status."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=HTTP_S) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


def rpc_body(text: str, ctype: str) -> dict:
    """The JSON-RPC response in a JSON or SSE body (the last `data:` event that is a response)."""
    if ctype.startswith("text/event-stream"):
        found = None
        for line in text.splitlines():
            if line.startswith("data:"):
                try:
                    msg = json.loads(line[5:])
                except ValueError:
                    continue
                if isinstance(msg, dict) and ("result" in msg or "error" in msg):
                    found = msg
        if found is None:
            fail(f"no JSON-RPC response in the SSE body: {text[:500]!r}")
        return found
    return json.loads(text)


def meta(caps: dict | None = None) -> dict:
    return {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": caps or {}}


def modern_call(url: str, rid: int, method: str, params: dict, name: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Accept": ACCEPT, "MCP-Protocol-Version": MODERN,
               "Mcp-Method": method}
    if name:
        headers["Mcp-Name"] = name
    st, h, text = http(url, "POST", {"jsonrpc": "2.0", "id": rid, "method": method, "params": params},
                       headers)
    if st != 200:
        fail(f"modern {method} to {url}: HTTP {st}: {text[:500]}")
    return st, rpc_body(text, h.get("content-type", ""))


def mcp_requests(metrics_url: str) -> int:
    """Requests this instance answered on /mcp (every status), from its Prometheus text."""
    st, _, text = http(metrics_url)
    if st != 200:
        fail(f"GET {metrics_url}: HTTP {st}")
    n = 0
    for m in re.finditer(r'^fasterapi_http_requests_total\{route="/mcp",[^}]*\} (\d+)$', text, re.M):
        n += int(m.group(1))
    return n


def make_conf(path: str, tmp: str, listen: int, a: int, b: int) -> None:
    """deploy/nginx.conf with its example ports, listen address and Debian paths replaced. Each
    replacement must match, so a change in the shipped file cannot silently escape this test."""
    with open(CONF, encoding="utf-8") as f:
        text = f.read()
    for old, new, at_least in [("127.0.0.1:8001", f"127.0.0.1:{a}", 2), ("127.0.0.1:8002", f"127.0.0.1:{b}", 2),
                               ("listen 80;", f"listen 127.0.0.1:{listen};", 1),
                               ("/var/lib/nginx/", tmp + "/", 5), ("/var/log/nginx/", tmp + "/", 2),
                               # Only root can switch users; nginx would warn.
                               ("user www-data;", "", 1)]:
        n = text.count(old)
        if n < at_least:
            fail(f"deploy/nginx.conf has {n} '{old}', the test expects at least {at_least}: update "
                 "tests/integration/nginx/test_nginx.py with the shipped file")
        text = text.replace(old, new)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fasterapi", default=os.environ.get("FASTERAPI")
                    or os.path.join(ROOT, "build", "dev", "fasterapi"))
    ap.add_argument("--work-dir", help="conformance install/results dir (tests/conformance/run --work-dir)")
    ap.add_argument("--skip-conformance", action="store_true", help="only the direct checks")
    a = ap.parse_args()

    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not nginx:
        fail("nginx is not installed; this test needs it (scripts/bootstrap.sh --test installs "
             "nginx-light, or: apt-get install nginx-light)")
    fasterapi = os.path.abspath(a.fasterapi)
    if not os.access(fasterapi, os.X_OK):
        fail(f"{fasterapi} is not an executable fasterapi (build it, or set FASTERAPI)")

    tmp = tempfile.mkdtemp(prefix="fa-nginx-")
    procs: list[Proc] = []
    ok = False
    try:
        key, other_key = os.path.join(tmp, "state.key"), os.path.join(tmp, "other.key")
        for p in (key, other_key):
            with open(p, "wb") as f:
                f.write(os.urandom(48))
        pa, pb, pc, pl = free_port(), free_port(), free_port(), free_port()
        front = f"127.0.0.1:{pl}"

        def instance(name: str, port: int, node: str, keyfile: str) -> Proc:
            argv = [fasterapi, "run", SERVER, "--http", f"127.0.0.1:{port}", "--node-id", node,
                    "--state-key-file", keyfile, "--allow-host", front, "--health", "/healthz",
                    "--metrics", "/metrics", "--workers", "2"]
            p = Proc(name, argv, os.path.join(tmp, f"{name}.log"))
            procs.append(p)
            return p

        A = instance("instance-a", pa, "n1", key)
        B = instance("instance-b", pb, "n2", key)
        C = instance("instance-c", pc, "n3", other_key)  # another key, not behind nginx
        conf = os.path.join(tmp, "nginx.conf")
        make_conf(conf, tmp, pl, pa, pb)
        ngx_argv = [nginx, "-p", tmp, "-c", conf, "-e", os.path.join(tmp, "nginx-error.log"),
                    "-g", f"daemon off; pid {tmp}/nginx.pid;"]
        t = subprocess.run(ngx_argv[:-2] + ["-t", "-g", f"pid {tmp}/nginx.pid;"], capture_output=True,
                           text=True, timeout=30)
        if t.returncode != 0:
            fail(f"nginx -t refuses the generated config {conf}:\n{t.stderr}")
        N = Proc("nginx", ngx_argv, os.path.join(tmp, "nginx.log"))
        procs.append(N)
        for p, port in ((A, pa), (B, pb), (C, pc), (N, pl)):
            wait_port(port, p.proc, p.name, p.log_path)
        say(f"==> instances n1 :{pa}, n2 :{pb} (shared key), n3 :{pc} (other key); nginx :{pl}; files in {tmp}")
        mcp = f"http://{front}/mcp"
        direct = {"n1": f"http://127.0.0.1:{pa}", "n2": f"http://127.0.0.1:{pb}"}

        # 1. Health through nginx.
        st, _, text = http(f"http://{front}/healthz")
        if st != 200 or text != "ok\n":
            fail(f"GET /healthz through nginx: {st} {text!r}")
        say("ok: GET /healthz through nginx -> 200 ok")

        # 2. Modern requests spread over both instances.
        before = {n: mcp_requests(u + "/metrics") for n, u in direct.items()}
        for i in range(MODERN_REQUESTS):
            _, r = modern_call(mcp, 100 + i, "tools/list", {"_meta": meta()})
            if "result" not in r or not r["result"].get("tools"):
                fail(f"modern tools/list through nginx: {r}")
        got = {n: mcp_requests(u + "/metrics") - before[n] for n, u in direct.items()}
        if sum(got.values()) != MODERN_REQUESTS or min(got.values()) == 0:
            fail(f"{MODERN_REQUESTS} modern requests through nginx were answered {got} (by instance); "
                 "expected all of them, spread over both")
        say(f"ok: {MODERN_REQUESTS} modern requests through nginx answered by n1 {got['n1']}, n2 {got['n2']}")

        # 3. Legacy sessions: minted by both instances, each pinned to its minter.
        seen: dict[str, str] = {}
        for i in range(MAX_SESSIONS):
            if len(seen) == 2:
                break
            st, h, text = http(mcp, "POST", {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "nginx-test", "version": "1"}}},
                {"Content-Type": "application/json", "Accept": ACCEPT})
            sid = h.get("mcp-session-id", "")
            m = re.match(r"^(n[12])\.[0-9a-f]{32}$", sid)
            if st != 200 or not m:
                fail(f"initialize through nginx: HTTP {st}, Mcp-Session-Id {sid!r}: {text[:300]}")
            seen.setdefault(m.group(1), sid)
        if len(seen) != 2:
            fail(f"{MAX_SESSIONS} initialize requests through nginx were all answered by {list(seen)}")
        for node, sid in sorted(seen.items()):
            hdrs = {"Content-Type": "application/json", "Accept": ACCEPT, "Mcp-Session-Id": sid,
                    "MCP-Protocol-Version": LEGACY}
            before = {n: mcp_requests(u + "/metrics") for n, u in direct.items()}
            st, _, text = http(mcp, "POST", {"jsonrpc": "2.0", "method": "notifications/initialized"}, hdrs)
            if st != 202:
                fail(f"notifications/initialized of session {sid} through nginx: HTTP {st}: {text[:300]}")
            for i in range(SESSION_REQUESTS):
                body = ({"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call",
                         "params": {"name": "test_simple_text", "arguments": {}}} if i % 2 == 0 else
                        {"jsonrpc": "2.0", "id": 10 + i, "method": "tools/list"})
                st, h, text = http(mcp, "POST", body, hdrs)
                if st != 200:
                    fail(f"request {i + 1} of session {sid} through nginx: HTTP {st}: {text[:300]}")
                r = rpc_body(text, h.get("content-type", ""))
                if "result" not in r:
                    fail(f"request {i + 1} of session {sid} through nginx: {r}")
            got = {n: mcp_requests(u + "/metrics") - before[n] for n, u in direct.items()}
            other = "n2" if node == "n1" else "n1"
            if got[node] != SESSION_REQUESTS + 1 or got[other] != 0:
                fail(f"session {sid}: its {SESSION_REQUESTS + 1} requests were answered {got} (by "
                     f"instance); expected all by {node}, which minted it")
            say(f"ok: session {sid[:11]}... minted by {node}: {SESSION_REQUESTS + 1} requests through "
                f"nginx, all answered by {node}")

        # 4. MRTR requestState across instances.
        caps = {"elicitation": {}}
        tool = "test_input_required_result_request_state"
        _, r = modern_call(direct["n1"] + "/mcp", 1, "tools/call",
                           {"name": tool, "arguments": {}, "_meta": meta(caps)}, tool)
        res = r.get("result") or {}
        state = res.get("requestState")
        if res.get("resultType") != "input_required" or not isinstance(state, str) or "confirm" not in res.get("inputRequests", {}):
            fail(f"{tool} on instance n1: expected input_required with requestState and key 'confirm': {r}")
        retry = {"name": tool, "arguments": {}, "requestState": state, "_meta": meta(caps),
                 "inputResponses": {"confirm": {"action": "accept", "content": {"ok": True}}}}
        _, r = modern_call(direct["n2"] + "/mcp", 2, "tools/call", retry, tool)
        res = r.get("result") or {}
        texts = [c.get("text", "") for c in res.get("content", [])]
        if res.get("resultType") != "complete" or res.get("isError") or not any("state-ok: confirmed=True" in t for t in texts):
            fail(f"the retry with n1's requestState on n2 (same key): expected the completed call: {r}")
        say("ok: requestState minted by n1 accepted by n2 (shared --state-key-file)")
        _, r = modern_call(f"http://127.0.0.1:{pc}/mcp", 3, "tools/call", retry, tool)
        if (r.get("error") or {}).get("code") != -32602:
            fail(f"the retry with n1's requestState on n3 (another key): expected error -32602: {r}")
        say("ok: requestState minted by n1 refused by n3 (another key): -32602")

        # 5. The official conformance legs through nginx.
        if not a.skip_conformance:
            work = os.path.abspath(a.work_dir or os.path.join(os.path.dirname(fasterapi), "tests", "conformance"))
            cmd = [sys.executable, "-B", RUNNER, "--url", mcp, "--work-dir", work]
            for leg in LEGS:
                cmd += ["--leg", leg]
            say("==> " + " ".join(cmd))
            rc = subprocess.run(cmd, timeout=CONFORMANCE_S).returncode
            if rc != 0:
                fail(f"the conformance legs {LEGS} through nginx failed (status {rc}); instance logs in {tmp}")
            for p in (A, B, N):
                if p.proc.poll() is not None:
                    fail(f"{p.name} exited (status {p.proc.returncode}) during the conformance legs:\n" + tail(p.log_path))
            say(f"ok: conformance legs {', '.join(LEGS)} through nginx: zero failures")

        # 6. Instance n2 goes away.
        B.stop()
        st, h, text = http(mcp, "POST", {"jsonrpc": "2.0", "id": 99, "method": "tools/list"},
                           {"Content-Type": "application/json", "Accept": ACCEPT, "Mcp-Session-Id": seen["n2"],
                            "MCP-Protocol-Version": LEGACY})
        try:
            code = json.loads(text)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        if st != 404 or code != -32001 or not h.get("content-type", "").startswith("application/json"):
            fail(f"a request of n2's session after n2 stopped: expected 404 with JSON-RPC -32001, got {st} {text[:300]!r}")
        say("ok: n2 stopped: its session's request gets 404 / -32001 (JSON) from nginx")
        for i in range(4):
            _, r = modern_call(mcp, 200 + i, "tools/list", {"_meta": meta()})
            if "result" not in r:
                fail(f"modern tools/list with n2 stopped: {r}")
        say("ok: n2 stopped: modern requests are still answered (by n1)")
        ok = True
    finally:
        for p in reversed(procs):
            p.stop()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say(f"(logs kept in {tmp})")
    say("PASS: nginx-two-instances")
    return 0


if __name__ == "__main__":
    sys.exit(main())
