"""fasterapi.web WebSockets without the host: WebHost.ws_open runs a handler on an asyncio loop
against a fake `_fasterapi.WebSocketConn` (what C would deliver: messages, the close), and the
route table rows the host registers."""

from __future__ import annotations

import asyncio
import json
import sys
import unittest
from contextlib import redirect_stderr
from io import StringIO
from typing import Any

from fasterapi import App, APIRouter, Depends, Header, Query
from fasterapi.web import WebAppError, WebSocket, WebSocketDisconnect, WebHost
from fasterapi.web.broadcast import Group


class FakeConn:
    """The C connection's contract (src/pyhost/ws.c), recording what the handler does."""

    def __init__(self, path: str = "/ws", params: list[tuple[str, str]] | None = None, query: str = "",
                 headers: list[tuple[str, str]] | None = None, subprotocol: str | None = None) -> None:
        self.path = path
        self.query = query
        self.subprotocol = subprotocol
        self.client = ("127.0.0.1", 5555)
        self.id = (1, 1)
        self._params = params or []
        self._headers = headers or [("host", "t")]
        self.sent: list[tuple[int, Any]] = []
        self.closed: tuple[int, str] | None = None
        self.consumed_n = 0
        self.gone = False

    def param(self, name: str) -> str | None:
        return dict(self._params).get(name)

    def params(self) -> list[tuple[str, str]]:
        return list(self._params)

    def header(self, name: str) -> str | None:
        for k, v in self._headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers(self) -> list[tuple[str, str]]:
        return list(self._headers)

    def body(self) -> bytes:
        return b""

    def send(self, kind: int, data: Any) -> int:
        if self.gone or self.closed:
            return -9
        self.sent.append((kind, data))
        return 0

    def close(self, code: int, reason: str) -> int:
        if not (1000 <= code <= 4999):
            raise ValueError(code)
        self.closed = (code, reason)
        return 0

    def consumed(self) -> None:
        self.consumed_n += 1


class Harness:
    """An App's WebHost on a private loop; open() starts a connection's handler."""

    def __init__(self, app: App) -> None:
        self.loop = asyncio.new_event_loop()
        self.host = WebHost(app)
        self.host.loop = self.loop

    def open(self, index: int = 0, conn: FakeConn | None = None) -> tuple[WebSocket, FakeConn]:
        conn = conn or FakeConn()
        ws = self.host.ws_open(index, conn)
        self.run()
        return ws, conn

    def run(self, rounds: int = 20) -> None:
        for _ in range(rounds):
            self.loop.run_until_complete(asyncio.sleep(0))

    def close(self) -> None:
        for t in list(self.host.tasks):
            t.cancel()
        self.run()
        self.loop.close()


