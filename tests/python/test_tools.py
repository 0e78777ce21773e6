from __future__ import annotations

import asyncio
import base64
import os
import tempfile
import unittest
import warnings
from dataclasses import dataclass
from typing import Any, Optional, TypedDict

from fasterapi import (
    Audio,
    CallToolResult,
    EmbeddedResource,
    FastMCP,
    File,
    Image,
    ImageContent,
    McpError,
    ResourceLink,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
    ToolError,
)
from fasterapi._runtime import Dispatcher
from fasterapi.errors import InvalidSignature

try:
    from ._support import FakeCall, call_tool, run
except ImportError:  # run from inside tests/python
    from _support import FakeCall, call_tool, run  # type: ignore[no-redef]

PNG = b"\x89PNG\r\n\x1a\nfake"


@dataclass
class Item:
    name: str
    qty: int = 1


class ItemDict(TypedDict):
    name: str


def tool_of(fn: Any, **kw: Any) -> dict[str, Any]:
    mcp = FastMCP()
    mcp.tool(**kw)(fn)
    return mcp.export()["tools"][0]


class ResultConversion(unittest.TestCase):
    def setUp(self) -> None:
        self.mcp = FastMCP()

    def result_of(self, value: Any) -> dict[str, Any]:
        mcp = FastMCP()

        @mcp.tool()
        def t():  # type: ignore[no-untyped-def]  # no annotation: unstructured
            return value

        return call_tool(mcp, "t")

    def test_plain_values(self) -> None:
        self.assertEqual(self.result_of("hi"), {"content": [{"type": "text", "text": "hi"}]})
        self.assertEqual(self.result_of(None), {"content": []})
        self.assertEqual(self.result_of(42), {"content": [{"type": "text", "text": "42"}]})
        self.assertEqual(self.result_of(True), {"content": [{"type": "text", "text": "true"}]})
        self.assertEqual(self.result_of({"a": 1, "é": [1, 2]}),
                         {"content": [{"type": "text", "text": '{\n  "a": 1,\n  "é": [\n    1,\n    2\n  ]\n}'}]})
        self.assertEqual(self.result_of(Item("x")), {"content": [{"type": "text", "text": '{\n  "name": "x",\n  "qty": 1\n}'}]})

    def test_lists_give_one_block_per_item_as_the_python_sdk(self) -> None:
        # mcp.server.fastmcp's _convert_to_content: a list is the concatenation of its items'
        # blocks (the earlier one-JSON-block rule was PrefectHQ fastmcp 2.x's).
        self.assertEqual(self.result_of([1, 2]), {"content": [{"type": "text", "text": "1"}, {"type": "text", "text": "2"}]})
        self.assertEqual(self.result_of(["a", "b"]), {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]})
        self.assertEqual(self.result_of(["a", None, ["b"]])["content"], [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}])
        mixed = self.result_of(["caption", Image(data=PNG, format="png"), {"k": 1}])
        self.assertEqual(
            mixed["content"],
            [
                {"type": "text", "text": "caption"},
                {"type": "image", "data": base64.b64encode(PNG).decode(), "mimeType": "image/png"},
                {"type": "text", "text": '{\n  "k": 1\n}'},
            ],
        )

    def test_media_helpers(self) -> None:
        self.assertEqual(
            self.result_of(Image(data=PNG))["content"],
            [{"type": "image", "data": base64.b64encode(PNG).decode(), "mimeType": "image/png"}],
        )
        self.assertEqual(
            self.result_of(Audio(data=b"RIFF"))["content"],
            [{"type": "audio", "data": base64.b64encode(b"RIFF").decode(), "mimeType": "audio/wav"}],
        )
        self.assertEqual(
            self.result_of(File(data=b"hello", format="txt", name="note"))["content"],
            [{"type": "resource", "resource": {"uri": "file:///note.plain", "mimeType": "text/plain", "text": "hello"}}],
        )
        blob = self.result_of(File(data=b"\x00\x01", format="octet-stream"))["content"][0]["resource"]
        self.assertEqual(blob, {"uri": "file:///resource.octet-stream", "mimeType": "application/octet-stream", "blob": "AAE="})

    def test_content_objects(self) -> None:
        content = [
            TextContent(text="t"),
            ImageContent(data="AAAA", mimeType="image/png"),
            EmbeddedResource(resource=TextResourceContents(uri="test://x", mimeType="text/plain", text="x")),
            ResourceLink(uri="test://y", name="y"),
        ]
        self.assertEqual(
            self.result_of(content)["content"],
            [
                {"type": "text", "text": "t"},
                {"type": "image", "data": "AAAA", "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "test://x", "mimeType": "text/plain", "text": "x"}},
                {"type": "resource_link", "uri": "test://y", "name": "y"},
            ],
        )

    def test_call_tool_result_passes_through(self) -> None:
        r = self.result_of(CallToolResult(content=[TextContent(text="no")], isError=True))
        self.assertEqual(r, {"content": [{"type": "text", "text": "no"}], "isError": True})

    def test_non_finite_floats_are_a_tool_error(self) -> None:
        # JSON has no NaN: answering null would contradict the tool's own schema.
        r = self.result_of({"x": float("nan")})
        self.assertEqual(r, {"content": [{"type": "text", "text": "Error executing tool t: the result holds nan, which JSON cannot represent"}], "isError": True})


class StructuredOutput(unittest.TestCase):
    def test_primitives_are_wrapped(self) -> None:
        for ann, value, schema in (
            (int, 5, {"type": "integer"}),
            (str, "s", {"type": "string"}),
            (float, 1.5, {"type": "number"}),
            (bool, False, {"type": "boolean"}),
            (type(None), None, {"type": "null"}),
            (list[int], [1, 2], {"type": "array", "items": {"type": "integer"}}),
            (Optional[str], None, {"anyOf": [{"type": "string"}, {"type": "null"}]}),
            (Any, {"k": 1}, {}),
        ):
            with self.subTest(ann=ann):
                mcp = FastMCP()

                def t() -> Any:
                    return value

                t.__annotations__["return"] = ann
                mcp.tool()(t)
                tool = mcp.export()["tools"][0]
                self.assertEqual(
                    tool["outputSchema"],
                    {"type": "object", "properties": {"result": schema}, "required": ["result"]},
                )
                self.assertEqual(call_tool(mcp, "t")["structuredContent"], {"result": value})

    def test_str_return_keeps_the_raw_text(self) -> None:
        def t() -> str:
            return "plain"

        mcp = FastMCP()
        mcp.tool()(t)
        self.assertEqual(call_tool(mcp, "t"), {"content": [{"type": "text", "text": "plain"}], "structuredContent": {"result": "plain"}})

    def test_objects_are_not_wrapped(self) -> None:
        def d() -> Item:
            return Item("bolt", 3)

        self.assertEqual(
            tool_of(d)["outputSchema"],
            {
                "type": "object",
                "title": "Item",
                "properties": {"name": {"type": "string"}, "qty": {"type": "integer", "default": 1}},
                "required": ["name"],
            },
        )
        mcp = FastMCP()
        mcp.tool()(d)
        self.assertEqual(call_tool(mcp, "d")["structuredContent"], {"name": "bolt", "qty": 3})

        def td() -> ItemDict:
            return {"name": "n"}

        self.assertEqual(tool_of(td)["outputSchema"]["properties"], {"name": {"type": "string"}})

        def dd() -> dict[str, int]:
            return {"a": 1}

        self.assertEqual(tool_of(dd)["outputSchema"], {"type": "object", "additionalProperties": {"type": "integer"}})

    def test_no_structured_output_cases(self) -> None:
        def none_ann():  # type: ignore[no-untyped-def]
            return 1

        def bare_dict() -> dict:  # type: ignore[type-arg]
            return {}

        def bare_list() -> list:  # type: ignore[type-arg]
            return []

        def image() -> Image:
            return Image(data=PNG)

        def contents() -> list[TextContent]:
            return []

        for fn in (none_ann, bare_dict, bare_list, image, contents):
            with self.subTest(fn=fn.__name__):
                self.assertNotIn("outputSchema", tool_of(fn))

        def off() -> int:
            return 1

        self.assertNotIn("outputSchema", tool_of(off, structured_output=False))

    def test_forced_structured_output_errors(self) -> None:
        def no_ann():  # type: ignore[no-untyped-def]
            return 1

        with self.assertRaises(InvalidSignature):
            tool_of(no_ann, structured_output=True)

        def bare() -> dict:  # type: ignore[type-arg]
            return {}

        with self.assertRaises(InvalidSignature):
            tool_of(bare, structured_output=True)

    def test_explicit_output_schema(self) -> None:
        def t() -> Any:
            return {"n": 1}

        schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
        mcp = FastMCP()
        mcp.tool(output_schema=schema)(t)
        self.assertEqual(mcp.export()["tools"][0]["outputSchema"], schema)
        self.assertEqual(call_tool(mcp, "t")["structuredContent"], {"n": 1})

    def test_structured_value_of_wrong_shape_is_a_tool_error(self) -> None:
        def t() -> Item:
            return 3  # type: ignore[return-value]

        mcp = FastMCP()
        mcp.tool()(t)
        r = call_tool(mcp, "t")
        self.assertTrue(r["isError"])


class Errors(unittest.TestCase):
    def test_exception_becomes_is_error(self) -> None:
        mcp = FastMCP()

        @mcp.tool()
        def boom(x: int) -> int:
            raise ValueError(f"bad {x}")

        self.assertEqual(
            call_tool(mcp, "boom", {"x": 1}),
            {"content": [{"type": "text", "text": "Error executing tool boom: bad 1"}], "isError": True},
        )
        r = call_tool(mcp, "boom", {"x": 1}, debug=True)
        self.assertIn("Traceback", r["content"][0]["text"])
        self.assertIn("ValueError: bad 1", r["content"][0]["text"])

    def test_tool_error_and_missing_argument(self) -> None:
        mcp = FastMCP()

        @mcp.tool()
        def t(x: int) -> None:
            raise ToolError("nope")

        self.assertEqual(call_tool(mcp, "t", {"x": 1})["content"][0]["text"], "Error executing tool t: nope")
        self.assertEqual(
            call_tool(mcp, "t", {})["content"][0]["text"], "Error executing tool t: Missing required argument: x"
        )

    def test_mcp_error_is_a_protocol_error(self) -> None:
        mcp = FastMCP()

        @mcp.tool()
        def t() -> None:
            raise McpError("denied", code=-32001, data={"why": "x"})

        self.assertEqual(call_tool(mcp, "t"), {"__error__": {"code": -32001, "message": "denied", "data": {"why": "x"}}})

    def test_unknown_tool_and_bad_arguments(self) -> None:
        mcp = FastMCP()
        d = Dispatcher(mcp)
        self.assertEqual(d.call_tool("x", {}, FakeCall())["__error__"]["code"], -32602)
        mcp.tool(lambda: 1, name="one")
        self.assertEqual(d.call_tool("one", [1], FakeCall())["__error__"]["code"], -32602)  # type: ignore[arg-type]
        self.assertEqual(run(d.call_tool("one", None, FakeCall())), {"content": [{"type": "text", "text": "1"}]})

    def test_cancellation_is_not_swallowed(self) -> None:
        mcp = FastMCP()

        @mcp.tool()
        def t() -> None:
            raise asyncio.CancelledError()

        with self.assertRaises(asyncio.CancelledError):
            Dispatcher(mcp).call_tool("t", {}, FakeCall())


class AsyncTools(unittest.TestCase):
    def test_async_tool_returns_awaitable(self) -> None:
        mcp = FastMCP()

        @mcp.tool()
        async def slow(n: int) -> list[int]:
            await asyncio.sleep(0)
            return list(range(n))

        pending = Dispatcher(mcp).call_tool("slow", {"n": 3}, FakeCall())
        self.assertTrue(asyncio.iscoroutine(pending))
        self.assertEqual(run(pending), {"content": [{"type": "text", "text": "0"}, {"type": "text", "text": "1"},
                                                    {"type": "text", "text": "2"}],
                                        "structuredContent": {"result": [0, 1, 2]}})

    def test_async_tool_error(self) -> None:
        mcp = FastMCP()

        @mcp.tool()
        async def bad() -> None:
            await asyncio.sleep(0)
            raise RuntimeError("late")

        self.assertEqual(call_tool(mcp, "bad")["content"][0]["text"], "Error executing tool bad: late")

    def test_sync_function_returning_awaitable(self) -> None:
        mcp = FastMCP()

        async def inner() -> str:
            return "x"

        @mcp.tool()
        def wrapper():  # type: ignore[no-untyped-def]
            return inner()

        self.assertEqual(call_tool(mcp, "wrapper"), {"content": [{"type": "text", "text": "x"}]})


class Registration(unittest.TestCase):
    def test_decorator_forms(self) -> None:
        mcp = FastMCP()

        @mcp.tool
        def a() -> None:
            """A."""

        @mcp.tool()
        def b() -> None: ...

        @mcp.tool("c_name")
        def c() -> None: ...

        @mcp.tool(name="d_name", title="D", description="custom")
        def d() -> None: ...

        def e() -> None: ...

        returned = mcp.tool(e, name="e_name")
        mcp.add_tool(lambda: None, name="f_name")

        @mcp.tool(enabled=False)
        def hidden() -> None: ...

        self.assertIs(returned, e)
        self.assertEqual(a.__name__, "a")  # the function itself comes back
        names = [t["name"] for t in mcp.export()["tools"]]
        self.assertEqual(names, ["a", "b", "c_name", "d_name", "e_name", "f_name"])
        d_tool = mcp.export()["tools"][3]
        self.assertEqual((d_tool["title"], d_tool["description"]), ("D", "custom"))
        self.assertEqual(mcp.export()["tools"][1]["description"], "B")  # humanised fallback

    def test_to_mcp_fields(self) -> None:
        def t(x: int) -> None:
            """Do t.

            Args:
                x: the x
            """

        tool = tool_of(
            t,
            title="T",
            annotations=ToolAnnotations(readOnlyHint=True, openWorldHint=False),
            icons=[{"src": "data:image/png;base64,AA==", "mimeType": "image/png"}],
            meta={"v": 1},
        )
        self.assertEqual(
            tool,
            {
                "name": "t",
                "title": "T",
                "description": "Do t.",
                "inputSchema": {
                    "type": "object",
                    "properties": {"x": {"type": "integer", "description": "the x"}},
                    "required": ["x"],
                    "additionalProperties": False,
                },
                "outputSchema": {"type": "object", "properties": {"result": {"type": "null"}}, "required": ["result"]},
                "annotations": {"readOnlyHint": True, "openWorldHint": False},
                "icons": [{"src": "data:image/png;base64,AA==", "mimeType": "image/png"}],
                "_meta": {"v": 1},
            },
        )
        self.assertEqual(tool_of(t, annotations={"destructiveHint": False, "title": None})["annotations"],
                         {"destructiveHint": False})

    def test_duplicate_keeps_the_first(self) -> None:
        mcp = FastMCP()
        mcp.tool(name="x")(lambda: 1)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            mcp.tool(name="x")(lambda: 2)
        self.assertEqual(len(w), 1)
        self.assertEqual(call_tool(mcp, "x"), {"content": [{"type": "text", "text": "1"}]})
        mcp.remove_tool("x")
        self.assertEqual(mcp.export()["tools"], [])

    def test_exclude_args(self) -> None:
        mcp = FastMCP()

        @mcp.tool(exclude_args=["secret"])
        def t(a: int, secret: str = "s") -> str:
            return f"{a}{secret}"

        self.assertEqual(list(mcp.export()["tools"][0]["inputSchema"]["properties"]), ["a"])
        self.assertEqual(call_tool(mcp, "t", {"a": 1, "secret": "hack"})["structuredContent"], {"result": "1s"})
        def needs_a(a: int) -> int:
            return a

        with self.assertRaises(InvalidSignature):
            mcp.tool(exclude_args=["a"])(needs_a)

    def test_input_schema_override(self) -> None:
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {"address": {"type": "object", "properties": {"street": {"type": "string"}}}},
            "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
            "additionalProperties": False,
        }
        mcp = FastMCP()

        @mcp.tool(description="Tool with JSON Schema 2020-12 features", input_schema=schema)
        def json_schema_2020_12_tool(**arguments: Any) -> str:
            return f"called with: {sorted(arguments)}"

        self.assertEqual(mcp.export()["tools"][0]["inputSchema"], schema)
        self.assertEqual(call_tool(mcp, "json_schema_2020_12_tool", {"name": "n", "address": {}})["content"][0]["text"],
                         "called with: ['address', 'name']")

    def test_methods_and_partials(self) -> None:
        import functools

        class Calc:
            def __init__(self, base: int) -> None:
                self.base = base

            def plus(self, n: int) -> int:
                return self.base + n

        def mul(a: int, b: int) -> int:
            return a * b

        mcp = FastMCP()
        mcp.tool()(Calc(10).plus)
        mcp.tool(name="double")(functools.partial(mul, b=2))
        self.assertEqual(call_tool(mcp, "plus", {"n": 1})["structuredContent"], {"result": 11})
        self.assertEqual(call_tool(mcp, "double", {"a": 4})["structuredContent"], {"result": 8})


