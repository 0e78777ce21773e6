"""syntax_error.py: an app that does not compile."""

from fasterapi import FastMCP

mcp = FastMCP("broken")


@mcp.tool()
def add(a: int, b: int) -> int
    return a + b
