"""bench/gil/gil_app.py: one CPU-bound, pure-Python tool for the GIL scaling benchmark
(bench/gil/run.sh). `burn` holds its interpreter's GIL for the whole call and never releases it
voluntarily, so K concurrent calls can only overlap if they run under different GILs.

    fasterapi run bench/gil/gil_app.py [--workers N] [--shared-gil]
"""

from fasterapi import FastMCP

mcp = FastMCP("gil-bench")


@mcp.tool()
def burn(n: int) -> int:
    """Sum of the squares below n, modulo 2**61 - 1: ~40 ns of pure-Python work per unit of n
    on this box. (The modulo keeps the result inside the int64 range a JSON reply can carry; the
    sum itself exceeds it from n ~ 3M.)"""
    return sum(i * i for i in range(n)) % (2**61 - 1)
