"""JSON arguments → the Python values a function's annotations ask for.

For tools the host has already validated the arguments against the input schema, so values have
the right JSON types; binding turns them into the annotated types (dataclasses and TypedDicts from
objects, Enums from values, tuples and sets from arrays, datetimes from ISO strings, ...).
Prompt arguments and URI template variables arrive as strings: they are bound in `lax` mode,
which also parses numbers, booleans and JSON text.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
import re
import typing
import weakref
from typing import Annotated, Any, Literal, get_args, get_origin

from .errors import ValidationError
from .schema import (
    MISSING,
    FieldInfo,
    NoneType,
    _MAPPINGS,
    _SEQUENCES,
    _SETS,
    as_field,
    is_namedtuple,
    is_object_class,
    is_pydantic_model,
    is_typeddict,
    is_union,
    object_fields,
    special_kind,
    strip_type,
)
from .signature import FunctionInfo


class BindError(ValidationError):
    """An argument does not fit its parameter's type."""


def _fail(where: str, expected: str, value: Any) -> BindError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return BindError(f"{where}: expected {expected}, got {shown}")


_EXACT = frozenset((str, int, float, bool))
_TRUE = {"true", "1", "yes", "on", "y", "t"}
_FALSE = {"false", "0", "no", "off", "n", "f"}


def _fits(value: Any, tp: Any) -> bool:
    """Whether a JSON value has the JSON type a Python type maps to (used to pick a Union arm)."""
    tp = strip_type(tp)
    if tp is Any or tp is object or tp is inspect.Parameter.empty:
        return True
    if tp is None or tp is NoneType:
        return value is None
    origin = get_origin(tp)
    if origin is Literal:
        return any(_same(value, v) for v in _literal_values(tp))
    if is_union(tp):
        return any(_fits(value, a) for a in get_args(tp))
    if origin is not None:
        if origin in _SEQUENCES or origin in _SETS or origin is tuple:
            return isinstance(value, list)
        if origin in _MAPPINGS or (isinstance(origin, type) and issubclass(origin, dict)):
            return isinstance(value, dict)
        return _fits(value, origin)
    if not isinstance(tp, type):
        return False
    if tp is bool:
        return isinstance(value, bool)
    if issubclass(tp, enum.Enum):
        return any(_same(value, m.value) for m in tp)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str or tp in (bytes, bytearray) or special_kind(tp) in ("datetime", "date", "time", "uuid", "path"):
        return isinstance(value, str)
    if special_kind(tp) == "decimal":
        return isinstance(value, (int, float, str)) and not isinstance(value, bool)
    if is_namedtuple(tp) or tp in _SEQUENCES or tp in _SETS or tp is tuple:
        return isinstance(value, list)
    if tp in _MAPPINGS or is_typeddict(tp) or dataclasses.is_dataclass(tp) or is_pydantic_model(tp) or is_object_class(tp):
        return isinstance(value, dict)
    return isinstance(value, tp)


