"""integration/concurrency: pipelined calls, the in-flight limit and backpressure.

Many requests written at once must each get exactly one correct response. Calls beyond
--max-inflight wait in a backlog (pings and cancellations are still read); when --max-queued calls
wait there too, the server stops reading (DESIGN.md §2: backpressure, not errors), so pipelined
single requests are never refused or lost.
"""

import threading
import time

from harness import ServerTestCase, call, dumps, main, result, text_result


class Concurrency(ServerTestCase):
    def send_in_background(self, srv, data: bytes) -> threading.Thread:
        """Writes from another thread: a blocked pipe must not stop us from reading."""
        t = threading.Thread(target=srv.send_raw, args=(data,), daemon=True)
        t.start()
        return t

    def collect(self, srv, n: int, timeout: float = 30.0) -> dict:
        got: dict = {}
        deadline = time.monotonic() + timeout
        while len(got) < n:
            m = srv.recv(timeout=max(0.1, deadline - time.monotonic()))
            self.assertNotIn("method", m, "unexpected notification %r" % (m,))
            self.assertNotIn(m["id"], got, "two responses for id %r" % (m["id"],))
            got[m["id"]] = m
        return got

    def test_2000_pipelined_echo_calls(self) -> None:
        srv = self.started()
        n = 2000
        data = b"".join(dumps(call(i, "echo", {"text": "msg %d" % i})) + b"\n" for i in range(n))
        writer = self.send_in_background(srv, data)
        got = self.collect(srv, n)
        writer.join(10)
        for i in range(n):
            self.assertJson(got[i], result(i, text_result("msg %d" % i)))
        srv.no_message(0.2)
        self.assertEqual(self.assertClean(srv), [])

    def test_string_and_integer_ids_mixed(self) -> None:
        srv = self.started("--workers", "3")
        ids = [i if i % 2 else "s%d" % i for i in range(500)]
        data = b"".join(dumps(call(i, "echo", {"text": str(i)})) + b"\n" for i in ids)
        writer = self.send_in_background(srv, data)
        got = self.collect(srv, len(ids))
        writer.join(10)
        for i in ids:
            self.assertJson(got[i], result(i, text_result(str(i))))

    def test_inflight_limit_queues_calls(self) -> None:
        srv = self.started("--max-inflight", "4")
        n = 200
        data = b"".join(dumps(call(i, "sleep", {"ms": 1})) + b"\n" for i in range(n))
        writer = self.send_in_background(srv, data)
        got = self.collect(srv, n)
        writer.join(10)
        for i in range(n):
            self.assertJson(got[i], result(i, text_result("slept 1 ms")))
        self.assertEqual(self.assertClean(srv), [])

    def test_full_backlog_pauses_reading(self) -> None:
        srv = self.started("--max-inflight", "4", "--max-queued", "4")
        n = 200
        data = b"".join(dumps(call(i, "sleep", {"ms": 1})) + b"\n" for i in range(n))
        writer = self.send_in_background(srv, data)
        got = self.collect(srv, n)
        writer.join(10)
        for i in range(n):
            self.assertJson(got[i], result(i, text_result("slept 1 ms")))
        self.assertEqual(self.assertClean(srv), [])

    def test_inflight_limit_with_blocking_tools_and_one_worker(self) -> None:
        srv = self.started("--max-inflight", "2", "--max-queued", "2", "--workers", "1")
        n = 50
        data = b"".join(dumps(call(i, "sleep", {"ms": 2, "block": True})) + b"\n"
                        for i in range(n))
        writer = self.send_in_background(srv, data)
        got = self.collect(srv, n)
        writer.join(10)
        for i in range(n):
            self.assertJson(got[i], result(i, text_result("blocked 2 ms")))

    def test_inflight_limit_with_mixed_sync_requests(self) -> None:
        """Pings and lists between the calls are answered too, in their turn."""
        srv = self.started("--max-inflight", "4")
        msgs = []
        for i in range(100):
            msgs.append(call(i, "sleep", {"ms": 2}))
            msgs.append({"jsonrpc": "2.0", "id": "p%d" % i, "method": "ping"})
        writer = self.send_in_background(srv, b"".join(dumps(m) + b"\n" for m in msgs))
        got = self.collect(srv, 200)
        writer.join(10)
        for i in range(100):
            self.assertJson(got[i], result(i, text_result("slept 2 ms")))
            self.assertJson(got["p%d" % i], result("p%d" % i, {}))

    def test_eof_while_paused_answers_everything(self) -> None:
        srv = self.started("--max-inflight", "4", "--max-queued", "4")
        n = 40
        srv.send_raw(b"".join(dumps(call(i, "sleep", {"ms": 10})) + b"\n" for i in range(n)))
        rest = self.assertClean(srv, timeout=20)
        self.assertEqual(sorted(m["id"] for m in rest), list(range(n)))

    def test_many_workers_many_calls(self) -> None:
        srv = self.started("--workers", "8")
        n = 300
        data = b"".join(dumps(call(i, "add", {"a": i, "b": 0.5})) + b"\n" for i in range(n))
        writer = self.send_in_background(srv, data)
        got = self.collect(srv, n)
        writer.join(10)
        for i in range(n):
            self.assertJson(got[i]["result"]["structuredContent"], {"sum": i + 0.5})


if __name__ == "__main__":
    main()
