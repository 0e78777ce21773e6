"""The request path's shortcuts (issue 8, performance) give exactly what the general code gives:
the JSON body decoder against json.loads, the flat-dataclass body converter against
binding.convert, the response encoder and shared.encode against their JSONEncoder, and the
answers of a route through TestClient for good and bad bodies."""

from __future__ import annotations

import dataclasses
import json
import unittest
from dataclasses import dataclass, field
from typing import Any, Optional

from fasterapi import App, shared
from fasterapi.binding import BindError, convert
from fasterapi.web import app as webapp
from fasterapi.web import responses
from fasterapi.web.sse import MAX_QUEUED_EVENTS, SSEConnection
from fasterapi.web.testing import TestClient


@dataclass
class Event:
    userId: str
    value: float


@dataclass
class Flags:
    name: str
    count: int = 3
    on: bool = False
    extra: list[str] = field(default_factory=list)  # not flat: no shortcut


@dataclass
class Defaults:
    name: str
    count: int = 3
    on: bool = False
    ratio: float = 1.5


def outcome(fn: Any, *args: Any) -> Any:
    """(result) or (exception type, message): comparable across the two paths."""
    try:
        return ("ok", fn(*args))
    except Exception as e:  # noqa: BLE001
        return ("raise", type(e).__name__, str(e))


class LoadsTest(unittest.TestCase):
    BODIES = [
        b'{"userId":"u1","value":1.5}',
        b'[1, 2.5, "x", null, true]',
        b'{"a": {"b": [1, {"c": NaN}]}, "d": Infinity}',
        b'{"a": 1}  \r\n\t',  # trailing JSON whitespace
        b'{"a": 1}\x0c',  # not JSON whitespace: Extra data
        b'{"a": 1} {"b": 2}',
        b'  {"a": 1}',
        b'{"a": 1, "a": 2}',
        b'{"a": "\\ud83d\\ude00 \xc3\xa9"}',
        b'{"a": 1',
        b"{",
        b"[",
        b"{}",
        b"[]",
        b'{"a": "\xff"}',  # not UTF-8
        b'{"a": "\xed\xa0\x80"}',  # an encoded surrogate: json.loads' surrogatepass
        '{"a": "é"}'.encode("utf-16-le"),
        '{"a": "é"}'.encode("utf-16"),
        '{"a": 1}'.encode("utf-32"),
        b'\xef\xbb\xbf{"a": 1}',
        b'"just a string"',
        b"12.5",
        b"[" * 100000 + b"]" * 100000,  # past the recursion limit
    ]

    def test_same_as_json_loads(self) -> None:
        for body in self.BODIES:
            with self.subTest(body=body[:40]):
                want = outcome(json.loads, body)
                got = outcome(webapp._loads, body)
                if want[0] == "ok":
                    self.assertEqual(json.dumps(got[1]), json.dumps(want[1]))
                else:
                    self.assertEqual(got, want)

    def test_fast_path_taken(self) -> None:
        # The decoder really answers without json.loads for the usual body.
        real = json.loads
        try:
            json.loads = None  # type: ignore[assignment]
            self.assertEqual(webapp._loads(b'{"x": [1, 2]}'), {"x": [1, 2]})
        finally:
            json.loads = real


class FastObjectTest(unittest.TestCase):
    def test_only_flat_dataclasses(self) -> None:
        self.assertIsNotNone(webapp._fast_object(Event))
        self.assertIsNotNone(webapp._fast_object(Defaults))
        self.assertIsNone(webapp._fast_object(Flags))
        self.assertIsNone(webapp._fast_object(dict))
        self.assertIsNone(webapp._fast_object(Optional[Event]))

    def test_same_as_convert(self) -> None:
        values: list[Any] = [
            {"userId": "a", "value": 1.5},
            {"userId": "a", "value": 2},  # int for float: a float
            {"userId": "a", "value": True},  # bool is not a number here
            {"userId": "a", "value": "1.5"},
            {"userId": "a"},
            {"value": 1.0},
            {"userId": 5, "value": 1.0},
            {"userId": "a", "value": 1.0, "other": 1},
            {"userId": None, "value": 1.0},
            [1, 2],
            "x",
            None,
            {"name": "n"},
            {"name": "n", "count": 2.0},  # an integral float for an int: convert decides
            {"name": "n", "count": 2, "on": 1},
            {"name": "n", "count": 2, "on": True, "ratio": 7},
        ]
        for tp in (Event, Defaults):
            fast = webapp._fast_object(tp)
            assert fast is not None
            for v in values:
                with self.subTest(tp=tp.__name__, value=v):
                    want = outcome(convert, v, tp, False, "body")
                    r = fast(v)
                    got = outcome(convert, v, tp, False, "body") if r is webapp._SLOW else ("ok", r)
                    self.assertEqual(got, want)
                    if want[0] == "ok":
                        got_types = [type(getattr(got[1], f.name)) for f in dataclasses.fields(tp)]
                        want_types = [type(getattr(want[1], f.name)) for f in dataclasses.fields(tp)]
                        self.assertEqual(got_types, want_types)
            self.assertIsNot(fast({"userId": "a", "value": 1.5, "name": "n"}), webapp._SLOW)

    def test_convert_still_decides_errors(self) -> None:
        with self.assertRaises(BindError):
            convert({"userId": "a"}, Event, False, "body")
        fast = webapp._fast_object(Event)
        assert fast is not None
        self.assertIs(fast({"userId": "a"}), webapp._SLOW)


