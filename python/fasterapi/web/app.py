"""`App` and `APIRouter` (FastAPI's spelling), the handler-parameter solver, and `WebHost`, which
runs the routes in one interpreter.

Under the host (`fasterapi run app.py --http ...`) the C HTTP core routes: the main interpreter
exports `App.route_table()` ([method, C path pattern] per route, in a fixed order) and C registers
each pattern; a matched request becomes a job for a worker, whose WebHost.handle(index, creq)
runs route #index. Every interpreter imports the same file, so the route order is the same in
all of them. `creq` is `_fasterapi.HttpRequest` (contract in _runtime.py), or TestClient's double.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import sys
import traceback
import typing
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Literal, get_args, get_origin

from ..binding import BindError, _check_field, convert
from ..schema import MISSING, FieldInfo, NoneType, as_field, is_typeddict, is_union, unwrap_annotated
from .exceptions import HTTPException, RequestValidationError, WebAppError
from .params import Depends, ParamInfo
from .request import Request, parse_cookies
from .responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, json_bytes
from .middleware import Capture
from .websockets import WebSocket, WebSocketDisconnect

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

# "{name}" or "{name:converter}" in a path (Starlette's converters: str, path, int, float, uuid).
_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?\}")
_CONVERTERS = {"str": "[^/]+", "path": ".*", "int": "[0-9]+", "float": "[0-9]+(?:\\.[0-9]+)?", "uuid": "[0-9a-fA-F-]{36}"}

_JSON_TYPE = "application/json"
_TEXT_TYPE = "text/plain; charset=utf-8"


# ---------------------------------------------------------------------------------------------
# Scalar conversion with FastAPI's (pydantic 2's) error types and messages


class _Invalid(Exception):
    def __init__(self, type_: str, msg: str, ctx: dict[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.type = type_
        self.msg = msg
        self.ctx = ctx


_TRUE = frozenset(("true", "1", "yes", "on", "y", "t"))
_FALSE = frozenset(("false", "0", "no", "off", "n", "f"))
_SCALARS = (str, int, float, bool, bytes)


def _expected(values: list[Any]) -> str:
    shown = [repr(v) if isinstance(v, str) else str(v) for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _is_scalar(tp: Any) -> bool:
    """Types read from a single string (path, query, header, cookie values)."""
    tp, _ = unwrap_annotated(tp)
    if tp is Any or tp is inspect.Parameter.empty or tp in _SCALARS:
        return True
    if get_origin(tp) is Literal:
        return True
    if is_union(tp):
        return all(a is NoneType or _is_scalar(a) for a in get_args(tp))
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            return True
        mod = getattr(tp, "__module__", "")
        return mod in ("uuid", "decimal", "datetime", "pathlib", "ipaddress")
    return False


def _list_item(tp: Any) -> Any:
    """X for list[X]/set[X]/tuple[X, ...]/Sequence[X] of a scalar X (repeated query keys), else
    None. Optional[list[X]] counts."""
    tp, _ = unwrap_annotated(tp)
    if is_union(tp):
        arms = [a for a in get_args(tp) if a is not NoneType]
        if len(arms) != 1:
            return None
        tp, _ = unwrap_annotated(arms[0])
    origin = get_origin(tp)
    if tp in (list, set, tuple, frozenset):
        return str
    if origin in (list, set, frozenset, tuple) or (origin is not None and getattr(origin, "__name__", "") == "Sequence"):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        item = args[0] if args else str
        return item if _is_scalar(item) else None
    return None


def _conv(raw: str, tp: Any) -> Any:
    """A path/query/header/cookie string converted to `tp`; _Invalid when it does not fit."""
    if tp is str or tp is Any or tp is inspect.Parameter.empty:
        return raw
    if tp is int:
        try:
            return int(raw.strip())
        except ValueError:
            raise _Invalid("int_parsing", "Input should be a valid integer, unable to parse string as an integer") from None
    if tp is float:
        try:
            return float(raw.strip())
        except ValueError:
            raise _Invalid("float_parsing", "Input should be a valid number, unable to parse string as a number") from None
    if tp is bool:
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise _Invalid("bool_parsing", "Input should be a valid boolean, unable to interpret input")
    if tp is bytes:
        return raw.encode("utf-8")
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _conv(raw, get_args(tp)[0])
    if origin is Literal:
        values = list(get_args(tp))
        for v in values:
            if isinstance(v, bool):
                if raw.strip().lower() == str(v).lower():
                    return v
            elif str(v) == raw:
                return v
        exp = _expected(values)
        raise _Invalid("literal_error", f"Input should be {exp}", {"expected": exp})
    if is_union(tp):
        arms = [a for a in get_args(tp) if a is not NoneType]
        first: _Invalid | None = None
        for a in arms:
            try:
                return _conv(raw, a)
            except _Invalid as e:
                first = first or e
        if first is not None:
            raise first
        return raw
    if isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            for m in tp:
                if str(m.value) == raw:
                    return m
            exp = _expected([m.value for m in tp])
            raise _Invalid("enum", f"Input should be {exp}", {"expected": exp})
        for base in (bool, int, float, str):
            if issubclass(tp, base):
                return tp(_conv(raw, base))  # type: ignore[call-arg]
        parse = getattr(tp, "fromisoformat", None)
        try:
            return parse(raw) if parse is not None else tp(raw)
        except (ValueError, TypeError) as e:
            raise _Invalid("value_error", f"Value error, {e}") from None
    return raw


def _constraints(value: Any, info: FieldInfo | None) -> None:
    """FieldInfo bounds checked with pydantic's error types."""
    if info is None:
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for attr, typ, word in (
            ("ge", "greater_than_equal", "greater than or equal to"),
            ("gt", "greater_than", "greater than"),
            ("le", "less_than_equal", "less than or equal to"),
            ("lt", "less_than", "less than"),
        ):
            bound = getattr(info, attr)
            if bound is None:
                continue
            ok = value >= bound if attr == "ge" else value > bound if attr == "gt" else value <= bound if attr == "le" else value < bound
            if not ok:
                raise _Invalid(typ, f"Input should be {word} {bound}", {attr: bound})
    if isinstance(value, (str, bytes, list, tuple, set)):
        noun = "String" if isinstance(value, str) else "List"
        unit = "character" if isinstance(value, str) else "item"
        if info.min_length is not None and len(value) < info.min_length:
            n = info.min_length
            raise _Invalid(f"{noun.lower()}_too_short", f"{noun} should have at least {n} {unit}{'s' if n != 1 else ''}", {"min_length": n})
        if info.max_length is not None and len(value) > info.max_length:
            n = info.max_length
            raise _Invalid(f"{noun.lower()}_too_long", f"{noun} should have at most {n} {unit}{'s' if n != 1 else ''}", {"max_length": n})
    if info.pattern is not None and isinstance(value, str) and re.search(info.pattern, value) is None:
        raise _Invalid("string_pattern_mismatch", f"String should match pattern '{info.pattern}'", {"pattern": info.pattern})


_WHERE_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[('.*?')\]")


def _bind_error(e: BindError, loc0: list[Any], value: Any) -> dict[str, Any]:
    """binding.py's "where: message" as a FastAPI error; `where` ("body.items[0].name") becomes
    the loc."""
    text = str(e)
    where, _, msg = text.partition(": ")
    loc = list(loc0)
    if where.startswith("body"):
        for name, index, key in _WHERE_RE.findall(where[4:]):
            loc.append(name or (int(index) if index else key.strip("'")))
    else:
        msg = text
    kind = "missing" if msg.startswith("missing required field") else "value_error"
    if kind == "missing":
        names = msg.split(" ", 3)[3] if msg.count(" ") >= 3 else ""
        return {"type": "missing", "loc": loc + [names.split(", ")[0]] if names else loc, "msg": "Field required", "input": value}
    return {"type": kind, "loc": loc, "msg": msg[:1].upper() + msg[1:], "input": value}


