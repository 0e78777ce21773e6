"""fasterapi.web middleware in-process (TestClient runs WebHost.handle as the host does):
@app.middleware("http"), their order, short-circuits, errors through call_next, streaming
answers, CORSMiddleware and TrustedHostMiddleware with Starlette's answers. Over sockets:
tests/integration/python/test_web_app.py (apps/web_middleware.py)."""

from __future__ import annotations

import asyncio
import time
import unittest

from fasterapi import App, HTTPException, Request
from fasterapi.middleware import Middleware
from fasterapi.middleware.base import BaseHTTPMiddleware
from fasterapi.middleware.cors import CORSMiddleware
from fasterapi.middleware.trustedhost import TrustedHostMiddleware
from fasterapi.web import JSONResponse, PlainTextResponse, StreamingResponse, WebAppError
from fasterapi.web.app import WebHost
from fasterapi.web.testing import TestClient


def _app() -> App:
    app = App()

    @app.get("/items/{item_id}")
    def read_item(item_id: int, request: Request):
        return {"item_id": item_id, "user": getattr(request.state, "user", None)}

    @app.post("/items")
    async def create(request: Request):
        return {"got": (await request.json())}

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    @app.get("/teapot")
    async def teapot():
        raise HTTPException(418, "short and stout")

    @app.get("/stream")
    def stream():
        return StreamingResponse((f"{i}," for i in range(3)), media_type="text/csv")

    return app


