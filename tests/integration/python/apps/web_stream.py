"""Streaming answers and SSE for tests/integration/python/test_web_stream.py (run with
--workers 1 unless a test says otherwise: the counters below live in one interpreter)."""

import asyncio
import time

from fasterapi import App
from fasterapi.web import StreamingResponse
from fasterapi.web.sse import Channel, SSEConnection

app = App()

# What the generators did, per key: bytes produced, and how they ended.
produced: dict[str, int] = {}
ended: dict[str, str] = {}
conns: list[SSEConnection] = []
news = Channel("news", ping=0.3)


@app.get("/sync")
def sync_stream(n: int = 3, size: int = 5):
    def gen():
        for i in range(n):
            yield (str(i % 10) * size).encode()

    return StreamingResponse(gen(), media_type="text/plain")


@app.get("/async")
async def async_stream(n: int = 3):
    async def gen():
        for i in range(n):
            await asyncio.sleep(0.01)
            yield f"chunk {i}\n"

    return StreamingResponse(gen(), media_type="text/plain", headers={"X-Stream": "yes"})


def _big(key: str, mb: int):
    block = bytes(range(256)) * 256  # 64 KiB
    produced[key] = 0
    ended.pop(key, None)
    try:
        for _ in range(mb * 16):
            produced[key] += len(block)
            yield block
        ended[key] = "done"
    except GeneratorExit:
        ended[key] = "GeneratorExit"
        raise


@app.get("/big/sync")
def big_sync(key: str, mb: int = 64):
    return StreamingResponse(_big(key, mb), media_type="application/octet-stream")


@app.get("/big/async")
async def big_async(key: str, mb: int = 64):
    async def gen():
        block = bytes(range(256)) * 256
        produced[key] = 0
        ended.pop(key, None)
        try:
            for _ in range(mb * 16):
                produced[key] += len(block)
                yield block
            ended[key] = "done"
        except asyncio.CancelledError:
            ended[key] = "CancelledError"
            raise
        except GeneratorExit:
            ended[key] = "GeneratorExit"
            raise

    return StreamingResponse(gen(), media_type="application/octet-stream")


@app.get("/idle")
async def idle(key: str):
    """Yields once then waits: only the disconnect watch can stop it."""

    async def gen():
        ended.pop(key, None)
        try:
            yield "hello\n"
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            ended[key] = "CancelledError"
            raise
        except GeneratorExit:
            ended[key] = "GeneratorExit"
            raise

    return StreamingResponse(gen(), media_type="text/plain")


@app.get("/stats")
def stats(key: str):
    return {"produced": produced.get(key), "ended": ended.get(key)}


@app.get("/sse/gen")
async def sse_gen(n: int = 3):
    async def gen():
        for i in range(n):
            yield {"data": {"i": i}, "event": "tick", "id": str(i + 1)}
        yield "plain\nline two"

    return SSEConnection(gen(), retry=1500)


@app.get("/sse/sync")
def sse_sync():
    return SSEConnection(iter(["a", {"data": "b", "event": "x"}]))


@app.get("/sse/quiet")
async def sse_quiet(ping: float = 0.2):
    async def gen():
        yield "first"
        await asyncio.sleep(3600)

    return SSEConnection(gen(), ping=ping)


@app.get("/sse/push")
def sse_push():
    conn = SSEConnection(ping=0.3)
    conns.append(conn)
    return conn


@app.post("/sse/push")
def push(data: str, event: str | None = None, close: bool = False):
    sent = 0
    for c in conns:
        if c.send(data, event=event):
            sent += 1
        if close:
            c.close()
    if close:
        conns.clear()
    return {"sent": sent}


@app.get("/news")
def news_stream():
    return news.subscribe()


@app.post("/news")
def news_publish(data: str, event: str | None = None):
    return {"id": news.publish(data, event=event), "worker_time": time.time()}


@app.get("/news/subscribers")
def news_subscribers():
    return {"n": news.subscribers}
