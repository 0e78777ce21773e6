"""Middleware over real sockets: apps/web_middleware.py is written as FastAPI's docs write the
process-time header middleware and the CORS setup, and runs unchanged under `fasterapi run`.
Preflights (on paths without an OPTIONS route: the C core routes OPTIONS to Python when the app
has middleware), simple CORS answers, a disallowed origin, a short-circuit, the nesting order,
errors of the route through call_next, a streamed answer through middleware, and what stays
outside middleware (the C core's 404). FASTERAPI names the built CLI (set by ctest)."""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_web_app import WebServer  # noqa: E402

ORIGIN = "http://localhost:8080"


class MiddlewareTest(unittest.TestCase):
    srv: WebServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.srv = WebServer("web_middleware", "--workers", "2", "--handler-timeout", "5")

    @classmethod
    def tearDownClass(cls) -> None:
        rc = cls.srv.stop()
        assert rc == 0, f"exit status {rc}:\n{cls.srv.stderr()}"

    def test_process_time_and_state(self) -> None:
        status, h, body = self.srv.request("GET", "/items/7")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"item_id": 7, "user": "alice"})
        self.assertGreater(float(h["x-process-time"]), 0.0)
        self.assertEqual(h["x-order"], "auth>none")
        self.assertNotIn("access-control-allow-origin", h)  # no Origin: not a CORS request
        status, h, body = self.srv.request("POST", "/items/", json.dumps({"name": "x"}), {"Content-Type": "application/json"})
        self.assertEqual((status, json.loads(body)), (200, {"created": {"name": "x"}}))
        self.assertIn("x-process-time", h)

    def test_preflight(self) -> None:
        status, h, body = self.srv.request("OPTIONS", "/items/7", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "X-Custom"})
        self.assertEqual((status, body), (200, b"OK"))
        self.assertEqual(h["access-control-allow-origin"], ORIGIN)
        self.assertEqual(h["access-control-allow-credentials"], "true")
        self.assertEqual(h["access-control-allow-methods"], "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT")
        self.assertEqual(h["access-control-allow-headers"], "X-Custom")
        self.assertEqual(h["access-control-max-age"], "600")
        self.assertEqual(h["vary"], "Origin")
        self.assertIn("x-process-time", h)  # CORS was added first: inside the other two

    def test_preflight_disallowed_origin(self) -> None:
        status, h, body = self.srv.request("OPTIONS", "/", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        self.assertEqual((status, body), (400, b"Disallowed CORS origin"))
        self.assertNotIn("access-control-allow-origin", h)

    def test_options_without_preflight_is_405(self) -> None:
        status, h, body = self.srv.request("OPTIONS", "/items/7")
        self.assertEqual((status, json.loads(body)), (405, {"detail": "Method Not Allowed"}))
        self.assertEqual(h["allow"], "GET, HEAD")
        self.assertIn("x-process-time", h)

    def test_simple_cors(self) -> None:
        status, h, body = self.srv.request("GET", "/", headers={"Origin": ORIGIN})
        self.assertEqual((status, json.loads(body)), (200, {"message": "Hello World"}))
        self.assertEqual(h["access-control-allow-origin"], ORIGIN)
        self.assertEqual(h["access-control-allow-credentials"], "true")
        self.assertEqual(h["vary"], "Origin")
        status, h, body = self.srv.request("GET", "/", headers={"Origin": "https://evil.example"})
        self.assertEqual(status, 200)
        self.assertNotIn("access-control-allow-origin", h)

    def test_short_circuit(self) -> None:
        status, h, body = self.srv.request("GET", "/private/data", headers={"Origin": ORIGIN})
        self.assertEqual((status, json.loads(body)), (401, {"detail": "Not authenticated"}))
        # auth is the outermost: the inner middleware (process time, CORS) never ran
        self.assertNotIn("x-process-time", h)
        self.assertNotIn("access-control-allow-origin", h)
        status, h, body = self.srv.request("GET", "/private/data", headers={"Authorization": "Bearer secret"})
        self.assertEqual((status, json.loads(body)), (200, {"secret": 42}))

    def test_nesting_order(self) -> None:
        status, h, body = self.srv.request("GET", "/inner")
        self.assertEqual(status, 200)
        self.assertEqual(h["x-inner"], "route")
        self.assertEqual(h["x-order"], "auth>route")  # the outer saw the inner answer's header

    def test_route_errors_reach_the_middleware(self) -> None:
        status, h, body = self.srv.request("GET", "/boom", headers={"Origin": ORIGIN})
        self.assertEqual((status, body), (500, b"Internal Server Error"))
        self.assertIn("x-process-time", h)
        self.assertEqual(h["access-control-allow-origin"], ORIGIN)
        status, h, body = self.srv.request("GET", "/missing")
        self.assertEqual((status, json.loads(body)), (404, {"detail": "Item not found"}))
        self.assertEqual(h["x-order"], "auth>none")
        status, h, body = self.srv.request("GET", "/items/abc")
        self.assertEqual(status, 422)
        self.assertEqual(json.loads(body)["detail"][0]["type"], "int_parsing")
        self.assertIn("x-process-time", h)
        self.assertIn("the route failed", self.srv.stderr())

    def test_streaming_through_middleware(self) -> None:
        c = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=10)
        try:
            c.request("GET", "/stream", headers={"Origin": ORIGIN})
            t0 = time.monotonic()
            r = c.getresponse()
            head_at = time.monotonic() - t0
            h = {k.lower(): v for k, v in r.getheaders()}
            self.assertEqual(r.status, 200)
            self.assertEqual(h.get("transfer-encoding"), "chunked")  # not buffered into one body
            self.assertIn("x-process-time", h)
            self.assertEqual(h["access-control-allow-origin"], ORIGIN)
            self.assertLess(head_at, 0.1)  # the head comes before the generator's 3 x 50 ms
            self.assertEqual(r.read(), b"chunk0\nchunk1\nchunk2\n")
        finally:
            c.close()

    def test_unmatched_paths_bypass_middleware(self) -> None:
        # The C core answers 404 for paths no route has, before any Python runs (documented).
        status, h, body = self.srv.request("GET", "/nope", headers={"Origin": ORIGIN})
        self.assertEqual((status, json.loads(body)), (404, {"detail": "Not Found"}))
        self.assertNotIn("x-process-time", h)

    def test_concurrent(self) -> None:
        import threading

        errors: list[str] = []

        def hit(i: int) -> None:
            try:
                for j in range(20):
                    status, h, body = self.srv.request("GET", f"/items/{i * 100 + j}", headers={"Origin": ORIGIN})
                    if status != 200 or json.loads(body)["item_id"] != i * 100 + j or "x-process-time" not in h:
                        errors.append(f"{status} {body!r}")
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

        threads = [threading.Thread(target=hit, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


if __name__ == "__main__":
    unittest.main()
