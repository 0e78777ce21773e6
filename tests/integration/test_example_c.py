"""integration/example-c: the C example (examples/embed_c/echo_server.c) as a user tries it, and
numbers a 64-bit integer or a double cannot hold (issue 9 section 4).

  * `add` whose sum overflows a double answers a tool error the model can read (isError), not
    -32603 (jansson cannot build an infinite real);
  * an integer beyond 64 bits or a real like 1e400 anywhere in a valid request is answered with
    the request's id and an error naming the member, so the client is not left waiting (it was
    -32700 with id null), with code -32602 (Invalid params).
"""

from __future__ import annotations

from harness import ServerTestCase, dumps, main


class ExampleC(ServerTestCase):
    def test_add_overflow_is_a_tool_error(self) -> None:
        srv = self.started()
        resp, _ = srv.call(1, "add", {"a": 1e308, "b": 1e308})
        self.assertEqual(resp["result"], {
            "content": [{"type": "text", "text": "the sum of a and b is too large for a double"}],
            "isError": True})
        resp, _ = srv.call(2, "add", {"a": 1.5, "b": 2})
        self.assertEqual(resp["result"]["structuredContent"], {"sum": 3.5})

    def test_numbers_out_of_range_are_answered_by_id(self) -> None:
        srv = self.started()
        cases = [
            (b'{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add",'
             b'"arguments":{"a":1e400,"b":1}}}', 7, "params.arguments.a: real number overflow"),
            (b'{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{"name":"add",'
             b'"arguments":{"a":1,"b":18446744073709551616}}}', "big",
             "params.arguments.b: integer too big for a 64-bit value"),
            (b'{"jsonrpc":"2.0","method":"tools/call","params":{"_meta":{"progressToken":'
             b'-99999999999999999999},"name":"echo","arguments":{"text":"x"}},"id":8}', 8,
             "params._meta.progressToken: integer too big for a 64-bit value"),
        ]
        for line, id_, why in cases:
            srv.send_raw(line + b"\n")
            resp = srv.recv_id(id_)[0]
            self.assertEqual(resp["id"], id_, resp)
            self.assertEqual(resp["error"]["code"], -32602, resp)
            self.assertIn(why, resp["error"]["message"])
        # Still serving, and a real parse error is still -32700 with id null.
        resp, _ = srv.call(9, "echo", {"text": "ok"})
        self.assertEqual(resp["result"]["content"][0]["text"], "ok")
        srv.send_raw(b'{"jsonrpc":"2.0","id":10,"method":\n')
        resp = srv.recv()
        self.assertEqual((resp["id"], resp["error"]["code"]), (None, -32700), resp)
        self.assertEqual(dumps(resp)[-1:], b"}")


if __name__ == "__main__":
    main()
