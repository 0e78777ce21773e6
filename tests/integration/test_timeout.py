"""integration/timeout: --tool-timeout-ms answers slow calls with an isError result.

The timed-out call is cancelled (fa_call_is_cancelled turns true), its late result is dropped,
and the server stays healthy.
"""

import time

from harness import ServerTestCase, call, main, result, text_result


def timed_out(tool: str, ms: int) -> dict:
    return text_result("Tool %s timed out after %d ms" % (tool, ms), is_error=True)


class Timeout(ServerTestCase):
    def test_slow_call_times_out(self) -> None:
        srv = self.started("--tool-timeout-ms", "100")
        started = time.monotonic()
        resp, _ = srv.call(1, "sleep", {"ms": 2000}, timeout=5)
        elapsed = time.monotonic() - started
        self.assertJson(resp, result(1, timed_out("sleep", 100)))
        self.assertGreaterEqual(elapsed, 0.09)
        self.assertLess(elapsed, 1.0)
        self.assertHealthy(srv)
        # The late result of the cancelled sleep never shows up.
        srv.no_message(0.3)
        self.assertEqual(self.assertClean(srv), [])

    def test_fast_calls_are_unaffected(self) -> None:
        srv = self.started("--tool-timeout-ms", "300")
        for i in range(5):
            resp, _ = srv.call(i, "sleep", {"ms": 20})
            self.assertJson(resp, result(i, text_result("slept 20 ms")))

    def test_several_calls_time_out_in_order(self) -> None:
        srv = self.started("--tool-timeout-ms", "150")
        srv.send(call(1, "sleep", {"ms": 3000}))
        time.sleep(0.05)
        srv.send(call(2, "sleep", {"ms": 3000}), call(3, "sleep", {"ms": 10}))
        got = [srv.recv(timeout=5) for _ in range(3)]
        self.assertJson(got, [
            result(3, text_result("slept 10 ms")),
            result(1, timed_out("sleep", 150)),
            result(2, timed_out("sleep", 150)),
        ])
        self.assertHealthy(srv)

    def test_timeout_after_earlier_calls_finished(self) -> None:
        """The timer follows the oldest pending call, also after older calls finished."""
        srv = self.started("--tool-timeout-ms", "200")
        srv.send(call(1, "sleep", {"ms": 50}))
        time.sleep(0.1)
        srv.send(call(2, "sleep", {"ms": 5000}))
        self.assertJson(srv.recv(), result(1, text_result("slept 50 ms")))
        started = time.monotonic()
        self.assertJson(srv.recv(timeout=5), result(2, timed_out("sleep", 200)))
        self.assertLess(time.monotonic() - started, 1.0)

    def test_progress_stops_at_the_timeout(self) -> None:
        srv = self.started("--tool-timeout-ms", "100")
        resp, before = srv.call(1, "sleep", {"ms": 3000}, meta={"progressToken": 1})
        self.assertJson(resp, result(1, timed_out("sleep", 100)))
        self.assertTrue(before)
        srv.no_message(0.3)

    def test_timeout_of_a_tool_that_never_returns_is_sent(self) -> None:
        """The timeout answer must go out on its own, not wait for other traffic.

        A tool stuck in a call that ignores cancellation is exactly what --tool-timeout-ms is
        for. The timeout result is committed from a timer callback; nothing else happens on the
        loop afterwards (no input, no completion), and the result has to be written anyway.
        """
        srv = self.started("--tool-timeout-ms", "100")
        started = time.monotonic()
        resp, _ = srv.call(1, "never", timeout=3)
        self.assertJson(resp, result(1, timed_out("never", 100)))
        self.assertLess(time.monotonic() - started, 1.0)

    def test_timed_out_never_call_and_shutdown(self) -> None:
        srv = self.started("--tool-timeout-ms", "100", "--shutdown-timeout-ms", "300")
        srv.send(call(1, "never"))
        time.sleep(0.3)
        # This call also flushes the timeout answer if it is still waiting (see the test above).
        srv.send(call(2, "echo", {"text": "nudge"}))
        resp, _ = srv.recv_id(1)
        self.assertJson(resp, result(1, timed_out("never", 100)))
        srv.recv_id(2)
        # The call still occupies the server until the shutdown deadline; nothing more is sent.
        started = time.monotonic()
        self.assertEqual(self.assertClean(srv), [])
        self.assertLess(time.monotonic() - started, 2.0)


if __name__ == "__main__":
    main()
