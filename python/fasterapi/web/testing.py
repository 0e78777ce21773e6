"""`TestClient`: calls an App in-process, without sockets or the C host, through the same
WebHost the workers run. Routing here is the App's own matcher (the C router does it under the
host): 404 and 405 answer like the C core."""

from __future__ import annotations

import asyncio
import json as _json
from typing import Any, Mapping
from urllib.parse import unquote, urlencode, urlsplit

from .app import App, WebHost
from .datastructures import Headers
from .websockets import BINARY, TEXT, WebSocket, WebSocketDisconnect


class _FakeRequest:
    """The `creq` contract (see _runtime.py) in pure Python."""

    def __init__(self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes, params: dict[str, str]) -> None:
        self.method = method
        self.path = path
        self.query = query
        self._headers = headers
        self._body = body
        self._params = params
        self.client = ("testclient", 50000)
        self.answer: tuple[Any, ...] | None = None

    def param(self, name: str) -> str | None:
        return self._params.get(name)

    def params(self) -> list[tuple[str, str]]:
        return list(self._params.items())

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self._headers:
            if k.lower() == low:
                return v
        return None

    def headers(self) -> list[tuple[str, str]]:
        return list(self._headers)

    def body(self) -> bytes:
        return self._body

    def respond(self, status: int, content_type: str | None, headers: Any, body: Any) -> None:
        if self.answer is not None:
            raise RuntimeError("answered twice")
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.answer = (status, content_type, list(headers or []), bytes(body))

    def stream(self, status: int, content_type: str | None, headers: Any, keepalive_ms: int) -> _FakeStream:
        if self.answer is not None:
            raise RuntimeError("answered twice")
        return _FakeStream(self, status, content_type, headers)

    def sse_subscribe(self, channel: str, keepalive_ms: int, retry_ms: int) -> None:
        raise RuntimeError("SSE channels need the server (fasterapi run --http); TestClient has none")


class _FakeStream:
    """`_fasterapi.HttpStream` in pure Python: the chunks are collected, and the whole body is
    the request's answer when the stream ends (TestClient has no streaming reads)."""

    def __init__(self, creq: _FakeRequest, status: int, ctype: str | None, headers: Any) -> None:
        import os

        self._creq = creq
        self._head = (status, ctype, list(headers or []))
        self._chunks: list[bytes] = []
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.closed = False
        self.pending = 0
        self.limit = 1 << 30

    def write(self, data: Any) -> bool:
        self._chunks.append(data.encode("utf-8") if isinstance(data, str) else bytes(data))
        return True

    def arm(self) -> bool:
        return False

    def ack(self) -> None:
        pass

    def fileno(self) -> int:
        return self._fd

    def end(self) -> None:
        if not self.closed:
            import os

            self.closed = True
            os.close(self._fd)
            status, ctype, headers = self._head
            self._creq.answer = (status, ctype, headers, b"".join(self._chunks))


