"""slow_workers.py: imports at once in the main interpreter and takes WORKER_DELAY seconds
(FA_TEST_WORKER_DELAY, default 2) in any other one, so that for that long every call is served
by the early worker in the main interpreter, which starts without an asyncio loop (the cold
start, bench/README.md) and must make one when a call first needs it."""

import asyncio
import os
import time

from fasterapi import Context, FastMCP

try:
    import _interpreters  # 3.13
except ImportError:  # 3.12
    import _xxsubinterpreters as _interpreters


def interpreter_id() -> int:
    current = _interpreters.get_current()
    return int(current[0] if isinstance(current, tuple) else current)


if interpreter_id() != 0:
    time.sleep(float(os.environ.get("FA_TEST_WORKER_DELAY", "2")))

mcp = FastMCP("slow-workers")


@mcp.tool()
def whoami() -> int:
    """The interpreter running this call (0 is the main one)."""
    return interpreter_id()


@mcp.tool()
def echo(text: str) -> str:
    return text


@mcp.tool()
async def nap(seconds: float) -> str:
    """await asyncio.sleep(seconds), and say which loop ran it."""
    await asyncio.sleep(seconds)
    return f"napped {seconds} in {interpreter_id()}"


@mcp.tool()
async def chatty(ctx: Context) -> str:
    """Logs and reports progress from an async tool."""
    await ctx.info("hello from the early worker")
    await ctx.report_progress(1, 2)
    return "chatted"


@mcp.tool()
def spin() -> str:
    """A busy loop that only cancellation ends."""
    while True:
        pass
