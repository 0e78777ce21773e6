"""A chat over WebSockets: rooms by path, nicknames by query, across every worker.

    fasterapi run examples/web/ws_chat.py --http 127.0.0.1:8000 --workers 2

then open http://127.0.0.1:8000/ in two browser tabs. Each connection is served by one worker for
its life; a room is a `Group` (a C-side set of connections), so a message reaches everyone in the
room whichever worker serves them. The member count is kept in `fasterapi.shared`, which every
worker sees.
"""

from fasterapi import App, HTMLResponse, Query
from fasterapi.shared import Counter
from fasterapi.web import WebSocket
from fasterapi.web.broadcast import Group

app = App(title="chat")

PAGE = """<!doctype html>
<meta charset="utf-8"><title>chat</title>
<form id="f"><input id="room" value="lobby"> <input id="nick" value="guest">
<button id="join">join</button></form>
<pre id="log" style="height:20em;overflow:auto;border:1px solid #ccc"></pre>
<form id="say"><input id="msg" size="60" autocomplete="off"> <button>send</button></form>
<script>
let ws;
const log = (t) => { const l = document.getElementById("log"); l.textContent += t + "\\n"; l.scrollTop = 1e9; };
document.getElementById("f").onsubmit = (e) => {
  e.preventDefault();
  if (ws) ws.close();
  const room = encodeURIComponent(document.getElementById("room").value);
  const nick = encodeURIComponent(document.getElementById("nick").value);
  ws = new WebSocket(`ws://${location.host}/ws/${room}?nick=${nick}`, ["chat.v1"]);
  ws.onmessage = (m) => { const d = JSON.parse(m.data); log(d.from ? `${d.from}: ${d.text}` : `* ${d.text}`); };
  ws.onclose = (c) => log(`* disconnected (${c.code})`);
};
document.getElementById("say").onsubmit = (e) => {
  e.preventDefault();
  const m = document.getElementById("msg");
  if (ws && m.value) ws.send(JSON.stringify({text: m.value}));
  m.value = "";
};
</script>
"""


@app.get("/", response_class=HTMLResponse)
def page():
    return PAGE


@app.websocket("/ws/{room}", subprotocols=["chat.v1"], max_message=4096)
async def chat(ws: WebSocket, room: str, nick: str = Query("guest", max_length=32)):
    await ws.accept()
    group = Group("chat:" + room)
    members = Counter("chat-members:" + room)
    group.add(ws)
    n = members.add(1)
    await group.send_json({"text": f"{nick} joined {room} ({n} here)"})
    try:
        async for msg in ws.iter_json():
            text = str(msg.get("text", ""))[:1000] if isinstance(msg, dict) else ""
            if text:
                await group.send_json({"from": nick, "text": text})
    finally:
        group.discard(ws)
        n = members.add(-1)
        await group.send_json({"text": f"{nick} left ({n} here)"})
