"""The MCP conformance fixture server: every tool, resource, prompt and skill that the official
conformance suites (@modelcontextprotocol/conformance 0.1.16 and 0.2.0-alpha.12, both protocol
eras and the tasks/skills extensions) call by name, written as an ordinary FastMCP server.

    fasterapi run examples/conformance/server.py --http 127.0.0.1:8000   (tests/conformance/run)
    fasterapi run examples/conformance/server.py                          (stdio, by hand)

Names, texts and shapes are the ones the scenarios check (shared/research/conformance_fixtures.md
§4 and conformance_2026.md §5 describe each scenario); the reference texts of the suite's own
"everything server" are kept where the suite prints them in its descriptions.

Order matters in two places: `test_x_mcp_header` is the first tool (http-header-validation calls
`tools[0]` with `{}`, http-custom-header-server-validation takes the first tool with an
`x-mcp-header` property) and `test://static-text` the first resource (caching reads
`resources[0]`).

Where the Python API has no spelling yet for what a fixture needs, the fixture says so at the
place and degrades to what the API has, so the file always loads:
* `ctx.elicit(..., key=...)`, `ctx.sample(..., key=...)`, `ctx.session.list_roots(key=...)`
  (fasterapi extensions): the 2026 era's input_required results name each question; the suite
  answers `user_name` by that key. Used when the API has the keyword (it does since this file
  was written; the check stays for older hosts).
* `ctx.close_sse_stream()` (python-sdk, SEP-1699): `test_reconnection` closes its POST stream so
  the client must resume with Last-Event-ID. Without it the result arrives as a plain answer and
  server-sse-polling records only INFO (no checks).
* `ctx.session.check_client_capability(...)` (python-sdk): lets
  `test_input_required_result_capabilities` ask through sampling when the client has no
  elicitation. Without it the tool asks by elicitation and the engine refuses with -32021.
* `@mcp.tool(task="optional" | "required")`: task support for the tasks extension (FastMCP 2.x
  spells it `task=True` / `TaskConfig(mode=...)`), and `input_before_task=True` (fasterapi) for
  `test_tool_with_task`, whose question is asked through input_required rounds before its task
  starts. Without them the tools are plain tools.
* `mcp.add_skill(dir)` (fasterapi): serves examples/conformance/skills/demo-skill through
  `skills/list`, `skills/get`, `resources/directory/read` and as resources.
* Resource subscriptions have no Python side in FastMCP either: `resources/subscribe` is the
  engine's to accept for `test://watched-resource`.
"""

import asyncio
import base64
import inspect
import json
from pathlib import Path
from typing import Annotated, Any

from fasterapi import (
    Audio,
    CallToolResult,
    Completion,
    Context,
    EmbeddedResource,
    FastMCP,
    Field,
    Image,
    McpError,
    TextContent,
    TextResourceContents,
    UserMessage,
)

mcp = FastMCP("mcp-conformance-test-server", version="1.0.0")

# A 1x1 PNG and a 44-byte WAV header (8 kHz, mono, 16 bit): the reference fixtures' bytes.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
WAV = base64.b64decode("UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=")

SKILLS_DIR = Path(__file__).resolve().parent / "skills"

NAME_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
OK_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


def _accepts(fn: Any, keyword: str) -> bool:
    """True if `fn` takes `keyword` (so the fixture can use API that is still being added)."""
    try:
        return keyword in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def elicit_as(ctx: Context, key: str, message: str, schema: dict[str, Any]) -> Any:
    """ctx.elicit naming its input request `key` (2026 era) where the API allows it."""
    if _accepts(ctx.elicit, "key"):
        return ctx.elicit(message, schema, key=key)
    return ctx.elicit(message, schema)


def sample_as(ctx: Context, key: str, prompt: str, max_tokens: int = 100) -> Any:
    if _accepts(ctx.sample, "key"):
        return ctx.sample(prompt, max_tokens=max_tokens, key=key)
    return ctx.sample(prompt, max_tokens=max_tokens)


def roots_as(ctx: Context, key: str) -> Any:
    list_roots = ctx.session.list_roots
    if _accepts(list_roots, "key"):
        return list_roots(key=key)
    return list_roots()


def task_tool(mode: str, **kw: Any) -> Any:
    """@mcp.tool() declaring task support (tasks extension) where the API allows it."""
    if _accepts(mcp.tool, "task"):
        return mcp.tool(task=mode, **kw)
    return mcp.tool(**kw)


