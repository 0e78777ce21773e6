"""Prompts: functions whose arguments (strings on the wire) fill a list of messages.

As in the python-sdk's `prompts/base.py`: a function may return a str (one user message), a
Message/UserMessage/AssistantMessage, a dict {"role", "content"}, or a list of those; content
blocks and Image helpers become user messages holding them; anything else becomes a user message
with its JSON. Arguments come from the signature (required = no default), their descriptions
from the docstring or `Annotated`; string values are converted to the annotated types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..binding import bind
from ..content import content_block, is_awaitable, is_content, json_text, jsonable
from ..context import Context, await_in, call_in
from ..docstring import humanize
from ..errors import INTERNAL_ERROR, INVALID_PARAMS, McpError
from ..schema import unwrap_annotated
from ..signature import FunctionInfo, analyze
from ..tools import icons_wire
from .. import types as _types
from ..types import Model


class Message:
    """A prompt message: `Message("text", role="assistant")` or with a content block."""

    role: str = "user"

    def __init__(self, content: Any, role: str | None = None, **_: Any) -> None:
        self.content = content
        if role is not None:
            self.role = role
        if self.role not in ("user", "assistant"):
            raise ValueError(f"role must be 'user' or 'assistant', not {self.role!r}")

    def to_dict(self) -> dict[str, Any]:
        return {"role": self.role, "content": content_block(self.content)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and other.to_dict() == self.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(role={self.role!r}, content={self.content!r})"


class UserMessage(Message):
    role = "user"

    def __init__(self, content: Any, **kw: Any) -> None:
        super().__init__(content, kw.pop("role", None), **kw)


class AssistantMessage(Message):
    role = "assistant"

    def __init__(self, content: Any, **kw: Any) -> None:
        super().__init__(content, kw.pop("role", None), **kw)


def message_dict(item: Any) -> dict[str, Any]:
    """One prompt result item as a PromptMessage dict."""
    if isinstance(item, Message):
        return item.to_dict()
    if isinstance(item, _types.PromptMessage):
        return {"role": item.role, "content": content_block(item.content)}
    if isinstance(item, str):
        return {"role": "user", "content": {"type": "text", "text": item}}
    if isinstance(item, dict) and "role" in item and "content" in item:
        role = item["role"]
        if role not in ("user", "assistant"):
            raise ValueError(f"role must be 'user' or 'assistant', not {role!r}")
        content = item["content"]
        if isinstance(content, dict):
            if "type" not in content:
                raise ValueError(f"message content has no 'type': {content!r}")
            return {"role": role, "content": dict(content)}
        return {"role": role, "content": content_block(content)}
    if is_content(item) or isinstance(item, Model):
        return {"role": "user", "content": content_block(item)}
    role, content = getattr(item, "role", None), getattr(item, "content", None)
    if role in ("user", "assistant") and content is not None and not isinstance(item, type):
        # mcp.types.PromptMessage / the python-sdk's Message classes, by shape
        return {"role": role, "content": dict(content) if isinstance(content, dict) else content_block(content)}
    return {"role": "user", "content": {"type": "text", "text": json_text(item)}}


@dataclass
class PromptArgument:
    """One argument of a prompt, as prompts/list describes it."""

    name: str
    description: str | None = None
    required: bool = False
    title: str | None = None

    def to_mcp(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.title:
            out["title"] = self.title
        if self.description:
            out["description"] = self.description
        out["required"] = self.required
        return out


@dataclass
class Prompt:
    """A registered prompt: its function and what prompts/list says of it."""

    name: str
    description: str
    fn: Callable[..., Any]
    info: FunctionInfo
    arguments: list[PromptArgument] = field(default_factory=list)
    title: str | None = None
    icons: list[Any] | None = None
    meta: dict[str, Any] | None = None
    tags: set[str] = field(default_factory=set)

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        icons: list[Any] | None = None,
        meta: dict[str, Any] | None = None,
        tags: set[str] | None = None,
    ) -> Prompt:
        info = analyze(fn, name)
        args = []
        for p in info.params:
            desc = p.description
            arg_title = None
            if p.field is not None:
                desc = p.field.description or desc
                arg_title = p.field.title
            for m in unwrap_annotated(p.annotation)[1]:
                if isinstance(m, str):
                    desc = m
            args.append(PromptArgument(p.name, desc, p.required, arg_title))
        return cls(
            name=info.name,
            description=description or info.description or humanize(info.name),
            fn=fn,
            info=info,
            arguments=args,
            title=title,
            icons=icons,
            meta=meta,
            tags=set(tags or ()),
        )

    def to_mcp(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.title:
            out["title"] = self.title
        out["description"] = self.description
        if self.arguments:
            out["arguments"] = [a.to_mcp() for a in self.arguments]
        icons = icons_wire(self.icons)
        if icons:
            out["icons"] = icons
        if self.meta:
            out["_meta"] = jsonable(self.meta)
        return out

    def render(self, arguments: dict[str, Any] | None, context: Context) -> Any:
        """A GetPromptResult dict, an `__error__` dict, or an awaitable of one. Never raises."""
        arguments = arguments or {}
        missing = [a.name for a in self.arguments if a.required and a.name not in arguments]
        if missing:
            return {
                "__error__": {
                    "code": INVALID_PARAMS,
                    "message": f"Missing required arguments for prompt {self.name}: {', '.join(missing)}",
                    "data": {"missing": missing},
                }
            }
        try:
            args, kwargs = bind(self.info, arguments, context, lax=True)
        except Exception as e:  # noqa: BLE001
            return {"__error__": {"code": INVALID_PARAMS, "message": f"Invalid arguments for prompt {self.name}: {e}"}}
        try:
            result = call_in(context, self.fn, args, kwargs)
            if is_awaitable(result):
                return await_in(context, result, self._result, self._error)
            return self._result(result)
        except Exception as e:  # noqa: BLE001
            return self._error(e)

    def _result(self, result: Any) -> dict[str, Any]:
        items = result if isinstance(result, (list, tuple)) else [result]
        out: dict[str, Any] = {}
        if self.description:
            out["description"] = self.description
        out["messages"] = [message_dict(m) for m in items]
        return out

    def _error(self, e: BaseException) -> dict[str, Any]:
        if isinstance(e, McpError):
            return {"__error__": e.error}
        return {"__error__": {"code": INTERNAL_ERROR, "message": f"Error rendering prompt {self.name}: {e}"}}
