"""Resources (fixed URIs) and resource templates (RFC 6570 URI templates).

A resource function may return str (text), bytes (a base64 blob), an Image/Audio/File helper,
TextResourceContents/BlobResourceContents/ReadResourceContents (or a list of them for several
parts), or any other value, which is sent as JSON text with mimeType application/json. The
declared `mime_type` wins over these defaults.

Templates: `{var}` matches one path segment (`[^/]+`, as FastMCP), `{var*}` and `{+var}` match
the rest including slashes (PrefectHQ fastmcp's wildcard), `{/var}` and `{.var}` are the path and
label operators, `{?a,b}` an optional query string. Values are percent-decoded and converted to
the parameter's annotated type (`{id}` with `id: int` gives an int).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from .binding import bind
from .content import Audio, File, Image, is_awaitable, json_text, jsonable
from .context import Context, await_in, call_in
from .errors import INTERNAL_ERROR, InvalidSignature, McpError
from .schema import is_object_class, is_pydantic_model, strip_type
from .signature import FunctionInfo, analyze
from .tools import icons_wire
from .types import BlobResourceContents, ReadResourceContents, TextResourceContents, dump

if TYPE_CHECKING:
    # pathlib and urllib.parse are imported where they are used: every interpreter imports
    # this package on the way to the first answer (bench/README.md, "Cold start").
    from pathlib import Path

_VARNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.]*$")


class UriTemplate:
    """An RFC 6570 template compiled to a regex for matching (levels 1-3 subset)."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.path_vars: list[str] = []
        self.query_vars: list[str] = []
        self._groups: dict[str, str] = {}
        has_query = re.search(r"\{[?&]", template) is not None
        seg = "[^/?#]+" if has_query else "[^/]+"
        pattern = ""
        pos = 0
        for m in re.finditer(r"\{([^{}]*)\}", template):
            pattern += re.escape(template[pos:m.start()])
            pos = m.end()
            expr = m.group(1)
            op = expr[0] if expr and expr[0] in "+#./;?&" else ""
            names = [v.strip() for v in (expr[1:] if op else expr).split(",")]
            if op in ("?", "&"):
                for raw in names:
                    self.query_vars.append(self._name(raw))
                pattern += r"(?:[?&](?P<__query>[^#]*))?" if "(?P<__query>" not in pattern else ""
                continue
            if op == ";":
                raise InvalidSignature(f"URI template {template!r}: the ';' operator is not supported")
            parts = []
            for raw in names:
                name = self._name(raw)
                explode = raw.endswith("*")
                group = f"g{len(self._groups)}"
                self._groups[group] = name
                self.path_vars.append(name)
                if op in ("+", "#") or explode:
                    body = ".+" if op != "/" else "[^?#]+"
                else:
                    body = seg if op != "." else "[^/.?#]+"
                prefix = {"#": "#", "/": "/", ".": r"\."}.get(op, "")
                parts.append(f"{prefix}(?P<{group}>{body})")
            sep = "," if op in ("", "+", "#") else ""
            pattern += sep.join(parts)
        pattern += re.escape(template[pos:])
        self.regex = re.compile(f"^{pattern}$")

    def _name(self, raw: str) -> str:
        name = raw.rstrip("*").split(":", 1)[0]
        if not _VARNAME.match(name):
            raise InvalidSignature(f"URI template {self.template!r}: bad variable name {raw!r}")
        return name

    @property
    def is_template(self) -> bool:
        return bool(self.path_vars or self.query_vars)

    def match(self, uri: str) -> dict[str, str] | None:
        m = self.regex.match(uri)
        if m is None:
            return None
        from urllib.parse import parse_qs, unquote

        out = {self._groups[g]: unquote(v) for g, v in m.groupdict().items() if g in self._groups}
        query = m.groupdict().get("__query")
        if query:
            for k, vals in parse_qs(query, keep_blank_values=True).items():
                if k in self.query_vars and vals:
                    out[k] = vals[-1]
        return out


def _mime_from_annotation(ret: Any) -> str | None:
    tp = strip_type(ret)
    if tp is str:
        return "text/plain"
    if tp in (bytes, bytearray):
        return "application/octet-stream"
    origin = getattr(tp, "__origin__", None)
    if tp in (dict, list) or origin in (dict, list) or (isinstance(tp, type) and (is_object_class(tp) or is_pydantic_model(tp))):
        return "application/json"
    return None