class TestResponse:
    def __init__(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
        self.status_code = status
        self.headers = Headers(headers)
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return _json.loads(self.content)

    def __repr__(self) -> str:
        return f"<TestResponse {self.status_code}>"


class TestClient:
    __test__ = False  # not a unittest/pytest test class

    def __init__(self, app: App, debug: bool = False, timeout: float = 0.0) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.host = WebHost(app, debug, timeout)
        self.host.loop = self.loop
        self._started = False

    def __enter__(self) -> "TestClient":
        self.host.start(self.loop)
        self._started = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self.host.stop(self.loop)
        self.close()

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> TestResponse:
        method = method.upper()
        parts = urlsplit(url)
        path = parts.path or "/"
        query = parts.query
        if params:
            extra = urlencode(list(params.items()) if isinstance(params, Mapping) else params, doseq=True)
            query = f"{query}&{extra}" if query else extra
        given = list((headers or {}).items())
        hdrs = ([] if any(k.lower() == "host" for k, _ in given) else [("host", "testserver")]) + given
        body = b""
        if json is not None:
            body = _json.dumps(json).encode()
            hdrs.append(("content-type", "application/json"))
        elif data is not None:
            body = urlencode(data).encode()
            hdrs.append(("content-type", "application/x-www-form-urlencoded"))
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
        if cookies:
            hdrs.append(("cookie", "; ".join(f"{k}={v}" for k, v in cookies.items())))
        rows = self.app.route_rows()
        allowed: list[str] = []
        lookup = "GET" if method == "HEAD" else method
        for index, (route, m) in enumerate(rows):
            match = route.regex.match(path)
            if not match:
                continue
            if m != method and m != lookup:
                allowed.append(m)
                continue
            creq = _FakeRequest(method, path, query, hdrs, body, {k: unquote(v) for k, v in match.groupdict().items()})
            self.host.handle(index, creq)
            while creq.answer is None and self.host.tasks:
                self.loop.run_until_complete(asyncio.wait(list(self.host.tasks)))
            if creq.answer is None:
                return TestResponse(500, [], b"no answer")
            status, ctype, extra_headers, out = creq.answer
            rh = ([("content-type", ctype)] if ctype else []) + extra_headers
            return TestResponse(status, rh, b"" if method == "HEAD" else out)
        if allowed:
            return TestResponse(405, [("content-type", "application/json"), ("allow", ", ".join(sorted(set(allowed))))], b'{"detail":"Method Not Allowed"}')
        return TestResponse(404, [("content-type", "application/json")], b'{"detail":"Not Found"}')

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> TestResponse:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> TestResponse:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> TestResponse:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", url, **kw)

    def head(self, url: str, **kw: Any) -> TestResponse:
        return self.request("HEAD", url, **kw)

    def options(self, url: str, **kw: Any) -> TestResponse:
        return self.request("OPTIONS", url, **kw)

    def websocket_connect(self, url: str, subprotocols: list[str] | None = None, headers: Mapping[str, str] | None = None) -> "WebSocketTestSession":
        """Opens a WebSocket route in-process: `with client.websocket_connect("/ws") as ws:
        ws.send_text("hi"); ws.receive_text()`. The subprotocol is chosen as the C core does (the
        first of `subprotocols` the route offers). An unknown path raises WebSocketDisconnect."""
        parts = urlsplit(url)
        path = parts.path or "/"
        hdrs = [("host", "testserver")] + list((headers or {}).items())
        for index, route in enumerate(self.app.ws_routes):
            match = route.regex.match(path)
            if not match:
                continue
            chosen = next((p for p in subprotocols or [] if p in route.subprotocols), None)
            conn = _FakeWSConn(path, parts.query, hdrs, {k: unquote(v) for k, v in match.groupdict().items()}, chosen)
            ws = self.host.ws_open(index, conn)
            session = WebSocketTestSession(self.loop, ws, conn, ws._task)
            session._run()
            return session
        raise WebSocketDisconnect(1000, "no WebSocket route for " + path)


class _FakeWSConn(_FakeRequest):
    """The `_fasterapi.WebSocketConn` contract (src/pyhost/ws.c) in pure Python."""

    def __init__(self, path: str, query: str, headers: list[tuple[str, str]], params: dict[str, str], subprotocol: str | None) -> None:
        super().__init__("GET", path, query, headers, b"", params)
        self.subprotocol = subprotocol
        self.id = (0, 0)
        self.outbox: list[tuple[int, Any]] = []
        self.closed: tuple[int, str] | None = None
        self.client_gone = False

    def send(self, kind: int, data: Any) -> int:
        if self.closed is not None or self.client_gone:
            return -9  # FA_ESTATE
        self.outbox.append((kind, data))
        return 0

    def close(self, code: int, reason: str) -> int:
        if not (1000 <= code <= 1014 and code not in (1004, 1005, 1006) or 3000 <= code <= 4999):
            raise ValueError(f"invalid WebSocket close code {code} (RFC 6455 §7.4)")
        if self.closed is None:
            self.closed = (code, reason)
        return 0

    def consumed(self) -> None:
        pass


class WebSocketTestSession:
    """The client side of one in-process WebSocket (Starlette's TestClient spelling)."""

    __test__ = False

    def __init__(self, loop: Any, ws: WebSocket, conn: _FakeWSConn, task: Any) -> None:
        self._loop = loop
        self._ws = ws
        self._conn = conn
        self._task = task

    def __enter__(self) -> "WebSocketTestSession":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(1000)

    @property
    def accepted_subprotocol(self) -> str | None:
        return self._conn.subprotocol

    def _run(self) -> None:
        """Lets the handler run until it waits for the client (or ends)."""
        for _ in range(64):
            if self._task.done():
                break
            self._loop.run_until_complete(asyncio.sleep(0))
        if self._task.done() and not self._task.cancelled() and self._task.exception() is not None:
            raise self._task.exception()  # type: ignore[misc]

    def _wait_output(self, timeout: float) -> None:
        async def wait() -> None:
            while not self._conn.outbox and self._conn.closed is None and not self._task.done():
                await asyncio.sleep(0.001)

        self._loop.run_until_complete(asyncio.wait_for(wait(), timeout))

    def send_text(self, data: str) -> None:
        self._ws._on_message(data)
        self._run()

    def send_bytes(self, data: bytes) -> None:
        self._ws._on_message(bytes(data))
        self._run()

    def send_json(self, data: Any, mode: str = "text") -> None:
        text = _json.dumps(data)
        self._ws._on_message(text.encode() if mode == "binary" else text)
        self._run()

    def receive(self, timeout: float = 5.0) -> tuple[int, Any]:
        """(1 | 2, data) of the next message; WebSocketDisconnect(code) once the app closed."""
        self._wait_output(timeout)
        if self._conn.outbox:
            return self._conn.outbox.pop(0)
        if self._conn.closed is not None:
            raise WebSocketDisconnect(*self._conn.closed)
        raise WebSocketDisconnect(1006, "the handler ended without closing")

    def receive_text(self, timeout: float = 5.0) -> str:
        kind, data = self.receive(timeout)
        if kind != TEXT:
            raise TypeError("expected a text message, got a binary one")
        return data

    def receive_bytes(self, timeout: float = 5.0) -> bytes:
        kind, data = self.receive(timeout)
        if kind != BINARY:
            raise TypeError("expected a binary message, got a text one")
        return data

    def receive_json(self, timeout: float = 5.0) -> Any:
        return _json.loads(self.receive(timeout)[1])

    def close(self, code: int = 1000, reason: str = "") -> None:
        """The client leaves: the handler's receive raises WebSocketDisconnect(code)."""
        if not self._task.done():
            self._conn.client_gone = True
            self._ws._on_close(code, reason)
            try:
                self._loop.run_until_complete(asyncio.wait_for(asyncio.shield(self._task), 5.0))
            except WebSocketDisconnect:
                pass
