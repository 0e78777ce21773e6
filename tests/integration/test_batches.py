"""integration/batches: JSON-RPC batches exist only in protocol 2025-03-26.

2025-03-26 (basic/index): implementations MUST support receiving batches; initialize MUST NOT be
part of one. 2024-11-05 never had them and 2025-06-18 removed them (checklist §1.7).
"""

import time

from harness import (ServerTestCase, call, dumps, error, initialize_params, main,
                     notification, request, result, text_result)

BATCH_VERSION = "2025-03-26"


def batch_refused(version: str) -> dict:
    return error(None, -32600, "Invalid Request: JSON-RPC batches are only supported with "
                               "protocol 2025-03-26 (this session uses %s)" % version)


class Batches(ServerTestCase):
    def batch_server(self, *args: str):
        return self.started(*args, version=BATCH_VERSION)

    def send_batch(self, srv, items) -> None:
        srv.send_raw(dumps(items) + b"\n")

    def test_refused_in_other_versions(self) -> None:
        for version in ("2025-11-25", "2025-06-18", "2024-11-05"):
            with self.subTest(version=version):
                srv = self.started(version=version)
                self.send_batch(srv, [request(1, "ping"), request(2, "ping")])
                self.assertJson(srv.recv(), batch_refused(version))
                self.send_batch(srv, [notification("notifications/initialized")])
                self.assertJson(srv.recv(), batch_refused(version))
                self.assertHealthy(srv)

    def test_refused_before_initialize(self) -> None:
        srv = self.start()
        self.send_batch(srv, [request(1, "ping")])
        self.assertJson(srv.recv(), batch_refused("no protocol yet"))
        # Also a batch that would initialize (initialize never belongs in a batch).
        self.send_batch(srv, [request(2, "initialize", initialize_params(BATCH_VERSION))])
        self.assertJson(srv.recv(), batch_refused("no protocol yet"))
        srv.initialize(BATCH_VERSION)
        self.send_batch(srv, [request(3, "ping")])
        self.assertJson(srv.recv(), [result(3, {})])

    def test_responses_come_as_one_array_in_order(self) -> None:
        srv = self.batch_server()
        self.send_batch(srv, [request(1, "ping"), call("e", "echo", {"text": "in a batch"}),
                              request(2, "tools/list", {"cursor": 5}), request(3, "nope")])
        self.assertJson(srv.recv(), [
            result(1, {}),
            result("e", text_result("in a batch")),
            error(2, -32602, "Invalid params: cursor must be a string"),
            error(3, -32601, "Method not found: nope"),
        ])

    def test_notifications_inside_produce_no_element(self) -> None:
        srv = self.batch_server()
        self.send_batch(srv, [notification("notifications/initialized"), request(1, "ping"),
                              notification("notifications/cancelled", {"requestId": 99}),
                              request(2, "ping"), notification("whatever")])
        self.assertJson(srv.recv(), [result(1, {}), result(2, {})])

    def test_all_notification_batch_produces_no_output(self) -> None:
        srv = self.batch_server()
        self.send_batch(srv, [notification("notifications/initialized"),
                              notification("notifications/progress",
                                           {"progressToken": 1, "progress": 1})])
        self.assertJson(srv.request("after", "ping"), result("after", {}))
        srv.no_message(0.2)

    def test_empty_batch(self) -> None:
        for version in (BATCH_VERSION, "2025-11-25"):
            with self.subTest(version=version):
                srv = self.started(version=version)
                srv.send_raw(b"[]\n")
                self.assertJson(srv.recv(), error(
                    None, -32600, "Invalid Request: an empty batch is not a valid request"))
                srv.send_raw(b" [ ] \n")
                self.assertEqual(srv.recv()["error"]["code"], -32600)
                self.assertHealthy(srv)

    def test_invalid_elements(self) -> None:
        srv = self.batch_server()
        srv.send_raw(b'[1,{"jsonrpc":"2.0","id":7,"method":"ping"},[],"x",'
                     b'{"jsonrpc":"1.0","id":8,"method":"ping"},{"jsonrpc":"2.0","id":9,'
                     b'"method":"ping","params":[]}]\n')
        self.assertJson(srv.recv(), [
            error(None, -32600, "Invalid Request: a message must be a JSON object"),
            result(7, {}),
            error(None, -32600, "Invalid Request: a batch must not be empty or nested"),
            error(None, -32600, "Invalid Request: a message must be a JSON object"),
            error(8, -32600, 'Invalid Request: jsonrpc must be "2.0"'),
            error(9, -32602, "Invalid params: MCP methods take params as an object"),
        ])
        # Responses inside a batch are ignored like any other response: no element.
        srv.send_raw(b'[{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":2,'
                     b'"method":"ping"}]\n')
        self.assertJson(srv.recv(), [result(2, {})])

    def test_initialize_inside_a_batch(self) -> None:
        srv = self.batch_server()
        self.send_batch(srv, [request(5, "initialize", initialize_params(BATCH_VERSION)),
                              request(6, "ping")])
        self.assertJson(srv.recv(), [
            error(5, -32600, "Invalid Request: initialize must not be part of a batch"),
            result(6, {}),
        ])

    def test_batch_size_limit(self) -> None:
        srv = self.batch_server("--max-batch", "4")
        self.send_batch(srv, [request(i, "ping") for i in range(4)])
        self.assertJson(srv.recv(), [result(i, {}) for i in range(4)])
        self.send_batch(srv, [request(i, "ping") for i in range(5)])
        self.assertJson(srv.recv(), error(
            None, -32600, "Invalid Request: batch of 5 messages exceeds the limit of 4"))
        self.assertHealthy(srv)

    def test_mixed_sync_and_async_elements(self) -> None:
        srv = self.batch_server()
        started = time.monotonic()
        self.send_batch(srv, [
            request(1, "ping"),
            call(2, "sleep", {"ms": 150}),
            call(3, "echo", {"text": "fast"}),
            call(4, "sleep", {"ms": 50}),
            notification("notifications/initialized"),
            call(5, "fail"),
            request(6, "tools/list", {"cursor": "nope"}),
        ])
        self.assertJson(srv.recv(), [
            result(1, {}),
            result(2, text_result("slept 150 ms")),
            result(3, text_result("fast")),
            result(4, text_result("slept 50 ms")),
            result(5, text_result("something broke", is_error=True)),
            error(6, -32602, "Invalid params: unknown cursor"),
        ])
        self.assertGreaterEqual(time.monotonic() - started, 0.14)

    def test_requests_between_batches_are_not_held_back(self) -> None:
        srv = self.batch_server()
        self.send_batch(srv, [call(1, "sleep", {"ms": 300}), request(2, "ping")])
        # A single request after the batch is answered while the batch still waits.
        self.assertJson(srv.request(3, "ping"), result(3, {}))
        self.assertJson(srv.recv(), [result(1, text_result("slept 300 ms")), result(2, {})])

    def test_progress_inside_a_batch(self) -> None:
        srv = self.batch_server()
        self.send_batch(srv, [call(1, "sleep", {"ms": 30}, meta={"progressToken": "b"})])
        msg, before = srv.recv_until(lambda m: isinstance(m, list))
        self.assertJson(msg, [result(1, text_result("slept 30 ms"))])
        self.assertTrue(before, "progress notifications are sent outside the batch response")
        for n in before:
            self.assertEqual(n["method"], "notifications/progress")
            self.assertEqual(n["params"]["progressToken"], "b")

    def test_duplicate_id_inside_a_batch(self) -> None:
        srv = self.batch_server()
        self.send_batch(srv, [call(1, "sleep", {"ms": 50}), call(1, "echo", {"text": "dup"})])
        self.assertJson(srv.recv(), [
            result(1, text_result("slept 50 ms")),
            error(1, -32600, "Invalid Request: id 1 is already used by a request in progress"),
        ])

    def test_call_cancelled_inside_its_batch(self) -> None:
        srv = self.batch_server()
        self.send_batch(srv, [call(1, "sleep", {"ms": 5000}), request(2, "ping"),
                              notification("notifications/cancelled", {"requestId": 1})])
        self.assertJson(srv.recv(), [result(2, {})])
        # Only the cancelled call: the batch yields nothing at all.
        self.send_batch(srv, [call(3, "sleep", {"ms": 5000}),
                              notification("notifications/cancelled", {"requestId": 3})])
        self.assertJson(srv.request("after", "ping"), result("after", {}))
        srv.no_message(0.3)

    def test_call_cancelled_after_its_batch_was_sent(self) -> None:
        srv = self.batch_server()
        self.send_batch(srv, [call(1, "sleep", {"ms": 5000}), request(2, "ping")])
        srv.no_message(0.1)
        srv.send(notification("notifications/cancelled", {"requestId": 1}))
        self.assertJson(srv.recv(), [result(2, {})])

    def test_batch_with_timeout(self) -> None:
        srv = self.batch_server("--tool-timeout-ms", "100")
        self.send_batch(srv, [call(1, "sleep", {"ms": 3000}), request(2, "ping")])
        self.assertJson(srv.recv(timeout=5), [
            result(1, text_result("Tool sleep timed out after 100 ms", is_error=True)),
            result(2, {}),
        ])

    def test_batch_pending_at_eof_is_still_answered(self) -> None:
        srv = self.batch_server()
        self.send_batch(srv, [call(1, "sleep", {"ms": 200}), request(2, "ping")])
        rest = self.assertClean(srv)
        self.assertJson(rest, [[result(1, text_result("slept 200 ms")), result(2, {})]])

    def test_batch_pending_at_shutdown_deadline(self) -> None:
        srv = self.batch_server("--shutdown-timeout-ms", "200")
        self.send_batch(srv, [call(1, "never"), request(2, "ping")])
        srv.no_message(0.1)
        rest = self.assertClean(srv)
        self.assertJson(rest, [[
            error(1, -32001, "Server shutting down: the call did not finish within 200 ms of "
                             "the shutdown"),
            result(2, {}),
        ]])


if __name__ == "__main__":
    main()
