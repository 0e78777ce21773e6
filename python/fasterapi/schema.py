"""Python type hints → JSON Schema 2020-12 (our own code: pydantic cannot load in an isolated
subinterpreter).

Only keywords the host's C validator understands are emitted for validation (type, enum, const,
properties, required, additionalProperties, items, prefixItems, minItems, maxItems, uniqueItems,
minLength, maxLength, minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, anyOf,
$ref to "#/$defs/Name"), plus annotations (title, description, default, format, examples).
`Field(pattern=...)` is the one exception: it is emitted and checked by the binder in Python.

Shapes follow what pydantic produces for FastMCP, without its per-property titles: Optional[X]
is anyOf [X, null]; Enum, dataclass and TypedDict types live in $defs and are referenced.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import inspect
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal, Union, get_args, get_origin

from .content import jsonable
from .errors import InvalidSignature

NoneType = type(None)


class _Missing:
    """'No value' marker (not dataclasses.MISSING, which dataclasses treat specially)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldInfo:
    """Parameter/field metadata, the subset of pydantic's `Field` that maps onto the schema."""

    default: Any = MISSING
    default_factory: Callable[[], Any] | None = None
    description: str | None = None
    title: str | None = None
    examples: list[Any] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    multiple_of: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    json_schema_extra: dict[str, Any] | None = None

    def has_default(self) -> bool:
        return self.default is not MISSING or self.default_factory is not None

    def get_default(self) -> Any:
        if self.default_factory is not None:
            return self.default_factory()
        return self.default


def Field(  # noqa: N802 - pydantic's spelling
    default: Any = MISSING,
    *,
    default_factory: Callable[[], Any] | None = None,
    description: str | None = None,
    title: str | None = None,
    examples: list[Any] | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    multiple_of: float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    pattern: str | None = None,
    json_schema_extra: dict[str, Any] | None = None,
) -> Any:
    """Describe a parameter: `x: Annotated[int, Field(ge=0, description="...")]` or
    `x: int = Field(10, description="...")`."""
    return FieldInfo(
        default, default_factory, description, title, examples, ge, gt, le, lt, multiple_of,
        min_length, max_length, pattern, json_schema_extra,
    )


# Constraint attributes, as pydantic v2's metadata objects (annotated_types Ge/Gt/Le/Lt/
# MultipleOf/MinLen/MaxLen/Interval/Len, pydantic's general metadata) and pydantic v1's FieldInfo
# (which names some of them differently) carry them.
_CONSTRAINTS = ("ge", "gt", "le", "lt", "multiple_of", "min_length", "max_length", "pattern")
_V1_ALIASES = (("regex", "pattern"), ("min_items", "min_length"), ("max_items", "max_length"))


def _undefined(value: Any) -> bool:
    """pydantic's "no default" markers (v2 PydanticUndefined, v1 Undefined) and `...`."""
    return value is Ellipsis or type(value).__name__ in ("PydanticUndefinedType", "UndefinedType")


def as_field(obj: Any) -> FieldInfo | None:
    """Our FieldInfo for `obj` when it describes a field: ours, pydantic's `Field(...)` (v1 or
    v2) or an annotated_types constraint (`Ge(0)`, `MaxLen(8)`). Recognised by class name and
    attributes, never by importing pydantic: pydantic-core refuses isolated subinterpreters, yet
    a server written for FastMCP uses `pydantic.Field` for descriptions and bounds."""
    if isinstance(obj, FieldInfo):
        return obj
    cls = type(obj)
    if cls.__name__ == "FieldInfo" and hasattr(obj, "default") and hasattr(obj, "description"):
        found: dict[str, Any] = {}
        for m in getattr(obj, "metadata", None) or ():  # v2: constraints are metadata objects
            found.update(_constraints_of(m))
        found.update(_constraints_of(obj))  # v1: attributes of the FieldInfo itself
        extra = getattr(obj, "json_schema_extra", None)
        if extra is None:
            extra = getattr(obj, "extra", None)  # v1
        default = getattr(obj, "default", MISSING)
        examples = getattr(obj, "examples", None)
        return FieldInfo(
            default=MISSING if _undefined(default) else default,
            default_factory=getattr(obj, "default_factory", None),
            description=getattr(obj, "description", None),
            title=getattr(obj, "title", None),
            examples=list(examples) if isinstance(examples, (list, tuple)) else None,
            json_schema_extra={k: v for k, v in extra.items() if v is not None} or None
            if isinstance(extra, dict) else None,
            **found,
        )
    if cls.__module__ == "annotated_types":
        found = _constraints_of(obj)
        return FieldInfo(**found) if found else None
    return None


