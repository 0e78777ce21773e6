"""`fasterapi.exceptions`: the python-sdk's `mcp.server.fastmcp.exceptions` (and PrefectHQ
fastmcp's `fastmcp.exceptions`), for an import swap: `from fasterapi.exceptions import ToolError`.
The classes live in `errors.py`."""

from .errors import (
    FastMCPError,
    InvalidSignature,
    McpError,
    PromptError,
    ResourceError,
    ToolError,
    UrlElicitationRequiredError,
    ValidationError,
)

__all__ = [
    "FastMCPError", "ValidationError", "ResourceError", "ToolError", "PromptError",
    "InvalidSignature", "McpError", "UrlElicitationRequiredError",
]
