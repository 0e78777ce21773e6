"""`Group`: a named set of WebSocket connections for broadcasts across workers.

Python objects cannot cross interpreters, so under the host a group lives in C (a process-wide
registry of fa_ws_set_t by name): `Group("chat")` in any worker names the same set, and
`await group.send_text(...)` queues one shared frame for every member, whichever worker serves
it. A member that disconnects leaves its groups by itself. Outside the host (tests with a fake
connection) a group is a plain set of WebSocket objects in this interpreter.

    chat = Group("chat")

    @app.websocket("/chat")
    async def room(ws: WebSocket):
        await ws.accept()
        chat.add(ws)
        async for text in ws.iter_text():
            await chat.send_text(text)
"""

from __future__ import annotations

import json
from typing import Any

from .websockets import BINARY, TEXT, WebSocket

try:
    import _fasterapi as _c  # type: ignore[import-not-found]

    if not hasattr(_c, "_ws_group_send"):
        _c = None
except ImportError:
    _c = None

_local: dict[str, set[WebSocket]] = {}


class Group:
    """The broadcast group `name` (the same group in every worker)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("a group name is a non-empty str")
        self.name = name

    @staticmethod
    def _native(ws: WebSocket) -> bool:
        return _c is not None and isinstance(ws._conn, _c.WebSocketConn)

    def add(self, ws: WebSocket) -> None:
        """Adds a connection (again: no effect)."""
        if self._native(ws):
            _c._ws_group_add(self.name, ws._conn.id)
        else:
            _local.setdefault(self.name, set()).add(ws)
        ws._groups.add(self.name)

    def discard(self, ws: WebSocket) -> None:
        if self._native(ws):
            _c._ws_group_discard(self.name, ws._conn.id)
        else:
            _local.get(self.name, set()).discard(ws)
        ws._groups.discard(self.name)

    def __len__(self) -> int:
        n = len(_local.get(self.name, ()))
        if _c is not None:
            n += _c._ws_group_size(self.name)
        return n

    def _send(self, kind: int, data: str | bytes) -> int:
        sent = 0
        if _c is not None:
            sent = _c._ws_group_send(self.name, kind, data)
        for ws in list(_local.get(self.name, ())):
            if ws._close_code is None and ws._conn.send(kind, data) == 0:
                sent += 1
        return sent

    async def send_text(self, data: str) -> int:
        """Sends to every member; returns how many connections it was queued for."""
        if not isinstance(data, str):
            raise TypeError(f"send_text needs a str, not {type(data).__name__}")
        return self._send(TEXT, data)

    async def send_bytes(self, data: bytes) -> int:
        return self._send(BINARY, bytes(data))

    async def send_json(self, data: Any, mode: str = "text") -> int:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        return self._send(BINARY, text.encode("utf-8")) if mode == "binary" else self._send(TEXT, text)

    def __repr__(self) -> str:
        return f"Group({self.name!r})"