class HttpMiddleware(unittest.TestCase):
    def test_process_time_header(self) -> None:
        app = _app()

        @app.middleware("http")
        async def add_process_time_header(request: Request, call_next):
            start_time = time.perf_counter()
            response = await call_next(request)
            process_time = time.perf_counter() - start_time
            response.headers["X-Process-Time"] = str(process_time)
            return response

        with TestClient(app) as c:
            r = c.get("/items/5")
            self.assertEqual(r.status_code, 200)
            self.assertEqual(r.json(), {"item_id": 5, "user": None})
            self.assertGreater(float(r.headers["x-process-time"]), 0.0)
            self.assertEqual(r.headers["content-type"], "application/json")
            r = c.post("/items", json={"a": 1})
            self.assertEqual(r.json(), {"got": {"a": 1}})
            self.assertIn("x-process-time", r.headers)

    def test_order_state_and_status(self) -> None:
        app = _app()
        seen: list[str] = []

        @app.middleware("http")
        async def inner(request: Request, call_next):
            seen.append("inner-in")
            request.state.user = "ann"
            response = await call_next(request)
            seen.append("inner-out")
            response.headers["X-Order"] = response.headers.get("X-Order", "") + "inner"
            return response

        @app.middleware("http")
        async def outer(request: Request, call_next):
            seen.append("outer-in")
            response = await call_next(request)
            seen.append("outer-out")
            response.headers["X-Order"] = response.headers.get("X-Order", "") + ",outer"
            response.status_code = 203
            return response

        with TestClient(app) as c:
            r = c.get("/items/1")
        self.assertEqual(seen, ["outer-in", "inner-in", "inner-out", "outer-out"])
        self.assertEqual(r.headers["x-order"], "inner,outer")
        self.assertEqual(r.status_code, 203)
        self.assertEqual(r.json()["user"], "ann")  # request.state shared with the route

    def test_short_circuit(self) -> None:
        app = _app()
        calls: list[int] = []

        @app.get("/count")
        def count():
            calls.append(1)
            return {"n": len(calls)}

        @app.middleware("http")
        async def auth(request: Request, call_next):
            if request.headers.get("authorization") != "Bearer ok":
                return JSONResponse({"detail": "Not authenticated"}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
            return await call_next(request)

        with TestClient(app) as c:
            r = c.get("/count")
            self.assertEqual((r.status_code, r.json(), r.headers["www-authenticate"]), (401, {"detail": "Not authenticated"}, "Bearer"))
            self.assertEqual(calls, [])
            r = c.get("/count", headers={"Authorization": "Bearer ok"})
            self.assertEqual((r.status_code, r.json()), (200, {"n": 1}))

    def test_errors_come_back_through_call_next(self) -> None:
        app = _app()
        got: list[int] = []

        @app.exception_handler(ValueError)
        def on_value(request: Request, exc: ValueError):
            return JSONResponse({"bad": str(exc)}, status_code=409)

        @app.get("/value")
        def value():
            raise ValueError("nope")

        @app.middleware("http")
        async def mw(request: Request, call_next):
            response = await call_next(request)
            got.append(response.status_code)
            response.headers["X-Seen"] = "1"
            return response

        with TestClient(app) as c:
            r = c.get("/boom")
            self.assertEqual((r.status_code, r.text, r.headers["x-seen"]), (500, "Internal Server Error", "1"))
            r = c.get("/teapot")
            self.assertEqual((r.status_code, r.json(), r.headers["x-seen"]), (418, {"detail": "short and stout"}, "1"))
            r = c.get("/items/x")
            self.assertEqual((r.status_code, r.json()["detail"][0]["type"]), (422, "int_parsing"))
            r = c.get("/value")
            self.assertEqual((r.status_code, r.json()), (409, {"bad": "nope"}))
        self.assertEqual(got, [500, 418, 422, 409])

    def test_error_in_middleware(self) -> None:
        app = _app()

        @app.middleware("http")
        async def broken(request: Request, call_next):
            raise RuntimeError("in the middleware")

        with TestClient(app) as c:
            self.assertEqual(c.get("/items/1").status_code, 500)

        app2 = _app()

        @app2.middleware("http")
        async def wrong(request: Request, call_next):
            return {"not": "a response"}

        with TestClient(app2) as c:
            self.assertEqual(c.get("/items/1").status_code, 500)

    def test_streaming_passes_through(self) -> None:
        app = _app()
        bodies: list[bool] = []

        @app.middleware("http")
        async def mw(request: Request, call_next):
            response = await call_next(request)
            bodies.append(hasattr(response, "body_iterator"))
            response.headers["X-Streamed"] = "yes"
            return response

        with TestClient(app) as c:
            r = c.get("/stream")
        self.assertEqual((r.status_code, r.content, r.headers["x-streamed"]), (200, b"0,1,2,", "yes"))
        self.assertEqual(r.headers["content-type"], "text/csv; charset=utf-8")
        self.assertEqual(bodies, [True])

    def test_body_iterator_and_new_response(self) -> None:
        app = _app()

        @app.middleware("http")
        async def upper(request: Request, call_next):
            response = await call_next(request)
            body = b""
            async for chunk in response.body_iterator:
                body += chunk
            return PlainTextResponse(body.decode().upper(), status_code=response.status_code)

        with TestClient(app) as c:
            r = c.get("/items/2")
        self.assertEqual((r.status_code, r.text), (200, '{"ITEM_ID":2,"USER":NULL}'))

    def test_base_http_middleware_subclass_and_app_argument(self) -> None:
        class Tag(BaseHTTPMiddleware):
            def __init__(self, app, name: str) -> None:
                super().__init__(app)
                self.name = name

            async def dispatch(self, request, call_next):
                response = await call_next(request)
                response.headers.append("X-Tag", self.name)
                return response

        app = App(middleware=[Middleware(Tag, name="first"), Middleware(Tag, name="second")])

        @app.get("/")
        def root():
            return "ok"

        with TestClient(app) as c:
            r = c.get("/")
        # The first listed is the outermost: it adds its header last.
        self.assertEqual([v for k, v in r.headers.raw() if k.lower() == "x-tag"], ["second", "first"])

    def test_refused(self) -> None:
        app = App()

        class Asgi:
            def __init__(self, app) -> None:
                self.app = app

        with self.assertRaises(WebAppError):
            app.add_middleware(Asgi)
        with self.assertRaises(WebAppError):
            app.middleware("websocket")
        with self.assertRaises(WebAppError):
            TrustedHostMiddleware(None, allowed_hosts=["a.*.com"])

    def test_no_middleware_takes_the_plain_path(self) -> None:
        app = _app()
        host = WebHost(app)
        self.assertEqual(host.handle.__func__, WebHost.handle)  # type: ignore[attr-defined]
        self.assertNotIn("OPTIONS", [m for _, m in app.route_rows()])
        self.assertEqual(app.user_middleware, [])

    def test_options_rows_with_middleware(self) -> None:
        app = _app()

        @app.options("/own")
        def own():
            return "mine"

        @app.middleware("http")
        async def mw(request, call_next):
            return await call_next(request)

        rows = app.route_rows()
        opts = [r.path for r, m in rows if m == "OPTIONS"]
        self.assertEqual(opts.count("/own"), 1)  # the app's own OPTIONS route is kept
        self.assertIn("/items/{item_id}", opts)
        self.assertEqual(rows, app.route_rows())  # the same rows (objects) every time
        with TestClient(app) as c:
            r = c.options("/items/3")
            self.assertEqual((r.status_code, r.json(), r.headers["allow"]), (405, {"detail": "Method Not Allowed"}, "GET, HEAD"))
            self.assertEqual(c.options("/own").text, "mine")
        self.assertNotIn("options_not_allowed", str(app.openapi()))

    def test_timeout_in_middleware(self) -> None:
        app = _app()

        @app.middleware("http")
        async def slow(request, call_next):
            await asyncio.sleep(5)
            return await call_next(request)

        with TestClient(app, timeout=0.05) as c:
            self.assertEqual(c.get("/items/1").status_code, 504)


class Cors(unittest.TestCase):
    def client(self, **kw) -> TestClient:
        app = _app()
        app.add_middleware(CORSMiddleware, **kw)
        return TestClient(app)

    def test_simple_request(self) -> None:
        with self.client(allow_origins=["https://a.example"], expose_headers=["X-Total"]) as c:
            r = c.get("/items/1", headers={"Origin": "https://a.example"})
            self.assertEqual(r.status_code, 200)
            self.assertEqual(r.headers["access-control-allow-origin"], "https://a.example")
            self.assertEqual(r.headers["vary"], "Origin")
            self.assertEqual(r.headers["access-control-expose-headers"], "X-Total")
            r = c.get("/items/1", headers={"Origin": "https://evil.example"})
            self.assertEqual(r.status_code, 200)  # answered; the browser withholds it
            self.assertNotIn("access-control-allow-origin", r.headers)
            r = c.get("/items/1")
            self.assertNotIn("access-control-allow-origin", r.headers)
            self.assertNotIn("access-control-expose-headers", r.headers)

    def test_wildcard(self) -> None:
        with self.client(allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]) as c:
            r = c.get("/items/1", headers={"Origin": "https://any.example"})
            self.assertEqual(r.headers["access-control-allow-origin"], "*")
            self.assertNotIn("vary", r.headers)
            r = c.get("/items/1", headers={"Origin": "https://any.example"}, cookies={"s": "1"})
            self.assertEqual(r.headers["access-control-allow-origin"], "https://any.example")
            r = c.options("/items/1", headers={"Origin": "https://any.example", "Access-Control-Request-Method": "DELETE",
                                               "Access-Control-Request-Headers": "X-Custom, Content-Type"})
            self.assertEqual((r.status_code, r.text), (200, "OK"))
            self.assertEqual(r.headers["access-control-allow-origin"], "*")
            self.assertEqual(r.headers["access-control-allow-methods"], "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT")
            self.assertEqual(r.headers["access-control-allow-headers"], "X-Custom, Content-Type")
            self.assertEqual(r.headers["access-control-max-age"], "600")

    def test_preflight_on_a_path_without_options(self) -> None:
        with self.client(allow_origins=["https://a.example"], allow_methods=["GET", "POST"], allow_headers=["X-Token"],
                         allow_credentials=True, max_age=60) as c:
            ok = {"Origin": "https://a.example", "Access-Control-Request-Method": "POST"}
            r = c.options("/items", headers=ok)
            self.assertEqual((r.status_code, r.text), (200, "OK"))
            self.assertEqual(r.headers["access-control-allow-origin"], "https://a.example")
            self.assertEqual(r.headers["access-control-allow-credentials"], "true")
            self.assertEqual(r.headers["access-control-allow-methods"], "GET, POST")
            self.assertEqual(r.headers["access-control-allow-headers"], "accept, accept-language, content-language, content-type, x-token")
            self.assertEqual(r.headers["access-control-max-age"], "60")
            self.assertEqual(r.headers["vary"], "Origin")
            r = c.options("/items", headers={**ok, "Origin": "https://b.example"})
            self.assertEqual((r.status_code, r.text), (400, "Disallowed CORS origin"))
            self.assertNotIn("access-control-allow-origin", r.headers)
            r = c.options("/items", headers={**ok, "Access-Control-Request-Method": "DELETE"})
            self.assertEqual((r.status_code, r.text), (400, "Disallowed CORS method"))
            r = c.options("/items", headers={**ok, "Access-Control-Request-Headers": "x-token, x-other"})
            self.assertEqual((r.status_code, r.text), (400, "Disallowed CORS headers"))
            r = c.options("/items", headers={**ok, "Origin": "https://b.example", "Access-Control-Request-Method": "PUT"})
            self.assertEqual(r.text, "Disallowed CORS origin, method")
            # OPTIONS without the preflight header is the app's: 405 as without middleware
            self.assertEqual(c.options("/items", headers={"Origin": "https://a.example"}).status_code, 405)

    def test_origin_regex(self) -> None:
        with self.client(allow_origin_regex=r"https://.*\.example\.org") as c:
            r = c.get("/items/1", headers={"Origin": "https://x.example.org"})
            self.assertEqual(r.headers["access-control-allow-origin"], "https://x.example.org")
            r = c.get("/items/1", headers={"Origin": "https://x.example.org.evil"})
            self.assertNotIn("access-control-allow-origin", r.headers)

    def test_vary_appended(self) -> None:
        app = _app()

        @app.get("/v")
        def v():
            return PlainTextResponse("v", headers={"Vary": "Accept-Encoding"})

        app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"])
        with TestClient(app) as c:
            r = c.get("/v", headers={"Origin": "https://a.example"})
        self.assertEqual(r.headers["vary"], "Accept-Encoding, Origin")


class TrustedHost(unittest.TestCase):
    def test_hosts(self) -> None:
        app = _app()
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["example.com", "*.example.org", "www.example.net"])
        with TestClient(app) as c:
            self.assertEqual(c.get("/items/1", headers={"Host": "example.com:8000"}).status_code, 200)
            self.assertEqual(c.get("/items/1", headers={"Host": "a.example.org"}).status_code, 200)
            r = c.get("/items/1", headers={"Host": "evil.com"})
            self.assertEqual((r.status_code, r.text), (400, "Invalid host header"))
            r = c.get("/items/1?q=1", headers={"Host": "example.net"})
            self.assertEqual((r.status_code, r.headers["location"]), (307, "http://www.example.net/items/1?q=1"))

    def test_any(self) -> None:
        app = _app()
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["*"])
        with TestClient(app) as c:
            self.assertEqual(c.get("/items/1", headers={"Host": "whatever"}).status_code, 200)


if __name__ == "__main__":
    unittest.main()
