from __future__ import annotations

import asyncio
import base64
import unittest
from typing import Annotated, Any

from fasterapi import (
    AssistantMessage,
    Context,
    FastMCP,
    Field,
    Image,
    Message,
    PromptMessage,
    TextContent,
)
from fasterapi._runtime import Dispatcher

try:
    from ._support import FakeCall, embedded_resource_messages, get_prompt, run
except ImportError:
    from _support import FakeCall, embedded_resource_messages, get_prompt, run  # type: ignore[no-redef]


class Prompts(unittest.TestCase):
    def setUp(self) -> None:
        mcp = FastMCP()
        self.mcp = mcp

        @mcp.prompt()
        def test_simple_prompt() -> str:
            """A simple prompt without arguments"""
            return "This is a simple prompt for testing."

        @mcp.prompt(title="With arguments")
        def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
            """A prompt with required arguments

            Args:
                arg1: First test argument
                arg2: Second test argument
            """
            return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"

        @mcp.prompt()
        def test_prompt_with_embedded_resource(resourceUri: str) -> list[Any]:  # noqa: N803
            """A prompt with an embedded resource"""
            return embedded_resource_messages(resourceUri)

        @mcp.prompt
        def test_prompt_with_image() -> list[Any]:
            return [Image(data=b"png", format="png"), "Please analyze the image above."]

        @mcp.prompt("typed")
        async def typed(
            count: int,
            ratio: Annotated[float, Field(description="a ratio", title="Ratio")] = 0.5,
            flag: bool = False,
            ctx: Context | None = None,
        ) -> list[Any]:
            await asyncio.sleep(0)
            assert ctx is not None
            ctx.info("rendering")
            return [
                Message(f"{count!r} {ratio!r} {flag!r}", role="user"),
                AssistantMessage("ok"),
                {"role": "user", "content": {"type": "text", "text": "dict"}},
                {"role": "assistant", "content": "plain"},
                PromptMessage(role="user", content=TextContent(text="pm")),
                {"any": "thing"},
            ]

        @mcp.prompt()
        def broken() -> str:
            raise RuntimeError("no")

    def test_listing(self) -> None:
        prompts = {p["name"]: p for p in self.mcp.export()["prompts"]}
        self.assertEqual(prompts["test_simple_prompt"],
                         {"name": "test_simple_prompt", "description": "A simple prompt without arguments"})
        self.assertEqual(
            prompts["test_prompt_with_arguments"],
            {
                "name": "test_prompt_with_arguments",
                "title": "With arguments",
                "description": "A prompt with required arguments",
                "arguments": [
                    {"name": "arg1", "description": "First test argument", "required": True},
                    {"name": "arg2", "description": "Second test argument", "required": True},
                ],
            },
        )
        self.assertEqual(prompts["test_prompt_with_image"]["description"], "Test prompt with image")
        self.assertEqual(
            prompts["typed"]["arguments"],
            [
                {"name": "count", "required": True},
                {"name": "ratio", "title": "Ratio", "description": "a ratio", "required": False},
                {"name": "flag", "required": False},
            ],
        )

    def test_simple(self) -> None:
        self.assertEqual(
            get_prompt(self.mcp, "test_simple_prompt"),
            {"description": "A simple prompt without arguments",
             "messages": [{"role": "user", "content": {"type": "text", "text": "This is a simple prompt for testing."}}]},
        )

    def test_with_arguments(self) -> None:
        r = get_prompt(self.mcp, "test_prompt_with_arguments", {"arg1": "testValue1", "arg2": "testValue2"})
        self.assertEqual(r["messages"][0]["content"]["text"],
                         "Prompt with arguments: arg1='testValue1', arg2='testValue2'")

    def test_embedded_resource_and_image(self) -> None:
        r = get_prompt(self.mcp, "test_prompt_with_embedded_resource", {"resourceUri": "test://example-resource"})
        self.assertEqual(
            r["messages"][0],
            {"role": "user", "content": {"type": "resource", "resource": {
                "uri": "test://example-resource", "mimeType": "text/plain", "text": "Embedded resource content for testing."}}},
        )
        r = get_prompt(self.mcp, "test_prompt_with_image")
        self.assertEqual(r["messages"][0], {"role": "user", "content": {
            "type": "image", "data": base64.b64encode(b"png").decode(), "mimeType": "image/png"}})

    def test_message_kinds_and_string_conversion(self) -> None:
        call = FakeCall()
        pending = Dispatcher(self.mcp).get_prompt("typed", {"count": "3", "ratio": "0.25", "flag": "true"}, call)
        self.assertTrue(asyncio.iscoroutine(pending))
        r = run(pending)
        self.assertEqual(
            r["messages"],
            [
                {"role": "user", "content": {"type": "text", "text": "3 0.25 True"}},
                {"role": "assistant", "content": {"type": "text", "text": "ok"}},
                {"role": "user", "content": {"type": "text", "text": "dict"}},
                {"role": "assistant", "content": {"type": "text", "text": "plain"}},
                {"role": "user", "content": {"type": "text", "text": "pm"}},
                {"role": "user", "content": {"type": "text", "text": '{\n  "any": "thing"\n}'}},
            ],
        )
        self.assertEqual(call.logs, [("info", "rendering", None)])

    def test_errors(self) -> None:
        self.assertEqual(
            get_prompt(self.mcp, "nope"),
            {"__error__": {"code": -32602, "message": "Unknown prompt: nope", "data": {"name": "nope"}}},
        )
        self.assertEqual(
            get_prompt(self.mcp, "test_prompt_with_arguments", {"arg1": "x"}),
            {"__error__": {"code": -32602, "message": "Missing required arguments for prompt test_prompt_with_arguments: arg2",
                           "data": {"missing": ["arg2"]}}},
        )
        err = get_prompt(self.mcp, "typed", {"count": "many"})["__error__"]
        self.assertEqual(err["code"], -32602)
        self.assertIn("count", err["message"])
        self.assertEqual(get_prompt(self.mcp, "broken"),
                         {"__error__": {"code": -32603, "message": "Error rendering prompt broken: no"}})
        self.assertEqual(Dispatcher(self.mcp).get_prompt("typed", "x", FakeCall())["__error__"]["code"], -32602)  # type: ignore[arg-type]

    def test_bad_message_is_an_error(self) -> None:
        mcp = FastMCP()

        @mcp.prompt()
        def bad() -> dict[str, str]:
            return {"role": "system", "content": "x"}

        self.assertEqual(get_prompt(mcp, "bad")["__error__"]["code"], -32603)


if __name__ == "__main__":
    unittest.main()
