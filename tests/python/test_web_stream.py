"""fasterapi.web streaming in-process (TestClient collects a stream's chunks) and the SSE event
format; the server-side paths (backpressure, disconnects, channels) are in
tests/integration/python/test_web_stream.py."""

from __future__ import annotations

import asyncio
import unittest

from fasterapi import App
from fasterapi.web import StreamingResponse
from fasterapi.web.sse import Channel, SSEConnection, format_event
from fasterapi.web.testing import TestClient


class Format(unittest.TestCase):
    def test_fields_and_lines(self) -> None:
        self.assertEqual(format_event("a\r\nb\rc\nd", event="e", id="7", retry=100),
                         b"event: e\nid: 7\nretry: 100\ndata: a\ndata: b\ndata: c\ndata: d\n\n")
        self.assertEqual(format_event(""), b"data:\n\n")
        self.assertEqual(format_event({"k": [1, "\u00e9"]}), b'data: {"k":[1,"\xc3\xa9"]}\n\n')
        self.assertEqual(format_event(retry=5, comment=""), b": \nretry: 5\n\n")
        self.assertEqual(format_event("x", id=""), b"id\ndata: x\n\n")  # resets the last id

    def test_refused(self) -> None:
        for kw in ({"event": "a\nb"}, {"id": "1\r"}):
            with self.assertRaises(ValueError):
                format_event("x", **kw)  # type: ignore[arg-type]


class InProcess(unittest.TestCase):
    def setUp(self) -> None:
        app = App()

        @app.get("/sync")
        def sync():
            return StreamingResponse((f"{i}," for i in range(3)), media_type="text/csv", headers={"X-A": "1"})

        @app.get("/async")
        async def asy():
            async def gen():
                for i in range(2):
                    await asyncio.sleep(0)
                    yield b"%d;" % i

            return StreamingResponse(gen())

        @app.get("/sse")
        async def sse():
            async def gen():
                yield {"data": [1], "id": "1", "event": "n"}
                yield "two"

            return SSEConnection(gen(), retry=500)

        @app.get("/bad")
        def bad():
            return StreamingResponse(iter([1, 2]))

        @app.get("/chan")
        def chan():
            return Channel("c").subscribe()

        self.client = TestClient(app)

    def tearDown(self) -> None:
        self.client.close()

    def test_sync_iterator(self) -> None:
        r = self.client.get("/sync")
        self.assertEqual((r.status_code, r.content), (200, b"0,1,2,"))
        self.assertEqual(r.headers["content-type"], "text/csv; charset=utf-8")
        self.assertEqual(r.headers["x-a"], "1")

    def test_async_generator(self) -> None:
        self.assertEqual(self.client.get("/async").content, b"0;1;")

    def test_sse(self) -> None:
        r = self.client.get("/sse")
        self.assertEqual(r.headers["content-type"], "text/event-stream")
        self.assertEqual(r.headers["cache-control"], "no-cache")
        self.assertEqual(r.content, b": \nretry: 500\n\nevent: n\nid: 1\ndata: [1]\n\ndata: two\n\n")

    def test_bad_chunk_ends_the_stream(self) -> None:
        # The head is out when the generator fails: the stream ends with what it had (logged).
        self.assertEqual(self.client.get("/bad").content, b"")

    def test_channel_needs_the_server(self) -> None:
        self.assertEqual(self.client.get("/chan").status_code, 500)

    def test_constructor_checks(self) -> None:
        with self.assertRaises(TypeError):
            StreamingResponse(b"not an iterator of chunks")
        with self.assertRaises(ValueError):
            SSEConnection(ping=0)
        conn = SSEConnection()
        self.assertTrue(conn.send("x"))
        conn.close()
        self.assertFalse(conn.send("y"))
        with self.assertRaises(RuntimeError):
            SSEConnection(iter(())).send("x")


if __name__ == "__main__":
    unittest.main()
