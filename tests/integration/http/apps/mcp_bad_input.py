"""The MCP server behind tests/integration/http/test_mcp_bad_input.py, written the FastMCP way.
Run with --workers 1: `cancelled` counts per worker."""
import asyncio

from fasterapi import Context, FastMCP

mcp = FastMCP("bad-input")
cancelled = {"naps": 0}


@mcp.tool()
def echo(text: str) -> str:
    """Echoes the text."""
    return text


@mcp.tool()
async def nap(seconds: float) -> str:
    """Sleeps; counts the naps that were cancelled."""
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        cancelled["naps"] += 1
        raise
    return f"napped {seconds}"


@mcp.tool()
def cancelled_naps() -> int:
    """How many naps were cancelled so far."""
    return cancelled["naps"]


@mcp.tool()
async def ask_name(ctx: Context) -> str:
    """Asks the user's name (elicitation)."""
    result = await ctx.elicit("Your name?", response_type=str)
    return f"hello {getattr(result, 'data', None)} ({result.action})"