class WebSocketTest(unittest.TestCase):
    def setUp(self) -> None:
        self.err = StringIO()
        self._redirect = redirect_stderr(self.err)
        self._redirect.__enter__()

    def tearDown(self) -> None:
        self._redirect.__exit__(None, None, None)

    def harness(self, app: App) -> Harness:
        h = Harness(app)
        self.addCleanup(h.close)
        return h

    def test_echo_then_disconnect(self) -> None:
        app = App()
        seen: list[Any] = []

        @app.websocket("/ws")
        async def echo(ws: WebSocket):
            await ws.accept()
            try:
                while True:
                    msg = await ws.receive()
                    if msg["type"] == "websocket.disconnect":
                        seen.append(("disconnect", msg["code"]))
                        return
                    if "text" in msg:
                        await ws.send_text(msg["text"].upper())
                    else:
                        await ws.send_bytes(msg["bytes"][::-1])
            finally:
                seen.append("finally")

        h = self.harness(app)
        ws, conn = h.open()
        ws._on_message("hi")
        ws._on_message(b"\x01\x02")
        h.run()
        self.assertEqual(conn.sent, [(1, "HI"), (2, b"\x02\x01")])
        self.assertEqual(conn.consumed_n, 2)
        ws._on_close(1001, "bye")
        h.run()
        self.assertEqual(seen, [("disconnect", 1001), "finally"])
        self.assertIsNone(conn.closed, "no close frame to a client that left")
        self.assertEqual(len(h.host.tasks), 0)

    def test_a_burst_reaches_the_handler_in_order_and_mixed(self) -> None:
        """_on_messages (the host's hand-over of a burst) keeps the order, text and binary mixed,
        and a burst arriving while messages still wait is appended after them."""
        app = App()

        @app.websocket("/ws")
        async def echo(ws: WebSocket):
            await ws.accept()
            async for msg in _messages(ws):
                if isinstance(msg, str):
                    await ws.send_text(msg)
                else:
                    await ws.send_bytes(msg)

        async def _messages(ws: WebSocket):
            while True:
                m = await ws.receive()
                if m["type"] == "websocket.disconnect":
                    return
                yield m.get("text", m.get("bytes"))

        h = self.harness(app)
        ws, conn = h.open()
        ws._on_messages(["a", b"b", "c"])
        ws._on_messages(["d"])
        h.run()
        ws._on_messages([b"e", "f"])
        h.run()
        self.assertEqual(conn.sent, [(1, "a"), (2, b"b"), (1, "c"), (1, "d"), (2, b"e"), (1, "f")])
        self.assertEqual(conn.consumed_n, 6)
        ws._on_close(1000)
        h.run()

    def test_attributes_made_on_first_use(self) -> None:
        """path_params, scope, state and the group set are built when read (WebSocket() builds
        nothing else), once, and can be assigned like plain attributes."""
        conn = FakeConn("/ws/lobby", params=[("room", "lobby")],
                        headers=[("host", "t"), ("sec-websocket-protocol", "a, b")])
        ws = WebSocket(conn)
        self.assertNotIn("path_params", ws.__dict__)
        self.assertEqual(ws.path_params, {"room": "lobby"})
        self.assertIs(ws.path_params, ws.path_params)
        self.assertEqual(ws.scope["path"], "/ws/lobby")
        self.assertEqual(ws.scope["subprotocols"], ["a", "b"])
        self.assertEqual(ws.scope["path_params"], {"room": "lobby"})
        ws.state.user = "ann"
        self.assertEqual(ws.state.user, "ann")
        ws.path_params = {"room": "other"}
        self.assertEqual(ws.path_params, {"room": "other"})
        other = WebSocket(FakeConn())
        self.assertFalse(hasattr(other.state, "user"), "state is per connection")
        self.assertEqual(other._groups, set())
        self.assertIsNot(other._groups, WebSocket(FakeConn())._groups)

    def test_return_closes_1000_and_raise_closes_1011(self) -> None:
        app = App()

        @app.websocket("/ok")
        async def ok(ws: WebSocket):
            await ws.accept()
            await ws.send_text("x")

        @app.websocket("/bad")
        async def bad(ws: WebSocket):
            await ws.accept()
            await ws.receive_text()
            raise KeyError("nope")

        h = self.harness(app)
        _, conn = h.open(0)
        self.assertEqual(conn.closed, (1000, ""))
        ws, conn = h.open(1)
        ws._on_message("go")
        h.run()
        self.assertEqual(conn.closed, (1011, "internal error"))
        self.assertIn("KeyError: 'nope'", self.err.getvalue())

    def test_disconnect_raises_in_receive_after_queued_messages(self) -> None:
        app = App()
        got: list[Any] = []

        @app.websocket("/ws")
        async def h_(ws: WebSocket):
            await ws.accept()
            try:
                async for t in ws.iter_text():
                    got.append(t)
            finally:
                got.append("end")
            try:
                await ws.receive_text()
            except WebSocketDisconnect as e:
                got.append(e.code)

        h = self.harness(app)
        ws, conn = h.open()
        ws._on_message("a")
        ws._on_message("b")
        ws._on_close(1006, "")
        h.run()
        self.assertEqual(got, ["a", "b", "end", 1006])
        with self.assertRaises(WebSocketDisconnect):
            asyncio.new_event_loop().run_until_complete(ws.send_text("late"))

    def test_json_and_bad_types(self) -> None:
        app = App()
        errors: list[str] = []

        @app.websocket("/ws")
        async def j(ws: WebSocket):
            await ws.accept()
            obj = await ws.receive_json()
            await ws.send_json({"echo": obj, "ü": 1})
            await ws.send_json([1], mode="binary")
            try:
                await ws.receive_text()
            except TypeError as e:
                errors.append(str(e))
            async for o in ws.iter_json():
                await ws.send_json(o)

        h = self.harness(app)
        ws, conn = h.open()
        ws._on_message('{"a": 1}')
        ws._on_message(b"binary")
        ws._on_message(b'{"b": 2}')
        h.run()
        self.assertEqual(conn.sent[0], (1, '{"echo":{"a":1},"ü":1}'))
        self.assertEqual(conn.sent[1], (2, b"[1]"))
        self.assertEqual(errors, ["expected a text message, got a binary one"])
        self.assertEqual(json.loads(conn.sent[2][1]), {"b": 2})

    def test_params_conversion_and_1008(self) -> None:
        app = App()
        got: list[Any] = []

        def dep(x_token: str = Header()):
            return x_token.upper()

        @app.websocket("/items/{item_id}")
        async def item(ws: WebSocket, item_id: int, q: int = Query(3), tok: str = Depends(dep)):
            await ws.accept()
            got.append((item_id, q, tok, ws.path_params, ws.query_params.get("q"), ws.client.host, ws.url.path))

        h = self.harness(app)
        self.assertEqual(h.host.app.ws_table(), [["WS", "/items/{item_id}", 0, {"subprotocols": [], "max_message": 0}]])
        _, conn = h.open(0, FakeConn("/items/7", [("item_id", "7")], "q=9", [("X-Token", "abc")]))
        self.assertEqual(got, [(7, 9, "ABC", {"item_id": "7"}, "9", "127.0.0.1", "/items/7")])
        self.assertEqual(conn.closed, (1000, ""))
        _, conn = h.open(0, FakeConn("/items/x", [("item_id", "x")], "", [("X-Token", "abc")]))
        self.assertEqual(conn.closed, (1008, "invalid parameters"))
        self.assertIn("int_parsing", self.err.getvalue())
        _, conn = h.open(0, FakeConn("/items/1", [("item_id", "1")], ""))
        self.assertEqual(conn.closed, (1008, "invalid parameters"), "a missing header")

    def test_accept_rules_and_subprotocol(self) -> None:
        app = App()
        outcome: list[Any] = []

        @app.websocket("/p", subprotocols=["v2", "v1"])
        async def p(ws: WebSocket):
            try:
                await ws.send_text("too early")
            except RuntimeError as e:
                outcome.append("early")
            try:
                await ws.accept(subprotocol="v9")
            except RuntimeError as e:
                outcome.append("v9" in str(e))
            await ws.accept(subprotocol="v2")  # offered by the route, not chosen: ignored
            outcome.append(ws.subprotocol)
            self.assertEqual(ws.scope["subprotocols"], ["x", "v1"])
            with self.assertRaises(RuntimeError):
                await ws.accept()
            await ws.close(4001, "done")
            await ws.close()  # twice: nothing more
            with self.assertRaises(RuntimeError):
                await ws.send_text("after close")

        h = self.harness(app)
        _, conn = h.open(0, FakeConn(subprotocol="v1", headers=[("Sec-WebSocket-Protocol", "x, v1")]))
        self.assertEqual(outcome, ["early", True, "v1"])
        self.assertEqual(conn.closed, (4001, "done"))
        self.assertEqual(h.host.app.ws_table()[0][3], {"subprotocols": ["v2", "v1"], "max_message": 0})

    def test_route_definition_errors_and_router(self) -> None:
        app = App(openapi_url=None)  # no /openapi.json, /docs rows
        with self.assertRaises(WebAppError):

            @app.websocket("/sync")
            def sync(ws: WebSocket):  # not async
                pass

        with self.assertRaises(WebAppError):
            app.add_api_websocket_route("/p", self._noop, subprotocols=["bad token"])
        with self.assertRaises(WebAppError):
            app.add_api_websocket_route("/p", self._noop, max_message=0)
        router = APIRouter(prefix="/r")
        router.add_api_websocket_route("/x/{n}", self._noop, max_message=10)
        app.include_router(router, prefix="/v1")
        self.assertEqual(app.ws_table(), [["WS", "/v1/r/x/{n}", 0, {"subprotocols": [], "max_message": 10}]])
        self.assertEqual(app.route_table(), [], "WebSocket routes are not HTTP rows")

    @staticmethod
    async def _noop(ws: WebSocket) -> None:
        await ws.accept()

    def test_web_table_puts_ws_rows_last(self) -> None:
        import types

        from fasterapi import _runtime

        app = App(openapi_url=None)  # no /openapi.json, /docs rows

        @app.websocket("/ws")
        async def w(ws: WebSocket):
            pass

        @app.get("/a")
        def a():
            return 1

        mod = types.ModuleType("m")
        mod.app = app  # type: ignore[attr-defined]
        old = _runtime.APP_MODULE
        _runtime.APP_MODULE = mod
        try:
            table = _runtime.web_table()
        finally:
            _runtime.APP_MODULE = old
        self.assertEqual([r[0] for r in table], ["GET", "WS"])

    def test_group_local_broadcast(self) -> None:
        app = App()
        g = Group("unit-room")

        @app.websocket("/room")
        async def room(ws: WebSocket):
            await ws.accept()
            g.add(ws)
            async for t in ws.iter_text():
                await g.send_text(t)

        h = self.harness(app)
        a, ca = h.open()
        b, cb = h.open(0, FakeConn())
        self.assertEqual(len(g), 2)
        a._on_message("hello")
        h.run()
        self.assertEqual(ca.sent, [(1, "hello")])
        self.assertEqual(cb.sent, [(1, "hello")])
        b._on_close(1000, "")
        h.run()
        self.assertEqual(len(g), 1, "a disconnected member leaves its groups")
        with self.assertRaises(ValueError):
            Group("")


