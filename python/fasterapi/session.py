"""`ctx.session` and `ctx.request_context`: the python-sdk's `ServerSession` and
`RequestContext` as servers written for FastMCP use them, mapped onto the host's per-call handle.

    ctx.request_context.lifespan_context   what FastMCP(lifespan=...) yielded in this worker
    ctx.request_context.request_id         the JSON-RPC id, as sent (str or int)
    ctx.request_context.meta.progressToken the request's _meta.progressToken, or None
    await ctx.session.create_message(...)  sampling/createMessage -> CreateMessageResult
    await ctx.session.list_roots()         roots/list -> ListRootsResult
    await ctx.session.send_log_message(level, data, logger=None)
    await ctx.session.send_progress_notification(progress_token, progress, total, message)
    await ctx.session.send_resource_updated(uri)
    await ctx.session.send_tool_list_changed() / send_resource_list_changed() /
          send_prompt_list_changed()

Notifications are sent when called (the awaitable is already complete, as Context's are); the
two requests wait for the client. The lifespan context is per worker: each worker interpreter
enters the lifespan once, so a connection it opens belongs to that worker.
"""

from __future__ import annotations

import inspect
from typing import Any

from .context import Completed, _level, _raise_if_error
from .errors import METHOD_NOT_FOUND, McpError
from .types import CreateMessageResult, ListRootsResult, Root, dump


class RequestMeta:
    """The request's `_meta` (the python-sdk's `RequestParams.Meta`): `progressToken`."""

    def __init__(self, progress_token: Any) -> None:
        self.progressToken = progress_token

    def __getitem__(self, key: str) -> Any:
        if key == "progressToken":
            return self.progressToken
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        return self.progressToken if key == "progressToken" and self.progressToken is not None else default

    def __repr__(self) -> str:
        return f"RequestMeta(progressToken={self.progressToken!r})"


class RequestContext:
    """`ctx.request_context`: request_id, meta, session, lifespan_context (and request: None,
    there is no HTTP request on stdio)."""

    def __init__(self, context: Any) -> None:
        handle = context._need()
        self.request_id: Any = handle.request_id
        token = getattr(handle, "progress_token", None)
        self.meta: RequestMeta | None = RequestMeta(token) if token is not None else None
        self.session = ServerSession(context)
        dispatcher = context._dispatcher
        self.lifespan_context: Any = getattr(dispatcher, "lifespan_context", {})
        self.request: Any = None


def _done(value: Any = None) -> Completed[Any]:
    return Completed(value)


class ServerSession:
    """`ctx.session`: what servers call on the python-sdk's ServerSession."""

    def __init__(self, context: Any) -> None:
        self._context = context

    def _host(self, name: str) -> Any:
        fn = getattr(self._context._need(), name, None)
        if fn is None:
            raise McpError(f"ctx.session cannot {name} here: this host cannot send it to the client",
                           code=METHOD_NOT_FOUND)
        return fn

    def _notify(self, method: str, params: dict[str, Any] | None = None) -> Any:
        self._host("notify")(method, params)
        return _done()

    # Notifications ------------------------------------------------------------------------------

    def send_log_message(self, level: str, data: Any, logger: str | None = None,
                         related_request_id: Any = None) -> Any:
        self._context._need().log(_level(level), dump(data), logger)
        return _done()

    def send_progress_notification(self, progress_token: Any, progress: float, total: float | None = None,
                                   message: str | None = None, related_request_id: Any = None) -> Any:
        if progress_token is None:  # the client asked for no progress
            return _done()
        params: dict[str, Any] = {"progressToken": progress_token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        return self._notify("notifications/progress", params)

    def send_resource_updated(self, uri: Any) -> Any:
        return self._notify("notifications/resources/updated", {"uri": str(uri)})

    def send_tool_list_changed(self) -> Any:
        return self._notify("notifications/tools/list_changed")

    def send_resource_list_changed(self) -> Any:
        return self._notify("notifications/resources/list_changed")

    def send_prompt_list_changed(self) -> Any:
        return self._notify("notifications/prompts/list_changed")

    # Capabilities -------------------------------------------------------------------------------

    def check_client_capability(self, capability: Any) -> bool:
        """The python-sdk's check: True if the client declared everything `capability` names (a
        ClientCapabilities-like object or a dict such as {"elicitation": {}} or
        {"roots": {"listChanged": True}}). In protocol 2026-07-28 these are the capabilities of
        the request being served."""
        have = getattr(self._context._need(), "client_capabilities", None)
        if have is None:
            raise McpError("ctx.session cannot check_client_capability here: this host does not "
                           "report the client's capabilities", code=METHOD_NOT_FOUND)
        return _covers(have, dump(capability))

    # Requests -------------------------------------------------------------------------------------

    def create_message(self, messages: Any, *, max_tokens: int, system_prompt: str | None = None,
                       include_context: str | None = None, temperature: float | None = None,
                       stop_sequences: list[str] | None = None, metadata: dict[str, Any] | None = None,
                       model_preferences: Any = None, related_request_id: Any = None,
                       key: str | None = None, **_: Any) -> Any:
        """sampling/createMessage; awaitable of a CreateMessageResult (content a content block).
        `key` (a fasterapi extension) names the question in a 2026-07-28 input_required result."""
        from .elicitation import _block, sampling_params

        params = sampling_params(messages, system_prompt, include_context, temperature, max_tokens,
                                 model_preferences, stop_sequences, metadata)

        def finish(r: Any) -> CreateMessageResult:
            r = _raise_if_error(r)
            return CreateMessageResult(role=r.get("role", "assistant"), content=_block(r.get("content")),
                                       model=r.get("model", ""), stopReason=r.get("stopReason"),
                                       meta=r.get("_meta"))

        return self._request("sample", None, params, finish, key)

    def list_roots(self, *, key: str | None = None) -> Any:
        """roots/list; awaitable of a ListRootsResult. `key`: as for create_message."""

        def finish(r: Any) -> ListRootsResult:
            r = _raise_if_error(r)
            roots = [Root(uri=x.get("uri", ""), name=x.get("name"), meta=x.get("_meta"))
                     for x in r.get("roots", []) if isinstance(x, dict)]
            return ListRootsResult(roots=roots, meta=r.get("_meta"))

        return self._request("request", "roots/list", None, finish, key)

    def _request(self, name: str, method: str | None, params: Any, finish: Any, key: str | None = None) -> Any:
        fn = self._host(name)
        args = (params,) if method is None else (method, params)
        pending = fn(*args) if key is None else fn(*args, key=str(key))
        if inspect.isawaitable(pending):
            async def wait() -> Any:
                return finish(await pending)

            return wait()
        return _done(finish(pending))


__all__ = ["RequestContext", "RequestMeta", "ServerSession"]


def _covers(have: Any, want: Any) -> bool:
    """Whether `have` (the declared capabilities) holds every key of `want` whose value is not
    None/False, recursively (an empty dict asks only for the key)."""
    if not isinstance(want, dict):
        return bool(have) if want else True
    if not isinstance(have, dict):
        return False
    return all(k in have and _covers(have[k], v) for k, v in want.items() if v is not None and v is not False)