def text_of(block: Any) -> str:
    """The text of a sampling answer (a TextContent, or a dict on older hosts)."""
    if isinstance(block, dict):
        return str(block.get("text", block))
    return str(getattr(block, "text", block))


def answer(result: Any) -> str:
    """`action=..., content={...}` of an elicitation result, the reference tools' wording."""
    data = getattr(result, "data", None)
    return f"action={result.action}, content={json.dumps(data)}"


# ---------------------------------------------------------------------------------------------
# First tool on purpose: http-header-validation (2026) calls tools[0] with {} and custom-header
# validation looks for the first tool with an `x-mcp-header` string property (SEP-2243).


@mcp.tool()
def test_x_mcp_header(
    region: Annotated[str, Field(description="Region, mirrored in the Mcp-Param-Region header",
                                 json_schema_extra={"x-mcp-header": "Region"})] = "none",
    level: int = 0,
) -> str:
    """Echoes a parameter that clients also send as the Mcp-Param-Region header."""
    return f"region={region}"


# ---------------------------------------------------------------------------------------------
# Tools of 0.1.16 (both eras unless noted)


@mcp.tool()
def test_simple_text() -> str:
    """Tests simple text content response"""
    return "This is a simple text response for testing."


@mcp.tool()
def test_image_content() -> Image:
    """Tests image content response"""
    return Image(data=PNG, format="png")


@mcp.tool()
def test_audio_content() -> Audio:
    """Tests audio content response"""
    return Audio(data=WAV, format="wav")


@mcp.tool()
def test_embedded_resource() -> EmbeddedResource:
    """Tests embedded resource content response"""
    return EmbeddedResource(resource=TextResourceContents(
        uri="test://embedded-resource", mimeType="text/plain", text="This is an embedded resource content."))


@mcp.tool()
def test_multiple_content_types():  # noqa: ANN201 - content blocks, no structured output
    """Tests response with multiple content types (text, image, resource)"""
    return [
        TextContent(text="Multiple content types test:"),
        Image(data=PNG, format="png"),
        EmbeddedResource(resource=TextResourceContents(
            uri="test://mixed-content-resource", mimeType="application/json",
            text=json.dumps({"test": "data", "value": 123}, separators=(",", ":")))),
    ]


@mcp.tool()
async def test_tool_with_logging(ctx: Context) -> str:
    """Tests tool that emits log messages during execution"""
    await ctx.info("Tool execution started")
    await asyncio.sleep(0.05)
    await ctx.info("Tool processing data")
    await asyncio.sleep(0.05)
    await ctx.info("Tool execution completed")
    return "Tool with logging executed successfully"


@mcp.tool()
async def test_tool_with_progress(ctx: Context) -> str:
    """Tests tool that reports progress notifications"""
    for step in (0, 50, 100):
        if step:
            await asyncio.sleep(0.05)
        await ctx.report_progress(step, 100, f"Completed step {step} of 100")
    return "Progress test completed"


@mcp.tool()
def test_error_handling() -> CallToolResult:
    """Tests error response handling"""
    return CallToolResult(isError=True, content=[
        TextContent(text="This tool intentionally returns an error for testing")])


@mcp.tool()
async def test_sampling(prompt: Annotated[str, "The prompt to send to the LLM"], ctx: Context) -> str:
    """Tests server-initiated sampling (LLM completion request)"""
    reply = await ctx.sample(prompt, max_tokens=100)
    return f"LLM response: {text_of(reply)}"


@mcp.tool()
async def test_elicitation(message: Annotated[str, "The message to show the user"], ctx: Context) -> str:
    """Tests server-initiated elicitation (user input request)"""
    result = await ctx.elicit(message, {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    })
    return f"User response: {answer(result)}"


@mcp.tool()
async def test_elicitation_sep1034_defaults(ctx: Context) -> str:
    """Tests elicitation with default values for all primitive types (SEP-1034)"""
    result = await ctx.elicit("Please review and update the form fields with defaults", {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {"type": "string", "description": "User status",
                       "enum": ["active", "inactive", "pending"], "default": "active"},
            "verified": {"type": "boolean", "description": "Verification status", "default": True},
        },
        "required": [],
    })
    return f"Elicitation completed: {answer(result)}"


