"""`fasterapi run APP.py --http` serving a Python web App over real sockets (http.client):
routing, conversion, bodies, responses, errors and bad input, the handler timeout, the app and
MCP on one port, parallel workers, and the FastAPI tutorial CRUD (compared with FastAPI +
uvicorn when Debian's python3-fastapi/python3-uvicorn are installed). Standard library only.
FASTERAPI names the built CLI (set by ctest)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
APPS = os.path.join(HERE, "apps")
FASTERAPI = os.environ.get("FASTERAPI", "")
os.environ.pop("VIRTUAL_ENV", None)
if not FASTERAPI or not os.access(FASTERAPI, os.X_OK):
    raise SystemExit("FASTERAPI must name the built `fasterapi` executable")

START_TIMEOUT = 30.0


class WebServer:
    """`fasterapi run APP --http 127.0.0.1:0 ...`; the port comes from its "listening on" line."""

    def __init__(self, app: str, *args: str, cmd: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            cmd or [FASTERAPI, "run", os.path.join(APPS, app + ".py"), "--http", "127.0.0.1:0", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.lines: list[str] = []
        self.port = 0
        deadline = time.monotonic() + START_TIMEOUT
        assert self.proc.stderr is not None
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline().decode("utf-8", "replace")
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        if not self.port:
            self.proc.kill()
            raise RuntimeError("server did not start:\n" + "".join(self.lines))
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        # The "serving FILE: ... Python X (MODE)" line: every worker interpreter is up (before
        # it the early worker alone serves, in the main interpreter).
        while time.monotonic() < deadline:
            if any("serving " in line and ", Python " in line for line in self.lines):
                break
            if self.proc.poll() is not None:
                raise RuntimeError("server ended:\n" + self.stderr())
            time.sleep(0.02)

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.lines.append(raw.decode("utf-8", "replace"))

    def stderr(self) -> str:
        return "".join(self.lines)

    def conn(self, timeout: float = 10.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def json(self, method: str, path: str, payload: object = None, **kw: object) -> tuple[int, object]:
        body = json.dumps(payload) if payload is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        headers.update(kw.pop("headers", {}) or {})  # type: ignore[arg-type]
        status, h, data = self.request(method, path, body, headers, **kw)  # type: ignore[arg-type]
        return status, (json.loads(data) if data and h.get("content-type", "").startswith("application/json") else data)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return self.proc.returncode


class WebAppTest(unittest.TestCase):
    srv: WebServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = WebServer("web_app", "--workers", "2", "--handler-timeout", "2",
                            "--max-body", str(1 << 20))

    @classmethod
    def tearDownClass(cls) -> None:
        rc = cls.srv.stop()
        assert rc == 0, f"exit status {rc}:\n{cls.srv.stderr()}"

    def test_path_query_conversion(self) -> None:
        self.assertEqual(self.srv.json("GET", "/items/42?q=hi&n=1&n=2"), (200, {"item_id": 42, "q": "hi", "n": [1, 2]}))
        self.assertEqual(self.srv.json("GET", "/items/7"), (200, {"item_id": 7, "q": None, "n": []}))

    def test_wrong_types_are_422(self) -> None:
        status, body = self.srv.json("GET", "/items/abc?n=x")
        self.assertEqual(status, 422)
        locs = sorted(tuple(e["loc"]) for e in body["detail"])  # type: ignore[index]
        self.assertEqual(locs, [("path", "item_id"), ("query", "n", 0)])
        for e in body["detail"]:  # type: ignore[index]
            self.assertEqual(e["type"], "int_parsing")
            self.assertIn("valid integer", e["msg"])

    def test_json_body(self) -> None:
        status, body = self.srv.json("POST", "/items", {"name": "pen", "price": 1.5, "tags": ["a"]})
        self.assertEqual((status, body), (201, {"name": "pen", "price": 1.5, "tags": ["a"]}))

    def test_bad_bodies(self) -> None:
        status, body = self.srv.json("POST", "/items", {"name": "pen"})
        self.assertEqual(status, 422)
        self.assertEqual(body["detail"][0]["loc"], ["body", "price"])  # type: ignore[index]
        status, body = self.srv.json("POST", "/items", {"name": "pen", "price": "free"})
        self.assertEqual(status, 422)
        status, h, data = self.srv.request("POST", "/items", b"{not json", {"Content-Type": "application/json"})
        self.assertEqual(status, 422)
        self.assertEqual(json.loads(data)["detail"][0]["type"], "json_invalid")
        status, h, data = self.srv.request("POST", "/items")  # no body at all
        self.assertEqual(status, 422)
        self.assertEqual(json.loads(data)["detail"], [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
        status, _, data = self.srv.request("POST", "/items", b"\xff\xfe\x00garbage")
        self.assertEqual(status, 422)

    def test_oversized_body_is_413(self) -> None:
        # --max-body 1 MiB: 9 MiB is refused by the C core before any Python runs. The server
        # may close while we still send.
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        try:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (9 << 20))
            data = b""
            try:
                chunk = b"x" * 65536
                for _ in range(9 * 16):
                    s.sendall(chunk)
            except OSError:
                pass
            try:
                while b"\r\n" not in data:
                    more = s.recv(4096)
                    if not more:
                        break
                    data += more
            except OSError:
                pass
        finally:
            s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:80])
        self.assertEqual(self.srv.request("GET", "/text")[0], 200)  # still serving

    def test_responses(self) -> None:
        status, h, data = self.srv.request("GET", "/text")
        self.assertEqual((status, h["content-type"], data), (200, "text/plain; charset=utf-8", b"plain text"))
        payload = bytes(range(256)) * 8
        status, h, data = self.srv.request("POST", "/echo", payload)
        self.assertEqual((status, h["content-type"], h["x-len"], data), (200, "application/octet-stream", "2048", payload))
        status, h, data = self.srv.request("HEAD", "/text")
        self.assertEqual((status, data, h["content-length"]), (200, b"", "10"))

    def test_handler_headers_cannot_break_framing(self) -> None:
        status, h, data = self.srv.request("GET", "/framing")
        self.assertEqual((status, data, h["content-length"], h["content-type"], h["x-ok"]),
                         (200, b"abc", "3", "text/x-mine", "1"))
        self.assertNotIn("transfer-encoding", h)
        status, h, data = self.srv.request("GET", "/badheader")
        self.assertEqual((status, data), (200, b"x"))
        self.assertNotIn("set-cookie", h)
        self.assertNotIn("x-evil", h)

    def test_request_object_async(self) -> None:
        status, body = self.srv.json("GET", "/async?x=1&x=2", headers={"User-Agent": "itest/1"})
        self.assertEqual(status, 200)
        self.assertEqual({k: body[k] for k in ("method", "path", "query", "ua", "client")},  # type: ignore[index]
                         {"method": "GET", "path": "/async", "query": ["1", "2"], "ua": "itest/1", "client": "127.0.0.1"})

    def test_handler_raises_500(self) -> None:
        status, h, data = self.srv.request("GET", "/raise")
        self.assertEqual((status, data), (500, b"Internal Server Error"))
        deadline = time.monotonic() + 5
        while "handler failed on purpose" not in self.srv.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("RuntimeError: handler failed on purpose", self.srv.stderr())
        self.assertIn("GET /raise", self.srv.stderr())
        self.assertEqual(self.srv.json("GET", "/teapot"), (418, {"detail": "I'm a teapot"}))

    def test_handler_never_returns_504(self) -> None:
        t0 = time.monotonic()
        status, _, data = self.srv.request("GET", "/never")
        self.assertEqual(status, 504)
        self.assertLess(time.monotonic() - t0, 5)
        # The worker is not lost: the task was cancelled, both workers still serve.
        for _ in range(4):
            self.assertEqual(self.srv.request("GET", "/text")[0], 200)

    def test_startup_hook_ran_in_every_worker(self) -> None:
        for _ in range(8):  # keep-alive off: requests spread over the workers
            self.assertEqual(self.srv.json("GET", "/started"), (200, {"started": True}))

    def test_router_dependency(self) -> None:
        self.assertEqual(self.srv.json("GET", "/admin/stats", headers={"X-Token": "secret"}), (200, {"ok": True}))
        self.assertEqual(self.srv.json("GET", "/admin/stats", headers={"X-Token": "nope"}), (401, {"detail": "bad token"}))
        status, body = self.srv.json("GET", "/admin/stats")
        self.assertEqual((status, body["detail"][0]["loc"]), (422, ["header", "x-token"]))  # type: ignore[index]

    def test_404_405(self) -> None:
        self.assertEqual(self.srv.request("GET", "/missing")[0], 404)
        status, h, _ = self.srv.request("DELETE", "/items/1")
        self.assertEqual(status, 405)
        self.assertIn("GET", h["allow"])

    def test_mcp_on_the_same_port(self) -> None:
        hdrs = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        status, h, data = self.srv.request("POST", "/mcp", json.dumps(init), hdrs)
        self.assertEqual(status, 200, data)
        sid = h.get("mcp-session-id")
        if sid:
            hdrs["Mcp-Session-Id"] = sid
        hdrs["MCP-Protocol-Version"] = "2025-06-18"
        self.srv.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}), hdrs)
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}
        status, h, data = self.srv.request("POST", "/mcp", json.dumps(call), hdrs)
        self.assertEqual(status, 200, data)
        text = data.decode()
        if text.startswith("event:") or text.startswith("data:") or "\ndata:" in text:
            text = next(line[5:].strip() for line in text.splitlines() if line.startswith("data:"))
        self.assertEqual(json.loads(text)["result"]["content"][0]["text"], "5")

    def test_parallel_workers_and_keepalive(self) -> None:
        # Two blocking 1 s handlers at once finish well under the 2 s they take one after the
        # other: two workers run them (margin for sanitizer builds and a busy box).
        results: list[int] = []

        def hit() -> None:
            results.append(self.srv.request("GET", "/busy?seconds=1.0")[0])

        t0 = time.monotonic()
        threads = [threading.Thread(target=hit) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [200, 200])
        self.assertLess(time.monotonic() - t0, 1.8)
        # Many requests on one keep-alive connection, sync and async mixed.
        c = self.srv.conn()
        try:
            for i in range(50):
                c.request("GET", f"/items/{i}" if i % 2 else "/async")
                r = c.getresponse()
                self.assertEqual(r.status, 200)
                r.read()
        finally:
            c.close()

    def test_pipelined_and_concurrent(self) -> None:
        # 20 pipelined requests on one connection come back complete and in order.
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        try:
            s.sendall(b"".join(b"GET /items/%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(20)))
            data = b""
            while data.count(b"HTTP/1.1 200") < 20 or not data.endswith(b"}"):
                more = s.recv(65536)
                if not more:
                    break
                data += more
        finally:
            s.close()
        ids = [int(m) for m in re.findall(rb'"item_id":(\d+)', data)]
        self.assertEqual(ids, list(range(20)))


class TutorialTest(unittest.TestCase):
    """The FastAPI tutorial's CRUD, unchanged but for the import line."""

    SCRIPT = [
        ("GET", "/", None),
        ("GET", "/items/", None),
        ("POST", "/items/1", {"name": "Foo", "price": 35.4, "description": "the foo"}),
        ("POST", "/items/1", {"name": "Foo", "price": 35.4}),
        ("POST", "/items/2", {"name": "Bar", "price": 1, "tax": 0.5}),
        ("GET", "/items/1", None),
        ("GET", "/items/1?q=x", None),
        ("GET", "/items/?skip=1&limit=5", None),
        ("PUT", "/items/2", {"name": "Baz", "price": 2.5}),
        ("PUT", "/items/9", {"name": "Baz", "price": 2.5}),
        ("DELETE", "/items/1", None),
        ("GET", "/items/1", None),
        ("GET", "/users/3/items/abc?q=z&short=true", None),
        ("GET", "/users/3/items/abc?short=0", None),
        ("GET", "/items/notanint", None),
        ("POST", "/items/5", {"name": "NoPrice"}),
        ("POST", "/items/6", None),
    ]

    def run_script(self, srv: WebServer) -> list[tuple[int, object]]:
        out = []
        for method, path, payload in self.SCRIPT:
            status, body = srv.json(method, path, payload)
            out.append((status, body if status < 400 or status in (400, 404) else None))
        return out

    def test_crud(self) -> None:
        srv = WebServer("web_tutorial", "--workers", "1")
        try:
            ours = self.run_script(srv)
        finally:
            self.assertEqual(srv.stop(), 0, srv.stderr())
        expected_status = [200, 200, 200, 400, 200, 200, 200, 200, 200, 404, 200, 404, 200, 200, 422, 422, 422]
        self.assertEqual([s for s, _ in ours], expected_status)
        self.assertEqual(ours[2][1], {"name": "Foo", "price": 35.4, "description": "the foo", "tax": None})
        self.assertEqual(ours[6][1], {"item_id": 1, "q": "x", "item": {"name": "Foo", "price": 35.4, "description": "the foo", "tax": None}})
        self.assertEqual(ours[9][1], {"detail": "Item not found"})
        self.assertEqual(ours[12][1], {"item_id": "abc", "owner_id": 3, "q": "z"})
        ref = self.reference()
        if ref is not None:
            self.assertEqual(ours, ref)

    def reference(self) -> list[tuple[int, object]] | None:
        """The same script against FastAPI + uvicorn (Debian's), or None when not installed."""
        py = shutil.which("python3", path="/usr/bin")
        if not py or subprocess.run([py, "-c", "import fastapi, uvicorn"], capture_output=True).returncode:
            sys.stderr.write("(FastAPI + uvicorn not installed: no reference run)\n")
            return None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        proc = subprocess.Popen([py, "-m", "uvicorn", "web_tutorial:app", "--port", str(port), "--log-level", "warning"],
                                cwd=APPS, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            srv = WebServer.__new__(WebServer)
            srv.port = port
            return self.run_script(srv)
        finally:
            proc.terminate()
            proc.wait(10)


class StartupTest(unittest.TestCase):
    def test_web_only_app_needs_http(self) -> None:
        r = subprocess.run([FASTERAPI, "run", os.path.join(APPS, "web_tutorial.py")], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--http", r.stderr)

    def test_web_and_mcp_on_several_io_threads(self) -> None:
        """--io-threads 2 with a web App and MCP in one file: both answer on every loop (many
        connections, so SO_REUSEPORT spreads them), and SIGTERM ends it cleanly."""
        srv = WebServer("web_app", "--io-threads", "2", "--workers", "2")
        try:
            hdrs = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
            init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                    "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                               "clientInfo": {"name": "t", "version": "1"}}}
            status, h, data = srv.request("POST", "/mcp", json.dumps(init), hdrs)
            self.assertEqual(status, 200, data)
            hdrs["Mcp-Session-Id"] = h["mcp-session-id"]
            hdrs["MCP-Protocol-Version"] = "2025-06-18"
            for i in range(16):  # a new connection each time: both loops take some
                self.assertEqual(srv.json("GET", f"/items/{i}"), (200, {"item_id": i, "q": None, "n": []}))
                call = {"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call",
                        "params": {"name": "add", "arguments": {"a": i, "b": 1}}}
                status, _, data = srv.request("POST", "/mcp", json.dumps(call), hdrs)
                self.assertEqual(status, 200, data)
                self.assertEqual(json.loads(data)["result"]["content"][0]["text"], str(i + 1))
        finally:
            self.assertEqual(srv.stop(), 0, srv.stderr())

    def test_unknown_app_name(self) -> None:
        r = subprocess.run([FASTERAPI, "run", os.path.join(APPS, "web_app.py"), "--http", "127.0.0.1:0", "--app", "nope"],
                           capture_output=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"nope", r.stderr)

    def test_inspect_lists_routes(self) -> None:
        r = subprocess.run([FASTERAPI, "inspect", os.path.join(APPS, "web_app.py")], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        table = json.loads(r.stdout)
        self.assertIn({"method": "GET", "path": "/items/{item_id}"}, table["routes"])
        self.assertIn({"method": "GET", "path": "/admin/stats"}, table["routes"])
        self.assertEqual([t["name"] for t in table["tools"]], ["add"])

    def test_python_app_py_runs_the_server(self) -> None:
        # `python app.py` with app.run(): the script execs `fasterapi run` ($FASTERAPI).
        pkg = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))), "python")
        env = dict(os.environ, PYTHONPATH=pkg)
        srv = WebServer("web_run", cmd=[sys.executable, os.path.join(APPS, "web_run.py")], env=env)
        try:
            self.assertEqual(srv.json("GET", "/"), (200, {"ran": True}))
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_web_only_serves_no_mcp(self) -> None:
        # A file without an MCP server may use several I/O threads.
        srv = WebServer("web_tutorial", "--workers", "1", "--io-threads", "2")
        try:
            for _ in range(6):
                self.assertEqual(srv.json("GET", "/"), (200, {"message": "Hello World"}))
            self.assertEqual(srv.request("POST", "/mcp", "{}", {"Content-Type": "application/json"})[0], 404)
        finally:
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    unittest.main()
