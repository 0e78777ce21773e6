"""An SSE clock and a chat-like feed on fasterapi.web.

    fasterapi run examples/web/sse_clock.py --http 127.0.0.1:8000
    open http://127.0.0.1:8000/          (or: curl -N http://127.0.0.1:8000/clock)
    curl -X POST 'http://127.0.0.1:8000/say?text=hello'

/clock is one generator per client (it stops when the client leaves); /feed is the C channel
"feed": any worker publishes to it, every subscriber gets the event, and a browser that
reconnects gets what it missed (Last-Event-ID replay) with no duplicate.
"""

import asyncio
import time

from fasterapi import App, HTMLResponse
from fasterapi.web import StreamingResponse
from fasterapi.web.sse import Channel, SSEConnection

app = App()
feed = Channel("feed")

PAGE = """<!doctype html><meta charset="utf-8"><title>SSE clock</title>
<h1 id="clock">…</h1><ul id="feed"></ul>
<script>
new EventSource("/clock").addEventListener("tick", e => clock.textContent = e.data);
new EventSource("/feed").onmessage = e => {
  const li = document.createElement("li"); li.textContent = e.lastEventId + ": " + e.data; feed.append(li);
};
</script>"""


@app.get("/", response_class=HTMLResponse)
def index():
    return PAGE


@app.get("/clock")
async def clock():
    async def ticks():
        while True:
            yield {"event": "tick", "data": time.strftime("%H:%M:%S")}
            await asyncio.sleep(1)

    return SSEConnection(ticks(), retry=2000)


@app.get("/feed")
def subscribe():
    return feed.subscribe()


@app.post("/say")
def say(text: str):
    return {"id": feed.publish(text), "subscribers": feed.subscribers}


@app.get("/count")
def count(n: int = 10):
    """A plain chunked download: one line per number, produced as it is sent."""
    return StreamingResponse((f"{i}\n" for i in range(n)), media_type="text/plain")