@mcp.tool()
async def test_elicitation_sep1330_enums(ctx: Context) -> str:
    """Tests elicitation with enum schema improvements (SEP-1330)"""
    result = await ctx.elicit("Please select options from the enum fields", {
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "description": "Choose one option",
                               "enum": ["option1", "option2", "option3"]},
            "titledSingle": {"type": "string", "description": "Choose one titled option", "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"}]},
            "legacyEnum": {"type": "string", "description": "Choose one (legacy enumNames)",
                           "enum": ["opt1", "opt2", "opt3"],
                           "enumNames": ["Option One", "Option Two", "Option Three"]},
            "untitledMulti": {"type": "array", "description": "Choose several options",
                              "minItems": 1, "maxItems": 3,
                              "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
            "titledMulti": {"type": "array", "description": "Choose several titled options",
                            "minItems": 1, "maxItems": 3, "items": {"anyOf": [
                                {"const": "value1", "title": "First Choice"},
                                {"const": "value2", "title": "Second Choice"},
                                {"const": "value3", "title": "Third Choice"}]}},
        },
        "required": [],
    })
    return f"Elicitation completed: {answer(result)}"


# Served verbatim: the scenario checks that $schema, $defs (with $anchor), additionalProperties,
# allOf/anyOf and if/then/else survive (0.2.0-alpha.12's fixture; 0.1.16 checks a subset).
JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {"address": {"$anchor": "addressDef", "type": "object", "properties": {
        "street": {"type": "string"}, "city": {"type": "string"}}}},
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


@mcp.tool(description="Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
          input_schema=JSON_SCHEMA_2020_12)
def json_schema_2020_12_tool(
    name: str | None = None,
    address: dict[str, Any] | None = None,
    contactMethod: str | None = None,  # noqa: N803 - the schema's property names
    phone: str | None = None,
    email: str | None = None,
) -> str:
    args = {k: v for k, v in locals().items() if v is not None}
    return f"JSON Schema 2020-12 tool called with: {json.dumps(args)}"


@mcp.tool()
async def test_reconnection(ctx: Context) -> str:
    """Tests SSE stream disconnection and client reconnection (SEP-1699): the server closes the
    POST stream after the priming event and delivers the result after the client resumes."""
    close = getattr(ctx, "close_sse_stream", None)  # python-sdk's Context.close_sse_stream()
    if close is not None:
        await close()
    await asyncio.sleep(0.1)
    return ("Reconnection test completed successfully. If you received this, the client "
            "properly reconnected after stream closure.")


# ---------------------------------------------------------------------------------------------
# Tools of the 2026-07-28 era (0.2.0-alpha.12: server-stateless, input-required-result-*)


@mcp.tool()
async def test_missing_capability(ctx: Context) -> str:
    """Needs the client's sampling capability: a client without it gets -32021 (missing
    capability) instead of a result"""
    reply = await ctx.sample("Say hello", max_tokens=20)
    return f"Sampled: {text_of(reply)}"


@mcp.tool()
async def test_streaming_elicitation(ctx: Context) -> str:
    """Asks the user a question mid-call; in the 2026 era that must be an input_required result,
    never an independent request on the response stream"""
    result = await elicit_as(ctx, "user_name", "What is your name?", NAME_SCHEMA)
    return f"Streaming elicitation: {answer(result)}"


@mcp.tool()
async def test_logging_tool(ctx: Context) -> str:
    """Logs three messages: sent only when the request asks for a log level"""
    await ctx.info("Logging tool started")
    await ctx.info("Logging tool working")
    await ctx.info("Logging tool finished")
    return "Logging tool executed"


@mcp.tool()
async def test_trigger_tool_change(ctx: Context) -> str:
    """Announces that the tool list changed (notifications/tools/list_changed)"""
    await ctx.session.send_tool_list_changed()
    return "tools/list_changed sent"


@mcp.tool()
async def test_trigger_prompt_change(ctx: Context) -> str:
    """Announces that the prompt list changed (notifications/prompts/list_changed)"""
    await ctx.session.send_prompt_list_changed()
    return "prompts/list_changed sent"



def accepted(result: Any, field: str) -> Any:
    """The accepted answer's `field`, or raise (a declined or cancelled form ends the call)."""
    if getattr(result, "action", None) != "accept":
        raise McpError(f"The user did not accept ({getattr(result, 'action', result)})")
    data = result.data
    return data.get(field) if isinstance(data, dict) else data


@mcp.tool()
async def test_input_required_result_elicitation(ctx: Context) -> str:
    """Asks for the user's name (input_required with the key user_name), then greets them"""
    result = await elicit_as(ctx, "user_name", "What is your name?", NAME_SCHEMA)
    return f"Hello, {accepted(result, 'name')}!"


