"""Return values → MCP content blocks, and Python values → JSON.

`Image`, `Audio` and `File` are the return helpers of FastMCP (`mcp.server.fastmcp.utilities.types`
and PrefectHQ `fastmcp.utilities.types`): give a path or raw bytes, get base64 content.

`to_content(result)` follows FastMCP: None → no content; a content block or helper → that block;
a str → one text block; any other value → one text block holding its JSON (indent 2, like the
python-sdk's `pydantic_core.to_json(..., indent=2)`). A list or tuple is handled as the
python-sdk's FastMCP does: each item becomes its own block(s). Content objects of other
libraries (`mcp.types.TextContent`, ...) are recognised by their shape, not their class.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import inspect
import json
import math
import os
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from .types import (
    CONTENT_TYPES,
    Annotations,
    AudioContent,
    BlobResourceContents,
    EmbeddedResource,
    ImageContent,
    Model,
    TextResourceContents,
    _MediaContent,
)

if TYPE_CHECKING:
    # pathlib (with glob, fnmatch) only when an Image/Audio/File is made from a path: every
    # interpreter imports this package on the way to the first answer (bench/README.md, "Cold
    # start").
    from pathlib import Path

M = TypeVar("M", bound=_MediaContent)

_IMAGE_SUFFIXES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".bmp": "image/bmp",
}
_AUDIO_SUFFIXES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".flac": "audio/flac",
    ".aac": "audio/aac",
    ".m4a": "audio/mp4",
}


class _Media:
    """Shared part of Image/Audio/File: exactly one of path or data."""

    # Image, Audio: the MIME type is `{_kind}/{format}`, else by suffix, else `_default_mime`.
    _kind = ""
    _suffixes: dict[str, str] = {}
    _default_mime = "application/octet-stream"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        data: bytes | None = None,
        format: str | None = None,
        annotations: Annotations | dict[str, Any] | None = None,
    ) -> None:
        if path is None and data is None:
            raise ValueError("Either path or data must be provided")
        if path is not None and data is not None:
            raise ValueError("Only one of path or data can be provided")
        if path:
            from pathlib import Path

            self.path: Path | None = Path(os.path.expandvars(str(path))).expanduser()
        else:
            self.path = None
        self.data: bytes | None = bytes(data) if data is not None else None
        self._format = format
        self.annotations = annotations

    @property
    def mime_type(self) -> str:
        if self._format:
            return f"{self._kind}/{self._format.lower()}"
        if self.path is not None:
            return self._suffixes.get(self.path.suffix.lower(), "application/octet-stream")
        return self._default_mime

    def _read(self) -> bytes:
        if self.path is not None:
            return self.path.read_bytes()
        assert self.data is not None
        return self.data

    def _b64(self) -> str:
        return base64.b64encode(self._read()).decode("ascii")

    def _content(
        self, cls: Callable[..., M], mime_type: str | None, annotations: Annotations | dict[str, Any] | None
    ) -> M:
        """An ImageContent or AudioContent block of this media."""
        mime = mime_type or self.mime_type
        return cls(data=self._b64(), mimeType=mime, annotations=annotations or self.annotations)


class Image(_Media):
    """An image returned from a tool or prompt: `Image(path=...)` or `Image(data=..., format="png")`."""

    _kind = "image"
    _suffixes = _IMAGE_SUFFIXES
    _default_mime = "image/png"  # FastMCP's default for raw bytes

    def to_image_content(
        self, mime_type: str | None = None, annotations: Annotations | dict[str, Any] | None = None
    ) -> ImageContent:
        return self._content(ImageContent, mime_type, annotations)

    def to_data_uri(self, mime_type: str | None = None) -> str:
        return f"data:{mime_type or self.mime_type};base64,{self._b64()}"


class Audio(_Media):
    """Audio returned from a tool: `Audio(path=...)` or `Audio(data=..., format="wav")`."""

    _kind = "audio"
    _suffixes = _AUDIO_SUFFIXES
    _default_mime = "audio/wav"

    def to_audio_content(
        self, mime_type: str | None = None, annotations: Annotations | dict[str, Any] | None = None
    ) -> AudioContent:
        return self._content(AudioContent, mime_type, annotations)


class File(_Media):
    """A file returned from a tool as an embedded resource (PrefectHQ fastmcp's `File`).

    Text MIME types (`text/*`) are embedded as text, everything else as a base64 blob.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        data: bytes | None = None,
        format: str | None = None,
        name: str | None = None,
        annotations: Annotations | dict[str, Any] | None = None,
    ) -> None:
        super().__init__(path, data, format, annotations)
        self._name = name

    @property
    def mime_type(self) -> str:
        if self._format:
            fmt = self._format.lower()
            if fmt in ("plain", "txt", "text"):
                return "text/plain"
            return f"application/{fmt}"
        if self.path is not None:
            import mimetypes

            guessed, _ = mimetypes.guess_type(str(self.path))
            if guessed:
                return guessed
        return "application/octet-stream"

    @property
    def uri(self) -> str:
        if self.path is not None:
            return self.path.resolve().as_uri()
        ext = self.mime_type.split("/")[1]
        return f"file:///{self._name or 'resource'}.{ext}"

    def to_resource_contents(self, mime_type: str | None = None) -> TextResourceContents | BlobResourceContents:
        raw = self._read()
        mime = mime_type or self.mime_type
        if mime.startswith("text/"):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            return TextResourceContents(uri=self.uri, mimeType=mime, text=text)
        return BlobResourceContents(
            uri=self.uri, mimeType=mime, blob=base64.b64encode(raw).decode("ascii")
        )

    def to_resource_content(
        self, mime_type: str | None = None, annotations: Annotations | dict[str, Any] | None = None
    ) -> EmbeddedResource:
        return EmbeddedResource(
            resource=self.to_resource_contents(mime_type), annotations=annotations or self.annotations
        )


