"""A web app and an MCP server in one file (tests/integration/python/test_web_app.py)."""

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Optional

from fasterapi import App, APIRouter, Depends, FastMCP, Header, HTTPException, Request, Response

app = App()
mcp = FastMCP("web-and-mcp")


@app.on_event("startup")
def started():
    # Runs in every worker interpreter before it serves.
    app.state.started_in = os.getpid()


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@dataclass
class Item:
    name: str
    price: float
    tags: Optional[list[str]] = None


@app.get("/items/{item_id}")
def read_item(item_id: int, q: Optional[str] = None, n: list[int] = []):
    return {"item_id": item_id, "q": q, "n": n}


@app.post("/items", status_code=201)
def create_item(item: Item):
    return item


@app.get("/started")
def was_started():
    return {"started": getattr(app.state, "started_in", None) == os.getpid()}


@app.get("/text")
def text():
    return "plain text"


@app.get("/async")
async def slow_echo(request: Request, delay: float = 0.0):
    await asyncio.sleep(delay)
    return {
        "method": request.method,
        "path": request.url.path,
        "query": request.query_params.getlist("x"),
        "ua": request.headers.get("USER-AGENT"),
        "client": request.client.host if request.client else None,
        "pid": os.getpid(),
    }


@app.post("/echo")
async def echo(request: Request):
    body = await request.body()
    return Response(body, media_type="application/octet-stream", headers={"X-Len": str(len(body))})


@app.get("/framing")
def framing():
    # A handler cannot break the framing: its Content-Length/Transfer-Encoding are dropped, its
    # Content-Type replaces the media type.
    return Response("abc", headers={"Content-Length": "1", "Transfer-Encoding": "chunked",
                                    "Content-Type": "text/x-mine", "X-Ok": "1"})


@app.get("/badheader")
def badheader():
    return Response("x", headers={"X-Evil": "a\r\nSet-Cookie: stolen=1"})


@app.get("/raise")
def raises():
    raise RuntimeError("handler failed on purpose")


@app.get("/teapot")
def teapot():
    raise HTTPException(418, "I'm a teapot")


@app.get("/never")
async def never():
    await asyncio.sleep(3600)


@app.get("/busy")
def busy(seconds: float = 0.2):
    time.sleep(seconds)  # a plain def blocks its worker: others keep serving
    return {"slept": seconds}


def token(x_token: str = Header()):
    if x_token != "secret":
        raise HTTPException(401, "bad token")
    return x_token


router = APIRouter(prefix="/admin", dependencies=[Depends(token)])


@router.get("/stats")
def stats():
    return {"ok": True}


app.include_router(router)