@mcp.tool()
async def test_input_required_result_sampling(ctx: Context) -> str:
    """Asks the client's LLM a question, then returns its answer"""
    reply = await sample_as(ctx, "capital_question", "What is the capital of France?")
    return f"LLM said: {text_of(reply)}"


@mcp.tool()
async def test_input_required_result_list_roots(ctx: Context) -> str:
    """Asks the client for its roots, then lists them"""
    roots = await roots_as(ctx, "client_roots")
    return "Roots: " + ", ".join(str(r.uri) for r in roots.roots)


@mcp.tool()
async def test_input_required_result_request_state(ctx: Context) -> str:
    """Asks for a confirmation; the answer must come back with the server's requestState"""
    result = await elicit_as(ctx, "confirm", "Please confirm", OK_SCHEMA)
    return f"state-ok: confirmed={accepted(result, 'ok')}"


@mcp.tool()
async def test_input_required_result_multiple_inputs(ctx: Context) -> str:
    """Asks for an elicitation, a sampling and the roots in one round"""
    name, greeting, roots = await asyncio.gather(
        elicit_as(ctx, "user_name", "What is your name?", NAME_SCHEMA),
        sample_as(ctx, "greeting", "Write a one-line greeting."),
        roots_as(ctx, "client_roots"),
    )
    return (f"name={accepted(name, 'name')}, greeting={text_of(greeting)}, "
            f"roots={len(roots.roots)}")