class RouteAnswersTest(unittest.TestCase):
    """A route with a flat dataclass body answers as FastAPI does, valid or not."""

    def setUp(self) -> None:
        app = App()

        @app.post("/event")
        def event(ev: Event) -> dict[str, Any]:
            return {"user": ev.userId, "value": ev.value, "type": type(ev.value).__name__}

        self.c = TestClient(app)

    def test_answers(self) -> None:
        r = self.c.post("/event", content=b'{"userId": "u", "value": 3}', headers={"content-type": "application/json"})
        self.assertEqual((r.status_code, r.json()), (200, {"user": "u", "value": 3.0, "type": "float"}))
        r = self.c.post("/event", content=b'{"userId": "u", "value": NaN}')
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["value"], None)  # NaN out: JSON has none (FastAPI: null)
        r = self.c.post("/event", content=b'{"userId": "u"}')
        self.assertEqual(r.status_code, 422)
        self.assertEqual(r.json()["detail"][0]["type"], "missing")
        self.assertEqual(r.json()["detail"][0]["loc"], ["body", "value"])
        r = self.c.post("/event", content=b'{"userId": "u", "value": "x"}')
        self.assertEqual(r.status_code, 422)
        self.assertEqual(r.json()["detail"][0]["loc"], ["body", "value"])
        r = self.c.post("/event", content=b'{"userId": "u", "value": 1} x')
        self.assertEqual(r.status_code, 422)
        self.assertEqual(r.json()["detail"][0]["type"], "json_invalid")
        r = self.c.post("/event", content=b"[" * 100000)
        self.assertIn(r.status_code, (400, 422))
        r = self.c.post("/event", content=b'{"userId": "\xff", "value": 1}')
        self.assertEqual(r.status_code, 400)


class EncodersTest(unittest.TestCase):
    VALUES: list[Any] = [
        {"ok": True},
        {"b": [1, 2.5, None], "a": "é\u2028\n\"", "c": {"z": 1, "y": -0.0}},
        [1e300, 1e-300, 0.1, 12345678901234567890],
        "plain",
        "é",
        5,
        None,
        {1: "int key", 2.5: "float key", True: "bool key", None: "null key"},
        {"n": float("nan")},
        {"i": float("inf")},
        {"s": {1, 2}},
        {"t": (1, 2)},
        {("tuple",): 1},
        {"o": object()},
        {"a": 1, 2: "mixed keys"},
    ]

    def test_shared_encode_same_as_encoder(self) -> None:
        for v in self.VALUES:
            with self.subTest(value=repr(v)[:40]):
                self.assertEqual(outcome(shared.encode, v), outcome(shared._ENCODER.encode, v))
        cyc: list[Any] = []
        cyc.append(cyc)
        self.assertEqual(outcome(shared.encode, cyc), ("raise", "ValueError", "Circular reference detected"))

    def test_json_bytes_same_as_encoder(self) -> None:
        def reference(v: Any) -> bytes:
            try:
                return responses._encode(v).encode("utf-8")
            except ValueError:
                return responses._encode(responses._finite(json.loads(json.dumps(v, default=responses._default)))).encode("utf-8")

        for v in self.VALUES + [Event("u", 1.0), {"e": Event("u", float("nan"))}]:
            with self.subTest(value=repr(v)[:40]):
                got, want = outcome(responses.json_bytes, v), outcome(reference, v)
                if want[0] == "ok" and "object at" in want[1].decode():
                    self.assertEqual(got[0], "ok")  # str(object()) differs per object
                else:
                    self.assertEqual(got, want)
        cyc: dict[str, Any] = {}
        cyc["me"] = cyc
        self.assertEqual(outcome(responses.json_bytes, cyc)[:2], ("raise", "ValueError"))


