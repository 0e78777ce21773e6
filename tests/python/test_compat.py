"""Servers written for FastMCP run unchanged (issue 9 §1): pydantic's Field recognised by shape,
content objects of other libraries, CallToolResult(_meta=), the official SDK's list rule,
non-finite results, and the module paths people import.

pydantic and the `mcp` package are not importable under the embedded Python, so small stand-ins
with the same class names and attributes play them (the py311 suite also runs the pydantic
tests against Debian's real pydantic when it is installed).
"""

from __future__ import annotations

import math
import unittest
from typing import Annotated, Any, Literal

from fasterapi import CallToolResult, Context, FastMCP, TextContent
from fasterapi._runtime import Dispatcher

try:  # Debian's python3-pydantic (v1) on the py311 suite; absent for the embedded Python
    import pydantic
except ImportError:
    pydantic = None

try:
    from ._support import FakeCall, call_tool, run
except ImportError:  # run from inside tests/python
    from _support import FakeCall, call_tool, run  # type: ignore[no-redef]


# ---- pydantic v2 stand-ins: FieldInfo with annotated_types metadata ---------------------------

class PydanticUndefinedType:
    def __repr__(self) -> str:
        return "PydanticUndefined"


PydanticUndefined = PydanticUndefinedType()


def _at(name: str, attr: str) -> type:
    """An annotated_types constraint class (Ge, MaxLen, ...) holding one attribute."""
    def init(self: Any, value: Any) -> None:
        setattr(self, attr, value)
    return type(name, (), {"__init__": init, "__module__": "annotated_types"})


Ge, Le, Gt, Lt = _at("Ge", "ge"), _at("Le", "le"), _at("Gt", "gt"), _at("Lt", "lt")
MinLen, MaxLen = _at("MinLen", "min_length"), _at("MaxLen", "max_length")


class _PydanticGeneralMetadata:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


class FieldInfo:  # pydantic.fields.FieldInfo, v2 shape
    def __init__(self, default: Any = PydanticUndefined, *, default_factory: Any = None,
                 description: str | None = None, title: str | None = None, examples: Any = None,
                 ge: Any = None, le: Any = None, gt: Any = None, lt: Any = None,
                 min_length: Any = None, max_length: Any = None, pattern: str | None = None,
                 json_schema_extra: Any = None) -> None:
        self.default = default
        self.default_factory = default_factory
        self.description = description
        self.title = title
        self.examples = examples
        self.json_schema_extra = json_schema_extra
        self.alias = None
        self.metadata: list[Any] = []
        for cls, v in ((Ge, ge), (Le, le), (Gt, gt), (Lt, lt), (MinLen, min_length), (MaxLen, max_length)):
            if v is not None:
                self.metadata.append(cls(v))
        if pattern is not None:
            self.metadata.append(_PydanticGeneralMetadata(pattern=pattern))


def Field(default: Any = PydanticUndefined, **kw: Any) -> Any:  # noqa: N802
    return FieldInfo(default, **kw)


class UndefinedType:  # pydantic v1's marker
    pass


class V1FieldInfo:  # pydantic v1 FieldInfo: constraints are its own attributes
    def __init__(self, default: Any = UndefinedType(), **kw: Any) -> None:
        self.default = default
        self.default_factory = None
        self.description = kw.pop("description", None)
        self.title = None
        for name in ("ge", "le", "gt", "lt", "min_length", "max_length", "regex", "min_items", "max_items"):
            setattr(self, name, kw.pop(name, None))
        self.extra = kw


V1FieldInfo.__name__ = "FieldInfo"


def schema_of(fn: Any) -> dict[str, Any]:
    mcp = FastMCP()
    mcp.tool()(fn)
    return mcp.export()["tools"][0]


