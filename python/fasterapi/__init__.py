"""fasterapi: MCP servers in Python, FastMCP-compatible, served by the fasterapi C runtime.

    from fasterapi import FastMCP, Context

    mcp = FastMCP("demo")

    @mcp.tool()
    def add(a: int, b: int) -> int:
        \"\"\"Add two numbers.\"\"\"
        return a + b

Run with `fasterapi run server.py` (stdio) or `fasterapi run server.py --http 127.0.0.1:8000`.
Standard library only: the package imports in isolated subinterpreters and without the host's
`_fasterapi` module (tests, `python server.py`).
"""

from ._version import __version__
from .content import Audio, File, Image
from .context import (
    AcceptedElicitation,
    CancelledElicitation,
    Context,
    DeclinedElicitation,
    ElicitationResult,
)
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
from .prompts import AssistantMessage, Message, Prompt, UserMessage
from .resources import (
    BinaryResource,
    FileResource,
    FunctionResource,
    Resource,
    ResourceTemplate,
    TextResource,
)
from .schema import Field
from .server import FastMCP
from .tools import Tool
from .types import (
    Annotations,
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    Icon,
    ImageContent,
    ReadResourceContents,
    ResourceLink,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
)

__all__ = [
    "__version__", "FastMCP", "Context", "Image", "Audio", "File", "Field",
    "Tool", "Prompt", "Message", "UserMessage", "AssistantMessage",
    "Resource", "TextResource", "BinaryResource", "FileResource", "FunctionResource", "ResourceTemplate",
    "McpError", "ToolError", "ResourceError", "PromptError", "FastMCPError", "InvalidSignature",
    "ValidationError", "UrlElicitationRequiredError",
    "AcceptedElicitation", "DeclinedElicitation", "CancelledElicitation", "ElicitationResult",
    "Annotations", "AudioContent", "BlobResourceContents", "CallToolResult", "Completion",
    "CompletionArgument", "CompletionContext", "EmbeddedResource", "ErrorData", "Icon", "ImageContent",
    "PromptMessage", "PromptReference", "ReadResourceContents", "ResourceLink",
    "ResourceTemplateReference", "SamplingMessage", "TextContent", "TextResourceContents",
    "ToolAnnotations", "Skill", "SkillError",
    "App", "FastAPI", "APIRouter", "Request", "Response", "WebSocket", "WebSocketDisconnect", "JSONResponse", "PlainTextResponse",
    "HTMLResponse", "RedirectResponse", "FileResponse", "HTTPException", "RequestValidationError", "Depends",
    "Query", "Path", "Header", "Cookie", "Body", "Form", "URL",
]


# Loaded on first use, so that an MCP server does not import the web App (and asyncio) or the
# skills loader at every interpreter's start (the cold start, bench/README.md).
_LAZY = {
    **{n: ".skills" for n in ("Skill", "SkillError")},
    **{n: ".web" for n in ("App", "FastAPI", "APIRouter", "Request", "Response", "WebSocket",
                           "WebSocketDisconnect", "JSONResponse", "PlainTextResponse", "HTMLResponse",
                           "RedirectResponse", "FileResponse", "HTTPException", "RequestValidationError",
                           "Depends", "Query", "Path", "Header", "Cookie", "Body", "Form", "URL")},
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    # The protocol objects fasterapi.types creates on first use (its _RARE): looked up there,
    # so `from fasterapi import Completion` works without creating them at every start.
    if name in __all__:
        from . import types

        value = getattr(types, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
