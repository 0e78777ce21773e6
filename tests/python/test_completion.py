from __future__ import annotations

import unittest
from typing import Any

from fasterapi import Completion, FastMCP, PromptReference, ResourceTemplateReference
from fasterapi._runtime import Dispatcher

try:
    from ._support import FakeCall, complete
except ImportError:
    from _support import FakeCall, complete  # type: ignore[no-redef]

PROMPT_REF = {"type": "ref/prompt", "name": "greet"}


def make(handler: Any = None) -> FastMCP:
    mcp = FastMCP()

    @mcp.prompt()
    def greet(name: str, style: str = "warm") -> str:
        return f"Hello {name}"

    @mcp.resource("users://{user_id}")
    def user(user_id: str) -> str:
        return user_id

    if handler is not None:
        mcp.completion()(handler)
    return mcp


class Completions(unittest.TestCase):
    def test_async_handler_gets_typed_objects(self) -> None:
        seen: list[Any] = []

        async def handler(ref: Any, argument: Any, context: Any) -> Completion | None:
            seen.append((ref, argument, context))
            if isinstance(ref, PromptReference) and argument.name == "name":
                names = ["Ada", "Alan", "Barbara"]
                return Completion(values=[n for n in names if n.startswith(argument.value)], total=2, hasMore=False)
            return None

        mcp = make(handler)
        self.assertEqual(complete(mcp, PROMPT_REF, "name", "A", {"arguments": {"style": "warm"}}),
                         {"completion": {"values": ["Ada", "Alan"], "total": 2, "hasMore": False}})
        ref, arg, ctx = seen[0]
        self.assertEqual((ref.name, arg.name, arg.value, ctx.arguments), ("greet", "name", "A", {"style": "warm"}))
        self.assertEqual(complete(mcp, PROMPT_REF, "style", ""), {"completion": {"values": []}})
        self.assertIsNone(seen[1][2])

    def test_sync_handler_list_result_and_resource_refs(self) -> None:
        def handler(ref: Any, argument: Any, context: Any) -> list[str]:
            assert isinstance(ref, ResourceTemplateReference)
            return [f"{ref.uri}:{argument.value}"]

        mcp = make(handler)
        self.assertEqual(complete(mcp, {"type": "ref/resource", "uri": "users://{user_id}"}, "user_id", "1"),
                         {"completion": {"values": ["users://{user_id}:1"]}})

    def test_at_most_100_values(self) -> None:
        mcp = make(lambda ref, arg, ctx: [str(i) for i in range(150)])
        r = complete(mcp, PROMPT_REF, "name", "")
        self.assertEqual(len(r["completion"]["values"]), 100)
        self.assertEqual((r["completion"]["total"], r["completion"]["hasMore"]), (150, True))

    def test_no_handler_gives_empty_values(self) -> None:
        mcp = make()
        self.assertEqual(complete(mcp, PROMPT_REF, "name", "x"), {"completion": {"values": []}})
        self.assertIs(mcp.export()["completions"], False)
        self.assertIs(make(lambda *a: None).export()["completions"], True)

    def test_errors(self) -> None:
        def boom(ref: Any, arg: Any, ctx: Any) -> None:
            raise ValueError("bad")

        mcp = make(boom)
        self.assertEqual(complete(mcp, {"type": "ref/prompt", "name": "zzz"}, "a", "")["__error__"]["code"], -32602)
        self.assertEqual(complete(mcp, {"type": "ref/resource", "uri": "nope://x"}, "a", "")["__error__"]["code"], -32602)
        self.assertEqual(complete(mcp, {"type": "ref/other"}, "a", "")["__error__"]["code"], -32602)
        self.assertEqual(complete(mcp, PROMPT_REF, "name", ""),
                         {"__error__": {"code": -32603, "message": "Error completing argument name: bad"}})
        self.assertEqual(Dispatcher(mcp).complete(None, None, None, FakeCall())["__error__"]["code"], -32602)  # type: ignore[arg-type]
        self.assertEqual(complete(make(lambda *a: 42), PROMPT_REF, "name", "")["__error__"]["code"], -32603)


if __name__ == "__main__":
    unittest.main()
