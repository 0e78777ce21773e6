"""examples/web/app.py over real sockets with --workers 2: the JSON CRUD API (and its bad input),
the SSE clock and item feed, the WebSocket chat broadcast across workers, and the MCP tools on
the same port acting on the same items and rooms. Standard library only (http.client and the
raw-socket client wsclient.py). FASTERAPI names the built CLI (set by ctest)."""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_web_app import FASTERAPI, WebServer  # noqa: E402
from test_web_stream import read_sse  # noqa: E402
from wsclient import WSClient  # noqa: E402

EXAMPLE = os.path.join(HERE, "..", "..", "..", "examples", "web", "app.py")
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2025-06-18"}


def mcp_result(data: bytes) -> dict:
    """The JSON-RPC message of a POST /mcp answer (plain JSON or one SSE data line)."""
    text = data.decode()
    if not text.lstrip().startswith("{"):
        text = next(line[5:].strip() for line in text.splitlines() if line.startswith("data:"))
    return json.loads(text)


class WebExample(unittest.TestCase):
    srv: WebServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = WebServer("", cmd=[FASTERAPI, "run", EXAMPLE, "--http", "127.0.0.1:0", "--workers", "2"])

    @classmethod
    def tearDownClass(cls) -> None:
        rc = cls.srv.stop()
        assert rc == 0, f"exit status {rc}:\n{cls.srv.stderr()}"

    # MCP --------------------------------------------------------------------------------------

    def mcp(self, method: str, params: dict, rid: int = 2) -> dict:
        hdrs = dict(MCP_HEADERS)
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        status, h, data = self.srv.request("POST", "/mcp", json.dumps(init), hdrs)
        self.assertEqual(status, 200, data)
        if h.get("mcp-session-id"):
            hdrs["Mcp-Session-Id"] = h["mcp-session-id"]
        self.srv.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}), hdrs)
        status, _, data = self.srv.request("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}), hdrs)
        self.assertEqual(status, 200, data)
        return mcp_result(data)

    # CRUD -------------------------------------------------------------------------------------

    def test_crud(self) -> None:
        status, item = self.srv.json("POST", "/items", {"name": "pen", "price": 1.5, "tags": ["office"]})
        self.assertEqual(status, 201, item)
        assert isinstance(item, dict)
        iid = item["id"]
        self.assertEqual(item, {"name": "pen", "price": 1.5, "tags": ["office"], "id": iid})
        self.assertEqual(self.srv.json("GET", f"/items/{iid}"), (200, item))
        status, listed = self.srv.json("GET", "/items")
        self.assertEqual(status, 200)
        self.assertIn(item, listed)  # type: ignore[operator]
        status, new = self.srv.json("PUT", f"/items/{iid}", {"name": "pencil", "price": 0.5})
        self.assertEqual((status, new), (200, {"name": "pencil", "price": 0.5, "tags": [], "id": iid}))
        self.assertEqual(self.srv.json("GET", f"/items/{iid}"), (200, new))
        status, _, body = self.srv.request("DELETE", f"/items/{iid}")
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(self.srv.json("GET", f"/items/{iid}"), (404, {"detail": f"no item {iid}"}))
        self.assertEqual(self.srv.request("DELETE", f"/items/{iid}")[0], 404)
        self.assertEqual(self.srv.json("PUT", f"/items/{iid}", {"name": "x", "price": 1})[0], 404)

    def test_items_are_shared_by_the_workers(self) -> None:
        # One connection per request: the two workers both take some, and every item is seen.
        ids = []
        for i in range(16):
            status, item = self.srv.json("POST", "/items", {"name": f"w{i}", "price": i})
            self.assertEqual(status, 201, item)
            ids.append(item["id"])  # type: ignore[index]
        self.assertEqual(len(set(ids)), 16)
        for iid in ids:
            status, got = self.srv.json("GET", f"/items/{iid}")
            self.assertEqual(status, 200, got)
        status, listed = self.srv.json("GET", "/items?limit=1000")
        self.assertTrue(set(ids) <= {it["id"] for it in listed})  # type: ignore[union-attr]

    def test_bad_input(self) -> None:
        status, body = self.srv.json("POST", "/items", {"name": "x", "price": "cheap"})
        self.assertEqual(status, 422)
        self.assertEqual(body["detail"][0]["loc"][-1], "price")  # type: ignore[index]
        status, body = self.srv.json("POST", "/items", {"price": 1})
        self.assertEqual(status, 422)
        self.assertEqual(body["detail"][0]["type"], "missing")  # type: ignore[index]
        self.assertEqual(self.srv.json("POST", "/items", {"name": "", "price": 1})[0], 422)
        self.assertEqual(self.srv.json("POST", "/items", {"name": "x", "price": -1})[0], 422)
        status, _, _ = self.srv.request("POST", "/items", "{not json", {"Content-Type": "application/json"})
        self.assertEqual(status, 422)
        self.assertEqual(self.srv.request("POST", "/items")[0], 422)  # no body
        self.assertEqual(self.srv.json("GET", "/items/abc")[0], 422)
        self.assertEqual(self.srv.json("GET", "/items/0")[0], 422)  # Path(ge=1)
        self.assertEqual(self.srv.json("GET", "/items?limit=0")[0], 422)
        self.assertEqual(self.srv.request("PATCH", "/items/1")[0], 405)

    # SSE --------------------------------------------------------------------------------------

    def test_sse_clock(self) -> None:
        c = self.srv.conn()
        c.request("GET", "/clock?interval=0.05&count=3")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "text/event-stream")
        events = [e for e in read_sse(r, time.monotonic() + 10) if "data" in e]
        c.close()
        self.assertEqual([e["id"] for e in events], ["1", "2", "3"])
        self.assertEqual({e["event"] for e in events}, {"tick"})
        self.assertEqual([json.loads(e["data"])["n"] for e in events], [1, 2, 3])
        self.assertEqual(self.srv.request("GET", "/clock?interval=0")[0], 422)

    def test_sse_item_feed(self) -> None:
        c = self.srv.conn()
        c.request("GET", "/items/events")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        # Created on other connections (either worker): the subscriber sees both events in order.
        _, a = self.srv.json("POST", "/items", {"name": "feed-a", "price": 1})
        _, b = self.srv.json("POST", "/items", {"name": "feed-b", "price": 2})
        self.srv.request("DELETE", f"/items/{a['id']}")  # type: ignore[index]
        events = [e for e in read_sse(r, time.monotonic() + 10, want=3) if "data" in e]
        c.close()
        self.assertEqual([(e["event"], json.loads(e["data"])["id"]) for e in events],
                         [("created", a["id"]), ("created", b["id"]), ("deleted", a["id"])])  # type: ignore[index]

    # WebSocket chat and MCP -------------------------------------------------------------------

    def test_chat_across_workers_and_mcp(self) -> None:
        clients = []
        for i in range(4):  # four connections: both workers serve some of them
            c = WSClient(self.srv.port, f"/ws/room1?nick=u{i}")
            self.addCleanup(c.shutdown)
            self.assertEqual(c.status, 101)
            clients.append(c)
            # Every member already in the room sees the join (u0 sees u0..u3 joining).
            for other in clients:
                self.assertEqual(json.loads(other.recv()), {"text": f"u{i} joined room1"})
        clients[2].send_text(json.dumps({"text": "hello all"}))
        for c in clients:
            self.assertEqual(json.loads(c.recv()), {"from": "u2", "text": "hello all"})
        # Another room hears nothing of room1.
        lone = WSClient(self.srv.port, "/ws/room2?nick=z")
        self.addCleanup(lone.shutdown)
        self.assertEqual(json.loads(lone.recv()), {"text": "z joined room2"})
        # The MCP tool speaks in the same room, from whichever worker runs it.
        res = self.mcp("tools/call", {"name": "announce", "arguments": {"room": "room1", "text": "from mcp"}})
        self.assertEqual(res["result"].get("structuredContent"), {"result": 4}, res)
        for c in clients:
            self.assertEqual(json.loads(c.recv()), {"from": "mcp", "text": "from mcp"})
        # A member that leaves is announced to the others.
        clients[0].close(1000)
        for c in clients[1:]:
            self.assertEqual(json.loads(c.recv()), {"text": "u0 left"})
        lone.send_text(json.dumps({"text": "still here"}))
        self.assertEqual(json.loads(lone.recv()), {"from": "z", "text": "still here"})
        bad = WSClient(self.srv.port, "/ws/room1?nick=")  # min_length=1
        self.addCleanup(bad.shutdown)
        self.assertEqual(bad.recv_close().code, 1008)

    def test_mcp_tools_share_the_items(self) -> None:
        listed = self.mcp("tools/list", {})
        self.assertEqual({t["name"] for t in listed["result"]["tools"]}, {"list_items", "add_item", "announce"})
        res = self.mcp("tools/call", {"name": "add_item", "arguments": {"name": "via-mcp", "price": 3, "tags": ["m"]}})
        item = json.loads(res["result"]["content"][0]["text"])  # `-> dict`: JSON text, no schema
        self.assertEqual(self.srv.json("GET", f"/items/{item['id']}"), (200, item))
        res = self.mcp("tools/call", {"name": "list_items", "arguments": {}})
        # `-> list` without an item schema: one text content block per item (FastMCP's rule).
        self.assertIn(item, [json.loads(c["text"]) for c in res["result"]["content"]], res)
        res = self.mcp("tools/call", {"name": "add_item", "arguments": {"name": "", "price": 1}})
        self.assertTrue(res["result"]["isError"], res)

    def test_page_and_docs(self) -> None:
        status, h, body = self.srv.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn(b"new WebSocket", body)
        status, doc = self.srv.json("GET", "/openapi.json")
        self.assertEqual(status, 200)
        self.assertIn("/items/{item_id}", doc["paths"])  # type: ignore[index]
        self.assertNotIn("/", doc["paths"])  # type: ignore[operator]


if __name__ == "__main__":
    unittest.main(verbosity=2)
