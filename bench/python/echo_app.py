"""bench/python/echo_app.py: the Python echo tool for the stdio benchmark (bench/python/run.sh).

The same tool as examples/embed_c/echo_server.c and bench/stdio/ts_echo_server.mjs, written the
way a FastMCP user writes it; only the import differs.

    fasterapi run bench/python/echo_app.py
"""

from fasterapi import FastMCP

mcp = FastMCP("py-echo-bench")


@mcp.tool()
def echo(text: str) -> str:
    """Return the given text unchanged."""
    return text