class LazySSEConnectionTest(unittest.TestCase):
    """SSEConnection() makes its queue and generator late; what send()/close() do is unchanged."""

    @staticmethod
    def events(conn: SSEConnection) -> list[bytes]:
        chunks = conn._chunks()
        if not hasattr(chunks, "__aiter__"):
            return list(chunks)  # a sync generator's events stay sync (streaming.py's thread)

        async def run() -> list[bytes]:
            return [e async for e in chunks]

        import asyncio

        return asyncio.run(run())

    def test_send_then_close_before_the_stream_starts(self) -> None:
        conn = SSEConnection(retry=100)
        self.assertTrue(conn.send("a", event="e"))
        self.assertTrue(conn.send({"x": 1}, id="7"))
        conn.close()
        self.assertFalse(conn.send("late"))
        self.assertEqual(self.events(conn), [b": \nretry: 100\n\n", b"event: e\ndata: a\n\n", b'id: 7\ndata: {"x":1}\n\n'])

    def test_close_alone_and_queue_bound(self) -> None:
        conn = SSEConnection()
        conn.close()
        self.assertEqual(self.events(conn), [])
        conn = SSEConnection()
        for i in range(MAX_QUEUED_EVENTS):
            self.assertTrue(conn.send(str(i)))
        self.assertFalse(conn.send("over"))
        conn.close()  # drops the oldest so the close gets through
        got = self.events(conn)
        self.assertEqual(len(got), MAX_QUEUED_EVENTS - 1)
        self.assertEqual(got[0], b"data: 1\n\n")

    def test_stream_started_before_send(self) -> None:
        conn = SSEConnection()
        it = conn.body_iterator
        self.assertIs(conn.body_iterator, it)
        self.assertTrue(hasattr(it, "__aiter__"))
        conn.send("b")
        conn.close()
        self.assertEqual(self.events(conn), [b"data: b\n\n"])

    def test_generator_content(self) -> None:
        def gen() -> Any:
            yield "g"

        g = gen()
        conn = SSEConnection(g, status_code="201")  # type: ignore[arg-type]
        self.assertIs(conn.body_iterator, g)
        self.assertEqual(conn.status_code, 201)
        self.assertEqual(SSEConnection().status_code, 200)
        with self.assertRaises(RuntimeError):
            conn.send("x")
        conn.close()  # nothing to close: the generator feeds it
        self.assertEqual(self.events(conn), [b"data: g\n\n"])
        for bad in ("text", b"bytes", 5):
            with self.assertRaises(TypeError):
                SSEConnection(bad)  # type: ignore[arg-type]
        self.assertEqual(self.events(SSEConnection(iter(["i"]))), [b"data: i\n\n"])
        self.assertEqual(conn.headers["cache-control"], "no-cache")


class LazyAppTest(unittest.TestCase):
    """App() keeps its defaults on the class and makes its lists on first use: each App still has
    its own, and every setting reads as before."""

    def test_defaults_and_independence(self) -> None:
        from fasterapi import APIRouter

        a, b = App(), App()
        self.assertEqual((a.title, a.version, a.description, a.summary, a.debug, a.lifespan), ("FasterAPI", "0.1.0", "", None, False, None))
        self.assertEqual((a.openapi_url, a.docs_url, a.openapi_tags, a.servers, a.openapi_schema), ("/openapi.json", "/docs", None, None, None))
        self.assertEqual((a.routes, a.ws_routes, a.dependencies, a.tags, a.on_startup, a.on_shutdown, a.exception_handlers), ([], [], [], [], [], [], {}))
        for name in ("routes", "ws_routes", "dependencies", "tags", "on_startup", "on_shutdown", "exception_handlers", "state"):
            self.assertIsNot(getattr(a, name), getattr(b, name), name)
        a.state.x = 1
        self.assertFalse(hasattr(b.state, "x"))

        @a.get("/x")
        def x() -> str:
            return "x"

        self.assertEqual(len(a.routes), 1)
        self.assertEqual(b.routes, [])
        self.assertEqual(App().prefix, "")
        r1, r2 = APIRouter(), APIRouter(prefix="/p", tags=["t"])
        self.assertEqual((r1.prefix, r1.tags, r2.prefix, r2.tags), ("", [], "/p", ["t"]))
        self.assertIsNot(r1.routes, APIRouter().routes)
        with self.assertRaises(AttributeError) as cm:
            a.no_such_thing  # noqa: B018
        self.assertEqual(cm.exception.name, "no_such_thing")
        self.assertFalse(hasattr(a, "no_such_thing"))

    def test_given_settings(self) -> None:
        def hook() -> None:
            pass

        app = App(title="T", version="2", debug=True, on_startup=[hook], on_shutdown=(hook,), description="d", summary="s", openapi_url=None, docs_url=None, openapi_tags=[{"name": "t"}], servers=[{"url": "/"}])
        self.assertEqual((app.title, app.version, app.debug, app.description, app.summary), ("T", "2", True, "d", "s"))
        self.assertEqual((app.openapi_url, app.docs_url, app.openapi_tags, app.servers), (None, None, [{"name": "t"}], [{"url": "/"}]))
        self.assertEqual((app.on_startup, app.on_shutdown), ([hook], [hook]))
        self.assertEqual(app.doc_routes(), [])
        self.assertEqual(len(App().doc_routes()), 2)
        self.assertEqual(App(docs_url=None).doc_routes()[0].path, "/openapi.json")


if __name__ == "__main__":
    unittest.main()
