"""MCP protocol objects as plain dataclasses (the names of `mcp.types`).

Porting `from mcp.types import TextContent, ToolAnnotations, Completion` is an import swap to
`from fasterapi.types import ...`. Objects are keyword-only like the pydantic models they
replace; `to_dict()` gives the wire form: camelCase keys as in schema.ts, `meta` as `_meta`,
fields that are None omitted (clients reject `null` for optional fields).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, Literal, Union

Role = Literal["user", "assistant"]
LoggingLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]


def dump(value: Any) -> Any:
    """The wire form of a protocol object, list or dict of them; other values unchanged."""
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {str(k): dump(v) for k, v in value.items() if v is not None}
    return value


class Model:
    """Base of the protocol dataclasses: `to_dict()` and dict-style `model_dump()`."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if v is None:
                continue
            out["_meta" if f.name == "meta" else f.name] = dump(v)
        return out

    def model_dump(self, **_: Any) -> dict[str, Any]:
        """pydantic-style alias of `to_dict()` for code ported from the python-sdk."""
        return self.to_dict()


@dataclass(kw_only=True)
class Annotations(Model):
    """Hints on a content block or resource: audience, priority, lastModified."""

    audience: list[Role] | None = None
    priority: float | None = None
    lastModified: str | None = None


@dataclass(kw_only=True)
class Icon(Model):
    """An icon of a server, tool, resource or prompt."""

    src: str
    mimeType: str | None = None
    sizes: list[str] | None = None
    theme: Literal["light", "dark"] | None = None


@dataclass(kw_only=True)
class ToolAnnotations(Model):
    """Behaviour hints for a tool (MCP 2025-03-26+); clients treat them as untrusted."""

    title: str | None = None
    readOnlyHint: bool | None = None
    destructiveHint: bool | None = None
    idempotentHint: bool | None = None
    openWorldHint: bool | None = None


@dataclass(kw_only=True)
class TextContent(Model):
    """A text content block."""

    type: Literal["text"] = "text"
    text: str
    annotations: Annotations | dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


@dataclass(kw_only=True)
class _MediaContent(Model):
    """ImageContent and AudioContent, alike in schema.ts: base64 `data` of a `mimeType`. Each
    redeclares `type`, which keeps its place (first) in the fields and the wire form."""

    type: str
    data: str  # base64
    mimeType: str
    annotations: Annotations | dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


@dataclass(kw_only=True)
class ImageContent(_MediaContent):
    """An image content block (base64 data)."""

    type: Literal["image"] = "image"


@dataclass(kw_only=True)
class AudioContent(_MediaContent):
    """An audio content block (base64 data)."""

    type: Literal["audio"] = "audio"


@dataclass(kw_only=True)
class TextResourceContents(Model):
    """The text contents of a resource."""

    uri: str
    mimeType: str | None = None
    text: str
    meta: dict[str, Any] | None = None


@dataclass(kw_only=True)
class BlobResourceContents(Model):
    """The binary contents of a resource (base64 blob)."""

    uri: str
    mimeType: str | None = None
    blob: str  # base64
    meta: dict[str, Any] | None = None


ResourceContents = Union[TextResourceContents, BlobResourceContents]


@dataclass(kw_only=True)
class EmbeddedResource(Model):
    """A resource's contents embedded in a result."""

    type: Literal["resource"] = "resource"
    resource: TextResourceContents | BlobResourceContents | dict[str, Any]
    annotations: Annotations | dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


@dataclass(kw_only=True)
class ResourceLink(Model):
    """A link to a resource, in a result."""

    type: Literal["resource_link"] = "resource_link"
    uri: str
    name: str
    title: str | None = None
    description: str | None = None
    mimeType: str | None = None
    size: int | None = None
    icons: list[Icon | dict[str, Any]] | None = None
    annotations: Annotations | dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


ContentBlock = Union[TextContent, ImageContent, AudioContent, ResourceLink, EmbeddedResource]
CONTENT_TYPES: tuple[type, ...] = (
    TextContent,
    ImageContent,
    AudioContent,
    ResourceLink,
    EmbeddedResource,
)


@dataclass(kw_only=True)
class CallToolResult(Model):
    """Return this from a tool for full control of the result (python-sdk ≥ 1.10 style)."""

    content: list[Any] = field(default_factory=list)
    structuredContent: dict[str, Any] | None = None
    isError: bool | None = None
    meta: dict[str, Any] | None = None


@dataclass(kw_only=True)
class ReadResourceContents:
    """One part of a resource as `Context.read_resource()` returns it (python-sdk helper type)."""

    content: str | bytes
    mime_type: str | None = None


def _accept_meta_alias(cls: type) -> None:
    """`CallToolResult(..., _meta={...})`, the python-sdk's spelling (its pydantic field `meta`
    has the alias `_meta`), is accepted as `meta=` by every protocol object that has one."""
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if "_meta" in kwargs:
            if "meta" in kwargs:
                raise TypeError(f"{cls.__name__}() got both meta and _meta")
            kwargs["meta"] = kwargs.pop("_meta")
        init(self, *args, **kwargs)

    cls.__init__ = __init__  # type: ignore[misc]


def _has_meta(cls: Any) -> bool:
    return (
        isinstance(cls, type)
        and issubclass(cls, Model)
        and dataclasses.is_dataclass(cls)
        and any(f.name == "meta" for f in dataclasses.fields(cls))
    )


for _cls in list(globals().values()):
    if _has_meta(_cls):
        _accept_meta_alias(_cls)
del _cls

# Defined in _types_rare.py and imported on first use (PEP 562): no start-up path needs them, and
# each dataclass costs ~0.3 ms to create, in every interpreter (bench/README.md, "Cold start").
_RARE = frozenset({
    "PromptMessage", "SamplingMessage", "CreateMessageResult", "Root", "ListRootsResult", "ModelHint",
    "ModelPreferences", "PromptReference", "ResourceTemplateReference", "ResourceReference",
    "CompletionArgument", "CompletionContext", "Completion", "ErrorData",
})


def __getattr__(name: str) -> Any:
    if name in _RARE:
        from . import _types_rare

        value = getattr(_types_rare, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _RARE)


# `from fasterapi.types import *`: the protocol objects and their unions, the rare ones included.
__all__ = sorted(
    {n for n, v in globals().items() if not n.startswith("_") and isinstance(v, type) and issubclass(v, Model)}
    | {"ReadResourceContents", "ResourceContents", "ContentBlock", "CONTENT_TYPES", "Role", "LoggingLevel", "dump"}
    | _RARE
)
