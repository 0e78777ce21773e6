from __future__ import annotations

import datetime
import decimal
import enum
import pathlib
import unittest
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NamedTuple, NotRequired, Optional, TypedDict, Union

from fasterapi import Context, Field
from fasterapi.binding import BindError, bind, convert
from fasterapi.signature import analyze


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Num(enum.IntEnum):
    ONE = 1
    TWO = 2


@dataclass
class Point:
    x: float
    y: float = 0.0


@dataclass
class Shape:
    name: str
    points: list[Point]
    color: Color = Color.RED
    meta: dict[str, int] = field(default_factory=dict)


class Movie(TypedDict):
    title: str
    year: NotRequired[int]
    cast: NotRequired[list[Point]]


class Pair(NamedTuple):
    left: int
    right: str = "r"


class Convert(unittest.TestCase):
    def test_primitives(self) -> None:
        self.assertEqual(convert(3, int), 3)
        self.assertEqual(convert(3.0, int), 3)
        self.assertEqual(convert(3, float), 3.0)
        self.assertIsInstance(convert(3, float), float)
        self.assertEqual(convert("x", str), "x")
        self.assertIs(convert(True, bool), True)
        self.assertIsNone(convert(None, None))
        self.assertEqual(convert({"a": [1]}, Any), {"a": [1]})
        self.assertEqual(convert("héllo", bytes), "héllo".encode())

    def test_strict_type_errors(self) -> None:
        for value, tp in ((True, int), (3.5, int), ("3", int), (1, bool), (3, str), ("x", float), (1, None)):
            with self.subTest(value=value, tp=tp), self.assertRaises(BindError):
                convert(value, tp)

    def test_optional_and_union(self) -> None:
        self.assertIsNone(convert(None, Optional[int]))
        self.assertEqual(convert(4, int | None), 4)
        self.assertEqual(convert("4", Union[int, str]), "4")
        self.assertEqual(convert(4, Union[str, int]), 4)
        self.assertEqual(convert(4, Union[float, int]), 4.0)  # first arm that fits, as declared
        with self.assertRaises(BindError):
            convert([1], Union[int, str])

    def test_containers(self) -> None:
        self.assertEqual(convert([1, 2], list[int]), [1, 2])
        self.assertEqual(convert([1, "a"], tuple[int, str]), (1, "a"))
        self.assertEqual(convert([1, 2, 3], tuple[int, ...]), (1, 2, 3))
        self.assertEqual(convert(["a", "a", "b"], set[str]), {"a", "b"})
        self.assertEqual(convert(["a"], frozenset[str]), frozenset({"a"}))
        self.assertEqual(convert({"1": "red"}, dict[int, Color]), {1: Color.RED})
        self.assertEqual(convert([[1, 2]], list[tuple[int, int]]), [(1, 2)])
        with self.assertRaises(BindError):
            convert([1, "a", 3], tuple[int, str])
        with self.assertRaises(BindError):
            convert({"a": 1}, list[int])

    def test_literal_and_enum(self) -> None:
        self.assertEqual(convert("a", Literal["a", "b"]), "a")
        with self.assertRaises(BindError):
            convert("c", Literal["a", "b"])
        with self.assertRaises(BindError):
            convert(1, Literal[True])  # 1 is not True
        self.assertIs(convert("green", Color), Color.GREEN)
        self.assertIs(convert(2, Num), Num.TWO)
        with self.assertRaises(BindError):
            convert("GREEN", Color)  # by value, as pydantic

    def test_dataclass_nested(self) -> None:
        shape = convert(
            {"name": "tri", "points": [{"x": 1}, {"x": 2, "y": 3}], "color": "green", "extra": 1}, Shape
        )
        self.assertEqual(shape, Shape("tri", [Point(1.0), Point(2.0, 3.0)], Color.GREEN))
        with self.assertRaises(BindError) as cm:
            convert({"points": []}, Shape)
        self.assertIn("name", str(cm.exception))
        with self.assertRaises(BindError) as cm:
            convert({"name": "t", "points": [{"x": "no"}]}, Shape, where="shape")
        self.assertIn("shape.points[0].x", str(cm.exception))

    def test_typeddict(self) -> None:
        movie = convert({"title": "Up", "cast": [{"x": 1}], "junk": 1}, Movie)
        self.assertEqual(movie, {"title": "Up", "cast": [Point(1.0)]})
        with self.assertRaises(BindError):
            convert({"year": 2000}, Movie)

    def test_namedtuple(self) -> None:
        self.assertEqual(convert([1], Pair), Pair(1, "r"))
        self.assertEqual(convert({"left": 2, "right": "x"}, Pair), Pair(2, "x"))

    def test_stdlib_types(self) -> None:
        self.assertEqual(convert("2024-05-01T10:00:00Z", datetime.datetime),
                         datetime.datetime(2024, 5, 1, 10, tzinfo=datetime.timezone.utc))
        self.assertEqual(convert("2024-05-01", datetime.date), datetime.date(2024, 5, 1))
        self.assertEqual(convert("10:30", datetime.time), datetime.time(10, 30))
        u = uuid.uuid4()
        self.assertEqual(convert(str(u), uuid.UUID), u)
        self.assertEqual(convert(1.5, decimal.Decimal), decimal.Decimal("1.5"))
        self.assertEqual(convert("/tmp/x", pathlib.Path), pathlib.Path("/tmp/x"))
        with self.assertRaises(BindError):
            convert("not a date", datetime.date)

    def test_annotated_constraints(self) -> None:
        tp = Annotated[int, Field(ge=1, le=3)]
        self.assertEqual(convert(2, tp), 2)
        with self.assertRaises(BindError):
            convert(4, tp)
        with self.assertRaises(BindError):
            convert("abc", Annotated[str, Field(pattern=r"^\d+$")])

    def test_lax_mode_parses_strings(self) -> None:
        self.assertEqual(convert("5", int, lax=True), 5)
        self.assertEqual(convert("2.5", float, lax=True), 2.5)
        self.assertIs(convert("true", bool, lax=True), True)
        self.assertIs(convert("no", bool, lax=True), False)
        self.assertEqual(convert("[1, 2]", list[int], lax=True), [1, 2])
        self.assertEqual(convert('{"x": 1}', Point, lax=True), Point(1.0))
        self.assertIs(convert("2", Num, lax=True), Num.TWO)
        self.assertIsNone(convert("", Optional[int], lax=True))