def _is_contents(v: Any) -> bool:
    if isinstance(v, (TextResourceContents, BlobResourceContents, ReadResourceContents)):
        return True
    return (
        isinstance(v, dict)
        and "uri" in v
        and ("text" in v or "blob" in v)
        and set(v) <= {"uri", "mimeType", "text", "blob", "_meta"}
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _one(value: Any, uri: str, mime: str | None) -> dict[str, Any]:
    if isinstance(value, (TextResourceContents, BlobResourceContents)):
        out = value.to_dict()
        out["uri"] = out.get("uri") or uri
        if mime and "mimeType" not in out:
            out["mimeType"] = mime
        return out
    if isinstance(value, dict) and _is_contents(value):
        return dict(value)
    if isinstance(value, ReadResourceContents):
        return _one(value.content, uri, value.mime_type or mime)
    if isinstance(value, str):
        return {"uri": uri, "mimeType": mime or "text/plain", "text": value}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"uri": uri, "mimeType": mime or "application/octet-stream", "blob": _b64(bytes(value))}
    if isinstance(value, (Image, Audio)):
        return {"uri": uri, "mimeType": mime or value.mime_type, "blob": value._b64()}
    if isinstance(value, File):
        out = value.to_resource_contents(mime).to_dict()
        out["uri"] = uri
        return out
    return {"uri": uri, "mimeType": mime or "application/json", "text": json_text(value)}


def contents_from_value(value: Any, uri: str, mime: str | None) -> list[dict[str, Any]]:
    """The `contents` array of a ReadResourceResult for a function's return value."""
    if isinstance(value, (list, tuple)) and value and all(_is_contents(v) for v in value):
        return [_one(v, uri, mime) for v in value]
    return [_one(value, uri, mime)]


def read_result(value: Any, uri: str, mime: str | None) -> dict[str, Any]:
    """The ReadResourceResult for a resource's value."""
    return {"contents": contents_from_value(value, uri, mime)}


def _error(uri: str, e: BaseException) -> dict[str, Any]:
    if isinstance(e, McpError):
        return {"__error__": e.error}
    return {"__error__": {"code": INTERNAL_ERROR, "message": f"Error reading resource {uri}: {e}", "data": {"uri": uri}}}


def call_resource_fn(
    info: FunctionInfo, params: dict[str, Any], uri: str, mime: str | None, context: Context
) -> Any:
    """Runs a resource function: a ReadResourceResult dict, an `__error__` dict, or an awaitable
    of one of those. Never raises Exception."""
    try:
        args, kwargs = bind(info, params, context, lax=True)
        result = call_in(context, info.fn, args, kwargs)
        if is_awaitable(result):
            done = partial(read_result, uri=uri, mime=mime)
            return await_in(context, result, done, partial(_error, uri))
        return read_result(result, uri, mime)
    except Exception as e:  # noqa: BLE001 - becomes a JSON-RPC error
        return _error(uri, e)


def _from_function(
    fn: Callable[..., Any], info: FunctionInfo, title: str | None, description: str | None,
    mime_type: str | None, icons: list[Any] | None, annotations: Any, meta: dict[str, Any] | None,
) -> dict[str, Any]:
    """The fields a resource and a template made from a function share: as FastMCP, the
    description defaults to the docstring and the MIME type to what the return annotation says."""
    return dict(
        name=info.name, title=title, description=description or info.description or None,
        mime_type=mime_type or _mime_from_annotation(info.return_annotation),
        icons=icons, annotations=annotations, meta=meta, fn=fn, info=info,
    )


def _listing(
    out: dict[str, Any], item: Resource | ResourceTemplate, size: int | None = None
) -> dict[str, Any]:
    """`out` with the optional fields of a listed resource or template (omitted when empty)."""
    for key, value in (
        ("title", item.title),
        ("description", item.description),
        ("mimeType", item.mime_type),
        ("size", size),
        ("icons", icons_wire(item.icons)),
        ("annotations", jsonable(dump(item.annotations))),
        ("_meta", jsonable(item.meta)),
    ):
        if value:
            out[key] = value
    return out


