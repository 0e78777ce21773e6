"""bench/mcp_http/echo_server.py: the Python echo tool for the Streamable HTTP benchmark
(bench/mcp_http/run.sh).

The same tool as bench/mcp_http/ts_v2_server.mjs and ts_v1_server.mjs, written the way a FastMCP
user writes it; only the import differs.

    fasterapi run bench/mcp_http/echo_server.py --http 127.0.0.1:8000
"""

from fasterapi import FastMCP

mcp = FastMCP("py-echo-http-bench")


@mcp.tool()
def echo(text: str) -> str:
    """Return the given text unchanged."""
    return text


if __name__ == "__main__":
    mcp.run(transport="streamable-http")
