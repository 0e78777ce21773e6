from __future__ import annotations

import asyncio
import unittest
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, Optional

from fasterapi import (
    AcceptedElicitation,
    CancelledElicitation,
    Context,
    DeclinedElicitation,
    FastMCP,
    McpError,
    TextContent,
)
from fasterapi._runtime import Dispatcher
from fasterapi.context import Completed

try:
    from ._support import FakeCall, FakeCallWithRequests, call_tool, run
except ImportError:
    from _support import FakeCall, FakeCallWithRequests, call_tool, run  # type: ignore[no-redef]


@dataclass
class Contact:
    name: str
    age: int = 30
    email: Optional[str] = None


class Mood(Enum):
    HAPPY = "happy"
    SAD = "sad"


class Injection(unittest.TestCase):
    def test_any_parameter_name_and_not_in_schema(self) -> None:
        mcp = FastMCP("ctx-test")
        got: list[Context] = []

        @mcp.tool()
        def a(x: int, whatever: Context) -> int:
            got.append(whatever)
            return x

        @mcp.tool()
        def b(c: Optional[Context] = None) -> str:
            assert c is not None
            got.append(c)
            return c.request_id

        tools = {t["name"]: t for t in mcp.export()["tools"]}
        self.assertEqual(tools["a"]["inputSchema"], {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"], "additionalProperties": False})
        self.assertEqual(tools["b"]["inputSchema"], {"type": "object", "properties": {}, "additionalProperties": False})
        d = Dispatcher(mcp)
        call = FakeCall(request_id=12, session_id="sess")
        run(d.call_tool("a", {"x": 1}, call))
        self.assertEqual(run(d.call_tool("b", {}, call))["structuredContent"], {"result": "12"})
        self.assertIs(got[0].fastmcp, mcp)
        self.assertEqual((got[0].request_id, got[0].session_id, got[0].client_id), ("12", "sess", None))

    def test_generic_spelling(self) -> None:
        mcp = FastMCP()

        @mcp.tool()
        def t(x: int, ctx: Context[Any, None]) -> int:  # type: ignore[type-arg]  # python-sdk spelling
            ctx.info("hi")
            return x

        self.assertEqual(mcp.export()["tools"][0]["inputSchema"]["properties"], {"x": {"type": "integer"}})
        call = FakeCall()
        self.assertEqual(call_tool(mcp, "t", {"x": 2}, call)["structuredContent"], {"result": 2})
        self.assertEqual(call.logs, [("info", "hi", None)])

    def test_get_context_inside_sync_and_async_tools(self) -> None:
        mcp = FastMCP()

        def helper() -> str:
            ctx = mcp.get_context()
            ctx.info("from helper")
            return ctx.request_id

        @mcp.tool()
        def s() -> str:
            return helper()

        @mcp.tool()
        async def a() -> str:
            await asyncio.sleep(0)
            return helper()

        call = FakeCall(request_id="r1")
        d = Dispatcher(mcp)
        self.assertEqual(run(d.call_tool("s", {}, call))["structuredContent"], {"result": "r1"})
        self.assertEqual(run(d.call_tool("a", {}, call))["structuredContent"], {"result": "r1"})
        self.assertEqual(call.logs, [("info", "from helper", None)] * 2)
        with self.assertRaises(ValueError):
            mcp.get_context().info("outside")  # no request: like FastMCP


class Methods(unittest.TestCase):
    def setUp(self) -> None:
        self.call = FakeCall()
        self.ctx = Context(self.call)

    def test_logging_awaited_or_not(self) -> None:
        r = self.ctx.info("plain")
        self.assertIsInstance(r, Completed)

        async def main() -> None:
            await self.ctx.debug("d", logger_name="db")
            await self.ctx.warning("w")
            await self.ctx.error("e")
            await self.ctx.log("notice", "n")

        asyncio.run(main())
        self.ctx.log("warn", "aliased")
        self.ctx.log("message only")  # PrefectHQ 2.x: log(message, level=None)
        self.ctx.log("msg first", "error")  # PrefectHQ 2.x positional order
        self.ctx.info("with extra", extra={"k": 1})
        self.assertEqual(
            self.call.logs,
            [
                ("info", "plain", None), ("debug", "d", "db"), ("warning", "w", None), ("error", "e", None),
                ("notice", "n", None), ("warning", "aliased", None), ("info", "message only", None),
                ("error", "msg first", None), ("info", {"msg": "with extra", "extra": {"k": 1}}, None),
            ],
        )
        with self.assertRaises(ValueError):
            self.ctx.log("loud", "x")

    def test_progress(self) -> None:
        self.ctx.report_progress(1, 4)

        async def main() -> None:
            await self.ctx.report_progress(2, message="half")

        asyncio.run(main())
        self.assertEqual(self.call.progress_events, [(1.0, 4.0, None), (2.0, None, "half")])

    def test_cancelled_flag(self) -> None:
        self.assertFalse(self.ctx.cancelled)
        self.call.cancelled = True
        self.assertTrue(self.ctx.is_cancelled)

    def test_completed_awaitable(self) -> None:
        async def main() -> Any:
            return await Completed(5)

        self.assertEqual(asyncio.run(main()), 5)


class ClientRequests(unittest.TestCase):
    def test_unsupported_host_raises_mcp_error(self) -> None:
        ctx = Context(FakeCall())
        with self.assertRaises(McpError) as cm:
            ctx.elicit("name?", Contact)
        self.assertEqual(cm.exception.code, -32601)
        with self.assertRaises(McpError):
            ctx.sample("hi")

    def test_tool_using_unsupported_elicit_gets_json_rpc_error(self) -> None:
        mcp = FastMCP()

        @mcp.tool()
        async def ask(ctx: Context) -> str:
            r = await ctx.elicit("Your name?", str)
            return str(r)

        r = call_tool(mcp, "ask", {})
        self.assertEqual(r["__error__"]["code"], -32601)

    def test_elicit_dataclass(self) -> None:
        call = FakeCallWithRequests(elicit_answer={"action": "accept", "content": {"name": "Ada", "age": 36}})
        result = run(Context(call).elicit("Who are you?", Contact))
        self.assertEqual(result, AcceptedElicitation(data=Contact("Ada", 36)))
        self.assertEqual(
            call.requests[0],
            ("elicit", {
                "message": "Who are you?",
                "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "age": {"type": "integer", "default": 30},
                        "email": {"type": "string"},
                    },
                    "required": ["name"],
                },
            }),
        )

    def test_elicit_scalar_choices_and_outcomes(self) -> None:
        call = FakeCallWithRequests(elicit_answer={"action": "accept", "content": {"value": "sad"}}, is_async=False)
        ctx = Context(call)
        self.assertEqual(run(ctx.elicit("Mood?", Mood)), AcceptedElicitation(data=Mood.SAD))
        self.assertEqual(call.requests[-1][1]["requestedSchema"],
                         {"type": "object", "properties": {"value": {"type": "string", "enum": ["happy", "sad"]}},
                          "required": ["value"]})
        self.assertEqual(run(ctx.elicit("Pick", ["sad", "x"])), AcceptedElicitation(data="sad"))
        self.assertEqual(run(ctx.elicit("Lit", Literal["sad", "y"])).data, "sad")
        call.elicit_answer = {"action": "decline"}
        self.assertEqual(run(ctx.elicit("again?", response_type=int)), DeclinedElicitation())
        call.elicit_answer = {"action": "cancel"}
        self.assertEqual(run(ctx.elicit("raw", {"type": "object", "properties": {}})), CancelledElicitation())
        call.elicit_answer = {"__error__": {"code": -32600, "message": "client has no elicitation"}}
        with self.assertRaises(McpError) as cm:
            run(ctx.elicit("x"))
        self.assertEqual(cm.exception.code, -32600)

    def test_sample(self) -> None:
        answer = {"role": "assistant", "content": {"type": "text", "text": "LLM says hi"}, "model": "m", "stopReason": "endTurn"}
        call = FakeCallWithRequests(sample_answer=answer)
        mcp = FastMCP()

        @mcp.tool()
        async def test_sampling(prompt: str, ctx: Context) -> str:
            content = await ctx.sample(prompt, max_tokens=100, system_prompt="be brief", model_preferences="claude")
            assert isinstance(content, TextContent)
            return f"LLM response: {content.text}"

        r = call_tool(mcp, "test_sampling", {"prompt": "Test prompt"}, call)
        self.assertEqual(r["content"], [{"type": "text", "text": "LLM response: LLM says hi"}])
        self.assertEqual(
            call.requests[0],
            ("sample", {
                "messages": [{"role": "user", "content": {"type": "text", "text": "Test prompt"}}],
                "maxTokens": 100,
                "systemPrompt": "be brief",
                "modelPreferences": {"hints": [{"name": "claude"}]},
            }),
        )


