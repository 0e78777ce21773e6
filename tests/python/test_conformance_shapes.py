"""The shapes the MCP conformance suite 0.1.16 checks (research/conformance_fixtures.md), produced
with this package the way examples/conformance/server.py would write the fixtures."""

from __future__ import annotations

import asyncio
import base64
import unittest
from typing import Any

from fasterapi import (
    Audio,
    Completion,
    Context,
    EmbeddedResource,
    FastMCP,
    Image,
    TextContent,
    TextResourceContents,
)

try:
    from ._support import FakeCall, call_tool, complete, embedded_resource_messages, get_prompt, read_resource
except ImportError:
    from _support import (  # type: ignore[no-redef]
        FakeCall, call_tool, complete, embedded_resource_messages, get_prompt, read_resource,
    )

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="

mcp = FastMCP("mcp-conformance-test-server", version="1.0.0")


@mcp.tool()
def test_simple_text() -> str:
    """Tests simple text content response"""
    return "This is a simple text response for testing."


@mcp.tool()
def test_image_content() -> Image:
    """Tests image content response"""
    return Image(data=base64.b64decode(PNG), format="png")


@mcp.tool()
def test_audio_content() -> Audio:
    """Tests audio content response"""
    return Audio(data=base64.b64decode(WAV), format="wav")


@mcp.tool()
def test_embedded_resource() -> EmbeddedResource:
    """Tests embedded resource content response"""
    return EmbeddedResource(resource=TextResourceContents(
        uri="test://embedded-resource", mimeType="text/plain", text="This is an embedded resource content."))


@mcp.tool()
def test_multiple_content_types() -> list[Any]:
    """Tests response with multiple content types"""
    return [
        TextContent(text="Multiple content types test:"),
        Image(data=base64.b64decode(PNG), format="png"),
        EmbeddedResource(resource=TextResourceContents(
            uri="test://mixed-content-resource", mimeType="application/json", text='{"test":"data","value":123}')),
    ]


@mcp.tool()
async def test_tool_with_logging(ctx: Context) -> str:
    """Tests tool that emits log messages during execution"""
    await ctx.info("Tool execution started")
    await asyncio.sleep(0.001)
    await ctx.info("Tool processing data")
    await asyncio.sleep(0.001)
    await ctx.info("Tool execution completed")
    return "Tool with logging executed successfully"


@mcp.tool()
async def test_tool_with_progress(ctx: Context) -> str:
    """Tests tool that reports progress notifications"""
    for step in (0, 50, 100):
        await ctx.report_progress(step, 100, f"Completed step {step} of 100")
        await asyncio.sleep(0.001)
    return "done"


@mcp.tool()
def test_error_handling() -> str:
    """Tests error response handling"""
    raise RuntimeError("This tool intentionally returns an error for testing")


@mcp.resource("test://static-text", mime_type="text/plain")
def static_text() -> str:
    return "This is the content of the static text resource."


@mcp.resource("test://static-binary", mime_type="image/png")
def static_binary() -> bytes:
    return base64.b64decode(PNG)


@mcp.resource("test://template/{id}/data", mime_type="application/json")
def template_data(id: str) -> dict[str, Any]:
    return {"id": id, "templateTest": True, "data": f"Data for ID: {id}"}


@mcp.prompt()
def test_prompt_with_arguments(arg1: str, arg2: str) -> str:
    """A prompt with required arguments"""
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@mcp.prompt()
def test_prompt_with_embedded_resource(resourceUri: str) -> list[Any]:  # noqa: N803
    """A prompt that includes an embedded resource"""
    return embedded_resource_messages(resourceUri)


@mcp.completion()
async def completion(ref: Any, argument: Any, context: Any) -> Completion:
    return Completion(values=[], total=0, hasMore=False)


class Conformance(unittest.TestCase):
    def test_tools_list(self) -> None:
        for tool in mcp.export()["tools"]:
            self.assertTrue(tool["name"] and tool["description"])
            # The reference server lists {"type":"object","properties":{}}; the suite checks only
            # type "object". Ours also refuse unknown arguments, as the spec recommends for
            # tools without arguments.
            self.assertEqual(tool["inputSchema"], {"type": "object", "properties": {}, "additionalProperties": False})

    def test_tool_results(self) -> None:
        self.assertEqual(call_tool(mcp, "test_simple_text"), {
            "content": [{"type": "text", "text": "This is a simple text response for testing."}],
            "structuredContent": {"result": "This is a simple text response for testing."}})
        self.assertEqual(call_tool(mcp, "test_image_content", {}), {"content": [{"type": "image", "data": PNG, "mimeType": "image/png"}]})
        self.assertEqual(call_tool(mcp, "test_audio_content", {}), {"content": [{"type": "audio", "data": WAV, "mimeType": "audio/wav"}]})
        self.assertEqual(call_tool(mcp, "test_embedded_resource", {})["content"], [{"type": "resource", "resource": {
            "uri": "test://embedded-resource", "mimeType": "text/plain", "text": "This is an embedded resource content."}}])
        self.assertEqual([c["type"] for c in call_tool(mcp, "test_multiple_content_types", {})["content"]], ["text", "image", "resource"])
        error = call_tool(mcp, "test_error_handling", {})
        self.assertIs(error["isError"], True)
        self.assertTrue(error["content"][0]["text"])

    def test_logging_and_progress(self) -> None:
        h = FakeCall()
        call_tool(mcp, "test_tool_with_logging", {}, h)
        self.assertEqual([lvl for lvl, _, _ in h.logs], ["info"] * 3)
        call_tool(mcp, "test_tool_with_progress", {}, h)
        self.assertEqual([p for p, _, _ in h.progress_events], [0.0, 50.0, 100.0])

    def test_resources_and_prompts(self) -> None:
        blob = read_resource(mcp, "test://static-binary")["contents"][0]
        self.assertEqual(blob, {"uri": "test://static-binary", "mimeType": "image/png", "blob": PNG})
        tmpl = read_resource(mcp, "test://template/123/data")["contents"][0]
        self.assertIn("123", tmpl["text"])
        self.assertNotIn("blob", tmpl)
        msgs = get_prompt(mcp, "test_prompt_with_arguments", {"arg1": "testValue1", "arg2": "testValue2"})
        self.assertIn("testValue1", str(msgs["messages"]))
        emb = get_prompt(mcp, "test_prompt_with_embedded_resource", {"resourceUri": "test://example-resource"})
        self.assertEqual(emb["messages"][0]["content"]["type"], "resource")

    def test_completion(self) -> None:
        r = complete(mcp, {"type": "ref/prompt", "name": "test_prompt_with_arguments"}, "arg1", "test")
        self.assertEqual(r, {"completion": {"values": [], "total": 0, "hasMore": False}})


if __name__ == "__main__":
    unittest.main()
