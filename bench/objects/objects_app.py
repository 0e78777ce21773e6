"""bench/objects/objects_app.py: runs objects_cost.measure() inside `fasterapi run`, i.e. in a
worker's isolated subinterpreter (or the main interpreter with --shared-gil), as a tool:

    fasterapi run bench/objects/objects_app.py --workers 1      # then tools/call measure
"""

import os
import sys

from fasterapi import FastMCP

mcp = FastMCP("objects-bench")


@mcp.tool()
def measure() -> dict:
    """ns per object for FasterAPI's Python API objects, measured in this interpreter."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import objects_cost

    return {"python": sys.version.split()[0], "ns": objects_cost.measure()}