MEDIA_TYPES: tuple[type, ...] = (Image, Audio, File)


_PLAIN = frozenset((str, int, float, bool, list, dict, tuple, bytes, type(None)))


def is_awaitable(value: Any) -> bool:
    """inspect.isawaitable with a fast no for plain values (the per-call hot path)."""
    return type(value) not in _PLAIN and inspect.isawaitable(value)


# A content block of another library (mcp.types.TextContent, fastmcp's, a user's own class) is
# recognised by its shape: its `type` and the attributes that type requires (MCP schema.ts).
_CONTENT_SHAPES: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "image": ("data", "mimeType"),
    "audio": ("data", "mimeType"),
    "resource": ("resource",),
    "resource_link": ("uri", "name"),
}
# Optional attributes of content blocks and resource contents, in wire order.
_OPTIONAL = ("uri", "name", "title", "description", "mimeType", "size", "text", "blob", "icons", "annotations")
# The names of the content classes people annotate tools with (mcp.types, fastmcp): a return
# annotation naming one of them asks for content, not structured output.
CONTENT_CLASS_NAMES = frozenset((
    "TextContent", "ImageContent", "AudioContent", "EmbeddedResource", "ResourceLink",
    "ContentBlock", "Content", "CallToolResult", "Image", "Audio", "File",
))


def is_foreign_content(value: Any) -> bool:
    """A content block object of another library, by shape."""
    if isinstance(value, (str, bytes, dict, list, tuple, type)) or value is None:
        return False
    need = _CONTENT_SHAPES.get(getattr(value, "type", None))  # type: ignore[arg-type]
    return need is not None and all(getattr(value, a, None) is not None for a in need)


def is_foreign_result(value: Any) -> bool:
    """A CallToolResult of another library (mcp.types.CallToolResult), by shape."""
    return (
        not isinstance(value, (dict, type))
        and isinstance(getattr(value, "content", None), (list, tuple))
        and hasattr(value, "isError")
    )


