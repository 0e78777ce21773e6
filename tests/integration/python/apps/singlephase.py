"""singlephase.py: an app importing a C extension with single-phase init (like numpy): isolated
subinterpreters refuse it, so the host serves this app from the main interpreter."""

import fa_singlephase

from fasterapi import FastMCP

mcp = FastMCP("singlephase")


@mcp.tool()
def answer() -> int:
    """The extension's answer."""
    return fa_singlephase.answer()


@mcp.tool()
async def async_answer() -> int:
    return fa_singlephase.answer()
