"""integration/envelope: JSON-RPC 2.0 message validation (checklist §1, §11).

Invalid messages get -32600 with the request id when it can be read (a string or an integer),
null otherwise; ids are echoed with their exact JSON type and value.
"""

from harness import (INVALID_UTF8, ServerTestCase, dumps, error, main, notification, request,
                     result, text_result)


def invalid(id_, why: str) -> dict:
    return error(id_, -32600, "Invalid Request: " + why)


class Envelope(ServerTestCase):
    def test_invalid_envelopes(self) -> None:
        srv = self.started()
        cases = [
            # (raw line, expected reply)
            (b'{"id":1,"method":"ping"}', invalid(1, 'jsonrpc must be "2.0"')),
            (b'{"jsonrpc":"1.0","id":2,"method":"ping"}', invalid(2, 'jsonrpc must be "2.0"')),
            (b'{"jsonrpc":2.0,"id":3,"method":"ping"}', invalid(3, 'jsonrpc must be "2.0"')),
            (b'{"jsonrpc":"2.0 ","id":4,"method":"ping"}', invalid(4, 'jsonrpc must be "2.0"')),
            (b'{"jsonrpc":"2.0","id":null,"method":"ping"}',
             invalid(None, "id must not be null (MCP requires a string or an integer)")),
            (b'{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
             invalid(None, "id must be a string or an integer")),
            (b'{"jsonrpc":"2.0","id":2.0,"method":"ping"}',
             invalid(None, "id must be a string or an integer")),
            (b'{"jsonrpc":"2.0","id":true,"method":"ping"}',
             invalid(None, "id must be a string or an integer")),
            (b'{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}',
             invalid(None, "id must be a string or an integer")),
            (b'{"jsonrpc":"2.0","id":[1],"method":"ping"}',
             invalid(None, "id must be a string or an integer")),
            (b'{"jsonrpc":"2.0","id":5}', invalid(5, "missing method")),
            (b'{"jsonrpc":"2.0","id":6,"method":5}', invalid(6, "method must be a string")),
            (b'{"jsonrpc":"2.0","id":7,"method":null}', invalid(7, "method must be a string")),
            (b'{"jsonrpc":"2.0","id":"s","method":["ping"]}',
             invalid("s", "method must be a string")),
            (b'{"jsonrpc":"2.0","id":8,"method":"ping","params":"x"}',
             invalid(8, "params must be an object or an array")),
            (b'{"jsonrpc":"2.0","id":9,"method":"ping","params":3}',
             invalid(9, "params must be an object or an array")),
            (b'{"jsonrpc":"2.0","id":10,"method":"ping","params":null}',
             invalid(10, "params must be an object or an array")),
            (b'{"jsonrpc":"2.0","id":11,"method":"ping","result":{}}',
             invalid(11, "a request must not carry result or error")),
            (b'{"jsonrpc":"2.0","id":12,"method":"ping","result":{},'
             b'"error":{"code":1,"message":"m"}}',
             invalid(12, "a request must not carry result or error")),
            (b'{"jsonrpc":"2.0","id":13,"method":"ping","error":{"code":1,"message":"m"}}',
             invalid(13, "a request must not carry result or error")),
            (b'{}', invalid(None, 'jsonrpc must be "2.0"')),
            (b'{"jsonrpc":"2.0"}', invalid(None, "missing method")),
            # A notification with a bad envelope is still an invalid request: answered, id null.
            (b'{"jsonrpc":"1.0","method":"notifications/initialized"}',
             invalid(None, 'jsonrpc must be "2.0"')),
            (b'{"jsonrpc":"2.0","method":7}', invalid(None, "method must be a string")),
        ]
        for line, expected in cases:
            with self.subTest(line=line):
                srv.send_raw(line + b"\n")
                self.assertJson(srv.recv(), expected)
        self.assertHealthy(srv)

    def test_non_object_top_level(self) -> None:
        srv = self.started()
        for line in (b"1", b'"x"', b"null", b"true", b"false", b"-3.5", b'""'):
            with self.subTest(line=line):
                srv.send_raw(line + b"\n")
                self.assertJson(srv.recv(), invalid(None, "a message must be a JSON object"))
        self.assertHealthy(srv)

    def test_ids_are_echoed_exactly(self) -> None:
        srv = self.started()
        ids = [0, -1, -9007199254740993, 9007199254740993, 9223372036854775807,
               -9223372036854775808, "", "0", "1", "abc", "with \"quotes\" and \\ and /",
               "ünïcødé 😀", "\u0001\u001f", "x" * 1000]
        for id_ in ids:
            with self.subTest(id=id_):
                self.assertJson(srv.request(id_, "ping"), result(id_, {}))
                resp, _ = srv.call(id_, "echo", {"text": "t"})
                self.assertJson(resp, result(id_, text_result("t")))
        # An integer id and the string with the same digits are different ids.
        self.assertJson(srv.request(1, "ping"), result(1, {}))
        self.assertJson(srv.request("1", "ping"), result("1", {}))

    def test_integer_ids_written_as_exponent_or_with_leading_sign(self) -> None:
        srv = self.started()
        # 1e2 is a number with an exponent: not an integer in JSON terms for jansson.
        srv.send_raw(b'{"jsonrpc":"2.0","id":1e2,"method":"ping"}\n')
        self.assertJson(srv.recv(), invalid(None, "id must be a string or an integer"))
        srv.send_raw(b'{"jsonrpc":"2.0","id":-0,"method":"ping"}\n')
        self.assertJson(srv.recv(), result(0, {}))

    def test_unknown_method(self) -> None:
        srv = self.started()
        for i, m in enumerate(["foo", "tools/lists", "Tools/list", "", "notifications/initialized",
                               "initialized"]):
            with self.subTest(method=m):
                self.assertJson(srv.request(i, m), error(i, -32601, "Method not found: " + m))

    def test_methods_of_capabilities_not_offered(self) -> None:
        srv = self.started()
        for i, m in enumerate(["resources/list", "resources/read", "resources/templates/list",
                               "resources/subscribe", "resources/unsubscribe", "prompts/list",
                               "prompts/get", "completion/complete", "tasks/get", "tasks/result",
                               "tasks/list", "tasks/cancel"]):
            with self.subTest(method=m):
                self.assertJson(srv.request(i, m, {}), error(
                    i, -32601,
                    "Method not found: %s (this server does not offer that capability)" % m))

    def test_params_as_array(self) -> None:
        srv = self.started()
        for i, m in enumerate(["ping", "tools/list", "tools/call", "logging/setLevel",
                               "no/such/method"]):
            with self.subTest(method=m):
                self.assertJson(srv.request(i, m, []), error(
                    i, -32602, "Invalid params: MCP methods take params as an object"))
        srv2 = self.start()
        self.assertJson(srv2.request("i", "initialize", ["2025-11-25"]), error(
            "i", -32602, "Invalid params: MCP methods take params as an object"))

    def test_nesting_depth_limit(self) -> None:
        srv = self.started("--max-depth", "8")

        def nested(levels: int) -> dict:
            v: dict = {}
            for _ in range(levels):
                v = {"a": v}
            return v

        # Root object (1) + params (2) + 6 more = depth 8: allowed.
        self.assertJson(srv.request(1, "ping", nested(6)), result(1, {}))
        self.assertJson(srv.request(2, "ping", nested(7)), invalid(
            2, "JSON nested deeper than the limit of 8 levels"))
        srv.send_raw(b'{"jsonrpc":"2.0","id":"s","method":"ping",'
                     b'"params":{"a":[[[[[[[[1]]]]]]]]}}\n')
        self.assertJson(srv.recv(), invalid("s", "JSON nested deeper than the limit of 8 levels"))
        # Brackets inside strings do not count.
        srv.send_raw(b'{"jsonrpc":"2.0","id":3,"method":"ping","params":{"a":"[[[[[[[[[[[[{{{{"}}'
                     b'\n')
        self.assertJson(srv.recv(), result(3, {}))
        # An unreadable id (here null) is answered with null.
        srv.send_raw(b'{"jsonrpc":"2.0","id":null,"method":"ping","params":' + b'[' * 20
                     + b']' * 20 + b'}\n')
        self.assertJson(srv.recv(), invalid(None, "JSON nested deeper than the limit of 8 levels"))
        self.assertHealthy(srv)

    def test_very_deep_nesting_with_default_limit(self) -> None:
        srv = self.started()
        srv.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":' + b"[" * 100000
                     + b"]" * 100000 + b"}}\n")
        resp = srv.recv()
        self.assertIn(resp["error"]["code"], (-32600, -32700), resp)
        srv.send_raw(b"[" * 500000 + b"\n")  # unbalanced, deep
        resp = srv.recv()
        self.assertIn(resp["error"]["code"], (-32600, -32700), resp)
        self.assertHealthy(srv)

    def test_malformed_responses_are_not_answered(self) -> None:
        """Response-shaped messages (no method) answer nothing: the server sent no request.

        Answering a response could make two peers bounce errors forever; the server logs and
        ignores them (engine.c, FA_RPC_INVALID_RESPONSE).
        """
        srv = self.started()
        srv.send_raw(b'{"jsonrpc":"2.0","id":1,"result":{}}\n'
                     b'{"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":"x"}}\n'
                     b'{"jsonrpc":"2.0","id":3,"result":{},"error":{"code":-1,"message":"x"}}\n'
                     b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}\n'
                     b'{"jsonrpc":"2.0","result":{}}\n'
                     b'{"jsonrpc":"2.0","id":4,"error":"bad"}\n')
        self.assertJson(srv.request("after", "ping"), result("after", {}))
        srv.no_message(0.2)

    def test_unknown_members_are_ignored(self) -> None:
        srv = self.started()
        srv.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"ping","extra":{"x":1},"_meta":{}}\n')
        self.assertJson(srv.recv(), result(1, {}))
        srv.send(request(2, "tools/call", {"name": "echo", "arguments": {"text": "m"},
                                           "_meta": {"custom/key": 1}, "other": True}))
        self.assertJson(srv.recv(), result(2, text_result("m")))

    def test_member_order_does_not_matter(self) -> None:
        srv = self.started()
        srv.send_raw(b'{"method":"ping","id":"o","jsonrpc":"2.0"}\n')
        self.assertJson(srv.recv(), result("o", {}))
        srv.send_raw(b'{"params":{"arguments":{"text":"r"},"name":"echo"},"id":5,'
                     b'"method":"tools/call","jsonrpc":"2.0"}\n')
        self.assertJson(srv.recv(), result(5, text_result("r")))

    def test_error_messages_are_valid_utf8(self) -> None:
        """Method names echoed into error messages must not be cut inside a UTF-8 sequence.

        reply_error formats into a fixed 1024-byte buffer; a long non-ASCII method or tool
        name is truncated at a byte boundary, which can split a character and put invalid
        UTF-8 on stdout (MCP stdio: UTF-8 only). Regression test.
        """
        srv = self.started()
        for pad in range(2):
            name = "x" * pad + "é" * 600
            with self.subTest(kind="method", pad=pad):
                srv.send(request(1, name))
                resp = srv.recv()
                self.assertNotIn(INVALID_UTF8, resp.keys(), "-32601 reply is not UTF-8")
                self.assertEqual(resp["error"]["code"], -32601)
                self.assertTrue(resp["error"]["message"].startswith("Method not found: "))
            with self.subTest(kind="tool", pad=pad):
                srv.send(request(2, "tools/call", {"name": name}))
                resp = srv.recv()
                self.assertNotIn(INVALID_UTF8, resp.keys(), "-32602 reply is not UTF-8")
                self.assertEqual(resp["error"]["code"], -32602)
        srv.bad.clear()  # reported above with a clearer message
        self.assertJson(srv.request(3, "ping"), result(3, {}))

    def test_notification_with_id_zero_is_a_request(self) -> None:
        srv = self.started()
        srv.send_raw(dumps(request(0, "notifications/initialized")) + b"\n")
        self.assertJson(srv.recv(), error(0, -32601, "Method not found: notifications/initialized"))
        srv.send(notification("notifications/initialized"))
        srv.no_message(0.1)


if __name__ == "__main__":
    main()
