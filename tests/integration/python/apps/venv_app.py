"""Imports a package that only a virtual environment (venvpkg) or PYTHONPATH (pathpkg) has."""

import sys

import venvpkg

from fasterapi import FastMCP

try:
    import pathpkg

    FROM_PATH = pathpkg.VALUE
except ImportError:
    FROM_PATH = "no pathpkg"

mcp = FastMCP("venv-app")


@mcp.tool()
def where() -> str:
    """Where the packages came from, as seen by the worker serving the call."""
    import venvpkg as again

    return f"{again.GREETING}|{FROM_PATH}|{sys.prefix}"
