from __future__ import annotations

import asyncio
import base64
import os
import tempfile
import unittest
from dataclasses import dataclass
from typing import Any

from fasterapi import (
    BinaryResource,
    BlobResourceContents,
    Context,
    FastMCP,
    FileResource,
    Image,
    McpError,
    ReadResourceContents,
    ResourceError,
    TextResource,
    TextResourceContents,
)
from fasterapi._runtime import Dispatcher
from fasterapi.resources import UriTemplate

try:
    from ._support import FakeCall, read_resource, run
except ImportError:
    from _support import FakeCall, read_resource, run  # type: ignore[no-redef]


@dataclass
class Profile:
    id: int
    name: str


class Templates(unittest.TestCase):
    def test_level_one(self) -> None:
        t = UriTemplate("users://{id}/profile")
        self.assertEqual(t.path_vars, ["id"])
        self.assertEqual(t.match("users://42/profile"), {"id": "42"})
        self.assertEqual(t.match("users://a%20b/profile"), {"id": "a b"})
        self.assertIsNone(t.match("users://4/2/profile"))
        self.assertIsNone(t.match("users://42/profile/x"))
        self.assertIsNone(t.match("users:///profile"))

    def test_literal_parts_are_escaped(self) -> None:
        t = UriTemplate("v1.api://{x}.json")
        self.assertEqual(t.match("v1.api://a.json"), {"x": "a"})
        self.assertIsNone(t.match("v1Xapi://a.json"))

    def test_multi_segment_and_operators(self) -> None:
        self.assertEqual(UriTemplate("files://{path*}").match("files://a/b/c.txt"), {"path": "a/b/c.txt"})
        self.assertEqual(UriTemplate("files://{+path}").match("files://a/b"), {"path": "a/b"})
        self.assertEqual(UriTemplate("repo://x{/owner,name}").match("repo://x/me/proj"), {"owner": "me", "name": "proj"})
        self.assertEqual(UriTemplate("map://{a},{b}").match("map://1,2"), {"a": "1", "b": "2"})

    def test_query(self) -> None:
        t = UriTemplate("search://{kind}{?q,limit}")
        self.assertEqual(t.query_vars, ["q", "limit"])
        self.assertEqual(t.match("search://books"), {"kind": "books"})
        self.assertEqual(t.match("search://books?q=dune&limit=5&zzz=1"), {"kind": "books", "q": "dune", "limit": "5"})

    def test_not_a_template(self) -> None:
        self.assertFalse(UriTemplate("config://app").is_template)


