"""`fasterapi run APP.py --http` serving the OpenAPI document, the /docs page and FastAPI's
404/405 JSON errors over real sockets (http.client), with an MCP endpoint on the same port keeping
its JSON-RPC error bodies. Standard library only; FASTERAPI names the built CLI (set by ctest).
The page in a real browser: test_web_docs_chromium.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, ROOT)

from test_web_app import APPS, WebServer  # noqa: E402

from tests.python.test_web_openapi import check_openapi  # noqa: E402


def local_document() -> dict:
    """The app's document built in this process (the workers must serve the same)."""
    sys.path.insert(0, APPS)
    try:
        import web_docs  # type: ignore[import-not-found]
    finally:
        sys.path.remove(APPS)
    return web_docs.app.openapi()


class WebDocsTest(unittest.TestCase):
    srv: WebServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = WebServer("web_docs", "--workers", "2", "--max-body", "4096")

    @classmethod
    def tearDownClass(cls) -> None:
        rc = cls.srv.stop()
        assert rc == 0, f"exit status {rc}:\n{cls.srv.stderr()}"

    def test_openapi_document(self) -> None:
        bodies = set()
        for _ in range(6):  # several connections: both workers answer, with the same bytes
            status, h, body = self.srv.request("GET", "/openapi.json")
            self.assertEqual((status, h["content-type"]), (200, "application/json"))
            bodies.add(body)
        self.assertEqual(len(bodies), 1)
        doc = json.loads(bodies.pop())
        check_openapi(doc)
        self.assertEqual(doc, json.loads(json.dumps(local_document())))
        self.assertEqual(doc["info"], {"title": "Shop", "description": "Items and users, for the docs tests.", "version": "2.0.1"})
        ops = sorted((m.upper(), p) for p, item in doc["paths"].items() for m in item)
        self.assertEqual(ops, [("DELETE", "/items/{item_id}"), ("GET", "/items/"), ("GET", "/items/{item_id}"), ("GET", "/users/me"),
                               ("GET", "/users/{user_id}"), ("POST", "/items/{item_id}")])
        read = doc["paths"]["/items/{item_id}"]["get"]
        self.assertEqual(read["parameters"][0]["schema"], {"type": "integer", "description": "The item's id", "minimum": 1, "title": "Item Id"})
        self.assertEqual(read["responses"]["200"]["content"]["application/json"]["schema"], {"$ref": "#/components/schemas/ItemOut"})
        me = doc["paths"]["/users/me"]["get"]
        self.assertEqual((me["tags"], me["parameters"][0]["name"], me["parameters"][0]["in"]), (["users"], "x-token", "header"))
        self.assertIs(doc["paths"]["/users/{user_id}"]["get"]["deprecated"], True)
        # HEAD: the same head, no body.
        status, h, body = self.srv.request("HEAD", "/openapi.json")
        self.assertEqual((status, body), (200, b""))

    def test_docs_page(self) -> None:
        status, h, body = self.srv.request("GET", "/docs")
        self.assertEqual((status, h["content-type"]), (200, "text/html; charset=utf-8"))
        page = body.decode()
        self.assertIn("<title>Shop - API docs</title>", page)
        self.assertIn('data-openapi-url="/openapi.json"', page)
        self.assertIsNone(re.search(r"https?://|<script[^>]+src=|<link[^>]+href=", page))

    def test_404_405_are_fastapi_json(self) -> None:
        status, h, body = self.srv.request("GET", "/nope?x=1")
        self.assertEqual((status, h["content-type"], json.loads(body)), (404, "application/json", {"detail": "Not Found"}))
        status, h, body = self.srv.request("PUT", "/users/me")
        self.assertEqual((status, h["content-type"], json.loads(body)), (405, "application/json", {"detail": "Method Not Allowed"}))
        self.assertEqual(h["allow"], "GET, HEAD")
        status, h, body = self.srv.request("HEAD", "/nope")
        self.assertEqual((status, h["content-length"], body), (404, "22", b""))
        # A handler's own 404 is the handler's detail.
        self.assertEqual(self.srv.json("GET", "/items/99"), (404, {"detail": "Item not found"}))
        self.assertEqual(self.srv.json("GET", "/items/1"), (200, {"name": "Hammer", "price": 9.5}))
        # The connection stays usable after a 404/405 (keep-alive).
        c = self.srv.conn()
        try:
            for path, want in (("/nope", 404), ("/items/1", 200), ("/nope2", 404)):
                c.request("GET", path)
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, want)
        finally:
            c.close()

    def raw(self, request: bytes) -> bytes:
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        try:
            s.sendall(request)
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                out += chunk
        finally:
            s.close()

    def test_mcp_errors_stay_json_rpc(self) -> None:
        # The HTTP server's own 413 (a body over --max-body): JSON-RPC on the MCP path, the
        # default text elsewhere (FastAPI shapes only 404/405, as Starlette does).
        big = b"x" * 5000
        head = b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
        answer = self.raw(head % b"/mcp" + big)
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer[:80])
        body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        self.assertEqual((body["jsonrpc"], body["error"]["code"]), ("2.0", -32600))
        answer = self.raw(head % b"/items/5" + big)
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer[:80])
        self.assertIn(b"Content-Type: text/plain", answer)
        # The MCP endpoint still works beside the app.
        hdrs = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        status, h, body = self.srv.request("POST", "/mcp", json.dumps(init), hdrs)
        self.assertEqual(status, 200, body)