if __name__ == "__main__":
    unittest.main()


class TestClientWebSocketTest(unittest.TestCase):
    def test_session(self) -> None:
        from fasterapi.web.testing import TestClient

        app = App()
        log: list[Any] = []

        @app.websocket("/chat/{room}", subprotocols=["v1"])
        async def chat(ws: WebSocket, room: str, nick: str = "anon"):
            await ws.accept(subprotocol="v1")
            await ws.send_json({"room": room, "nick": nick, "proto": ws.subprotocol})
            try:
                async for t in ws.iter_text():
                    if t == "quit":
                        await ws.close(4002, "asked")
                        return
                    await ws.send_text(t[::-1])
            finally:
                log.append("done")

        client = TestClient(app)
        with client.websocket_connect("/chat/r1?nick=zed", subprotocols=["x", "v1"]) as s:
            self.assertEqual(s.accepted_subprotocol, "v1")
            self.assertEqual(s.receive_json(), {"room": "r1", "nick": "zed", "proto": "v1"})
            s.send_text("abc")
            self.assertEqual(s.receive_text(), "cba")
        self.assertEqual(log, ["done"], "leaving the with block disconnects the handler")
        with client.websocket_connect("/chat/r2") as s:
            s.receive_json()
            s.send_text("quit")
            with self.assertRaises(WebSocketDisconnect) as cm:
                s.receive_text()
            self.assertEqual((cm.exception.code, cm.exception.reason), (4002, "asked"))
        with self.assertRaises(WebSocketDisconnect):
            client.websocket_connect("/nope")
        client.close()
