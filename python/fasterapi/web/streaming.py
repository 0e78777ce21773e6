"""Streamed answers: `StreamingResponse` (chunked transfer encoding) and the pump that feeds a
`_fasterapi.HttpStream` from a generator on the worker's asyncio loop.

The C side (src/pyhost/web_stream.c) bounds the unsent bytes of each stream: `write()` says
"wait" once they reach the stream's limit, and the stream's eventfd turns readable when they fell
to half (or when the client left). The pump watches that eventfd for the stream's whole life, so
a client that disconnects cancels the generator at once (CancelledError inside an async
generator, GeneratorExit in a sync one) even while it is idle, and nothing is left behind.

Sync iterators run their `next()` on a one-thread executor of their own (a generator that sleeps
or reads a file must not stall the worker's loop, which serves other requests); closing it is
queued on the same thread, after the `next()` in progress.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, AsyncIterable, Iterable, Mapping

from .responses import Response

_END = object()


class StreamingResponse(Response):
    """A response whose body is produced by `content`: a sync or async iterator / generator of
    bytes or str (str is encoded as UTF-8). Sent with Transfer-Encoding: chunked, one chunk per
    item, as soon as it is produced."""

    def __init__(
        self,
        content: Iterable[Any] | AsyncIterable[Any],
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        super().__init__(None, status_code, headers, media_type)
        if not (hasattr(content, "__aiter__") or hasattr(content, "__iter__")):
            raise TypeError("StreamingResponse content must be an iterator or an async iterator")
        if isinstance(content, (str, bytes, bytearray)):
            raise TypeError("StreamingResponse content is an iterator of chunks, not one str/bytes")
        self.body_iterator = content

    keepalive_ms = 0  # SSE sets its comment interval

    def _fa_start(self, host: Any, creq: Any, answer: tuple) -> None:
        """Starts the stream (the request is answered by it from now on) and its pump task."""
        status, ctype, headers, _ = answer
        if head_only(creq, answer, self.body_iterator):
            return
        stream = creq.stream(status, ctype, headers, int(self.keepalive_ms))
        start_pump(host, stream, self._chunks())

    def _chunks(self) -> Any:
        return self.body_iterator


def head_only(creq: Any, answer: tuple, content: Any) -> bool:
    """HEAD gets the head a GET would get and no body (RFC 9110 §9.3.2): the generator is not
    run (closed at once)."""
    if creq.method != "HEAD":
        return False
    status, ctype, headers, _ = answer
    creq.respond(status, ctype, headers, b"")
    close = getattr(content, "close", None)
    if close is not None:
        close()
    return True


def start_pump(host: Any, stream: Any, content: Any) -> None:
    loop = host.loop
    if loop is None:
        loop = host.loop = asyncio.get_event_loop()
    task = loop.create_task(pump(stream, content))
    host.tasks.add(task)  # cancelled at the worker's shutdown like any handler task
    task.add_done_callback(host.tasks.discard)


class _Gone(Exception):
    """The client left (or the server stops): stop producing."""


async def pump(stream: Any, content: Any) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    fd = stream.fileno()
    waiter: list[Any] = [None]
    finished = [False]

    def ready() -> None:
        stream.ack()
        w = waiter[0]
        if w is not None and not w.done():
            w.set_result(None)
        if stream.closed and not finished[0] and task is not None:
            finished[0] = True
            task.cancel()  # the client left: stop the generator wherever it waits

    async def write(chunk: Any) -> None:
        if not isinstance(chunk, (bytes, bytearray, memoryview, str)):
            raise TypeError(f"a streamed chunk is bytes or str, not {type(chunk).__name__}")
        if stream.write(chunk):
            return
        if stream.closed:
            raise _Gone
        if stream.arm():
            w = waiter[0] = loop.create_future()
            try:
                await w
            finally:
                waiter[0] = None
            if stream.closed:
                raise _Gone

    loop.add_reader(fd, ready)
    is_async = hasattr(content, "__aiter__")
    executor = None
    it: Any = None
    try:
        if is_async:
            it = content.__aiter__()
            async for chunk in it:
                await write(chunk)
        else:
            from concurrent.futures import ThreadPoolExecutor

            it = iter(content)
            executor = ThreadPoolExecutor(1, thread_name_prefix="fasterapi-stream")
            while True:
                chunk = await loop.run_in_executor(executor, next, it, _END)
                if chunk is _END:
                    break
                await write(chunk)
    except _Gone:
        pass
    except asyncio.CancelledError:
        if not stream.closed:
            raise  # the worker is stopping: the server ends the stream
    except Exception as e:  # noqa: BLE001 - the head is sent: all we can do is log and end
        try:
            sys.stderr.write(f"fasterapi: a streaming response failed: {type(e).__name__}: {e}\n")
        except Exception:  # noqa: BLE001
            pass
    finally:
        finished[0] = True
        try:
            loop.remove_reader(fd)
        except Exception:  # noqa: BLE001 - the loop is closing
            pass
        if executor is not None:
            close = getattr(it, "close", None)
            if close is not None:
                executor.submit(close)  # after the next() in progress: GeneratorExit there
            executor.shutdown(wait=False)
        elif it is not None and hasattr(it, "aclose"):
            try:
                await it.aclose()
            except BaseException:  # noqa: BLE001 - it was cancelled, or raised while closing
                pass
        stream.end()