class TaskSupport(unittest.TestCase):
    """@mcp.tool(task=...): the tasks extension's execution.taskSupport, and the engine option
    input_before_task, which rides in "x-fasterapi" (the engine strips it from tools/list)."""

    def test_spellings(self) -> None:
        mcp = FastMCP("t")
        for name, task in (("a", True), ("b", "optional"), ("c", "required"), ("d", False),
                           ("e", None), ("f", "forbidden")):
            mcp.tool(name=name, task=task)(lambda: "x")
        tools = {t["name"]: t for t in mcp.export()["tools"]}
        self.assertEqual(tools["a"]["execution"], {"taskSupport": "optional"})
        self.assertEqual(tools["b"]["execution"], {"taskSupport": "optional"})
        self.assertEqual(tools["c"]["execution"], {"taskSupport": "required"})
        for name in "def":
            self.assertNotIn("execution", tools[name])
            self.assertNotIn("x-fasterapi", tools[name])

    def test_input_before_task(self) -> None:
        mcp = FastMCP("t")

        @mcp.tool(task="required", input_before_task=True)
        def asks() -> str:
            return "x"

        @mcp.tool(input_before_task=True)  # meaningless without task: dropped
        def plain() -> str:
            return "x"

        tools = {t["name"]: t for t in mcp.export()["tools"]}
        self.assertEqual(tools["asks"]["x-fasterapi"], {"taskInputFirst": True})
        self.assertNotIn("x-fasterapi", tools["plain"])
        self.assertNotIn("x-fasterapi", mcp._tools["asks"].to_mcp())

    def test_bad_value(self) -> None:
        mcp = FastMCP("t")
        with self.assertRaises(InvalidSignature):
            mcp.tool(name="bad", task="sometimes")(lambda: "x")


class MediaHelpers(unittest.TestCase):
    def test_paths_and_mime_types(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "pic.JPG")
            with open(p, "wb") as f:
                f.write(b"jpg")
            self.assertEqual(Image(path=p).to_image_content().mimeType, "image/jpeg")
            self.assertEqual(Image(path=p).to_image_content().data, base64.b64encode(b"jpg").decode())
            a = os.path.join(d, "s.mp3")
            with open(a, "wb") as f:
                f.write(b"mp3")
            self.assertEqual(Audio(path=a).to_audio_content().mimeType, "audio/mpeg")
            t = os.path.join(d, "n.txt")
            with open(t, "w") as f:
                f.write("note")
            r = File(path=t).to_resource_content().to_dict()
            self.assertEqual(r["resource"]["text"], "note")
            self.assertTrue(r["resource"]["uri"].startswith("file:///"))
        self.assertEqual(Image(data=b"x", format="GIF").mime_type, "image/gif")
        self.assertEqual(Audio(data=b"x", format="ogg").mime_type, "audio/ogg")
        with self.assertRaises(ValueError):
            Image()
        with self.assertRaises(ValueError):
            Image(path="a.png", data=b"x")


if __name__ == "__main__":
    unittest.main()
