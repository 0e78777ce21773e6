"""HTTP middleware (FastAPI's `@app.middleware("http")` and `app.add_middleware(...)`): code that
runs around every matched route, sees the Request, and may change or replace the Response.

How it runs (WebHost): an App with middleware answers each request from a task on the worker's
loop. The outermost middleware's dispatch(request, call_next) gets the Request; call_next runs
the next one, and the innermost runs the route exactly as an App without middleware would
(exception handlers, 422, 500 included), with a stand-in for the C request (`Capture`) that
keeps the answer instead of sending it; call_next returns it as a Response. What the outermost
returns is sent. A streamed answer (StreamingResponse, SSE) comes back unstarted: its status and
headers can be changed, and it starts only when it is sent, so its body is never buffered.

An App without middleware never comes here (WebHost.handle is the plain path).

Starlette's middleware are ASGI classes; ours are `dispatch` classes with the same constructor
arguments (CORSMiddleware, TrustedHostMiddleware, BaseHTTPMiddleware subclasses). A pure ASGI
middleware class cannot run here and is refused when it is added.
"""

from __future__ import annotations

import re
from typing import Any, Awaitable, Callable, Sequence

from .exceptions import WebAppError
from .request import Request
from .responses import MutableHeaders, PlainTextResponse, RedirectResponse, Response

CallNext = Callable[[Request], Awaitable[Response]]


class Middleware:
    """Starlette's `Middleware(cls, **options)`, for `App(middleware=[...])`."""

    def __init__(self, cls: Any, *args: Any, **kwargs: Any) -> None:
        self.cls = cls
        self.args = args
        self.kwargs = kwargs

    def __iter__(self) -> Any:
        return iter((self.cls, self.args, self.kwargs))

    def __repr__(self) -> str:
        return f"Middleware({getattr(self.cls, '__name__', self.cls)!r}, **{self.kwargs!r})"


class BaseHTTPMiddleware:
    """Subclass it and write `async def dispatch(self, request, call_next)`, or give `dispatch=`
    (what `@app.middleware("http")` does)."""

    def __init__(self, app: Any = None, dispatch: Callable[[Request, CallNext], Awaitable[Response]] | None = None) -> None:
        self.app = app
        if dispatch is not None:
            self.dispatch_func = dispatch
        elif type(self).dispatch is BaseHTTPMiddleware.dispatch:
            raise WebAppError(f"{type(self).__name__}: a middleware defines dispatch(request, call_next)")
        else:
            self.dispatch_func = self.dispatch

    async def dispatch(self, request: Request, call_next: CallNext) -> Response:
        raise NotImplementedError


