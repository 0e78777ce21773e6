"""integration/slow-reader: a client that stops reading stdout must not make the server grow.

With --max-pending-output small, the server stops reading requests while its output waits
(DESIGN.md §2, STYLE.md §7: a limit hit is backpressure, never unbounded growth). Once the client
reads again everything is delivered, exactly once.
"""

import threading
import time

from harness import SANITIZER, ServerTestCase, call, dumps, main, result, text_result

MIB = 1024
# Under ASan the RSS says little about our buffering: freed blocks sit in ASan's quarantine (up to
# 256 MiB) and every block carries redzones. The bounds are checked in the other presets; under
# ASan these tests still check delivery, exactly once, and that nothing leaks.
CHECK_RSS = SANITIZER != "address"


class SlowReader(ServerTestCase):
    def run_blocked(self, args, n: int, size: int, pause: float) -> tuple[int, int]:
        srv = self.start(*args, read=False)
        # Handshake by hand: the reader thread starts later.
        srv.send({"jsonrpc": "2.0", "id": "init", "method": "initialize",
                  "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                             "clientInfo": {"name": "slow", "version": "0"}}})
        data = b"".join(dumps(call(i, "big", {"bytes": size})) + b"\n" for i in range(n))
        writer = threading.Thread(target=srv.send_raw, args=(data,), daemon=True)
        writer.start()
        # Nobody reads stdout: the server's output fills the pipe and then its own buffers.
        samples = []
        end = time.monotonic() + pause
        while time.monotonic() < end:
            samples.append(srv.rss_kib())
            time.sleep(0.1)
        blocked_rss = max(samples)
        srv.start_reading()
        first = srv.recv()
        self.assertEqual(first["id"], "init")
        got = {}
        while len(got) < n:
            m = srv.recv(timeout=20)
            self.assertNotIn(m["id"], got, "two responses for id %r" % (m["id"],))
            got[m["id"]] = m
        writer.join(10)
        expected_text = "x" * size
        for i in range(n):
            self.assertJson(got[i], result(i, text_result(expected_text)), "id %d" % i)
        peak = srv.rss_kib("VmHWM")
        self.assertEqual(self.assertClean(srv), [])
        return blocked_rss, peak

    def test_memory_stays_bounded_while_output_is_blocked(self) -> None:
        # 1000 results of 100 kB = 100 MB of output the client does not read for 1.5 s.
        blocked, peak = self.run_blocked(["--max-pending-output", "65536"], 1000, 100_000, 1.5)
        if CHECK_RSS:
            self.assertLess(blocked, 200 * MIB, "RSS while the client was not reading")
            self.assertLess(peak, 200 * MIB, "peak RSS (VmHWM)")

    def test_small_inflight_limit_and_slow_reader(self) -> None:
        blocked, peak = self.run_blocked(["--max-pending-output", "16384", "--max-inflight", "8"],
                                         300, 50_000, 0.8)
        if CHECK_RSS:
            self.assertLess(peak, 120 * MIB)

    def test_pings_while_output_is_blocked(self) -> None:
        """Synchronous answers (ping) queue behind the blocked output, bounded the same way."""
        srv = self.start("--max-pending-output", "65536", read=False)
        n = 50000
        data = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"ping"}\n' % i for i in range(n))
        writer = threading.Thread(target=srv.send_raw, args=(data,), daemon=True)
        writer.start()
        time.sleep(0.8)
        rss = srv.rss_kib()
        srv.start_reading()
        ids = [srv.recv()["id"] for _ in range(n)]
        writer.join(10)
        self.assertEqual(ids, list(range(n)))
        if CHECK_RSS:
            self.assertLess(rss, 100 * MIB)
        self.assertEqual(self.assertClean(srv), [])


if __name__ == "__main__":
    main()