def _same(a: Any, b: Any) -> bool:
    """Equality that does not confuse True with 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and bool(a == b)
    return bool(a == b)


def _literal_values(tp: Any) -> list[Any]:
    out: list[Any] = []
    for a in get_args(tp):
        if get_origin(a) is Literal:
            out.extend(_literal_values(a))
        else:
            out.append(a.value if isinstance(a, enum.Enum) else a)
    return out


def _check_field(value: Any, info: FieldInfo, where: str) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if info.ge is not None and not value >= info.ge:
            raise BindError(f"{where}: must be >= {info.ge}")
        if info.gt is not None and not value > info.gt:
            raise BindError(f"{where}: must be > {info.gt}")
        if info.le is not None and not value <= info.le:
            raise BindError(f"{where}: must be <= {info.le}")
        if info.lt is not None and not value < info.lt:
            raise BindError(f"{where}: must be < {info.lt}")
    if isinstance(value, (str, list, tuple, set, frozenset)):
        if info.min_length is not None and len(value) < info.min_length:
            raise BindError(f"{where}: length must be >= {info.min_length}")
        if info.max_length is not None and len(value) > info.max_length:
            raise BindError(f"{where}: length must be <= {info.max_length}")
    if info.pattern is not None and isinstance(value, str) and re.search(info.pattern, value) is None:
        raise BindError(f"{where}: must match pattern {info.pattern!r}")


def convert(value: Any, tp: Any, lax: bool = False, where: str = "value") -> Any:
    """`value` (JSON) converted to the annotated type `tp`; BindError when it does not fit."""
    if type(value) is tp and tp in _EXACT:  # the common case: the host validated the type
        return value
    if tp is Any or tp is object or tp is inspect.Parameter.empty:
        return value
    if tp is None or tp is NoneType:
        if value is None or (lax and isinstance(value, str) and value.strip() in ("", "null", "None")):
            return None
        raise _fail(where, "null", value)
    origin = get_origin(tp)
    if origin is Annotated:
        args = get_args(tp)
        out = convert(value, args[0], lax, where)
        for m in args[1:]:
            finfo = as_field(m)
            if finfo is not None:
                _check_field(out, finfo, where)
        return out
    if hasattr(tp, "__supertype__"):
        return convert(value, tp.__supertype__, lax, where)
    if type(tp).__name__ == "TypeAliasType" and hasattr(tp, "__value__"):
        return convert(value, tp.__value__, lax, where)
    if isinstance(tp, typing.TypeVar):
        return convert(value, tp.__bound__, lax, where) if tp.__bound__ is not None else value
    if origin is Literal:
        return _literal(value, tp, lax, where)
    if is_union(tp):
        return _union(value, get_args(tp), lax, where)
    if origin is typing.Required or origin is typing.NotRequired:
        return convert(value, get_args(tp)[0], lax, where)
    if origin is not None:
        return _generic(value, tp, origin, get_args(tp), lax, where)
    if isinstance(tp, type):
        return _class(value, tp, lax, where)
    return value


def _literal(value: Any, tp: Any, lax: bool, where: str) -> Any:
    values = _literal_values(tp)
    for v in values:
        if _same(value, v):
            return v
    if lax and isinstance(value, str):
        for v in values:
            if str(v) == value or (isinstance(v, bool) and value.lower() == str(v).lower()):
                return v
    raise _fail(where, "one of " + ", ".join(json.dumps(v) for v in values), value)


def _union(value: Any, args: tuple[Any, ...], lax: bool, where: str) -> Any:
    if value is None and NoneType in args:
        return None
    arms = [a for a in args if a is not NoneType and a is not None]
    for a in arms:  # the arm whose JSON type matches, in declaration order
        if _fits(value, a):
            try:
                return convert(value, a, False, where)
            except BindError:
                pass
    errors = []
    for a in arms:
        try:
            return convert(value, a, lax, where)
        except BindError as e:
            errors.append(str(e))
    if lax and NoneType in args and isinstance(value, str) and value.strip() in ("", "null", "None"):
        return None
    raise BindError(errors[0] if len(errors) == 1 else f"{where}: no type of the union fits {value!r}")


def _lax_json(value: Any, want: type) -> Any:
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, want):
            return parsed
    return value


def _generic(value: Any, tp: Any, origin: Any, args: tuple[Any, ...], lax: bool, where: str) -> Any:
    if origin in _SEQUENCES or origin in _SETS or origin is tuple:
        if lax:
            value = _lax_json(value, list)
        if not isinstance(value, (list, tuple)):
            raise _fail(where, "an array", value)
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(convert(v, args[0], lax, f"{where}[{i}]") for i, v in enumerate(value))
            if args == ((),):
                args = ()
            if len(value) != len(args):
                raise BindError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(convert(v, a, lax, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [convert(v, item, lax, f"{where}[{i}]") for i, v in enumerate(value)]
        if origin is frozenset:
            return frozenset(items)
        if origin in _SETS:
            return set(items)
        return items
    if origin in _MAPPINGS or (isinstance(origin, type) and issubclass(origin, dict) and not is_typeddict(origin)):
        if lax:
            value = _lax_json(value, dict)
        if not isinstance(value, dict):
            raise _fail(where, "an object", value)
        kt, vt = (args + (Any, Any))[:2] if args else (Any, Any)
        return {
            convert(k, kt, True, f"{where} key"): convert(v, vt, lax, f"{where}[{k!r}]")
            for k, v in value.items()
        }
    if isinstance(origin, type):
        return _class(value, origin, lax, where)
    return value


# Per class: object_fields(tp) (NamedTuple) and how an object class is built (dataclass,
# TypedDict, annotated class). Resolving a class's type hints (typing.get_type_hints) and telling
# its kind cost more than converting a small object, and both are fixed once the class is
# defined: a dataclass body is converted on every request. Weak keys: a class made at run time
# is not kept alive by having been converted once.
_fields_cache: weakref.WeakKeyDictionary[type, list[Any]] = weakref.WeakKeyDictionary()
_objects: weakref.WeakKeyDictionary[type, tuple[str, list[Any]]] = weakref.WeakKeyDictionary()


def _fields(tp: type) -> list[Any]:
    fields = _fields_cache.get(tp)
    if fields is None:
        fields = object_fields(tp)
        _fields_cache[tp] = fields
    return fields


def _object_shape(tp: type) -> tuple[str, list[Any]]:
    """("typeddict", fields) | ("dataclass", init fields) | ("class", init fields)."""
    shape = _objects.get(tp)
    if shape is None:
        if is_typeddict(tp):
            shape = ("typeddict", object_fields(tp))
        else:
            kind = "dataclass" if dataclasses.is_dataclass(tp) else "class"
            shape = (kind, [f for f in object_fields(tp) if f.init])
        _objects[tp] = shape
    return shape


def _object(value: Any, tp: type, shape: tuple[str, list[Any]], lax: bool, where: str) -> Any:
    kind, fields = shape
    if lax:
        value = _lax_json(value, dict)
    if kind != "typeddict" and isinstance(value, tp):
        return value
    if not isinstance(value, dict):
        raise _fail(where, f"an object ({tp.__name__})", value)
    kwargs = _object_kwargs(value, fields, lax, where)
    if kind != "class":
        return kwargs if kind == "typeddict" else tp(**kwargs)
    try:
        return tp(**kwargs)
    except TypeError:
        obj = object.__new__(tp)
        for k, v in kwargs.items():
            setattr(obj, k, v)
        return obj


def _class(value: Any, tp: type, lax: bool, where: str) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        if lax and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if lax and isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise _fail(where, "a boolean", value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if lax and isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                try:
                    f = float(value)
                    if f.is_integer():
                        return int(f)
                except ValueError:
                    pass
        raise _fail(where, "an integer", value)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if lax and isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise _fail(where, "a number", value)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _fail(where, "a string", value)
    if tp in (bytes, bytearray):
        if isinstance(value, str):
            return tp(value.encode("utf-8"))
        if isinstance(value, (bytes, bytearray)):
            return tp(value)
        raise _fail(where, "a string", value)
    shape = _objects.get(tp)
    if shape is not None:  # an object class converted before
        return _object(value, tp, shape, lax, where)
    kind = special_kind(tp)
    if kind is not None:
        return _special(value, tp, kind, where)
    if issubclass(tp, enum.Enum):
        for m in tp:
            if _same(value, m.value):
                return m
        if lax and isinstance(value, str):
            for m in tp:
                if str(m.value) == value:
                    return m
        raise _fail(where, "one of " + ", ".join(json.dumps(m.value) for m in tp), value)
    if is_namedtuple(tp):
        if lax:
            value = _lax_json(value, (list, dict))  # type: ignore[arg-type]
        fields = _fields(tp)
        if isinstance(value, list):
            return tp(*(convert(v, f.type, lax, f"{where}.{f.name}") for v, f in zip(value, fields)))
        if isinstance(value, dict):
            return tp(**_object_kwargs(value, fields, lax, where))
        raise _fail(where, "an array", value)
    if is_pydantic_model(tp):
        try:
            return tp.model_validate(value)  # type: ignore[attr-defined]
        except Exception as e:  # noqa: BLE001 - pydantic's ValidationError
            raise BindError(f"{where}: {e}") from e
    if tp in _SEQUENCES or tp in _SETS or tp is tuple:
        return _generic(value, tp, tp, (), lax, where)
    if tp in _MAPPINGS:
        return _generic(value, tp, tp, (), lax, where)
    if dataclasses.is_dataclass(tp) or is_typeddict(tp) or is_object_class(tp):
        return _object(value, tp, _object_shape(tp), lax, where)
    for base in (bool, int, float, str):  # subclasses of primitives
        if issubclass(tp, base):
            return tp(_class(value, base, lax, where))  # type: ignore[call-arg]
    if isinstance(value, tp):
        return value
    raise _fail(where, tp.__name__, value)


def _object_kwargs(value: dict[str, Any], fields: list[Any], lax: bool, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    missing = []
    for f in fields:
        if f.name in value:
            out[f.name] = convert(value[f.name], f.type, lax, f"{where}.{f.name}")
        elif f.required:
            missing.append(f.name)
    if missing:
        raise BindError(f"{where}: missing required field{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    return out


def _special(value: Any, tp: type, kind: str, where: str) -> Any:
    try:
        if kind in ("datetime", "date", "time"):
            if isinstance(value, tp):
                return value
            if isinstance(value, str):
                text = value.strip()
                if text.endswith(("Z", "z")):
                    text = text[:-1] + "+00:00"
                return tp.fromisoformat(text)  # type: ignore[attr-defined]
        elif kind == "decimal":
            if not isinstance(value, bool) and isinstance(value, (int, float, str)):
                return tp(str(value))
        elif isinstance(value, str):  # uuid, path
            return tp(value)
    except (ValueError, TypeError, ArithmeticError) as e:
        raise BindError(f"{where}: invalid {kind}: {e}") from e
    raise _fail(where, f"a {kind} string", value)


def _pre_parse(value: Any, tp: Any) -> Any:
    """FastMCP's pre_parse_json: some clients send arrays/objects as JSON text."""
    if type(value) is tp or not isinstance(value, str) or tp is inspect.Parameter.empty:
        return value  # the common case (a str for a str parameter) needs no type analysis
    if _fits(value, tp):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return parsed if isinstance(parsed, (list, dict)) else value


