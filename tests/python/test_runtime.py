from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest
from typing import Any

import fasterapi
from fasterapi import FastMCP, _runtime

try:
    from ._support import SAMPLE_SERVER, FakeCall, call_tool, host_json_problems, run
except ImportError:
    from _support import SAMPLE_SERVER, FakeCall, call_tool, host_json_problems, run  # type: ignore[no-redef]

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(fasterapi.__file__)))


def walk(value: Any, path: str = "$") -> list[str]:
    """Paths of every null in a JSON value (optional fields must be omitted, never null)."""
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() if not (k == "default") for p in walk(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in walk(v, f"{path}[{i}]")]
    return []


class LoadApp(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.addCleanup(setattr, _runtime, "HOSTED", False)

    def write(self, source: str, name: str = "server.py") -> str:
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(source))
        return path

    def test_finds_mcp_by_convention_name_or_uniqueness(self) -> None:
        path = self.write("""
            from fasterapi import FastMCP
            mcp = FastMCP("conventional")
            other = FastMCP("other")
        """)
        self.assertEqual(_runtime.load_app(path).name, "conventional")
        self.assertEqual(_runtime.load_app(path, "other").name, "other")
        self.assertTrue(_runtime.HOSTED)
        single = self.write("""
            from fasterapi import FastMCP
            server = FastMCP("single")
            alias = server
        """, "single.py")
        self.assertEqual(_runtime.load_app(single).name, "single")

    def test_lookup_errors(self) -> None:
        none = self.write("x = 1\n", "none.py")
        with self.assertRaisesRegex(LookupError, "No FastMCP instance found"):
            _runtime.load_app(none)
        several = self.write("""
            from fasterapi import FastMCP
            a = FastMCP("a")
            b = FastMCP("b")
        """, "several.py")
        with self.assertRaisesRegex(LookupError, r"Several FastMCP instances .*\(a, b\).*--mcp NAME"):
            _runtime.load_app(several)
        with self.assertRaisesRegex(LookupError, "has no attribute 'zzz'"):
            _runtime.load_app(several, "zzz")
        wrong = self.write("from fasterapi import FastMCP\nmcp = FastMCP()\nnot_mcp = 3\n", "wrong.py")
        with self.assertRaisesRegex(LookupError, "is a int, not a FastMCP instance"):
            _runtime.load_app(wrong, "not_mcp")
        with self.assertRaises(FileNotFoundError):
            _runtime.load_app(os.path.join(self.dir.name, "missing.py"))

    def test_user_errors_propagate_unchanged(self) -> None:
        path = self.write('raise ImportError("module numpy does not support loading in subinterpreters")\n', "bad.py")
        with self.assertRaisesRegex(ImportError, "does not support loading in subinterpreters"):
            _runtime.load_app(path)
        self.assertNotIn("_fasterapi_app_bad", sys.modules)

    def test_siblings_importable_and_run_is_harmless(self) -> None:
        self.write("VALUE = 41\n", "helper_mod_for_test.py")
        path = self.write("""
            from dataclasses import dataclass
            from fasterapi import FastMCP
            import helper_mod_for_test

            mcp = FastMCP("sib")

            @dataclass
            class Out:
                v: int

            @mcp.tool()
            def value() -> Out:
                return Out(helper_mod_for_test.VALUE + 1)

            mcp.run()  # unguarded: must not exec anything under the host
        """, "sib.py")
        mcp = _runtime.load_app(path)
        self.assertEqual(call_tool(mcp, "value", {})["structuredContent"], {"v": 42})
        self.assertEqual(mcp.__class__.__module__, "fasterapi.server")
        self.assertIn("_fasterapi_app_sib", sys.modules)


