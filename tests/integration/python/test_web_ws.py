"""`@app.websocket` routes of a Python web App over real sockets (tests/integration/python/
wsclient.py, a raw-socket RFC 6455 client): echo of text/bytes/JSON, parameters, subprotocols,
close codes (1000 on return, 1011 on an exception, 1008 on invalid parameters, 1009 on an
oversized message, the handler's own code), a client that vanishes mid-handler, push-back of a
client that floods a slow handler, a broadcast group reaching clients served by different
workers, and shutdown. FASTERAPI names the built CLI (set by ctest)."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_web_app import WebServer  # noqa: E402
from wsclient import Closed, WSClient  # noqa: E402


def wait_for(server: WebServer, text: str, timeout: float = 10.0) -> str:
    """The server's stderr once it holds `text` (or after the timeout)."""
    deadline = time.monotonic() + timeout
    while text not in server.stderr() and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.stderr()


class WebSocketTest(unittest.TestCase):
    server: WebServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = WebServer("web_ws", "--workers", "2")

    @classmethod
    def tearDownClass(cls) -> None:
        rc = cls.server.stop()
        assert rc == 0, f"exit status {rc}:\n{cls.server.stderr()}"

    def ws(self, path: str, **kw) -> WSClient:
        c = WSClient(self.server.port, path, **kw)
        self.addCleanup(c.shutdown)
        self.assertEqual(c.status, 101)
        return c

    def test_echo_text_bytes_and_fragments(self) -> None:
        c = self.ws("/echo")
        c.send_text("héllo")
        self.assertEqual(c.recv(), "héllo")
        c.send_bytes(b"\x00\xff\x01")
        self.assertEqual(c.recv(), b"\x00\xff\x01")
        # A fragmented message arrives whole (RFC 6455 §5.4).
        c.send_frame(1, b"frag", fin=False)
        c.send_frame(0, b"mented", fin=True)
        self.assertEqual(c.recv(), "fragmented")
        big = os.urandom(200_000)
        c.send_bytes(big)
        self.assertEqual(c.recv(), big)
        c.close(1000)
        self.assertEqual(c.recv_close().code, 1000)

    def test_json(self) -> None:
        c = self.ws("/json")
        c.send_text(json.dumps({"a": [1, 2], "b": "ü"}))
        self.assertEqual(json.loads(c.recv()), {"got": {"a": [1, 2], "b": "ü"}})
        c.send_bytes(b'{"bin": true}')
        self.assertEqual(json.loads(c.recv()), {"got": {"bin": True}})

    def test_params_headers_and_close_code(self) -> None:
        c = self.ws("/items/42?q=zz", headers={"X-Tag": "t1"})
        got = json.loads(c.recv())
        self.assertEqual(got, {"item_id": 42, "q": "zz", "path_params": {"item_id": "42"}, "ua": "t1", "client": True})
        closed = c.recv_close()
        self.assertEqual((closed.code, closed.reason), (4000, "bye"))

    def test_invalid_param_closes_1008(self) -> None:
        c = self.ws("/items/abc")
        closed = c.recv_close()
        self.assertEqual(closed.code, 1008)
        self.assertIn("invalid WebSocket parameters", wait_for(self.server, "int_parsing"))

    def test_subprotocol(self) -> None:
        c = self.ws("/proto", protocols=["nope", "chat.v1", "chat.v2"])
        self.assertEqual(c.headers.get("sec-websocket-protocol"), "chat.v1")
        self.assertEqual(c.recv(), "chat.v1")
        self.assertEqual(c.recv_close().code, 1000)
        c = self.ws("/proto", protocols=["other"])
        self.assertNotIn("sec-websocket-protocol", c.headers)
        self.assertEqual(c.recv(), "None")

    def test_oversized_message_1009(self) -> None:
        c = self.ws("/small")
        c.send_text("a" * 1000)
        self.assertEqual(c.recv(), "1000")
        c.send_text("a" * 2000)
        self.assertEqual(c.recv_close().code, 1009)

    def test_handler_raises_1011(self) -> None:
        c = self.ws("/boom")
        c.send_text("go")
        closed = c.recv_close()
        self.assertEqual(closed.code, 1011)
        self.assertIn("handler exploded", wait_for(self.server, "RuntimeError: handler exploded"))

    def test_router_route(self) -> None:
        c = self.ws("/r/ev/zed")
        self.assertEqual(c.recv(), "router:zed")
        self.assertEqual(c.recv_close().code, 1000)

    def test_plain_get_on_ws_route_refused(self) -> None:
        status, _, _ = self.server.request("GET", "/echo")
        self.assertIn(status, (400, 426))
        status, _, body = self.server.request("GET", "/ping")
        self.assertEqual((status, json.loads(body)), (200, {"ok": True}))

    def test_broadcast_across_workers(self) -> None:
        clients, workers = [], set()
        for _ in range(4):  # round robin over the 2 workers
            c = self.ws("/room")
            hello = json.loads(c.recv())
            workers.add(hello["worker"])
            clients.append(c)
        self.assertEqual(len(workers), 2, "connections should be spread over both workers")
        clients[0].send_text("hi all")
        for c in clients:
            self.assertEqual(c.recv(), "hi all")
        clients[3].close()
        clients[3].recv_close()
        time.sleep(0.2)  # the close reaches its worker, which leaves the group
        clients[1].send_text("three left")
        for c in clients[:3]:
            self.assertEqual(c.recv(), "three left")

    def test_flood_is_pushed_back_not_lost(self) -> None:
        c = self.ws("/slow")
        payload = b"x" * 100
        for _ in range(2000):
            c.send_bytes(payload)
        c.sock.settimeout(30)
        self.assertEqual(c.recv(), "2000")

    def test_many_short_connections(self) -> None:
        for i in range(50):
            c = WSClient(self.server.port, "/echo")
            c.send_text(str(i))
            self.assertEqual(c.recv(), str(i))
            if i % 2:
                c.close()
                c.recv_close()
            c.shutdown()  # half of them vanish without a close frame
        c = self.ws("/echo")
        c.send_text("still fine")
        self.assertEqual(c.recv(), "still fine")


