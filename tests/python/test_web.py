"""fasterapi.web without the host: routing, parameter conversion, 422 errors, bodies, responses,
dependencies and hooks, through TestClient (the same WebHost the workers run)."""

from __future__ import annotations

import asyncio
import enum
import io
import sys
import unittest
from dataclasses import dataclass
from typing import Annotated, Literal, Optional, TypedDict

from fasterapi import (
    APIRouter,
    App,
    Body,
    Cookie,
    Depends,
    FastAPI,
    FileResponse,
    Form,
    Header,
    HTMLResponse,
    HTTPException,
    JSONResponse,
    Path,
    PlainTextResponse,
    Query,
    RedirectResponse,
    Request,
    Response,
)
from fasterapi.web import RequestValidationError, WebAppError
from fasterapi.web.datastructures import Headers, QueryParams
from fasterapi.web.testing import TestClient


class Color(enum.Enum):
    red = "red"
    blue = "blue"


@dataclass
class Item:
    name: str
    price: float
    tags: list[str] | None = None


class Point(TypedDict):
    x: int
    y: int


class Public(TypedDict):
    x: int


def quiet() -> io.StringIO:
    """Swallows what a 500 logs to stderr while a test provokes it."""
    buf = io.StringIO()
    return buf


class ParamsTest(unittest.TestCase):
    def setUp(self) -> None:
        app = App()

        @app.get("/items/{item_id}")
        def read(item_id: int, q: Optional[str] = None, flag: bool = False, color: Color = Color.red,
                 kind: Literal["a", "b"] = "a", n: list[int] = [], ratio: float = 1.0):
            return {"item_id": item_id, "q": q, "flag": flag, "color": color, "kind": kind, "n": n, "ratio": ratio}

        @app.get("/need")
        def need(q: str, limit: Annotated[int, Query(ge=1, le=10)] = 5, name: str = Query("x", min_length=2, pattern="^[a-z]+$")):
            return {"q": q, "limit": limit, "name": name}

        @app.get("/files/{path:path}")
        def files(path: str):
            return path

        @app.get("/hdr")
        def hdr(user_agent: Annotated[str | None, Header()] = None, x_token: list[str] = Header([]),
                session: str | None = Cookie(None)):
            return {"ua": user_agent, "tokens": x_token, "session": session}

        @app.get("/p/{n}")
        def pos(n: int = Path(gt=0)):
            return n

        self.c = TestClient(app)

    def test_path_and_query_conversion(self) -> None:
        r = self.c.get("/items/3?q=a&flag=yes&color=blue&kind=b&n=1&n=2&ratio=2.5")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json(), {"item_id": 3, "q": "a", "flag": True, "color": "blue", "kind": "b", "n": [1, 2], "ratio": 2.5})
        self.assertEqual(r.headers["Content-Type"], "application/json")

    def test_defaults(self) -> None:
        self.assertEqual(self.c.get("/items/0").json(), {"item_id": 0, "q": None, "flag": False, "color": "red", "kind": "a", "n": [], "ratio": 1.0})

    def test_bad_values_are_422_with_fastapi_shape(self) -> None:
        r = self.c.get("/items/x?flag=maybe&color=green&kind=c&n=1&n=z&ratio=fast")
        self.assertEqual(r.status_code, 422)
        detail = r.json()["detail"]
        by_loc = {tuple(e["loc"]): e for e in detail}
        self.assertEqual(by_loc[("path", "item_id")]["type"], "int_parsing")
        self.assertEqual(by_loc[("path", "item_id")]["input"], "x")
        self.assertEqual(by_loc[("query", "flag")]["type"], "bool_parsing")
        self.assertEqual(by_loc[("query", "color")]["type"], "enum")
        self.assertEqual(by_loc[("query", "color")]["msg"], "Input should be 'red' or 'blue'")
        self.assertEqual(by_loc[("query", "kind")]["type"], "literal_error")
        self.assertEqual(by_loc[("query", "n", 1)]["type"], "int_parsing")
        self.assertEqual(by_loc[("query", "ratio")]["type"], "float_parsing")
        for e in detail:
            self.assertEqual(set(e) - {"ctx"}, {"type", "loc", "msg", "input"})

    def test_missing_and_constraints(self) -> None:
        r = self.c.get("/need")
        self.assertEqual(r.status_code, 422)
        self.assertEqual(r.json()["detail"], [{"type": "missing", "loc": ["query", "q"], "msg": "Field required", "input": None}])
        r = self.c.get("/need?q=1&limit=11&name=A")
        types = {tuple(e["loc"]): e["type"] for e in r.json()["detail"]}
        self.assertEqual(types, {("query", "limit"): "less_than_equal", ("query", "name"): "string_too_short"})
        r = self.c.get("/need?q=1&limit=0&name=A1")
        types = {tuple(e["loc"]): e["type"] for e in r.json()["detail"]}
        self.assertEqual(types, {("query", "limit"): "greater_than_equal", ("query", "name"): "string_pattern_mismatch"})
        self.assertEqual(self.c.get("/need?q=z&limit=10&name=ab").json(), {"q": "z", "limit": 10, "name": "ab"})
        self.assertEqual(self.c.get("/p/0").status_code, 422)
        self.assertEqual(self.c.get("/p/4").json(), 4)

    def test_path_converter_and_headers_cookies(self) -> None:
        self.assertEqual(self.c.get("/files/a/b%20c.txt").text, "a/b c.txt")
        r = self.c.get("/hdr", headers={"User-Agent": "ua/1", "X-Token": "t1"}, cookies={"session": "s1"})
        self.assertEqual(r.json(), {"ua": "ua/1", "tokens": ["t1"], "session": "s1"})

    def test_404_405(self) -> None:
        self.assertEqual(self.c.get("/nope").status_code, 404)
        r = self.c.post("/items/1")
        self.assertEqual(r.status_code, 405)
        self.assertIn("GET", r.headers["allow"])


