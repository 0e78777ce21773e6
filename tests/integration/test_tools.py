"""integration/tools: tools/list (fields, pagination) and tools/call (results and errors).

Spec: server/tools (2025-11-25), utilities/pagination, SEP-1303 (input validation failures are
tool execution errors: isError results, not JSON-RPC errors); checklist §8.1, §7.6.
"""

import json

from harness import (ServerTestCase, call, dumps, error, main, notification, request, result,
                     text_result)

NO_ARGS = {"type": "object", "additionalProperties": False}

# Mirrors the tool table of test_server.c, in registration order.
TOOLS = [
    {
        "name": "echo",
        "title": "Echo",
        "description": "Return the given text unchanged.",
        "inputSchema": {"type": "object",
                        "properties": {"text": {"type": "string", "description": "Text to echo"}},
                        "required": ["text"], "additionalProperties": False},
        "annotations": {"readOnlyHint": True, "idempotentHint": True, "openWorldHint": False},
    },
    {
        "name": "add",
        "title": "Add",
        "description": "Add two numbers.",
        "inputSchema": {"type": "object",
                        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                        "required": ["a", "b"], "additionalProperties": False},
        "outputSchema": {"type": "object", "properties": {"sum": {"type": "number"}},
                         "required": ["sum"]},
        "annotations": {"readOnlyHint": True},
    },
    {
        "name": "fail",
        "description": "Always fails with a tool execution error.",
        "inputSchema": {"type": "object", "properties": {"message": {"type": "string"}},
                        "additionalProperties": False},
    },
    {
        "name": "rpc_error",
        "description": "Always fails with a JSON-RPC internal error.",
        "inputSchema": NO_ARGS,
    },
    {
        "name": "sleep",
        "description": "Wait ms milliseconds on another thread, reporting progress.",
        "inputSchema": {"type": "object",
                        "properties": {"ms": {"type": "integer", "minimum": 0, "maximum": 60000},
                                       "block": {"type": "boolean"}},
                        "required": ["ms"], "additionalProperties": False},
    },
    {
        "name": "log",
        "description": "Send one log message to the client, then finish.",
        "inputSchema": {"type": "object",
                        "properties": {"level": {"type": "string"},
                                       "message": {"type": "string"},
                                       "repeat": {"type": "integer", "minimum": 0,
                                                  "maximum": 1000000}},
                        "required": ["level", "message"], "additionalProperties": False},
    },
    {
        "name": "big",
        "description": "Return a text result of the given size.",
        "inputSchema": {"type": "object",
                        "properties": {"bytes": {"type": "integer", "minimum": 0,
                                                 "maximum": 268435456}},
                        "required": ["bytes"], "additionalProperties": False},
    },
    {
        "name": "bad_result",
        "description": "Completes with something that is not a CallToolResult.",
        "inputSchema": NO_ARGS,
    },
    {
        "name": "never",
        "description": "Never finishes.",
        "inputSchema": NO_ARGS,
        "annotations": {"destructiveHint": False, "openWorldHint": False},
    },
    {
        "name": "types",
        "title": "Types",
        "description": "Validation showcase: returns its arguments.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "count": {"type": "integer", "minimum": 1, "maximum": 10},
                "color": {"enum": ["red", "green", "blue"]},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "point": {"type": "object",
                          "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                          "required": ["x", "y"], "additionalProperties": False},
                "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "a/b~c": {"type": "string"},
            },
            "required": ["count"],
            "additionalProperties": False,
        },
    },
]


def extra_tool(k: int) -> dict:
    return {"name": "extra_%03d" % k, "description": "Extra tool number %d." % k,
            "inputSchema": NO_ARGS}


def invalid_args(tool: str, why: str) -> dict:
    return text_result("Invalid arguments for tool %s: %s" % (tool, why), is_error=True)


