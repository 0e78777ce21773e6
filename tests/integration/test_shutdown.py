"""integration/shutdown: EOF, signals, the shutdown deadline and a vanished reader.

MCP stdio shutdown (basic/lifecycle): the client closes the server's stdin, then SIGTERM, then
SIGKILL. The server answers what is still running (up to --shutdown-timeout-ms, then -32001),
flushes stdout and exits 0.
"""

import json
import os
import signal
import subprocess
import tempfile
import time

from harness import (SERVER, ServerTestCase, call, dumps, error, initialize_params, main,
                     request, result, text_result)


def deadline_error(id_, ms: int) -> dict:
    return error(id_, -32001, "Server shutting down: the call did not finish within %d ms of "
                              "the shutdown" % ms)


class Shutdown(ServerTestCase):
    def test_eof_with_calls_in_flight(self) -> None:
        srv = self.started()
        srv.send(*[call(i, "sleep", {"ms": 100 + 20 * i}) for i in range(5)])
        srv.send(call("e", "echo", {"text": "x"}))
        srv.recv_id("e")
        rest = self.assertClean(srv)
        self.assertJson(sorted(rest, key=lambda m: m["id"]),
                        [result(i, text_result("slept %d ms" % (100 + 20 * i))) for i in range(5)])

    def test_eof_right_after_the_requests(self) -> None:
        """Requests and EOF in quick succession: every request is still answered."""
        srv = self.start()
        srv.send(request(0, "initialize", initialize_params()),
                 *[call(i, "sleep", {"ms": 30}) for i in range(1, 20)],
                 *[call(i, "echo", {"text": "t"}) for i in range(20, 40)])
        rest = self.assertClean(srv)
        self.assertEqual(sorted(m["id"] for m in rest), list(range(40)))

    def test_sigterm_with_a_sleep_running(self) -> None:
        srv = self.started()
        srv.send(call(1, "sleep", {"ms": 300}))
        srv.request("barrier", "ping")  # the call has been dispatched
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(), 0)
        self.assertLess(time.monotonic() - started, 2.0)
        self.assertJson(srv.drain_all(), [result(1, text_result("slept 300 ms"))])

    def test_sigint_idle(self) -> None:
        srv = self.started()
        srv.signal(signal.SIGINT)
        self.assertEqual(srv.wait(), 0)
        self.assertEqual(srv.drain_all(), [])

    def test_sigterm_stops_reading(self) -> None:
        """After SIGTERM no new requests are taken; stdin may stay open."""
        srv = self.started("--shutdown-timeout-ms", "2000")
        srv.send(call(1, "sleep", {"ms": 600}))
        srv.request("barrier", "ping")
        srv.signal(signal.SIGTERM)
        time.sleep(0.2)
        try:
            srv.send(request("late", "ping"))
        except BrokenPipeError:
            pass
        self.assertEqual(srv.wait(), 0)
        self.assertJson(srv.drain_all(), [result(1, text_result("slept 600 ms"))])

    def test_never_and_eof_hits_the_shutdown_deadline(self) -> None:
        srv = self.started("--shutdown-timeout-ms", "300")
        srv.send(call(1, "never"), call(2, "sleep", {"ms": 50}))
        srv.request("barrier", "ping")
        started = time.monotonic()
        rest = self.assertClean(srv, timeout=5)
        elapsed = time.monotonic() - started
        self.assertJson(sorted(rest, key=lambda m: m["id"]), [
            deadline_error(1, 300),
            result(2, text_result("slept 50 ms")),
        ])
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 2.0)

    def test_second_signal_skips_the_wait(self) -> None:
        srv = self.started()  # default shutdown timeout: 5 s
        srv.send(call(1, "never"))
        srv.request("barrier", "ping")
        started = time.monotonic()
        srv.signal(signal.SIGTERM)
        time.sleep(0.1)
        srv.signal(signal.SIGTERM)
        self.assertEqual(srv.wait(), 0)
        self.assertLess(time.monotonic() - started, 2.0)
        self.assertJson(srv.drain_all(), [deadline_error(1, 5000)])

    def test_client_closes_stdout(self) -> None:
        """The reader is gone: the next write fails (EPIPE, SIGPIPE ignored); exit 0."""
        r, w = os.pipe()
        try:
            srv = self.start(stdout=w, read=False)
        finally:
            os.close(w)
        os.close(r)
        srv.send(request(1, "initialize", initialize_params()), request(2, "ping"))
        self.assertEqual(srv.wait(), 0)

    def test_client_closes_stdout_with_calls_in_flight(self) -> None:
        r, w = os.pipe()
        try:
            srv = self.start("--shutdown-timeout-ms", "300", stdout=w, read=False)
        finally:
            os.close(w)
        srv.send(request(1, "initialize", initialize_params()),
                 call(2, "sleep", {"ms": 2000}), call(3, "never"))
        time.sleep(0.2)
        os.close(r)
        started = time.monotonic()
        srv.send(request(4, "ping"))
        self.assertEqual(srv.wait(), 0)
        self.assertLess(time.monotonic() - started, 3.0)

    def test_client_closes_stdout_while_output_is_pending(self) -> None:
        r, w = os.pipe()
        try:
            srv = self.start("--max-pending-output", "65536", stdout=w, read=False)
        finally:
            os.close(w)
        srv.send(request(1, "initialize", initialize_params()),
                 *[call(i, "big", {"bytes": 100000}) for i in range(2, 30)])
        time.sleep(0.3)  # the pipe is full, output is blocked
        os.close(r)
        self.assertEqual(srv.wait(), 0)

    def test_exit_status_and_stdout_with_real_files(self) -> None:
        """Shutdown after EOF with output to a regular file: everything is written."""
        with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
            proc = subprocess.Popen([SERVER, "--shutdown-timeout-ms", "200"],
                                    stdin=subprocess.PIPE, stdout=fout, stderr=ferr)
            try:
                assert proc.stdin is not None
                proc.stdin.write(dumps(request(1, "initialize", initialize_params())) + b"\n"
                                 + dumps(call(2, "sleep", {"ms": 100})) + b"\n"
                                 + dumps(call(3, "never")) + b"\n")
                proc.stdin.close()
                self.assertEqual(proc.wait(10), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            fout.seek(0)
            out = [json.loads(line) for line in fout.read().splitlines()]
        self.assertEqual(sorted(m["id"] for m in out), [1, 2, 3])
        by_id = {m["id"]: m for m in out}
        self.assertJson(by_id[3], deadline_error(3, 200))


if __name__ == "__main__":
    main()