class BodyTest(unittest.TestCase):
    def setUp(self) -> None:
        app = App()

        @app.post("/items", status_code=201)
        def create(item: Item):
            return item

        @app.put("/points")
        def points(p: Point):
            return {"sum": p["x"] + p["y"]}

        @app.post("/raw")
        def raw(payload: dict):
            return {"keys": sorted(payload)}

        @app.post("/two")
        def two(item: Item, importance: int = Body()):
            return {"item": item, "importance": importance}

        @app.post("/form")
        def form(user: str = Form(), age: int = Form(0), tag: list[str] = Form([])):
            return {"user": user, "age": age, "tag": tag}

        @app.post("/bytes")
        def raw_bytes(data: bytes = Body()):
            return Response(data[::-1], media_type="application/octet-stream")

        @app.post("/opt")
        def opt(item: Optional[Item] = None):
            return {"none": item is None}

        self.c = TestClient(app)

    def test_dataclass_body(self) -> None:
        r = self.c.post("/items", json={"name": "a", "price": 2, "tags": ["x"]})
        self.assertEqual(r.status_code, 201)
        self.assertEqual(r.json(), {"name": "a", "price": 2.0, "tags": ["x"]})

    def test_typeddict_and_dict(self) -> None:
        self.assertEqual(self.c.put("/points", json={"x": 1, "y": 2}).json(), {"sum": 3})
        self.assertEqual(self.c.post("/raw", json={"b": 1, "a": 2}).json(), {"keys": ["a", "b"]})

    def test_bad_bodies(self) -> None:
        r = self.c.post("/items", json={"name": "a"})
        self.assertEqual(r.status_code, 422)
        self.assertEqual(r.json()["detail"][0]["loc"], ["body", "price"])
        self.assertEqual(r.json()["detail"][0]["type"], "missing")
        r = self.c.post("/items", json={"name": "a", "price": "cheap"})
        self.assertEqual(r.status_code, 422)
        self.assertEqual(r.json()["detail"][0]["loc"], ["body", "price"])
        r = self.c.post("/items", content=b'{"name": ')
        self.assertEqual(r.status_code, 422)
        self.assertEqual(r.json()["detail"][0]["type"], "json_invalid")
        r = self.c.post("/items")
        self.assertEqual(r.json()["detail"], [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
        r = self.c.post("/raw", json=[1, 2])
        self.assertEqual(r.status_code, 422)
        self.assertEqual(self.c.post("/opt").json(), {"none": True})
        # Not JSON text at all, or nested past the parser: 400, as FastAPI answers them.
        for raw in (b'\xff\xfe{"name"', b"[" * 100000):
            r = self.c.post("/items", content=raw)
            self.assertEqual((r.status_code, r.json()), (400, {"detail": "There was an error parsing the body"}))

    def test_form_and_raw_bodies(self) -> None:
        r = self.c.post("/form", data={"user": "ann b", "age": "3"})
        self.assertEqual(r.json(), {"user": "ann b", "age": 3, "tag": []})
        r = self.c.post("/form", content=b"user=x&tag=a&tag=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.json(), {"user": "x", "age": 0, "tag": ["a", "b"]})
        r = self.c.post("/form", data={"age": "old"})
        types = {tuple(e["loc"]): e["type"] for e in r.json()["detail"]}
        self.assertEqual(types, {("form", "user"): "missing", ("form", "age"): "int_parsing"})
        self.assertEqual(self.c.post("/bytes", content=b"\x00abc").content, b"cba\x00")
        self.assertEqual(self.c.post("/bytes").status_code, 422)

    def test_embedded_bodies(self) -> None:
        r = self.c.post("/two", json={"item": {"name": "a", "price": 1}, "importance": 3})
        self.assertEqual(r.json(), {"item": {"name": "a", "price": 1.0, "tags": None}, "importance": 3})
        r = self.c.post("/two", json={"item": {"name": "a", "price": 1}})
        self.assertEqual(r.json()["detail"][0]["loc"], ["body", "importance"])


class ResponseTest(unittest.TestCase):
    def setUp(self) -> None:
        app = App()

        @app.get("/text")
        def text():
            return "hi"

        @app.get("/html")
        def html():
            return HTMLResponse("<b>x</b>")

        @app.get("/plain", response_class=PlainTextResponse)
        def plain():
            return "p"

        @app.get("/json")
        def js():
            return JSONResponse({"a": 1}, status_code=202, headers={"X-A": "1"})

        @app.get("/redir")
        def redir():
            return RedirectResponse("/text")

        @app.get("/resp")
        def resp():
            r = Response(b"\x00\x01", media_type="application/octet-stream", headers={"X-B": "2"})
            r.set_cookie("k", "v v", httponly=True)
            return r

        @app.get("/none", status_code=204)
        def none():
            return None

        @app.get("/dc")
        def dc():
            return [Item("a", 1.5), {"c": Color.blue}]

        @app.get("/inject")
        def inject(response: Response):
            response.headers["X-Injected"] = "yes"
            response.status_code = 203
            return {"ok": True}

        @app.get("/nan")
        def nan():
            return {"x": float("nan")}

        @app.get("/http-error")
        def err():
            raise HTTPException(418, "teapot", headers={"X-E": "1"})

        @app.get("/boom")
        def boom():
            raise RuntimeError("kaput")

        self.c = TestClient(app)

    def test_kinds(self) -> None:
        r = self.c.get("/text")
        self.assertEqual((r.text, r.headers["content-type"]), ("hi", "text/plain; charset=utf-8"))
        self.assertEqual(self.c.get("/html").headers["content-type"], "text/html; charset=utf-8")
        self.assertEqual(self.c.get("/plain").text, "p")
        r = self.c.get("/json")
        self.assertEqual((r.status_code, r.json(), r.headers["x-a"]), (202, {"a": 1}, "1"))
        r = self.c.get("/redir")
        self.assertEqual((r.status_code, r.headers["location"]), (307, "/text"))
        r = self.c.get("/resp")
        self.assertEqual(r.content, b"\x00\x01")
        self.assertEqual(r.headers["x-b"], "2")
        self.assertIn("k=v%20v", r.headers["set-cookie"])
        self.assertIn("HttpOnly", r.headers["set-cookie"])
        r = self.c.get("/none")
        self.assertEqual((r.status_code, r.content), (204, b""))
        self.assertEqual(self.c.get("/dc").json(), [{"name": "a", "price": 1.5, "tags": None}, {"c": "blue"}])
        r = self.c.get("/inject")
        self.assertEqual((r.status_code, r.headers["x-injected"], r.json()), (203, "yes", {"ok": True}))
        self.assertEqual(self.c.get("/nan").json(), {"x": None})

    def test_errors(self) -> None:
        r = self.c.get("/http-error")
        self.assertEqual((r.status_code, r.json(), r.headers["x-e"]), (418, {"detail": "teapot"}, "1"))
        old, sys.stderr = sys.stderr, quiet()
        try:
            r = self.c.get("/boom")
            logged = sys.stderr.getvalue()
        finally:
            sys.stderr = old
        self.assertEqual((r.status_code, r.text), (500, "Internal Server Error"))
        self.assertIn("RuntimeError: kaput", logged)
        self.assertIn("GET /boom (boom)", logged)

    def test_head_uses_get(self) -> None:
        r = self.c.head("/text")
        self.assertEqual((r.status_code, r.content), (200, b""))


class ExceptionHandlerTest(unittest.TestCase):
    def test_custom_handlers(self) -> None:
        class Unicorn(Exception):
            def __init__(self, name: str) -> None:
                self.name = name

        app = App()

        @app.exception_handler(Unicorn)
        async def unicorn(request: Request, exc: Unicorn):
            return JSONResponse({"message": f"{exc.name} did something at {request.url.path}"}, status_code=418)

        @app.exception_handler(RequestValidationError)
        def invalid(request: Request, exc: RequestValidationError):
            return PlainTextResponse(f"bad: {len(exc.errors())} error(s)", status_code=400)

        @app.exception_handler(404)
        def not_found(request: Request, exc: HTTPException):
            return {"custom": exc.detail}

        @app.get("/u/{name}")
        def u(name: str):
            raise Unicorn(name)

        @app.get("/n/{n}")
        async def n(n: int):
            raise HTTPException(404, "gone")

        c = TestClient(app)
        r = c.get("/u/yolo")
        self.assertEqual((r.status_code, r.json()), (418, {"message": "yolo did something at /u/yolo"}))
        r = c.get("/n/x")
        self.assertEqual((r.status_code, r.text), (400, "bad: 1 error(s)"))
        r = c.get("/n/1")
        self.assertEqual((r.status_code, r.json()), (200, {"custom": "gone"}))
        with self.assertRaises(WebAppError):
            app.exception_handler("nope")(lambda r, e: None)


class ModelTest(unittest.TestCase):
    def test_response_model_filters(self) -> None:
        @dataclass
        class UserIn:
            name: str
            password: str

        @dataclass
        class UserOut:
            name: str

        app = App()

        @app.post("/users", response_model=UserOut)
        def create(user: UserIn):
            return user

        @app.get("/annotated")
        def annotated() -> list[Public]:
            return [{"x": 1, "secret": 2}, {"x": 3}]

        @app.get("/plain")
        def plain() -> dict:
            return {"a": 1, "b": 2}

        c = TestClient(app)
        self.assertEqual(c.post("/users", json={"name": "ann", "password": "pw"}).json(), {"name": "ann"})
        self.assertEqual(c.get("/annotated").json(), [{"x": 1}, {"x": 3}])
        self.assertEqual(c.get("/plain").json(), {"a": 1, "b": 2})

    def test_file_response(self) -> None:
        import os
        import tempfile

        with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
            f.write(b"file body")
        try:
            app = App()

            @app.get("/f")
            def get_file():
                return FileResponse(f.name, filename="r\u00e9sum\u00e9.txt")

            r = TestClient(app).get("/f")
            self.assertEqual((r.content, r.headers["content-type"]), (b"file body", "text/plain; charset=utf-8"))
            self.assertEqual(r.headers["content-disposition"], "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt")
        finally:
            os.unlink(f.name)


class RoutingTest(unittest.TestCase):
    def test_router_prefixes_and_methods(self) -> None:
        app = FastAPI()
        users = APIRouter(prefix="/users")

        @users.get("/{uid}")
        def get_user(uid: int):
            return {"uid": uid}

        @users.api_route("/{uid}", methods=["PUT", "PATCH"])
        def put_user(uid: int):
            return {"put": uid}

        @users.delete("/{uid}")
        async def del_user(uid: int):
            await asyncio.sleep(0)
            return {"deleted": uid}

        app.include_router(users, prefix="/v1")
        c = TestClient(app)
        self.assertEqual(c.get("/v1/users/2").json(), {"uid": 2})
        self.assertEqual(c.patch("/v1/users/2").json(), {"put": 2})
        self.assertEqual(c.delete("/v1/users/2").json(), {"deleted": 2})
        self.assertEqual(
            app.route_table(),
            [["GET", "/v1/users/{uid}", 0], ["PUT", "/v1/users/{uid}", 0], ["PATCH", "/v1/users/{uid}", 0],
             ["DELETE", "/v1/users/{uid}", 0], ["GET", "/openapi.json", 0], ["GET", "/docs", 0]],
        )

    def test_definition_errors(self) -> None:
        app = App()
        with self.assertRaises(WebAppError):
            app.get("items")(lambda: 1)
        with self.assertRaises(WebAppError):
            app.api_route("/x", methods=["FETCH"])(lambda: 1)
        with self.assertRaises(WebAppError):

            @app.get("/y")
            def y(z: int = Path()):
                return z

        with self.assertRaises(WebAppError):
            APIRouter(prefix="/trailing/")

    def test_request_object(self) -> None:
        app = App()

        @app.post("/req/{a}")
        async def req(request: Request):
            return {
                "method": request.method,
                "path": request.url.path,
                "query": request.query_params.getlist("x"),
                "params": request.path_params,
                "ua": request.headers["USER-AGENT"],
                "cookies": request.cookies,
                "client": list(request.client),
                "json": await request.json(),
                "body": (await request.body()).decode(),
            }

        c = TestClient(app)
        r = c.post("/req/7?x=1&x=2", json={"k": 1}, headers={"User-Agent": "t"}, cookies={"a": "b"})
        self.assertEqual(
            r.json(),
            {"method": "POST", "path": "/req/7", "query": ["1", "2"], "params": {"a": "7"}, "ua": "t",
             "cookies": {"a": "b"}, "client": ["testclient", 50000], "json": {"k": 1}, "body": '{"k": 1}'},
        )

    def test_headers_query_containers(self) -> None:
        h = Headers([("Content-Type", "a"), ("X-A", "1"), ("x-a", "2")])
        self.assertEqual((h["content-type"], h.getlist("X-A"), "X-a" in h, len(h)), ("a", ["1", "2"], True, 2))
        q = QueryParams("a=1&b=&a=3&c=%20x")
        self.assertEqual((q["a"], q.getlist("a"), q["b"], q["c"]), ("3", ["1", "3"], "", " x"))


class DependsTest(unittest.TestCase):
    def test_sync_async_generator_cached(self) -> None:
        app = App()
        log: list[str] = []
        calls = {"n": 0}

        def db():
            log.append("open")
            try:
                yield "conn"
            finally:
                log.append("close")

        def counter():
            calls["n"] += 1
            return calls["n"]

        async def user(token: str = Header(), c: str = Depends(db), n: int = Depends(counter)):
            if token != "ok":
                raise HTTPException(401, "bad token")
            return {"conn": c, "n": n}

        async def agen():
            log.append("aopen")
            yield 5
            log.append("aclose")

        router = APIRouter(dependencies=[Depends(counter)])

        @router.get("/me")
        async def me(u: dict = Depends(user), n: int = Depends(counter), a: int = Depends(agen)):
            log.append("handler")
            return {"u": u, "n": n, "a": a}

        @app.get("/plain")
        def plain(c: str = Depends(db)):
            log.append("plain")
            return c

        app.include_router(router)
        c = TestClient(app)
        r = c.get("/me", headers={"token": "ok"})
        self.assertEqual(r.json(), {"u": {"conn": "conn", "n": 1}, "n": 1, "a": 5})
        self.assertEqual(log, ["open", "aopen", "handler", "aclose", "close"])
        log.clear()
        self.assertEqual(c.get("/me", headers={"token": "no"}).status_code, 401)
        self.assertEqual(log, ["open", "close"])  # teardown even when the handler fails
        log.clear()
        self.assertEqual(c.get("/me").json()["detail"][0]["loc"], ["header", "token"])
        self.assertNotIn("handler", log)
        self.assertEqual(log.count("open"), log.count("close"))
        log.clear()
        self.assertEqual(c.get("/plain").text, "conn")
        self.assertEqual(log, ["open", "plain", "close"])


class LifecycleTest(unittest.TestCase):
    def test_startup_shutdown_and_lifespan(self) -> None:
        events: list[str] = []

        class Span:
            async def __aenter__(self):
                events.append("enter")
                return {"db": "D"}

            async def __aexit__(self, *exc):
                events.append("exit")

        app = App(lifespan=lambda app: Span())

        @app.on_event("startup")
        async def up():
            events.append("startup")

        @app.on_event("shutdown")
        def down():
            events.append("shutdown")

        @app.get("/s")
        def s():
            return app.state.db

        with TestClient(app) as c:
            self.assertEqual(c.get("/s").text, "D")
        self.assertEqual(events, ["startup", "enter", "exit", "shutdown"])

    def test_async_timeout_cancels(self) -> None:
        app = App()

        @app.get("/slow")
        async def slow():
            await asyncio.sleep(10)

        c = TestClient(app, timeout=0.05)
        self.assertEqual(c.get("/slow").status_code, 504)


if __name__ == "__main__":
    unittest.main()