class PydanticField(unittest.TestCase):
    def test_the_official_parameter_descriptions_example(self) -> None:
        # python-sdk README, "parameter_descriptions": Field as the default.
        mcp = FastMCP()

        @mcp.tool()
        def greet_user(
            name: str = Field(description="The name of the person to greet"),
            title: str = Field(description="Optional title like Mr/Ms/Dr", default=""),
            times: int = Field(description="Number of times to repeat the greeting", default=1),
        ) -> str:
            return f"{title} {name}".strip() * times

        schema = mcp.export()["tools"][0]["inputSchema"]
        self.assertEqual(schema, {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "The name of the person to greet"},
                "title": {"type": "string", "description": "Optional title like Mr/Ms/Dr", "default": ""},
                "times": {"type": "integer", "description": "Number of times to repeat the greeting", "default": 1},
            },
            "required": ["name"],
            "additionalProperties": False,
        })
        # An omitted argument gets the Field's default, never the FieldInfo object.
        self.assertEqual(call_tool(mcp, "greet_user", {"name": "Ada", "times": 2})["content"][0]["text"], "AdaAda")
        self.assertEqual(call_tool(mcp, "greet_user", {"name": "Ada"})["structuredContent"], {"result": "Ada"})

    def test_constraints_inside_annotated_reach_the_schema(self) -> None:
        def t(
            n: Annotated[int, Field(ge=1, le=10, description="how many")],
            word: Annotated[str, Field(min_length=2, max_length=5, pattern="^[a-z]+$")] = "ab",
            tags: Annotated[list[str], Field(max_length=3)] = [],  # noqa: B006
            ratio: Annotated[float, Gt(0), Lt(1)] = 0.5,
            made: list[str] = Field(default_factory=list, examples=[["x"]], json_schema_extra={"x-kind": "k"}),
        ) -> int:
            return n

        props = schema_of(t)["inputSchema"]["properties"]
        self.assertEqual(props["n"], {"type": "integer", "description": "how many", "minimum": 1, "maximum": 10})
        self.assertEqual(props["word"], {"type": "string", "minLength": 2, "maxLength": 5,
                                         "pattern": "^[a-z]+$", "default": "ab"})
        self.assertEqual(props["tags"], {"type": "array", "items": {"type": "string"}, "maxItems": 3, "default": []})
        self.assertEqual(props["ratio"], {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "default": 0.5})
        self.assertEqual(props["made"], {"type": "array", "items": {"type": "string"}, "examples": [["x"]], "x-kind": "k"})
        self.assertEqual(schema_of(t)["inputSchema"]["required"], ["n"])

    def test_constraints_are_enforced_for_in_process_calls(self) -> None:
        mcp = FastMCP()

        @mcp.tool()
        def t(word: Annotated[str, Field(pattern="^[a-z]+$")], n: int = Field(1, ge=1)) -> str:
            return word * n

        self.assertEqual(call_tool(mcp, "t", {"word": "ab"})["content"][0]["text"], "ab")
        bad = call_tool(mcp, "t", {"word": "AB"})
        self.assertTrue(bad["isError"])
        self.assertIn("must match pattern", bad["content"][0]["text"])

    def test_pydantic_v1_shape(self) -> None:
        def t(n: int = V1FieldInfo(3, description="d", ge=0, extra_key=None),
              s: Annotated[str, V1FieldInfo(regex="^x", max_length=4)] = "x") -> int:
            return n

        props = schema_of(t)["inputSchema"]["properties"]
        self.assertEqual(props["n"], {"type": "integer", "description": "d", "minimum": 0, "default": 3})
        self.assertEqual(props["s"], {"type": "string", "maxLength": 4, "pattern": "^x", "default": "x"})

    def test_real_pydantic_when_installed(self) -> None:
        if pydantic is None:
            self.skipTest("pydantic is not installed for this Python")

        def t(name: str = pydantic.Field(description="who"),
              n: Annotated[int, pydantic.Field(ge=1, le=5)] = 2) -> str:
            return name * n

        mcp = FastMCP()
        mcp.tool()(t)
        schema = mcp.export()["tools"][0]["inputSchema"]
        self.assertEqual(schema["properties"]["name"], {"type": "string", "description": "who"})
        self.assertEqual(schema["properties"]["n"], {"type": "integer", "minimum": 1, "maximum": 5, "default": 2})
        self.assertEqual(schema["required"], ["name"])
        self.assertEqual(call_tool(mcp, "t", {"name": "a"})["content"][0]["text"], "aa")


# ---- content of other libraries, by shape ------------------------------------------------------

class ForeignText:  # a plain class shaped like mcp.types.TextContent
    def __init__(self, text: str) -> None:
        self.type = "text"
        self.text = text
        self.annotations = None
        self.meta = None


ForeignText.__name__ = "TextContent"


