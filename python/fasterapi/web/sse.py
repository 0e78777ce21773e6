"""Server-Sent Events for web routes (WHATWG HTML §9.2).

    from fasterapi.web.sse import SSEConnection, Channel

    @app.get("/ticks")
    async def ticks():
        async def gen():
            for i in range(3):
                yield {"data": i, "event": "tick", "id": str(i)}
                await asyncio.sleep(1)
        return SSEConnection(gen())            # one client, events from a generator

    clock = Channel("clock")                   # named: the same C channel in every worker

    @app.get("/clock")
    def subscribe():
        return clock.subscribe()               # replay after Last-Event-ID, then live events

    @app.post("/tick")
    def tick():
        return {"id": clock.publish("12:00:01", event="time")}   # from any handler, any worker

An event is a str (its data), or a dict with `data` (str, or anything else: sent as JSON),
`event`, `id`, `retry` (ms), `comment`. `SSEConnection()` without a generator is fed by
`conn.send(data, event=None, id=None)` from any handler of the same worker (keep the connection
object somewhere, e.g. app.state); `conn.close()` ends it. Keep-alive comments (": keep-alive",
every `ping` seconds, 15 by default) and, for channels, the Last-Event-ID replay come from the C
core. For push across workers use a Channel.
"""

from __future__ import annotations

import asyncio
import json
import re
import types
from collections import deque
from typing import Any, AsyncIterable, Iterable, Mapping

from .responses import MutableHeaders
from .streaming import StreamingResponse

# Events an SSEConnection without a generator keeps for its client before send() refuses: a
# client that stopped reading must not make its producer's memory grow without bound (the bytes
# already handed to the C core are bounded there).
MAX_QUEUED_EVENTS = 1024
# Default keep-alive comment period (seconds): the WHATWG suggestion, as FA_SSE_KEEPALIVE_MS.
PING = 15.0

_LINES = re.compile(r"\r\n|\r|\n")
_CLOSE = object()
_FED = object()
# Iterator types that need no duck-typing check (a generator is the usual SSE content).
_ITERATORS = frozenset((types.GeneratorType, types.AsyncGeneratorType))


def _field(name: str, value: Any) -> str:
    s = str(value)
    if "\r" in s or "\n" in s:
        raise ValueError(f"an SSE {name} cannot contain CR or LF: {s!r}")
    return s


def format_event(
    data: Any = None, event: str | None = None, id: str | None = None, retry: int | None = None, comment: str | None = None
) -> bytes:
    """One event in the text/event-stream format: data split into `data:` lines, ended by a
    blank line (a client drops an event without it)."""
    out = []
    if comment is not None:
        out.extend(f": {line}\n" for line in _LINES.split(str(comment)))
    if event:
        out.append(f"event: {_field('event', event)}\n")
    if id is not None:
        out.append(f"id: {_field('id', id)}\n" if id != "" else "id\n")
    if retry is not None:
        out.append(f"retry: {int(retry)}\n")
    if data is not None or not out:
        if not isinstance(data, str):
            data = "" if data is None else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        out.extend(f"data: {line}\n" if line else "data:\n" for line in _LINES.split(data))
    out.append("\n")
    return "".join(out).encode("utf-8")


def _encode(item: Any) -> bytes:
    if isinstance(item, (bytes, bytearray)):
        return bytes(item)  # already formatted by the application
    if isinstance(item, Mapping):
        unknown = set(item) - {"data", "event", "id", "retry", "comment"}
        if unknown:
            raise ValueError(f"unknown SSE event fields {sorted(unknown)}")
        return format_event(**item)
    return format_event(item)


