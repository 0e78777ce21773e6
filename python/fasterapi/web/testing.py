"""`TestClient`: calls an App in-process, without sockets or the C host, through the same
WebHost the workers run. Routing here is the App's own matcher (the C router does it under the
host): 404 and 405 answer like the C core."""

from __future__ import annotations

import asyncio
import json as _json
from typing import Any, Mapping
from urllib.parse import unquote, urlencode, urlsplit

from .app import App, WebHost
from .datastructures import Headers


class _FakeRequest:
    """The `creq` contract (see _runtime.py) in pure Python."""

    def __init__(self, method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes, params: dict[str, str]) -> None:
        self.method = method
        self.path = path
        self.query = query
        self._headers = headers
        self._body = body
        self._params = params
        self.client = ("testclient", 50000)
        self.answer: tuple[Any, ...] | None = None

    def param(self, name: str) -> str | None:
        return self._params.get(name)

    def params(self) -> list[tuple[str, str]]:
        return list(self._params.items())

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self._headers:
            if k.lower() == low:
                return v
        return None

    def headers(self) -> list[tuple[str, str]]:
        return list(self._headers)

    def body(self) -> bytes:
        return self._body

    def respond(self, status: int, content_type: str | None, headers: Any, body: Any) -> None:
        if self.answer is not None:
            raise RuntimeError("answered twice")
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.answer = (status, content_type, list(headers or []), bytes(body))

    def stream(self, status: int, content_type: str | None, headers: Any, keepalive_ms: int) -> _FakeStream:
        if self.answer is not None:
            raise RuntimeError("answered twice")
        return _FakeStream(self, status, content_type, headers)

    def sse_subscribe(self, channel: str, keepalive_ms: int, retry_ms: int) -> None:
        raise RuntimeError("SSE channels need the server (fasterapi run --http); TestClient has none")


class _FakeStream:
    """`_fasterapi.HttpStream` in pure Python: the chunks are collected, and the whole body is
    the request's answer when the stream ends (TestClient has no streaming reads)."""

    def __init__(self, creq: _FakeRequest, status: int, ctype: str | None, headers: Any) -> None:
        import os

        self._creq = creq
        self._head = (status, ctype, list(headers or []))
        self._chunks: list[bytes] = []
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.closed = False
        self.pending = 0
        self.limit = 1 << 30

    def write(self, data: Any) -> bool:
        self._chunks.append(data.encode("utf-8") if isinstance(data, str) else bytes(data))
        return True

    def arm(self) -> bool:
        return False

    def ack(self) -> None:
        pass

    def fileno(self) -> int:
        return self._fd

    def end(self) -> None:
        if not self.closed:
            import os

            self.closed = True
            os.close(self._fd)
            status, ctype, headers = self._head
            self._creq.answer = (status, ctype, headers, b"".join(self._chunks))


class TestResponse:
    def __init__(self, status: int, headers: list[tuple[str, str]], content: bytes) -> None:
        self.status_code = status
        self.headers = Headers(headers)
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return _json.loads(self.content)

    def __repr__(self) -> str:
        return f"<TestResponse {self.status_code}>"


class TestClient:
    __test__ = False  # not a unittest/pytest test class

    def __init__(self, app: App, debug: bool = False, timeout: float = 0.0) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.host = WebHost(app, debug, timeout)
        self.host.loop = self.loop
        self._started = False

    def __enter__(self) -> "TestClient":
        self.host.start(self.loop)
        self._started = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self.host.stop(self.loop)
        self.close()

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> TestResponse:
        method = method.upper()
        parts = urlsplit(url)
        path = parts.path or "/"
        query = parts.query
        if params:
            extra = urlencode(list(params.items()) if isinstance(params, Mapping) else params, doseq=True)
            query = f"{query}&{extra}" if query else extra
        hdrs = [("host", "testserver")] + list((headers or {}).items())
        body = b""
        if json is not None:
            body = _json.dumps(json).encode()
            hdrs.append(("content-type", "application/json"))
        elif data is not None:
            body = urlencode(data).encode()
            hdrs.append(("content-type", "application/x-www-form-urlencoded"))
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
        if cookies:
            hdrs.append(("cookie", "; ".join(f"{k}={v}" for k, v in cookies.items())))
        rows = self.app.route_rows()
        allowed: list[str] = []
        lookup = "GET" if method == "HEAD" else method
        for index, (route, m) in enumerate(rows):
            match = route.regex.match(path)
            if not match:
                continue
            if m != method and m != lookup:
                allowed.append(m)
                continue
            creq = _FakeRequest(method, path, query, hdrs, body, {k: unquote(v) for k, v in match.groupdict().items()})
            self.host.handle(index, creq)
            while creq.answer is None and self.host.tasks:
                self.loop.run_until_complete(asyncio.wait(list(self.host.tasks)))
            if creq.answer is None:
                return TestResponse(500, [], b"no answer")
            status, ctype, extra_headers, out = creq.answer
            rh = ([("content-type", ctype)] if ctype else []) + extra_headers
            return TestResponse(status, rh, b"" if method == "HEAD" else out)
        if allowed:
            return TestResponse(405, [("allow", ", ".join(sorted(set(allowed))))], b"405 Method Not Allowed\n")
        return TestResponse(404, [("content-type", "application/json")], b'{"detail":"Not Found"}')

    def get(self, url: str, **kw: Any) -> TestResponse:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> TestResponse:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> TestResponse:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> TestResponse:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> TestResponse:
        return self.request("DELETE", url, **kw)

    def head(self, url: str, **kw: Any) -> TestResponse:
        return self.request("HEAD", url, **kw)

    def options(self, url: str, **kw: Any) -> TestResponse:
        return self.request("OPTIONS", url, **kw)
