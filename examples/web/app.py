"""One file, one port: a JSON CRUD API, a WebSocket chat, an SSE clock and MCP tools.

    fasterapi run examples/web/app.py --http 127.0.0.1:8000 --workers 2

    curl -X POST localhost:8000/items -H 'Content-Type: application/json' \\
         -d '{"name": "pen", "price": 1.5, "tags": ["office"]}'
    curl localhost:8000/items                      # list; also GET/PUT/DELETE /items/{id}
    curl -N localhost:8000/clock?count=3           # SSE: a "tick" event a second
    curl -N localhost:8000/items/events            # SSE: every change to the items, live
    open http://localhost:8000/                    # the chat page (WebSocket /ws/{room})
    POST localhost:8000/mcp                        # MCP: tools list_items, add_item, announce
    open http://localhost:8000/docs                # the OpenAPI page of the routes

Every worker runs its own copy of this module, so nothing here keeps state in a module global:
the items live in `fasterapi.shared` (C memory every worker sees), a chat room is a broadcast
`Group` (a C-side set of connections, whichever worker serves each one) and the item feed is an
SSE `Channel` (published from any worker, replayed after Last-Event-ID). The MCP tools work on
the same items and rooms as the web routes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field

from fasterapi import FastMCP
from fasterapi.shared import Counter, Map
from fasterapi.web import (
    App,
    HTMLResponse,
    HTTPException,
    Path,
    Query,
    Response,
    WebSocket,
)
from fasterapi.web.broadcast import Group
from fasterapi.web.sse import Channel, SSEConnection

app = App(title="FasterAPI example", description="Items, a chat, a clock and MCP tools on one port.")
mcp = FastMCP("web-example", instructions="Read and add the items of the web example; talk in its chat rooms.")

items = Map("example:items")  # str(id) -> item dict, shared by every worker
next_id = Counter("example:next-id")
item_events = Channel("example:items")


@dataclass
class Item:
    name: str
    price: float
    tags: list[str] = field(default_factory=list)


def _check(item: Item) -> dict:
    # The dataclass converts the types; the limits are ours (a clear 422, as FastAPI's).
    if not item.name or len(item.name) > 100:
        raise HTTPException(422, "name must have 1 to 100 characters")
    if not item.price >= 0:  # also rejects NaN
        raise HTTPException(422, "price must be >= 0")
    return asdict(item)


def _get(item_id: int) -> dict:
    got = items.get(str(item_id))
    if got is None:
        raise HTTPException(404, f"no item {item_id}")
    return got


# ---- the JSON CRUD API ---------------------------------------------------------------------------


@app.get("/items", tags=["items"])
def list_items(limit: int = Query(100, ge=1, le=1000)):
    """Every item, by id."""
    rows = sorted(items.values(), key=lambda it: it["id"])
    return rows[:limit]


@app.post("/items", status_code=201, tags=["items"])
def create_item(item: Item):
    body = _check(item)
    body["id"] = next_id.add(1)
    items[str(body["id"])] = body
    item_events.publish(body, event="created")
    return body


@app.get("/items/{item_id}", tags=["items"])
def read_item(item_id: int = Path(ge=1)):
    return _get(item_id)


@app.put("/items/{item_id}", tags=["items"])
def replace_item(item: Item, item_id: int = Path(ge=1)):
    _get(item_id)
    body = _check(item)
    body["id"] = item_id
    items[str(item_id)] = body
    item_events.publish(body, event="updated")
    return body


@app.delete("/items/{item_id}", status_code=204, tags=["items"])
def delete_item(item_id: int = Path(ge=1)):
    if items.pop(str(item_id), None) is None:
        raise HTTPException(404, f"no item {item_id}")
    item_events.publish({"id": item_id}, event="deleted")
    return Response(status_code=204)


@app.get("/items/events", tags=["items"])
def watch_items():
    """Server-Sent Events: created/updated/deleted, from every worker; a client that reconnects
    with Last-Event-ID gets what it missed."""
    return item_events.subscribe()


# ---- the SSE clock -------------------------------------------------------------------------------


@app.get("/clock", tags=["clock"])
async def clock(interval: float = Query(1.0, ge=0.01, le=60), count: int = Query(0, ge=0)):
    """A "tick" event every `interval` seconds (`count` of them, 0 = until the client leaves)."""

    async def ticks():
        n = 0
        while count == 0 or n < count:
            n += 1
            yield {"event": "tick", "id": str(n), "data": {"n": n, "time": time.strftime("%H:%M:%S")}}
            await asyncio.sleep(interval)

    return SSEConnection(ticks(), retry=2000)


# ---- the WebSocket chat --------------------------------------------------------------------------


@app.websocket("/ws/{room}", max_message=4096)
async def chat(ws: WebSocket, room: str, nick: str = Query("guest", min_length=1, max_length=32)):
    """Each text message {"text": ...} goes to everyone in the room, whichever worker serves them."""
    await ws.accept()
    group = Group("example:chat:" + room)
    group.add(ws)
    try:
        await group.send_json({"text": f"{nick} joined {room}"})
        async for msg in ws.iter_json():
            text = str(msg.get("text", ""))[:1000] if isinstance(msg, dict) else ""
            if text:
                await group.send_json({"from": nick, "text": text})
    finally:
        group.discard(ws)
        await group.send_json({"text": f"{nick} left"})


PAGE = """<!doctype html><meta charset="utf-8"><title>FasterAPI example</title>
<h1 id="clock">...</h1>
<form id="join"><input id="room" value="lobby"> <input id="nick" value="guest"> <button>join</button></form>
<pre id="log" style="height:15em;overflow:auto;border:1px solid #ccc"></pre>
<form id="say"><input id="msg" size="60" autocomplete="off"> <button>send</button></form>
<script>
new EventSource("/clock").addEventListener("tick", e => clock.textContent = JSON.parse(e.data).time);
let ws;
const out = t => { log.textContent += t + "\\n"; log.scrollTop = 1e9; };
join.onsubmit = e => {
  e.preventDefault(); if (ws) ws.close();
  ws = new WebSocket(`ws://${location.host}/ws/${encodeURIComponent(room.value)}?nick=${encodeURIComponent(nick.value)}`);
  ws.onmessage = m => { const d = JSON.parse(m.data); out(d.from ? `${d.from}: ${d.text}` : `* ${d.text}`); };
};
say.onsubmit = e => { e.preventDefault(); if (ws && msg.value) ws.send(JSON.stringify({text: msg.value})); msg.value = ""; };
</script>"""


@app.get("/", response_class=HTMLResponse, include_in_schema=False)
def page():
    return PAGE


# ---- MCP tools on the same port (/mcp) -------------------------------------------------------------


@mcp.tool(name="list_items")
def list_items_tool() -> list:
    """Every item of the web example's store."""
    return sorted(items.values(), key=lambda it: it["id"])


@mcp.tool()
def add_item(name: str, price: float, tags: list[str] | None = None) -> dict:
    """Adds an item (the same store as POST /items); returns it with its id."""
    return create_item(Item(name, price, list(tags or [])))


@mcp.tool()
async def announce(room: str, text: str) -> int:
    """Says `text` in a chat room; returns how many connections it reached."""
    return await Group("example:chat:" + room).send_json({"from": "mcp", "text": text[:1000]})