# ---------------------------------------------------------------------------------------------
# Handler analysis


@dataclass
class _Param:
    name: str
    kind: str  # path query header cookie body request response depends
    alias: str
    tp: Any = str
    info: FieldInfo | None = None
    default: Any = MISSING
    factory: Callable[[], Any] | None = None
    item: Any = None  # list item type: repeated query keys / headers
    dep: "_Dependant | None" = None
    embed: bool = False
    hidden: bool = False  # a route/router-level dependency: run, but not passed to the handler
    # A body parameter's converter for the common case (_fast_object), or None: made once per
    # route so a request does not walk binding.convert's type analysis for a flat dataclass.
    fast: Callable[[Any], Any] | None = None

    @property
    def required(self) -> bool:
        return self.default is MISSING and self.factory is None

    def default_value(self) -> Any:
        return self.factory() if self.factory is not None else self.default


@dataclass
class _Dependant:
    call: Callable[..., Any]
    params: list[_Param] = field(default_factory=list)
    is_coroutine: bool = False
    is_gen: bool = False
    is_agen: bool = False
    use_cache: bool = True
    needs_async: bool = False  # this or a dependency must be awaited


def _hints(fn: Any) -> dict[str, Any]:
    target = fn
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(fn, "__call__", fn)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolved forward refs: fall back to raw annotations
        return dict(getattr(target, "__annotations__", {}) or {})


