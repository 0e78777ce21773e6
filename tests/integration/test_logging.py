"""integration/logging: logging/setLevel and notifications/message (server/utilities/logging).

The default level is "info"; messages at the client's level and more severe are sent, each as a
notification written before the result of the call that logged it.
"""

from harness import ServerTestCase, error, main, result, text_result

LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
BAD_LEVEL = ("Invalid params: level must be one of debug, info, notice, warning, error, "
             "critical, alert, emergency")


def log_note(level: str, data: str) -> dict:
    return {"jsonrpc": "2.0", "method": "notifications/message",
            "params": {"level": level, "logger": "test", "data": data}}


class Logging(ServerTestCase):
    def log(self, srv, id_, level: str, message: str) -> list:
        resp, before = srv.call(id_, "log", {"level": level, "message": message})
        self.assertJson(resp, result(id_, text_result("logged")))
        return before

    def test_default_level_is_info(self) -> None:
        srv = self.started()
        self.assertEqual(self.log(srv, 1, "debug", "hidden"), [])
        self.assertJson(self.log(srv, 2, "info", "shown"), [log_note("info", "shown")])
        self.assertJson(self.log(srv, 3, "emergency", "loud"), [log_note("emergency", "loud")])

    def test_set_level_debug_then_messages_arrive_before_the_result(self) -> None:
        srv = self.started()
        self.assertEqual(self.log(srv, 1, "debug", "before"), [])
        self.assertJson(srv.request(2, "logging/setLevel", {"level": "debug"}), result(2, {}))
        self.assertJson(self.log(srv, 3, "debug", "after"), [log_note("debug", "after")])

    def test_filtering_at_every_level(self) -> None:
        srv = self.started()
        for threshold, name in enumerate(LEVELS):
            self.assertJson(srv.request("set-" + name, "logging/setLevel", {"level": name}),
                            result("set-" + name, {}))
            for i, level in enumerate(LEVELS):
                with self.subTest(threshold=name, level=level):
                    before = self.log(srv, "%s-%s" % (name, level), level, "m")
                    expected = [log_note(level, "m")] if i >= threshold else []
                    self.assertJson(before, expected)

    def test_invalid_levels(self) -> None:
        srv = self.started()
        for i, params in enumerate([{"level": "verbose"}, {"level": "DEBUG"}, {"level": ""},
                                    {"level": 1}, {"level": None}, {}, None]):
            with self.subTest(params=params):
                self.assertJson(srv.request(i, "logging/setLevel", params),
                                error(i, -32602, BAD_LEVEL))
        # A rejected setLevel leaves the level unchanged (info).
        self.assertEqual(self.log(srv, "d", "debug", "still hidden"), [])

    def test_tool_with_an_invalid_level_gets_einval(self) -> None:
        srv = self.started()
        resp, before = srv.call(1, "log", {"level": "loud", "message": "x"})
        self.assertJson(resp, result(1, text_result("fa_call_log failed: invalid argument",
                                                    is_error=True)))
        self.assertEqual(before, [])

    def test_notification_over_the_message_limit_is_refused(self) -> None:
        """A log notification longer than --max-result is not sent; fa_call_log says so."""
        srv = self.started("--max-result", "1024")
        resp, before = srv.call(1, "log", {"level": "error", "message": "m", "repeat": 2000})
        self.assertJson(resp, result(1, text_result("fa_call_log failed: message too long",
                                                    is_error=True)))
        self.assertEqual(before, [])
        self.assertJson(self.log(srv, 2, "error", "short"), [log_note("error", "short")])

    def test_message_data_round_trips(self) -> None:
        srv = self.started()
        for i, text in enumerate(["ünïcødé 😀", "line\nbreak", "\"quoted\"", ""]):
            self.assertJson(self.log(srv, i, "warning", text), [log_note("warning", text)])

    def test_concurrent_logging_calls(self) -> None:
        srv = self.started("--workers", "4")
        srv.send_raw(b"".join(
            b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"log",'
            b'"arguments":{"level":"error","message":"m%d"}}}\n' % (i, i) for i in range(200)))
        notes, results = [], {}
        while len(results) < 200:
            m = srv.recv()
            if "method" in m:
                notes.append(m["params"]["data"])
            else:
                # Each call's notification was written before its result.
                self.assertIn("m%d" % m["id"], notes)
                results[m["id"]] = m
        self.assertEqual(sorted(notes), sorted("m%d" % i for i in range(200)))


if __name__ == "__main__":
    main()