class KeyedRequests(unittest.TestCase):
    """`key=` names a question in a 2026-07-28 input_required result: it reaches the host only
    when given, so hosts and doubles without the keyword keep working."""

    class Handle(FakeCallWithRequests):
        def __init__(self) -> None:
            super().__init__(elicit_answer={"action": "accept", "content": {"name": "Alice"}},
                             sample_answer={"role": "assistant", "content": {"type": "text", "text": "Paris"},
                                            "model": "m"})
            self.keys: list[tuple[str, Any]] = []

        def elicit(self, params: dict[str, Any], key: Any = "absent") -> Any:
            self.keys.append(("elicit", key))
            return super().elicit(params)

        def sample(self, params: dict[str, Any], key: Any = "absent") -> Any:
            self.keys.append(("sample", key))
            return super().sample(params)

        def request(self, method: str, params: Any = None, key: Any = "absent") -> Any:
            self.keys.append((method, key))
            return {"roots": []}

    def test_key_is_passed_only_when_given(self) -> None:
        h = self.Handle()
        ctx = Context(h)
        schema = {"type": "object", "properties": {"name": {"type": "string"}}}
        self.assertEqual(run(ctx.elicit("Name?", schema, key="user_name")).data, {"name": "Alice"})
        run(ctx.elicit("Name?", schema))
        self.assertEqual(run(ctx.sample("Capital?", key="capital_question")).text, "Paris")
        run(ctx.sample("Capital?"))
        run(ctx.session.create_message("Capital?", max_tokens=5, key="q"))
        run(ctx.session.list_roots(key="client_roots"))
        run(ctx.session.list_roots())
        self.assertEqual(h.keys, [("elicit", "user_name"), ("elicit", "absent"), ("sample", "capital_question"),
                                  ("sample", "absent"), ("sample", "q"), ("roots/list", "client_roots"),
                                  ("roots/list", "absent")])


class ClientCapabilityCheck(unittest.TestCase):
    """ctx.session.check_client_capability reads the host's client_capabilities."""

    def test_check(self) -> None:
        h = FakeCall()
        h.client_capabilities = {"sampling": {}, "roots": {"listChanged": True}}  # type: ignore[attr-defined]
        session = Context(h).session
        self.assertTrue(session.check_client_capability({"sampling": {}}))
        self.assertTrue(session.check_client_capability({"roots": {"listChanged": True}}))
        self.assertTrue(session.check_client_capability({"sampling": {}, "elicitation": None}))
        self.assertFalse(session.check_client_capability({"elicitation": {}}))
        self.assertFalse(session.check_client_capability({"sampling": {}, "elicitation": {}}))
        h.client_capabilities = {"roots": {}}  # type: ignore[attr-defined]
        self.assertFalse(session.check_client_capability({"roots": {"listChanged": True}}))

    def test_host_without_capabilities(self) -> None:
        with self.assertRaises(McpError):
            Context(FakeCall()).session.check_client_capability({"sampling": {}})


if __name__ == "__main__":
    unittest.main()