@dataclass
class Resource:
    """A resource with a fixed URI. Subclasses say how it is read."""

    uri: str
    name: str | None = None
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    icons: list[Any] | None = None
    annotations: Any = None
    meta: dict[str, Any] | None = None
    size: int | None = None

    def read(self, context: Context) -> Any:
        """ReadResourceResult dict, `__error__` dict, or an awaitable of one."""
        raise NotImplementedError

    def to_mcp(self) -> dict[str, Any]:
        return _listing({"uri": self.uri, "name": self.name or self.uri}, self, self.size)


@dataclass
class TextResource(Resource):
    """A resource whose content is a fixed text."""

    text: str = ""

    def read(self, context: Context) -> Any:
        return read_result(self.text, self.uri, self.mime_type)


@dataclass
class BinaryResource(Resource):
    """A resource whose content is fixed bytes (sent as base64)."""

    data: bytes = b""

    def read(self, context: Context) -> Any:
        return read_result(bytes(self.data), self.uri, self.mime_type)


@dataclass
class FileResource(Resource):
    """A resource read from a file on each resources/read."""

    path: str | Path = ""
    is_binary: bool = False

    def read(self, context: Context) -> Any:
        try:
            from pathlib import Path

            p = Path(self.path)
            value: Any = p.read_bytes() if self.is_binary else p.read_text(encoding="utf-8")
            return read_result(value, self.uri, self.mime_type)
        except Exception as e:  # noqa: BLE001
            return _error(self.uri, e)


@dataclass
class FunctionResource(Resource):
    """A resource whose content a function returns on each resources/read."""

    fn: Callable[..., Any] | None = None
    info: FunctionInfo | None = None

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        uri: str,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        icons: list[Any] | None = None,
        annotations: Any = None,
        meta: dict[str, Any] | None = None,
    ) -> FunctionResource:
        info = analyze(fn, name)
        required = [p.name for p in info.params if p.required]
        if required:
            raise ValueError(
                f"Mismatch between URI parameters set() and function parameters {set(required)}: "
                f"resource {uri!r} has no template variables, so {info.name} cannot take arguments"
            )
        fields = _from_function(fn, info, title, description, mime_type, icons, annotations, meta)
        return cls(uri=uri, **fields)

    def read(self, context: Context) -> Any:
        assert self.info is not None
        return call_resource_fn(self.info, {}, self.uri, self.mime_type, context)


@dataclass
class ResourceTemplate:
    """A URI template whose matches a function reads (resources/templates/list)."""

    uri_template: str
    name: str
    fn: Callable[..., Any]
    info: FunctionInfo
    template: UriTemplate
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    icons: list[Any] | None = None
    annotations: Any = None
    meta: dict[str, Any] | None = None
    tags: set[str] = field(default_factory=set)

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        uri_template: str,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        icons: list[Any] | None = None,
        annotations: Any = None,
        meta: dict[str, Any] | None = None,
    ) -> ResourceTemplate:
        template = UriTemplate(uri_template)
        info = analyze(fn, name)
        fparams = {p.name for p in info.params}
        uri_vars = set(template.path_vars) | set(template.query_vars)
        if not info.var_keyword and not uri_vars <= fparams:
            raise ValueError(
                f"Mismatch between URI parameters {uri_vars} and function parameters {fparams}: "
                f"{sorted(uri_vars - fparams)} not accepted by {info.name}"
            )
        required = {p.name for p in info.params if p.required}
        if not required <= set(template.path_vars):
            raise ValueError(
                f"Mismatch between URI parameters {uri_vars} and function parameters {fparams}: "
                f"required parameters {sorted(required - set(template.path_vars))} are not in the URI path"
            )
        return cls(
            uri_template=uri_template,
            template=template,
            **_from_function(fn, info, title, description, mime_type, icons, annotations, meta),
        )

    def matches(self, uri: str) -> dict[str, str] | None:
        return self.template.match(uri)

    def read(self, uri: str, params: dict[str, str], context: Context) -> Any:
        return call_resource_fn(self.info, params, uri, self.mime_type, context)

    def to_mcp(self) -> dict[str, Any]:
        return _listing({"uriTemplate": self.uri_template, "name": self.name}, self)
