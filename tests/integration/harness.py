"""harness.py: drive fa_test_server over pipes, as an MCP client on stdio would.

Every test starts its own server process (FA_TEST_SERVER, set by ctest) with stdin and stdout on
pipes and stderr in a temporary file (the server's logs; printed when a test fails). A reader
thread splits stdout into lines and checks each one: it must end with "\\n", be UTF-8, parse as
JSON and be a well-formed JSON-RPC 2.0 message or batch response (shape_problem). Anything else
is recorded and fails the test at cleanup, so every test also checks that nothing but JSON-RPC
reaches stdout (MCP basic/transports, stdio). A line that is not UTF-8 is still delivered, as
{INVALID_UTF8: text}, so the test waiting for it can say which reply was broken.

Waits are bounded (DEFAULT_TIMEOUT per read) so a hang fails a test instead of blocking ctest.
Standard library only.

Under the asan preset ctest sets FA_SANITIZER=address (tests/integration/CMakeLists.txt): every
server is then ended by closing its stdin rather than killed, so LeakSanitizer runs at its exit,
and a sanitizer report in its stderr fails the test even when the test did not look at the exit
status (sanitizer_report).
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
import time
import unittest
from typing import Any, Callable, Iterable

SERVER = os.environ.get("FA_TEST_SERVER", "")
DEFAULT_TIMEOUT = 10.0
LATEST = "2025-11-25"
VERSIONS = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]

INVALID_UTF8 = "__invalid_utf8__"  # the key of the stand-in for a stdout line that is not UTF-8

_EOF = object()

# "address" when the server under test is built with ASan (+ LeakSanitizer, UBSan): see above.
SANITIZER = os.environ.get("FA_SANITIZER", "")
# Time bounds a test puts on the server scale by this: under ASan everything is slower, and exit
# includes LeakSanitizer's scan of the heap.
TIME_FACTOR = 2.0 if SANITIZER else 1.0
# How long cleanup waits for a server to exit by itself after EOF before killing it (a server
# killed by SIGKILL is not leak-checked). The default shutdown deadline is 5 s.
SANITIZED_EXIT_TIMEOUT = 15.0
# The first line of an ASan, LeakSanitizer or UBSan report (UBSan aborts: -fno-sanitize-recover).
_SANITIZER_REPORT = re.compile(r"^==\d+==ERROR: \w+Sanitizer|^SUMMARY: UndefinedBehaviorSanitizer|"
                               r"^\S+:\d+:\d+: runtime error: ", re.M)


def sanitizer_report(stderr: str) -> str:
    """The sanitizer report in a server's stderr, from its first line on, or ""."""
    m = _SANITIZER_REPORT.search(stderr)
    return stderr[m.start():] if m else ""


def dumps(obj: Any) -> bytes:
    """Compact JSON text, the way the server writes it (no spaces)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def same_json(a: Any, b: Any) -> bool:
    """Deep equality that also compares JSON types: 1, 1.0, True and "1" all differ."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return a == b


def shape_problem(msg: Any, in_batch: bool = False) -> str | None:
    """Why msg is not a well-formed message from an MCP server (JSON-RPC 2.0), or None."""
    if isinstance(msg, list):
        if in_batch:
            return "nested batch"
        if not msg:
            return "empty batch response"
        for m in msg:
            why = shape_problem(m, True)
            if why:
                return why
            if "method" in m:
                return "a notification inside a batch response"
        return None
    if not isinstance(msg, dict):
        return "not an object or an array"
    if msg.get("jsonrpc") != "2.0":
        return 'jsonrpc is not "2.0"'
    if "method" in msg:
        if not isinstance(msg["method"], str):
            return "method is not a string"
        if "params" in msg and not isinstance(msg["params"], dict):
            return "params is not an object"
        return None
    if set(msg) - {"jsonrpc", "id", "result", "error"}:
        return "unexpected members"
    if "id" not in msg or not (msg["id"] is None or isinstance(msg["id"], (str, int))) \
            or isinstance(msg["id"], bool):
        return "bad or missing id"
    if ("result" in msg) == ("error" in msg):
        return "needs exactly one of result and error"
    if "result" in msg and not isinstance(msg["result"], dict):
        return "result is not an object"
    if "error" in msg:
        e = msg["error"]
        if not isinstance(e, dict) or set(e) - {"code", "message", "data"} \
                or not isinstance(e.get("code"), int) or isinstance(e.get("code"), bool) \
                or not isinstance(e.get("message"), str):
            return "malformed error object"
    elif msg["id"] is None:
        return "a result with id null"
    return None