def skeleton(doc: dict) -> dict:
    """What FastAPI and we must agree on, whatever the OpenAPI version (3.0 under Debian's
    FastAPI 0.92 + pydantic 1, 3.1 here): operations, their ids and summaries, parameters (name,
    place, required), request bodies (media types, the named schema), response codes, and the
    named schemas."""
    ops = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody")
            ops[f"{method.upper()} {path}"] = {
                "operationId": op.get("operationId"),
                "summary": op.get("summary"),
                "parameters": sorted((p["name"], p["in"], p.get("required", False)) for p in op.get("parameters", [])),
                "body": None if body is None else (body.get("required", False), {mt: m.get("schema", {}).get("$ref") for mt, m in body["content"].items()}),
                "responses": sorted(op["responses"]),
            }
    return {"ops": ops, "schemas": sorted(doc.get("components", {}).get("schemas", {}))}


class FastAPIReferenceTest(unittest.TestCase):
    """The FastAPI tutorial app (apps/web_tutorial.py): our document against FastAPI's own for
    the same file, when Debian's python3-fastapi is installed (as TutorialTest's reference run)."""

    def test_same_skeleton_as_fastapi(self) -> None:
        py = shutil.which("python3", path="/usr/bin")
        code = "import json, web_tutorial; print(json.dumps(web_tutorial.app.openapi()))"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        ref = subprocess.run([py, "-c", code], cwd=APPS, env=env, capture_output=True, timeout=60) if py else None
        if ref is None or ref.returncode != 0:
            self.skipTest("Debian's python3-fastapi is not installed: no reference document")
        theirs = json.loads(ref.stdout)
        srv = WebServer("web_tutorial", "--workers", "1")
        try:
            status, _, body = srv.request("GET", "/openapi.json")
        finally:
            self.assertEqual(srv.stop(), 0)
        self.assertEqual(status, 200)
        ours = json.loads(body)
        check_openapi(ours)
        self.assertEqual(skeleton(ours), skeleton(theirs))
        self.assertEqual(ours["info"]["version"], theirs["info"]["version"])  # titles: App's default is "FasterAPI"
        mine, ref_item = ours["components"]["schemas"]["Item"], theirs["components"]["schemas"]["Item"]
        self.assertEqual((mine["required"], sorted(mine["properties"])), (ref_item["required"], sorted(ref_item["properties"])))


if __name__ == "__main__":
    unittest.main()