class ToolsList(ServerTestCase):
    def test_full_list(self) -> None:
        srv = self.started()
        self.assertJson(srv.request(1, "tools/list"), result(1, {"tools": TOOLS}))
        self.assertJson(srv.request(2, "tools/list", {}), result(2, {"tools": TOOLS}))
        self.assertJson(srv.request(3, "tools/list", {"_meta": {"progressToken": 1}}),
                        result(3, {"tools": TOOLS}))

    def test_key_order_follows_the_spec(self) -> None:
        srv = self.started()
        srv.send(request(1, "tools/list"))
        raw = srv.recv()
        self.assertEqual(list(raw["result"]["tools"][1]),
                         ["name", "title", "description", "inputSchema", "outputSchema",
                          "annotations"])

    def test_pagination(self) -> None:
        srv = self.started("--page-size", "2", "--extra-tools", "5")
        expected = TOOLS + [extra_tool(k) for k in range(5)]
        seen: list = []
        cursor = None
        pages = 0
        while True:
            params = {} if cursor is None else {"cursor": cursor}
            resp = srv.request(pages, "tools/list", params)
            page = resp["result"]
            self.assertLessEqual(set(page), {"tools", "nextCursor"})
            self.assertLessEqual(len(page["tools"]), 2)
            seen.extend(page["tools"])
            pages += 1
            if "nextCursor" not in page:
                break
            cursor = page["nextCursor"]
            self.assertIsInstance(cursor, str)
            self.assertLess(pages, 20, "nextCursor chain does not end")
        self.assertEqual(pages, 8)
        self.assertJson(seen, expected)
        names = [t["name"] for t in seen]
        self.assertEqual(len(names), len(set(names)), "every tool exactly once")
        # Cursors are stable: asking again for a page gives the same page.
        first = srv.request("a", "tools/list")["result"]
        again = srv.request("b", "tools/list", {"cursor": first["nextCursor"]})["result"]
        self.assertJson(again["tools"], expected[2:4])

    def test_exactly_one_full_page_has_no_cursor(self) -> None:
        srv = self.started("--page-size", "10")
        self.assertJson(srv.request(1, "tools/list"), result(1, {"tools": TOOLS}))
        srv2 = self.started("--page-size", "10", "--extra-tools", "1")
        page = srv2.request(1, "tools/list")["result"]
        self.assertJson(page["tools"], TOOLS)
        last = srv2.request(2, "tools/list", {"cursor": page["nextCursor"]})
        self.assertJson(last, result(2, {"tools": [extra_tool(0)]}))

    def test_bad_cursors(self) -> None:
        srv = self.started("--page-size", "2", "--extra-tools", "5")
        for i, cursor in enumerate(["bogus", "", "c0", "c8", "c99", "c1x", "c01", " c1", "C1",
                                    "c-1", "c18446744073709551617"]):
            with self.subTest(cursor=cursor):
                self.assertJson(srv.request(i, "tools/list", {"cursor": cursor}),
                                error(i, -32602, "Invalid params: unknown cursor"))
        for i, cursor in enumerate([5, None, {"c": 1}, ["c1"], True]):
            with self.subTest(cursor=cursor):
                self.assertJson(srv.request(i, "tools/list", {"cursor": cursor}),
                                error(i, -32602, "Invalid params: cursor must be a string"))