def first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any]:
    """The JSON Pointer of the first place where a and b differ, and the two values there."""
    if type(a) is type(b):
        if isinstance(a, dict) and a.keys() == b.keys():
            for k in a:
                if not same_json(a[k], b[k]):
                    return first_difference(a[k], b[k], path + "/" + str(k))
        elif isinstance(a, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                if not same_json(x, y):
                    return first_difference(x, y, path + "/" + str(i))
        elif isinstance(a, str) and isinstance(b, str):
            n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            return ("%s (strings of %d and %d chars differ from char %d)"
                    % (path, len(a), len(b), n), a[max(0, n - 20):n + 40],
                    b[max(0, n - 20):n + 40])
    return path, a, b


def _short(v: Any, limit: int = 400) -> str:
    text = json.dumps(v, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "... (%d chars)" % len(text)


def error(id_: Any, code: int, message: str, data: Any = None) -> dict:
    e: dict = {"code": code, "message": message}
    if data is not None:
        e["data"] = data
    return {"jsonrpc": "2.0", "id": id_, "error": e}


def result(id_: Any, res: Any) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "result": res}


def text_result(text: str, is_error: bool = False) -> dict:
    r: dict = {"content": [{"type": "text", "text": text}]}
    if is_error:
        r["isError"] = True
    return r


def request(id_: Any, method: str, params: Any = None) -> dict:
    m: dict = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        m["params"] = params
    return m


def notification(method: str, params: Any = None) -> dict:
    m: dict = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        m["params"] = params
    return m


def call(id_: Any, tool: str, arguments: Any = None, meta: Any = None) -> dict:
    params: dict = {"name": tool}
    if arguments is not None:
        params["arguments"] = arguments
    if meta is not None:
        params["_meta"] = meta
    return request(id_, "tools/call", params)


def initialize_params(version: str = LATEST) -> dict:
    return {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "fasterapi-integration", "version": "0"},
    }


