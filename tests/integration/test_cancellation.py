"""integration/cancellation: notifications/cancelled (basic/utilities/cancellation).

A cancelled request gets no response, ever; unknown or finished ids are ignored; the server
keeps working and the id can be used again.
"""

import time

from harness import (ServerTestCase, call, main, notification, request, result, same_json,
                     text_result)


def cancel(id_, reason: str | None = "test") -> dict:
    params = {"requestId": id_}
    if reason is not None:
        params["reason"] = reason
    return notification("notifications/cancelled", params)


class Cancellation(ServerTestCase):
    def assertNoResponseFor(self, msgs: list, id_) -> None:
        for m in msgs:
            if isinstance(m, dict) and "id" in m and "method" not in m:
                self.assertFalse(same_json(m["id"], id_), "response for cancelled id: %r" % m)

    def test_cancelled_call_never_answers(self) -> None:
        srv = self.started()
        srv.send(call(7, "sleep", {"ms": 2000}))
        self.assertJson(srv.request("p", "ping"), result("p", {}))  # the call is running
        srv.send(cancel(7))
        self.assertHealthy(srv)
        srv.no_message(0.3)
        rest = self.assertClean(srv)
        self.assertNoResponseFor(rest, 7)

    def test_cancel_without_reason_and_with_string_id(self) -> None:
        srv = self.started()
        srv.send(call("job-1", "sleep", {"ms": 2000}), cancel("job-1", None))
        self.assertHealthy(srv)
        srv.no_message(0.2)
        self.assertNoResponseFor(self.assertClean(srv), "job-1")

    def test_cancel_of_unknown_or_finished_ids_is_ignored(self) -> None:
        srv = self.started()
        resp, _ = srv.call(1, "echo", {"text": "done"})
        srv.send(cancel(1), cancel(12345), cancel("nope"), cancel(None),
                 notification("notifications/cancelled", {}),
                 notification("notifications/cancelled", {"requestId": 1.5}),
                 notification("notifications/cancelled", "not an object"),
                 notification("notifications/cancelled"))
        self.assertJson(srv.request(2, "ping"), result(2, {}))
        srv.no_message(0.1)

    def test_cancel_matches_the_id_type_exactly(self) -> None:
        srv = self.started()
        srv.send(call(5, "sleep", {"ms": 100}), cancel("5"))
        resp, _ = srv.recv_id(5)
        self.assertJson(resp, result(5, text_result("slept 100 ms")))

    def test_id_can_be_reused_after_cancelling(self) -> None:
        srv = self.started()
        srv.send(call(7, "sleep", {"ms": 2000}), cancel(7))
        resp, _ = srv.call(7, "echo", {"text": "again"})
        self.assertJson(resp, result(7, text_result("again")))
        srv.send(call(7, "sleep", {"ms": 2000}), cancel(7), call(7, "sleep", {"ms": 20}))
        resp, _ = srv.recv_id(7)
        self.assertJson(resp, result(7, text_result("slept 20 ms")))
        srv.no_message(0.3)

    def test_no_progress_after_cancel(self) -> None:
        srv = self.started()
        srv.send(call(9, "sleep", {"ms": 3000}, meta={"progressToken": "c"}))
        srv.recv_until(lambda m: m.get("method") == "notifications/progress")
        srv.send(cancel(9), request("barrier", "ping"))
        srv.recv_id("barrier")
        srv.no_message(0.3)

    def test_cancel_while_queued(self) -> None:
        """A call cancelled while it waits for a worker never runs.

        One worker, blocked 300 ms by the first call; the second call (which would block the
        worker for 3 s, ignoring cancellation) is cancelled while queued. If it ran anyway, the
        third call would wait for it.
        """
        srv = self.started("--workers", "1")
        srv.send(call(1, "sleep", {"ms": 300, "block": True}),
                 call(2, "sleep", {"ms": 3000, "block": True}), cancel(2),
                 call(3, "echo", {"text": "after"}))
        resp, before = srv.recv_id(1)
        self.assertJson(resp, result(1, text_result("blocked 300 ms")))
        resp, before2 = srv.recv_id(3, timeout=1.5)
        self.assertJson(resp, result(3, text_result("after")))
        self.assertNoResponseFor(before + before2, 2)
        self.assertNoResponseFor(self.assertClean(srv), 2)

    def test_cancel_and_ping_get_through_at_the_inflight_limit(self) -> None:
        """At --max-inflight the server stops reading stdin (backpressure), but that must not
        also hold back the messages that free capacity or check liveness: a cancellation of a
        running call SHOULD stop it (utilities/cancellation) and a ping MUST be answered
        promptly (utilities/ping). Here two 3 s calls fill --max-inflight 2; both are cancelled
        and a ping follows: the ping must come back at once, and neither call may answer."""
        srv = self.started("--max-inflight", "2")
        srv.send(call(1, "sleep", {"ms": 3000}), call(2, "sleep", {"ms": 3000}))
        srv.no_message(0.2)
        started = time.monotonic()
        srv.send(cancel(1), cancel(2), request("p", "ping"))
        resp, before = srv.recv_id("p", timeout=5)
        waited = time.monotonic() - started
        self.assertLess(waited, 1.0, "ping answered only after %.1f s, when a call finished"
                        % waited)
        self.assertNoResponseFor(before, 1)
        self.assertNoResponseFor(before, 2)

    def test_many_cancellations(self) -> None:
        srv = self.started()
        srv.send(*[call(i, "sleep", {"ms": 5000}) for i in range(50)])
        srv.send(*[cancel(i) for i in range(0, 50, 2)])
        # The odd ones still run: cancel them too after a short while.
        srv.no_message(0.1)
        srv.send(*[cancel(i) for i in range(1, 50, 2)])
        self.assertHealthy(srv)
        srv.no_message(0.2)
        rest = self.assertClean(srv, timeout=10)
        self.assertEqual(rest, [])


if __name__ == "__main__":
    main()
