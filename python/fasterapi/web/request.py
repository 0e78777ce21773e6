"""`Request`: a lazy view over the C request (`_fasterapi.HttpRequest` under the host, a test
double in TestClient). Headers, query parameters, cookies and the body become Python objects
only when a handler touches them."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

from .datastructures import URL, Address, Headers, QueryParams


def parse_cookies(header: str | None) -> dict[str, str]:
    """The Cookie header's pairs (RFC 6265 §5.4); a malformed pair is skipped, not an error."""
    out: dict[str, str] = {}
    if not header:
        return out
    for chunk in header.split(";"):
        if "=" not in chunk:
            continue
        k, v = chunk.split("=", 1)
        k, v = k.strip(), v.strip()
        if len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1]
        if k:
            try:
                from urllib.parse import unquote

                out[k] = unquote(v)
            except Exception:  # noqa: BLE001 - keep the raw value
                out[k] = v
    return out


class State:
    """Per-request scratch space (`request.state.user = ...`)."""


class Request:
    """The request a handler is answering (Starlette's attributes)."""

    __slots__ = ("_c", "_path_params", "_headers", "_query", "_cookies", "_body", "_url", "state", "scope")

    def __init__(self, creq: Any, path_params: dict[str, Any] | None = None) -> None:
        self._c = creq
        self._path_params = path_params
        self._headers: Headers | None = None
        self._query: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._body: bytes | None = None
        self._url: URL | None = None
        self.state = State()
        self.scope: dict[str, Any] = {"type": "http"}

    @property
    def method(self) -> str:
        return self._c.method

    @property
    def url(self) -> URL:
        if self._url is None:
            self._url = URL("http", self._c.header("host") or "", self._c.path, self._c.query)
        return self._url

    @property
    def base_url(self) -> str:
        return f"http://{self._c.header('host') or ''}/"

    @property
    def path(self) -> str:
        return self.url.path

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(self._c.headers())
        return self._headers

    @property
    def query_params(self) -> QueryParams:
        if self._query is None:
            self._query = QueryParams(self._c.query)
        return self._query

    @property
    def path_params(self) -> dict[str, Any]:
        if self._path_params is None:
            self._path_params = dict(self._c.params())
        return self._path_params

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            self._cookies = parse_cookies(self._c.header("cookie"))
        return self._cookies

    @property
    def client(self) -> Address | None:
        c = self._c.client
        return Address(*c) if c else None

    def body_now(self) -> bytes:
        if self._body is None:
            self._body = self._c.body()
        return self._body

    async def body(self) -> bytes:
        """The whole body (the C core has read it before the handler runs)."""
        return self.body_now()

    async def json(self) -> Any:
        return json.loads(self.body_now())

    async def form(self) -> dict[str, str]:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(self.body_now().decode("latin-1"), keep_blank_values=True))

    def __repr__(self) -> str:
        return f"<Request {self.method} {self._c.path}>"


_ = SimpleCookie  # documented alternative parser; ours is lenient like browsers
