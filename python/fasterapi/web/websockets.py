"""`WebSocket` (Starlette's API) for `@app.websocket(...)` routes.

Under the host the C core owns the connection: it has done the opening handshake (101, the
subprotocol chosen from the route's `subprotocols`) before the handler starts, answers pings,
enforces the message size (1009) and runs the close handshake. One worker serves a connection for
its whole life: its messages arrive in order on this interpreter's loop through `_on_messages` (a
burst at a time), the client's departure through `_on_close`, and sends go to the C core, which
posts what a turn of the loop sent in one piece (thread-safe).

`conn` is `_fasterapi.WebSocketConn` (or a test double) with: path, query, subprotocol, client,
id, param(name), params(), header(name), headers(), body(), send(type, data) -> 0 | negative
error, close(code, reason) -> 0 | negative error, consumed().
"""

from __future__ import annotations

import enum
import json
from collections import deque
from types import SimpleNamespace
from typing import Any, AsyncIterator

from .datastructures import URL, Address, Headers, QueryParams

TEXT = 1
BINARY = 2


class WebSocketDisconnect(Exception):
    """The connection is gone: raised by receive (after the messages that arrived before the
    client left) and by send once the connection has closed. `code` is the peer's close code
    (1000 normal, 1001 going away, 1006 no close frame...)."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason or ""

    def __repr__(self) -> str:
        return f"WebSocketDisconnect(code={self.code!r}, reason={self.reason!r})"


class WebSocketState(enum.Enum):
    CONNECTING = 0
    CONNECTED = 1
    DISCONNECTED = 2


_CONNECTING = WebSocketState.CONNECTING
_CONNECTED = WebSocketState.CONNECTED


class _lazy:
    """A per-object attribute computed on first read, then stored on the object (a non-data
    descriptor: the instance's own value wins from then on, and assigning it works as for a
    plain attribute). functools.cached_property takes a lock per first read on 3.11."""

    __slots__ = ("fn", "name")

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.name = fn.__name__

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


class WebSocket:
    """One WebSocket connection, given to the handler of an `@app.websocket(path)` route."""

    # Defaults as class attributes: one is set on the object only when it changes (the host
    # builds a WebSocket per connection; bench/objects measures it).
    _waiter: Any = None
    _close_code: int | None = None  # the client left (or the close handshake ended)
    _close_reason = ""
    _task: Any = None  # the handler's task (WebHost.ws_open)
    _headers: Headers | None = None
    _query: QueryParams | None = None
    client_state = WebSocketState.CONNECTED  # the C core answered 101 already
    _route_protocols: list[str] = []  # the route's subprotocols (WebHost.ws_open assigns, never mutated)

    application_state = WebSocketState.CONNECTING
    _inbox: Any = ()  # a deque once a message arrived (_on_message): empty, falsy, never popped

    def __init__(self, conn: Any, loop: Any = None) -> None:
        # Only what every connection needs; path_params, scope, state and the group set are made
        # on first use (_lazy below): most handlers never read them.
        self._conn = conn
        self._loop = loop

    @_lazy
    def path_params(self) -> dict[str, Any]:
        return dict(self._conn.params())

    @_lazy
    def scope(self) -> dict[str, Any]:
        offered = self._conn.header("sec-websocket-protocol")
        return {"type": "websocket", "path": self._conn.path, "path_params": self.path_params,
                "subprotocols": [p.strip() for p in offered.split(",") if p.strip()] if offered else []}

    @_lazy
    def state(self) -> SimpleNamespace:
        return SimpleNamespace()  # (a class made per object cost ~10 us)

    @_lazy
    def _groups(self) -> set[str]:
        return set()

    # the upgrade request ------------------------------------------------------------------------

    @property
    def url(self) -> URL:
        return URL("ws", self._conn.header("host") or "", self._conn.path, self._conn.query)

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(self._conn.headers())
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        if self._query is None:
            self._query = QueryParams(self._conn.query)
        return self._query

    @property
    def cookies(self) -> dict[str, str]:
        from .request import parse_cookies

        return parse_cookies(self._conn.header("cookie"))

    @property
    def client(self) -> Address | None:
        c = self._conn.client
        return Address(*c) if c else None

    @property
    def subprotocol(self) -> str | None:
        """The subprotocol the C core agreed with the client (one of the route's), or None."""
        return self._conn.subprotocol

    # events from the host ----------------------------------------------------------------------

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _on_message(self, data: str | bytes) -> None:
        self._on_messages((data,))

    def _on_messages(self, batch: Any) -> None:
        """Messages that arrived together, in order (the host hands a worker's whole burst for
        this connection in one call). Wakes the handler only if it waits."""
        inbox = self._inbox
        if not inbox:
            inbox = self._inbox = deque(batch)
        else:
            inbox.extend(batch)
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _on_close(self, code: int, reason: str = "") -> None:
        if self._close_code is None:
            self._close_code = code
            self._close_reason = reason
        self.client_state = WebSocketState.DISCONNECTED
        self._leave_groups()
        self._wake()

    def _leave_groups(self) -> None:
        groups = self.__dict__.get("_groups")
        if groups:
            from .broadcast import Group

            for name in list(groups):
                Group(name).discard(self)

    # the handler's API ---------------------------------------------------------------------------

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        """Confirms the connection. The handshake is done by the C core, which picked the
        subprotocol (the first of the client's list that the route's `subprotocols` offers):
        a `subprotocol` the route does not list is an error in the app; one the client did not
        ask for is ignored (the connection has none, as the client asked)."""
        if self.application_state is not WebSocketState.CONNECTING:
            raise RuntimeError('"accept" called twice, or after "close"')
        if subprotocol is not None and subprotocol != self._conn.subprotocol and subprotocol not in self._route_protocols:
            raise RuntimeError(f"subprotocol {subprotocol!r} is not offered by the route: list it in @app.websocket(..., subprotocols=[...])")
        self.application_state = WebSocketState.CONNECTED

    def _check_open(self) -> None:
        if self.application_state is WebSocketState.CONNECTING:
            raise RuntimeError('WebSocket is not connected: call "accept" first')

    async def _next(self) -> str | bytes:
        self._check_open()
        while not self._inbox:
            if self._close_code is not None:
                raise WebSocketDisconnect(self._close_code, self._close_reason)
            if self.application_state is WebSocketState.DISCONNECTED:
                raise RuntimeError('cannot receive after "close"')
            loop = self._loop
            if loop is None:
                import asyncio

                loop = self._loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        msg = self._inbox.popleft()
        self._conn.consumed()
        return msg

    async def receive(self) -> dict[str, Any]:
        """The next event as an ASGI message: {"type": "websocket.receive", "text" | "bytes"}
        or {"type": "websocket.disconnect", "code"} (once)."""
        inbox = self._inbox
        if inbox and self.application_state is not _CONNECTING:
            # Fast path (a message is waiting): what _next does, without a second coroutine.
            msg = inbox.popleft()
            self._conn.consumed()
        else:
            try:
                msg = await self._next()
            except WebSocketDisconnect as e:
                return {"type": "websocket.disconnect", "code": e.code, "reason": e.reason}
        if type(msg) is str:
            return {"type": "websocket.receive", "text": msg}
        return {"type": "websocket.receive", "bytes": msg}

    async def receive_text(self) -> str:
        inbox = self._inbox
        if inbox and self.application_state is not _CONNECTING:
            msg = inbox.popleft()
            self._conn.consumed()
        else:
            msg = await self._next()
        if type(msg) is not str:
            raise TypeError("expected a text message, got a binary one")
        return msg

    async def receive_bytes(self) -> bytes:
        msg = await self._next()
        if not isinstance(msg, bytes):
            raise TypeError("expected a binary message, got a text one")
        return msg

    async def receive_json(self, mode: str = "text") -> Any:
        msg = await self._next()
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8")
        return json.loads(msg)

    async def iter_text(self) -> AsyncIterator[str]:
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> AsyncIterator[Any]:
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

    def _send(self, kind: int, data: str | bytes) -> None:
        self._check_open()
        if self._close_code is not None:
            raise WebSocketDisconnect(self._close_code, self._close_reason)
        if self.application_state is WebSocketState.DISCONNECTED:
            raise RuntimeError('cannot send after "close"')
        if self._conn.send(kind, data) != 0:
            # Closed, and the close event is still on its way to this worker.
            raise WebSocketDisconnect(1006)

    async def send_text(self, data: str) -> None:
        if not isinstance(data, str):
            raise TypeError(f"send_text needs a str, not {type(data).__name__}")
        if self.application_state is _CONNECTED and self._close_code is None:
            # Fast path (open both ways): what _send checks, without the calls.
            if self._conn.send(TEXT, data) != 0:
                raise WebSocketDisconnect(1006)
            return
        self._send(TEXT, data)

    async def send_bytes(self, data: bytes) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"send_bytes needs bytes, not {type(data).__name__}")
        if type(data) is not bytes:
            data = bytes(data)
        if self.application_state is _CONNECTED and self._close_code is None:
            if self._conn.send(BINARY, data) != 0:
                raise WebSocketDisconnect(1006)
            return
        self._send(BINARY, data)

    async def send_json(self, data: Any, mode: str = "text") -> None:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "binary":
            self._send(BINARY, text.encode("utf-8"))
        else:
            self._send(TEXT, text)

    async def send(self, message: dict[str, Any]) -> None:
        """ASGI-style: {"type": "websocket.send", "text" | "bytes"} or {"type":
        "websocket.close", "code", "reason"} ({"type": "websocket.accept"} accepts)."""
        kind = message.get("type")
        if kind == "websocket.accept":
            await self.accept(message.get("subprotocol"))
        elif kind == "websocket.close":
            await self.close(message.get("code", 1000), message.get("reason") or "")
        elif kind == "websocket.send":
            if message.get("text") is not None:
                await self.send_text(message["text"])
            else:
                await self.send_bytes(message.get("bytes") or b"")
        else:
            raise ValueError(f"unknown WebSocket message type {kind!r}")

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Starts the close handshake (code 1000, or 1001-1014 / 3000-4999 per RFC 6455 §7.4).
        Closing a connection that is gone already does nothing."""
        self._close(code, reason or "")

    def _close(self, code: int, reason: str) -> None:
        if self.application_state is WebSocketState.DISCONNECTED:
            return
        if self._close_code is None:
            self._conn.close(code, reason)  # ValueError: a bad code; negative: closed meanwhile
        self.application_state = WebSocketState.DISCONNECTED
        self._leave_groups()

    def __repr__(self) -> str:
        return f"<WebSocket {self._conn.path} {self.application_state.name.lower()}>"