class Export(unittest.TestCase):
    def test_sample_server_table(self) -> None:
        table = _runtime.export(_runtime.load_app(SAMPLE_SERVER))
        _runtime.HOSTED = False
        self.assertEqual(walk(table), [])
        self.assertEqual(host_json_problems(table), [])
        json.dumps(table, allow_nan=False)
        self.assertEqual(list(table), ["name", "version", "instructions", "completions", "tools", "resources",
                                       "resourceTemplates", "prompts"])
        self.assertEqual((table["name"], table["version"], table["completions"]), ("sample-server", "1.2.3", True))
        self.assertEqual([t["name"] for t in table["tools"]],
                         ["add", "echo", "forecast", "ship", "logo", "fail", "count_visit"])
        for tool in table["tools"]:
            self.assertTrue(tool["description"])
            self.assertEqual(tool["inputSchema"]["type"], "object")

    def test_minimal_server(self) -> None:
        table = _runtime.export(FastMCP())
        self.assertEqual(
            table,
            {"name": "FastMCP", "version": fasterapi.__version__, "completions": False,
             "tools": [], "resources": [], "resourceTemplates": [], "prompts": []},
        )
        full = FastMCP("n", "how to use", version="2", title="T", description="D", website_url="https://x.test",
                       icons=[{"src": "https://x.test/i.png"}], dependencies=["x"], log_level="DEBUG")
        self.assertEqual(
            _runtime.export(full),
            {"name": "n", "version": "2", "title": "T", "description": "D", "websiteUrl": "https://x.test",
             "instructions": "how to use", "icons": [{"src": "https://x.test/i.png"}], "completions": False,
             "tools": [], "resources": [], "resourceTemplates": [], "prompts": []},
        )


class SampleServer(unittest.TestCase):
    mcp: FastMCP
    d: _runtime.Dispatcher

    @classmethod
    def setUpClass(cls) -> None:
        cls.mcp = _runtime.load_app(SAMPLE_SERVER)
        _runtime.HOSTED = False
        cls.d = _runtime.Dispatcher(cls.mcp)

    def test_calls(self) -> None:
        call = FakeCall()
        self.assertEqual(run(self.d.call_tool("add", {"a": 2, "b": 3}, call))["structuredContent"], {"result": 5})
        pending = self.d.call_tool("forecast", {"city": "Oslo", "unit": "fahrenheit"}, call)
        self.assertTrue(asyncio.iscoroutine(pending))
        self.assertEqual(run(pending)["structuredContent"],
                         {"city": "Oslo", "temperature": 21.5, "unit": "fahrenheit", "tags": ["sunny"]})
        self.assertEqual(call.logs, [("info", "forecast for Oslo", None)])
        self.assertEqual(call.progress_events, [(50.0, 100.0, "halfway")])
        self.assertEqual(run(self.d.call_tool("ship", {"to": {"street": "s", "city": "Rome"}, "priority": "high"}, call)),
                         {"content": [{"type": "text", "text": '{\n  "city": "Rome",\n  "priority": "high"\n}'}],
                          "structuredContent": {"city": "Rome", "priority": "high"}})
        self.assertEqual(run(self.d.call_tool("fail", {}, call))["isError"], True)
        self.assertEqual(run(self.d.call_tool("logo", {}, call))["content"][0]["type"], "image")
        first = run(self.d.call_tool("count_visit", {}, call))["structuredContent"]["result"]
        self.assertEqual(run(self.d.call_tool("count_visit", {}, call))["structuredContent"]["result"], first + 1)

    def test_resources_prompts_completion(self) -> None:
        call = FakeCall()
        self.assertEqual(run(self.d.read_resource("users://2/profile", call))["contents"][0]["text"],
                         '{\n  "id": 2,\n  "name": "Linus"\n}')
        self.assertEqual(run(self.d.read_resource("files://a/b.txt", call))["contents"][0]["text"], "contents of a/b.txt")
        self.assertEqual(run(self.d.read_resource("users://9/profile", call))["__error__"]["code"], -32603)
        self.assertEqual(run(self.d.get_prompt("plan_trip", {"city": "Rome", "days": "2"}, call))["messages"][0],
                         {"role": "user", "content": {"type": "text", "text": "Plan 2 days in Rome."}})
        self.assertEqual(run(self.d.complete({"type": "ref/prompt", "name": "plan_trip"}, {"name": "city", "value": "pr"}, None, call)),
                         {"completion": {"values": ["Prague"], "total": 1, "hasMore": False}})

    def test_big_integers_are_not_rounded(self) -> None:
        # 2**63 is past int64: the value stays exact, so the host's converter refuses it with a
        # clear error instead of the client getting a silently rounded float.
        value = run(self.d.call_tool("add", {"a": 2**62, "b": 2**62}, FakeCall()))
        self.assertEqual(value["structuredContent"], {"result": 2**63})
        self.assertEqual(host_json_problems(value), ["/structuredContent/result: integer out of range"])

    def test_every_result_crosses_the_host_converter(self) -> None:
        calls = [
            self.d.call_tool("forecast", {"city": "x"}, FakeCall()),
            self.d.call_tool("ship", {"to": {"street": "s", "city": "c"}}, FakeCall()),
            self.d.call_tool("logo", {}, FakeCall()),
            self.d.call_tool("fail", {}, FakeCall()),
            self.d.call_tool("nope", {}, FakeCall()),
            self.d.read_resource("users://1/profile", FakeCall()),
            self.d.read_resource("config://app", FakeCall()),
            self.d.read_resource("nope://", FakeCall()),
            self.d.get_prompt("plan_trip", {"city": "a", "days": "1"}, FakeCall()),
            self.d.complete({"type": "ref/prompt", "name": "plan_trip"}, {"name": "city", "value": ""}, None, FakeCall()),
        ]
        for result in calls:
            value = run(result)
            self.assertEqual(host_json_problems(value), [], value)

    def test_in_process_helpers(self) -> None:
        async def main() -> Any:
            return (await self.mcp.call_tool("echo", {"text": "x"}), await self.mcp.read_resource("config://app"),
                    await self.mcp.get_prompt("review_code", {"code": "c"}), await self.mcp.list_tools())

        tool, res, prompt, tools = asyncio.run(main())
        self.assertEqual(tool["content"], [{"type": "text", "text": "x"}])
        self.assertEqual(res["contents"][0]["mimeType"], "application/json")
        self.assertEqual(prompt["messages"][0]["role"], "user")
        self.assertEqual(len(tools), 7)