def _is_coroutine_fn(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


def analyze(call: Callable[..., Any], path_names: frozenset[str], where: str, use_cache: bool = True) -> _Dependant:
    """How each parameter of `call` is read from a request (FastAPI's rules): a name in the path
    is a path parameter; Request/Response annotations get the request/response; Depends(...)
    runs a dependency; a scalar (str, int, float, bool, Enum, Literal, Optional of them) or a
    list of scalars is a query parameter; anything else (dataclass, TypedDict, dict, list of
    objects) is the JSON body. Markers (Query(), Header(), Body(), ...) override the guess."""
    dep = _Dependant(call=call, use_cache=use_cache)
    dep.is_coroutine = _is_coroutine_fn(call)
    dep.is_gen = inspect.isgeneratorfunction(call)
    dep.is_agen = inspect.isasyncgenfunction(call)
    try:
        sig = inspect.signature(call)
    except (TypeError, ValueError) as e:
        raise WebAppError(f"{where}: cannot read the signature of {call!r}: {e}") from None
    hints = _hints(call)
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ann = hints.get(p.name, p.annotation)
        base, meta = unwrap_annotated(ann)
        marker: Any = None
        for m in meta:
            if isinstance(m, (ParamInfo, Depends)):
                marker = m
            elif marker is None and as_field(m) is not None:
                marker = as_field(m)
        default = p.default
        if isinstance(default, (ParamInfo, Depends)):
            marker, default = default, MISSING
        elif as_field(default) is not None and not isinstance(default, type):
            marker, default = as_field(default), MISSING
        if default is inspect.Parameter.empty:
            default = MISSING
        if isinstance(marker, Depends):
            sub = marker.dependency if marker.dependency is not None else base
            d = analyze(sub, path_names, where, marker.use_cache)
            dep.params.append(_Param(p.name, "depends", p.name, base, dep=d))
            continue
        info = marker if isinstance(marker, FieldInfo) else None
        factory = None
        if info is not None and info.has_default() and default is MISSING:
            default, factory = info.default, info.default_factory
        if isinstance(base, type) and issubclass(base, WebSocket):
            dep.params.append(_Param(p.name, "websocket", p.name, base))
            continue
        if isinstance(base, type) and issubclass(base, Request):
            dep.params.append(_Param(p.name, "request", p.name, base))
            continue
        if isinstance(base, type) and issubclass(base, Response):
            dep.params.append(_Param(p.name, "response", p.name, base))
            continue
        kind = info.kind if isinstance(info, ParamInfo) else None
        if kind is None:
            if p.name in path_names:
                kind = "path"
            elif _is_scalar(base) or _list_item(base) is not None:
                kind = "query"
            else:
                kind = "body"
        alias = info.alias if isinstance(info, ParamInfo) and info.alias else p.name
        if kind == "header" and not (isinstance(info, ParamInfo) and info.alias) and (not isinstance(info, ParamInfo) or info.convert_underscores):
            alias = p.name.replace("_", "-")
        if kind == "path" and alias not in path_names:
            raise WebAppError(f"{where}: Path parameter {alias!r} is not in the path")
        item = _list_item(base) if kind in ("query", "header", "form") else None
        if kind == "path":
            default, factory = MISSING, None  # a path parameter is always there
        embed = isinstance(info, ParamInfo) and info.embed
        dep.params.append(_Param(p.name, kind, alias, base, info, default, factory, item, embed=embed))
    dep.needs_async = dep.is_coroutine or dep.is_agen or any(q.dep is not None and q.dep.needs_async for q in dep.params)
    return dep


def _body_params(dep: _Dependant, out: list[_Param]) -> list[_Param]:
    for p in dep.params:
        if p.kind == "body":
            out.append(p)
        elif p.dep is not None:
            _body_params(p.dep, out)
    return out


# ---------------------------------------------------------------------------------------------
# response_model: the answer keeps only the model's fields


def _model_filter(model: Any) -> Callable[[Any], Any] | None:
    """A function that cuts a handler's result down to `model`'s fields (a dataclass or
    TypedDict, or a list of one: FastAPI's response_model filtering, which keeps a password out
    of a user answer), or None when the model filters nothing."""
    model, _ = unwrap_annotated(model)
    if is_union(model):
        arms = [a for a in get_args(model) if a is not NoneType]
        if len(arms) != 1:
            return None
        model = arms[0]
    if get_origin(model) in (list, tuple, set, frozenset):
        args = get_args(model)
        inner = _model_filter(args[0]) if args else None
        if inner is None:
            return None
        return lambda v: [inner(x) for x in v] if isinstance(v, (list, tuple, set, frozenset)) else v
    import dataclasses

    if dataclasses.is_dataclass(model) and isinstance(model, type):
        fields = [f.name for f in dataclasses.fields(model)]
    elif is_typeddict(model):
        fields = list(typing.get_type_hints(model))
    else:
        return None

    def cut(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            if type(value) is model:
                return value
            value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        elif not isinstance(value, dict) and hasattr(value, "__dict__"):
            value = vars(value)
        if isinstance(value, dict):
            return {k: value[k] for k in fields if k in value}
        return value

    return cut


_SLOW = object()  # _fast_object's "not the common case": binding.convert decides
_FLAT = (str, int, float, bool)


def _fast_object(tp: Any) -> Callable[[Any], Any] | None:
    """For a dataclass whose init fields are all str, int, float or bool (the usual request body:
    `Event(userId: str, value: float)`), a function from the parsed JSON to the instance that
    handles only what needs no decision: a dict whose fields have exactly their JSON types (an int
    for a float field becomes a float, as binding.convert does). Anything else (a missing or
    mistyped field, a non-dict) returns _SLOW and binding.convert runs as before, so errors and
    edge cases stay its own. None when `tp` is not such a dataclass."""
    import dataclasses

    from ..schema import object_fields

    if not (isinstance(tp, type) and dataclasses.is_dataclass(tp)) or hasattr(tp, "model_validate"):
        return None
    try:
        fields = [f for f in object_fields(tp) if f.init]
    except Exception:  # noqa: BLE001 - unresolved hints: binding.convert reports them per request
        return None
    if any(f.type not in _FLAT for f in fields):
        return None
    plan = tuple((f.name, f.type, f.required) for f in fields)

    def fast(data: Any) -> Any:
        if type(data) is not dict:
            return _SLOW
        kw = {}
        for name, ftp, required in plan:
            v = data.get(name, _SLOW)
            t = type(v)
            if t is ftp:
                kw[name] = v
            elif ftp is float and t is int:
                kw[name] = float(v)
            elif v is _SLOW and not required:
                continue
            else:
                return _SLOW
        return tp(**kw)

    return fast


# ---------------------------------------------------------------------------------------------
# Routes


class Route:
    """One path + methods + endpoint."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: list[str],
        status_code: int | None = None,
        dependencies: list[Depends] | None = None,
        response_class: type[Response] | None = None,
        name: str | None = None,
        response_model: Any = MISSING,
        doc: dict[str, Any] | None = None,
    ) -> None:
        if not path.startswith("/"):
            raise WebAppError(f"route path {path!r} must start with '/'")
        self.path = path
        self.endpoint = endpoint
        self.methods = [m.upper() for m in methods]
        for m in self.methods:
            if m not in HTTP_METHODS:
                raise WebAppError(f"{path}: unknown HTTP method {m!r}")
        self.status_code = status_code
        self.dependencies = list(dependencies or [])
        self.response_class = response_class
        self.response_model = response_model
        # OpenAPI-only settings (openapi.py): tags, summary, description, deprecated,
        # include_in_schema, responses, operation_id, response_description.
        self.doc: dict[str, Any] = dict(doc or {})
        if response_model is MISSING:  # FastAPI: the return annotation is the response model
            response_model = _hints(endpoint).get("return", None)
        self.filter = _model_filter(response_model)
        self.name = name or getattr(endpoint, "__name__", "endpoint")
        self.param_names = frozenset(n for n, _ in _PARAM_RE.findall(path))
        # The C router knows {name} and {name:path}; other converters only narrow the match.
        self.c_path = _PARAM_RE.sub(lambda m: "{%s:path}" % m.group(1) if m.group(2) == "path" else "{%s}" % m.group(1), path)
        pattern = "^"
        pos = 0
        for m in _PARAM_RE.finditer(path):
            pattern += re.escape(path[pos : m.start()])
            conv = m.group(2) or "str"
            if conv not in _CONVERTERS:
                raise WebAppError(f"{path}: unknown path converter {conv!r}")
            pattern += f"(?P<{m.group(1)}>{_CONVERTERS[conv]})"
            pos = m.end()
        self.regex = re.compile(pattern + re.escape(path[pos:]) + "$")
        self._dependant: _Dependant | None = None
        self._bodies: list[_Param] = []
        self.dependant  # analysed now: a bad signature fails at import, not on the first request

    @property
    def dependant(self) -> _Dependant:
        if self._dependant is None:
            where = f"{'/'.join(self.methods)} {self.path} ({self.name})"
            d = analyze(self.endpoint, self.param_names, where)
            for extra in reversed(self.dependencies):
                sub = analyze(extra.dependency, self.param_names, where, extra.use_cache)  # type: ignore[arg-type]
                d.params.insert(0, _Param("", "depends", "", Any, dep=sub, hidden=True))
            d.needs_async = d.is_coroutine or d.is_agen or any(q.dep is not None and q.dep.needs_async for q in d.params)
            self._bodies = _body_params(d, [])
            for b in self._bodies:
                if b.tp is not bytes:
                    b.fast = _fast_object(b.tp)
            self._dependant = d
        return self._dependant

    def __repr__(self) -> str:
        return f"Route({self.path!r}, methods={self.methods}, endpoint={self.name})"


class WebSocketRoute(Route):
    """A WebSocket route: `path` + an `async def` endpoint taking a WebSocket. The C core does
    the handshake, offering `subprotocols` (the first of the client's list that is here wins) and
    closing with 1009 a message larger than `max_message` bytes (None: the core's 16 MiB)."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        name: str | None = None,
        dependencies: list[Depends] | None = None,
        subprotocols: list[str] | None = None,
        max_message: int | None = None,
    ) -> None:
        super().__init__(path, endpoint, ["GET"], None, dependencies, None, name, None)
        self.methods = []
        self.subprotocols = list(subprotocols or [])
        for sp in self.subprotocols:
            if not isinstance(sp, str) or not sp or any(c in sp for c in ' ,;"\t'):
                raise WebAppError(f"{path}: {sp!r} is not a subprotocol token (RFC 6455 §4.1)")
        if max_message is not None and (not isinstance(max_message, int) or max_message < 1):
            raise WebAppError(f"{path}: max_message must be a positive int")
        self.max_message = max_message
        if not _is_coroutine_fn(endpoint):
            raise WebAppError(f"{path}: a WebSocket endpoint must be an `async def`")

    def __repr__(self) -> str:
        return f"WebSocketRoute({self.path!r}, endpoint={self.name})"


class APIRouter:
    """A group of routes under a prefix, included into an App (or another router) with
    `include_router`."""

    def __init__(self, prefix: str = "", dependencies: list[Depends] | None = None, tags: list[str] | None = None, **_ignored: Any) -> None:
        if prefix:
            if not prefix.startswith("/") or prefix.endswith("/"):
                raise WebAppError(f"a router prefix must start with '/' and not end with '/': {prefix!r}")
            self.prefix = prefix
        if dependencies:
            self.dependencies = list(dependencies)
        if tags:
            self.tags = list(tags)

    # Defaults: an App or router is made with few of its settings, so those left alone are class
    # attributes, and the lists and dicts are made on first use (__getattr__), not per object
    # (bench/objects: App()).
    prefix = ""
    routes: list[Route]
    ws_routes: list[WebSocketRoute]
    dependencies: list[Depends]
    tags: list[str]
    _LAZY: dict[str, Callable[[], Any]] = {"routes": list, "ws_routes": list, "dependencies": list, "tags": list}

    def __getattr__(self, name: str) -> Any:
        """Only for attributes not set yet: makes a lazy default (an empty list, dict, ...)."""
        make = type(self)._LAZY.get(name)
        if make is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}", name=name, obj=self)
        value = make()
        setattr(self, name, value)
        return value

    def add_api_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: list[str] | None = None,
        status_code: int | None = None,
        dependencies: list[Depends] | None = None,
        response_class: type[Response] | None = None,
        name: str | None = None,
        response_model: Any = MISSING,
        **doc: Any,
    ) -> Route:
        doc["tags"] = _merge_tags(self.tags, doc.get("tags"))
        route = Route(
            self.prefix + path,
            endpoint,
            methods or ["GET"],
            status_code,
            self.dependencies + list(dependencies or []),
            response_class,
            name,
            response_model,
            doc,
        )
        self.routes.append(route)
        return route

    def api_route(self, path: str, methods: list[str] | None = None, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add_api_route(path, fn, methods=methods, **kw)
            return fn

        return deco

    route = api_route

    def add_api_websocket_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        name: str | None = None,
        dependencies: list[Depends] | None = None,
        subprotocols: list[str] | None = None,
        max_message: int | None = None,
    ) -> WebSocketRoute:
        route = WebSocketRoute(self.prefix + path, endpoint, name, self.dependencies + list(dependencies or []), subprotocols, max_message)
        self.ws_routes.append(route)
        return route

    add_websocket_route = add_api_websocket_route

    def websocket(self, path: str, name: str | None = None, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`@app.websocket("/ws")` on an `async def handler(ws: WebSocket, ...)`; path, query and
        header parameters are converted as for HTTP routes (invalid ones close with 1008)."""

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add_api_websocket_route(path, fn, name, **kw)
            return fn

        return deco

    api_websocket_route = websocket

    def get(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, ["GET"], **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, ["POST"], **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, ["PUT"], **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, ["PATCH"], **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, ["DELETE"], **kw)

    def head(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, ["HEAD"], **kw)

    def options(self, path: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.api_route(path, ["OPTIONS"], **kw)

    def include_router(
        self,
        router: "APIRouter",
        prefix: str = "",
        dependencies: list[Depends] | None = None,
        tags: list[str] | None = None,
        include_in_schema: bool = True,
        deprecated: bool | None = None,
        responses: dict[Any, Any] | None = None,
        **_ignored: Any,
    ) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise WebAppError(f"an include prefix must start with '/' and not end with '/': {prefix!r}")
        for r in router.routes:
            doc = dict(r.doc)
            doc["tags"] = _merge_tags(self.tags, tags, r.doc.get("tags"))
            if not include_in_schema:
                doc["include_in_schema"] = False
            if deprecated is not None and "deprecated" not in r.doc:
                doc["deprecated"] = deprecated
            if responses:
                doc["responses"] = {**responses, **(r.doc.get("responses") or {})}
            self.routes.append(
                Route(
                    self.prefix + prefix + r.path,
                    r.endpoint,
                    r.methods,
                    r.status_code,
                    self.dependencies + list(dependencies or []) + r.dependencies,
                    r.response_class,
                    r.name,
                    r.response_model,
                    doc,
                )
            )
        for w in router.ws_routes:
            self.ws_routes.append(
                WebSocketRoute(self.prefix + prefix + w.path, w.endpoint, w.name, self.dependencies + list(dependencies or []) + w.dependencies, w.subprotocols, w.max_message)
            )


def _merge_tags(*groups: list[str] | None) -> list[str]:
    """Router tags, then include tags, then the route's own, each once (FastAPI's order)."""
    out: list[str] = []
    for g in groups:
        for t in g or ():
            if t not in out:
                out.append(t)
    return out


# App()'s keyword defaults, in the order App.__init__ compares them.
_APP_DEFAULTS = ("FasterAPI", "0.1.0", False, None, None, None, "", None, "/openapi.json", "/docs", None, None)


class App(APIRouter):
    """A web application: routes, routers, and start-up/shutdown hooks that run in every worker.

        app = App()

        @app.get("/items/{item_id}")
        def read_item(item_id: int, q: str | None = None):
            return {"item_id": item_id, "q": q}

    Serve with `fasterapi run app.py --http 127.0.0.1:8000`."""

    def __init__(
        self,
        *,
        title: str = "FasterAPI",
        version: str = "0.1.0",
        debug: bool = False,
        dependencies: list[Depends] | None = None,
        lifespan: Callable[["App"], Any] | None = None,
        on_startup: list[Callable[[], Any]] | None = None,
        on_shutdown: list[Callable[[], Any]] | None = None,
        description: str = "",
        summary: str | None = None,
        openapi_url: str | None = "/openapi.json",
        docs_url: str | None = "/docs",
        openapi_tags: list[dict[str, Any]] | None = None,
        servers: list[dict[str, Any]] | None = None,
        **_ignored: Any,
    ) -> None:
        if dependencies:
            self.dependencies = list(dependencies)
        if _ignored.get("middleware"):
            for m in reversed(list(_ignored["middleware"])):  # the first listed is the outermost
                cls, args, kwargs = m
                self.add_middleware(cls, *args, **kwargs)
        # Only what differs from the class defaults below is stored (one tuple comparison when
        # nothing is given).
        given = (title, version, debug, lifespan, on_startup, on_shutdown, description, summary, openapi_url, docs_url, openapi_tags, servers)
        if given != _APP_DEFAULTS:
            self.title = title
            self.version = version
            # OpenAPI (openapi.py): None for openapi_url serves neither the document nor /docs.
            self.description = description
            self.summary = summary
            self.openapi_url = openapi_url
            self.docs_url = docs_url
            self.openapi_tags = openapi_tags
            self.servers = servers
            self.debug = debug
            self.lifespan = lifespan
            if on_startup:
                self.on_startup = list(on_startup)
            if on_shutdown:
                self.on_shutdown = list(on_shutdown)

    title = "FasterAPI"
    version = "0.1.0"
    description = ""
    summary: str | None = None
    openapi_url: str | None = "/openapi.json"
    docs_url: str | None = "/docs"
    openapi_tags: list[dict[str, Any]] | None = None
    servers: list[dict[str, Any]] | None = None
    openapi_schema: dict[str, Any] | None = None
    _openapi_body: bytes | None = None
    _doc_routes: list[Route] | None = None
    debug = False
    lifespan: Callable[["App"], Any] | None = None
    on_startup: list[Callable[[], Any]]
    on_shutdown: list[Callable[[], Any]]
    # Attributes of the app (app.state.x = ...); a SimpleNamespace, not a class made per App().
    state: SimpleNamespace
    # exception class or HTTP status -> handler(request, exc) returning a Response (or an
    # awaitable of one), as FastAPI's @app.exception_handler.
    exception_handlers: dict[Any, Callable[[Request, Exception], Any]]
    # Middleware (middleware.py), outermost first: [(cls, args, kwargs)]. Empty: no middleware
    # code runs at all (WebHost.handle stays the plain path).
    user_middleware: list[tuple[Any, tuple[Any, ...], dict[str, Any]]]
    _options_rows: dict[str, Route] | None = None
    _LAZY = {
        **APIRouter._LAZY, "on_startup": list, "on_shutdown": list, "state": SimpleNamespace, "exception_handlers": dict,
        "user_middleware": list,
    }

    def middleware(self, kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`@app.middleware("http")` on `async def mw(request, call_next)`: the last added runs
        outermost (FastAPI's order)."""
        if kind != "http":
            raise WebAppError(f"middleware kind {kind!r}: only 'http' is supported")

        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            from .middleware import BaseHTTPMiddleware

            self.add_middleware(BaseHTTPMiddleware, dispatch=fn)
            return fn

        return deco

    def add_middleware(self, cls: Any, *args: Any, **kwargs: Any) -> None:
        """`app.add_middleware(CORSMiddleware, allow_origins=[...])`: the last added runs
        outermost. Checked now (a class that cannot run here fails at import)."""
        from .middleware import make

        make(cls, args, kwargs)
        self.user_middleware.insert(0, (cls, args, kwargs))

    def exception_handler(self, key: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add_exception_handler(key, fn)
            return fn

        return deco

    def add_exception_handler(self, key: Any, handler: Callable[..., Any]) -> None:
        if not (isinstance(key, int) or (isinstance(key, type) and issubclass(key, BaseException))):
            raise WebAppError(f"an exception handler is keyed by an exception class or an HTTP status, not {key!r}")
        self.exception_handlers[key] = handler

    def on_event(self, kind: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
        if kind not in ("startup", "shutdown"):
            raise WebAppError(f"unknown event {kind!r} (startup or shutdown)")

        def deco(fn: Callable[[], Any]) -> Callable[[], Any]:
            (self.on_startup if kind == "startup" else self.on_shutdown).append(fn)
            return fn

        return deco

    def route_table(self) -> list[list[Any]]:
        """[[method, C path pattern, flags], ...] in route order, one row per (route, method):
        what the host registers on the C router. Row i runs route_rows()[i]."""
        return [[m, r.c_path, 0] for r, m in self.route_rows()]

    def route_rows(self) -> list[tuple[Route, str]]:
        rows = [(r, m) for r in self.routes + self.doc_routes() for m in r.methods]
        if self.user_middleware:
            rows += self._options_for(rows)
        return rows

    def _options_for(self, rows: list[tuple[Route, str]]) -> list[tuple[Route, str]]:
        """With middleware, OPTIONS of every route path that has no OPTIONS route: a row whose
        route answers 405 as the C core would, so that middleware (a CORS preflight) sees the
        request first, as in FastAPI. Same rows, same order, in every interpreter."""
        made = self._options_rows
        if made is None:
            made = self._options_rows = {}
        have = {r.c_path for r, m in rows if m == "OPTIONS"}
        allowed: dict[str, list[str]] = {}
        for r, m in rows:
            if r.c_path not in have:
                allowed.setdefault(r.c_path, []).append(m)
        out = []
        for c_path, methods in allowed.items():
            route = made.get(c_path)
            if route is None:
                route = made[c_path] = _options_route(c_path, ", ".join(sorted(set(methods + ["HEAD"] if "GET" in methods else methods))))
            out.append((route, "OPTIONS"))
        return out

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of the routes, built once (FastAPI's app.openapi(); assign
        app.openapi_schema or replace this method to change it)."""
        if self.openapi_schema is None:
            from .openapi import get_openapi

            self.openapi_schema = get_openapi(self)
        return self.openapi_schema

    def doc_routes(self) -> list[Route]:
        """GET openapi_url and docs_url, after the app's own routes (a route of the app at the
        same path wins), built at the first call: the same in every interpreter."""
        if self._doc_routes is None:
            taken = {r.path for r in self.routes if "GET" in r.methods}
            made: list[Route] = []
            url = self.openapi_url
            if url and url not in taken:
                made.append(Route(url, self._openapi_endpoint, ["GET"], name="openapi", doc={"include_in_schema": False}))
                if self.docs_url and self.docs_url not in taken:
                    made.append(Route(self.docs_url, self._docs_endpoint, ["GET"], name="swagger_ui_html", doc={"include_in_schema": False}))
            self._doc_routes = made
        return self._doc_routes

    def _openapi_endpoint(self) -> Response:
        if self._openapi_body is None:
            self._openapi_body = json_bytes(self.openapi())
        return Response(self._openapi_body, media_type=_JSON_TYPE)

    def _docs_endpoint(self) -> Response:
        from .docs import docs_html

        return HTMLResponse(docs_html(self.title, self.openapi_url or ""))

    def ws_table(self) -> list[list[Any]]:
        """The WebSocket rows the host appends to the route table, in ws_routes order: ["WS",
        C path pattern, flags, {"subprotocols", "max_message"}]."""
        return [["WS", w.c_path, 0, {"subprotocols": w.subprotocols, "max_message": w.max_message or 0}] for w in self.ws_routes]

    def run(self, host: str = "127.0.0.1", port: int = 8000, workers: int | None = None, **_ignored: Any) -> None:
        """`python app.py`: hands the file to `fasterapi run FILE --http HOST:PORT` (exec; the
        process becomes the server). Under the host (the file is being imported by it) this
        returns at once."""
        from .. import _runtime

        if _runtime.HOSTED:
            return
        import os
        import shutil

        main = sys.modules.get("__main__")
        path = getattr(main, "__file__", None)
        exe = os.environ.get("FASTERAPI") or shutil.which("fasterapi")
        if not path or not exe:
            raise RuntimeError("app.run() needs the `fasterapi` executable on PATH (or $FASTERAPI) and a script file")
        args = [exe, "run", os.path.abspath(path), "--http", f"{host}:{port}"]
        for name, value in vars(main).items():
            if value is self and name != "app":
                args += ["--app", name]
                break
        if workers:
            args += ["--workers", str(int(workers))]
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(exe, args)


# ---------------------------------------------------------------------------------------------
# Running a route


def _options_route(c_path: str, allow: str) -> Route:
    def options_not_allowed() -> None:
        raise HTTPException(405, "Method Not Allowed", headers={"Allow": allow})

    # The C pattern is a valid route path ({name} and {name:path} only).
    return Route(c_path, options_not_allowed, ["OPTIONS"], name="options_not_allowed", doc={"include_in_schema": False})


class _Ctx:
    """One request's state while its parameters are solved and its handler runs."""

    __slots__ = ("creq", "route", "_query", "_form", "_json", "_json_err", "_cookies", "cache", "exits", "request", "response", "websocket")

    def __init__(self, creq: Any, route: Route) -> None:
        self.creq = creq
        self.route = route
        self._query: Any = None
        self._form: Any = None
        self._json: Any = MISSING
        self._json_err: dict[str, Any] | None = None
        self._cookies: dict[str, str] | None = None
        self.cache: dict[Any, Any] = {}
        self.exits: list[Any] = []
        self.request: Request | None = None
        self.response: Response | None = None
        self.websocket: WebSocket | None = None

    def query(self) -> Any:
        if self._query is None:
            from .datastructures import QueryParams

            self._query = QueryParams(self.creq.query)
        return self._query

    def form(self) -> Any:
        """The application/x-www-form-urlencoded body's fields (HTML forms), parsed once."""
        if self._form is None:
            from .datastructures import QueryParams

            self._form = QueryParams(self.creq.body().decode("latin-1"))
        return self._form

    def get_request(self) -> Request:
        if self.request is None:
            self.request = Request(self.creq)
            if type(self.creq) is Capture:  # under middleware: request.state is shared with it
                self.request.state = self.creq.request.state
        return self.request

    def get_response(self) -> Response:
        if self.response is None:
            r = Response()
            r.status_code = None  # type: ignore[assignment] - "not set": the route's status wins
            self.response = r
        return self.response

    def body_json(self) -> Any:
        """The JSON body, parsed once; MISSING when the body is empty."""
        if self._json is MISSING and self._json_err is None:
            raw = self.creq.body()
            if not raw:
                return MISSING
            try:
                self._json = _loads(raw)
            except json.JSONDecodeError as e:
                self._json_err = {"type": "json_invalid", "loc": ["body", e.pos], "msg": "JSON decode error", "input": {}, "ctx": {"error": e.msg}}
            except (ValueError, RecursionError) as e:
                # Not text in any JSON encoding (UnicodeDecodeError), or nested past the
                # parser's depth: FastAPI answers these 400, not 422 (its request handler turns
                # every body error but a JSONDecodeError into this HTTPException).
                raise HTTPException(400, "There was an error parsing the body") from e
        return self._json


_scan = json.JSONDecoder().scan_once  # the C scanner json.loads ends in (its memo is per call)


def _loads(raw: bytes) -> Any:
    """json.loads(raw), without its Python layers for the usual body: an object or array in UTF-8
    (json.detect_encoding answers utf-8 when the first byte is `{` or `[` and the second is not
    NUL), with nothing after it. Everything else, errors included, goes to json.loads itself, so
    results and exceptions are json.loads' own."""
    if raw[:1] in (b"{", b"[") and raw[1:2] != b"\x00":
        try:
            text = raw.decode("utf-8")
            value, end = _scan(text, 0)
            if end == len(text):
                return value
        except Exception:  # noqa: BLE001 - json.loads below raises the real error
            pass
    return json.loads(raw)


def _missing(loc: str, name: str) -> dict[str, Any]:
    return {"type": "missing", "loc": [loc, name], "msg": "Field required", "input": None}


def _leaf(p: _Param, ctx: _Ctx, errors: list[dict[str, Any]]) -> Any:
    kind = p.kind
    creq = ctx.creq
    if p.item is not None:  # repeated query keys / headers / form fields
        if kind == "query":
            raws = ctx.query().getlist(p.alias)
        elif kind == "form":
            raws = ctx.form().getlist(p.alias)
        else:
            raws = [v for k, v in creq.headers() if k.lower() == p.alias.lower()]
        if not raws:
            if p.required:
                errors.append(_missing(kind, p.alias))
                return None
            return p.default_value()
        out = []
        for i, raw in enumerate(raws):
            try:
                out.append(_conv(raw, p.item))
            except _Invalid as e:
                errors.append(_err(e, [kind, p.alias, i], raw))
        try:
            _constraints(out, p.info)
        except _Invalid as e:
            errors.append(_err(e, [kind, p.alias], raws))
        return out
    if kind == "path":
        raw = creq.param(p.alias)
    elif kind == "query":
        q = ctx._query
        if q is None:
            q = ctx.query()
        raw = q.get(p.alias)
    elif kind == "header":
        raw = creq.header(p.alias)
    elif kind == "form":
        raw = ctx.form().get(p.alias)
    else:  # cookie
        if ctx._cookies is None:
            ctx._cookies = parse_cookies(creq.header("cookie"))
        raw = ctx._cookies.get(p.alias)
    if raw is None:
        if p.required:
            errors.append(_missing(kind, p.alias))
            return None
        return p.default_value()
    try:
        value = _conv(raw, p.tp)
        _constraints(value, p.info)
        return value
    except _Invalid as e:
        errors.append(_err(e, [kind, p.alias], raw))
        return None


def _err(e: _Invalid, loc: list[Any], raw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": e.type, "loc": loc, "msg": e.msg, "input": raw}
    if e.ctx:
        out["ctx"] = e.ctx
    return out


def _body(p: _Param, ctx: _Ctx, errors: list[dict[str, Any]]) -> Any:
    if p.tp is bytes:  # `data: bytes = Body()`: the raw body, whatever its type
        raw = ctx.creq.body()
        if not raw and p.required:
            errors.append({"type": "missing", "loc": ["body"], "msg": "Field required", "input": None})
            return None
        return raw if raw else p.default_value()
    data = ctx.body_json()
    if ctx._json_err is not None:
        if ctx._json_err not in errors:
            errors.append(ctx._json_err)
        return None
    embedded = len(ctx.route._bodies) > 1 or p.embed
    loc: list[Any] = ["body", p.alias] if embedded else ["body"]
    if data is not MISSING and embedded:
        if not isinstance(data, dict):
            errors.append({"type": "dict_type", "loc": ["body"], "msg": "Input should be a valid dictionary", "input": data})
            return None
        data = data.get(p.alias, MISSING)
    if data is MISSING:
        if p.required:
            errors.append({"type": "missing", "loc": loc, "msg": "Field required", "input": None})
            return None
        return p.default_value()
    try:
        value = _SLOW if p.fast is None else p.fast(data)
        if value is _SLOW:
            value = convert(data, p.tp, False, "body")
    except BindError as e:
        errors.append(_bind_error(e, loc, data))
        return None
    try:
        _constraints(value, p.info)
    except _Invalid as e:
        errors.append(_err(e, loc, data))
    return value


def _plain_arg(p: Any, ctx: _Ctx, errors: list[dict[str, Any]]) -> Any:
    """A parameter that is not a dependency: the body, the request/response/websocket objects, or
    a path/query/header/cookie value (the same for sync and async handlers)."""
    k = p.kind
    if k == "body":
        return _body(p, ctx, errors)
    if k == "request":
        return ctx.get_request()
    if k == "response":
        return ctx.get_response()
    if k == "websocket":
        return ctx.websocket
    return _leaf(p, ctx, errors)


def _solve(dep: _Dependant, ctx: _Ctx, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The keyword arguments for `dep.call` (sync dependencies only)."""
    kw: dict[str, Any] = {}
    for p in dep.params:
        if p.kind == "depends":
            value = _run_dep(p.dep, ctx, errors)  # type: ignore[arg-type]
            if not p.hidden:
                kw[p.name] = value
        else:
            kw[p.name] = _plain_arg(p, ctx, errors)
    return kw


def _run_dep(d: _Dependant, ctx: _Ctx, errors: list[dict[str, Any]]) -> Any:
    if d.use_cache and d.call in ctx.cache:
        return ctx.cache[d.call]
    kw = _solve(d, ctx, errors)
    if errors:
        return None  # not called with invalid arguments; the request is answered 422
    if d.is_gen:
        gen = d.call(**kw)
        value = next(gen)
        ctx.exits.append(gen)
    else:
        value = d.call(**kw)
    if d.use_cache:
        ctx.cache[d.call] = value
    return value


async def _solve_async(dep: _Dependant, ctx: _Ctx, errors: list[dict[str, Any]]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for p in dep.params:
        if p.kind == "depends":
            value = await _run_dep_async(p.dep, ctx, errors)  # type: ignore[arg-type]
            if not p.hidden:
                kw[p.name] = value
        else:
            kw[p.name] = _plain_arg(p, ctx, errors)
    return kw


async def _run_dep_async(d: _Dependant, ctx: _Ctx, errors: list[dict[str, Any]]) -> Any:
    if d.use_cache and d.call in ctx.cache:
        return ctx.cache[d.call]
    kw = await _solve_async(d, ctx, errors) if d.needs_async else _solve(d, ctx, errors)
    if errors:
        return None
    if d.is_agen:
        gen = d.call(**kw)
        value = await gen.__anext__()
        ctx.exits.append(gen)
    elif d.is_gen:
        gen = d.call(**kw)
        value = next(gen)
        ctx.exits.append(gen)
    else:
        value = d.call(**kw)
        if d.is_coroutine or inspect.isawaitable(value):
            value = await value
    if d.use_cache:
        ctx.cache[d.call] = value
    return value


def _finish_sync(ctx: _Ctx, exc: BaseException | None) -> BaseException | None:
    """Runs the generator dependencies' teardown, innermost first; an exception of the handler
    is thrown into them (so `except`/`finally` around the yield see it). Returns the exception
    still standing (a teardown may swallow or replace it)."""
    while ctx.exits:
        gen = ctx.exits.pop()
        if inspect.isasyncgen(gen):
            continue  # only in async routes, finished by _finish_async
        try:
            if exc is None:
                next(gen)
            else:
                gen.throw(exc)
        except StopIteration:
            exc = None if exc is not None else exc
        except BaseException as e:  # noqa: BLE001
            exc = e
    return exc


async def _finish_async(ctx: _Ctx, exc: BaseException | None) -> BaseException | None:
    while ctx.exits:
        gen = ctx.exits.pop()
        try:
            if inspect.isasyncgen(gen):
                if exc is None:
                    await gen.__anext__()
                else:
                    await gen.athrow(exc)
            elif exc is None:
                next(gen)
            else:
                gen.throw(exc)
        except (StopIteration, StopAsyncIteration):
            exc = None if exc is not None else exc
        except BaseException as e:  # noqa: BLE001
            exc = e
    return exc


Answer = tuple  # (status, content_type | None, [(name, value)] | None, bytes)


def _render(route: Route, ctx: _Ctx, result: Any) -> Answer:
    status = route.status_code or 200
    if route.filter is not None and not isinstance(result, Response):
        result = route.filter(result)
    if isinstance(result, Response):
        resp = result
    elif isinstance(result, str) and ctx.response is None and route.response_class in _TEXT_CLASSES:
        # The common text answers without a Response object (TechEmpower's /plaintext path).
        ctype = _TEXT_CLASSES[route.response_class]
        return (status, ctype, None, b"" if _no_body(status) else result.encode("utf-8"))
    elif route.response_class is not None:
        resp = route.response_class(result, status_code=status)
    elif isinstance(result, (dict, list)) and ctx.response is None:
        return (status, _JSON_TYPE, None, b"" if _no_body(status) else json_bytes(result))
    elif isinstance(result, str):
        resp = PlainTextResponse(result, status_code=status)
    elif isinstance(result, (bytes, bytearray, memoryview)):
        resp = Response(result, status_code=status, media_type="application/octet-stream")
    else:
        resp = JSONResponse(result, status_code=status)
    headers = resp.headers.raw() or None
    code = resp.status_code
    extra = ctx.response
    if extra is not None:
        if extra.status_code is not None and not isinstance(result, Response):
            code = extra.status_code
        more = extra.headers.raw()
        if more:
            headers = (headers or []) + more
    body = b"" if _no_body(code) else resp.body
    if hasattr(resp, "_fa_start"):
        body = resp  # streamed (streaming.py): WebHost._send starts it
    return (code, resp.content_type, headers, body)


def _plain_answer(result: Any) -> Answer:
    """An exception handler's result as an answer: a Response, or JSON."""
    resp = result if isinstance(result, Response) else JSONResponse(result)
    body = b"" if _no_body(resp.status_code) else resp.body
    return (resp.status_code, resp.content_type, resp.headers.raw() or None, body)


_TEXT_CLASSES: dict[Any, str] = {None: _TEXT_TYPE, PlainTextResponse: _TEXT_TYPE, HTMLResponse: "text/html; charset=utf-8"}


def _no_body(status: int) -> bool:
    return status < 200 or status in (204, 304)


def _error_answer(e: BaseException, route: Route | None, creq: Any, debug: bool) -> Answer:
    if isinstance(e, HTTPException):
        headers = list(e.headers.items()) if e.headers else None
        return (e.status_code, _JSON_TYPE, headers, b"" if _no_body(e.status_code) else json_bytes({"detail": e.detail}))
    if isinstance(e, RequestValidationError):
        return (422, _JSON_TYPE, None, json_bytes({"detail": e.errors()}))
    where = f"{creq.method} {creq.path}" + (f" ({route.name})" if route is not None else "")
    text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
    try:
        sys.stderr.write(f"fasterapi: error in {where}: {type(e).__name__}: {e}\n{text}")
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - logging must not take the answer down
        pass
    body = ("Internal Server Error\n" + text) if debug else "Internal Server Error"
    return (500, _TEXT_TYPE, None, body.encode("utf-8", "replace"))


def _plan(route: Route) -> tuple[list[tuple[_Param, Callable[..., Any]]], int] | None:
    """How WebHost.handle runs a plain route: ([(param, getter)], status of a dict answer sent as
    JSON directly, or 0), or None for the general path (dependencies, a Response parameter,
    async). A getter is _plain_arg, or _body_fast for the usual JSON body."""
    dep = route._dependant
    if dep is None or dep.needs_async or dep.is_gen or any(p.kind in ("depends", "response", "websocket") for p in dep.params):
        return None
    getters = []
    for p in dep.params:
        simple_body = p.kind == "body" and p.fast is not None and p.info is None and not p.embed and len(route._bodies) == 1
        getters.append((p, _body_fast if simple_body else _plain_arg))
    status = route.status_code or 200
    plain_json = route.filter is None and route.response_class is None and not _no_body(status)
    return getters, status if plain_json else 0


def _body_fast(p: _Param, ctx: _Ctx, errors: list[dict[str, Any]]) -> Any:
    """_body for a route's only body parameter, a flat dataclass (_fast_object) without
    constraints: a JSON object in UTF-8 decoded by the C scanner and converted in one pass;
    anything else (including every error) goes through _body."""
    raw = ctx.creq.body()
    if raw[:1] == b"{" and raw[1:2] != b"\x00":
        try:
            text = raw.decode("utf-8")
            data, end = _scan(text, 0)
            ok = end == len(text)
        except Exception:  # noqa: BLE001 - _body reports it
            ok = False
        if ok:
            ctx._json = data
            value = p.fast(data)  # type: ignore[misc]
            if value is not _SLOW:
                return value
    return _body(p, ctx, errors)


class WebHost:
    """Runs an App's routes in one interpreter: `handle(index, creq)` answers through
    `creq.respond(status, content_type, headers, body)` exactly once, now (plain routes) or from
    a task on this interpreter's asyncio loop (routes with `async def` handlers or
    dependencies)."""

    def __init__(self, app: App, debug: bool = False, timeout: float = 0.0) -> None:
        self.app = app
        self.debug = bool(debug)
        self.timeout = float(timeout)
        self.rows = [r for r, _ in app.route_rows()]
        self.ws_rows = list(app.ws_routes)
        self.loop: Any = None
        self.tasks: set[Any] = set()
        self._lifespan: Any = None  # the HeldLifespan while it is entered
        for r in self.rows + self.ws_rows:
            r.dependant  # noqa: B018 - analysed before the first request
        self._plans = [_plan(r) for r in self.rows]
        if app.user_middleware:
            from .middleware import make

            self._middleware = [make(cls, args, kwargs) for cls, args, kwargs in app.user_middleware]
            self.handle = self._handle_mw  # type: ignore[method-assign]

    # start-up / shutdown, on the worker's loop ---------------------------------------------------

    def start(self, loop: Any) -> None:
        """Runs the startup hooks and enters the lifespan, as a failing start-up: raises."""
        self.loop = loop
        for fn in self.app.on_startup:
            r = fn()
            if inspect.isawaitable(r):
                loop.run_until_complete(r)
        factory = self.app.lifespan
        if factory is None:
            return
        from .._lifespan import HeldLifespan

        held = HeldLifespan(factory, self.app)
        state = held.enter(loop)
        self._lifespan = held
        if isinstance(state, dict):
            for k, v in state.items():
                setattr(self.app.state, k, v)

    def stop(self, loop: Any) -> None:
        held, self._lifespan = self._lifespan, None
        if held is not None:
            try:
                held.leave(loop)
            except BaseException as e:  # noqa: BLE001
                sys.stderr.write(f"fasterapi: the App's lifespan raised at shutdown: {e!r}\n")
        for fn in self.app.on_shutdown:
            try:
                r = fn()
                if inspect.isawaitable(r):
                    loop.run_until_complete(r)
            except BaseException as e:  # noqa: BLE001
                sys.stderr.write(f"fasterapi: a shutdown hook raised: {e!r}\n")

    # requests -----------------------------------------------------------------------------------

    def _handler_for(self, e: BaseException) -> Callable[..., Any] | None:
        table = self.app.exception_handlers
        if not table:
            return None
        if isinstance(e, HTTPException) and e.status_code in table:
            return table[e.status_code]
        for cls in type(e).__mro__:
            if cls in table:
                return table[cls]
        return None

    def _custom_error(self, e: BaseException, route: Route, ctx: _Ctx) -> bool:
        """Answers through the app's exception handler for e, if it has one (True)."""
        fn = self._handler_for(e)
        if fn is None:
            return False
        try:
            result = fn(ctx.get_request(), e)
        except Exception as again:  # noqa: BLE001
            ctx.creq.respond(*_error_answer(again, route, ctx.creq, self.debug))
            return True
        if inspect.isawaitable(result):
            import asyncio

            async def finish() -> None:
                try:
                    ctx.creq.respond(*_plain_answer(await result))
                except asyncio.CancelledError:
                    ctx.creq.respond(504, _TEXT_TYPE, None, b"504 Gateway Timeout\n")
                    raise
                except Exception as again:  # noqa: BLE001
                    ctx.creq.respond(*_error_answer(again, route, ctx.creq, self.debug))

            self._track(finish())
            return True
        ctx.creq.respond(*_plain_answer(result))
        return True

    def handle(self, index: int, creq: Any) -> None:
        plan = self._plans[index]
        if plan is None:
            self._handle(self.rows[index], creq)
            return
        # A plain route (_plan): no dependencies, so no teardown and nothing cached to share;
        # the same steps as _handle with the branches it cannot take left out.
        getters, json_status = plan
        route = self.rows[index]
        ctx = _Ctx(creq, route)
        try:
            errors: list[dict[str, Any]] = []
            kw = {p.name: get(p, ctx, errors) for p, get in getters}
            if errors:
                raise RequestValidationError(errors)
            result = route.endpoint(**kw)
            if json_status and type(result) is dict:
                answer: Answer = (json_status, _JSON_TYPE, None, json_bytes(result))
            else:
                answer = _render(route, ctx, result)
        except Exception as e:  # noqa: BLE001
            if not self._custom_error(e, route, ctx):
                creq.respond(*_error_answer(e, route, creq, self.debug))
            return
        if type(answer[3]) is bytes:
            creq.respond(*answer)
        else:
            self._send(creq, answer)

    def _handle(self, route: Route, creq: Any) -> None:
        dep = route._dependant
        if dep.needs_async:  # type: ignore[union-attr]
            self._spawn(route, creq)
            return
        ctx = _Ctx(creq, route)
        try:
            errors: list[dict[str, Any]] = []
            kw = _solve(dep, ctx, errors)  # type: ignore[arg-type]
            if errors:
                raise RequestValidationError(errors)
            answer = _render(route, ctx, route.endpoint(**kw))
        except Exception as e:  # noqa: BLE001
            left: BaseException | None = _finish_sync(ctx, e) if ctx.exits else e
            if left is None:
                creq.respond(200, None, None, b"")
            elif not self._custom_error(left, route, ctx):
                creq.respond(*_error_answer(left, route, creq, self.debug))
            return
        self._send(creq, answer)
        if ctx.exits:
            left = _finish_sync(ctx, None)
            if left is not None:
                _error_answer(left, route, creq, self.debug)  # logged; the answer is gone

    def _send(self, creq: Any, answer: Answer) -> None:
        body = answer[3]
        if hasattr(body, "_fa_start"):
            if type(creq) is Capture:  # under middleware: started when the outermost answer is sent
                creq.respond(*answer)
                return
            try:
                body._fa_start(self, creq, answer)  # StreamingResponse, SSE (streaming.py, sse.py)
            except Exception as e:  # noqa: BLE001 - refused before the request was taken
                creq.respond(*_error_answer(e, None, creq, self.debug))
        else:
            creq.respond(*answer)

    # middleware (middleware.py) -------------------------------------------------------------

    def _handle_mw(self, index: int, creq: Any) -> None:
        self._track(self._run_mw(index, creq))

    async def _run_mw(self, index: int, creq: Any) -> None:
        import asyncio

        route = self.rows[index]
        loop = asyncio.get_running_loop()
        request = Request(creq)
        chain = self._middleware

        def call_at(depth: int) -> Callable[[Request], Any]:
            async def call_next(req: Request) -> Response:
                if depth < len(chain):
                    return await chain[depth](req, call_at(depth + 1))
                cap = Capture(creq, loop.create_future(), req)
                WebHost.handle(self, index, cap)  # the route as without middleware
                return await cap.future

            return call_next

        try:
            resp = await call_at(0)(request)
            if not isinstance(resp, Response):
                raise TypeError(f"a middleware returned {type(resp).__name__}, not a Response")
        except asyncio.CancelledError:
            creq.respond(504, _TEXT_TYPE, None, b"504 Gateway Timeout\n")
            raise
        except Exception as e:  # noqa: BLE001
            ctx = _Ctx(creq, route)
            ctx.request = request
            if not self._custom_error(e, route, ctx):
                creq.respond(*_error_answer(e, route, creq, self.debug))
            return
        body = resp if hasattr(resp, "_fa_start") else (b"" if _no_body(resp.status_code) else resp.body)
        self._send(creq, (resp.status_code, resp.content_type, resp.headers.raw() or None, body))

    def _spawn(self, route: Route, creq: Any) -> None:
        self._track(self._run(route, creq))

    def _track(self, coro: Any) -> None:
        """Runs coro as a task on this interpreter's loop, cancelled after the timeout."""
        import asyncio

        loop = self.loop
        if loop is None:
            loop = self.loop = asyncio.get_event_loop()
        task = loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        if self.timeout > 0:
            timer = loop.call_later(self.timeout, task.cancel)
            task.add_done_callback(lambda _t: timer.cancel())

    async def _run(self, route: Route, creq: Any) -> None:
        import asyncio

        ctx = _Ctx(creq, route)
        dep = route._dependant
        try:
            errors: list[dict[str, Any]] = []
            kw = await _solve_async(dep, ctx, errors)  # type: ignore[arg-type]
            if errors:
                raise RequestValidationError(errors)
            result = route.endpoint(**kw)
            if inspect.isawaitable(result):
                result = await result
            answer = _render(route, ctx, result)
        except asyncio.CancelledError:
            # The handler timeout (the C core has answered 504 already) or shutdown.
            creq.respond(504, _TEXT_TYPE, None, b"504 Gateway Timeout\n")
            await _finish_async(ctx, asyncio.CancelledError())
            raise
        except Exception as e:  # noqa: BLE001
            left = await _finish_async(ctx, e) if ctx.exits else e
            if left is None:
                creq.respond(200, None, None, b"")
            elif not self._custom_error(left, route, ctx):
                creq.respond(*_error_answer(left, route, creq, self.debug))
            return
        self._send(creq, answer)
        if ctx.exits:
            left = await _finish_async(ctx, None)
            if left is not None:
                _error_answer(left, route, creq, self.debug)


    # WebSockets ------------------------------------------------------------------------------

    def ws_open(self, index: int, conn: Any) -> WebSocket:
        """A connection of WebSocket route #index opened (the C core answered 101): starts its
        handler as a task on this loop and returns the WebSocket the host feeds events to."""
        import asyncio

        route = self.ws_rows[index]
        loop = self.loop
        if loop is None:
            loop = self.loop = asyncio.get_event_loop()
        ws = WebSocket(conn, loop)
        ws._route_protocols = route.subprotocols
        task = ws._task = loop.create_task(self._ws_run(route, ws))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return ws

    async def _ws_run(self, route: WebSocketRoute, ws: WebSocket) -> None:
        """Runs a WebSocket handler: returning closes with 1000, raising with 1011 (logged),
        invalid parameters with 1008 (FastAPI's WebSocketRequestValidationError)."""
        import asyncio

        ctx = _Ctx(ws._conn, route)
        ctx.websocket = ws
        exc: BaseException | None = None
        code, reason = 1000, ""
        try:
            errors: list[dict[str, Any]] = []
            kw = await _solve_async(route.dependant, ctx, errors)  # type: ignore[arg-type]
            if errors:
                sys.stderr.write(f"fasterapi: {ws._conn.path} ({route.name}): invalid WebSocket parameters: {errors}\n")
                code, reason = 1008, "invalid parameters"
            else:
                await route.endpoint(**kw)
        except WebSocketDisconnect:
            pass
        except asyncio.CancelledError:
            code, reason = 1001, "server shutting down"
            exc = asyncio.CancelledError()
            raise
        except Exception as e:  # noqa: BLE001
            exc = e
            text = "".join(traceback.format_exception(type(e), e, e.__traceback__))
            try:
                sys.stderr.write(f"fasterapi: error in WebSocket {ws._conn.path} ({route.name}): {type(e).__name__}: {e}\n{text}")
                sys.stderr.flush()
            except Exception:  # noqa: BLE001
                pass
            code, reason = 1011, "internal error"
        finally:
            try:
                ws._close(code, reason)
            except Exception:  # noqa: BLE001 - the connection is gone either way
                pass
            if ctx.exits:
                await _finish_async(ctx, exc)


def needs_request(route: Route) -> bool:
    """Whether the route's handler or a dependency takes the Request (it may read .client)."""

    def walk(d: _Dependant) -> bool:
        return any(p.kind == "request" or (p.dep is not None and walk(p.dep)) for p in d.params)

    return walk(route.dependant)


def find_app(module: Any, name: str | None = None) -> App | None:
    """The App of a module: `name` if given (LookupError when it is not an App), else `app`,
    else the only App instance; None when there is none."""
    if name:
        obj = getattr(module, name, None)
        if not isinstance(obj, App):
            raise LookupError(f"{getattr(module, '__file__', module)}: {name!r} is not an App (the --app name)")
        return obj
    obj = getattr(module, "app", None)
    if isinstance(obj, App):
        return obj
    found = {id(v): v for v in vars(module).values() if isinstance(v, App)}
    if len(found) == 1:
        return next(iter(found.values()))
    if len(found) > 1:
        raise LookupError("several App instances: choose one with --app NAME")
    return None
