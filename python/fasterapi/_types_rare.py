"""The protocol objects of fasterapi.types that no start-up path needs: the client's answers
(sampling, roots), completion and prompt references, ErrorData, PromptMessage. fasterapi.types
imports this module the first time one of them is asked for (its __getattr__), which keeps their
dataclass creation (~0.3 ms each) off every interpreter's start (bench/README.md, "Cold start").
Import them from fasterapi.types (or fasterapi), not from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .types import Model, Role, _accept_meta_alias, _has_meta

@dataclass(kw_only=True)
class PromptMessage(Model):
    """One message of a prompt's result."""

    role: Role
    content: Any


@dataclass(kw_only=True)
class SamplingMessage(Model):
    """One message of a sampling request."""

    role: Role
    content: Any


@dataclass(kw_only=True)
class CreateMessageResult(Model):
    """The client's answer to `sampling/createMessage` (`ctx.session.create_message()`)."""

    role: Role = "assistant"
    content: Any = None
    model: str = ""
    stopReason: str | None = None
    meta: dict[str, Any] | None = None


@dataclass(kw_only=True)
class Root(Model):
    """A root the client exposes (roots/list)."""

    uri: str
    name: str | None = None
    meta: dict[str, Any] | None = None


@dataclass(kw_only=True)
class ListRootsResult(Model):
    """The client's answer to `roots/list` (`ctx.session.list_roots()`)."""

    roots: list[Root] = field(default_factory=list)
    meta: dict[str, Any] | None = None


@dataclass(kw_only=True)
class ModelHint(Model):
    """A hint naming a model, for sampling."""

    name: str | None = None


@dataclass(kw_only=True)
class ModelPreferences(Model):
    """The server's model preferences for sampling."""

    hints: list[ModelHint | dict[str, Any]] | None = None
    costPriority: float | None = None
    speedPriority: float | None = None
    intelligencePriority: float | None = None


@dataclass(kw_only=True)
class PromptReference(Model):
    """A completion/complete reference to a prompt."""

    type: Literal["ref/prompt"] = "ref/prompt"
    name: str


@dataclass(kw_only=True)
class ResourceTemplateReference(Model):
    """A completion/complete reference to a resource template."""

    type: Literal["ref/resource"] = "ref/resource"
    uri: str



@dataclass(kw_only=True)
class CompletionArgument(Model):
    """The argument being completed: its name and the value so far."""

    name: str
    value: str


@dataclass(kw_only=True)
class CompletionContext(Model):
    """Arguments already resolved, for completion."""

    arguments: dict[str, str] | None = None


@dataclass(kw_only=True)
class Completion(Model):
    """A completion/complete answer: values, total, hasMore."""

    values: list[str] = field(default_factory=list)
    total: int | None = None
    hasMore: bool | None = None


@dataclass(kw_only=True)
class ErrorData(Model):
    """A JSON-RPC error's code, message and data."""

    code: int
    message: str
    data: Any = None


ResourceReference = ResourceTemplateReference  # the python-sdk's older name

for _cls in list(globals().values()):
    if _has_meta(_cls):
        _accept_meta_alias(_cls)
del _cls