class ForeignModel:
    """A pydantic-like content model: model_dump(by_alias=True) spells meta as _meta."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def model_dump(self, mode: str = "python", by_alias: bool = False, exclude_none: bool = False) -> dict[str, Any]:
        out = {("_meta" if k == "meta" and by_alias else k): v for k, v in self.__dict__.items()}
        return {k: v for k, v in out.items() if v is not None or not exclude_none}


class ForeignResult:  # mcp.types.CallToolResult's shape
    def __init__(self, content: list[Any], isError: bool = False, meta: Any = None) -> None:  # noqa: N803
        self.content = content
        self.isError = isError
        self.structuredContent = None
        self.meta = meta


def result_of(value: Any, ann: Any = None) -> dict[str, Any]:
    mcp = FastMCP()

    def t():  # type: ignore[no-untyped-def]
        return value

    if ann is not None:
        t.__annotations__["return"] = ann
    mcp.tool()(t)
    return call_tool(mcp, "t")


class ForeignContent(unittest.TestCase):
    def test_blocks_recognised_by_shape(self) -> None:
        img = ForeignModel(type="image", data="AAAA", mimeType="image/png", annotations=None, meta={"k": 1})
        res = ForeignModel(type="resource", resource={"uri": "file:///a.txt", "text": "hi"})
        link = ForeignModel(type="resource_link", uri="file:///b", name="b", title=None)
        r = result_of([ForeignText("one"), img, res, link])
        self.assertEqual(r["content"], [
            {"type": "text", "text": "one"},
            {"type": "image", "data": "AAAA", "mimeType": "image/png", "_meta": {"k": 1}},
            {"type": "resource", "resource": {"uri": "file:///a.txt", "text": "hi"}},
            {"type": "resource_link", "uri": "file:///b", "name": "b"},
        ])
        self.assertNotIn("isError", r)

    def test_plain_objects_with_nested_resource(self) -> None:
        class Contents:
            def __init__(self) -> None:
                self.uri, self.mimeType, self.text, self.blob = "file:///c", "text/plain", "body", None

        class Embedded:
            def __init__(self) -> None:
                self.type, self.resource, self.annotations = "resource", Contents(), None

        self.assertEqual(result_of(Embedded())["content"], [
            {"type": "resource", "resource": {"uri": "file:///c", "mimeType": "text/plain", "text": "body"}}])

    def test_a_foreign_call_tool_result(self) -> None:
        r = result_of(ForeignResult([ForeignText("x")], isError=True, meta={"trace": "t1"}))
        self.assertEqual(r, {"content": [{"type": "text", "text": "x"}], "isError": True, "_meta": {"trace": "t1"}})

    def test_call_tool_result_accepts_the_meta_alias(self) -> None:
        r = result_of(CallToolResult(content=[TextContent(text="ok")], _meta={"a": 1}))
        self.assertEqual(r, {"content": [{"type": "text", "text": "ok"}], "_meta": {"a": 1}})
        self.assertEqual(TextContent(text="x", _meta={"b": 2}).to_dict(), {"type": "text", "text": "x", "_meta": {"b": 2}})

    def test_content_annotations_give_no_output_schema(self) -> None:
        def t() -> list[ForeignText]:  # list[mcp.types.TextContent]
            return [ForeignText("a"), ForeignText("b")]

        tool = schema_of(t)
        self.assertNotIn("outputSchema", tool)
        mcp = FastMCP()
        mcp.tool()(t)
        self.assertEqual(call_tool(mcp, "t"), {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]})

    def test_list_of_str_is_one_block_per_item(self) -> None:
        def t() -> list[str]:
            return ["a", "b"]

        mcp = FastMCP()
        mcp.tool()(t)
        self.assertEqual(call_tool(mcp, "t"), {
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            "structuredContent": {"result": ["a", "b"]}})


class ForeignPromptMessages(unittest.TestCase):
    def test_prompt_messages_by_shape(self) -> None:
        class PromptMessage:  # mcp.types.PromptMessage's shape
            def __init__(self, role: str, content: Any) -> None:
                self.role, self.content = role, content

        mcp = FastMCP()

        @mcp.prompt()
        def p() -> list:
            return [PromptMessage("user", ForeignText("q")), PromptMessage("assistant", {"type": "text", "text": "a"})]

        result = run(mcp.get_prompt("p"))
        self.assertEqual(result["messages"], [
            {"role": "user", "content": {"type": "text", "text": "q"}},
            {"role": "assistant", "content": {"type": "text", "text": "a"}}])


class NonFinite(unittest.TestCase):
    def test_inf_and_nan_are_tool_errors(self) -> None:
        mcp = FastMCP()

        @mcp.tool()
        def ratio(a: float, b: float) -> float:
            return a / b if b else math.inf

        @mcp.tool()
        def stats() -> dict[str, float]:
            return {"mean": math.nan}

        r = call_tool(mcp, "ratio", {"a": 1, "b": 0})
        self.assertEqual(r, {"content": [{"type": "text", "text": "Error executing tool ratio: the result holds inf, which JSON cannot represent"}],
                             "isError": True})
        self.assertTrue(call_tool(mcp, "stats")["isError"])
        self.assertEqual(call_tool(mcp, "ratio", {"a": 1, "b": 4})["structuredContent"], {"result": 0.25})


class SessionHandle(FakeCall):
    """A host handle that can also notify and send requests (answers are canned)."""

    def __init__(self, progress_token: Any = None, roots: Any = None) -> None:
        super().__init__()
        self.progress_token = progress_token
        self.notes: list[tuple[str, Any]] = []
        self.requests: list[tuple[str, Any]] = []
        self.roots = roots or {"roots": []}

    def notify(self, method: str, params: Any = None) -> None:
        self.notes.append((method, params))

    def request(self, method: str, params: Any = None) -> Any:
        self.requests.append((method, params))

        async def later() -> Any:
            return self.roots

        return later()

    def sample(self, params: Any) -> Any:
        self.requests.append(("sampling/createMessage", params))
        return {"role": "assistant", "content": {"type": "text", "text": "sum"}, "model": "m", "stopReason": "endTurn"}


class SessionAndRequestContext(unittest.TestCase):
    def setUp(self) -> None:
        self.mcp = FastMCP("s")
        self.disp = Dispatcher(self.mcp)
        self.disp.lifespan_context = {"db": "conn"}

    def call(self, fn: Any, handle: Any, args: Any = None) -> dict[str, Any]:
        self.mcp.tool()(fn)
        return run(self.disp.call_tool(fn.__name__, args or {}, handle))

    def test_request_context(self) -> None:
        def t(ctx: Context) -> str:
            rc = ctx.request_context
            return f"{rc.request_id}|{rc.meta.progressToken}|{rc.lifespan_context['db']}|{rc.request}"

        r = self.call(t, SessionHandle(progress_token="p9"))
        self.assertEqual(r["content"][0]["text"], "7|p9|conn|None")

        def u(ctx: Context) -> str:
            return repr(ctx.request_context.meta)

        self.assertEqual(self.call(u, SessionHandle())["content"][0]["text"], "None")

    def test_session_notifications(self) -> None:
        handle = SessionHandle()

        async def t(ctx: Context) -> str:
            await ctx.session.send_log_message("warning", {"k": 1}, logger="L")
            await ctx.session.send_progress_notification("tok", 1, total=3, message="m")
            await ctx.session.send_progress_notification(None, 1)
            await ctx.session.send_resource_updated("res://x")
            await ctx.session.send_tool_list_changed()
            await ctx.session.send_resource_list_changed()
            await ctx.session.send_prompt_list_changed()
            return "ok"

        self.assertEqual(self.call(t, handle)["content"][0]["text"], "ok")
        self.assertEqual(handle.logs, [("warning", {"k": 1}, "L")])
        self.assertEqual(handle.notes, [
            ("notifications/progress", {"progressToken": "tok", "progress": 1, "total": 3, "message": "m"}),
            ("notifications/resources/updated", {"uri": "res://x"}),
            ("notifications/tools/list_changed", None),
            ("notifications/resources/list_changed", None),
            ("notifications/prompts/list_changed", None),
        ])

    def test_session_requests(self) -> None:
        handle = SessionHandle(roots={"roots": [{"uri": "file:///a", "name": "a"}]})

        async def t(ctx: Context) -> str:
            roots = await ctx.session.list_roots()
            msg = await ctx.session.create_message([TextContent(text="hi")], max_tokens=5)
            return f"{roots.roots[0].uri} {roots.roots[0].name} {msg.content.text} {msg.model} {msg.stopReason}"

        self.assertEqual(self.call(t, handle)["content"][0]["text"], "file:///a a sum m endTurn")
        self.assertEqual(handle.requests[0], ("roots/list", None))
        self.assertEqual(handle.requests[1][1]["maxTokens"], 5)

    def test_a_host_without_notify_says_so(self) -> None:
        async def t(ctx: Context) -> str:
            await ctx.session.send_tool_list_changed()
            return "sent"

        r = self.call(t, FakeCall())
        self.assertEqual(r.get("__error__", {}).get("code"), -32601, r)


class Lifespan(unittest.TestCase):
    def test_entered_and_left_in_one_task(self) -> None:
        import asyncio
        from contextlib import asynccontextmanager

        events: list[Any] = []

        @asynccontextmanager
        async def life(server: FastMCP) -> Any:
            events.append(("enter", server.name, asyncio.current_task()))
            yield {"conn": 1}
            events.append(("exit", asyncio.current_task()))

        mcp = FastMCP("L", lifespan=life)
        disp = Dispatcher(mcp)
        loop = asyncio.new_event_loop()
        try:
            disp.start(loop)
            self.assertEqual(disp.lifespan_context, {"conn": 1})
            disp.stop(loop)
        finally:
            loop.close()
        self.assertEqual([e[0] for e in events], ["enter", "exit"])
        self.assertIs(events[0][2], events[1][1])  # same task: anyio cancel scopes allow it

    def test_plain_context_manager_and_no_lifespan(self) -> None:
        import asyncio
        from contextlib import contextmanager

        @contextmanager
        def life(server: FastMCP) -> Any:
            yield "state"

        loop = asyncio.new_event_loop()
        try:
            disp = Dispatcher(FastMCP(lifespan=life))
            disp.start(loop)
            self.assertEqual(disp.lifespan_context, "state")
            disp.stop(loop)
            bare = Dispatcher(FastMCP())
            bare.start(loop)
            self.assertEqual(bare.lifespan_context, {})
        finally:
            loop.close()

    def test_failure_is_raised_with_a_note(self) -> None:
        import asyncio
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def life(server: FastMCP) -> Any:
            raise OSError("db down")
            yield

        loop = asyncio.new_event_loop()
        try:
            with self.assertRaises(OSError) as cm:
                Dispatcher(FastMCP("app", lifespan=life)).start(loop)
        finally:
            loop.close()
        self.assertIn("raised by the lifespan of 'app' at start-up", "".join(getattr(cm.exception, "__notes__", [])))


class StartupReport(unittest.TestCase):
    def test_unsupported_options_and_module_state(self) -> None:
        import types

        from fasterapi import _runtime

        mcp = FastMCP("x", auth={"issuer_url": "https://a"}, token_verifier=object())

        @mcp.custom_route("/health", methods=["GET"])
        async def health(request: Any) -> None:
            return None

        self.assertTrue(callable(health))
        with self.assertRaisesRegex(RuntimeError, r"FastMCP.streamable_http_app\(\) is not available"):
            mcp.streamable_http_app()
        with self.assertRaisesRegex(RuntimeError, r"sse_app"):
            mcp.sse_app()
        module = types.ModuleType("m")
        import collections

        module.__dict__.update(cache={}, items=[], seen=set(), queue=collections.deque(), LIMITS={"a": 1},
                               EMPTY=[], name="x", __all__=["a"], counter=collections.Counter())
        self.assertEqual(_runtime.module_state(module), ["cache", "items", "seen", "queue", "EMPTY", "counter"])
        report = _runtime.startup_report(mcp)
        self.assertEqual(len(report["warnings"]), 3, report)
        self.assertIn("FastMCP(auth=...) is ignored", report["warnings"][0])
        self.assertIn("FastMCP(token_verifier=...) is ignored", report["warnings"][1])
        self.assertIn("@mcp.custom_route('/health') is not served", report["warnings"][2])


class ModulePaths(unittest.TestCase):
    def test_the_paths_people_import(self) -> None:
        import fasterapi
        from fasterapi.exceptions import ResourceError, ToolError
        from fasterapi.prompts.base import AssistantMessage, Message, UserMessage
        from fasterapi.utilities.types import Audio, Image

        self.assertIs(ToolError, fasterapi.ToolError)
        self.assertIs(ResourceError, fasterapi.ResourceError)
        self.assertIs(Image, fasterapi.Image)
        self.assertIs(Audio, fasterapi.Audio)
        self.assertEqual(UserMessage("hi").to_dict(), {"role": "user", "content": {"type": "text", "text": "hi"}})
        self.assertEqual(AssistantMessage("a").role, "assistant")
        self.assertTrue(issubclass(UserMessage, Message))
        kind: Literal["ok"] = "ok"
        self.assertEqual(kind, "ok")


if __name__ == "__main__":
    unittest.main()
