"""Building `elicitation/create` and `sampling/createMessage` params and reading the answers."""

from __future__ import annotations

from typing import Any

from .binding import convert
from .context import AcceptedElicitation, CancelledElicitation, DeclinedElicitation, ElicitationResult
from .schema import inline_refs, is_object_class, is_pydantic_model, strip_type, type_schema
from .types import AudioContent, ImageContent, Model, ModelPreferences, TextContent, dump


def _flat(prop: dict[str, Any]) -> dict[str, Any]:
    """Elicitation properties must be primitive: Optional[X] becomes X."""
    any_of = prop.get("anyOf")
    if isinstance(any_of, list):
        arms = [a for a in any_of if a != {"type": "null"}]
        if len(arms) == 1:
            rest = {k: v for k, v in prop.items() if k != "anyOf"}
            prop = {**arms[0], **rest}
    if "default" in prop and prop["default"] is None:  # clients reject a null default
        prop = {k: v for k, v in prop.items() if k != "default"}
    return prop


def elicitation_schema(spec: Any) -> tuple[dict[str, Any], bool, Any]:
    """(requestedSchema, unwrap "value", type to convert the answer to)."""
    if spec is None:
        return {"type": "object", "properties": {}}, False, None
    if isinstance(spec, dict):
        out = dict(spec)
        out.setdefault("type", "object")
        return out, False, None
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(x, str) for x in spec):
        prop = {"type": "string", "enum": list(spec)}
        return {"type": "object", "properties": {"value": prop}, "required": ["value"]}, True, None
    base = strip_type(spec)
    if is_object_class(base) or is_pydantic_model(base):
        full = inline_refs(type_schema(base))
        out = {"type": "object", "properties": {k: _flat(v) for k, v in full.get("properties", {}).items()}}
        if full.get("required"):
            out["required"] = list(full["required"])
        return out, False, base
    prop = _flat(inline_refs(type_schema(spec)))
    prop.pop("title", None)
    return {"type": "object", "properties": {"value": prop}, "required": ["value"]}, True, spec


def parse_elicitation(result: dict[str, Any], unwrap: bool, target: Any) -> ElicitationResult:
    action = result.get("action")
    if action == "accept":
        content = result.get("content") or {}
        value: Any = content.get("value") if unwrap else content
        data = convert(value, target, lax=True, where="elicitation") if target is not None else value
        return AcceptedElicitation(data=data)
    if action == "decline":
        return DeclinedElicitation()
    return CancelledElicitation()


def _message(m: Any) -> dict[str, Any]:
    if isinstance(m, str):
        return {"role": "user", "content": {"type": "text", "text": m}}
    if not isinstance(m, (dict, Model)) and hasattr(m, "role") and hasattr(m, "content"):
        # mcp.types.SamplingMessage and the like, by shape; its content may be a foreign block.
        from .content import content_block

        content = m.content
        return {"role": str(m.role), "content": content if isinstance(content, dict) else content_block(content)}
    d: dict[str, Any] = dump(m)
    if isinstance(d.get("content"), str):
        d = {**d, "content": {"type": "text", "text": d["content"]}}
    return d


def sampling_params(
    messages: Any,
    system_prompt: str | None,
    include_context: str | None,
    temperature: float | None,
    max_tokens: int | None,
    model_preferences: Any,
    stop_sequences: list[str] | None,
    metadata: dict[str, Any] | None,
) -> dict[str, Any]:
    msgs = [_message(messages)] if isinstance(messages, str) else [_message(m) for m in messages]
    params: dict[str, Any] = {"messages": msgs, "maxTokens": int(max_tokens or 512)}
    if system_prompt is not None:
        params["systemPrompt"] = system_prompt
    if include_context is not None:
        params["includeContext"] = include_context
    if temperature is not None:
        params["temperature"] = temperature
    if stop_sequences is not None:
        params["stopSequences"] = list(stop_sequences)
    if metadata is not None:
        params["metadata"] = metadata
    if model_preferences is not None:
        if isinstance(model_preferences, str):
            model_preferences = {"hints": [{"name": model_preferences}]}
        elif isinstance(model_preferences, (list, tuple)):
            model_preferences = {"hints": [{"name": n} for n in model_preferences]}
        elif isinstance(model_preferences, ModelPreferences):
            model_preferences = model_preferences.to_dict()
        params["modelPreferences"] = dump(model_preferences)
    return params


def _block(c: Any) -> Any:
    if not isinstance(c, dict):
        return c
    kind = c.get("type")
    if kind == "text":
        return TextContent(text=c.get("text", ""), annotations=c.get("annotations"), meta=c.get("_meta"))
    if kind == "image":
        return ImageContent(data=c.get("data", ""), mimeType=c.get("mimeType", ""), annotations=c.get("annotations"))
    if kind == "audio":
        return AudioContent(data=c.get("data", ""), mimeType=c.get("mimeType", ""), annotations=c.get("annotations"))
    return c


def sampling_result(result: dict[str, Any]) -> Any:
    content = result.get("content")
    if isinstance(content, list):
        return [_block(c) for c in content]
    return _block(content)
