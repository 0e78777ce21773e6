"""OpenAPI 3.1 for an App: the document `GET /openapi.json` serves and `/docs` renders.

Built from the same analysis that runs requests (app.analyze: which parameter is path, query,
header, cookie or body) and the same schema generator the MCP tools use (schema.SchemaBuilder:
JSON Schema 2020-12, which OpenAPI 3.1 uses as is, OAS 3.1 §4.8.24). The shapes follow what
FastAPI produces, so clients and tools that read FastAPI's documents read ours:

* operationId `{name}{path with non-word characters as _}_{method}` (FastAPI's
  generate_unique_id), summary from the handler name ("read_item" -> "Read Item") unless given,
  description from the docstring (text after a form feed is private, as in FastAPI);
* parameters with `title`, `required`, and their constraints (Query(ge=..), Path(..), ...) in
  `schema`; named types (dataclass, TypedDict, Enum) in components/schemas, referenced;
* a requestBody for body parameters (several, or Body(embed=True): one object keyed by name,
  FastAPI's `Body_<operationId>`), form fields as application/x-www-form-urlencoded;
* the success response under the route's status code with the response_model (or return
  annotation) schema, and a 422 with FastAPI's HTTPValidationError whenever the operation reads
  anything from the request (only then can validation fail).

Standard library only (it runs in every worker interpreter).
"""

from __future__ import annotations

import inspect
import re
from typing import TYPE_CHECKING, Any

from ..docstring import parse_docstring
from ..errors import InvalidSignature
from ..schema import MISSING, FieldInfo, SchemaBuilder, apply_field, unwrap_annotated
from .responses import HTMLResponse, PlainTextResponse, Response

if TYPE_CHECKING:
    from .app import App, Route, _Dependant, _Param

OPENAPI_VERSION = "3.1.0"

_REF_PREFIXES = ("#/$defs/", "#/definitions/")  # ours and pydantic's (v2, v1)
_COMPONENTS = "#/components/schemas/"

# FastAPI's validation error models (fastapi/openapi/utils.py), plus the `input` and `ctx`
# members our 422 bodies carry (app._err), which pydantic 2's errors have too.
_VALIDATION_ERROR = {
    "title": "ValidationError",
    "type": "object",
    "properties": {
        "loc": {"title": "Location", "type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"title": "Message", "type": "string"},
        "type": {"title": "Error Type", "type": "string"},
        "input": {"title": "Input"},
        "ctx": {"title": "Context", "type": "object"},
    },
    "required": ["loc", "msg", "type"],
}
_HTTP_VALIDATION_ERROR = {
    "title": "HTTPValidationError",
    "type": "object",
    "properties": {"detail": {"title": "Detail", "type": "array", "items": {"$ref": _COMPONENTS + "ValidationError"}}},
}

_PARAM_IN = ("path", "query", "header", "cookie")

# "{name}" or "{name:converter}": OpenAPI path templates have no converters (OAS 3.1 §4.8.8.1).
_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z_]+)?\}")