class ToolsCall(ServerTestCase):
    def test_echo(self) -> None:
        srv = self.started()
        resp, notes = srv.call(1, "echo", {"text": "hello"})
        self.assertJson(resp, result(1, text_result("hello")))
        self.assertEqual(notes, [])
        resp, _ = srv.call(2, "echo", {"text": ""})
        self.assertJson(resp, result(2, text_result("")))

    def test_add_with_structured_content(self) -> None:
        srv = self.started()
        resp, _ = srv.call(1, "add", {"a": 2, "b": 3.5})
        self.assertJson(resp, result(1, {
            "content": [{"type": "text", "text": '{"sum":5.5}'}],
            "structuredContent": {"sum": 5.5},
        }))
        resp, _ = srv.call(2, "add", {"a": 0.1, "b": 0.2})
        self.assertJson(resp["result"]["structuredContent"], {"sum": 0.30000000000000004})
        self.assertEqual(json.loads(resp["result"]["content"][0]["text"]),
                         {"sum": 0.30000000000000004})
        resp, _ = srv.call(3, "add", {"a": -1e300, "b": 1e300})
        self.assertJson(resp["result"]["structuredContent"], {"sum": 0.0})

    def test_arguments_may_be_omitted(self) -> None:
        srv = self.started()
        resp, _ = srv.call(1, "fail")
        self.assertJson(resp, result(1, text_result("something broke", is_error=True)))
        resp, _ = srv.call(2, "types")
        self.assertJson(resp, result(2, invalid_args("types", "missing required property "
                                                              "'count'")))

    def test_unknown_tool(self) -> None:
        srv = self.started()
        resp, _ = srv.call(1, "x")
        self.assertJson(resp, error(1, -32602, "Unknown tool: x"))
        resp, _ = srv.call(2, "ECHO", {"text": "a"})
        self.assertJson(resp, error(2, -32602, "Unknown tool: ECHO"))
        resp, _ = srv.call(3, "")
        self.assertJson(resp, error(3, -32602, "Unknown tool: "))

    def test_malformed_call_params(self) -> None:
        srv = self.started()
        cases = [
            (None, "Invalid params: tools/call needs name (a string)"),
            ({}, "Invalid params: tools/call needs name (a string)"),
            ({"name": 5}, "Invalid params: tools/call needs name (a string)"),
            ({"name": "echo", "arguments": [1]}, "Invalid params: arguments must be an object"),
            ({"name": "echo", "arguments": "text"},
             "Invalid params: arguments must be an object"),
            ({"name": "echo", "arguments": None}, "Invalid params: arguments must be an object"),
            ({"name": "echo", "arguments": {"text": "a"}, "_meta": {"progressToken": 1.5}},
             "Invalid params: _meta.progressToken must be a string or an integer"),
            ({"name": "echo", "arguments": {"text": "a"}, "_meta": {"progressToken": None}},
             "Invalid params: _meta.progressToken must be a string or an integer"),
        ]
        for i, (params, message) in enumerate(cases):
            with self.subTest(params=params):
                self.assertJson(srv.request(i, "tools/call", params), error(i, -32602, message))

    def test_invalid_arguments_are_tool_errors(self) -> None:
        srv = self.started()
        cases = [
            ("echo", {}, "missing required property 'text'"),
            ("echo", {"text": "a", "extra": 1}, "unexpected property 'extra'"),
            ("echo", {"text": 42}, "/text: expected string, got integer"),
            ("echo", {"text": None}, "/text: expected string, got null"),
            ("add", {"a": 1}, "missing required property 'b'"),
            ("add", {"a": "1", "b": 2}, "/a: expected number, got string"),
            ("add", {"a": True, "b": 2}, "/a: expected number, got boolean"),
            ("sleep", {"ms": -1}, "/ms: -1 is less than the minimum 0"),
            ("sleep", {"ms": 1.5}, "/ms: expected integer, got number"),
            ("rpc_error", {"x": 1}, "unexpected property 'x'"),
            ("types", {"count": 0}, "/count: 0 is less than the minimum 1"),
            ("types", {"count": 11}, "/count: 11 is greater than the maximum 10"),
            ("types", {"count": 2.5}, "/count: expected integer, got number"),
            ("types", {"count": "3"}, "/count: expected integer, got string"),
            ("types", {"count": 1, "color": "pink"},
             '/color: value is not one of the allowed values ("red", "green", "blue")'),
            ("types", {"count": 1, "tags": []}, "/tags: expected at least 1 items, got 0"),
            ("types", {"count": 1, "tags": ["a", 1]}, "/tags/1: expected string, got integer"),
            ("types", {"count": 1, "tags": "a"}, "/tags: expected array, got string"),
            ("types", {"count": 1, "point": {"x": 1}}, "/point: missing required property 'y'"),
            ("types", {"count": 1, "point": {"x": 1, "y": 2, "z": 3}},
             "/point: unexpected property 'z'"),
            ("types", {"count": 1, "point": {"x": "1", "y": 2}},
             "/point/x: expected number, got string"),
            ("types", {"count": 1, "point": []}, "/point: expected object, got array"),
            ("types", {"count": 1, "note": 5},
             "/note: value matches none of the allowed forms (anyOf)"),
        ]
        for i, (tool, args, why) in enumerate(cases):
            with self.subTest(tool=tool, args=args):
                resp, _ = srv.call(i, tool, args)
                self.assertJson(resp, result(i, invalid_args(tool, why)))

    def test_valid_rich_arguments_reach_the_tool(self) -> None:
        srv = self.started()
        args = {"count": 3, "color": "green", "tags": ["a", "b"], "point": {"x": 1.5, "y": -2},
                "note": None, "a/b~c": "s"}
        resp, _ = srv.call(1, "types", args)
        self.assertEqual(json.loads(resp["result"]["content"][0]["text"]), args)
        # A number with a zero fraction is an integer (JSON Schema 2020-12).
        resp, _ = srv.call(2, "types", {"count": 3.0, "note": "text"})
        self.assertNotIn("isError", resp["result"])

    def test_integral_real_for_an_integer_property_reaches_the_tool_as_an_integer(self) -> None:
        """50.0 passes "type": "integer" (JSON Schema 2020-12), so the tool, told that its
        arguments are validated, reads it with json_integer_value() as the C example does. The
        server must hand it over as the integer 50 (or refuse it), not as a real that reads
        as 0: here sleep would report "slept 0 ms"."""
        srv = self.started()
        resp, _ = srv.call(1, "sleep", {"ms": 50.0})
        self.assertJson(resp, result(1, text_result("slept 50 ms")))

    def test_json_pointer_in_messages_escapes_property_names(self) -> None:
        """The location in a validation message is a JSON Pointer (RFC 6901 §3): '/' and '~'
        inside a property name are written as ~1 and ~0, so "a/b~c" is /a~1b~0c, not /a/b~c."""
        srv = self.started()
        resp, _ = srv.call(1, "types", {"count": 1, "a/b~c": 5})
        self.assertJson(resp, result(1, invalid_args("types",
                                                     "/a~1b~0c: expected string, got integer")))

    def test_validation_message_with_long_non_ascii_property(self) -> None:
        """An unexpected property with a long non-ASCII name is still an isError result that
        names it (possibly shortened), never a JSON-RPC internal error."""
        srv = self.started()
        for pad in range(2):
            with self.subTest(pad=pad):
                key = "k" * pad + "é" * 300
                resp, _ = srv.call(pad, "echo", {"text": "a", key: 1})
                self.assertIn("result", resp, "expected an isError result, got %r" % (resp,))
                self.assertTrue(resp["result"].get("isError"))
                text = resp["result"]["content"][0]["text"]
                self.assertTrue(text.startswith("Invalid arguments for tool echo: unexpected "
                                                "property '" + "k" * pad + "éé"), text[:80])

    def test_fail(self) -> None:
        srv = self.started()
        resp, _ = srv.call(1, "fail", {})
        self.assertJson(resp, result(1, text_result("something broke", is_error=True)))
        resp, _ = srv.call(2, "fail", {"message": "custom ünïcødé failure"})
        self.assertJson(resp, result(2, text_result("custom ünïcødé failure", is_error=True)))

    def test_fail_with_a_long_message(self) -> None:
        """fa_call_fail documents {"content":[{"type":"text","text":message}],"isError":true}:
        the message must arrive whole, whatever its length or characters."""
        srv = self.started()
        for i, message in enumerate(["a" * 2000, "é" * 1000, "x" + "é" * 1000]):
            with self.subTest(length=len(message), first=message[:2]):
                resp, _ = srv.call(i, "fail", {"message": message})
                self.assertJson(resp, result(i, text_result(message, is_error=True)))

    def test_rpc_error(self) -> None:
        srv = self.started()
        resp, _ = srv.call(1, "rpc_error", {})
        self.assertJson(resp, error(1, -32603, "rpc_error: deliberate internal error",
                                    {"tool": "rpc_error"}))

    def test_bad_result(self) -> None:
        srv = self.started()
        resp, _ = srv.call(1, "bad_result", {})
        self.assertJson(resp, error(1, -32603,
                                    "Internal error: the tool returned no result object"))
        self.assertHealthy(srv)

    def test_big_results_and_the_message_limit(self) -> None:
        limit = 100000
        srv = self.started("--max-result", str(limit))

        def line_len(id_, nbytes: int) -> int:
            return len(dumps(result(id_, text_result("x" * nbytes))))

        overhead = line_len(1, 0)
        exact = limit - overhead
        resp, _ = srv.call(1, "big", {"bytes": exact})
        self.assertJson(resp, result(1, text_result("x" * exact)))
        resp, _ = srv.call(1, "big", {"bytes": exact + 1})
        self.assertJson(resp, result(1, text_result(
            "Tool big returned %d bytes, over the %d-byte message limit" % (limit + 1, limit),
            is_error=True)))
        resp, _ = srv.call(2, "big", {"bytes": 5 * limit})
        self.assertJson(resp, result(2, text_result(
            "Tool big returned %d bytes, over the %d-byte message limit"
            % (line_len(2, 5 * limit), limit), is_error=True)))
        self.assertHealthy(srv)

    def test_big_result_default_limit(self) -> None:
        srv = self.started()
        resp, _ = srv.call(1, "big", {"bytes": 4 << 20})
        self.assertEqual(len(resp["result"]["content"][0]["text"]), 4 << 20)
        # The outgoing limit defaults to just under the TypeScript SDK client's 10 MiB line limit.
        resp, _ = srv.call(2, "big", {"bytes": 11 << 20})
        self.assertTrue(resp["result"]["isError"])
        self.assertIn("over the %d-byte message limit" % ((10 << 20) - 4096),
                      resp["result"]["content"][0]["text"])

    def test_duplicate_in_flight_id(self) -> None:
        srv = self.started()
        srv.send(call(50, "sleep", {"ms": 300}))
        resp, _ = srv.call(50, "echo", {"text": "dup"})
        self.assertJson(resp, error(
            50, -32600, "Invalid Request: id 50 is already used by a request in progress"))
        # The string "50" is another id.
        resp, _ = srv.call("50", "echo", {"text": "string id"})
        self.assertJson(resp, result("50", text_result("string id")))
        resp, _ = srv.recv_id(50)
        self.assertJson(resp, result(50, text_result("slept 300 ms")))
        # Once answered, the id is free again.
        resp, _ = srv.call(50, "echo", {"text": "reused"})
        self.assertJson(resp, result(50, text_result("reused")))

    def test_duplicate_string_id_message_names_it(self) -> None:
        srv = self.started()
        srv.send(call("job", "sleep", {"ms": 200}))
        resp, _ = srv.call("job", "sleep", {"ms": 1})
        self.assertJson(resp, error(
            "job", -32600, 'Invalid Request: id "job" is already used by a request in progress'))
        resp, _ = srv.recv_id("job")
        self.assertJson(resp, result("job", text_result("slept 200 ms")))

    def test_many_tools_and_calls_interleaved(self) -> None:
        srv = self.started("--extra-tools", "50")
        srv.send(*[call(i, "extra_%03d" % (i % 50)) for i in range(100)])
        got = {}
        for _ in range(100):
            m = srv.recv()
            got[m["id"]] = m
        for i in range(100):
            self.assertJson(got[i], result(i, text_result("extra %d" % (i % 50))))

    def test_tools_call_with_notifications_in_between(self) -> None:
        srv = self.started()
        srv.send(call(1, "sleep", {"ms": 50}), notification("notifications/initialized"),
                 notification("notifications/roots/list_changed"), request(2, "ping"))
        self.assertJson(srv.recv(), result(2, {}))
        self.assertJson(srv.recv(), result(1, text_result("slept 50 ms")))


if __name__ == "__main__":
    main()
