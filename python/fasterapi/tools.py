"""A registered tool: its MCP description (input/output schema) and how a call runs.

Rules copied from the python-sdk's FastMCP 1.x (`tools/base.py`, `utilities/func_metadata.py`):
* the description is the docstring (here without the parameter sections, which move into the
  schema); a tool without one gets its humanised name, because clients require a description;
* a failing call becomes `isError: true` with the text "Error executing tool NAME: MESSAGE";
* structured output when `structured_output` is None is decided by the return annotation:
  str/int/float/bool/bytes/None, generics (list[int], tuple, Optional, Union, ...) and Any are
  wrapped as {"result": value}; dict[str, T], dataclasses, TypedDicts, annotated classes (and
  pydantic models) are the object itself; no annotation, bare list/dict and classes without
  type hints give no structured output. Content return types (Image, TextContent, ...) never do.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, get_args, get_origin

from .binding import bind
from .content import (
    CONTENT_CLASS_NAMES,
    MEDIA_TYPES,
    content_block,
    foreign_dump,
    is_awaitable,
    is_foreign_result,
    jsonable,
    to_content,
)
from .context import Context, reset_current, set_current
from .docstring import humanize
from .errors import InvalidSignature, McpError
from .schema import (
    NoneType,
    SchemaBuilder,
    is_object_class,
    is_pydantic_model,
    is_typeddict,
    unwrap_annotated,
)
from .signature import FunctionInfo, analyze
from .signature import input_schema as _input_schema  # `input_schema` is a parameter name below
from .types import CONTENT_TYPES, CallToolResult, ToolAnnotations, dump


class _NotSet:
    def __repr__(self) -> str:
        return "NotSet"


NotSet: Any = _NotSet()

_CONTENTISH = CONTENT_TYPES + MEDIA_TYPES + (CallToolResult,)

# What a failing tool may raise and still get an answer: a tool failure is a result, not a crash,
# and sys.exit() in a tool must not end the worker (from a task, asyncio would re-raise
# SystemExit/KeyboardInterrupt out of the worker's run_forever and stop it for good).
_CAUGHT = (Exception, SystemExit, KeyboardInterrupt)


def _mentions_content(tp: Any) -> bool:
    """Whether a return annotation names content (ours, or another library's content classes by
    name: `list[mcp.types.TextContent]` asks for content blocks, not an outputSchema)."""
    tp, _ = unwrap_annotated(tp)
    if isinstance(tp, type) and (issubclass(tp, _CONTENTISH) or tp.__name__ in CONTENT_CLASS_NAMES):
        return True
    return any(_mentions_content(a) for a in get_args(tp) if a is not Ellipsis)


def output_schema_for(ret: Any, fname: str, structured_output: bool | None) -> tuple[dict[str, Any] | None, bool]:
    """(outputSchema, wrap in {"result": ...}) for a return annotation, FastMCP's rules."""
    if structured_output is False:
        return None, False
    if ret is inspect.Parameter.empty:
        if structured_output:
            raise InvalidSignature(f"Function {fname}: return annotation required for structured output")
        return None, False
    base, _ = unwrap_annotated(ret)
    if _mentions_content(base):
        if structured_output:
            raise InvalidSignature(f"Function {fname}: content return types cannot be structured output")
        return None, False
    origin = get_origin(base)
    wrap: bool | None
    if base is None or base is NoneType or base is Any:
        wrap = True
    elif origin is not None:
        args = get_args(base)
        wrap = not (origin is dict and len(args) == 2 and args[0] is str)
    elif isinstance(base, type):
        if is_pydantic_model(base) or is_typeddict(base) or dataclasses.is_dataclass(base) or is_object_class(base):
            wrap = False
        elif base in (str, int, float, bool, bytes) or issubclass(base, enum.Enum):
            wrap = True
        else:
            wrap = None  # bare list/dict/set, classes without hints: not serialisable as structure
    else:
        wrap = True  # Any, TypeVar, typing constructs
    if wrap is None:
        if structured_output:
            raise InvalidSignature(f"Function {fname}: return type {base!r} is not serializable for structured output")
        return None, False
    builder = SchemaBuilder()
    try:
        inner = builder.schema(base)
    except InvalidSignature:
        if structured_output:
            raise
        return None, False
    if wrap:
        root: dict[str, Any] = {"type": "object", "properties": {"result": inner}, "required": ["result"]}
        return builder.finish(root), True
    ref = inner.get("$ref", "")
    if ref.startswith("#/$defs/"):
        name = ref[len("#/$defs/"):]
        root = dict(builder.defs[name])
        if builder.ref_count(name) <= 1:
            del builder.defs[name]
        return builder.finish(root), False
    return builder.finish(inner), False


