"""Prints many lines of many lengths from every worker at once (line-atomic output test)."""

import sys

from fasterapi import FastMCP

mcp = FastMCP("chatty")

# Shorter and longer than PIPE_BUF (4096), and longer than a TextIOWrapper chunk (8192).
WIDTHS = (1, 80, 3000, 5000, 9000)


@mcp.tool()
def chatter(call: int, lines: int) -> int:
    """Print `lines` lines "SPAM call i width xxx...x END" in several pieces each."""
    for i in range(lines):
        width = WIDTHS[(call + i) % len(WIDTHS)]
        print("SPAM", call, i, width, "x" * width, end=" ")
        sys.stderr.write("END\n")
    return lines