def _constraints_of(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _CONSTRAINTS:
        value = getattr(obj, name, None)
        if value is not None and not callable(value):
            out[name] = value
    for v1, name in _V1_ALIASES:
        value = getattr(obj, v1, None)
        if isinstance(value, (int, str)) and name not in out:
            out[name] = value
    pattern = out.get("pattern")
    if pattern is not None and not isinstance(pattern, str):
        out["pattern"] = getattr(pattern, "pattern", str(pattern))  # a compiled re.Pattern
    return out


# ---------------------------------------------------------------------------------------------
# Type introspection shared with binding.py


def unwrap_annotated(tp: Any) -> tuple[Any, list[Any]]:
    """(base type, metadata) of Annotated[...] (nested Annotated flattened)."""
    meta: list[Any] = []
    while get_origin(tp) is Annotated:
        args = get_args(tp)
        tp = args[0]
        meta = list(args[1:]) + meta
    return tp, meta


def strip_type(tp: Any) -> Any:
    """The type without Annotated/NewType/TypeAliasType wrappers."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
        elif hasattr(tp, "__supertype__"):  # NewType
            tp = tp.__supertype__
        elif type(tp).__name__ == "TypeAliasType" and hasattr(tp, "__value__"):
            tp = tp.__value__
        else:
            return tp


def is_union(tp: Any) -> bool:
    origin = get_origin(tp)
    return origin is Union or origin is types.UnionType


def is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


def is_namedtuple(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields")


def is_pydantic_model(tp: Any) -> bool:
    return isinstance(tp, type) and hasattr(tp, "model_json_schema") and hasattr(tp, "model_validate")


def special_kind(tp: Any) -> str | None:
    """'datetime', 'date', 'time', 'uuid', 'decimal', 'path' for those stdlib types, by name, so
    that this module never imports them (datetime is hazardous in subinterpreters)."""
    if not isinstance(tp, type):
        return None
    for klass in tp.__mro__:
        mod, name = klass.__module__, klass.__qualname__
        if mod == "datetime" and name in ("datetime", "date", "time"):
            return name
        if mod == "uuid" and name == "UUID":
            return "uuid"
        if mod == "decimal" and name == "Decimal":
            return "decimal"
        if mod in ("pathlib", "pathlib._local") and name in ("PurePath", "Path"):
            return "path"
    return None


def resolve_hints(obj: Any) -> dict[str, Any]:
    """get_type_hints with Annotated kept; a clear error when a name cannot be resolved."""
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except NameError as e:
        name = getattr(obj, "__qualname__", repr(obj))
        raise InvalidSignature(f"Cannot resolve the type hints of {name}: {e}") from e


@dataclass
class ObjectField:
    """One field of an object type (dataclass, TypedDict, pydantic-shaped class)."""

    name: str
    type: Any
    required: bool
    default: Any = MISSING  # MISSING when none (or a factory)
    init: bool = True


def object_fields(tp: Any) -> list[ObjectField]:
    """The fields of a dataclass, TypedDict, NamedTuple or annotated class."""
    if dataclasses.is_dataclass(tp):
        hints = resolve_hints(tp)
        out = []
        for f in dataclasses.fields(tp):
            has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            default = MISSING if f.default is dataclasses.MISSING else f.default
            out.append(ObjectField(f.name, hints.get(f.name, Any), f.init and not has_default, default, f.init))
        return out
    if is_typeddict(tp):
        hints = resolve_hints(tp)
        required_keys = set(getattr(tp, "__required_keys__", hints.keys()))
        out = []
        for name, hint in hints.items():
            required = name in required_keys
            inner = hint
            # String annotations (PEP 563) hide NotRequired/Required from __required_keys__ on 3.11.
            while True:
                origin = get_origin(inner)
                if origin is typing.NotRequired:
                    required = False
                elif origin is typing.Required:
                    required = True
                elif origin is not None and origin is getattr(typing, "ReadOnly", object()):
                    pass
                else:
                    break
                inner = get_args(inner)[0]
            out.append(ObjectField(name, inner, required))
        return out
    if is_namedtuple(tp):
        hints = resolve_hints(tp)
        defaults = getattr(tp, "_field_defaults", {})
        return [
            ObjectField(n, hints.get(n, Any), n not in defaults, defaults.get(n, MISSING))
            for n in tp._fields
        ]
    hints = {k: v for k, v in resolve_hints(tp).items() if not k.startswith("_")}
    return [
        ObjectField(k, v, not hasattr(tp, k), getattr(tp, k, MISSING))
        for k, v in hints.items()
        if get_origin(v) is not typing.ClassVar
    ]


def is_object_class(tp: Any) -> bool:
    """A class whose instances are JSON objects: dataclass, TypedDict or annotated plain class."""
    if not isinstance(tp, type) or tp in _PRIMITIVES or issubclass(tp, enum.Enum):
        return False
    if dataclasses.is_dataclass(tp) or is_typeddict(tp):
        return True
    if is_namedtuple(tp) or special_kind(tp) or tp.__module__ == "builtins":
        return False
    if issubclass(tp, (collections.abc.Mapping, collections.abc.Iterable)):
        return False
    try:
        hints = resolve_hints(tp)
    except (InvalidSignature, TypeError):
        return False
    return any(not k.startswith("_") for k in hints)


_PRIMITIVES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    NoneType: "null",
}
_SEQUENCES = {
    list, collections.abc.Sequence, collections.abc.MutableSequence, collections.abc.Iterable,
    collections.abc.Collection, collections.abc.Iterator,
}
_SETS = {set, frozenset, collections.abc.Set, collections.abc.MutableSet}
_MAPPINGS = {dict, collections.abc.Mapping, collections.abc.MutableMapping}


def json_type_of(value: Any) -> str | None:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


# ---------------------------------------------------------------------------------------------
# The builder


class SchemaBuilder:
    """Builds schemas for several types sharing one `$defs` table."""

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        self._names: dict[Any, str] = {}
        self._refcount: dict[str, int] = {}

    # Public -----------------------------------------------------------------------------------

    def schema(self, tp: Any) -> dict[str, Any]:
        """The schema of a type (may be a `$ref` into `self.defs`)."""
        if tp is Any or tp is inspect.Parameter.empty or tp is object:
            return {}
        if tp is None or tp is NoneType:
            return {"type": "null"}
        if isinstance(tp, str) or isinstance(tp, typing.ForwardRef):
            raise InvalidSignature(f"Unresolved type annotation {tp!r}")
        origin = get_origin(tp)
        if origin is Annotated:
            base, meta = unwrap_annotated(tp)
            out = dict(self.schema(base))
            for m in meta:
                if isinstance(m, str):
                    out["description"] = m
                else:
                    finfo = as_field(m)
                    if finfo is not None:
                        apply_field(out, finfo)
            return out
        if hasattr(tp, "__supertype__"):
            return self.schema(tp.__supertype__)
        if type(tp).__name__ == "TypeAliasType" and hasattr(tp, "__value__"):
            return self.schema(tp.__value__)
        if isinstance(tp, typing.TypeVar):
            if tp.__bound__ is not None:
                return self.schema(tp.__bound__)
            if tp.__constraints__:
                return {"anyOf": [self.schema(c) for c in tp.__constraints__]}
            return {}
        if origin is Literal:
            return literal_schema(tp)
        if is_union(tp):
            return {"anyOf": [self.schema(a) for a in get_args(tp)]}
        if origin is typing.Required or origin is typing.NotRequired:
            return self.schema(get_args(tp)[0])
        if origin is not None:
            return self._generic(tp, origin, get_args(tp))
        if not isinstance(tp, type):
            raise InvalidSignature(f"Unsupported type annotation {tp!r}")
        return self._class(tp)

    def ref_count(self, name: str) -> int:
        return self._refcount.get(name, 0)

    def name_of(self, tp: Any) -> str | None:
        return self._names.get(tp)

    def finish(self, root: dict[str, Any]) -> dict[str, Any]:
        """Root schema with the `$defs` it needs attached."""
        if self.defs:
            root = dict(root)
            root["$defs"] = dict(self.defs)
        return root

    # Internals --------------------------------------------------------------------------------

    def _generic(self, tp: Any, origin: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        if origin in _SEQUENCES:
            out: dict[str, Any] = {"type": "array"}
            if args and args[0] is not Any:
                out["items"] = self.schema(args[0])
            return out
        if origin in _SETS:
            out = {"type": "array", "uniqueItems": True}
            if args and args[0] is not Any:
                out["items"] = self.schema(args[0])
            return out
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                out = {"type": "array"}
                if args[0] is not Any:
                    out["items"] = self.schema(args[0])
                return out
            if args == ((),):  # tuple[()]
                args = ()
            return {
                "type": "array",
                "prefixItems": [self.schema(a) for a in args],
                "minItems": len(args),
                "maxItems": len(args),
            }
        if origin in _MAPPINGS or (isinstance(origin, type) and issubclass(origin, dict) and not is_typeddict(origin)):
            out = {"type": "object"}
            if len(args) == 2 and args[1] is not Any:
                out["additionalProperties"] = self.schema(args[1])
            return out
        if origin is type:
            raise InvalidSignature(f"Unsupported type annotation {tp!r}")
        if isinstance(origin, type) and (dataclasses.is_dataclass(origin) or is_typeddict(origin)):
            return self._class(origin)  # generic dataclass: type parameters are not specialised
        if origin is collections.abc.Callable:
            raise InvalidSignature(f"Unsupported type annotation {tp!r}")
        return self.schema(origin)

    def _class(self, tp: type) -> dict[str, Any]:
        if tp is bool:
            return {"type": "boolean"}
        if tp in _PRIMITIVES:
            return {"type": _PRIMITIVES[tp]}
        if tp in (bytes, bytearray):
            return {"type": "string", "format": "binary"}
        if tp in _SEQUENCES or tp is tuple:
            return {"type": "array"}
        if tp in _SETS:
            return {"type": "array", "uniqueItems": True}
        if tp in _MAPPINGS:
            return {"type": "object"}
        kind = special_kind(tp)
        if kind == "datetime":
            return {"type": "string", "format": "date-time"}
        if kind in ("date", "time", "uuid"):
            return {"type": "string", "format": kind}
        if kind == "path":
            return {"type": "string", "format": "path"}
        if kind == "decimal":
            return {"anyOf": [{"type": "number"}, {"type": "string"}]}
        if issubclass(tp, enum.Enum):
            return self._ref(tp, self._enum)
        if is_namedtuple(tp):
            fields = object_fields(tp)
            return {
                "type": "array",
                "prefixItems": [self.schema(f.type) for f in fields],
                "minItems": sum(1 for f in fields if f.required),
                "maxItems": len(fields),
            }
        if is_pydantic_model(tp):
            return self._ref(tp, self._pydantic)
        if is_object_class(tp):
            return self._ref(tp, self._object)
        # Subclasses of primitives (a str subclass, an int flag type, ...).
        for base, name in _PRIMITIVES.items():
            if base is not NoneType and issubclass(tp, base):
                return {"type": "boolean" if base is bool else name}
        raise InvalidSignature(f"Unsupported type annotation {tp.__module__}.{tp.__qualname__}")

    def _ref(self, tp: type, make: Callable[[type], dict[str, Any]]) -> dict[str, Any]:
        name = self._names.get(tp)
        if name is None:
            name = tp.__name__
            if name in self.defs or name in self._names.values():
                name = f"{tp.__module__}__{tp.__qualname__}".replace(".", "__").replace("<", "").replace(">", "")
            self._names[tp] = name
            self.defs[name] = {}  # placeholder: recursion refers to it
            self.defs[name] = make(tp)
        self._refcount[name] = self._refcount.get(name, 0) + 1
        return {"$ref": f"#/$defs/{name}"}

    def _enum(self, tp: type) -> dict[str, Any]:
        values = [jsonable(m.value) for m in tp]  # type: ignore[attr-defined]
        out: dict[str, Any] = {"title": tp.__name__}
        kinds = {json_type_of(v) for v in values}
        if len(kinds) == 1 and None not in kinds:
            out["type"] = kinds.pop()
        out["enum"] = values
        doc = inspect.getdoc(tp)
        if doc and tp.__doc__ and tp.__doc__ != enum.Enum.__doc__ and "An enumeration." not in doc:
            out["description"] = doc
        return out

    def _object(self, tp: type) -> dict[str, Any]:
        from .docstring import parse_docstring

        props: dict[str, Any] = {}
        required: list[str] = []
        doc = tp.__doc__ if tp.__doc__ and not (dataclasses.is_dataclass(tp) and tp.__doc__.startswith(tp.__name__ + "(")) else None
        if is_typeddict(tp) and doc == dict.__doc__:
            doc = None
        description, param_docs = parse_docstring(doc)
        for f in object_fields(tp):
            s = dict(self.schema(f.type))
            if f.default is not MISSING:
                finfo = as_field(f.default)
                if finfo is not None:
                    apply_field(s, finfo)
                else:
                    _set_default(s, f.default)
            if f.name in param_docs and "description" not in s:
                s["description"] = param_docs[f.name]
            props[f.name] = s
            if f.required:
                required.append(f.name)
        out: dict[str, Any] = {"type": "object", "title": tp.__name__}
        if description:
            out["description"] = description
        out["properties"] = props
        if required:
            out["required"] = required
        return out

    def _pydantic(self, tp: type) -> dict[str, Any]:
        s = dict(tp.model_json_schema())  # type: ignore[attr-defined]
        for k, v in s.pop("$defs", {}).items():
            self.defs.setdefault(k, v)
        return s


def literal_schema(tp: Any) -> dict[str, Any]:
    values: list[Any] = []

    def collect(t: Any) -> None:
        for a in get_args(t):
            if get_origin(a) is Literal:
                collect(a)
            else:
                values.append(jsonable(a))

    collect(tp)
    kinds = {json_type_of(v) for v in values}
    out: dict[str, Any] = {}
    if len(values) == 1:
        out["const"] = values[0]
    else:
        out["enum"] = values
    if len(kinds) == 1 and None not in kinds:
        out["type"] = next(iter(kinds))
    return out


def _set_default(schema: dict[str, Any], default: Any) -> None:
    try:
        value = jsonable(default)
    except Exception:  # noqa: BLE001 - a default we cannot show is simply not shown
        return
    if isinstance(value, str) and not isinstance(default, (str, enum.Enum)) and json_type_of(default) is None:
        if not isinstance(default, (bytes, bytearray)) and special_kind(type(default)) is None:
            return  # str() fallback of an arbitrary object: not a real JSON default
    schema["default"] = value


def apply_field(schema: dict[str, Any], info: FieldInfo) -> None:
    """Adds a FieldInfo's annotations and constraints to a schema (in place)."""
    if info.title is not None:
        schema["title"] = info.title
    if info.description is not None:
        schema["description"] = info.description
    if info.default is not MISSING:
        _set_default(schema, info.default)
    if info.examples is not None:
        schema["examples"] = jsonable(info.examples)
    for key, value in (
        ("minimum", info.ge), ("exclusiveMinimum", info.gt), ("maximum", info.le),
        ("exclusiveMaximum", info.lt), ("multipleOf", info.multiple_of),
    ):
        if value is not None:
            schema[key] = value
    is_array = schema.get("type") == "array"
    if info.min_length is not None:
        schema["minItems" if is_array else "minLength"] = info.min_length
    if info.max_length is not None:
        schema["maxItems" if is_array else "maxLength"] = info.max_length
    if info.pattern is not None:
        schema["pattern"] = info.pattern
    if info.json_schema_extra:
        schema.update(info.json_schema_extra)


def type_schema(tp: Any) -> dict[str, Any]:
    """A standalone schema for one type ($defs attached when needed)."""
    b = SchemaBuilder()
    return b.finish(b.schema(tp))


def inline_refs(schema: Any, defs: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A copy of a schema with local `$ref`s replaced by their definitions (for elicitation,
    whose requestedSchema must be flat). Recursion deeper than 16 levels is cut."""
    if defs is None and isinstance(schema, dict):
        defs = schema.get("$defs", {})
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and defs is not None and depth < 16:
            target = dict(defs.get(ref[len("#/$defs/"):], {}))
            target.pop("title", None)
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return inline_refs({**target, **rest}, defs, depth + 1)
        return {k: inline_refs(v, defs, depth) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [inline_refs(v, defs, depth) for v in schema]
    return schema


__all__ = [
    "Field", "FieldInfo", "as_field", "SchemaBuilder", "type_schema", "inline_refs", "object_fields",
    "unwrap_annotated", "strip_type", "is_union", "is_typeddict", "is_object_class",
    "special_kind", "resolve_hints", "MISSING",
]