@mcp.tool()
async def test_input_required_result_multi_round(ctx: Context) -> str:
    """Asks two questions one after the other (two input_required rounds)"""
    name = await elicit_as(ctx, "step1", "What is your name?", NAME_SCHEMA)
    color = await elicit_as(ctx, "step2", "What is your favourite colour?", {
        "type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]})
    return f"{accepted(name, 'name')} likes {accepted(color, 'color')}"


@mcp.tool()
async def test_input_required_result_tampered_state(ctx: Context) -> str:
    """Asks for a confirmation; a tampered requestState on the retry must be refused"""
    result = await elicit_as(ctx, "confirm", "Please confirm", OK_SCHEMA)
    return f"confirmed={accepted(result, 'ok')}"


def client_offers(ctx: Context, capability: str) -> bool:
    """Whether the client declared `capability` (for this request, in the 2026 era): the
    python-sdk's ctx.session.check_client_capability (fasterapi takes a dict as well as a
    ClientCapabilities-like object). Where a host lacks it the fixture asks anyway and the
    engine refuses with -32021."""
    check = getattr(ctx.session, "check_client_capability", None)
    if check is None:
        return True
    return bool(check({capability: {}}))


@mcp.tool()
async def test_input_required_result_capabilities(ctx: Context) -> str:
    """Asks through elicitation if the client offers it, otherwise through sampling"""
    if client_offers(ctx, "elicitation"):
        result = await elicit_as(ctx, "user_name", "What is your name?", NAME_SCHEMA)
        return f"Hello, {accepted(result, 'name')}!"
    reply = await sample_as(ctx, "name_question", "Make up a name.", max_tokens=20)
    return f"Hello, {text_of(reply)}!"


# ---------------------------------------------------------------------------------------------
# Tools of the tasks extension (io.modelcontextprotocol/tasks; tasks-* scenarios)


@mcp.tool()
def greet(name: str) -> str:
    """Greets someone (always answered at once, never as a task)"""
    return f"Hello, {name}!"


@task_tool("optional")
async def slow_compute(seconds: float = 1, label: str = "") -> str:
    """Waits `seconds` then reports; runs as a task when the client offers tasks"""
    await asyncio.sleep(seconds)
    return f"Computed {label or 'result'} after {seconds} s"


@task_tool("required")
async def failing_job() -> CallToolResult:
    """Runs only as a task and ends with a tool error (isError)"""
    await asyncio.sleep(1)
    return CallToolResult(isError=True, content=[TextContent(text="The job failed on purpose")])


@task_tool("optional")
async def protocol_error_job() -> str:
    """Runs as a task that fails with a protocol error"""
    await asyncio.sleep(0.2)
    raise McpError("The job hit a protocol error on purpose", code=-32603)


@task_tool("optional")
async def confirm_delete(filename: str, ctx: Context) -> str:
    """Asks the user to confirm before deleting (nothing is deleted)"""
    result = await elicit_as(ctx, "confirm", f"Delete {filename}?", {
        "type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]})
    return f"{filename}: {'deleted' if accepted(result, 'confirm') else 'kept'}"


@task_tool("optional")
async def multi_input(ctx: Context) -> str:
    """Asks two questions at once"""
    first, second = await asyncio.gather(
        elicit_as(ctx, "first_name", "First name?", {
            "type": "object", "properties": {"first": {"type": "string"}}, "required": ["first"]}),
        elicit_as(ctx, "last_name", "Last name?", {
            "type": "object", "properties": {"last": {"type": "string"}}, "required": ["last"]}),
    )
    return f"{accepted(first, 'first')} {accepted(second, 'last')}"


@task_tool("required", input_before_task=True)
async def test_tool_with_task(ctx: Context) -> str:
    """Asks for the user's name before the task starts, then works as a task"""
    result = await elicit_as(ctx, "user_name", "What is your name?", NAME_SCHEMA)
    name = accepted(result, "name")
    await asyncio.sleep(0.2)
    return f"Task done for {name}"


# ---------------------------------------------------------------------------------------------
# Resources (static-text first: caching reads resources[0])


@mcp.resource("test://static-text", name="static-text", title="Static Text Resource",
              description="A static text resource for testing", mime_type="text/plain")
def static_text() -> str:
    return "This is the content of the static text resource."


@mcp.resource("test://static-binary", name="static-binary", title="Static Binary Resource",
              description="A static binary resource (image) for testing", mime_type="image/png")
def static_binary() -> bytes:
    return PNG


@mcp.resource("test://watched-resource", name="watched-resource", title="Watched Resource",
              description="A resource that can be subscribed to", mime_type="text/plain")
def watched_resource() -> str:
    return "Watched resource content"


@mcp.resource("test://template/{id}/data", name="template-data", title="Template Data",
              description="A resource template with an id parameter", mime_type="application/json")
def template_data(id: str) -> str:  # noqa: A002 - the template variable's name
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"},
                      separators=(",", ":"))


# The skill of the skills extension (SEP-2640): SKILL.md and a file in a subdirectory (so a
# directory read shows an inode/directory child), read from examples/conformance/skills. Its files
# are listed as resources too (skills-manifest looks there first), the SKILL.md resource named
# and described by its frontmatter.
mcp.add_skill(SKILLS_DIR / "demo-skill")


# ---------------------------------------------------------------------------------------------
# Prompts


@mcp.prompt(title="Simple Prompt", description="A simple prompt without arguments")
def test_simple_prompt() -> str:
    return "This is a simple prompt for testing."


@mcp.prompt(title="Prompt With Arguments", description="A prompt with required arguments")
def test_prompt_with_arguments(
    arg1: Annotated[str, Field(description="First test argument")],
    arg2: Annotated[str, Field(description="Second test argument")],
) -> str:
    return f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"


@mcp.prompt(title="Prompt With Embedded Resource", description="A prompt that includes an embedded resource")
def test_prompt_with_embedded_resource(
    resourceUri: Annotated[str, Field(description="URI of the resource to embed")],  # noqa: N803
) -> list[UserMessage]:
    return [
        UserMessage(EmbeddedResource(resource=TextResourceContents(
            uri=resourceUri, mimeType="text/plain", text="Embedded resource content for testing."))),
        UserMessage("Please process the embedded resource above."),
    ]


@mcp.prompt(title="Prompt With Image", description="A prompt that includes an image")
def test_prompt_with_image() -> list[UserMessage]:
    return [UserMessage(Image(data=PNG, format="png")), UserMessage("Please analyze the image above.")]


@mcp.prompt(title="Input Required Prompt",
            description="Asks the user for context before building the prompt (2026 input_required)")
async def test_input_required_result_prompt(ctx: Context) -> str:
    result = await elicit_as(ctx, "user_context", "What context should the prompt use?", {
        "type": "object", "properties": {"context": {"type": "string"}}, "required": ["context"]})
    return f"Use this context: {accepted(result, 'context')}"


# ---------------------------------------------------------------------------------------------
# Completion: minimal, as the scenario allows; suggests the test values for the prompt's arguments


@mcp.completion()
async def complete(ref: Any, argument: Any, context: Any) -> Completion:
    if getattr(ref, "name", None) == "test_prompt_with_arguments":
        values = [v for v in ("testValue1", "testValue2") if v.startswith(argument.value)]
        return Completion(values=values, total=len(values), hasMore=False)
    return Completion(values=[], total=0, hasMore=False)


if __name__ == "__main__":
    mcp.run()
