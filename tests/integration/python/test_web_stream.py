"""StreamingResponse and Server-Sent Events of a Python web App over real sockets
(apps/web_stream.py): sync and async generators streamed chunked, a slow reader holding the
producer back (bounded memory), a client that disconnects stopping its generator (busy or idle),
SSE events with id/event/retry, keep-alive comments, push from another handler, a C channel with
Last-Event-ID replay on reconnect and publishes from every worker. Standard library only.
FASTERAPI names the built CLI (set by ctest)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_web_app import WebServer  # noqa: E402

BLOCK = bytes(range(256)) * 256  # what apps/web_stream.py's big streams repeat


def read_sse(resp: http.client.HTTPResponse, until: float, want: int = 1 << 30) -> list[dict[str, str]]:
    """Parses events (and ': comment' blocks as {"comment": ...}) until `want` or the deadline."""
    events: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    while len(events) < want and time.monotonic() < until:
        try:
            raw = resp.readline()
        except (socket.timeout, TimeoutError):
            break
        if not raw:
            break
        line = raw.decode("utf-8").rstrip("\n")
        if line == "":
            if cur:
                events.append(cur)
            cur = {}
        elif line.startswith(":"):
            cur["comment"] = line[1:].strip()
        else:
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            cur[k] = cur[k] + "\n" + v if k == "data" and k in cur else v
    return events


class Stream(unittest.TestCase):
    srv: WebServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = WebServer("web_stream", "--workers", "1")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.srv.stop()

    def stats(self, key: str) -> dict[str, object]:
        status, _, body = self.srv.request("GET", f"/stats?key={key}")
        self.assertEqual(status, 200)
        return json.loads(body)

    def wait_ended(self, key: str, timeout: float = 5.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        st = self.stats(key)
        while st["ended"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
            st = self.stats(key)
        return st

    def raw_get(self, path: str, rcvbuf: int = 0) -> socket.socket:
        s = socket.socket()
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.connect(("127.0.0.1", self.srv.port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        return s

    # ---- StreamingResponse ----

    def test_sync_generator_chunked(self) -> None:
        c = self.srv.conn()
        c.request("GET", "/sync?n=4&size=3")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        self.assertIsNone(r.getheader("Content-Length"))
        self.assertEqual(r.getheader("Content-Type"), "text/plain; charset=utf-8")
        self.assertEqual(r.read(), b"000111222333")
        # the connection stays usable after the last chunk (keep-alive)
        c.request("GET", "/sync?n=1&size=2")
        self.assertEqual(c.getresponse().read(), b"00")
        c.close()

    def test_async_generator_and_headers(self) -> None:
        status, h, body = self.srv.request("GET", "/async?n=5")
        self.assertEqual(status, 200)
        self.assertEqual(h["x-stream"], "yes")
        self.assertEqual(h["transfer-encoding"], "chunked")
        self.assertEqual(body, b"".join(f"chunk {i}\n".encode() for i in range(5)))

    def test_head_gets_no_body(self) -> None:
        for path in ("/sync?n=3", "/news", "/sse/gen"):
            status, h, body = self.srv.request("HEAD", path)
            self.assertEqual((status, body), (200, b""), path)
            self.assertNotIn("transfer-encoding", h, path)
        self.assertEqual(self.srv.request("GET", "/sync?n=1&size=1")[2], b"0")

    def test_empty_stream(self) -> None:
        status, _, body = self.srv.request("GET", "/sync?n=0")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")

    def test_http10_close_delimited(self) -> None:
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
        s.sendall(b"GET /sync?n=2&size=2 HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertNotIn(b"chunked", head.lower())
        self.assertEqual(body, b"0011")

    def check_slow_reader(self, kind: str) -> None:
        key = f"slow-{kind}"
        mb = 32
        s = self.raw_get(f"/big/{kind}?key={key}&mb={mb}", rcvbuf=32 * 1024)
        s.settimeout(10)
        got = s.recv(1024)  # the head (and maybe some body): the stream is running
        self.assertIn(b"200 OK", got)
        time.sleep(1.0)
        p1 = self.stats(key)["produced"]
        time.sleep(1.0)
        p2 = self.stats(key)["produced"]
        # The reader stopped: the producer waits, far short of the whole 64 MiB (at most the
        # stream's 256 KiB queue plus what the kernel buffers on both sides).
        self.assertEqual(p1, p2, "the producer kept going while the client did not read")
        assert isinstance(p2, int)
        self.assertLess(p2, 16 * 1024 * 1024)
        # Now read it all: every byte arrives, in order, in valid chunked framing.
        rest = bytearray(got)
        while not (rest.endswith(b"0\r\n\r\n") and len(rest) > mb * 1024 * 1024):
            b = s.recv(1 << 20)
            if not b:
                break
            rest += b
        s.close()
        at = rest.index(b"\r\n\r\n") + 4
        payload = bytearray()
        while True:
            eol = rest.index(b"\r\n", at)
            n = int(rest[at:eol], 16)
            if n == 0:
                break
            payload += rest[eol + 2:eol + 2 + n]
            self.assertEqual(rest[eol + 2 + n:eol + 4 + n], b"\r\n")
            at = eol + 4 + n
        self.assertEqual(len(payload), mb * 1024 * 1024)
        self.assertEqual(payload[: len(BLOCK)], BLOCK)
        self.assertEqual(bytes(payload[-len(BLOCK):]), BLOCK)
        self.assertEqual(self.wait_ended(key)["ended"], "done")

    def test_slow_reader_sync(self) -> None:
        self.check_slow_reader("sync")

    def test_slow_reader_async(self) -> None:
        self.check_slow_reader("async")

    def check_disconnect(self, kind: str, expect: str) -> None:
        key = f"gone-{kind}"
        s = self.raw_get(f"/big/{kind}?key={key}&mb=1024", rcvbuf=32 * 1024)
        s.settimeout(10)
        self.assertIn(b"200 OK", s.recv(1024))
        time.sleep(0.3)
        s.close()
        st = self.wait_ended(key)
        self.assertEqual(st["ended"], expect)
        assert isinstance(st["produced"], int)
        self.assertLess(st["produced"], 1024 * 1024 * 1024)

    def test_disconnect_stops_sync_generator(self) -> None:
        self.check_disconnect("sync", "GeneratorExit")

    def test_disconnect_stops_async_generator(self) -> None:
        # it never awaits between chunks: the write that waits for room is where it stops
        self.check_disconnect("async", "GeneratorExit")

    def test_disconnect_stops_idle_generator(self) -> None:
        s = self.raw_get("/idle?key=idle1")
        s.settimeout(5)
        got = b""
        while b"hello" not in got:
            got += s.recv(4096)
        time.sleep(0.2)  # the generator is in its sleep now
        s.close()
        self.assertEqual(self.wait_ended("idle1")["ended"], "CancelledError")

    def test_many_streams_then_server_still_serves(self) -> None:
        for _ in range(3):
            socks = [self.raw_get(f"/idle?key=many{i}") for i in range(20)]
            for s in socks:
                s.settimeout(5)
                s.recv(4096)
                s.close()
        for i in range(20):
            # stopped in its sleep (CancelledError) or, when the client left before "hello" was
            # written, at that write (GeneratorExit)
            self.assertIn(self.wait_ended(f"many{i}")["ended"], ("CancelledError", "GeneratorExit"))
        self.assertEqual(self.srv.request("GET", "/sync?n=1&size=1")[2], b"0")

    # ---- SSE ----

    def sse(self, path: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> http.client.HTTPResponse:
        c = self.srv.conn(timeout)
        c.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        self.assertEqual(r.getheader("Cache-Control"), "no-cache")
        return r

    def test_sse_generator_fields(self) -> None:
        r = self.sse("/sse/gen?n=2")
        ev = read_sse(r, time.monotonic() + 5)
        r.close()
        self.assertEqual(ev[0].get("retry"), "1500")
        self.assertEqual(ev[1], {"event": "tick", "id": "1", "data": '{"i":0}'})
        self.assertEqual(ev[2], {"event": "tick", "id": "2", "data": '{"i":1}'})
        self.assertEqual(ev[3], {"data": "plain\nline two"})
        self.assertEqual(len(ev), 4)  # the stream ended after the generator

    def test_sse_sync_generator(self) -> None:
        r = self.sse("/sse/sync")
        ev = read_sse(r, time.monotonic() + 5)
        r.close()
        self.assertEqual(ev, [{"data": "a"}, {"event": "x", "data": "b"}])

    def test_sse_keepalive_comments(self) -> None:
        r = self.sse("/sse/quiet?ping=0.2")
        t0 = time.monotonic()
        ev = read_sse(r, t0 + 1.1, want=4)
        r.close()
        self.assertEqual(ev[0], {"data": "first"})
        comments = [e for e in ev[1:] if e.get("comment") == "keep-alive"]
        self.assertGreaterEqual(len(comments), 2, ev)
        self.assertLess(time.monotonic() - t0, 1.5)

    def test_sse_push_from_another_handler(self) -> None:
        r = self.sse("/sse/push")
        time.sleep(0.2)
        status, body = self.srv.json("POST", "/sse/push?data=hello&event=greet")
        self.assertEqual((status, body), (200, {"sent": 1}))
        status, body = self.srv.json("POST", "/sse/push?data=bye&close=true")
        self.assertEqual(status, 200)
        ev = [e for e in read_sse(r, time.monotonic() + 5) if "comment" not in e]
        r.close()
        self.assertEqual(ev, [{"event": "greet", "data": "hello"}, {"data": "bye"}])

    def test_channel_replay_and_keepalive(self) -> None:
        r1 = self.sse("/news")
        deadline = time.monotonic() + 5
        while self.srv.json("GET", "/news/subscribers")[1]["n"] < 1 and time.monotonic() < deadline:  # type: ignore[index]
            time.sleep(0.02)
        ids = [self.srv.json("POST", f"/news?data=n{i}&event=news")[1]["id"] for i in range(3)]  # type: ignore[index]
        ev = [e for e in read_sse(r1, time.monotonic() + 5, want=3) if "comment" not in e]
        self.assertEqual([e["data"] for e in ev], ["n0", "n1", "n2"])
        self.assertEqual([e["id"] for e in ev], ids)
        self.assertTrue(all(e["event"] == "news" for e in ev))
        r1.close()
        # Reconnect with the first id: exactly the two missed events, then live ones.
        r2 = self.sse("/news", {"Last-Event-ID": ids[0]})
        ev = [e for e in read_sse(r2, time.monotonic() + 5, want=2) if "comment" not in e]
        self.assertEqual([e["data"] for e in ev], ["n1", "n2"])
        self.srv.json("POST", "/news?data=live")
        ev = read_sse(r2, time.monotonic() + 5, want=3)  # keep-alive (0.3 s) and the live event
        self.assertIn({"id": str(int(ids[2]) + 1), "data": "live"}, ev)
        self.assertIn({"comment": "keep-alive"}, ev)
        r2.close()


class Workers(unittest.TestCase):
    """A channel pushed to from every worker reaches subscribers on every I/O thread."""

    def test_publish_from_any_worker(self) -> None:
        srv = WebServer("web_stream", "--workers", "3", "--io-threads", "2")
        try:
            subs = [srv.conn(5) for _ in range(4)]
            resps = []
            for c in subs:
                c.request("GET", "/news")
                resps.append(c.getresponse())
            deadline = time.monotonic() + 5
            while srv.json("GET", "/news/subscribers")[1]["n"] < 4 and time.monotonic() < deadline:  # type: ignore[index]
                time.sleep(0.02)
            n = 30
            for i in range(n):
                srv.json("POST", f"/news?data=m{i}")
            for r in resps:
                ev: list[dict[str, str]] = []
                until = time.monotonic() + 5
                while len(ev) < n and time.monotonic() < until:
                    ev += [e for e in read_sse(r, until, want=1) if "comment" not in e]
                self.assertEqual([e["data"] for e in ev], [f"m{i}" for i in range(n)])
                self.assertEqual([e["id"] for e in ev], [str(i + 1) for i in range(n)])
                r.close()
        finally:
            self.assertEqual(srv.stop(), 0, srv.stderr())


if __name__ == "__main__":
    unittest.main()
