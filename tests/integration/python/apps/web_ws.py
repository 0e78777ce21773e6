"""WebSocket routes for tests/integration/python/test_web_ws.py."""

import asyncio
import os
import threading

from fasterapi import App, APIRouter, Query
from fasterapi.web import WebSocket, WebSocketDisconnect
from fasterapi.web.broadcast import Group

app = App()
room = Group("room")
events = APIRouter(prefix="/r")


@app.get("/ping")
def ping():
    return {"ok": True}


@app.websocket("/echo")
async def echo(ws: WebSocket):
    await ws.accept()
    while True:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            return
        if "text" in msg:
            await ws.send_text(msg["text"])
        else:
            await ws.send_bytes(msg["bytes"])


@app.websocket("/json")
async def json_echo(ws: WebSocket):
    await ws.accept()
    async for obj in ws.iter_json():
        await ws.send_json({"got": obj})


@app.websocket("/items/{item_id}")
async def item(ws: WebSocket, item_id: int, q: str = Query("none"), x_tag: str | None = None):
    await ws.accept()
    await ws.send_json({"item_id": item_id, "q": q, "path_params": ws.path_params,
                        "ua": ws.headers.get("x-tag"), "client": ws.client is not None})
    await ws.close(4000, "bye")


@app.websocket("/proto", subprotocols=["chat.v2", "chat.v1"])
async def proto(ws: WebSocket):
    await ws.accept(subprotocol=ws.subprotocol)
    await ws.send_text(str(ws.subprotocol))
    await ws.close()


@app.websocket("/small", max_message=1024)
async def small(ws: WebSocket):
    await ws.accept()
    async for t in ws.iter_text():
        await ws.send_text(str(len(t)))


@app.websocket("/boom")
async def boom(ws: WebSocket):
    await ws.accept()
    await ws.receive_text()
    raise RuntimeError("handler exploded")


# Disconnect mid-handler: the handler records what it saw; /status reads it (per worker, so the
# test runs one worker).
seen: dict[str, object] = {"disconnect": None, "finally": 0}


@app.websocket("/wait")
async def wait(ws: WebSocket):
    await ws.accept()
    await ws.send_text("ready")
    try:
        await ws.receive_text()
    except WebSocketDisconnect as e:
        seen["disconnect"] = e.code
    finally:
        seen["finally"] = int(seen["finally"]) + 1


@app.get("/status")
def status():
    return seen


@app.websocket("/room")
async def join(ws: WebSocket):
    await ws.accept()
    room.add(ws)
    await ws.send_json({"worker": threading.get_ident(), "pid": os.getpid(), "members": len(room)})
    async for text in ws.iter_text():
        await room.send_text(text)


@app.websocket("/slow")
async def slow(ws: WebSocket):
    """Receives slowly: the client's flood is pushed back by TCP, then every message arrives."""
    await ws.accept()
    n = 0
    async for _ in ws.iter_bytes():
        n += 1
        if n % 64 == 0:
            await asyncio.sleep(0.01)
        if n == 2000:
            await ws.send_text(str(n))


@events.websocket("/ev/{name}")
async def router_ws(ws: WebSocket, name: str):
    await ws.accept()
    await ws.send_text(f"router:{name}")
    await ws.close()


app.include_router(events)