class Server:
    """One fa_test_server process with its stdin/stdout on pipes."""

    def __init__(self, args: Iterable[str] = (), *, read: bool = True, stdout: Any = None,
                 stdin: Any = None) -> None:
        if not SERVER or not os.access(SERVER, os.X_OK):
            raise RuntimeError("FA_TEST_SERVER must name the fa_test_server executable")
        self.args = [SERVER, *args]
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.PIPE if stdin is None else stdin,
            stdout=subprocess.PIPE if stdout is None else stdout,
            stderr=self.stderr,
            bufsize=0,
        )
        self.pid = self.proc.pid
        self.messages: queue.Queue = queue.Queue()
        self.bad: list[str] = []  # stdout lines that were not one JSON message
        self.nlines = 0
        self.reader: threading.Thread | None = None
        self._pending: list[Any] = []  # received but not yet consumed by recv_*
        if read and self.proc.stdout is not None:
            self.start_reading()

    # ---- output side ----

    def start_reading(self) -> None:
        assert self.reader is None and self.proc.stdout is not None
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    def _read_loop(self) -> None:
        out = self.proc.stdout
        assert out is not None
        buf = b""
        while True:
            chunk = out.read(1 << 16)
            if not chunk:
                break
            buf += chunk
            start = 0
            while True:
                nl = buf.find(b"\n", start)
                if nl < 0:
                    break
                self._line(buf[start:nl])
                start = nl + 1
            buf = buf[start:]
        if buf:
            self.bad.append("unterminated last line: %r" % buf[:200])
        self.messages.put(_EOF)

    def _line(self, raw: bytes) -> None:
        self.nlines += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            self.bad.append("not UTF-8 (%s): %r" % (e, raw[:200]))
            self.messages.put({INVALID_UTF8: raw.decode("utf-8", "replace")})
            return
        try:
            msg = json.loads(text)
        except ValueError as e:
            self.bad.append("not JSON (%s): %r" % (e, text[:200]))
            return
        problem = shape_problem(msg)
        if problem:
            self.bad.append("not a valid JSON-RPC message (%s): %r" % (problem, text[:200]))
        self.messages.put(msg)

    def recv(self, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The next message (in arrival order); fails on timeout or end of output."""
        if self._pending:
            return self._pending.pop(0)
        try:
            msg = self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no message from the server within %.1f s" % timeout) from None
        if msg is _EOF:
            self.messages.put(_EOF)
            raise AssertionError("the server closed stdout while a message was expected")
        return msg

    def recv_until(self, pred: Callable[[Any], bool],
                   timeout: float = DEFAULT_TIMEOUT) -> tuple[Any, list[Any]]:
        """Reads until a message satisfies pred; returns it and the messages before it."""
        deadline = time.monotonic() + timeout
        before: list[Any] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching message within %.1f s; got %r"
                                     % (timeout, before[-5:]))
            msg = self.recv(left)
            if pred(msg):
                return msg, before
            before.append(msg)

    def recv_id(self, id_: Any, timeout: float = DEFAULT_TIMEOUT) -> tuple[dict, list[Any]]:
        """Reads until the response with this id (type-exact); returns it and what came before."""
        return self.recv_until(
            lambda m: isinstance(m, dict) and "method" not in m and "id" in m
            and same_json(m["id"], id_), timeout)

    def no_message(self, seconds: float) -> None:
        """Asserts that nothing arrives for `seconds`."""
        if self._pending:
            raise AssertionError("unexpected message: %r" % (self._pending[0],))
        try:
            msg = self.messages.get(timeout=seconds)
        except queue.Empty:
            return
        if msg is _EOF:
            self.messages.put(_EOF)
            return
        raise AssertionError("unexpected message: %r" % (msg,))

    def drain_all(self, timeout: float = DEFAULT_TIMEOUT) -> list[Any]:
        """Every message until the server closes stdout."""
        out = list(self._pending)
        self._pending.clear()
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("stdout still open after %.1f s" % timeout)
            try:
                msg = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if msg is _EOF:
                self.messages.put(_EOF)
                return out
            out.append(msg)

    # ---- input side ----

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, *msgs: Any) -> None:
        self.send_raw(b"".join(dumps(m) + b"\n" for m in msgs))

    def request(self, id_: Any, method: str, params: Any = None,
                timeout: float = DEFAULT_TIMEOUT) -> dict:
        """Sends a request and returns its response (notifications before it are dropped)."""
        self.send(request(id_, method, params))
        return self.recv_id(id_, timeout)[0]

    def call(self, id_: Any, tool: str, arguments: Any = None, meta: Any = None,
             timeout: float = DEFAULT_TIMEOUT) -> tuple[dict, list[Any]]:
        self.send(call(id_, tool, arguments, meta))
        return self.recv_id(id_, timeout)

    def initialize(self, version: str = LATEST, initialized: bool = True) -> dict:
        resp = self.request("init", "initialize", initialize_params(version))
        if "result" not in resp:
            raise AssertionError("initialize failed: %r" % (resp,))
        if initialized:
            self.send(notification("notifications/initialized"))
        return resp["result"]

    def close_stdin(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("the server did not exit within %.1f s" % timeout) from None

    def finish(self, timeout: float = DEFAULT_TIMEOUT) -> tuple[int, list[Any]]:
        """Closes stdin (the MCP stdio shutdown), returns the exit code and remaining output."""
        self.close_stdin()
        rc = self.wait(timeout)
        rest = self.drain_all(timeout) if self.reader is not None else []
        return rc, rest

    def rss_kib(self, field: str = "VmRSS") -> int:
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise AssertionError("%s not in /proc/%d/status" % (field, self.pid))

    def logs(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def cleanup(self) -> str:
        """Ends the server and returns its sanitizer report ("" when none, or not sanitized).
        Sanitized, a server still running is first asked to exit (EOF) so its leaks are checked."""
        if SANITIZER and self.proc.poll() is None:
            self.close_stdin()
            try:
                self.proc.wait(SANITIZED_EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self.close_stdin()
        if self.reader is not None:
            self.reader.join(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        report = sanitizer_report(self.logs()) if SANITIZER else ""
        self.stderr.close()
        return report


class ServerTestCase(unittest.TestCase):
    """A TestCase whose servers are always reaped and whose stdout is always checked."""

    maxDiff = 4000

    def setUp(self) -> None:
        self.servers: list[Server] = []

    def tearDown(self) -> None:
        failed = self._outcome_failed()
        problems = []  # every server is reaped before any of them fails the test
        for srv in self.servers:
            if failed:
                logs = srv.logs()
                print("\n---- server %s stderr (last 4000 chars) ----\n%s"
                      % (" ".join(srv.args[1:]), logs[-4000:]))
            bad = list(srv.bad)
            report = srv.cleanup()
            if bad:
                problems.append("stdout must carry only JSON-RPC lines: %r" % (bad,))
            if report:
                problems.append("sanitizer report from server %s:\n%s"
                                % (" ".join(srv.args[1:]), report[:6000]))
        if problems:
            self.fail("\n".join(problems))

    def _outcome_failed(self) -> bool:
        # Python 3.11+ records failures on the result as they happen (tearDown runs in a fresh
        # "test part", so _outcome.success cannot tell); subtest failures name their parent.
        result_ = getattr(getattr(self, "_outcome", None), "result", None)
        for t, _ in getattr(result_, "failures", []) + getattr(result_, "errors", []):
            if t is self or getattr(t, "test_case", None) is self:
                return True
        return False

    def start(self, *args: str, **kw: Any) -> Server:
        srv = Server(args, **kw)
        self.servers.append(srv)
        return srv

    def started(self, *args: str, version: str = LATEST, **kw: Any) -> Server:
        """A server past the initialize handshake."""
        srv = self.start(*args, **kw)
        srv.initialize(version)
        return srv

    def assertJson(self, actual: Any, expected: Any, msg: str | None = None) -> None:
        if not same_json(actual, expected):
            where, a, e = first_difference(actual, expected)
            self.fail("%sJSON differs (types included) at %s:\n  actual:   %s\n  expected: %s"
                      "\n  whole actual:   %s\n  whole expected: %s"
                      % (msg + ": " if msg else "", where or "the top", _short(a), _short(e),
                         _short(actual), _short(expected)))

    def assertClean(self, srv: Server, timeout: float = DEFAULT_TIMEOUT) -> list[Any]:
        """Closes stdin; asserts exit code 0 and returns what was still written."""
        rc, rest = srv.finish(timeout)
        self.assertEqual(rc, 0, "exit status after EOF on stdin")
        return rest

    def assertHealthy(self, srv: Server, id_: Any = "health") -> None:
        """A ping and an echo call still work."""
        self.assertJson(srv.request(id_, "ping"), result(id_, {}))
        resp, _ = srv.call(str(id_) + "-echo", "echo", {"text": "still here"})
        self.assertJson(resp, result(str(id_) + "-echo", text_result("still here")))


def main() -> None:
    unittest.main(verbosity=2)