class Run(unittest.TestCase):
    def test_hosted_run_returns(self) -> None:
        _runtime.HOSTED = True
        try:
            FastMCP().run()  # returns at once: no exec, no exception
        finally:
            _runtime.HOSTED = False

    def test_unknown_transport(self) -> None:
        with self.assertRaises(ValueError):
            FastMCP().run(transport="carrier-pigeon")

    def _script(self, d: str) -> str:
        path = os.path.join(d, "server.py")
        with open(path, "w") as f:
            f.write("from fasterapi import FastMCP\napp = FastMCP('x')\nif __name__ == '__main__':\n"
                    "    app.run(transport='streamable-http', port=9001)\n")
        return path

    def test_without_fasterapi_on_path(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = self._script(d)
            env = {**os.environ, "PATH": d, "PYTHONPATH": PYTHON_DIR}
            p = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True, timeout=60)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("RuntimeError: This server runs on the fasterapi host", p.stderr)
            self.assertIn("fasterapi run", p.stderr)

    def test_execs_fasterapi_run(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = self._script(d)
            out = os.path.join(d, "argv.txt")
            fake = os.path.join(d, "fasterapi")
            with open(fake, "w") as f:
                f.write(f'#!/bin/sh\necho "$0 $@" > {out}\n')
            os.chmod(fake, 0o755)
            env = {**os.environ, "PATH": d + os.pathsep + os.environ.get("PATH", ""), "PYTHONPATH": PYTHON_DIR}
            p = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True, timeout=60, cwd=d)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                argv = f.read().split()
            self.assertEqual(argv[1:], ["run", path, "--http", "127.0.0.1:9001", "--mcp", "app"])


class NeverRaises(unittest.TestCase):
    def test_broken_table_entries_become_errors(self) -> None:
        mcp = FastMCP()

        @mcp.tool()
        def t() -> int:
            return 1

        class Broken:
            def run(self, *a: Any) -> Any:
                raise RuntimeError("bug")

            def matches(self, uri: str) -> Any:
                raise RuntimeError("bug")

        d = _runtime.Dispatcher(mcp)
        mcp._tools["t"] = Broken()  # type: ignore[assignment]  # simulate a bug in the package
        self.assertEqual(d.call_tool("t", {}, FakeCall()),
                         {"__error__": {"code": -32603, "message": "Internal error in tools/call: bug"}})
        mcp._templates["x://{a}"] = Broken()  # type: ignore[assignment]
        self.assertEqual(d.read_resource("x://1", FakeCall())["__error__"]["code"], -32603)


if __name__ == "__main__":
    unittest.main()
