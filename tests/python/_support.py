"""Helpers shared by the tests: a fake host CallContext, a runner for maybe-async results, the
dispatcher's four calls run to completion, and fixtures the conformance suite also checks."""

from __future__ import annotations

import asyncio
import inspect
import os
from typing import Any

from fasterapi import EmbeddedResource, FastMCP, TextResourceContents, UserMessage
from fasterapi._runtime import Dispatcher

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
SAMPLE_SERVER = os.path.join(FIXTURES, "sample_server.py")


class FakeCall:
    """Stands in for `_fasterapi.CallContext`; records what the package sends to the host."""

    def __init__(self, request_id: Any = 7, session_id: str | None = "s-1") -> None:
        self.request_id = request_id
        self.session_id = session_id
        self.cancelled = False
        self.logs: list[tuple[str, Any, str | None]] = []
        self.progress_events: list[tuple[float, float | None, str | None]] = []

    def log(self, level: str, data: Any, logger: str | None) -> None:
        self.logs.append((level, data, logger))

    def progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress_events.append((progress, total, message))


class FakeCallWithRequests(FakeCall):
    """A host handle that can also elicit and sample (answers are canned)."""

    def __init__(self, elicit_answer: Any = None, sample_answer: Any = None, is_async: bool = True) -> None:
        super().__init__()
        self.elicit_answer = elicit_answer
        self.sample_answer = sample_answer
        self.is_async = is_async
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, value: Any) -> Any:
        if not self.is_async:
            return value

        async def later() -> Any:
            await asyncio.sleep(0)
            return value

        return later()

    def elicit(self, params: dict[str, Any]) -> Any:
        self.requests.append(("elicit", params))
        return self._answer(self.elicit_answer)

    def sample(self, params: dict[str, Any]) -> Any:
        self.requests.append(("sample", params))
        return self._answer(self.sample_answer)


def run(result: Any) -> Any:
    """The value of a dispatcher result, running it on a fresh loop if it is awaitable."""
    if inspect.isawaitable(result):
        async def main() -> Any:
            return await result

        return asyncio.run(main())
    return result


def call_tool(
    mcp: FastMCP, name: str, arguments: Any = None, handle: FakeCall | None = None, debug: bool = False
) -> Any:
    """The CallToolResult (or `__error__`) the host would get, async tools run to completion."""
    return run(Dispatcher(mcp, debug=debug).call_tool(name, arguments, handle or FakeCall()))


def read_resource(mcp: FastMCP, uri: str) -> Any:
    return run(Dispatcher(mcp).read_resource(uri, FakeCall()))


def get_prompt(mcp: FastMCP, name: str, arguments: dict[str, Any] | None = None) -> Any:
    return run(Dispatcher(mcp).get_prompt(name, arguments, FakeCall()))


def complete(mcp: FastMCP, ref: dict[str, Any], name: str, value: str, context: Any = None) -> Any:
    return run(Dispatcher(mcp).complete(ref, {"name": name, "value": value}, context, FakeCall()))


def embedded_resource_messages(uri: str) -> list[Any]:
    """What the conformance suite's `test_prompt_with_embedded_resource` prompt returns."""
    return [
        UserMessage(EmbeddedResource(resource=TextResourceContents(
            uri=uri, mimeType="text/plain", text="Embedded resource content for testing."))),
        UserMessage("Please process the embedded resource above."),
    ]


def host_json_problems(value: Any, path: str = "") -> list[str]:
    """What the host's PyObject -> json_t converter (src/pyhost/convert.h) would refuse: only
    dict (str keys), list/tuple, str, 64-bit int, finite float, bool and None cross."""
    if value is None or isinstance(value, (bool, str)):
        return []
    if isinstance(value, int):
        return [] if -(2**63) <= value < 2**63 else [f"{path}: integer out of range"]
    if isinstance(value, float):
        return [] if value == value and value not in (float("inf"), float("-inf")) else [f"{path}: {value}"]
    if isinstance(value, dict):
        out = [f"{path}: key {k!r}" for k in value if not isinstance(k, str)]
        for k, v in value.items():
            out += host_json_problems(v, f"{path}/{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in host_json_problems(v, f"{path}/{i}")]
    return [f"{path}: {type(value).__name__}"]