class SSEConnection(StreamingResponse):
    """An event stream for one client: from `content` (a sync or async generator of events), or,
    without it, from `send()` calls."""

    media_type = "text/event-stream"

    def __init__(
        self,
        content: Iterable[Any] | AsyncIterable[Any] | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        ping: float | None = None,
        retry: int | None = None,
    ) -> None:
        # Made once per client, so kept to what the arguments change (bench/objects): the
        # defaults are class attributes, the headers are built when first used, and a stream fed
        # by send() makes its deque and generator at the first send() or when the stream starts
        # (body_iterator), whichever comes first.
        if content is not None:
            if type(content) not in _ITERATORS and (
                not (hasattr(content, "__aiter__") or hasattr(content, "__iter__")) or isinstance(content, (str, bytes, bytearray))
            ):
                raise TypeError("SSEConnection content is an iterator or async iterator of events")
            self._content = content
        if status_code != 200 or type(status_code) is not int:
            self.status_code = int(status_code)
        if headers:
            self._init_headers = headers
        if ping is not None:
            ms = int(float(ping) * 1000)
            if ms <= 0:
                raise ValueError("ping must be > 0 seconds")
            self.keepalive_ms = ms
        if retry is not None:
            self.retry = retry

    status_code = 200
    keepalive_ms = int(PING * 1000)
    retry: int | None = None
    body = b""
    _content: Any = _FED  # the events' source; _FED: send() feeds a queue (not made yet)
    _queue: deque[Any] | None = None
    _waiter: asyncio.Future[None] | None = None
    _closed = False
    _init_headers: Mapping[str, str] | None = None
    _headers: MutableHeaders | None = None

    @property
    def body_iterator(self) -> Any:
        """The events' iterator: the content given, or the generator over send()'s queue."""
        c = self._content
        if c is _FED:
            if self._queue is None:
                self._queue = deque()
            c = self._content = self._from_queue()
        return c

    @body_iterator.setter
    def body_iterator(self, value: Any) -> None:
        self._content = value

    def _fed(self) -> bool:
        """Whether send() feeds this stream (no content was given)."""
        return self._content is _FED or self._queue is not None

    @property  # type: ignore[override]
    def headers(self) -> MutableHeaders:
        h = self._headers
        if h is None:
            init = self._init_headers
            h = self._headers = MutableHeaders(init)
            if init:
                h.setdefault("Cache-Control", "no-cache")
                h.setdefault("X-Accel-Buffering", "no")  # nginx: do not buffer the stream
            else:
                h._items = [("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")]
        return h

    @headers.setter
    def headers(self, value: MutableHeaders) -> None:
        self._headers = value

    @property
    def content_type(self) -> str | None:
        return "text/event-stream"  # no charset parameter: the format is always UTF-8

    async def _events(self) -> Any:
        if self.retry is not None:
            yield format_event(retry=self.retry, comment="")
        src = self.body_iterator
        try:
            async for item in src:
                yield _encode(item)
        finally:
            aclose = getattr(src, "aclose", None)
            if aclose is not None:
                await aclose()  # the application's generator is stopped too

    def _chunks(self) -> Any:
        if hasattr(self.body_iterator, "__aiter__") or self._queue is not None:
            return self._events()
        return self._sync_events()  # a sync generator stays on its own thread (streaming.py)

    def _sync_events(self) -> Any:
        if self.retry is not None:
            yield format_event(retry=self.retry, comment="")
        src = self.body_iterator
        try:
            for item in src:
                yield _encode(item)
        finally:
            close = getattr(src, "close", None)
            if close is not None:
                close()  # GeneratorExit reaches the application's generator too

    async def _from_queue(self) -> Any:
        q = self._queue
        assert q is not None
        try:
            while True:
                while not q:
                    self._waiter = asyncio.get_running_loop().create_future()
                    try:
                        await self._waiter
                    finally:
                        self._waiter = None
                item = q.popleft()
                if item is _CLOSE:
                    return
                yield item
        finally:
            self._closed = True  # the client left or close(): send() says so from now on

    def _put(self, item: Any) -> None:
        assert self._queue is not None
        self._queue.append(item)
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def send(self, data: Any, event: str | None = None, id: str | None = None, retry: int | None = None) -> bool:
        """Queues one event (this worker's loop thread: any handler). False when the client has
        MAX_QUEUED_EVENTS events unsent (the event is dropped) or the connection is closed."""
        q = self._queue
        if q is None:
            if self._content is not _FED:
                raise RuntimeError("this SSEConnection is fed by its generator, not send()")
            q = self._queue = deque()
        if self._closed:
            return False
        if len(q) >= MAX_QUEUED_EVENTS:
            return False
        self._put(format_event(data, event, id, retry))
        return True

    def close(self) -> None:
        """Ends the stream after the events already sent."""
        if self._fed() and not self._closed:
            if self._queue is None:
                self._queue = deque()
            self._closed = True
            if len(self._queue) >= MAX_QUEUED_EVENTS:
                self._queue.popleft()  # drop the oldest: the close must get through
            self._put(_CLOSE)


class _Subscription(StreamingResponse):
    media_type = "text/event-stream"

    def __init__(self, channel: "Channel") -> None:
        super().__init__(iter(()), 200, None, "text/event-stream")
        self.channel = channel

    def _fa_start(self, host: Any, creq: Any, answer: tuple) -> None:
        from .streaming import head_only

        if head_only(creq, answer, None):
            return
        ch = self.channel
        creq.sse_subscribe(ch.name, int(ch.ping * 1000), -1 if ch.retry is None else int(ch.retry))


class Channel:
    """A named SSE channel of the C core: numbered events, a replay ring for clients that
    reconnect with Last-Event-ID, keep-alive comments. The same name is the same channel in every
    worker of the process."""

    def __init__(self, name: str, ping: float | None = None, retry: int | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError("a channel has a non-empty name")
        self.name = name
        self.ping = PING if ping is None else float(ping)
        if self.ping <= 0:
            raise ValueError("ping must be > 0 seconds")
        self.retry = retry

    def subscribe(self) -> StreamingResponse:
        """The answer to return from a handler: an event stream of this channel."""
        return _Subscription(self)

    def publish(self, data: Any, event: str | None = None, id: str | None = None) -> str:
        """Broadcasts one event to every subscriber (any worker); returns its id (numbered
        "1", "2", ... when not given)."""
        import _fasterapi  # type: ignore[import-not-found]

        if not isinstance(data, (str, bytes)):
            data = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        return _fasterapi.sse_publish(self.name, data, event, id)

    @property
    def subscribers(self) -> int:
        import _fasterapi  # type: ignore[import-not-found]

        return _fasterapi.sse_subscribers(self.name)


__all__ = ["SSEConnection", "Channel", "format_event", "MAX_QUEUED_EVENTS", "PING"]
