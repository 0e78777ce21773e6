"""integration/progress: notifications/progress for calls that carry _meta.progressToken.

Spec: basic/utilities/progress: the token is echoed with its type (string or integer), progress
increases with each notification, and notifications stop once the request completes.
"""

from harness import ServerTestCase, call, main, result, same_json, text_result


class Progress(ServerTestCase):
    def check_progress(self, notes: list, token, total: float) -> None:
        self.assertGreaterEqual(len(notes), 3, notes)
        last = None
        for n in notes:
            self.assertEqual(n["jsonrpc"], "2.0")
            self.assertEqual(n["method"], "notifications/progress")
            self.assertNotIn("id", n)
            params = n["params"]
            self.assertEqual(set(params), {"progressToken", "progress", "total"})
            self.assertTrue(same_json(params["progressToken"], token),
                            "token %r echoed as %r" % (token, params["progressToken"]))
            self.assertEqual(params["total"], total)
            if last is not None:
                self.assertGreater(params["progress"], last, "progress must increase")
            last = params["progress"]
        self.assertEqual(last, total)

    def test_string_token(self) -> None:
        srv = self.started()
        resp, before = srv.call(1, "sleep", {"ms": 100}, meta={"progressToken": "tok-1"})
        self.assertJson(resp, result(1, text_result("slept 100 ms")))
        self.check_progress(before, "tok-1", 100.0)
        self.assertEqual(len(before), 10)

    def test_integer_tokens(self) -> None:
        srv = self.started()
        for i, token in enumerate([42, 0, -7, 9007199254740993]):
            with self.subTest(token=token):
                resp, before = srv.call(i, "sleep", {"ms": 30}, meta={"progressToken": token})
                self.assertJson(resp, result(i, text_result("slept 30 ms")))
                self.check_progress(before, token, 30.0)

    def test_unusual_string_tokens(self) -> None:
        srv = self.started()
        for i, token in enumerate(["", "1", "ünï 😀", "x" * 500]):
            with self.subTest(token=token[:10]):
                _, before = srv.call(i, "sleep", {"ms": 30}, meta={"progressToken": token})
                self.check_progress(before, token, 30.0)

    def test_no_token_no_progress(self) -> None:
        srv = self.started()
        resp, before = srv.call(1, "sleep", {"ms": 60})
        self.assertJson(resp, result(1, text_result("slept 60 ms")))
        self.assertEqual(before, [])
        resp, before = srv.call(2, "sleep", {"ms": 60}, meta={})
        self.assertEqual(before, [])
        resp, before = srv.call(3, "sleep", {"ms": 60}, meta={"other": 1})
        self.assertEqual(before, [])
        srv.no_message(0.1)

    def test_no_progress_after_the_result(self) -> None:
        srv = self.started()
        srv.call(1, "sleep", {"ms": 50}, meta={"progressToken": "p"})
        srv.no_message(0.2)

    def test_concurrent_calls_keep_their_tokens(self) -> None:
        srv = self.started("--workers", "2")
        srv.send(*[call(i, "sleep", {"ms": 40 + 10 * i}, meta={"progressToken": "t%d" % i})
                   for i in range(6)])
        by_token: dict = {}
        done = set()
        while len(done) < 6:
            m = srv.recv()
            if m.get("method") == "notifications/progress":
                tok = m["params"]["progressToken"]
                self.assertNotIn(int(tok[1:]), done, "progress after the result")
                by_token.setdefault(tok, []).append(m)
            else:
                done.add(m["id"])
                slept = text_result("slept %d ms" % (40 + 10 * m["id"]))
                self.assertJson(m, result(m["id"], slept))
        for i in range(6):
            self.check_progress(by_token["t%d" % i], "t%d" % i, float(40 + 10 * i))


if __name__ == "__main__":
    main()
