"""worker_import_error.py: imports in the main interpreter, raises in any other one (as a
module that keeps process-wide state might)."""

from fasterapi import FastMCP

try:
    import _interpreters
except ImportError:
    import _xxsubinterpreters as _interpreters

_current = _interpreters.get_current()
if int(_current[0] if isinstance(_current, tuple) else _current) != 0:
    raise RuntimeError("only the main interpreter may import this")

mcp = FastMCP("worker-import-error")


@mcp.tool()
def hello() -> str:
    return "hello"
