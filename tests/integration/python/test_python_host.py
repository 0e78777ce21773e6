"""integration/python-host: `fasterapi run APP.py` serving FastMCP apps, spoken to in raw JSON.

The apps (apps/*.py) are written as FastMCP users write them. Every server is a real `fasterapi`
process on pipes (pyharness.py -> harness.py), so every test also checks that stdout carries
nothing but JSON-RPC lines. What is covered, in order:

  * the table: tools/list schemas (dataclass, Literal, Enum, Optional, list[int], TypedDict
    return, docstring descriptions), resources, templates, prompts; calls of each kind;
    resources/read, prompts/get, completion/complete and their errors;
  * bad input: argument validation in C before Python runs (a side-effect counter proves the
    tool did not run), tool exceptions with and without --debug, results that are not JSON,
    an oversized result, an unknown tool;
  * cancellation and --tool-timeout of async and busy-looping sync tools, the worker reused;
  * concurrency: overlapping async tasks, 2000 pipelined calls answered exactly once;
  * Context logging/progress and logging/setLevel; fasterapi.shared across interpreters versus a
    per-interpreter module global; elicitation and sampling round trips;
  * start-up: import errors and syntax errors (exit 1, traceback on stderr, empty stdout),
    --mcp, several instances; stdout purity of a printing app; `fasterapi inspect`; the
    main-interpreter fallback for a single-phase C extension and the "(own GIL)" start-up line;
  * the early worker (main interpreter, no asyncio loop until a call needs one) serving sync,
    async and cancelled calls before the isolated workers are up.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

from pyharness import (FASTERAPI, PyServerTestCase, app, call, cancel, error, initialize_params,
                       main, request, responses, result, run_once, text_of)
from harness import text_result


def python_version() -> tuple[tuple[int, int, int], str]:
    """The embedded Python's version and GIL mode, from `fasterapi --version`
    ("python 3.13.0 (per-interpreter GIL ...)")."""
    out = subprocess.run([FASTERAPI, "--version"], capture_output=True, text=True,
                         timeout=10).stdout
    m = re.search(r"^python (\d+)\.(\d+)\.(\d+)\S* \((.*)\)$", out, re.M)
    if not m:
        raise AssertionError("no python line in `fasterapi --version`: %r" % out)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))), m.group(4)


PY_FULL, PY_MODE = python_version()
PY = PY_FULL[:2]
# Own-GIL subinterpreters: 3.12+, except 3.12.0-3.12.3, which abort at exit once a
# subinterpreter used asyncio (CPython gh-119213); the host runs those in shared-GIL mode.
ISOLATED = PY_FULL >= (3, 12, 4)
INIT = request(0, "initialize", initialize_params())


def ok_text(id_, text: str, structured=None) -> dict:
    r: dict = {"content": [{"type": "text", "text": text}]}
    if structured is not None:
        r["structuredContent"] = structured
    return result(id_, r)


def tool_error(id_, text: str) -> dict:
    return result(id_, {"content": [{"type": "text", "text": text}], "isError": True})


# ---------------------------------------------------------------------------------------------
# The table and the happy paths

class Table(PyServerTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.srv = self.serve("kitchen", "--workers", "2")

    def tools(self) -> dict:
        resp = self.srv.request("l", "tools/list")
        self.assertNotIn("nextCursor", resp["result"])
        return {t["name"]: t for t in resp["result"]["tools"]}

    def test_initialize_advertises_what_the_app_has(self) -> None:
        srv = self.start("run", app("kitchen"), "--workers", "1")
        r = srv.request(0, "initialize", initialize_params())["result"]
        self.assertJson(r["serverInfo"], {"name": "kitchen", "version": "2.0.0"})
        self.assertEqual(r["instructions"], "Everything the Python host integration tests need.")
        self.assertJson(r["capabilities"], {
            "logging": {}, "tools": {"listChanged": False},
            "prompts": {"listChanged": False},
            "resources": {"subscribe": True, "listChanged": False},
            "completions": {}})

    def test_schemas_of_every_kind_of_parameter(self) -> None:
        tools = self.tools()
        self.assertEqual(len(tools), 30)
        self.assertJson(tools["echo"], {
            "name": "echo", "description": "Echo the text back.",
            "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}},
                            "required": ["text"], "additionalProperties": False},
            "outputSchema": {"type": "object", "properties": {"result": {"type": "string"}},
                             "required": ["result"]}})
        # A dataclass argument ($defs), a Literal with a default, docstring Args: descriptions;
        # the docstring's Args section is not in the tool's description.
        self.assertJson(tools["describe_point"]["description"], "Describe a point.")
        self.assertJson(tools["describe_point"]["inputSchema"], {
            "type": "object",
            "properties": {
                "point": {"$ref": "#/$defs/Point", "description": "where it is"},
                "unit": {"enum": ["cm", "m"], "type": "string", "default": "m",
                         "description": "the unit of the coordinates"}},
            "required": ["point"],
            "additionalProperties": False,
            "$defs": {"Point": {
                "type": "object", "title": "Point",
                "properties": {"x": {"type": "number"}, "y": {"type": "number"},
                               "label": {"type": "string", "default": "origin"}},
                "required": ["x", "y"]}}})
        # An Enum and an Optional[int] = None.
        self.assertJson(tools["paint"]["inputSchema"], {
            "type": "object",
            "properties": {
                "color": {"$ref": "#/$defs/Color", "description": "which color"},
                "shade": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None,
                          "description": "how dark, 0-10 (optional)"}},
            "required": ["color"],
            "additionalProperties": False,
            "$defs": {"Color": {"title": "Color", "type": "string", "enum": ["red", "green"]}}})
        # list[int] in, a TypedDict out (the object itself, not wrapped in "result").
        self.assertJson(tools["summarize"]["inputSchema"], {
            "type": "object",
            "properties": {"numbers": {"type": "array", "items": {"type": "integer"}}},
            "required": ["numbers"], "additionalProperties": False})
        self.assertJson(tools["summarize"]["outputSchema"], {
            "type": "object", "title": "Summary",
            "properties": {"total": {"type": "integer"}, "count": {"type": "integer"},
                           "mean": {"type": "number"}},
            "required": ["total", "count", "mean"]})
        # Annotated[str, "..."] describes the parameter; no docstring: the humanised name.
        self.assertJson(tools["annotated"]["inputSchema"]["properties"],
                        {"name": {"type": "string", "description": "Who to greet"}})
        self.assertEqual(tools["annotated"]["description"], "Annotated")
        # The Context parameter is not part of the schema; content returns have no outputSchema.
        self.assertJson(tools["chatty"]["inputSchema"]["properties"],
                        {"steps": {"type": "integer"}})
        self.assertNotIn("outputSchema", tools["pixel"])
        self.assertNotIn("outputSchema", tools["returns_set"])

    def test_calls_of_each_kind(self) -> None:
        srv = self.srv
        cases = [
            ("echo", {"text": "héllo ✓"}, ok_text(1, "héllo ✓", {"result": "héllo ✓"})),
            ("async_echo", {"text": "later", "delay": 0.01},
             ok_text(2, "later", {"result": "later"})),
            # The dataclass argument arrives as a Point instance; ints widen to float.
            ("describe_point", {"point": {"x": 1, "y": 2.5}},
             ok_text(3, "origin at (1.0, 2.5) m [Point]",
                     {"result": "origin at (1.0, 2.5) m [Point]"})),
            ("describe_point", {"point": {"x": 0.5, "y": -1, "label": "p"}, "unit": "cm"},
             ok_text(4, "p at (0.5, -1.0) cm [Point]", {"result": "p at (0.5, -1.0) cm [Point]"})),
            # The Enum argument arrives as the member; Optional defaults to None.
            ("paint", {"color": "green"}, ok_text(5, "GREEN shade=None",
                                                  {"result": "GREEN shade=None"})),
            ("paint", {"color": "red", "shade": 3}, ok_text(6, "RED shade=3",
                                                            {"result": "RED shade=3"})),
            ("paint", {"color": "red", "shade": None}, ok_text(7, "RED shade=None",
                                                               {"result": "RED shade=None"})),
            ("summarize", {"numbers": [1, 2, 3, 4]},
             ok_text(8, '{\n  "total": 10,\n  "count": 4,\n  "mean": 2.5\n}',
                     {"total": 10, "count": 4, "mean": 2.5})),
            ("async_total", {"numbers": [5, 6]}, ok_text(9, "11", {"result": 11})),
            ("annotated", {"name": "Bo"}, ok_text(10, "hello Bo", {"result": "hello Bo"})),
            ("pixel", None, result(11, {"content": [
                {"type": "image", "data": "iVBORw0KGgpmYWtl", "mimeType": "image/png"}]})),
        ]
        srv.send(*[call(i, name, args) for i, (name, args, _) in enumerate(cases, 1)])
        got = {}
        for _ in cases:
            m = srv.recv()
            got[m["id"]] = m
        for i, (name, args, expected) in enumerate(cases, 1):
            self.assertJson(got[i], expected, "%s %r" % (name, args))

    def test_resources(self) -> None:
        srv = self.srv
        self.assertJson(srv.request(1, "resources/list"), result(1, {"resources": [
            {"uri": "config://settings", "name": "settings", "description": "The settings.",
             "mimeType": "application/json"}]}))
        self.assertJson(srv.request(2, "resources/templates/list"), result(2, {
            "resourceTemplates": [
                {"uriTemplate": "users://{user_id}/name", "name": "user_name",
                 "description": "A user's name.", "mimeType": "text/plain"},
                {"uriTemplate": "files://{folder}/{name}", "name": "file_text",
                 "description": "A file, asynchronously.", "mimeType": "text/plain"}]}))
        self.assertJson(srv.request(3, "resources/read", {"uri": "config://settings"}),
                        result(3, {"contents": [{"uri": "config://settings",
                                                 "mimeType": "application/json",
                                                 "text": '{\n  "theme": "dark"\n}'}]}))
        self.assertJson(srv.request(4, "resources/read", {"uri": "users://2/name"}),
                        result(4, {"contents": [{"uri": "users://2/name",
                                                 "mimeType": "text/plain", "text": "Alan"}]}))
        # An async template function with two variables.
        self.assertJson(srv.request(5, "resources/read", {"uri": "files://docs/a.txt"}),
                        result(5, {"contents": [{"uri": "files://docs/a.txt",
                                                 "mimeType": "text/plain",
                                                 "text": "docs/a.txt"}]}))
        for i, uri in enumerate(["nope://x", "users://2/name/extra", "config://settings/"], 6):
            self.assertJson(srv.request(i, "resources/read", {"uri": uri}),
                            error(i, -32002, "Resource not found: " + uri, {"uri": uri}))

    def test_prompts(self) -> None:
        srv = self.srv
        self.assertJson(srv.request(1, "prompts/list"), result(1, {"prompts": [
            {"name": "greet", "description": "Greet someone.",
             "arguments": [{"name": "name", "required": True},
                           {"name": "style", "required": False}]},
            {"name": "compare", "description": "Compare two things.",
             "arguments": [{"name": "a", "required": True}, {"name": "b", "required": True}]}]}))
        self.assertJson(srv.request(2, "prompts/get", {"name": "greet",
                                                       "arguments": {"name": "Bo"}}),
                        result(2, {"description": "Greet someone.", "messages": [
                            {"role": "user", "content": {"type": "text",
                                                         "text": "Say a warm hello to Bo."}}]}))
        self.assertJson(srv.request(3, "prompts/get", {"name": "compare",
                                                       "arguments": {"a": "x", "b": "y"}}),
                        result(3, {"description": "Compare two things.", "messages": [
                            {"role": "user", "content": {"type": "text",
                                                         "text": "Compare x with y."}}]}))
        resp = srv.request(4, "prompts/get", {"name": "greet", "arguments": {"style": "dry"}})
        self.assertEqual(resp["error"]["code"], -32602, resp)
        self.assertIn("'name'", resp["error"]["message"])
        resp = srv.request(5, "prompts/get", {"name": "greet"})
        self.assertEqual(resp["error"]["code"], -32602, resp)
        resp = srv.request(6, "prompts/get", {"name": "nope"})
        self.assertEqual(resp["error"]["code"], -32602, resp)
        self.assertIn("nope", resp["error"]["message"])

    def test_completion(self) -> None:
        srv = self.srv
        self.assertJson(srv.request(1, "completion/complete", {
            "ref": {"type": "ref/prompt", "name": "greet"},
            "argument": {"name": "style", "value": "wi"}}),
            result(1, {"completion": {"values": ["witty", "wild"]}}))
        self.assertJson(srv.request(2, "completion/complete", {
            "ref": {"type": "ref/resource", "uri": "users://{user_id}/name"},
            "argument": {"name": "user_id", "value": ""}}),
            result(2, {"completion": {"values": ["1", "2"]}}))
        self.assertJson(srv.request(3, "completion/complete", {
            "ref": {"type": "ref/prompt", "name": "greet"},
            "argument": {"name": "name", "value": "x"}}),
            result(3, {"completion": {"values": []}}))
        resp = srv.request(4, "completion/complete", {
            "ref": {"type": "ref/prompt", "name": "nope"},
            "argument": {"name": "x", "value": ""}})
        self.assertEqual(resp["error"]["code"], -32602, resp)


# ---------------------------------------------------------------------------------------------
# Bad input and failing tools

class BadInput(PyServerTestCase):
    def side_effects(self, srv, id_) -> int:
        resp, _ = srv.call(id_, "side_effect_count")
        return resp["result"]["structuredContent"]["result"]

    def test_arguments_are_validated_before_python_runs(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        cases = [
            ({"tag": "t"}, "Invalid arguments for tool record: missing required property 'n'"),
            ({"n": 1}, "Invalid arguments for tool record: missing required property 'tag'"),
            ({"n": "1", "tag": "t"},
             "Invalid arguments for tool record: /n: expected integer, got string"),
            ({"n": 1.5, "tag": "t"}, "/n: expected integer"),
            ({"n": True, "tag": "t"}, "/n: expected integer, got boolean"),
            ({"n": 1, "tag": ["t"]}, "/tag: expected string, got array"),
            ({"n": 1, "tag": None}, "/tag: expected string, got null"),
            # Extra and wrong-typed: the wrong type is named, nothing runs.
            ({"n": 1, "tag": 2, "extra": True}, "/tag: expected string, got integer"),
        ]
        for i, (args, text) in enumerate(cases):
            resp, _ = srv.call(i, "record", args)
            self.assertTrue(resp["result"].get("isError"), resp)
            self.assertIn(text, text_of(resp), args)
        for i, (args, text) in enumerate([
                ({"point": {"x": 1}}, "/point: missing required property 'y'"),
                ({"point": {"x": "1", "y": 2}}, "/point/x: expected number, got string"),
                ({"point": [1, 2]}, "/point: expected object, got array"),
                ({"point": {"x": 1, "y": 2}, "unit": "km"}, "/unit: value is not one of")], 20):
            resp, _ = srv.call(i, "describe_point", args)
            self.assertTrue(resp["result"].get("isError"), resp)
            self.assertIn(text, text_of(resp), args)
        for i, (args, text) in enumerate([
                ({"color": "blue"}, '/color: value is not one of the allowed values ("red", '
                                    '"green")'),
                ({"color": "red", "shade": "dark"}, "/shade"),
                ({"numbers": [1, "2"]}, "/numbers/1: expected integer, got string")], 30):
            tool = "summarize" if "numbers" in args else "paint"
            resp, _ = srv.call(i, tool, args)
            self.assertTrue(resp["result"].get("isError"), resp)
            self.assertIn(text, text_of(resp), args)
        # arguments that are not an object at all: a protocol error, not a tool result.
        resp, _ = srv.call(40, "record", [1, "t"])
        self.assertEqual(resp.get("error", {}).get("code"), -32602, resp)
        self.assertEqual(self.side_effects(srv, 41), 0, "record ran despite invalid arguments")
        # The valid call does run (the counter works).
        resp, _ = srv.call(42, "record", {"n": 7, "tag": "t"})
        self.assertJson(resp, ok_text(42, "7", {"result": 7}))
        self.assertEqual(self.side_effects(srv, 43), 1)

    def test_unknown_arguments_are_refused_unless_the_tool_takes_kwargs(self) -> None:
        """Generated schemas say additionalProperties: false (FastMCP 1.x would silently drop
        the argument): a misspelt argument is named in an isError result and nothing runs. A
        function with **kwargs gets them."""
        srv = self.serve("kitchen", "--workers", "1")
        tools = {t["name"]: t for t in srv.request(0, "tools/list")["result"]["tools"]}
        self.assertIs(tools["record"]["inputSchema"]["additionalProperties"], False)
        self.assertNotIn("additionalProperties", tools["labels"]["inputSchema"])
        resp, _ = srv.call(1, "record", {"n": 3, "tag": "t", "unexpected": [1]})
        self.assertTrue(resp["result"].get("isError"), resp)
        self.assertIn("Invalid arguments for tool record: unexpected property 'unexpected'",
                      text_of(resp))
        self.assertEqual(self.side_effects(srv, 2), 0)
        resp, _ = srv.call(3, "labels", {"name": "n", "b": "2", "a": "1"})
        self.assertJson(resp, ok_text(3, "n a=1 b=2", {"result": "n a=1 b=2"}))

    def test_tool_exceptions(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        resp, _ = srv.call(1, "fail", {"message": "bad thing"})
        self.assertJson(resp, tool_error(1, "Error executing tool fail: bad thing"))
        resp, _ = srv.call(2, "async_fail")
        self.assertJson(resp, tool_error(2, "Error executing tool async_fail: async boom"))
        self.assertAlive(srv)
        self.assertNotIn("Traceback", srv.logs())

    def test_debug_puts_the_traceback_in_the_error(self) -> None:
        srv = self.serve("kitchen", "--workers", "1", "--debug")
        for i, (tool, line) in enumerate([("fail", "raise ValueError(message)"),
                                          ("async_fail", "raise ValueError(message)")]):
            resp, _ = srv.call(i, tool)
            self.assertTrue(resp["result"].get("isError"), resp)
            text = text_of(resp)
            self.assertTrue(text.startswith("Error executing tool %s: " % tool), text)
            self.assertIn("Traceback (most recent call last):", text)
            self.assertIn("kitchen.py", text)
            self.assertIn(line, text)
            self.assertIn("ValueError:", text)

    def test_sys_exit_in_a_sync_tool(self) -> None:
        """sys.exit() in a tool is a tool failure the model can read (the exception is named,
        since its str() is only the exit code); the worker lives on."""
        srv = self.serve("kitchen", "--workers", "1")
        resp, _ = srv.call(1, "sync_exit", {"code": 3}, timeout=5)
        self.assertJson(resp, result(1, text_result("Error executing tool sync_exit: SystemExit: 3",
                                                    is_error=True)))
        self.assertAlive(srv)

    def test_base_exceptions_in_async_tools(self) -> None:
        """An async tool that calls sys.exit() or raises KeyboardInterrupt gets an answer (a
        tool failure) like the sync one, and does not take its worker down.

        Regression (found by this test): asyncio re-raises SystemExit/KeyboardInterrupt from a
        task step out of loop.run_forever(), which ended the worker's loop: the call was never
        answered and the worker never served again."""
        for i, (tool, why) in enumerate([("async_exit", "SystemExit"),
                                         ("async_interrupt", "KeyboardInterrupt")]):
            with self.subTest(tool=tool):
                srv = self.serve("kitchen", "--workers", "1")
                srv.send(call(i, tool))
                try:
                    resp, _ = srv.recv_id(i, timeout=3)
                except AssertionError:
                    self.fail("%s: no answer within 3 s (the worker's loop stopped?); server "
                              "log:\n%s" % (tool, srv.logs()[-1500:]))
                self.assertTrue(resp["result"].get("isError"), resp)
                self.assertIn("Error executing tool %s: %s" % (tool, why), text_of(resp))
                self.assertNotIn("stopped", srv.logs())
                resp, _ = srv.call("after", "echo", {"text": "alive"}, timeout=3)
                self.assertJson(resp, ok_text("after", "alive", {"result": "alive"}))

    def test_results_that_are_not_json(self) -> None:
        # FastMCP turns a set into a list and any other object into its str() (pydantic's
        # to_json(fallback=str)); the package does the same.
        srv = self.serve("kitchen", "--workers", "1")
        resp, _ = srv.call(1, "returns_set")
        self.assertJson(resp, ok_text(1, "[\n  1,\n  2,\n  3\n]"))
        resp, _ = srv.call(2, "returns_object")
        self.assertJson(resp, ok_text(2, '"<Opaque>"'))
        self.assertAlive(srv)
        # What the package passes through unconverted (raw content blocks of a CallToolResult)
        # reaches the host's converter, which refuses it with an error result naming the place.
        srv = self.serve("oddities", "--workers", "1")
        resp, _ = srv.call(3, "raw_set")
        self.assertJson(resp, tool_error(3, "Tool raw_set returned a value that is not JSON: "
                                            "/content/0/text: set is not JSON (use a list)"))
        resp, _ = srv.call(4, "raw_object")
        self.assertJson(resp, tool_error(4, "Tool raw_object returned a value that is not JSON: "
                                            "/content/0/extra: object is not JSON"))
        # JSON has no NaN: answering null would contradict the tool's own number schema, so
        # it is a tool error (issue 9 §4), as the host's converter does for C tools.
        resp, _ = srv.call(5, "nan")
        self.assertJson(resp, tool_error(5, "Error executing tool nan: the result holds nan, "
                                            "which JSON cannot represent"))
        resp, _ = srv.call(6, "echo", {"text": "fine"})
        self.assertJson(resp, ok_text(6, "fine", {"result": "fine"}))

    def test_oversized_result(self) -> None:
        srv = self.serve("kitchen", "--workers", "1")
        resp, _ = srv.call(1, "big", {"nbytes": 11 * 1024 * 1024}, timeout=30)
        self.assertTrue(resp["result"].get("isError"), str(resp)[:300])
        self.assertRegex(text_of(resp), r"^Tool big returned \d+ bytes, over the 10481664-byte "
                                        r"message limit$")
        # Just under the limit still goes through (content text + structuredContent copy).
        resp, _ = srv.call(2, "big", {"nbytes": 4 * 1024 * 1024}, timeout=30)
        self.assertNotIn("isError", resp["result"])
        self.assertEqual(len(text_of(resp)), 4 * 1024 * 1024)
        self.assertAlive(srv)

    def test_unknown_tool(self) -> None:
        srv = self.serve("kitchen", "--workers", "1")
        resp, _ = srv.call(1, "no_such_tool", {})
        self.assertEqual(resp["error"]["code"], -32602, resp)
        self.assertIn("Unknown tool: no_such_tool", resp["error"]["message"])
        self.assertAlive(srv)


# ---------------------------------------------------------------------------------------------
# Cancellation and timeouts

class Cancellation(PyServerTestCase):
    def whoami(self, srv, id_) -> str:
        resp, _ = srv.call(id_, "whoami")
        return resp["result"]["structuredContent"]["result"]

    def test_cancel_a_sleeping_async_tool(self) -> None:
        srv = self.serve("kitchen", "--workers", "1")
        before = self.whoami(srv, "w0")
        srv.send(call(1, "nap", {"seconds": 30}))
        srv.no_message(0.2)
        srv.send(cancel(1))
        self.assertAlive(srv, "a1")
        srv.no_message(0.3)
        # The same (only) worker and its loop keep serving, async tools included.
        self.assertEqual(self.whoami(srv, "w1"), before)
        resp, msgs = srv.call(2, "nap", {"seconds": 0.05})
        self.assertJson(resp, ok_text(2, "napped 0.05", {"result": "napped 0.05"}))
        self.assertNoResponseFor(msgs, 1)
        self.assertNoResponseFor(self.assertClean(srv), 1)

    def test_cancel_a_busy_looping_sync_tool(self) -> None:
        srv = self.serve("kitchen", "--workers", "1")
        before = self.whoami(srv, "w0")
        srv.send(call(1, "spin", {}))  # while True: pass
        srv.no_message(0.3)
        started = time.monotonic()
        srv.send(cancel(1))
        # The only worker was looping: that the echo answers proves the loop was broken.
        resp, msgs = srv.call("e", "echo", {"text": "free"}, timeout=5)
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertJson(resp, ok_text("e", "free", {"result": "free"}))
        self.assertNoResponseFor(msgs, 1)
        self.assertEqual(self.whoami(srv, "w1"), before)
        # The injected CancelledError must not leak into later calls on that worker.
        srv.send(*[call(100 + i, "echo", {"text": str(i)}) for i in range(50)])
        got = sorted((srv.recv() for _ in range(50)), key=lambda m: m["id"])
        self.assertJson(got, [ok_text(100 + i, str(i), {"result": str(i)}) for i in range(50)])
        resp, _ = srv.call(3, "nap", {"seconds": 0.01})
        self.assertJson(resp, ok_text(3, "napped 0.01", {"result": "napped 0.01"}))
        srv.no_message(0.2)
        self.assertNoResponseFor(self.assertClean(srv), 1)

    def test_cancel_on_every_worker(self) -> None:
        """Two workers, each busy with a looping sync tool and holding a sleeping task: all are
        cancelled and both workers serve afterwards."""
        srv = self.serve("kitchen", "--workers", "2")
        srv.send(call("n1", "nap", {"seconds": 30}), call("n2", "nap", {"seconds": 30}),
                 call("s1", "spin", {}), call("s2", "spin", {}))
        srv.no_message(0.4)
        srv.send(*[cancel(i) for i in ("s1", "s2", "n1", "n2")])
        # With both workers free again, two blocking calls run side by side.
        started = time.monotonic()
        srv.send(call("b1", "block", {"seconds": 0.4}), call("b2", "block", {"seconds": 0.4}))
        got = [srv.recv(5), srv.recv(5)]
        self.assertLess(time.monotonic() - started, 0.75, "both workers should be free")
        self.assertEqual(sorted(m["id"] for m in got), ["b1", "b2"])
        srv.no_message(0.2)
        rest = self.assertClean(srv)
        for id_ in ("n1", "n2", "s1", "s2"):
            self.assertNoResponseFor(rest, id_)

    def test_tool_timeout(self) -> None:
        srv = self.serve("kitchen", "--workers", "1", "--tool-timeout", "0.3")
        for i, (tool, args) in enumerate([("nap", {"seconds": 30}), ("spin", {}),
                                          ("async_echo", {"text": "x", "delay": 30})]):
            started = time.monotonic()
            resp, _ = srv.call(i, tool, args, timeout=5)
            elapsed = time.monotonic() - started
            self.assertJson(resp, tool_error(i, "Tool %s timed out after 300 ms" % tool))
            self.assertGreaterEqual(elapsed, 0.25)
            self.assertLess(elapsed, 1.0)
            # The only worker is free again at once.
            resp, _ = srv.call("e%d" % i, "echo", {"text": "ok"}, timeout=2)
            self.assertJson(resp, ok_text("e%d" % i, "ok", {"result": "ok"}))
        resp, _ = srv.call(10, "nap", {"seconds": 0.05})
        self.assertJson(resp, ok_text(10, "napped 0.05", {"result": "napped 0.05"}))
        resp, _ = srv.call(11, "spin", {"seconds": 0.05})
        self.assertJson(resp, ok_text(11, "spun 0.05", {"result": "spun 0.05"}))
        srv.no_message(0.3)
        self.assertEqual(self.assertClean(srv), [])


# ---------------------------------------------------------------------------------------------
# Concurrency

class Concurrency(PyServerTestCase):
    def test_async_calls_overlap(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        started = time.monotonic()
        srv.send(*[call(i, "nap", {"seconds": 0.5}) for i in range(20)])
        got = [srv.recv(10) for _ in range(20)]
        elapsed = time.monotonic() - started
        self.assertEqual(sorted(m["id"] for m in got), list(range(20)))
        for m in got:
            self.assertJson(m, ok_text(m["id"], "napped 0.5", {"result": "napped 0.5"}))
        # Serially this is 10 s, on two workers without overlap 5 s.
        self.assertLess(elapsed, 2.5, "20 x asyncio.sleep(0.5) took %.2f s" % elapsed)

    def test_2000_pipelined_sync_calls_answered_once(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        n = 2000
        srv.send(*[call(i, "echo", {"text": "m%d" % i}) for i in range(n)])
        seen: dict = {}
        for _ in range(n):
            m = srv.recv(20)
            self.assertNotIn(m["id"], seen, "answered twice: %r" % m)
            seen[m["id"]] = m
        self.assertEqual(sorted(seen), list(range(n)))
        for i, m in seen.items():
            self.assertJson(m, ok_text(i, "m%d" % i, {"result": "m%d" % i}))
        srv.no_message(0.3)
        self.assertEqual(self.assertClean(srv), [])


# ---------------------------------------------------------------------------------------------
# Context: logging and progress

class LoggingAndProgress(PyServerTestCase):
    def notes(self, msgs: list, method: str) -> list:
        return [m["params"] for m in msgs if m.get("method") == method]

    def test_async_tool_logs_and_progress_before_the_result(self) -> None:
        srv = self.serve("kitchen", "--workers", "1")
        resp, before = srv.call(1, "chatty", {"steps": 3}, meta={"progressToken": "tok"})
        self.assertJson(resp, ok_text(1, "chatted", {"result": "chatted"}))
        # The default level is info: debug is filtered.
        self.assertJson(self.notes(before, "notifications/message"), [
            {"level": "info", "data": "info line"},
            {"level": "warning", "data": "warning line"},
            {"level": "error", "data": "error line"}])
        self.assertJson(self.notes(before, "notifications/progress"), [
            {"progressToken": "tok", "progress": i, "total": 3, "message": "step %d" % i}
            for i in (1, 2, 3)])
        srv.no_message(0.2)

    def test_sync_tool_logs_without_await(self) -> None:
        srv = self.serve("kitchen", "--workers", "1")
        resp, before = srv.call(1, "chatty_sync", {"steps": 2}, meta={"progressToken": 7})
        self.assertJson(resp, ok_text(1, "chatted sync", {"result": "chatted sync"}))
        self.assertJson(self.notes(before, "notifications/message"),
                        [{"level": "info", "data": "sync info"}])
        self.assertJson(self.notes(before, "notifications/progress"), [
            {"progressToken": 7, "progress": 1, "total": 2},
            {"progressToken": 7, "progress": 2, "total": 2}])

    def test_no_progress_without_a_token(self) -> None:
        srv = self.serve("kitchen", "--workers", "1")
        _, before = srv.call(1, "chatty", {"steps": 3})
        self.assertEqual(self.notes(before, "notifications/progress"), [])
        _, before = srv.call(2, "chatty_sync", {"steps": 3})
        self.assertEqual(self.notes(before, "notifications/progress"), [])

    def test_set_level_filters(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        self.assertJson(srv.request(1, "logging/setLevel", {"level": "debug"}), result(1, {}))
        _, before = srv.call(2, "chatty", {"steps": 0})
        self.assertEqual([n["level"] for n in self.notes(before, "notifications/message")],
                         ["debug", "info", "warning", "error"])
        _, before = srv.call(3, "chatty_sync", {"steps": 0})
        self.assertEqual([n["data"] for n in self.notes(before, "notifications/message")],
                         ["sync debug", "sync info"])
        self.assertJson(srv.request(4, "logging/setLevel", {"level": "error"}), result(4, {}))
        _, before = srv.call(5, "chatty", {"steps": 0})
        self.assertJson(self.notes(before, "notifications/message"),
                        [{"level": "error", "data": "error line"}])
        _, before = srv.call(6, "chatty_sync", {"steps": 0})
        self.assertEqual(self.notes(before, "notifications/message"), [])
        srv.no_message(0.2)


# ---------------------------------------------------------------------------------------------
# fasterapi.shared versus module globals

class SharedState(PyServerTestCase):
    def hits(self, srv, n: int, hold: float) -> list[dict]:
        srv.send(*[call(i, "hit", {"hold": hold}) for i in range(n)])
        got = [srv.recv(20) for _ in range(n)]
        self.assertEqual(sorted(m["id"] for m in got), list(range(n)))
        return [m["result"]["structuredContent"] for m in got]

    def test_shared_counter_spans_interpreters(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        n = 200
        values = self.hits(srv, n, 0.002)  # 2 ms each: both workers take part
        # One counter for the whole server, atomically incremented: each call saw its own value.
        self.assertEqual(sorted(v["shared"] for v in values), list(range(1, n + 1)))
        resp, _ = srv.call("count", "hit_count")
        self.assertJson(resp, ok_text("count", "200", {"result": 200}))
        # The module global counts per interpreter: 1..k in each, k summing to n.
        by_interp: dict = {}
        for v in values:
            by_interp.setdefault(v["interp"], []).append(v["global"])
        for interp, seen in by_interp.items():
            self.assertEqual(sorted(seen), list(range(1, len(seen) + 1)), "interp %d" % interp)
        if ISOLATED:
            self.assertEqual(len(by_interp), 2, "both interpreters should have served: %r"
                             % {k: len(v) for k, v in by_interp.items()})
            self.assertNotIn(0, by_interp, "tools must not run in the main interpreter")
            self.assertLess(max(v["global"] for v in values), n)

    def test_module_global_is_per_interpreter(self) -> None:
        """Deterministic: the first call holds one worker, so the second runs in the other
        interpreter, whose module global is still zero; the shared counter sees both."""
        if not ISOLATED:
            self.skipTest("Python %d.%d.%d runs no isolated interpreters" % PY_FULL)
        srv = self.serve("kitchen", "--workers", "2")
        values = self.hits(srv, 2, 0.4)
        self.assertEqual(sorted(v["shared"] for v in values), [1, 2])
        self.assertEqual([v["global"] for v in values], [1, 1])
        self.assertNotEqual(values[0]["interp"], values[1]["interp"])


# ---------------------------------------------------------------------------------------------
# Requests to the client: elicitation and sampling

def answer(id_, res) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "result": res}


class ClientRequests(PyServerTestCase):
    CONTACT_SCHEMA = {"type": "object",
                      "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                                     "newsletter": {"type": "boolean", "default": False}},
                      "required": ["name", "age"]}

    def elicit(self, srv, id_) -> dict:
        """Calls ask_contact; returns the elicitation/create request the server sent."""
        srv.send(call(id_, "ask_contact"))
        req, before = srv.recv_until(lambda m: m.get("method") == "elicitation/create")
        self.assertEqual(responses(before), [])
        self.assertJson(req["params"], {"message": "Who should we contact?",
                                        "requestedSchema": self.CONTACT_SCHEMA})
        self.assertIn("id", req)
        return req

    def test_elicitation_accept_decline_cancel(self) -> None:
        srv = self.serve("kitchen", "--workers", "2", capabilities={"elicitation": {}})
        req = self.elicit(srv, 1)
        srv.no_message(0.1)  # the tool waits for the answer
        srv.send(answer(req["id"], {"action": "accept",
                                    "content": {"name": "Bo", "age": 7}}))
        resp, _ = srv.recv_id(1)
        # The answer was converted to the dataclass, defaults filled in.
        self.assertJson(resp, ok_text(1, "accepted Contact Bo 7 False",
                                      {"result": "accepted Contact Bo 7 False"}))
        for i, action in enumerate(["decline", "cancel"], 2):
            req = self.elicit(srv, i)
            srv.send(answer(req["id"], {"action": action}))
            resp, _ = srv.recv_id(i)
            self.assertJson(resp, ok_text(i, action, {"result": action}))
        # Several at once, answered out of order: each answer reaches its own task.
        srv.send(call(10, "ask_contact"), call(11, "ask_contact"), call(12, "ask_contact"))
        reqs = [srv.recv_until(lambda m: m.get("method") == "elicitation/create")[0]
                for _ in range(3)]
        self.assertEqual(len({json.dumps(r["id"]) for r in reqs}), 3, "request ids must differ")
        for k, r in enumerate(reversed(reqs)):
            srv.send(answer(r["id"], {"action": "accept",
                                      "content": {"name": "N%d" % k, "age": k,
                                                  "newsletter": True}}))
        got = sorted((srv.recv() for _ in range(3)), key=lambda m: m["id"])
        self.assertEqual(sorted(text_of(m) for m in got),
                         ["accepted Contact N%d %d True" % (k, k) for k in range(3)])
        # A client error answer becomes the call's JSON-RPC error.
        req = self.elicit(srv, 20)
        srv.send({"jsonrpc": "2.0", "id": req["id"],
                  "error": {"code": -32000, "message": "user went away"}})
        resp, _ = srv.recv_id(20)
        self.assertJson(resp, error(20, -32000, "user went away"))
        # An answer that does not fit the schema fails the tool, naming the field.
        req = self.elicit(srv, 21)
        srv.send(answer(req["id"], {"action": "accept", "content": {"name": "Bo", "age": "x"}}))
        resp, _ = srv.recv_id(21)
        self.assertTrue(resp["result"].get("isError"), resp)
        self.assertIn("age", text_of(resp))
        self.assertAlive(srv)

    def test_cancel_while_eliciting(self) -> None:
        srv = self.serve("kitchen", "--workers", "1", capabilities={"elicitation": {}})
        req = self.elicit(srv, 1)
        srv.send(cancel(1))
        srv.send(answer(req["id"], {"action": "accept", "content": {"name": "late", "age": 1}}))
        self.assertAlive(srv)
        srv.no_message(0.2)
        self.assertNoResponseFor(self.assertClean(srv), 1)

    def test_sampling(self) -> None:
        srv = self.serve("kitchen", "--workers", "2", capabilities={"sampling": {}})
        srv.send(call(1, "ask_model", {"question": "why?"}))
        req, _ = srv.recv_until(lambda m: m.get("method") == "sampling/createMessage")
        self.assertJson(req["params"], {"messages": [{"role": "user", "content": {
            "type": "text", "text": "why?"}}], "maxTokens": 50})
        srv.send(answer(req["id"], {"role": "assistant", "model": "test-model",
                                    "content": {"type": "text", "text": "because"}}))
        resp, _ = srv.recv_id(1)
        self.assertJson(resp, ok_text(1, "model said: because",
                                      {"result": "model said: because"}))

    def test_without_the_capability(self) -> None:
        srv = self.serve("kitchen", "--workers", "1", capabilities={"sampling": {}})
        resp, before = srv.call(1, "ask_contact")
        self.assertEqual([m for m in before if m.get("method")], [],
                         "no request may be sent for an undeclared capability")
        self.assertEqual(resp["error"]["code"], -32601, resp)
        self.assertIn("elicitation", resp["error"]["message"])
        srv = self.serve("kitchen", "--workers", "1", capabilities={"elicitation": {}})
        resp, before = srv.call(2, "ask_model", {"question": "q"})
        self.assertEqual([m for m in before if m.get("method")], [])
        self.assertEqual(resp["error"]["code"], -32601, resp)
        self.assertIn("sampling", resp["error"]["message"])
        self.assertAlive(srv)


# ---------------------------------------------------------------------------------------------
# Start-up: failures, --mcp, stdout purity, inspect

# A client that sends initialize at once: if the server got as far as serving, stdout would
# carry the answer.
STDIN = (json.dumps(INIT) + "\n").encode()


class Startup(PyServerTestCase):
    def assertFailsCleanly(self, args: list, *expected: str, answered_init: bool = False) -> str:
        """Exit status 1 with `expected` on stderr. Nothing reaches stdout, except (with
        answered_init) the initialize reply, when the failure comes from the worker interpreters,
        which start while the main one already answers."""
        rc, out, err = run_once(args, STDIN)
        self.assertEqual(rc, 1, "exit status; stderr:\n" + err)
        if answered_init and out:
            lines = out.decode().splitlines()
            self.assertEqual(len(lines), 1, out)
            self.assertEqual(json.loads(lines[0]).get("id"), INIT["id"], out)
        else:
            self.assertEqual(out, b"", "nothing may reach stdout")
        for text in expected:
            self.assertIn(text, err)
        return err

    def test_import_error(self) -> None:
        err = self.assertFailsCleanly(
            ["run", app("import_error")], "Traceback (most recent call last):",
            "import_error.py\", line 12, in <module>",
            "RuntimeError: settings.toml is missing (raised at import)")
        self.assertNotIn("serving", err)

    def test_syntax_error(self) -> None:
        self.assertFailsCleanly(["run", app("syntax_error")], "syntax_error.py\", line 9",
                                "SyntaxError")

    def test_import_error_only_in_the_workers(self) -> None:
        """The main interpreter imports the app fine; the worker interpreters do not."""
        if not ISOLATED:
            self.skipTest("Python %d.%d.%d runs no worker interpreters" % PY_FULL)
        self.assertFailsCleanly(["run", app("worker_import_error"), "--workers", "2"],
                                "cannot start the Python workers",
                                "RuntimeError: only the main interpreter may import this",
                                answered_init=True)

    def test_unknown_mcp_name(self) -> None:
        self.assertFailsCleanly(["run", app("kitchen"), "--mcp", "nosuchname"],
                                "has no attribute 'nosuchname' (the --mcp name)")
        self.assertFailsCleanly(["run", app("kitchen"), "--mcp", "Point"],
                                "'Point' is a type, not a FastMCP instance")

    def test_several_instances_and_no_mcp_variable(self) -> None:
        self.assertFailsCleanly(["run", app("two_instances")],
                                "Several FastMCP instances", "(admin, public)",
                                "choose one with --mcp NAME")
        srv = self.serve("two_instances", "--mcp", "admin", init=False)
        r = srv.request(0, "initialize", initialize_params())["result"]
        self.assertEqual(r["serverInfo"]["name"], "admin")
        tools = srv.request(1, "tools/list")["result"]["tools"]
        self.assertEqual([t["name"] for t in tools], ["shutdown_everything"])

    def test_missing_file_and_bad_options(self) -> None:
        rc, out, err = run_once(["run", app("does_not_exist")], STDIN)
        self.assertEqual((rc, out), (1, b""))
        self.assertIn("No such file", err)
        for args in (["--workers", "0"], ["--tool-timeout", "-1"], ["--log-level", "loud"],
                     ["--bogus"]):
            rc, out, err = run_once(["run", app("kitchen"), *args], STDIN)
            self.assertEqual((rc, out), (2, b""), args)
            self.assertIn("fasterapi:", err)

    def test_stdout_carries_only_protocol(self) -> None:
        srv = self.serve("noisy", "--workers", "2")
        srv.send(call(1, "shout", {"text": "one"}), call(2, "async_shout", {"text": "two"}),
                 call(3, "shout", {"text": "three"}))
        got = sorted((srv.recv() for _ in range(3)), key=lambda m: m["id"])
        self.assertEqual([text_of(m) for m in got], ["one", "two", "three"])
        self.assertEqual(self.assertClean(srv), [])
        self.assertEqual(srv.bad, [], "stdout must carry only JSON-RPC lines")
        self.assertEqual(srv.nlines, 4)  # initialize + three results
        logs = srv.logs()
        for text in ("NOISE: print at import", "NOISE: sys.stdout.write at import",
                     "NOISE: os.write(1) at import", "NOISE: sys.__stdout__ at import",
                     "NOISE: print one", "NOISE: sys.stdout.write three",
                     "NOISE: os.write(1) one", "NOISE: sys.__stdout__ three",
                     "NOISE: async print two", "NOISE: async os.write(1)"):
            self.assertIn(text, logs)

    def test_inspect(self) -> None:
        rc, out, err = run_once(["inspect", app("kitchen")])
        self.assertEqual(rc, 0, err)
        table = json.loads(out)
        self.assertEqual(table["name"], "kitchen")
        self.assertEqual(table["version"], "2.0.0")
        self.assertIs(table["completions"], True)
        tools = {t["name"]: t for t in table["tools"]}
        self.assertJson(tools["summarize"]["inputSchema"]["properties"]["numbers"],
                        {"type": "array", "items": {"type": "integer"}})
        self.assertJson(table["resourceTemplates"][0], {
            "uriTemplate": "users://{user_id}/name", "name": "user_name",
            "description": "A user's name.", "mimeType": "text/plain"})
        self.assertEqual([p["name"] for p in table["prompts"]], ["greet", "compare"])
        # The noisy app's prints go to stderr; stdout stays one JSON document.
        rc, out, err = run_once(["inspect", app("noisy")])
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["name"], "noisy")
        self.assertIn("NOISE: os.write(1) at import", err)
        rc, out, err = run_once(["inspect", app("two_instances"), "--mcp", "public"])
        self.assertEqual((rc, json.loads(out)["name"]), (0, "public"), err)
        rc, out, err = run_once(["inspect", app("import_error")])
        self.assertEqual((rc, out), (1, b""))
        self.assertIn("RuntimeError: settings.toml is missing", err)


# ---------------------------------------------------------------------------------------------
# Interpreter modes

class EarlyWorker(PyServerTestCase):
    """The first calls are answered from the main interpreter by the early worker while the
    isolated workers start (apps/slow_workers.py holds them up for 3 s). It starts without an
    asyncio loop, for the cold start, and must make one when a call first needs it; cancelling
    a busy sync tool there must work before asyncio was ever imported."""

    def setUp(self) -> None:
        super().setUp()
        os.environ["FA_TEST_WORKER_DELAY"] = "3"
        self.addCleanup(os.environ.pop, "FA_TEST_WORKER_DELAY", None)

    def whoami(self, srv, id_) -> int:
        resp, _ = srv.call(id_, "whoami")
        return resp["result"]["structuredContent"]["result"]

    def test_sync_then_async_calls_before_the_workers_are_up(self) -> None:
        srv = self.serve("slow_workers", "--workers", "2", ready=False)
        self.assertEqual(self.whoami(srv, "w0"), 0)
        resp, _ = srv.call(1, "echo", {"text": "first"})
        self.assertJson(resp, ok_text(1, "first", {"result": "first"}))
        # The first async call makes the loop; the task runs on it.
        resp, _ = srv.call(2, "nap", {"seconds": 0.05})
        self.assertJson(resp, ok_text(2, "napped 0.05 in 0", {"result": "napped 0.05 in 0"}))
        # Then sync and async calls mixed, on that loop.
        srv.send(*[call(10 + i, "echo", {"text": str(i)}) for i in range(20)],
                 call(40, "nap", {"seconds": 0.01}))
        got = sorted((srv.recv(5) for _ in range(21)), key=lambda m: m["id"])
        self.assertJson(got, [ok_text(10 + i, str(i), {"result": str(i)}) for i in range(20)] +
                        [ok_text(40, "napped 0.01 in 0", {"result": "napped 0.01 in 0"})])
        resp, before = srv.call(3, "chatty", meta={"progressToken": "t"})
        self.assertJson(resp, ok_text(3, "chatted", {"result": "chatted"}))
        self.assertJson([m["params"] for m in before if "method" in m], [
            {"level": "info", "data": "hello from the early worker"},
            {"progressToken": "t", "progress": 1, "total": 2}])
        # All of it ran in the main interpreter: the isolated workers were not up yet.
        self.assertEqual(self.whoami(srv, "w1"), 0)
        self.wait_serving(srv)
        if ISOLATED:
            self.assertNotEqual(self.whoami(srv, "w2"), 0)
        resp, _ = srv.call(4, "nap", {"seconds": 0.01})
        self.assertIn(text_of(resp), ("napped 0.01 in 0",) if not ISOLATED else
                      tuple("napped 0.01 in %d" % i for i in range(1, 10)))
        self.assertEqual(self.assertClean(srv), [])

    def test_cancel_a_busy_sync_tool_before_any_async_call(self) -> None:
        srv = self.serve("slow_workers", "--workers", "1", ready=False)
        srv.send(call(1, "spin"))  # while True: pass, on the early worker
        srv.no_message(0.2)
        started = time.monotonic()
        srv.send(cancel(1))
        resp, msgs = srv.call("e", "echo", {"text": "free"}, timeout=5)
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertJson(resp, ok_text("e", "free", {"result": "free"}))
        self.assertNoResponseFor(msgs, 1)
        self.assertEqual(self.whoami(srv, "w"), 0)
        resp, _ = srv.call(2, "nap", {"seconds": 0.01})
        self.assertJson(resp, ok_text(2, "napped 0.01 in 0", {"result": "napped 0.01 in 0"}))
        self.assertNoResponseFor(self.assertClean(srv), 1)


    def test_isolated_workers_wait_for_the_first_call(self) -> None:
        """FASTERAPI_WORKER_HOLD_MS: the isolated workers hold back their start until the early
        worker has finished a call (or the hold runs out), so that a call queued at start-up
        has the CPUs to itself."""
        if not ISOLATED:
            self.skipTest("no isolated workers on Python %d.%d.%d" % PY_FULL)
        os.environ["FA_TEST_WORKER_DELAY"] = "0"
        os.environ["FASTERAPI_WORKER_HOLD_MS"] = "10000"
        self.addCleanup(os.environ.pop, "FASTERAPI_WORKER_HOLD_MS", None)
        srv = self.serve("slow_workers", "--workers", "2", ready=False)
        self.assertJson(srv.request("l", "tools/list")["result"]["tools"][0]["name"], "whoami")
        time.sleep(1.0)  # answered in C: the workers are still held back
        self.assertNotIn("tool(s), Python", srv.logs())  # wait_serving's start-up line
        started = time.monotonic()
        self.assertEqual(self.whoami(srv, "w0"), 0)
        self.wait_serving(srv)
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertNotEqual(self.whoami(srv, "w1"), 0)
        self.assertEqual(self.assertClean(srv), [])

    def test_shutdown_while_the_workers_are_held_back(self) -> None:
        os.environ["FASTERAPI_WORKER_HOLD_MS"] = "10000"
        self.addCleanup(os.environ.pop, "FASTERAPI_WORKER_HOLD_MS", None)
        os.environ["FA_TEST_WORKER_DELAY"] = "0"
        srv = self.serve("slow_workers", "--workers", "2", ready=False)
        started = time.monotonic()
        self.assertEqual(self.assertClean(srv), [])
        self.assertLess(time.monotonic() - started, 5.0)


class InterpreterModes(PyServerTestCase):
    def startup_line(self, srv) -> str:
        return self.wait_serving(srv)

    def test_normal_app_has_its_own_gil(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        line = self.startup_line(srv)
        self.assertIn("Python %d.%d" % PY, line)
        self.assertIn("(own GIL)" if ISOLATED else "(shared GIL)", line)
        self.assertNotIn("does not load in isolated subinterpreters", srv.logs())
        # `fasterapi --version` states the same mode.
        self.assertEqual(PY_MODE.startswith("per-interpreter GIL"), ISOLATED, PY_MODE)
        # 3.12.0-3.12.3 say why they are not isolated.
        warned = "gh-119213" in srv.logs()
        self.assertEqual(warned, (3, 12) <= PY_FULL < (3, 12, 4), srv.logs())

    def test_shared_gil_option(self) -> None:
        srv = self.serve("kitchen", "--workers", "2", "--shared-gil")
        self.assertIn("(shared GIL)", self.startup_line(srv))
        resp, _ = srv.call(1, "whoami")
        self.assertTrue(text_of(resp).startswith("0/"), "runs in the main interpreter")
        resp, _ = srv.call(2, "nap", {"seconds": 0.01})
        self.assertJson(resp, ok_text(2, "napped 0.01", {"result": "napped 0.01"}))
        self.assertAlive(srv)

    def test_single_phase_extension_falls_back_to_the_main_interpreter(self) -> None:
        ext = os.environ.get("FA_SINGLEPHASE_DIR", "")
        if not os.path.isfile(os.path.join(ext, "fa_singlephase.so")):
            self.fail("FA_SINGLEPHASE_DIR must hold the built fa_singlephase.so (ctest sets it)")
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = ext
        try:
            srv = self.serve("singlephase", init=False)
        finally:
            if old is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = old
        srv.request(0, "initialize", initialize_params(), timeout=30)
        resp, _ = srv.call(1, "answer")
        self.assertJson(resp, ok_text(1, "42", {"result": 42}))
        resp, _ = srv.call(2, "async_answer")
        self.assertJson(resp, ok_text(2, "42", {"result": 42}))
        self.assertEqual(self.assertClean(srv), [])
        logs = srv.logs()
        said = [l for l in logs.splitlines() if "does not load in isolated subinterpreters" in l]
        if ISOLATED:
            self.assertEqual(len(said), 1, logs)
            self.assertIn("singlephase.py", said[0])
            self.assertIn("fa_singlephase does not support loading in subinterpreters", said[0])
            self.assertIn("serving it from the main interpreter with a shared GIL", said[0])
            self.assertIn("(shared GIL)", self.startup_line(srv))
            self.assertNotIn("Traceback", logs)
        else:
            self.assertEqual(said, [])


if __name__ == "__main__":
    main()
