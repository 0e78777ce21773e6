"""The MCP server behind tests/integration/http/test_mcp_bad_input.py, written the FastMCP way.
The count of cancelled naps is a fasterapi.shared counter: a module global would count per worker
interpreter (and the main interpreter answers the first calls while the workers start)."""
import asyncio

from fasterapi import Context, FastMCP, shared

mcp = FastMCP("bad-input")
cancelled = shared.Counter("cancelled-naps")


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
        cancelled.add()
        raise
    return f"napped {seconds}"


@mcp.tool()
def cancelled_naps() -> int:
    """How many naps were cancelled so far."""
    return cancelled.value


@mcp.tool()
async def ask_name(ctx: Context) -> str:
    """Asks the user's name (elicitation)."""
    result = await ctx.elicit("Your name?", response_type=str)
    return f"hello {getattr(result, 'data', None)} ({result.action})"


@mcp.tool()
async def nap_with_progress(seconds: float, ctx: Context) -> str:
    """Reports progress once, then sleeps (its SSE stream is silent meanwhile)."""
    await ctx.report_progress(0, 1)
    await asyncio.sleep(seconds)
    return f"napped {seconds}"