class ConvertCached(unittest.TestCase):
    """A class's fields and kind are cached after its first conversion: later ones must give
    the same results and errors, and a class made at run time must not be kept alive."""

    def test_second_conversion_same_as_first(self) -> None:
        for _ in range(3):
            p = convert({"x": 1, "y": 2}, Point)
            self.assertEqual((type(p), p.x, p.y), (Point, 1, 2))
            self.assertIs(convert(p, Point), p)
            with self.assertRaises(BindError):
                convert({"x": "no", "y": 2}, Point)
            with self.assertRaises(BindError):
                convert([1, 2], Point)
            self.assertEqual(convert({"title": "t", "year": 1999}, Movie), {"title": "t", "year": 1999})
            with self.assertRaises(BindError):
                convert({"year": 1999}, Movie)

    def test_run_time_class_is_not_kept(self) -> None:
        import gc
        import weakref
        from dataclasses import make_dataclass

        tp = make_dataclass("Tmp", [("a", int)])
        self.assertEqual(convert({"a": 1}, tp).a, 1)
        ref = weakref.ref(tp)
        del tp
        gc.collect()
        self.assertIsNone(ref())


class Bind(unittest.TestCase):
    def test_kwargs_defaults_and_context(self) -> None:
        def f(a: int, b: str = "x", *, c: Point, ctx: Context) -> None: ...

        ctx = Context()
        args, kwargs = bind(analyze(f), {"a": 1, "c": {"x": 2}}, ctx)
        self.assertEqual(args, [])
        self.assertEqual(kwargs, {"a": 1, "c": Point(2.0), "ctx": ctx})

    def test_missing_arguments_are_all_named(self) -> None:
        def f(a: int, b: int, c: int = 0) -> None: ...

        with self.assertRaises(BindError) as cm:
            bind(analyze(f), {})
        self.assertEqual(str(cm.exception), "Missing required arguments: a, b")

    def test_positional_only_and_field_defaults(self) -> None:
        def f(a: int = 1, /, b: int = Field(7)) -> None: ...

        self.assertEqual(bind(analyze(f), {}), ([1], {"b": 7}))
        self.assertEqual(bind(analyze(f), {"a": 5, "b": 6}), ([5], {"b": 6}))

    def test_unknown_arguments_ignored_or_passed_to_kwargs(self) -> None:
        def f(a: int) -> None: ...

        def g(a: int, **rest: Any) -> None: ...

        self.assertEqual(bind(analyze(f), {"a": 1, "zzz": 2}), ([], {"a": 1}))
        self.assertEqual(bind(analyze(g), {"a": 1, "zzz": 2}), ([], {"a": 1, "zzz": 2}))

    def test_json_text_for_structured_parameters_is_parsed(self) -> None:
        def f(items: list[int], p: Point, s: str) -> None: ...

        _, kwargs = bind(analyze(f), {"items": "[1, 2]", "p": '{"x": 1}', "s": "[1]"})
        self.assertEqual(kwargs, {"items": [1, 2], "p": Point(1.0), "s": "[1]"})

    def test_scalar_fast_path_agrees_with_the_general_path(self) -> None:
        # All-scalar signatures bind through a precomputed plan; any argument whose JSON type
        # is not exactly the parameter's must still take the general path and its errors.
        def f(n: int, x: float, s: str, flag: bool = False, *, ctx: Context) -> None: ...

        info = analyze(f)
        ctx = Context()
        self.assertEqual(bind(info, {"n": 1, "x": 2.5, "s": "a"}, ctx)[1], {"n": 1, "x": 2.5, "s": "a", "ctx": ctx})
        self.assertIsNotNone(info.__dict__.get("_plan"))  # the fast path was planned
        _, kwargs = bind(info, {"n": 1, "x": 2, "s": "a", "flag": True}, ctx)
        self.assertIsInstance(kwargs["x"], float)  # an int for a float parameter is converted
        self.assertEqual(kwargs["flag"], True)
        for bad in ({"n": True, "x": 1.0, "s": "a"}, {"n": 1, "x": 1.0, "s": 3}, {"n": 1.5, "x": 1.0, "s": "a"}):
            with self.subTest(bad=bad), self.assertRaises(BindError):
                bind(info, bad, ctx)
        with self.assertRaises(BindError) as cm:
            bind(info, {"x": 1.0}, ctx)
        self.assertEqual(str(cm.exception), "Missing required arguments: n, s")
        first, _ = bind(info, {"n": 1, "x": 1.0, "s": "a"}, ctx)
        first.append("mutated")  # each call gets its own positional list
        self.assertEqual(bind(info, {"n": 1, "x": 1.0, "s": "a"}, ctx)[0], [])


if __name__ == "__main__":
    unittest.main()
