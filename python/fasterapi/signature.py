"""What a registered function looks like: its parameters, Context parameter, docs and schema."""

from __future__ import annotations

import functools
import inspect
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

from .context import Context
from .docstring import parse_docstring
from .errors import InvalidSignature
from .schema import MISSING, FieldInfo, SchemaBuilder, apply_field, as_field, is_union, unwrap_annotated
from .schema import _set_default  # noqa: PLC2701 - shared helper


@dataclass
class Param:
    """One parameter of a user function, as the schema and the binder see it."""

    name: str
    annotation: Any  # as written (may be Annotated); inspect.Parameter.empty when absent
    default: Any  # MISSING when required
    kind: Any  # inspect.Parameter kind
    field: FieldInfo | None = None
    description: str | None = None

    @property
    def required(self) -> bool:
        return self.default is MISSING and (self.field is None or not self.field.has_default())

    def default_value(self) -> Any:
        if self.field is not None and self.field.has_default():
            return self.field.get_default()
        return self.default


@dataclass
class FunctionInfo:
    """What analyze() learns of a user function: its parameters and return type."""

    fn: Callable[..., Any]
    name: str
    params: list[Param]  # excludes the Context parameter and *args/**kwargs
    context_kwarg: str | None
    return_annotation: Any  # inspect.Parameter.empty when absent
    description: str
    param_docs: dict[str, str]
    is_async: bool
    var_keyword: bool = False
    excluded: set[str] = field(default_factory=set)

    @property
    def schema_params(self) -> list[Param]:
        return [p for p in self.params if p.name not in self.excluded]


def is_async_callable(fn: Any) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or (
        callable(fn) and inspect.iscoroutinefunction(getattr(fn, "__call__", None))
    )


def is_context_annotation(tp: Any) -> bool:
    base, _ = unwrap_annotated(tp)
    if is_union(base):
        return any(is_context_annotation(a) for a in typing.get_args(base))
    return isinstance(base, type) and issubclass(base, Context)


def _type_hints(fn: Any) -> dict[str, Any]:
    targets = [fn]
    inner = fn
    while isinstance(inner, functools.partial):
        inner = inner.func
        targets.append(inner)
    if not inspect.isfunction(inner) and not inspect.ismethod(inner) and callable(inner):
        targets.append(type(inner).__call__)
    last: Exception | None = None
    for target in targets:
        try:
            return typing.get_type_hints(target, include_extras=True)
        except NameError as e:
            raise InvalidSignature(f"Cannot resolve the type hints of {fn!r}: {e}") from e
        except TypeError as e:
            last = e
    raise InvalidSignature(f"Cannot read the type hints of {fn!r}: {last}")


def analyze(fn: Callable[..., Any], name: str | None = None, exclude: list[str] | None = None) -> FunctionInfo:
    """Inspects a function once, at registration."""
    if not callable(fn):
        raise InvalidSignature(f"{fn!r} is not callable")
    fname = name or getattr(fn, "__name__", None) or type(fn).__name__
    if fname == "<lambda>":
        raise ValueError("You must provide a name for lambda functions")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as e:
        raise InvalidSignature(f"Cannot read the signature of {fname}: {e}") from e
    hints = _type_hints(fn)
    doc = inspect.getdoc(fn) if not isinstance(fn, functools.partial) else inspect.getdoc(fn.func)
    description, param_docs = parse_docstring(doc)
    params: list[Param] = []
    context_kwarg: str | None = None
    var_keyword = False
    for p in sig.parameters.values():
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            var_keyword = True
            continue
        ann = hints.get(p.name, p.annotation)
        if ann is not inspect.Parameter.empty and is_context_annotation(ann):
            context_kwarg = p.name
            continue
        default = p.default
        finfo: FieldInfo | None = as_field(default) if default is not inspect.Parameter.empty else None
        if finfo is not None or default is inspect.Parameter.empty:
            default = MISSING
        _, meta = unwrap_annotated(ann)
        for m in meta:
            found = as_field(m)
            if found is not None:
                finfo = found if finfo is None else _merge_fields(finfo, found)
        params.append(Param(p.name, ann, default, p.kind, finfo, param_docs.get(p.name)))
    excluded = set(exclude or ())
    for ex in excluded:
        match = [p for p in params if p.name == ex]
        if not match:
            raise InvalidSignature(f"{fname}: exclude_args names an unknown parameter {ex!r}")
        if match[0].required:
            raise InvalidSignature(f"{fname}: excluded parameter {ex!r} must have a default value")
    return FunctionInfo(
        fn=fn,
        name=fname,
        params=params,
        context_kwarg=context_kwarg,
        return_annotation=hints.get("return", sig.return_annotation),
        description=description,
        param_docs=param_docs,
        is_async=is_async_callable(fn),
        var_keyword=var_keyword,
        excluded=excluded,
    )


def _merge_fields(first: FieldInfo, more: FieldInfo) -> FieldInfo:
    """`x: Annotated[int, Field(ge=0)] = Field(10, description=...)` or several constraints in one
    Annotated: what `first` leaves unset is taken from `more`."""
    import dataclasses

    changes = {
        f.name: getattr(more, f.name)
        for f in dataclasses.fields(more)
        if getattr(first, f.name) in (None, MISSING) and getattr(more, f.name) not in (None, MISSING)
    }
    return dataclasses.replace(first, **changes) if changes else first


def param_schema(builder: SchemaBuilder, p: Param) -> dict[str, Any]:
    ann = p.annotation
    s = dict(builder.schema(ann)) if ann is not inspect.Parameter.empty else {}
    if p.field is not None:
        apply_field(s, p.field)
    if p.default is not MISSING:
        _set_default(s, p.default)
    if p.description and "description" not in s:
        s["description"] = p.description
    return s


def input_schema(info: FunctionInfo) -> dict[str, Any]:
    """The tool's inputSchema: {"type":"object","properties":{...},"required":[...],
    "additionalProperties":false}. Unlike FastMCP 1.x, which ignores arguments it does not know,
    an unknown argument is refused (before Python runs, by the host's schema check) with an
    `isError` result naming it, so the model learns it misspelled a parameter; a function with
    **kwargs accepts any."""
    builder = SchemaBuilder()
    props: dict[str, Any] = {}
    required: list[str] = []
    for p in info.schema_params:
        try:
            props[p.name] = param_schema(builder, p)
        except InvalidSignature as e:
            raise InvalidSignature(f"{info.name}: parameter {p.name!r}: {e}") from e
        if p.required:
            required.append(p.name)
    root: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        root["required"] = required
    if not info.var_keyword:
        root["additionalProperties"] = False
    return builder.finish(root)
