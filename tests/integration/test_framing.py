"""integration/framing: newline-delimited JSON on stdin (MCP basic/transports, stdio).

Covers how bytes become messages: coalesced and split writes, CRLF, blank lines, a last line
without a newline at EOF, the --max-message limit and resynchronisation after it, parse errors,
invalid UTF-8, and stdin/stdout that are regular files or a socket instead of pipes.
"""

import json
import os
import socket
import subprocess
import tempfile
import time

from harness import (INVALID_UTF8, SERVER, ServerTestCase, call, dumps, error,
                     initialize_params, main, request, result, text_result)

PING = b'{"jsonrpc":"2.0","id":%d,"method":"ping"}'


def ping(i: int) -> bytes:
    return PING % i


class Framing(ServerTestCase):
    def test_many_messages_in_one_write(self) -> None:
        srv = self.started()
        srv.send_raw(b"".join(ping(i) + b"\n" for i in range(300)))
        for i in range(300):
            self.assertJson(srv.recv(), result(i, {}))

    def test_one_message_split_byte_by_byte(self) -> None:
        srv = self.started()
        data = dumps(call(7, "echo", {"text": "split ✂ across writes"})) + b"\n"
        for b in data:
            srv.send_raw(bytes([b]))
            time.sleep(0.001)
        self.assertJson(srv.recv(), result(7, text_result("split ✂ across writes")))
        # A message split at arbitrary points, with the next one starting in the same write.
        data = ping(8) + b"\n" + ping(9) + b"\n"
        srv.send_raw(data[:5])
        time.sleep(0.02)
        srv.send_raw(data[5:50])
        time.sleep(0.02)
        srv.send_raw(data[50:])
        self.assertJson(srv.recv(), result(8, {}))
        self.assertJson(srv.recv(), result(9, {}))

    def test_crlf_line_endings(self) -> None:
        srv = self.start()
        srv.send_raw(dumps(request(1, "initialize", initialize_params())) + b"\r\n")
        self.assertIn("result", srv.recv())
        srv.send_raw(ping(2) + b"\r\n" + ping(3) + b"\r\n")
        self.assertJson(srv.recv(), result(2, {}))
        self.assertJson(srv.recv(), result(3, {}))

    def test_blank_lines_are_ignored(self) -> None:
        srv = self.started()
        srv.send_raw(b"\n\n   \n\t\n\r\n \t \r\n")
        srv.send_raw(b"\n" + ping(1) + b"\n\n\n" + ping(2) + b"\n   \n")
        self.assertJson(srv.recv(), result(1, {}))
        self.assertJson(srv.recv(), result(2, {}))
        srv.no_message(0.2)

    def test_whitespace_around_a_message_is_allowed(self) -> None:
        srv = self.started()
        srv.send_raw(b"  \t" + ping(1) + b"  \t\r\n")
        self.assertJson(srv.recv(), result(1, {}))

    def test_last_message_without_newline_at_eof(self) -> None:
        srv = self.started()
        srv.send_raw(ping(1) + b"\n" + ping(2))
        self.assertJson(srv.recv(), result(1, {}))
        rest = self.assertClean(srv)
        self.assertJson(rest, [result(2, {})])

    def test_last_call_without_newline_at_eof_still_runs(self) -> None:
        srv = self.started()
        srv.send_raw(dumps(call(5, "sleep", {"ms": 50})))
        rest = self.assertClean(srv)
        self.assertJson(rest, [result(5, text_result("slept 50 ms"))])

    def test_oversized_message_is_rejected_and_the_stream_resyncs(self) -> None:
        limit = 1000
        srv = self.started("--max-message", str(limit))
        too_big = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"' + b"x" * 5000 \
            + b'"}}'
        srv.send_raw(too_big + b"\n" + ping(2) + b"\n")
        msg = "Invalid Request: message exceeds the size limit of %d bytes" % limit
        self.assertJson(srv.recv(), error(None, -32600, msg))
        self.assertJson(srv.recv(), result(2, {}))
        # Oversized and split across many writes: still exactly one error, then resync.
        for i in range(0, len(too_big), 700):
            srv.send_raw(too_big[i:i + 700])
            time.sleep(0.005)
        srv.send_raw(b"\n" + ping(3) + b"\n")
        self.assertJson(srv.recv(), error(None, -32600, msg))
        self.assertJson(srv.recv(), result(3, {}))
        # Many megabytes without a newline are discarded without buffering them.
        chunk = b"y" * (1 << 20)
        for _ in range(8):
            srv.send_raw(chunk)
        srv.send_raw(b"\n" + ping(4) + b"\n")
        self.assertJson(srv.recv(), error(None, -32600, msg))
        self.assertJson(srv.recv(), result(4, {}))
        self.assertLess(srv.rss_kib(), 100 * 1024)
        srv.no_message(0.1)

    def test_message_size_limit_is_exact(self) -> None:
        limit = 200
        srv = self.started("--max-message", str(limit))
        base = ping(1)
        exact = base + b" " * (limit - len(base))  # trailing JSON whitespace pads the line
        self.assertEqual(len(exact), limit)
        srv.send_raw(exact + b"\n")
        self.assertJson(srv.recv(), result(1, {}))
        srv.send_raw(exact + b"\r\n")  # the CR of a CRLF does not count
        self.assertJson(srv.recv(), result(1, {}))
        srv.send_raw(exact + b" \n")
        self.assertJson(srv.recv(), error(None, -32600, "Invalid Request: message exceeds the "
                                                        "size limit of 200 bytes"))
        self.assertJson(srv.request(2, "ping"), result(2, {}))

    def test_oversized_last_line_at_eof(self) -> None:
        srv = self.started("--max-message", "300")
        srv.send_raw(ping(1) + b"\n" + b"z" * 5000)
        self.assertJson(srv.recv(), result(1, {}))
        rest = self.assertClean(srv)
        self.assertJson(rest, [error(None, -32600, "Invalid Request: message exceeds the size "
                                                   "limit of 300 bytes")])

    def test_parse_errors(self) -> None:
        srv = self.started()
        bad = [
            b"not json",
            b'{"jsonrpc":"2.0","id":1,"method":"ping"',  # truncated
            b'{"jsonrpc":"2.0","id":1,"method":"ping"}}',  # trailing garbage
            b'{"jsonrpc":"2.0","id":1,"method":"ping"} {"jsonrpc":"2.0","id":2,"method":"ping"}',
            b"{'jsonrpc':'2.0'}",
            b'{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}',  # duplicate key
            b'{"jsonrpc":"2.0","id":01,"method":"ping"}',
            b'{"jsonrpc":"2.0","id":1,"method":"ping",}',
            b"[1,2",
            b'"unterminated',
        ]
        for line in bad:
            with self.subTest(line=line):
                srv.send_raw(line + b"\n")
                resp = srv.recv()
                self.assertEqual(set(resp), {"jsonrpc", "id", "error"}, resp)
                self.assertIsNone(resp["id"])
                self.assertEqual(resp["error"]["code"], -32700)
                self.assertTrue(resp["error"]["message"].startswith("Parse error: "), resp)
        self.assertJson(srv.request(2, "ping"), result(2, {}))

    def test_invalid_utf8_is_a_parse_error(self) -> None:
        srv = self.started()
        lines = [
            b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",'
            b'"arguments":{"text":"\xff\xfe"}}}',
            b'{"jsonrpc":"2.0","id":1,"method":"ping\xc3"}',  # truncated sequence
            b'{"jsonrpc":"2.0","id":1,"method":"\xed\xa0\x80"}',  # encoded surrogate
            b'{"jsonrpc":"2.0","id":1,"method":"\xc0\xaf"}',  # overlong
            b"\xef\xbb\xbf" + ping(1),  # a byte-order mark is not JSON text
        ]
        for line in lines:
            with self.subTest(line=line):
                srv.send_raw(line + b"\n")
                resp = srv.recv()
                self.assertIsNone(resp["id"], resp)
                self.assertEqual(resp["error"]["code"], -32700, resp)
        self.assertJson(srv.request(3, "ping"), result(3, {}))

    def test_parse_error_messages_are_valid_utf8(self) -> None:
        """A parse error quoting non-ASCII input must still be a UTF-8 line."""
        srv = self.started()
        for pad in range(3):
            # "\u0000" in a string is valid JSON, so that object is an invalid request (-32600).
            for line, code in ((b'{"a":"' + b"x" * pad + "é€😀".encode() * 100, -32700),
                               (b'{"a":"' + b"x" * pad + "é€😀".encode() * 30 + b'\\u0000"}',
                                -32600),
                               (b'{"a":"' + b"x" * pad + "é€😀".encode() * 30 + b'\t"}', -32700),
                               (b'{"a":' + b"x" * pad + "é€😀".encode() * 100, -32700),
                               (b'{"' + b"x" * pad + "é€😀".encode() * 100 + b'"}', -32700)):
                with self.subTest(line=line[:12], pad=pad):
                    srv.send_raw(line + b"\n")
                    resp = srv.recv()
                    self.assertNotIn(INVALID_UTF8, resp, "reply is not UTF-8")
                    self.assertEqual(resp["error"]["code"], code)
        self.assertJson(srv.request(3, "ping"), result(3, {}))

    def test_unicode_round_trip(self) -> None:
        srv = self.started()
        texts = ["plain", "é", "€", "😀 astral", "\u2028\u2029", "tab\tnewline\nquote\"back\\",
                 "\x01\x1f control", "\x7f del", "mixed ünïcødé ✓ 日本語"]
        for i, text in enumerate(texts):
            resp, _ = srv.call(i, "echo", {"text": text})
            self.assertJson(resp, result(i, text_result(text)))
        # \u escapes in the input, including a surrogate pair, decode to the same text.
        srv.send_raw(b'{"jsonrpc":"2.0","id":"u","method":"tools/call","params":{"name":"echo",'
                     b'"arguments":{"text":"\\u00e9\\ud83d\\ude00\\n"}}}\n')
        self.assertJson(srv.recv(), result("u", text_result("é😀\n")))

    def test_stdin_and_stdout_regular_files(self) -> None:
        """stdin from a file and stdout to a file use plain reads and writes, not pipes."""
        msgs = [request(1, "initialize", initialize_params()), request(2, "ping"),
                call(3, "sleep", {"ms": 30}), call(4, "echo", {"text": "file"})]
        with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, \
                tempfile.TemporaryFile() as ferr:
            fin.write(b"".join(dumps(m) + b"\n" for m in msgs) + ping(5))  # no final newline
            fin.seek(0)
            proc = subprocess.run([SERVER], stdin=fin, stdout=fout, stderr=ferr, timeout=10)
            self.assertEqual(proc.returncode, 0)
            fout.seek(0)
            lines = fout.read().split(b"\n")
        self.assertEqual(lines[-1], b"")
        out = [json.loads(line) for line in lines[:-1]]
        by_id = {m["id"]: m for m in out}
        self.assertEqual(len(out), 5)
        self.assertJson(by_id[2], result(2, {}))
        self.assertJson(by_id[3], result(3, text_result("slept 30 ms")))
        self.assertJson(by_id[4], result(4, text_result("file")))
        self.assertJson(by_id[5], result(5, {}))

    def test_stdio_over_a_socketpair(self) -> None:
        """Some hosts connect stdio to a socket; EOF is a shutdown of the write side."""
        ours, theirs = socket.socketpair()
        with tempfile.TemporaryFile() as ferr:
            proc = subprocess.Popen([SERVER], stdin=theirs.fileno(), stdout=theirs.fileno(),
                                    stderr=ferr)
            theirs.close()
            try:
                ours.settimeout(10)
                ours.sendall(dumps(request(1, "initialize", initialize_params())) + b"\n"
                             + ping(2) + b"\n" + dumps(call(3, "sleep", {"ms": 50})) + b"\n")
                ours.shutdown(socket.SHUT_WR)
                data = b""
                while True:
                    chunk = ours.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.assertEqual(proc.wait(10), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                ours.close()
        out = [json.loads(line) for line in data.split(b"\n") if line]
        self.assertEqual([m["id"] for m in out], [1, 2, 3])
        self.assertJson(out[2], result(3, text_result("slept 50 ms")))

    def test_stdin_closed_immediately(self) -> None:
        srv = self.start()
        self.assertEqual(self.assertClean(srv), [])

    def test_stdin_dev_null(self) -> None:
        with open(os.devnull, "rb") as devnull:
            srv = self.start(stdin=devnull)
            self.assertEqual(srv.wait(), 0)
            self.assertEqual(srv.drain_all(), [])


if __name__ == "__main__":
    main()
