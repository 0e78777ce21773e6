"""bench/objects/objects_cost.py: what FasterAPI's Python API objects cost to create, in ns per
object, measured with timeit (GC off while timing, best of REPEAT runs of an auto-ranged loop,
as `python -m timeit` does). Imported by objects_bench.py in a plain python3 and by objects_app.py
inside `fasterapi run` (then it runs in a worker's own subinterpreter).

Rows:
  FastMCP()            the app object (what the seed project's App() is compared with)
  FastMCP(name, instructions=...)
  Context(...)         made once per tools/call, resources/read or prompts/get by the host's
                       Dispatcher (its `_context`), exactly as the host builds it
  @mcp.tool() register a one-argument tool (signature + JSON Schema); once per tool at import
  Dispatcher.call_tool the whole Python side of one `tools/call echo`: lookup, Context, argument
                       binding and validation, the call, the result dict (the C side's JSON <->
                       PyObject conversion and the queues are not in it)
  App()                the web app object (fasterapi.web.App), the seed's App() counterpart
  WebSocket(conn, loop) the object an @app.websocket handler gets, built as WebHost.ws_open
                       builds it (WebSocket(conn, loop)); `conn` is a stand-in with the three
                       things the constructor reads (params(), header(), path) as Python
                       methods: the host's _fasterapi.WebSocketConn answers them from C, and
                       cannot be made outside a live connection
  SSEConnection()      an event stream fed by send() (its queue included)
  SSEConnection(gen)   an event stream over an async generator (the generator object is made
                       once, outside the loop)
"""

from __future__ import annotations

import asyncio
import timeit
from typing import Any, Dict

from fasterapi import Context, FastMCP
from fasterapi._runtime import Dispatcher
from fasterapi.web import App, WebSocket
from fasterapi.web.sse import SSEConnection

TARGET_TIME = 0.2  # seconds per timing run, as timeit's autorange
REPEAT = 5


def _echo(text: str) -> str:
    """Return the given text unchanged."""
    return text


class _Conn:
    """What WebSocket.__init__ reads of the host's connection object."""

    __slots__ = ("path",)

    def __init__(self) -> None:
        self.path = "/ws/lobby"

    def params(self) -> dict:
        return {"room": "lobby"}

    def header(self, name: str) -> None:
        return None


async def _ticks() -> Any:
    yield "tick"


def _time(stmt: str, env: Dict[str, Any]) -> float:
    """Best ns per execution of stmt over REPEAT runs of an auto-ranged loop."""
    t = timeit.Timer(stmt, globals=env)
    number, _ = t.autorange()
    number = max(number, int(number * TARGET_TIME / max(_, 1e-9)))
    return min(t.repeat(REPEAT, number)) / number * 1e9


def measure() -> Dict[str, float]:
    app = FastMCP("bench")
    app.tool(name="echo")(_echo)
    disp = Dispatcher(app)
    args = {"text": "hello"}
    check = disp.call_tool("echo", args, None)
    if check != {"content": [{"type": "text", "text": "hello"}], "structuredContent": {"result": "hello"}}:
        raise RuntimeError("Dispatcher.call_tool(echo) returned %r" % (check,))
    loop = asyncio.new_event_loop()
    env = {"FastMCP": FastMCP, "Context": Context, "app": app, "disp": disp, "handle": None,
           "args": args, "_echo": _echo, "App": App, "WebSocket": WebSocket,
           "SSEConnection": SSEConnection, "conn": _Conn(), "loop": loop, "gen": _ticks()}
    ws = WebSocket(env["conn"], loop)
    if ws.path_params != {"room": "lobby"} or ws.scope["path"] != "/ws/lobby":
        raise RuntimeError("WebSocket(conn) did not read its stand-in connection")
    # Registration builds a new FastMCP each time (so the name is never a duplicate); its own
    # cost is subtracted below.
    out = {
        "FastMCP()": _time("FastMCP()", env),
        "FastMCP(name, instructions=...)": _time(
            "FastMCP('bench', instructions='Small utilities.')", env),
        "Context(handle, mcp, dispatcher)": _time("Context(handle, app, disp)", env),
        "Context()": _time("Context()", env),
        "Dispatcher.call_tool(echo)": _time("disp.call_tool('echo', args, handle)", env),
    }
    reg = _time("FastMCP().tool()(_echo)", env)
    out["@mcp.tool() registration"] = reg - out["FastMCP()"]
    out["App()"] = _time("App()", env)
    out["WebSocket(conn, loop)"] = _time("WebSocket(conn, loop)", env)
    out["SSEConnection()"] = _time("SSEConnection()", env)
    out["SSEConnection(gen)"] = _time("SSEConnection(gen)", env)
    loop.run_until_complete(env["gen"].aclose())
    loop.close()
    return out


if __name__ == "__main__":
    import json
    import sys

    json.dump({"python": sys.version.split()[0], "ns": measure()}, sys.stdout)
    print()