def make(cls: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> Callable[[Request, CallNext], Awaitable[Response]]:
    """The dispatch function of one middleware entry (at App import, so a bad one fails early)."""
    if not (isinstance(cls, type) and issubclass(cls, BaseHTTPMiddleware)):
        raise WebAppError(
            f"{getattr(cls, '__name__', cls)!r} is not a middleware FasterAPI can run: use @app.middleware('http'), "
            "a BaseHTTPMiddleware subclass, or fasterapi.middleware's CORSMiddleware / TrustedHostMiddleware "
            "(ASGI middleware classes do not run here)"
        )
    return cls(None, *args, **kwargs).dispatch_func


class CapturedResponse(Response):
    """What call_next returns for an answer with a body in memory: a Response, plus
    `body_iterator` as Starlette's call_next response has."""

    @property
    def body_iterator(self) -> Any:
        async def one() -> Any:
            yield self.body

        return one()


class Capture:
    """Stands in for the C request while the route runs under middleware: everything is the real
    request's, except that the answer is kept (as a Response, in `future`) instead of sent."""

    __slots__ = ("_c", "future", "request")

    def __init__(self, creq: Any, future: Any, request: Request) -> None:
        self._c = creq
        self.future = future
        self.request = request  # the middleware's Request: the route's shares its .state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._c, name)

    def respond(self, status: int, content_type: str | None, headers: Any, body: Any) -> None:
        if self.future.done():  # cancelled (timeout), or a second answer after a 504
            return
        if hasattr(body, "_fa_start"):
            resp = body  # the StreamingResponse itself, not started: sent later as it is then
        else:
            resp = CapturedResponse.__new__(CapturedResponse)
            resp.body = body if isinstance(body, bytes) else bytes(body)
        resp.status_code = status
        resp.media_type = content_type
        resp.headers = MutableHeaders(list(headers) if headers else None)
        self.future.set_result(resp)


# ---------------------------------------------------------------------------------------------
# CORS (Fetch standard §3.2, "CORS protocol"), Starlette's CORSMiddleware semantics

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
# CORS-safelisted request headers (Fetch §2.2.2): allowed without being listed.
SAFELISTED_HEADERS = {"Accept", "Accept-Language", "Content-Language", "Content-Type"}


def _add_vary(headers: MutableHeaders, value: str) -> None:
    old = headers.get("vary")
    headers["Vary"] = f"{old}, {value}" if old else value


class CORSMiddleware(BaseHTTPMiddleware):
    """Answers CORS preflights (OPTIONS with Origin and Access-Control-Request-Method: 200, or
    400 "Disallowed CORS origin/method/headers") and adds Access-Control-Allow-Origin (and the
    credential / exposed-header fields) to the answers of allowed origins."""

    def __init__(
        self,
        app: Any = None,
        allow_origins: Sequence[str] = (),
        allow_methods: Sequence[str] = ("GET",),
        allow_headers: Sequence[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        expose_headers: Sequence[str] = (),
        max_age: int = 600,
    ) -> None:
        self.app = app
        self.dispatch_func = self.dispatch
        methods = ALL_METHODS if "*" in allow_methods else tuple(m.upper() for m in allow_methods)
        self.allow_all_origins = "*" in allow_origins
        self.allow_all_headers = "*" in allow_headers
        self.allow_origins = list(allow_origins)
        self.allow_methods = methods
        self.allow_headers = sorted(h.lower() for h in SAFELISTED_HEADERS | set(allow_headers))
        self.allow_origin_regex = re.compile(allow_origin_regex) if allow_origin_regex is not None else None
        # With credentials the answer names the origin, never "*" (Fetch §3.2.5).
        self.explicit_origin = not self.allow_all_origins or allow_credentials
        simple: list[tuple[str, str]] = []
        if self.allow_all_origins:
            simple.append(("Access-Control-Allow-Origin", "*"))
        if allow_credentials:
            simple.append(("Access-Control-Allow-Credentials", "true"))
        if expose_headers:
            simple.append(("Access-Control-Expose-Headers", ", ".join(expose_headers)))
        self.simple_headers = simple
        pre: list[tuple[str, str]] = [("Vary", "Origin")] if self.explicit_origin else [("Access-Control-Allow-Origin", "*")]
        pre += [("Access-Control-Allow-Methods", ", ".join(methods)), ("Access-Control-Max-Age", str(max_age))]
        if self.allow_headers and not self.allow_all_headers:
            pre.append(("Access-Control-Allow-Headers", ", ".join(self.allow_headers)))
        if allow_credentials:
            pre.append(("Access-Control-Allow-Credentials", "true"))
        self.preflight_headers = pre

    def is_allowed_origin(self, origin: str) -> bool:
        if self.allow_all_origins:
            return True
        if self.allow_origin_regex is not None and self.allow_origin_regex.fullmatch(origin):
            return True
        return origin in self.allow_origins

    async def dispatch(self, request: Request, call_next: CallNext) -> Response:
        headers = request.headers
        origin = headers.get("origin")
        if origin is None:  # not a cross-origin request
            return await call_next(request)
        if request.method == "OPTIONS" and "access-control-request-method" in headers:
            return self.preflight(origin, headers)
        response = await call_next(request)
        for k, v in self.simple_headers:
            response.headers[k] = v
        # A credentialed request (a cookie) may not be answered with "*" (Fetch §3.2.5).
        if (self.allow_all_origins and "cookie" in headers) or (not self.allow_all_origins and self.is_allowed_origin(origin)):
            response.headers["Access-Control-Allow-Origin"] = origin
            _add_vary(response.headers, "Origin")
        return response

    def preflight(self, origin: str, headers: Any) -> Response:
        out = MutableHeaders(self.preflight_headers)
        failures = []
        if self.is_allowed_origin(origin):
            if self.explicit_origin:
                out["Access-Control-Allow-Origin"] = origin
        else:
            failures.append("origin")
        if headers.get("access-control-request-method") not in self.allow_methods:
            failures.append("method")
        asked = headers.get("access-control-request-headers")
        if asked is not None:
            if self.allow_all_headers:
                out["Access-Control-Allow-Headers"] = asked
            elif any(h.strip() not in self.allow_headers for h in asked.lower().split(",")):
                failures.append("headers")
        if failures:
            return PlainTextResponse("Disallowed CORS " + ", ".join(failures), status_code=400, headers=out)
        return PlainTextResponse("OK", status_code=200, headers=out)


# ---------------------------------------------------------------------------------------------
# Host header check (RFC 9110 §7.2), Starlette's TrustedHostMiddleware semantics


class TrustedHostMiddleware(BaseHTTPMiddleware):
    """Answers 400 "Invalid host header" unless the Host is one of allowed_hosts ("example.com",
    "*.example.com", or "*" for any). With www_redirect, a request for example.com when only
    www.example.com is allowed is redirected there (307)."""

    def __init__(self, app: Any = None, allowed_hosts: Sequence[str] | None = None, www_redirect: bool = True) -> None:
        self.app = app
        self.dispatch_func = self.dispatch
        hosts = list(allowed_hosts) if allowed_hosts is not None else ["*"]
        for pattern in hosts:
            if "*" in pattern[1:]:
                raise WebAppError("Domain wildcard patterns must be like '*.example.com'.")
        self.allowed_hosts = hosts
        self.allow_any = "*" in hosts
        self.www_redirect = www_redirect

    async def dispatch(self, request: Request, call_next: CallNext) -> Response:
        if self.allow_any:
            return await call_next(request)
        host = (request.headers.get("host") or "").split(":")[0]
        redirect = False
        for pattern in self.allowed_hosts:
            if host == pattern or (pattern.startswith("*") and host.endswith(pattern[1:])):
                return await call_next(request)
            if "www." + host == pattern:
                redirect = True
        if redirect and self.www_redirect:
            url = request.url
            netloc = request.headers.get("host") or ""
            query = f"?{url.query}" if getattr(url, "query", "") else ""
            return RedirectResponse(f"{url.scheme}://www.{netloc}{url.path}{query}")
        return PlainTextResponse("Invalid host header", status_code=400)
