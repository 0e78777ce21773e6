#!/usr/bin/env python3
"""test_mcp_bad_input.py: broken and hostile MCP clients against `fasterapi run --http`.

Issue 7's list of bad inputs, each over real sockets against the real CLI and a FastMCP-style app
(apps/mcp_bad_input.py): malformed JSON, wrong JSON-RPC shapes, batches in eras that forbid them,
unknown / ended / missing sessions, wrong or missing protocol headers, a header that disagrees
with the body, oversized bodies (both below and above the HTTP server's own limit), slow clients,
a disconnect in the middle of a call, answers to server->client requests that do not exist or
that come twice, a tampered requestState, and a flood of sessions. Every answer must be an HTTP
status with a JSON-RPC error body (never a hang, never text or HTML), and the server must go on
serving afterwards.

The limits are lowered with `--limit` so that each is reached quickly.

Run: FASTERAPI=build/dev/fasterapi python3 tests/integration/http/test_mcp_bad_input.py -v
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
APP = os.path.join(HERE, "apps", "mcp_bad_input.py")
FASTERAPI = os.environ.get("FASTERAPI") or os.path.join(ROOT, "build", "dev", "fasterapi")

MAX_MESSAGE = 4096  # --limit max-message: the endpoint's JSON-RPC 413 below 2x, HTTP's above
MAX_SESSIONS = 4
SLOW_MS = 400  # header and body timeouts
KEEPALIVE_MS = 200  # --limit sse-keepalive-ms
ANSWER_S = 5.0  # bounds a server that misbehaves; loopback answers take milliseconds
LEGACY = "2025-11-25"
MODERN = "2026-07-28"
META = {"io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {}}


class Server:
    def __init__(self):
        self.proc = subprocess.Popen(
            [FASTERAPI, "run", APP, "--http", "127.0.0.1:0", "--workers", "1",
             "--limit", "max-message=%d" % MAX_MESSAGE, "--limit", "max-sessions=%d" % MAX_SESSIONS,
             "--limit", "header-timeout-ms=%d" % SLOW_MS, "--limit", "body-timeout-ms=%d" % SLOW_MS,
             "--limit", "sse-keepalive-ms=%d" % KEEPALIVE_MS,
             "--log-level", "warn"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        self.port = None
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/mcp", line)
            if m:
                self.port = int(m.group(1))
                break
        if not self.port:
            self.proc.kill()
            raise RuntimeError("the server did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "hung"
        err = self.proc.stderr.read()
        return rc, err


def headers(session=None, version=LEGACY, extra=None):
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if session:
        h["Mcp-Session-Id"] = session
    if version:
        h["MCP-Protocol-Version"] = version
    h.update(extra or {})
    return h


def sse_messages(body):
    """The JSON-RPC messages in an SSE body (data lines of each event)."""
    out = []
    for event in body.replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(l[5:].lstrip() for l in event.split("\n") if l.startswith("data:"))
        if data.strip():
            out.append(json.loads(data))
    return out


class McpBadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server()

    @classmethod
    def tearDownClass(cls):
        rc, err = cls.srv.stop()
        if rc != 0:
            raise AssertionError("server exit %r on SIGTERM; stderr:\n%s" % (rc, err[-3000:]))

    # ---- helpers ----

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=ANSWER_S)

    def post(self, body, hdrs, conn=None):
        """POST; returns (status, response headers, parsed JSON or SSE message list or None)."""
        c = conn or self.conn()
        raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
        c.request("POST", "/mcp", raw, hdrs)
        r = c.getresponse()
        text = r.read().decode()
        ctype = r.getheader("Content-Type") or ""
        if not conn:
            c.close()
        if ctype.startswith("application/json"):
            return r.status, r, json.loads(text)
        if ctype.startswith("text/event-stream"):
            return r.status, r, sse_messages(text)
        self.assertEqual(text, "", "a body that is neither JSON nor SSE: %r" % text[:200])
        return r.status, r, None

    def assert_rpc_error(self, got, status, code, pattern=""):
        st, _, body = got
        self.assertEqual(st, status, body)
        self.assertIsInstance(body, dict, "expected one JSON-RPC error, got %r" % (body,))
        self.assertEqual(body.get("jsonrpc"), "2.0")
        self.assertEqual(body["error"]["code"], code, body)
        if pattern:
            self.assertRegex(body["error"]["message"], pattern)
        return body

    def initialize(self, caps=None):
        st, r, body = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": LEGACY, "capabilities": caps or {},
            "clientInfo": {"name": "bad-input", "version": "1"}}}, headers(version=None))
        self.assertEqual(st, 200, body)
        sid = r.getheader("Mcp-Session-Id")
        self.assertRegex(sid or "", r"^[0-9a-f]{32}$")
        self.addCleanup(self.delete, sid)  # also when the test fails (404 if it ended already)
        st, _, _ = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"},
                             headers(sid))
        self.assertEqual(st, 202)
        return sid

    def delete(self, sid):
        c = self.conn()
        c.request("DELETE", "/mcp", headers=headers(sid))
        r = c.getresponse()
        r.read()
        c.close()
        return r.status

    def call(self, sid, id_, name, args=None, conn=None):
        return self.post({"jsonrpc": "2.0", "id": id_, "method": "tools/call",
                          "params": {"name": name, "arguments": args or {}}}, headers(sid), conn)

    def assert_serves(self, sid=None):
        """The server still answers a plain call (on a fresh session if none is given)."""
        own = sid is None
        sid = sid or self.initialize()
        st, _, body = self.call(sid, "alive", "echo", {"text": "still here"})
        self.assertEqual(st, 200, body)
        self.assertEqual(body["result"]["content"][0]["text"], "still here")
        if own:
            self.assertIn(self.delete(sid), (200, 204))

    def modern(self, body, extra=None):
        h = headers(version=MODERN, extra=extra)
        return self.post(body, h)

    # ---- the bad inputs ----

    def test_malformed_json(self):
        sid = self.initialize()
        for raw in ('{"jsonrpc":', "{]", "\xff\xfe".encode("latin-1"), "nul\x00l"):
            self.assert_rpc_error(self.post(raw, headers(sid)), 400, -32700, "Parse error")
        # Without a session: still a JSON-RPC parse error, not a session error first.
        self.assert_rpc_error(self.post("{nope", headers(version=None)), 400, -32700)
        self.assert_serves(sid)
        self.delete(sid)

    def test_wrong_jsonrpc_shapes(self):
        sid = self.initialize()
        cases = [
            ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, "jsonrpc must be"),
            ({"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}, "id must be"),
            ({"jsonrpc": "2.0", "id": 1}, "missing method"),
            ({"jsonrpc": "2.0", "id": 1, "method": 7}, "method"),
            ("\"just a string\"", "not a JSON-RPC message"),
            ("42", "not a JSON-RPC message"),
        ]
        for body, why in cases:
            self.assert_rpc_error(self.post(body, headers(sid)), 400, -32600, why)
        # Well-formed JSON-RPC that the method rejects: 200 with the error, per JSON-RPC.
        st, _, body = self.post({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                                 "params": {"name": "no_such_tool"}}, headers(sid))
        self.assertEqual((st, body["error"]["code"]), (200, -32602), body)
        st, _, body = self.post({"jsonrpc": "2.0", "id": 3, "method": "no/such/method"},
                                headers(sid))
        self.assertEqual(body["error"]["code"], -32601, body)
        # Wrong argument types: a tool error the model can read, not a protocol failure.
        st, _, body = self.call(sid, 4, "echo", {"text": 5})
        self.assertTrue(body["result"]["isError"], body)
        self.assertIn("expected string", body["result"]["content"][0]["text"])
        self.assert_serves(sid)
        self.delete(sid)

    def test_batches_where_the_era_forbids_them(self):
        sid = self.initialize()
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        # 2025-11-25 has no batches (only 2025-03-26 had them): refused, the POST answered.
        self.assert_rpc_error(self.post([ping], headers(sid)), 400, -32600,
                              "only supported with protocol 2025-03-26")
        self.assert_rpc_error(self.post([], headers(sid)), 400, -32600, "empty batch")
        # The refused batch's id is free again: the same id works at once.
        st, _, body = self.post(ping, headers(sid))
        self.assertEqual((st, body.get("result")), (200, {}), body)
        # 2026-07-28: a batch is never valid.
        modern = dict(ping, params={"_meta": META})
        self.assert_rpc_error(self.modern([modern], {"Mcp-Method": "ping"}), 400, -32600)
        self.assert_serves(sid)
        self.delete(sid)

    def test_unknown_ended_and_missing_sessions(self):
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        self.assert_rpc_error(self.post(ping, headers(version=None)), 400, -32000,
                              "Mcp-Session-Id header is required")
        self.assert_rpc_error(self.post(ping, headers("0" * 32)), 404, -32001)
        sid = self.initialize()
        self.assertIn(self.delete(sid), (200, 204))
        self.assert_rpc_error(self.post(ping, headers(sid)), 404, -32001)
        self.assertEqual(self.delete(sid), 404)
        c = self.conn()
        c.request("GET", "/mcp", headers={"Accept": "text/event-stream", "Mcp-Session-Id": sid})
        r = c.getresponse()
        self.assertEqual(r.status, 404)
        self.assertEqual(json.loads(r.read())["error"]["code"], -32001)
        c.close()

    def test_wrong_or_missing_protocol_headers(self):
        sid = self.initialize()
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        self.assert_rpc_error(self.post(ping, headers(sid, version="1999-01-01")), 400, -32000,
                              "(?i)protocol version")
        # Accept without text/event-stream: 406; a body that is not JSON by its type: 415.
        h = headers(sid)
        h["Accept"] = "application/json"
        self.assertEqual(self.post(ping, h)[0], 406)
        h = headers(sid)
        h["Content-Type"] = "text/plain"
        self.assertEqual(self.post(ping, h)[0], 415)
        # 2026-07-28 standard headers: Mcp-Method and Mcp-Name must repeat the body (-32020).
        call = {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": "a"}, "_meta": META}}
        self.assert_rpc_error(self.modern(call, {"Mcp-Method": "tools/list", "Mcp-Name": "echo"}),
                              400, -32020, "Mcp-Method")
        self.assert_rpc_error(self.modern(call, {"Mcp-Method": "tools/call", "Mcp-Name": "nap"}),
                              400, -32020, "Mcp-Name")
        # The claim in _meta is mandatory when the header names 2026-07-28.
        bare = {"jsonrpc": "2.0", "id": 6, "method": "tools/list"}
        self.assert_rpc_error(self.modern(bare, {"Mcp-Method": "tools/list"}), 400, -32602)
        st, _, body = self.modern(call, {"Mcp-Method": "tools/call", "Mcp-Name": "echo"})
        self.assertEqual((st, body["result"]["content"][0]["text"]), (200, "a"), body)
        self.delete(sid)

    def test_header_body_version_mismatch(self):
        call = {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": "a"}, "_meta": META}}
        h = headers(version=LEGACY, extra={"Mcp-Method": "tools/call", "Mcp-Name": "echo"})
        self.assert_rpc_error(self.post(call, h), 400, -32020, "MCP-Protocol-Version")

    def test_oversized_bodies(self):
        sid = self.initialize()
        # Over max-message but within the HTTP server's limit: the endpoint's own 413.
        big = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
               "params": {"name": "echo", "arguments": {"text": "x" * (MAX_MESSAGE + 100)}}}
        self.assert_rpc_error(self.post(big, headers(sid)), 413, -32600, "exceeds the limit")
        # Far over it: the HTTP server refuses it from Content-Length, still as JSON-RPC.
        huge = dict(big, params={"name": "echo", "arguments": {"text": "x" * 6 * MAX_MESSAGE}})
        self.assert_rpc_error(self.post(huge, headers(sid)), 413, -32600, "body limit")
        # And chunked, with no Content-Length to decide from.
        c = self.conn()
        c.putrequest("POST", "/mcp")
        for k, v in headers(sid).items():
            c.putheader(k, v)
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        chunk = b"x" * (3 * MAX_MESSAGE)
        try:
            c.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while we were still sending: the answer is read below
        r = c.getresponse()
        self.assertEqual(r.status, 413)
        self.assertEqual(json.loads(r.read())["error"]["code"], -32600)
        c.close()
        self.assert_serves(sid)
        self.delete(sid)

    def slow_exchange(self, data, pause_s):
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=ANSWER_S)
        s.sendall(data)
        started = time.monotonic()
        out = b""
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                self.fail("the server kept a stalled client past %.1f s" % ANSWER_S)
            if not d:
                break
            out += d
        s.close()
        return time.monotonic() - started, out.decode(errors="replace")

    def test_slow_clients(self):
        sid = self.initialize()
        # A head that never completes (slowloris): 408 and closed after header-timeout-ms.
        took, out = self.slow_exchange(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",
                                       SLOW_MS)
        self.assertTrue(out.startswith("HTTP/1.1 408"), out)
        self.assertLess(took, SLOW_MS / 1000 + 2.0)
        # A body that stalls: 408 with a JSON-RPC error (the path is known by then).
        head = ("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
                "Accept: application/json, text/event-stream\r\nMcp-Session-Id: %s\r\n"
                "Content-Length: 200\r\n\r\n{\"jsonrpc\":" % (self.srv.port, sid))
        took, out = self.slow_exchange(head.encode(), SLOW_MS)
        self.assertTrue(out.startswith("HTTP/1.1 408"), out)
        self.assertIn("application/json", out)
        self.assertIn("-32600", out)
        self.assertLess(took, SLOW_MS / 1000 + 2.0)
        self.assert_serves(sid)
        self.delete(sid)

    def cancelled_naps(self, sid):
        st, _, body = self.call(sid, "count", "cancelled_naps")
        return body["result"]["structuredContent"]["result"]

    def test_disconnect_mid_call_cancels_it(self):
        sid = self.initialize()
        before = self.cancelled_naps(sid)
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=ANSWER_S)
        body = json.dumps({"jsonrpc": "2.0", "id": "long", "method": "tools/call",
                           "params": {"name": "nap", "arguments": {"seconds": 30}}})
        h = "".join("%s: %s\r\n" % kv for kv in headers(sid).items())
        s.sendall(("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Length: %d\r\n\r\n%s"
                   % (self.srv.port, h, len(body), body)).encode())
        time.sleep(0.3)  # the tool is asleep
        s.close()  # the client goes away
        deadline = time.monotonic() + 5
        while self.cancelled_naps(sid) == before:
            self.assertLess(time.monotonic(), deadline, "the tool never saw the cancellation")
            time.sleep(0.05)
        self.assertEqual(self.cancelled_naps(sid), before + 1)
        # The id is free again in this session, and the session serves on.
        st, _, body = self.call(sid, "long", "nap", {"seconds": 0.01})
        self.assertEqual(body["result"]["content"][0]["text"], "napped 0.01", body)
        self.delete(sid)

    def test_answers_to_requests_that_do_not_exist_or_twice(self):
        sid = self.initialize({"elicitation": {}})
        # An answer to a request the server never sent: accepted (202) and ignored.
        st, _, body = self.post({"jsonrpc": "2.0", "id": "never-sent", "result": {}}, headers(sid))
        self.assertEqual((st, body), (202, None))
        st, _, body = self.post({"jsonrpc": "2.0", "id": 424242,
                                 "error": {"code": -1, "message": "x"}}, headers(sid))
        self.assertEqual(st, 202)
        # A real elicitation, answered twice: the tool gets the first answer, the second is
        # ignored, and the result arrives exactly once.
        c = self.conn()
        c.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": "ask", "method": "tools/call",
                                              "params": {"name": "ask_name", "arguments": {}}}),
                  headers(sid))
        r = c.getresponse()
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        request = None
        buf = ""
        while request is None:
            line = r.readline().decode()
            self.assertTrue(line, "the stream ended before the elicitation request")
            if line.startswith("data:"):
                buf += line[5:].strip()
            elif line in ("\n", "\r\n") and buf:
                msg = json.loads(buf)
                buf = ""
                if msg.get("method") == "elicitation/create":
                    request = msg
        answer = {"jsonrpc": "2.0", "id": request["id"],
                  "result": {"action": "accept", "content": {"value": "Ada"}}}
        self.assertEqual(self.post(answer, headers(sid))[0], 202)
        second = dict(answer, result={"action": "accept", "content": {"value": "Eve"}})
        self.assertEqual(self.post(second, headers(sid))[0], 202)
        rest = sse_messages(r.read().decode())
        c.close()
        results = [m for m in rest if m.get("id") == "ask"]
        self.assertEqual(len(results), 1, rest)
        self.assertEqual(results[0]["result"]["content"][0]["text"], "hello Ada (accept)")
        self.assert_serves(sid)
        self.delete(sid)

    def test_idle_streams_get_keepalive_comments(self):
        """A silent SSE stream (the session's GET stream; a POST whose tool is busy) gets a
        comment line every sse-keepalive-ms, so proxies with read timeouts keep it open."""
        sid = self.initialize()
        c = self.conn()
        c.request("GET", "/mcp", headers={"Accept": "text/event-stream", "Mcp-Session-Id": sid,
                                          "MCP-Protocol-Version": LEGACY})
        r = c.getresponse()
        self.assertEqual((r.status, r.getheader("Content-Type")), (200, "text/event-stream"))
        started = time.monotonic()
        comments = 0
        while time.monotonic() - started < 1.2:
            line = r.readline().decode()
            self.assertTrue(line, "the GET stream ended")
            comments += line.startswith(": keep-alive")
        c.close()
        self.assertGreaterEqual(comments, 3, "keep-alive comments in 1.2 s of silence")
        # A POST answered by SSE (progress first), then silent while the tool sleeps.
        c = self.conn()
        c.request("POST", "/mcp", json.dumps({
            "jsonrpc": "2.0", "id": "p", "method": "tools/call",
            "params": {"name": "nap_with_progress", "arguments": {"seconds": 1.0},
                       "_meta": {"progressToken": "t"}}}), headers(sid))
        r = c.getresponse()
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        body = r.read().decode()
        c.close()
        self.assertGreaterEqual(body.count(": keep-alive"), 2, body)
        results = [m for m in sse_messages(body) if m.get("id") == "p"]
        self.assertEqual(results[0]["result"]["content"][0]["text"], "napped 1.0")

    def test_tampered_request_state(self):
        h = {"Mcp-Method": "tools/call", "Mcp-Name": "ask_name"}
        meta = dict(META, **{"io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}})
        first = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                 "params": {"name": "ask_name", "arguments": {}, "_meta": meta}}
        st, _, body = self.modern(first, h)
        self.assertEqual(body["result"]["resultType"], "input_required", body)
        state = body["result"]["requestState"]
        (key,) = body["result"]["inputRequests"].keys()
        answers = {key: {"action": "accept", "content": {"value": "Ada"}}}
        for bad in (state[:-2] + ("AA" if state[-2:] != "AA" else "BB"), "not-a-state", ""):
            retry = dict(first, params=dict(first["params"], requestState=bad,
                                            inputResponses=answers))
            self.assert_rpc_error(self.modern(retry, h), 200, -32602,
                                  "requestState")
        good = dict(first, params=dict(first["params"], requestState=state,
                                       inputResponses=answers))
        st, _, body = self.modern(good, h)
        self.assertEqual(body["result"]["content"][0]["text"], "hello Ada (accept)", body)

    def test_session_flood(self):
        # Sessions other tests hold are ended by them; this one fills the table to the cap.
        sids = []
        try:
            while True:
                st, r, body = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                         "params": {"protocolVersion": LEGACY, "capabilities": {},
                                                    "clientInfo": {"name": "f", "version": "1"}}},
                                        headers(version=None))
                if st != 200:
                    break
                sids.append(r.getheader("Mcp-Session-Id"))
                self.assertLessEqual(len(sids), MAX_SESSIONS, "the session cap was not enforced")
            self.assertEqual(st, 503, body)
            self.assertIsInstance(body, dict)
            self.assertIn("error", body)
            self.assertRegex(body["error"]["message"], "(?i)session")
            # Modern (stateless) requests are still served with the table full.
            st, _, body = self.modern({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
                                       "params": {"_meta": META}}, {"Mcp-Method": "tools/list"})
            self.assertEqual(st, 200, body)
            # Ending one session makes room for one more.
            self.assertIn(self.delete(sids.pop()), (200, 204))
            sids.append(self.initialize())
        finally:
            for sid in sids:
                self.delete(sid)
        self.assert_serves()


if __name__ == "__main__":
    unittest.main(verbosity=2)
