"""integration/handshake: initialize, version negotiation, ping and the lifecycle rules.

Spec: basic/lifecycle (2025-11-25) and the checklist §2; ping: basic/utilities/ping.
"""

from harness import (LATEST, VERSIONS, ServerTestCase, error, initialize_params, main,
                     notification, request, result)

NOT_INITIALIZED = "Invalid Request: the session is not initialized; send initialize first"


def expected_init(version: str) -> dict:
    return {
        "protocolVersion": version,
        "capabilities": {"logging": {}, "tools": {"listChanged": False}},
        "serverInfo": {
            "name": "fa-test-server",
            "version": "1.2.3",
            "title": "FasterAPI integration test server",
        },
        "instructions": "Tools for the FasterAPI integration tests.",
    }


class Handshake(ServerTestCase):
    def test_each_supported_version_is_echoed(self) -> None:
        for version in VERSIONS:
            with self.subTest(version=version):
                srv = self.start()
                resp = srv.request(1, "initialize", initialize_params(version))
                self.assertJson(resp, result(1, expected_init(version)))
                self.assertEqual(self.assertClean(srv), [])

    def test_unknown_version_gets_the_latest(self) -> None:
        for asked in ("1999-01-01", "2026-01-01", ""):
            with self.subTest(asked=asked):
                srv = self.start()
                resp = srv.request("a", "initialize", initialize_params(asked))
                self.assertJson(resp, result("a", expected_init(LATEST)))

    def test_initialize_params_are_checked(self) -> None:
        srv = self.start()
        cases = [
            (None, "Invalid params: initialize needs protocolVersion (a string)"),
            ({}, "Invalid params: initialize needs protocolVersion (a string)"),
            ({"protocolVersion": 20251125}, "Invalid params: initialize needs protocolVersion "
                                            "(a string)"),
            ({"protocolVersion": LATEST, "capabilities": []},
             "Invalid params: capabilities must be an object"),
            ({"protocolVersion": LATEST, "clientInfo": "me"},
             "Invalid params: clientInfo must be an object"),
        ]
        for i, (params, message) in enumerate(cases):
            with self.subTest(params=params):
                self.assertJson(srv.request(i, "initialize", params), error(i, -32602, message))
        # A rejected initialize leaves the session uninitialized: the next one succeeds.
        resp = srv.request("ok", "initialize", {"protocolVersion": LATEST})
        self.assertJson(resp, result("ok", expected_init(LATEST)))

    def test_ping_is_exactly_empty_before_and_after_initialize(self) -> None:
        srv = self.start()
        self.assertJson(srv.request(1, "ping"), result(1, {}))
        self.assertJson(srv.request(2, "ping", {}), result(2, {}))
        srv.initialize()
        self.assertJson(srv.request(3, "ping"), result(3, {}))
        # Between the initialize response and notifications/initialized as well.
        srv2 = self.start()
        srv2.initialize(initialized=False)
        self.assertJson(srv2.request("p", "ping"), result("p", {}))

    def test_requests_before_initialize_are_rejected(self) -> None:
        srv = self.start()
        for i, method in enumerate(["tools/list", "tools/call", "logging/setLevel",
                                    "resources/list", "no/such/method"]):
            with self.subTest(method=method):
                self.assertJson(srv.request(i, method, {}), error(i, -32600, NOT_INITIALIZED))
        # Still usable afterwards.
        srv.initialize()
        resp = srv.request(10, "tools/list")
        self.assertIn("tools", resp["result"])

    def test_requests_after_initialize_before_initialized_are_served(self) -> None:
        srv = self.start()
        srv.initialize(initialized=False)
        resp = srv.request(1, "tools/list")
        self.assertIn("tools", resp["result"])

    def test_second_initialize_is_rejected(self) -> None:
        srv = self.start()
        srv.initialize()
        for version in (LATEST, "2025-03-26"):
            resp = srv.request("again", "initialize", initialize_params(version))
            self.assertJson(resp, error("again", -32600,
                                        "Invalid Request: the session is already initialized"))
        # The first negotiation stands: batches are still refused (2025-11-25 has none).
        srv.send_raw(b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]\n')
        resp = srv.recv()
        self.assertEqual(resp["error"]["code"], -32600)
        self.assertIn("this session uses 2025-11-25", resp["error"]["message"])

    def test_notifications_are_never_answered(self) -> None:
        srv = self.start()
        notes = [
            notification("notifications/initialized"),  # before initialize
            notification("notifications/cancelled", {"requestId": 1}),
            notification("notifications/progress", {"progressToken": "x", "progress": 1}),
            notification("notifications/roots/list_changed"),
            notification("no/such/notification", {"a": 1}),
            notification("ping"),  # ping without an id is a notification
            notification("initialize", initialize_params()),  # does not initialize
        ]
        srv.send(*notes)
        self.assertJson(srv.request("p1", "ping"), result("p1", {}))
        # initialize sent as a notification did nothing: still not initialized.
        self.assertJson(srv.request("l", "tools/list"), error("l", -32600, NOT_INITIALIZED))
        srv.initialize(initialized=False)
        srv.send(*notes)
        srv.send(notification("notifications/initialized"))
        self.assertJson(srv.request("p2", "ping"), result("p2", {}))
        srv.no_message(0.2)
        self.assertEqual(self.assertClean(srv), [])

    def test_initialize_without_notification_then_full_use(self) -> None:
        srv = self.start()
        srv.send(request(1, "initialize", initialize_params()),
                 notification("notifications/initialized"),
                 request(2, "tools/list"), request(3, "ping"))
        first = srv.recv()
        self.assertJson(first, result(1, expected_init(LATEST)))
        self.assertEqual(srv.recv()["id"], 2)
        self.assertJson(srv.recv(), result(3, {}))


if __name__ == "__main__":
    main()