def foreign_dump(value: Any) -> Any:
    """The wire form of another library's protocol object: its pydantic `model_dump` (by alias,
    so `meta` is `_meta`, None fields left out) or, for plain objects, its attributes."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return jsonable(dump(mode="json", by_alias=True, exclude_none=True))
        except TypeError:
            return jsonable({k: v for k, v in dump().items() if v is not None})
    out: dict[str, Any] = {}
    kind = getattr(value, "type", None)
    if isinstance(kind, str):
        out["type"] = kind
    for name in _CONTENT_SHAPES.get(kind, ()) + _OPTIONAL:  # type: ignore[arg-type]
        v = getattr(value, name, None)
        if v is not None and name not in out:
            out[name] = v if isinstance(v, (str, int, float, bool)) else foreign_value(v)
    meta = getattr(value, "_meta", None) or getattr(value, "meta", None)
    if isinstance(meta, dict) and meta:
        out["_meta"] = jsonable(meta)
    return out


def foreign_value(v: Any) -> Any:
    """A nested value of a foreign protocol object (resource contents, annotations, icons)."""
    if isinstance(v, (list, tuple)):
        return [foreign_value(x) for x in v]
    if isinstance(v, (dict, Model)) or callable(getattr(v, "model_dump", None)):
        return jsonable(v)
    if hasattr(v, "__dict__") and not isinstance(v, type):
        return foreign_dump(v)
    return jsonable(v)


def is_content(value: Any) -> bool:
    """True for a content block object (ours or, by shape, another library's) or a media helper."""
    return isinstance(value, CONTENT_TYPES) or isinstance(value, MEDIA_TYPES) or is_foreign_content(value)


def content_block(value: Any) -> dict[str, Any]:
    """The wire form of one content block, helper or plain value (see the module docstring)."""
    if isinstance(value, Model) and isinstance(value, CONTENT_TYPES):
        return value.to_dict()
    if isinstance(value, str):
        return {"type": "text", "text": value}
    if isinstance(value, Image):
        return value.to_image_content().to_dict()
    if isinstance(value, Audio):
        return value.to_audio_content().to_dict()
    if isinstance(value, File):
        return value.to_resource_content().to_dict()
    if is_foreign_content(value):
        block: dict[str, Any] = foreign_dump(value)
        return block
    return {"type": "text", "text": json_text(value)}


def to_content(result: Any) -> list[dict[str, Any]]:
    """A tool's return value as a list of content blocks (wire form). A list or tuple gives the
    blocks of each item in turn, as the python-sdk's FastMCP does (`["a", "b"]` is two text
    blocks, `[1, 2]` the blocks "1" and "2"); None items give none."""
    if result is None:
        return []
    if isinstance(result, (list, tuple)):
        out: list[dict[str, Any]] = []
        for item in result:
            if isinstance(item, (list, tuple)) or item is None:
                out.extend(to_content(item))
            else:
                out.append(content_block(item))
        return out
    return [content_block(result)]


def json_text(value: Any) -> str:
    """JSON text of a value, indented by 2 like FastMCP; non-ASCII kept as is."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    return json.dumps(jsonable(value, strict=True), indent=2, ensure_ascii=False)


class NonFiniteError(ValueError):
    """A result holds inf or NaN, which JSON cannot carry."""


def jsonable(value: Any, strict: bool = False) -> Any:
    """A JSON-able copy of a value: dataclasses, enums, sets, datetimes, bytes, protocol objects,
    pydantic models (on the shared-GIL lane) and annotated classes are converted; anything else
    falls back to str(), as FastMCP does. JSON has no NaN or infinity: a non-finite float becomes
    None, or with `strict` (results: a tool that returns inf must not answer null against its own
    number schema) raises NonFiniteError."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        # Kept exact: the host's converter takes 64-bit integers and refuses bigger ones with a
        # clear error (the tool's result names the value), rather than rounding them silently.
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        if strict:
            raise NonFiniteError(f"the result holds {value!r}, which JSON cannot represent")
        return None
    if isinstance(value, enum.Enum):
        return jsonable(value.value, strict)
    if isinstance(value, dict):
        return {_key(k): jsonable(v, strict) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, strict) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v, strict) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, MEDIA_TYPES):
        return content_block(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name), strict) for f in dataclasses.fields(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode("ascii")
    iso = getattr(value, "isoformat", None)
    if callable(iso) and type(value).__module__ == "datetime":
        return iso()
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # a pydantic model, only importable on the shared-GIL lane
        try:
            return jsonable(dump(mode="json"), strict)
        except TypeError:
            return jsonable(dump(), strict)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    hints = getattr(type(value), "__annotations__", None)
    if hints and not isinstance(value, type):
        return {k: jsonable(getattr(value, k), strict) for k in hints if not k.startswith("_") and hasattr(value, k)}
    return str(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, enum.Enum):
        key = key.value
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)