class DisconnectTest(unittest.TestCase):
    """One worker, so /status reads the state of the worker that served the WebSocket."""

    def test_disconnect_mid_handler(self) -> None:
        server = WebServer("web_ws", "--workers", "1")
        try:
            c = WSClient(server.port, "/wait")
            self.assertEqual(c.recv(), "ready")
            c.sock.shutdown(socket.SHUT_RDWR)  # gone without a close frame
            c.shutdown()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                _, _, body = server.request("GET", "/status")
                seen = json.loads(body)
                if seen["finally"]:
                    break
                time.sleep(0.05)
            self.assertEqual(seen, {"disconnect": 1006, "finally": 1})
            # A clean close from the client: the handler sees its code.
            c = WSClient(server.port, "/wait")
            self.assertEqual(c.recv(), "ready")
            c.close(4321, "leaving")
            self.assertEqual(c.recv_close().code, 4321)
            c.shutdown()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                seen = json.loads(server.request("GET", "/status")[2])
                if seen["finally"] == 2:
                    break
                time.sleep(0.05)
            self.assertEqual(seen, {"disconnect": 4321, "finally": 2})
        finally:
            server.stop()

    def test_shutdown_says_going_away(self) -> None:
        server = WebServer("web_ws", "--workers", "1")
        try:
            c = WSClient(server.port, "/echo")
            c.send_text("x")
            self.assertEqual(c.recv(), "x")
            server.proc.terminate()
            self.assertEqual(c.recv_close().code, 1001)
            c.shutdown()
            self.assertEqual(server.proc.wait(20), 0)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