class Reading(unittest.TestCase):
    def setUp(self) -> None:
        mcp = FastMCP()
        self.mcp = mcp

        @mcp.resource("test://static-text", mime_type="text/plain", title="Static")
        def static_text() -> str:
            """A static text resource."""
            return "This is the content of the static text resource."

        @mcp.resource("test://static-binary", mime_type="image/png")
        def static_binary() -> bytes:
            return b"\x89PNG"

        @mcp.resource("test://json")
        def as_json() -> dict[str, Any]:
            return {"a": [1, 2]}

        @mcp.resource("test://template/{id}/data")
        def template(id: str) -> str:
            return f'{{"id":"{id}","templateTest":true}}'

        @mcp.resource("users://{user_id}", mime_type="application/json")
        def user(user_id: int, ctx: Context) -> Profile:
            assert isinstance(user_id, int)
            ctx.info(f"user {user_id}")
            return Profile(user_id, "Ada")

        @mcp.resource("search://{kind}{?limit}")
        async def search(kind: str, limit: int = 10) -> list[str]:
            await asyncio.sleep(0)
            return [kind] * limit

        @mcp.resource("multi://parts")
        def parts() -> list[Any]:
            return [
                TextResourceContents(uri="multi://parts#1", mimeType="text/plain", text="one"),
                BlobResourceContents(uri="multi://parts#2", mimeType="application/octet-stream", blob="AA=="),
                ReadResourceContents(content="three", mime_type="text/markdown"),
            ]

        @mcp.resource("test://image")
        def image() -> Image:
            return Image(data=b"png", format="png")

        @mcp.resource("test://broken/{x}")
        def broken(x: str) -> str:
            raise ValueError(f"cannot read {x}")

        @mcp.resource("test://denied")
        def denied() -> str:
            raise McpError("forbidden", code=-32001)

    def test_static_text(self) -> None:
        self.assertEqual(
            read_resource(self.mcp, "test://static-text"),
            {"contents": [{"uri": "test://static-text", "mimeType": "text/plain",
                           "text": "This is the content of the static text resource."}]},
        )

    def test_bytes_become_base64_blob(self) -> None:
        self.assertEqual(
            read_resource(self.mcp, "test://static-binary"),
            {"contents": [{"uri": "test://static-binary", "mimeType": "image/png",
                           "blob": base64.b64encode(b"\x89PNG").decode()}]},
        )

    def test_json_values(self) -> None:
        self.assertEqual(
            read_resource(self.mcp, "test://json"),
            {"contents": [{"uri": "test://json", "mimeType": "application/json", "text": '{\n  "a": [\n    1,\n    2\n  ]\n}'}]},
        )

    def test_template_matching_and_conversion(self) -> None:
        r = read_resource(self.mcp, "test://template/123/data")
        self.assertEqual(r["contents"][0]["uri"], "test://template/123/data")
        self.assertIn("123", r["contents"][0]["text"])
        self.assertEqual(
            read_resource(self.mcp, "users://7"),
            {"contents": [{"uri": "users://7", "mimeType": "application/json", "text": '{\n  "id": 7,\n  "name": "Ada"\n}'}]},
        )

    def test_async_template_with_query(self) -> None:
        pending = Dispatcher(self.mcp).read_resource("search://x?limit=2", FakeCall())
        self.assertTrue(asyncio.iscoroutine(pending))
        self.assertEqual(run(pending)["contents"][0]["text"], '[\n  "x",\n  "x"\n]')
        self.assertEqual(len(eval(read_resource(self.mcp, "search://y")["contents"][0]["text"])), 10)  # noqa: S307

    def test_several_contents(self) -> None:
        self.assertEqual(
            read_resource(self.mcp, "multi://parts")["contents"],
            [
                {"uri": "multi://parts#1", "mimeType": "text/plain", "text": "one"},
                {"uri": "multi://parts#2", "mimeType": "application/octet-stream", "blob": "AA=="},
                {"uri": "multi://parts", "mimeType": "text/markdown", "text": "three"},
            ],
        )

    def test_image_helper(self) -> None:
        self.assertEqual(
            read_resource(self.mcp, "test://image")["contents"],
            [{"uri": "test://image", "mimeType": "image/png", "blob": base64.b64encode(b"png").decode()}],
        )

    def test_not_found(self) -> None:
        self.assertEqual(
            read_resource(self.mcp, "test://nothing"),
            {"__error__": {"code": -32002, "message": "Resource not found: test://nothing", "data": {"uri": "test://nothing"}}},
        )

    def test_function_errors(self) -> None:
        self.assertEqual(
            read_resource(self.mcp, "test://broken/a"),
            {"__error__": {"code": -32603, "message": "Error reading resource test://broken/a: cannot read a",
                           "data": {"uri": "test://broken/a"}}},
        )
        self.assertEqual(read_resource(self.mcp, "test://denied"), {"__error__": {"code": -32001, "message": "forbidden"}})
        err = read_resource(self.mcp, "users://abc")["__error__"]
        self.assertEqual(err["code"], -32603)
        self.assertIn("expected an integer", err["message"])

    def test_listing(self) -> None:
        table = self.mcp.export()
        self.assertEqual(
            table["resources"][0],
            {"uri": "test://static-text", "name": "static_text", "title": "Static",
             "description": "A static text resource.", "mimeType": "text/plain"},
        )
        self.assertEqual(table["resources"][2], {"uri": "test://json", "name": "as_json", "mimeType": "application/json"})
        self.assertEqual([t["uriTemplate"] for t in table["resourceTemplates"]],
                         ["test://template/{id}/data", "users://{user_id}", "search://{kind}{?limit}", "test://broken/{x}"])
        self.assertEqual(table["resourceTemplates"][0], {"uriTemplate": "test://template/{id}/data", "name": "template",
                                                         "mimeType": "text/plain"})

    def test_resource_objects(self) -> None:
        mcp = FastMCP()
        mcp.add_resource(TextResource(uri="r://t", name="t", text="hello", mime_type="text/plain"))
        mcp.add_resource(BinaryResource(uri="r://b", name="b", data=b"\x00"))
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "f.txt")
            with open(p, "w") as f:
                f.write("file text")
            mcp.add_resource(FileResource(uri="r://f", name="f", path=p))
            self.assertEqual(read_resource(mcp, "r://f")["contents"][0]["text"], "file text")
        self.assertEqual(read_resource(mcp, "r://t")["contents"], [{"uri": "r://t", "mimeType": "text/plain", "text": "hello"}])
        self.assertEqual(read_resource(mcp, "r://b")["contents"], [{"uri": "r://b", "mimeType": "application/octet-stream", "blob": "AA=="}])
        self.assertEqual(read_resource(mcp, "r://f")["__error__"]["code"], -32603)  # the file is gone now


class Registration(unittest.TestCase):
    def test_parameter_mismatches(self) -> None:
        mcp = FastMCP()
        with self.assertRaises(ValueError):
            mcp.resource("x://{a}")(lambda b: b)
        with self.assertRaises(ValueError):

            @mcp.resource("x://{a}")
            def two(a: str, b: str) -> str:
                return a + b

        with self.assertRaises(ValueError):

            @mcp.resource("x://static")
            def needs(a: str) -> str:
                return a

        with self.assertRaises(TypeError):
            mcp.resource(lambda: 1)  # type: ignore[arg-type]

        @mcp.resource("x://{a}/{b}")
        def ok(a: str, b: str = "d", ctx: Context | None = None) -> str:
            return a + b

        self.assertEqual(len(mcp.export()["resourceTemplates"]), 1)

    def test_context_reads_another_resource(self) -> None:
        mcp = FastMCP()

        @mcp.resource("data://a")
        def a() -> str:
            return "A"

        @mcp.resource("data://b")
        def b() -> bytes:
            return b"B"

        @mcp.tool()
        def both(ctx: Context) -> str:
            parts = ctx.read_resource("data://a") + ctx.read_resource("data://b")
            return repr([(p.content, p.mime_type) for p in parts])

        @mcp.tool()
        async def missing(ctx: Context) -> str:
            await ctx.read_resource("data://zzz")
            return "unreachable"

        d = Dispatcher(mcp)
        self.assertEqual(
            run(d.call_tool("both", {}, FakeCall()))["structuredContent"],
            {"result": "[('A', 'text/plain'), (b'B', 'application/octet-stream')]"},
        )
        r = run(d.call_tool("missing", {}, FakeCall()))
        self.assertTrue(r["isError"])
        self.assertIn("Resource not found: data://zzz", r["content"][0]["text"])
        self.assertTrue(issubclass(ResourceError, Exception))


if __name__ == "__main__":
    unittest.main()