def icons_wire(icons: Any) -> list[Any] | None:
    return None if icons is None else [jsonable(dump(i)) for i in icons]


def annotations_wire(annotations: Any) -> dict[str, Any] | None:
    if annotations is None:
        return None
    if isinstance(annotations, ToolAnnotations):
        return annotations.to_dict() or None
    if isinstance(annotations, dict):
        return jsonable({k: v for k, v in annotations.items() if v is not None}) or None
    d = dump(annotations)
    if isinstance(d, dict):
        return jsonable(d)
    raise TypeError(f"annotations must be a dict or ToolAnnotations, not {type(annotations).__name__}")


def task_mode(task: Any, name: str) -> str | None:
    """`task=` of @mcp.tool: True / "optional" (a task when the client offers the tasks
    extension), "required" (only as a task), False / None / "forbidden" (never)."""
    if task is None or task is False or task == "forbidden":
        return None
    if task is True or task == "optional":
        return "optional"
    if task == "required":
        return "required"
    raise InvalidSignature(f"{name}: task must be True, False, 'optional', 'required' or 'forbidden'")


def error_result(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": True}


@dataclass
class Tool:
    """A registered tool: its function, schemas and what tools/list says of it."""

    fn: Callable[..., Any]
    name: str
    description: str
    parameters: dict[str, Any]
    info: FunctionInfo
    title: str | None = None
    output_schema: dict[str, Any] | None = None
    wrap_output: bool = False
    annotations: dict[str, Any] | None = None
    icons: list[Any] | None = None
    meta: dict[str, Any] | None = None
    tags: set[str] = field(default_factory=set)
    task: str | None = None  # tasks extension: "optional" | "required" (None: never a task)
    task_input_first: bool = False

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | dict[str, Any] | None = None,
        icons: list[Any] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
        output_schema: dict[str, Any] | None | Any = NotSet,
        input_schema: dict[str, Any] | None = None,
        exclude_args: list[str] | None = None,
        tags: set[str] | None = None,
        task: bool | str | None = None,
        input_before_task: bool = False,
    ) -> Tool:
        info = analyze(fn, name, exclude_args)
        mode = task_mode(task, info.name)
        if output_schema is NotSet:
            out_schema, wrap = output_schema_for(info.return_annotation, info.name, structured_output)
        elif output_schema is None:
            out_schema, wrap = None, False
        else:
            if not isinstance(output_schema, dict) or output_schema.get("type") != "object":
                raise InvalidSignature(f"{info.name}: output_schema must be a JSON schema with type 'object'")
            out_schema, wrap = jsonable(output_schema), False
        params = jsonable(input_schema) if input_schema is not None else _input_schema(info)
        if params.get("type") != "object":
            raise InvalidSignature(f"{info.name}: an input schema must have type 'object'")
        return cls(
            fn=fn,
            name=info.name,
            description=description or info.description or humanize(info.name),
            parameters=params,
            info=info,
            title=title,
            output_schema=out_schema,
            wrap_output=wrap,
            annotations=annotations_wire(annotations),
            icons=icons_wire(icons),
            meta=jsonable(meta) if meta else None,
            tags=set(tags or ()),
            task=mode,
            task_input_first=bool(input_before_task) and mode is not None,
        )

    def to_mcp(self) -> dict[str, Any]:
        """The MCP `Tool` object (optional fields omitted, never null)."""
        out: dict[str, Any] = {"name": self.name}
        if self.title is not None:
            out["title"] = self.title
        out["description"] = self.description
        out["inputSchema"] = self.parameters
        if self.output_schema is not None:
            out["outputSchema"] = self.output_schema
        if self.annotations:
            out["annotations"] = self.annotations
        if self.icons:
            out["icons"] = self.icons
        if self.meta:
            out["_meta"] = self.meta
        if self.task is not None:
            out["execution"] = {"taskSupport": self.task}
        return out

    def to_table(self) -> dict[str, Any]:
        """The definition the host registers: the Tool plus engine options ("x-fasterapi",
        stripped by the engine before tools/list)."""
        out = self.to_mcp()
        if self.task_input_first:
            out["x-fasterapi"] = {"taskInputFirst": True}
        return out

    # Calling --------------------------------------------------------------------------------

    def run(self, arguments: dict[str, Any] | None, context: Context, debug: bool = False) -> Any:
        """A CallToolResult dict, or an awaitable of one (async tool). Never raises Exception."""
        try:
            args, kwargs = bind(self.info, arguments, context)
            # `call_in(context, self.fn, args, kwargs)`, inlined: this is the per-call hot path.
            token = set_current(context)
            try:
                result = self.fn(*args, **kwargs)
            finally:
                reset_current(token)
        except _CAUGHT as e:
            return self._error(e, debug)
        if is_awaitable(result):
            return self._finish(result, context, debug)
        return self._convert(result, debug)

    async def _finish(self, pending: Any, context: Context, debug: bool) -> dict[str, Any]:
        # `await_in(context, pending, convert, fail, _CAUGHT)` specialised: closures over `debug`
        # would cost an async tool call ~0.3 µs.
        token = set_current(context)
        try:
            result = await pending
        except _CAUGHT as e:
            return self._error(e, debug)
        finally:
            reset_current(token)
        return self._convert(result, debug)

    def _error(self, e: BaseException, debug: bool) -> dict[str, Any]:
        """A failed call: McpError is a protocol error, anything else an `isError` result."""
        if isinstance(e, McpError):
            return {"__error__": e.error}
        return self._failure(e, debug)

    def _failure(self, e: BaseException, debug: bool) -> dict[str, Any]:
        # FastMCP's wording; exceptions that are not Exceptions (SystemExit, KeyboardInterrupt)
        # are named, since their str() is only an exit code or empty.
        detail = f"{e}" if isinstance(e, Exception) else f"{type(e).__name__}: {e}".rstrip(": ")
        text = f"Error executing tool {self.name}: {detail}"
        if debug:
            import traceback

            text += "\n\n" + "".join(traceback.format_exception(type(e), e, e.__traceback__))
        return error_result(text)

    def _convert(self, result: Any, debug: bool) -> dict[str, Any]:
        try:
            return self.convert_result(result)
        except Exception as e:  # noqa: BLE001
            return self._failure(e, debug)

    def convert_result(self, result: Any) -> dict[str, Any]:
        """The CallToolResult for a return value (content + structuredContent)."""
        if type(result) is str and (self.output_schema is None or self.wrap_output):
            # The most common result, without the general conversion machinery.
            out = {"content": [{"type": "text", "text": result}]}
            if self.output_schema is not None:
                out["structuredContent"] = {"result": result}
            return out
        if isinstance(result, CallToolResult):
            out = result.to_dict()
            out["content"] = [content_block(c) if not isinstance(c, dict) else c for c in result.content]
            if result.structuredContent is not None:
                out["structuredContent"] = jsonable(result.structuredContent, strict=True)
            return out
        if is_foreign_result(result):  # mcp.types.CallToolResult and the like, by shape
            out = {"content": [content_block(c) if not isinstance(c, dict) else c for c in result.content]}
            structured = getattr(result, "structuredContent", None)
            if structured is not None:
                out["structuredContent"] = jsonable(structured, strict=True)
            if getattr(result, "isError", None) is not None:
                out["isError"] = bool(result.isError)
            meta = getattr(result, "meta", None) or getattr(result, "_meta", None)
            if isinstance(meta, dict) and meta:
                out["_meta"] = jsonable(meta)
            return out
        out = {"content": to_content(result)}
        if self.output_schema is not None:
            value = jsonable(result, strict=True)
            if self.wrap_output:
                value = {"result": value}
            elif not isinstance(value, dict):
                raise TypeError(f"returned {type(result).__name__}, but the output schema is an object")
            out["structuredContent"] = value
        return out


__all__ = ["Tool", "NotSet", "output_schema_for", "error_result"]
