"""A server written for the python-sdk's FastMCP, the way its authors write them, with only the
import lines changed: a lifespan holding a connection object, pydantic Field descriptions and
constraints, ctx.session and ctx.request_context, mcp.types content objects, a module-level
dict, a custom route and auth settings this build cannot serve.

The `mcp` and `pydantic` packages are not installable for the embedded Python, so `_standins`
plays them: classes with the same names and attributes (fasterapi recognises them by shape).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _standins import CallToolResult, Field, ImageContent, TextContent  # noqa: E402

from fasterapi import Context, FastMCP  # noqa: E402
from fasterapi.exceptions import ToolError  # noqa: E402
from fasterapi.prompts.base import AssistantMessage, UserMessage  # noqa: E402

EVENTS = os.environ.get("FA_LIFESPAN_EVENTS")  # a file the lifespan appends "enter"/"exit" to


class Database:
    """Stands in for an async database client (asyncpg, aiosqlite...)."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {"greeting": "hello"}
        self.open = False

    async def connect(self) -> Database:
        self.open = True
        _event("enter")
        return self

    async def disconnect(self) -> None:
        self.open = False
        _event("exit")

    def query(self, key: str) -> str:
        if not self.open:
            raise RuntimeError("database is closed")
        return self.rows.get(key, "")


def _event(what: str) -> None:
    if EVENTS:
        with open(EVENTS, "a") as f:
            f.write(f"{what} {os.getpid()}\n")


@dataclass
class AppContext:
    db: Database


@asynccontextmanager
async def app_lifespan(server: FastMCP) -> AsyncIterator[AppContext]:
    if os.environ.get("FA_LIFESPAN_FAIL"):
        raise ConnectionError("cannot reach the database at db.invalid:5432")
    db = await Database().connect()
    try:
        yield AppContext(db=db)
    finally:
        await db.disconnect()


mcp = FastMCP("fastmcp-style", lifespan=app_lifespan, token_verifier=object())

# Module-level state, per worker under fasterapi (the start-up warning names it).
notes: dict[str, str] = {}


@mcp.custom_route("/health", methods=["GET"])
async def health(request):  # type: ignore[no-untyped-def]
    return None


@mcp.tool()
def query_db(key: str, ctx: Context) -> str:
    """Read a row through the lifespan's connection."""
    db = ctx.request_context.lifespan_context.db
    return db.query(key)


@mcp.tool()
def greet_user(
    name: str = Field(description="The name of the person to greet"),
    title: str = Field(description="Optional title like Mr/Ms/Dr", default=""),
    times: int = Field(description="Number of times to repeat the greeting", default=1, ge=1, le=3),
) -> str:
    """Greet a user (the python-sdk's parameter_descriptions example)."""
    return " ".join([f"{title} {name}".strip()] * times)


@mcp.tool()
def pick(code: Annotated[str, Field(min_length=2, max_length=4, description="a short code")]) -> str:
    """Echo a short code."""
    return code


@mcp.tool()
async def touch_memo(ctx: Context) -> str:
    """FasterAPI's server-wide resources/updated: every subscribed client hears it."""
    await ctx.notify_resource_updated("memo://one")
    await ctx.notify_resource_updated("memo://unwatched")
    return "touched"


@mcp.tool()
async def session_calls(ctx: Context) -> str:
    """Use ctx.session the way servers do."""
    rc = ctx.request_context
    await ctx.session.send_log_message(level="info", data="from the session", logger="sess")
    token = rc.meta.progressToken if rc.meta else None
    await ctx.session.send_progress_notification(progress_token=token, progress=1, total=2)
    await ctx.session.send_resource_updated("memo://one")
    await ctx.session.send_tool_list_changed()
    await ctx.session.send_resource_list_changed()
    await ctx.session.send_prompt_list_changed()
    # Work after the notifications, as a real tool does: the TypeScript SDK client drops a
    # progress notification that reaches it in the same read as the call's response (its
    # notification handlers run a microtask later, after the response removed the handler).
    await asyncio.sleep(0.05)
    return f"id={rc.request_id!r}"


@mcp.tool()
async def roots(ctx: Context) -> list[str]:
    """List the client's roots."""
    result = await ctx.session.list_roots()
    return [str(r.uri) for r in result.roots]


@mcp.tool()
async def summarize(text: str, ctx: Context) -> str:
    """Ask the client's model (sampling) through the session."""
    from _standins import SamplingMessage

    result = await ctx.session.create_message(
        messages=[SamplingMessage(role="user", content=TextContent(type="text", text=text))],
        max_tokens=50,
    )
    return result.content.text if result.content.type == "text" else str(result.content)


@mcp.tool()
def rich() -> list[TextContent | ImageContent]:
    """Content objects of another library."""
    return [TextContent(type="text", text="caption"), ImageContent(type="image", data="iVBORw0KGgo=", mimeType="image/png")]


@mcp.tool()
def with_meta() -> CallToolResult:
    """A CallToolResult with _meta."""
    return CallToolResult(content=[TextContent(type="text", text="done")], _meta={"trace": "abc"})


@mcp.tool()
def lines() -> list[str]:
    """Several lines, one block each."""
    return ["one", "two"]


@mcp.tool()
def ratio(a: float, b: float) -> float:
    """a / b, inf when b is 0."""
    return a / b if b else float("inf")


@mcp.tool()
def remember(key: str, value: str) -> int:
    """Keep a note (module-level dict: per worker)."""
    if not key:
        raise ToolError("key must not be empty")
    notes[key] = value
    return len(notes)


# Tools that use threads the usual ways (on 3.13 each once made shutdown print
# "Exception ignored in: <function _DeleteDummyThreadOnDel.__del__ ...>").
_pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)


@mcp.tool()
def in_thread() -> str:
    """Work in a threading.Thread."""
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append("thread"))
    t.start()
    t.join()
    return out[0]


@mcp.tool()
def in_pool() -> int:
    """Work in a concurrent.futures pool."""
    return _pool.submit(sum, [40, 2]).result()


@mcp.tool()
async def in_to_thread() -> int:
    """Work in asyncio.to_thread."""
    return await asyncio.to_thread(sum, [3, 4])


@mcp.prompt()
def review(code: str) -> list:
    return [UserMessage(f"Review:\n{code}"), AssistantMessage("Looking.")]


if os.environ.get("FA_CALL_HTTP_APP"):
    app = mcp.streamable_http_app()  # deployed with uvicorn elsewhere: not served by this build