def _title(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").title()


def path_template(path: str) -> str:
    return _PARAM_RE.sub(lambda m: "{" + m.group(1) + "}", path)


def _meta(route: Route) -> dict[str, Any]:
    return getattr(route, "doc", None) or {}


def operation_id(route: Route, method: str) -> str:
    given = _meta(route).get("operation_id")
    if given:
        return str(given)
    return re.sub(r"\W", "_", f"{route.name}{path_template(route.path)}") + "_" + method.lower()


def _rewrite_refs(node: Any) -> Any:
    """The builder's `#/$defs/X` (and pydantic's `#/definitions/X`) as `#/components/schemas/X`:
    one document, one table of named schemas."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                for p in _REF_PREFIXES:
                    if v.startswith(p):
                        v = _COMPONENTS + v[len(p) :]
                        break
                out[k] = v
            else:
                out[k] = _rewrite_refs(v)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


class _Doc:
    """One document being built: the shared schema table and the operations."""

    def __init__(self) -> None:
        self.b = SchemaBuilder()
        self.extra: dict[str, Any] = {}  # components that are not types (Body_*, errors)

    def schema(self, tp: Any, where: str) -> dict[str, Any]:
        try:
            return _rewrite_refs(self.b.schema(tp))
        except InvalidSignature:
            return {}  # a type we cannot describe: documented as "anything", the route still runs
        except Exception as e:  # noqa: BLE001 - a broken annotation must not take /openapi.json down
            raise InvalidSignature(f"{where}: cannot describe {tp!r}: {e}") from e

    def param_schema(self, p: _Param, where: str) -> dict[str, Any]:
        s = dict(self.schema(p.tp if p.tp is not inspect.Parameter.empty else str, where))
        if p.info is not None:
            apply_field(s, p.info)
        if p.default is not MISSING and "default" not in s:  # `skip: int = Query(ge=0)` or `= 0`
            apply_field(s, FieldInfo(default=p.default))
        s.setdefault("title", _title(p.alias))
        return s


def _walk(dep: _Dependant, out: list[_Param]) -> list[_Param]:
    """Every request-reading parameter of a handler and its dependencies, in solve order."""
    for p in dep.params:
        if p.kind == "depends" and p.dep is not None:
            _walk(p.dep, out)
        elif p.kind in _PARAM_IN or p.kind in ("body", "form"):
            out.append(p)
    return out


def _media_type(route: Route) -> str:
    cls = route.response_class
    if cls is None:
        return "application/json"
    if isinstance(cls, type) and issubclass(cls, HTMLResponse):
        return "text/html"
    if isinstance(cls, type) and issubclass(cls, PlainTextResponse):
        return "text/plain"
    media = getattr(cls, "media_type", None)
    return str(media) if media else "application/json"


def _response_schema(doc: _Doc, route: Route, where: str) -> dict[str, Any] | None:
    """The success body's schema: response_model=, else the return annotation; None when the
    route declares no model (FastAPI then shows an empty schema)."""
    model = route.response_model
    if model is MISSING:
        from .app import _hints

        model = _hints(route.endpoint).get("return", MISSING)
    if model is MISSING or model is None or model is inspect.Parameter.empty:
        return None
    base, _ = unwrap_annotated(model)
    if isinstance(base, type) and issubclass(base, Response):
        return None
    return doc.schema(model, where)


def _operation(doc: _Doc, route: Route, method: str) -> dict[str, Any]:
    where = f"{method} {route.path} ({route.name})"
    op_id = operation_id(route, method)
    meta = _meta(route)
    described, param_docs = parse_docstring((inspect.getdoc(route.endpoint) or "").split("\f")[0])
    op: dict[str, Any] = {}
    if meta.get("tags"):
        op["tags"] = list(meta["tags"])
    op["summary"] = meta.get("summary") or _title(route.name)
    description = meta.get("description") if meta.get("description") is not None else described
    if description:
        op["description"] = description
    op["operationId"] = op_id

    params = _walk(route.dependant, [])
    seen: set[tuple[str, str]] = set()
    parameters: list[dict[str, Any]] = []
    bodies: list[_Param] = []
    forms: list[_Param] = []
    for p in params:
        if p.kind == "body":
            bodies.append(p)
            continue
        if p.kind == "form":
            forms.append(p)
            continue
        key = (p.kind, p.alias.lower() if p.kind == "header" else p.alias)
        if key in seen:
            continue  # a dependency and the handler reading the same value: one parameter
        seen.add(key)
        entry: dict[str, Any] = {"name": p.alias, "in": p.kind, "required": p.kind == "path" or p.required}
        schema = doc.param_schema(p, where)
        text = (p.info.description if p.info is not None else None) or param_docs.get(p.name)
        if text:
            entry["description"] = text
        entry["schema"] = schema
        if p.info is not None and p.info.examples:
            entry["examples"] = {str(i): {"value": v} for i, v in enumerate(p.info.examples)}
        parameters.append(entry)
    # A path parameter the handler does not read is still part of the path (OAS 3.1 §4.8.12.1:
    # every template expression needs its parameter): a required string.
    for name in sorted(set(_PARAM_RE.findall(route.path)) - {n for kind, n in seen if kind == "path"}):
        parameters.append({"name": name, "in": "path", "required": True, "schema": {"type": "string", "title": _title(name)}})
    if parameters:
        op["parameters"] = parameters

    if bodies or forms:
        op["requestBody"] = _request_body(doc, route, op_id, bodies, forms, where)

    responses: dict[str, Any] = {}
    status = str(route.status_code or 200)
    ok: dict[str, Any] = {"description": meta.get("response_description") or "Successful Response"}
    if not (status.startswith("1") or status in ("204", "304")):
        schema = _response_schema(doc, route, where)
        media = _media_type(route)
        if route.response_class is None and schema == {"type": "string"}:
            media = "text/plain"  # a str answer without a response class is text (app._render)
        ok["content"] = {media: {"schema": schema if schema is not None else {}}}
    responses[status] = ok
    if params:
        responses["422"] = {
            "description": "Validation Error",
            "content": {"application/json": {"schema": {"$ref": _COMPONENTS + "HTTPValidationError"}}},
        }
        doc.extra["ValidationError"] = _VALIDATION_ERROR
        doc.extra["HTTPValidationError"] = _HTTP_VALIDATION_ERROR
    for code, extra in (meta.get("responses") or {}).items():
        entry = dict(responses.get(str(code), {}))
        extra = dict(extra)
        model = extra.pop("model", None)
        entry.update(_rewrite_refs(extra))
        if model is not None:
            entry["content"] = {"application/json": {"schema": doc.schema(model, where)}}
        entry.setdefault("description", _status_phrase(code))
        responses[str(code)] = entry
    op["responses"] = responses
    if meta.get("deprecated"):
        op["deprecated"] = True
    return op


def _status_phrase(code: Any) -> str:
    import http

    try:
        return http.HTTPStatus(int(code)).phrase
    except (ValueError, TypeError):
        return "Additional Response"


def _request_body(doc: _Doc, route: Route, op_id: str, bodies: list[_Param], forms: list[_Param], where: str) -> dict[str, Any]:
    if forms:
        props = {p.alias: doc.param_schema(p, where) for p in forms}
        required = [p.alias for p in forms if p.required]
        name = "Body_" + op_id
        obj: dict[str, Any] = {"title": name, "type": "object", "properties": props}
        if required:
            obj["required"] = required
        doc.extra[name] = obj
        return {
            "content": {"application/x-www-form-urlencoded": {"schema": {"$ref": _COMPONENTS + name}}},
            "required": bool(required),
        }
    if len(bodies) == 1 and not bodies[0].embed:
        p = bodies[0]
        if p.tp is bytes:
            return {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}, "required": p.required}
        schema = doc.schema(p.tp, where)
        if p.info is not None:
            schema = dict(schema)
            apply_field(schema, p.info)
        return {"content": {"application/json": {"schema": schema}}, "required": p.required}
    name = "Body_" + op_id
    props = {}
    required = []
    for p in bodies:
        s = dict(doc.schema(p.tp, where))
        if p.info is not None:
            apply_field(s, p.info)
        if "$ref" not in s:
            s.setdefault("title", _title(p.alias))
        props[p.alias] = s
        if p.required:
            required.append(p.alias)
    obj = {"title": name, "type": "object", "properties": props}
    if required:
        obj["required"] = required
    doc.extra[name] = obj
    return {"content": {"application/json": {"schema": {"$ref": _COMPONENTS + name}}}, "required": bool(required)}


def get_openapi(
    app: App | None = None,
    *,
    title: str | None = None,
    version: str | None = None,
    openapi_version: str = OPENAPI_VERSION,
    summary: str | None = None,
    description: str | None = None,
    routes: list[Route] | None = None,
    tags: list[dict[str, Any]] | None = None,
    servers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of an App's routes (those with include_in_schema). The keywords
    are FastAPI's get_openapi(title=, version=, routes=, ...), so a custom `app.openapi` written
    for FastAPI ports by changing its import; each overrides what `app` says."""
    from .app import Route

    if app is None and (title is None or version is None or routes is None):
        raise TypeError("get_openapi needs an App, or title=, version= and routes=")
    title = title if title is not None else app.title  # type: ignore[union-attr]
    version = version if version is not None else app.version  # type: ignore[union-attr]
    summary = summary if summary is not None else getattr(app, "summary", None)
    description = description if description is not None else getattr(app, "description", "")
    routes = routes if routes is not None else app.routes  # type: ignore[union-attr]
    tags = tags if tags is not None else getattr(app, "openapi_tags", None)
    servers = servers if servers is not None else getattr(app, "servers", None)
    doc = _Doc()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route) or not _meta(route).get("include_in_schema", True):
            continue  # other kinds of routes (a WebSocket endpoint) are not HTTP operations
        item = paths.setdefault(path_template(route.path), {})
        for method in route.methods:
            item[method.lower()] = _operation(doc, route, method)
    info: dict[str, Any] = {"title": title}
    if summary:
        info["summary"] = summary
    if description:
        info["description"] = description
    info["version"] = version
    out: dict[str, Any] = {"openapi": openapi_version, "info": info}
    if servers:
        out["servers"] = list(servers)
    out["paths"] = paths
    schemas = {k: _rewrite_refs(v) for k, v in doc.b.defs.items()}
    schemas.update(doc.extra)
    if schemas:
        out["components"] = {"schemas": dict(sorted(schemas.items()))}
    if tags:
        out["tags"] = list(tags)
    return out


__all__ = ["get_openapi", "operation_id", "path_template", "OPENAPI_VERSION"]
