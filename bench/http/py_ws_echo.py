"""bench/http/py_ws_echo.py: the Python WebSocket echo of bench/http/python_ws.py, the same
behaviour as ws_echo_server.cjs (npm ws): every text or binary message goes back unchanged, as
one message of the same type, from a Python handler.

    fasterapi run bench/http/py_ws_echo.py --http 127.0.0.1:8000 --workers 1
"""

from fasterapi import App
from fasterapi.web import WebSocket

app = App(openapi_url=None)


@app.websocket("/ws")
async def echo(ws: WebSocket):
    await ws.accept()
    while True:
        msg = await ws.receive()
        if msg["type"] == "websocket.disconnect":
            return
        text = msg.get("text")
        if text is not None:
            await ws.send_text(text)
        else:
            await ws.send_bytes(msg["bytes"])
