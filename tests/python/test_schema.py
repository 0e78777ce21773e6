from __future__ import annotations

import collections.abc
import datetime
import decimal
import enum
import pathlib
import typing
import unittest
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NamedTuple, NewType, NotRequired, Optional, TypedDict, Union

from fasterapi import Context, Field
from fasterapi.errors import InvalidSignature
from fasterapi.schema import SchemaBuilder, inline_refs, type_schema
from fasterapi.signature import analyze, input_schema


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Point:
    x: float
    y: float = 0.0


@dataclass
class Line:
    """A segment.

    Args:
        start: where it begins
    """

    start: Point
    end: Point
    label: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Node:
    value: int
    children: list[Node] = field(default_factory=list)


class Movie(TypedDict):
    title: str
    year: NotRequired[int]


class Partial(TypedDict, total=False):
    a: int


class Pair(NamedTuple):
    left: int
    right: str = "r"


UserId = NewType("UserId", int)


def schema_of(fn: Any) -> dict[str, Any]:
    return input_schema(analyze(fn))


class Primitives(unittest.TestCase):
    def test_each_primitive(self) -> None:
        cases: list[tuple[Any, dict[str, Any]]] = [
            (int, {"type": "integer"}),
            (float, {"type": "number"}),
            (str, {"type": "string"}),
            (bool, {"type": "boolean"}),
            (None, {"type": "null"}),
            (type(None), {"type": "null"}),
            (Any, {}),
            (bytes, {"type": "string", "format": "binary"}),
            (UserId, {"type": "integer"}),
            (datetime.datetime, {"type": "string", "format": "date-time"}),
            (datetime.date, {"type": "string", "format": "date"}),
            (datetime.time, {"type": "string", "format": "time"}),
            (uuid.UUID, {"type": "string", "format": "uuid"}),
            (pathlib.Path, {"type": "string", "format": "path"}),
            (decimal.Decimal, {"anyOf": [{"type": "number"}, {"type": "string"}]}),
        ]
        for tp, expected in cases:
            with self.subTest(tp=tp):
                self.assertEqual(type_schema(tp), expected)


class Containers(unittest.TestCase):
    def test_optional_and_unions(self) -> None:
        self.assertEqual(type_schema(Optional[int]), {"anyOf": [{"type": "integer"}, {"type": "null"}]})
        self.assertEqual(type_schema(int | None), {"anyOf": [{"type": "integer"}, {"type": "null"}]})
        self.assertEqual(type_schema(Union[int, str]), {"anyOf": [{"type": "integer"}, {"type": "string"}]})

    def test_lists_and_sequences(self) -> None:
        self.assertEqual(type_schema(list[int]), {"type": "array", "items": {"type": "integer"}})
        self.assertEqual(type_schema(typing.List[str]), {"type": "array", "items": {"type": "string"}})
        self.assertEqual(type_schema(collections.abc.Sequence[str]), {"type": "array", "items": {"type": "string"}})
        self.assertEqual(type_schema(list), {"type": "array"})
        self.assertEqual(type_schema(list[Any]), {"type": "array"})

    def test_tuples(self) -> None:
        self.assertEqual(
            type_schema(tuple[int, str]),
            {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "minItems": 2, "maxItems": 2},
        )
        self.assertEqual(type_schema(tuple[int, ...]), {"type": "array", "items": {"type": "integer"}})
        self.assertEqual(type_schema(tuple[()]), {"type": "array", "prefixItems": [], "minItems": 0, "maxItems": 0})

    def test_sets(self) -> None:
        self.assertEqual(type_schema(set[str]), {"type": "array", "uniqueItems": True, "items": {"type": "string"}})
        self.assertEqual(type_schema(frozenset[int]), {"type": "array", "uniqueItems": True, "items": {"type": "integer"}})

    def test_dicts(self) -> None:
        self.assertEqual(type_schema(dict[str, int]), {"type": "object", "additionalProperties": {"type": "integer"}})
        self.assertEqual(type_schema(dict[str, Any]), {"type": "object"})
        self.assertEqual(type_schema(dict), {"type": "object"})
        self.assertEqual(
            type_schema(collections.abc.Mapping[str, list[int]]),
            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "integer"}}},
        )


class Choices(unittest.TestCase):
    def test_literal(self) -> None:
        self.assertEqual(type_schema(Literal["a", "b"]), {"enum": ["a", "b"], "type": "string"})
        self.assertEqual(type_schema(Literal["only"]), {"const": "only", "type": "string"})
        self.assertEqual(type_schema(Literal[1, 2]), {"enum": [1, 2], "type": "integer"})
        self.assertEqual(type_schema(Literal["a", 1]), {"enum": ["a", 1]})
        self.assertEqual(type_schema(Literal[Literal["a"], "b"]), {"enum": ["a", "b"], "type": "string"})

    def test_enums_go_to_defs(self) -> None:
        self.assertEqual(
            type_schema(Color),
            {"$ref": "#/$defs/Color", "$defs": {"Color": {"title": "Color", "type": "string", "enum": ["red", "green"]}}},
        )
        self.assertEqual(
            type_schema(Level)["$defs"]["Level"], {"title": "Level", "type": "integer", "enum": [1, 2]}
        )