_PLAIN = (str, int, float, bool)


def _fast_plan(info: FunctionInfo) -> tuple[tuple[str, type, bool], ...] | None:
    """(name, type, required) per parameter when every parameter is a plain keyword scalar
    (str/int/float/bool, no Field, not excluded, no **kwargs); None otherwise. With such a
    plan, arguments whose JSON types already match bind without the general converter."""
    if info.var_keyword or info.excluded:
        return None
    plan = []
    for p in info.params:
        if p.kind is inspect.Parameter.POSITIONAL_ONLY or p.field is not None or p.annotation not in _PLAIN:
            return None
        plan.append((p.name, p.annotation, p.default is MISSING))
    return tuple(plan)


def _fast_bind(plan: tuple[tuple[str, type, bool], ...], arguments: dict[str, Any]) -> dict[str, Any] | None:
    """The kwargs when every argument has exactly its parameter's type and none is missing;
    None sends the call down the general path (conversion, lax parsing, error messages)."""
    kwargs: dict[str, Any] = {}
    for name, tp, required in plan:
        if name in arguments:
            value = arguments[name]
            if type(value) is not tp:
                return None
            kwargs[name] = value
        elif required:
            return None
    return kwargs


def bind(
    info: FunctionInfo,
    arguments: dict[str, Any] | None,
    context: Any = None,
    lax: bool = False,
) -> tuple[list[Any], dict[str, Any]]:
    """(args, kwargs) to call `info.fn` with. Raises BindError naming every missing argument."""
    arguments = arguments or {}
    plan = info.__dict__.get("_plan", MISSING)  # computed on first call, cached on the info
    if plan is MISSING:
        plan = info.__dict__["_plan"] = _fast_plan(info)
    if plan is not None and not lax:
        kwargs = _fast_bind(plan, arguments)
        if kwargs is not None:
            if info.context_kwarg is not None:
                kwargs[info.context_kwarg] = context
            return [], kwargs
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    missing: list[str] = []
    for p in info.params:
        positional = p.kind is inspect.Parameter.POSITIONAL_ONLY
        if p.name in arguments and p.name not in info.excluded:
            raw = arguments[p.name]
            if not lax:
                raw = _pre_parse(raw, p.annotation)
            value = convert(raw, p.annotation, lax, p.name)
            if p.field is not None:
                _check_field(value, p.field, p.name)
        elif p.required:
            missing.append(p.name)
            continue
        elif positional or (p.default is MISSING):
            value = p.default_value()  # a Field(default=...) or a positional-only default
        else:
            continue  # Python applies the default
        if positional:
            args.append(value)
        else:
            kwargs[p.name] = value
    if missing:
        s = "s" if len(missing) > 1 else ""
        raise BindError(f"Missing required argument{s}: {', '.join(missing)}")
    if info.var_keyword:
        known = {p.name for p in info.params}
        for k, v in arguments.items():
            if k not in known and k != info.context_kwarg:
                kwargs[k] = v
    if info.context_kwarg is not None:
        kwargs[info.context_kwarg] = context
    return args, kwargs


__all__ = ["BindError", "bind", "convert"]
