"""integration/shutdown-python: stopping `fasterapi run APP.py` with Python calls in flight.

MCP stdio shutdown (basic/lifecycle): the client closes stdin (then SIGTERM, then SIGKILL). The
server answers what is still running, up to its shutdown deadline (5 s, FA_SHUTDOWN_TIMEOUT_MS;
`fasterapi run` has no option for it), answers the rest with -32001, flushes stdout and exits 0.
With Python that means: asyncio tasks and plain `def` calls finish and are answered; a tool
stuck in a blocking C call (time.sleep(60)) cannot be interrupted, so its call is answered with
-32001 at the deadline and the process leaves without finalising Python — it must not hang, and
it must not crash on the way out (CPython 3.12.1 aborts at exit with asyncio/hashlib in
subinterpreters, DESIGN.md §4: run this suite against such a build too, see the report).

FASTERAPI may name any build of the CLI; the embedded Python's version is printed first.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from pyharness import (FASTERAPI, PyServerTestCase, call, error, harness, initialize_params,
                       main, request, responses, result, text_of)

SLOW = harness.TIME_FACTOR  # the time bounds below, scaled under ASan

DEADLINE_MS = 5000


def deadline_error(id_) -> dict:
    return error(id_, -32001, "Server shutting down: the call did not finish within %d ms of "
                              "the shutdown" % DEADLINE_MS)


def ok_text(id_, text: str) -> dict:
    return result(id_, {"content": [{"type": "text", "text": text}],
                        "structuredContent": {"result": text}})


def by_id(msgs: list) -> dict:
    out: dict = {}
    for m in responses(msgs):
        assert m["id"] not in out, "answered twice: %r" % (m,)
        out[m["id"]] = m
    return out


class ShutdownPython(PyServerTestCase):
    def assertExit0(self, srv, timeout: float) -> float:
        """Waits for the exit; asserts status 0 (not a crash) and returns the time it took."""
        started = time.monotonic()
        rc = srv.wait(timeout)
        elapsed = time.monotonic() - started
        self.assertEqual(rc, 0, "exit status %d%s; stderr tail:\n%s"
                         % (rc, " (killed by signal %d)" % -rc if rc < 0 else "",
                            srv.logs()[-3000:]))
        for bad in ("Fatal Python error", "Segmentation fault", "double free", "Aborted"):
            self.assertNotIn(bad, srv.logs())
        return elapsed

    def test_eof_with_async_and_sync_calls_in_flight(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        srv.send(*[call("n%d" % i, "nap", {"seconds": 0.2 + 0.05 * i}) for i in range(5)],
                 *[call("b%d" % i, "block", {"seconds": 0.3}) for i in range(2)],
                 *[call("s%d" % i, "spin", {"seconds": 0.1}) for i in range(2)],
                 *[call("e%d" % i, "echo", {"text": str(i)}) for i in range(10)])
        srv.request("barrier", "ping")
        srv.close_stdin()
        elapsed = self.assertExit0(srv, 10)
        got = by_id(srv.drain_all())
        expected = {}
        for i in range(5):
            expected["n%d" % i] = ok_text("n%d" % i, "napped %s" % (0.2 + 0.05 * i))
        for i in range(2):
            expected["b%d" % i] = ok_text("b%d" % i, "blocked 0.3")
            expected["s%d" % i] = ok_text("s%d" % i, "spun 0.1")
        for i in range(10):
            expected["e%d" % i] = ok_text("e%d" % i, str(i))
        # Echoes may have been answered before the barrier; the rest after EOF.
        for k in list(expected):
            if k not in got:
                self.assertTrue(k.startswith("e"), "%s was not answered" % k)
                del expected[k]
        self.assertJson(got, expected)
        self.assertLess(elapsed, 3.0 * SLOW)

    def test_eof_right_after_the_requests(self) -> None:
        """initialize, calls and EOF in one write: every request is answered."""
        srv = self.serve("kitchen", "--workers", "2", init=False)
        srv.send(request(0, "initialize", initialize_params()),
                 *[call(i, "async_echo", {"text": str(i), "delay": 0.01}) for i in range(1, 30)],
                 *[call(i, "echo", {"text": str(i)}) for i in range(30, 60)])
        srv.close_stdin()
        self.assertExit0(srv, 10)
        got = by_id(srv.drain_all())
        self.assertEqual(sorted(got), list(range(60)))
        for i in range(1, 60):
            self.assertJson(got[i], ok_text(i, str(i)))

    def test_sigterm_with_calls_in_flight(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        srv.send(call(1, "nap", {"seconds": 0.4}), call(2, "block", {"seconds": 0.4}),
                 call(3, "async_echo", {"text": "x", "delay": 0.2}))
        srv.request("barrier", "ping")
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        self.assertExit0(srv, 10)
        self.assertLess(time.monotonic() - started, 2.0 * SLOW,
                        "exit should follow the last answer")
        got = by_id(srv.drain_all())
        self.assertJson(got, {1: ok_text(1, "napped 0.4"), 2: ok_text(2, "blocked 0.4"),
                              3: ok_text(3, "x")})

    def test_sigint_idle(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        srv.call(1, "nap", {"seconds": 0.01})  # the loops have run a task
        srv.signal(signal.SIGINT)
        self.assertExit0(srv, 10)
        self.assertEqual(srv.drain_all(), [])

    def test_stuck_in_a_blocking_call_then_eof(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        srv.send(call("stuck", "block", {"seconds": 60}), call(2, "nap", {"seconds": 0.1}))
        srv.request("barrier", "ping")
        srv.close_stdin()
        elapsed = self.assertExit0(srv, DEADLINE_MS / 1000 + 5)
        got = by_id(srv.drain_all())
        self.assertJson(got, {"stuck": deadline_error("stuck"), 2: ok_text(2, "napped 0.1")})
        self.assertGreater(elapsed, DEADLINE_MS / 1000 - 0.5)
        self.assertLess(elapsed, DEADLINE_MS / 1000 + 2.0 * SLOW, "the process must not hang")
        self.assertIn("exiting without finalising Python", srv.logs())

    def test_stuck_call_under_load_then_eof(self) -> None:
        """One worker stuck in time.sleep(60), 200 pipelined calls for the other, then EOF."""
        srv = self.serve("kitchen", "--workers", "2")
        srv.send(call("stuck", "block", {"seconds": 60}))
        srv.no_message(0.1)
        kinds = [("echo", lambda i: {"text": str(i)}),
                 ("async_echo", lambda i: {"text": str(i), "delay": 0.001}),
                 ("summarize", lambda i: {"numbers": [i, 1]})]
        srv.send(*[call(i, kinds[i % 3][0], kinds[i % 3][1](i)) for i in range(200)])
        srv.close_stdin()
        elapsed = self.assertExit0(srv, DEADLINE_MS / 1000 + 5)
        got = by_id(srv.drain_all())
        self.assertEqual(sorted(k for k in got if k != "stuck"), list(range(200)))
        self.assertJson(got["stuck"], deadline_error("stuck"))
        for i in range(200):
            if i % 3 == 2:
                self.assertEqual(got[i]["result"]["structuredContent"]["total"], i + 1)
            else:
                self.assertEqual(text_of(got[i]), str(i), got[i])
        self.assertLess(elapsed, DEADLINE_MS / 1000 + 2.0 * SLOW, "the process must not hang")

    def test_busy_loop_at_eof(self) -> None:
        """A plain def looping forever in Python (interruptible, unlike a C call): answered with
        -32001 at the deadline, exit 0, no hang."""
        srv = self.serve("kitchen", "--workers", "1")
        srv.send(call("loop", "spin", {}))
        srv.no_message(0.2)
        srv.close_stdin()
        elapsed = self.assertExit0(srv, DEADLINE_MS / 1000 + 5)
        self.assertJson(by_id(srv.drain_all()), {"loop": deadline_error("loop")})
        self.assertLess(elapsed, DEADLINE_MS / 1000 + 2.0 * SLOW)

    def test_second_sigterm_skips_the_wait(self) -> None:
        srv = self.serve("kitchen", "--workers", "2")
        srv.send(call("stuck", "block", {"seconds": 60}), call("napping", "nap", {"seconds": 60}))
        srv.request("barrier", "ping")
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        time.sleep(0.2)
        srv.signal(signal.SIGTERM)
        self.assertExit0(srv, 10)
        self.assertLess(time.monotonic() - started, 2.0 * SLOW)
        self.assertJson(by_id(srv.drain_all()), {"stuck": deadline_error("stuck"),
                                                 "napping": deadline_error("napping")})

    def test_eof_while_a_tool_awaits_the_client(self) -> None:
        """The client goes away while a tool awaits its elicitation answer: the pending request
        fails, the tool ends, the call is answered (an error), exit 0 without the deadline."""
        srv = self.serve("kitchen", "--workers", "2", capabilities={"elicitation": {}})
        srv.send(call(1, "ask_contact"))
        srv.recv_until(lambda m: m.get("method") == "elicitation/create")
        srv.close_stdin()
        elapsed = self.assertExit0(srv, DEADLINE_MS / 1000 + 5)
        got = by_id(srv.drain_all())
        self.assertEqual(list(got), [1])
        self.assertIn("error", got[1], got[1])
        self.assertLess(elapsed, 2.0 * SLOW, "a tool waiting for a client that left should not "
                                             "hold the shutdown until the deadline")


if __name__ == "__main__":
    version = subprocess.run([FASTERAPI, "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    print("testing %s:\n%s" % (FASTERAPI, version), file=sys.stderr)
    main()
