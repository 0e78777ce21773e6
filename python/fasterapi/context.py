"""`Context`: what a tool, resource or prompt function gets when it declares a parameter annotated
`Context` (any name). It wraps the host's per-call handle (`_fasterapi.CallContext`).

FastMCP's methods are `async`. Here the work (sending a log line, a progress notification, reading
a sync resource) is done synchronously when the method is called, and the method returns an
already-completed awaitable: `await ctx.info("x")` and a plain `ctx.info("x")` in a sync tool both
work. Only what must wait for the client (`elicit`, `sample`) needs `await`.
"""

from __future__ import annotations

import base64
import contextvars
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Generator, Generic, Literal, TypeVar, Union

from .errors import METHOD_NOT_FOUND, McpError, ResourceError
from .types import ReadResourceContents, dump

if TYPE_CHECKING:
    from .server import FastMCP

T = TypeVar("T")

LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
_LEVEL_ALIASES = {"warn": "warning", "fatal": "critical", "exception": "error"}

_current: contextvars.ContextVar[Context | None] = contextvars.ContextVar("fasterapi_context", default=None)


class Completed(Generic[T]):
    """An awaitable that is already finished: awaiting it returns `value` at once."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, T]:
        return self.value
        yield  # noqa: B901 - makes this a generator; never reached

    def __repr__(self) -> str:
        return f"Completed({self.value!r})"


class AwaitableList(list):  # type: ignore[type-arg]
    """A list that can also be awaited (the result of `ctx.read_resource()`)."""

    def __await__(self) -> Generator[Any, None, list[Any]]:
        return list(self)
        yield  # noqa: B901


@dataclass
class AcceptedElicitation(Generic[T]):
    """The user accepted: `data` holds the answer, of the requested type."""

    data: T
    action: Literal["accept"] = "accept"


@dataclass
class DeclinedElicitation:
    """The user declined to answer."""

    action: Literal["decline"] = "decline"


@dataclass
class CancelledElicitation:
    """The user dismissed the question without a choice."""

    action: Literal["cancel"] = "cancel"


ElicitationResult = Union[AcceptedElicitation[Any], DeclinedElicitation, CancelledElicitation]


def _level(level: str) -> str:
    name = str(level).lower()
    name = _LEVEL_ALIASES.get(name, name)
    if name not in LEVELS:
        raise ValueError(f"Invalid log level {level!r}; use one of {', '.join(LEVELS)}")
    return name


def _raise_if_error(result: Any) -> Any:
    if isinstance(result, dict) and "__error__" in result:
        err = result["__error__"] or {}
        raise McpError(err.get("message", "error"), code=int(err.get("code", -32603)), data=err.get("data"))
    return result


class Context:
    """Per-request access to logging, progress, resources, elicitation and sampling."""

    def __class_getitem__(cls, _params: Any) -> type[Context]:
        """`Context[ServerSession, None]` (the python-sdk's generic spelling) is just Context."""
        return cls

    def __init__(self, handle: Any = None, fastmcp: FastMCP | None = None, dispatcher: Any = None) -> None:
        self._handle = handle
        self._fastmcp = fastmcp
        self._dispatcher = dispatcher

    # Properties --------------------------------------------------------------------------------

    @property
    def fastmcp(self) -> FastMCP:
        if self._fastmcp is None:
            raise ValueError("Context is not available outside of a request")
        return self._fastmcp

    def _need(self) -> Any:
        if self._handle is None:
            raise ValueError("Context is not available outside of a request")
        return self._handle

    @property
    def request_id(self) -> str:
        """The JSON-RPC id of the current request, as a string (as FastMCP gives it)."""
        return str(self._need().request_id)

    @property
    def session_id(self) -> str | None:
        return getattr(self._need(), "session_id", None)

    @property
    def client_id(self) -> str | None:
        return getattr(self._handle, "client_id", None)

    @property
    def cancelled(self) -> bool:
        """True once the client cancelled this request (long sync loops may poll it)."""
        return bool(getattr(self._handle, "cancelled", False))

    is_cancelled = cancelled

    @property
    def request_context(self) -> Any:
        """The python-sdk's RequestContext: request_id, meta (progressToken), session and the
        app's lifespan_context (see session.py)."""
        from .session import RequestContext

        return RequestContext(self)

    @property
    def session(self) -> Any:
        """The python-sdk's ServerSession methods servers call (see session.py)."""
        from .session import ServerSession

        return ServerSession(self)

    # Logging -----------------------------------------------------------------------------------

    def log(
        self,
        level: str,
        message: Any = None,
        logger_name: str | None = None,
        *,
        extra: dict[str, Any] | None = None,
    ) -> Completed[None]:
        """Sends `notifications/message`. Accepts FastMCP 1.x `log(level, message)` and PrefectHQ
        2.x `log(message, level=None)` orders."""
        if message is None:
            level, message = "info", level
        elif str(level).lower() not in LEVELS and str(message).lower() in LEVELS:
            level, message = message, level
        data: Any = message if extra is None else {"msg": message, "extra": dump(extra)}
        self._need().log(_level(level), data, logger_name)
        return Completed(None)

    def debug(self, message: Any, logger_name: str | None = None, **kw: Any) -> Completed[None]:
        return self.log("debug", message, logger_name, **kw)

    def info(self, message: Any, logger_name: str | None = None, **kw: Any) -> Completed[None]:
        return self.log("info", message, logger_name, **kw)

    def notice(self, message: Any, logger_name: str | None = None, **kw: Any) -> Completed[None]:
        return self.log("notice", message, logger_name, **kw)

    def warning(self, message: Any, logger_name: str | None = None, **kw: Any) -> Completed[None]:
        return self.log("warning", message, logger_name, **kw)

    def error(self, message: Any, logger_name: str | None = None, **kw: Any) -> Completed[None]:
        return self.log("error", message, logger_name, **kw)

    def critical(self, message: Any, logger_name: str | None = None, **kw: Any) -> Completed[None]:
        return self.log("critical", message, logger_name, **kw)

    # Progress ----------------------------------------------------------------------------------

    def report_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> Completed[None]:
        """Sends `notifications/progress` when the client asked for progress (a progressToken);
        otherwise does nothing, as FastMCP does."""
        self._need().progress(
            float(progress), None if total is None else float(total), None if message is None else str(message)
        )
        return Completed(None)

    def close_sse_stream(self) -> Completed[None]:
        """Streamable HTTP (as python-sdk's Context.close_sse_stream, SEP-1699): closes the
        connection carrying this request's SSE stream now; the client reconnects with
        Last-Event-ID and gets the rest, then the result. Does nothing on stdio."""
        close = getattr(self._need(), "close_stream", None)
        if close is not None:
            close()
        return Completed(None)

    # Resources ---------------------------------------------------------------------------------

    def notify_resource_updated(self, uri: Any) -> Completed[None]:
        """Sends `notifications/resources/updated` to every client subscribed to `uri` (any
        session, on its standalone stream), e.g. after this tool changed the data behind it.
        `ctx.session.send_resource_updated(uri)` tells only this request's client, as in the
        official SDK."""
        self._need().notify_resource_updated(str(uri))
        return Completed(None)

    def read_resource(self, uri: str) -> Any:
        """Reads one of this server's resources: a list of `ReadResourceContents` (content is str
        or bytes). Awaitable; a sync tool may use the list directly when the resource function
        is a plain `def`."""
        if self._dispatcher is None:
            raise ValueError("Context is not available outside of a request")
        result = self._dispatcher.read_resource(str(uri), self._handle)
        if inspect.isawaitable(result):
            return self._read_async(result)
        return AwaitableList(_contents(result))

    async def _read_async(self, pending: Any) -> list[ReadResourceContents]:
        return _contents(await pending)

    # Client requests ---------------------------------------------------------------------------

    def _host(self, name: str) -> Any:
        fn = getattr(self._need(), name, None)
        if fn is None:
            raise McpError(
                f"ctx.{name}() is not supported here: this fasterapi host or session cannot send "
                f"requests to the client yet",
                code=METHOD_NOT_FOUND,
            )
        return fn

    def elicit(
        self, message: str, schema: Any = None, *, response_type: Any = None, key: str | None = None
    ) -> Any:
        """Asks the user for input (`elicitation/create`, form mode). `schema` is a dataclass,
        TypedDict, pydantic model, a JSON schema dict, a primitive type / Literal / Enum / list of
        choices (wrapped as {"value": ...} like PrefectHQ fastmcp), or None (no fields).
        Returns (awaitable) AcceptedElicitation(data) | DeclinedElicitation | CancelledElicitation.
        `key` (a fasterapi extension) names the question in a 2026-07-28 `input_required` result
        (`inputRequests.<key>`, which the client answers by that key); None lets the engine name it."""
        from .elicitation import elicitation_schema, parse_elicitation

        fn = self._host("elicit")
        requested, unwrap, target = elicitation_schema(schema if schema is not None else response_type)
        params = {"message": str(message), "requestedSchema": requested}
        pending = fn(params) if key is None else fn(params, key=str(key))
        if inspect.isawaitable(pending):
            return self._finish_async(pending, lambda r: parse_elicitation(_raise_if_error(r), unwrap, target))
        return Completed(parse_elicitation(_raise_if_error(pending), unwrap, target))

    def sample(
        self,
        messages: Any,
        system_prompt: str | None = None,
        include_context: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        model_preferences: Any = None,
        stop_sequences: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        key: str | None = None,
    ) -> Any:
        """Asks the client's LLM for a completion (`sampling/createMessage`); returns (awaitable)
        the response content block (TextContent, ImageContent, ...), as PrefectHQ fastmcp does.
        `key`: as for `elicit`."""
        from .elicitation import sampling_params, sampling_result

        fn = self._host("sample")
        params = sampling_params(
            messages, system_prompt, include_context, temperature, max_tokens, model_preferences,
            stop_sequences, metadata,
        )
        pending = fn(params) if key is None else fn(params, key=str(key))
        if inspect.isawaitable(pending):
            return self._finish_async(pending, lambda r: sampling_result(_raise_if_error(r)))
        return Completed(sampling_result(_raise_if_error(pending)))

    async def _finish_async(self, pending: Any, finish: Any) -> Any:
        return finish(await pending)


def _contents(result: Any) -> list[ReadResourceContents]:
    if isinstance(result, dict) and "__error__" in result:
        raise ResourceError(str((result["__error__"] or {}).get("message", "resource error")))
    out: list[ReadResourceContents] = []
    for c in result.get("contents", []):
        if "blob" in c:
            out.append(ReadResourceContents(content=base64.b64decode(c["blob"]), mime_type=c.get("mimeType")))
        else:
            out.append(ReadResourceContents(content=c.get("text", ""), mime_type=c.get("mimeType")))
    return out


def get_context() -> Context:
    """The Context of the request being served (FastMCP's `mcp.get_context()`), or an inert one
    outside a request."""
    return _current.get() or Context()


def set_current(ctx: Context | None) -> contextvars.Token[Context | None]:
    return _current.set(ctx)


def reset_current(token: contextvars.Token[Context | None]) -> None:
    _current.reset(token)


def call_in(context: Context, fn: Callable[..., Any], args: Any, kwargs: dict[str, Any]) -> Any:
    """Calls a user function with `context` current (what `get_context()` returns inside it)."""
    token = _current.set(context)
    try:
        return fn(*args, **kwargs)
    finally:
        _current.reset(token)


async def await_in(
    context: Context, pending: Awaitable[Any], done: Callable[[Any], T], fail: Callable[[Exception], T]
) -> T:
    """Awaits what an `async def` user function returned, with `context` current again (the
    host's task does not inherit it from the call that made the coroutine): `done(value)`, or
    `fail(exception)` if the function or `done` raised an Exception."""
    token = _current.set(context)
    try:
        return done(await pending)
    except Exception as e:  # noqa: BLE001 - the caller's `fail` makes it an answer
        return fail(e)
    finally:
        _current.reset(token)


__all__ = [
    "Context", "Completed", "AwaitableList", "AcceptedElicitation", "DeclinedElicitation",
    "CancelledElicitation", "ElicitationResult", "get_context", "LEVELS",
]
