"""oddities.py: tools whose results the host itself must refuse (not JSON after the package's
FastMCP-style conversion)."""

import math

from fasterapi import FastMCP
from fasterapi.types import CallToolResult

mcp = FastMCP("oddities")


@mcp.tool()
def echo(text: str) -> str:
    return text


@mcp.tool()
def nan() -> float:
    """Return NaN (JSON has no NaN)."""
    return math.nan


@mcp.tool(structured_output=False)
def raw_set():
    """A CallToolResult whose raw content block holds a set."""
    return CallToolResult(content=[{"type": "text", "text": {1, 2}}])


@mcp.tool(structured_output=False)
def raw_object():
    """A CallToolResult whose raw content block holds an object."""
    return CallToolResult(content=[{"type": "text", "text": "ok", "extra": object()}])