class Objects(unittest.TestCase):
    def test_nested_dataclasses(self) -> None:
        self.assertEqual(
            type_schema(Line),
            {
                "$ref": "#/$defs/Line",
                "$defs": {
                    "Point": {
                        "type": "object",
                        "title": "Point",
                        "properties": {"x": {"type": "number"}, "y": {"type": "number", "default": 0.0}},
                        "required": ["x"],
                    },
                    "Line": {
                        "type": "object",
                        "title": "Line",
                        "description": "A segment.",
                        "properties": {
                            "start": {"$ref": "#/$defs/Point", "description": "where it begins"},
                            "end": {"$ref": "#/$defs/Point"},
                            "label": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
                            "tags": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["start", "end"],
                    },
                },
            },
        )

    def test_recursive_dataclass(self) -> None:
        s = type_schema(Node)
        self.assertEqual(s["$ref"], "#/$defs/Node")
        self.assertEqual(
            s["$defs"]["Node"]["properties"]["children"], {"type": "array", "items": {"$ref": "#/$defs/Node"}}
        )

    def test_typeddict_required_and_not_required(self) -> None:
        self.assertEqual(
            type_schema(Movie)["$defs"]["Movie"],
            {
                "type": "object",
                "title": "Movie",
                "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
                "required": ["title"],
            },
        )
        self.assertEqual(
            type_schema(Partial)["$defs"]["Partial"],
            {"type": "object", "title": "Partial", "properties": {"a": {"type": "integer"}}},
        )

    def test_namedtuple(self) -> None:
        self.assertEqual(
            type_schema(Pair),
            {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "minItems": 1, "maxItems": 2},
        )

    def test_same_name_different_classes(self) -> None:
        def make() -> type:
            @dataclass
            class Point:  # noqa: F811 - deliberately the same name as the module's Point
                z: int

            return Point

        other = make()
        b = SchemaBuilder()
        first = b.schema(Point)
        second = b.schema(other)
        self.assertNotEqual(first, second)
        self.assertEqual(len(b.defs), 2)

    def test_unsupported_type_is_an_error(self) -> None:
        class Opaque:
            pass

        with self.assertRaises(InvalidSignature):
            type_schema(Opaque)
        with self.assertRaises(InvalidSignature):
            type_schema(typing.Callable[[int], int])


class FunctionSchemas(unittest.TestCase):
    def test_no_arguments(self) -> None:
        def f() -> None: ...

        self.assertEqual(schema_of(f), {"type": "object", "properties": {}, "additionalProperties": False})

    def test_defaults_required_and_descriptions(self) -> None:
        def f(
            name: str,
            count: int = 3,
            mode: Literal["fast", "slow"] = "fast",
            note: Annotated[str | None, "a free note"] = None,
            limit: Annotated[int, Field(ge=1, le=10, description="page size")] = 5,
            tags: Annotated[list[str], Field(min_length=1, max_length=3)] = ["a"],  # noqa: B006
            code: str = Field("x", pattern="^[a-z]$", title="Code"),
            ctx: Context | None = None,
        ) -> None:
            """Do it.

            Args:
                name: who
                count: how many
            """

        self.assertEqual(
            schema_of(f),
            {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "who"},
                    "count": {"type": "integer", "default": 3, "description": "how many"},
                    "mode": {"enum": ["fast", "slow"], "type": "string", "default": "fast"},
                    "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "a free note", "default": None},
                    "limit": {"type": "integer", "description": "page size", "minimum": 1, "maximum": 10, "default": 5},
                    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "default": ["a"]},
                    "code": {"type": "string", "title": "Code", "default": "x", "pattern": "^[a-z]$"},
                },
                "required": ["name"],
                "additionalProperties": False,
            },
        )

    def test_nested_types_share_defs(self) -> None:
        def f(line: Line, color: Color = Color.RED, where: Optional[Point] = None) -> None: ...

        s = schema_of(f)
        self.assertEqual(
            s["properties"],
            {
                "line": {"$ref": "#/$defs/Line"},
                "color": {"$ref": "#/$defs/Color", "default": "red"},
                "where": {"anyOf": [{"$ref": "#/$defs/Point"}, {"type": "null"}], "default": None},
            },
        )
        self.assertEqual(sorted(s["$defs"]), ["Color", "Line", "Point"])
        self.assertEqual(s["required"], ["line"])

    def test_untyped_parameter_accepts_anything(self) -> None:
        def f(x, y=2):  # type: ignore[no-untyped-def]
            return x

        self.assertEqual(
            schema_of(f),
            {"type": "object", "properties": {"x": {}, "y": {"default": 2}}, "required": ["x"], "additionalProperties": False},
        )

    def test_unknown_arguments_refused_unless_kwargs(self) -> None:
        def f(a: int) -> None: ...

        def g(a: int, **rest: Any) -> None: ...

        self.assertIs(schema_of(f)["additionalProperties"], False)
        self.assertNotIn("additionalProperties", schema_of(g))

    def test_context_in_any_position_is_not_in_the_schema(self) -> None:
        def f(ctx: Context, a: int) -> int:
            return a

        info = analyze(f)
        self.assertEqual(info.context_kwarg, "ctx")
        self.assertEqual(
            input_schema(info),
            {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"], "additionalProperties": False},
        )

    def test_unresolvable_annotation(self) -> None:
        def f(x: "DoesNotExist") -> None: ...  # type: ignore[name-defined]  # noqa: F821

        with self.assertRaises(InvalidSignature):
            analyze(f)

    def test_lambda_needs_a_name(self) -> None:
        with self.assertRaises(ValueError):
            analyze(lambda x: x)
        self.assertEqual(analyze(lambda: 1, name="one").name, "one")


class Inline(unittest.TestCase):
    def test_inline_refs(self) -> None:
        s = inline_refs(type_schema(Line))
        self.assertNotIn("$defs", s)
        self.assertEqual(s["properties"]["start"]["properties"]["x"], {"type": "number"})


if __name__ == "__main__":
    unittest.main()
