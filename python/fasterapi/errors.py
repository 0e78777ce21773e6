"""Exceptions a server author raises, with the names FastMCP users already import.

`ToolError` and `ResourceError` come from `mcp.server.fastmcp.exceptions`; `McpError` from
`mcp.shared.exceptions`. A `ToolError` (or any other exception) raised by a tool becomes a
CallToolResult with `isError: true`; an `McpError` raised anywhere becomes a JSON-RPC error with
its own code, so a tool can still answer with a protocol error when it must.
"""

from __future__ import annotations

from typing import Any

# JSON-RPC and MCP error codes (MCP schema.ts; resources.mdx for -32002).
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
RESOURCE_NOT_FOUND = -32002
URL_ELICITATION_REQUIRED = -32042


class FastMCPError(Exception):
    """Base class of the errors FastMCP defines."""


class ValidationError(FastMCPError):
    """Arguments could not be bound to the function's parameters."""


class ResourceError(FastMCPError):
    """Reading a resource failed."""


class ToolError(FastMCPError):
    """A tool failed; the message is what the client sees."""


class PromptError(FastMCPError):
    """Rendering a prompt failed."""


class InvalidSignature(FastMCPError):
    """A function cannot be registered (its signature or type hints are not supported)."""


class McpError(Exception):
    """A protocol error with a JSON-RPC code.

    Accepts the python-sdk form `McpError(ErrorData(code=..., message=...))` and the short form
    `McpError("message", code=-32602, data=...)`.
    """

    def __init__(self, error: Any = "", code: int = INTERNAL_ERROR, data: Any = None) -> None:
        if hasattr(error, "code") and hasattr(error, "message"):
            code = int(error.code)
            data = getattr(error, "data", None)
            error = error.message
        self.code: int = code
        self.message: str = str(error)
        self.data: Any = data
        super().__init__(self.message)

    @property
    def error(self) -> dict[str, Any]:
        """The JSON-RPC error object."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


class UrlElicitationRequiredError(McpError):
    """The tool needs the user to complete URL-mode elicitations first (-32042)."""

    def __init__(self, elicitations: list[dict[str, Any]], message: str | None = None) -> None:
        super().__init__(
            message or "URL elicitation required",
            code=URL_ELICITATION_REQUIRED,
            data={"elicitations": elicitations},
        )
