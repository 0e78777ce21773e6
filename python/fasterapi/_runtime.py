"""The contract between the C host (src/pyhost) and the Python package.

The host imports this module in every interpreter it runs Python in (the main interpreter once at
start-up, then each worker's own subinterpreter). Nothing here may assume it is the only
interpreter: module globals are per interpreter.

Start-up, main interpreter (`fasterapi run FILE.py`, `fasterapi inspect FILE.py`):
    mcp = load_app(path, name)        # imports the user's file, finds the FastMCP instance
    table = export(mcp)               # JSON-able dict: the tool/resource/prompt table

In each worker interpreter:
    mcp = load_app(path, name)
    disp = Dispatcher(mcp, debug)     # one per interpreter, lives as long as the worker

Per request, on the worker's thread, with its GIL held, the host calls one of
    disp.call_tool(name, arguments, ctx)
    disp.read_resource(uri, ctx)
    disp.get_prompt(name, arguments, ctx)
    disp.complete(ref, argument, context, ctx)
Each returns either the result (the user function was a plain `def`) or an awaitable (it was an
`async def`), which the host runs as a task on the worker's asyncio loop. Results are plain
JSON-able Python values (dict/list/str/int/float/bool/None) shaped as the MCP result; bytes must
already be base64 text. The host converts them to JSON in C.

Errors: a user exception never escapes. A tool failure becomes a CallToolResult with isError.
Protocol errors (unknown resource, unknown prompt, missing prompt arguments, ...) are returned
as {"__error__": {"code": int, "message": str, "data": <optional JSON>}}; the host turns that
into a JSON-RPC error. Anything that does escape is a bug in this package; the host reports it
as -32603 with the exception text.

`ctx` is an object provided by the host (`_fasterapi.CallContext`), or a test double, with:
    ctx.request_id        -> str | int
    ctx.session_id        -> str | None
    ctx.cancelled         -> bool
    ctx.log(level: str, data, logger: str | None) -> None      # RFC 5424 level name
    ctx.progress(progress: float, total: float | None, message: str | None) -> None
and optionally, once the host can send requests to the client (looked up with getattr; without
them `Context.elicit()` / `Context.sample()` raise McpError -32601):
    ctx.elicit(params: dict)  -> awaitable (or value) of the ElicitResult dict; params are the
                                 `elicitation/create` params {"message", "requestedSchema"}
    ctx.sample(params: dict)  -> awaitable (or value) of the CreateMessageResult dict; params are
                                 the `sampling/createMessage` params {"messages", "maxTokens", ...}
    (either may also resolve to {"__error__": {...}}, raised in the tool as McpError)
    Both, and ctx.request(method, params), take key="..." when the tool names the question
    (its key in a 2026-07-28 input_required result); it is passed only when given.
The shape of `export()` is documented on that function below.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import sys
from typing import Any

from .content import is_awaitable
from .context import Context, reset_current, set_current
from .errors import INTERNAL_ERROR, INVALID_PARAMS, RESOURCE_NOT_FOUND, McpError
from .server import FastMCP

# Set by the host before it imports the user's file (load_app sets it too): `mcp.run()` then
# returns at once instead of exec'ing `fasterapi run`.
HOSTED: bool = False

# The user's module as load_app imported it in this interpreter.
APP_MODULE: Any = None

# At most this many completion values per answer (MCP completion.mdx: values ≤ 100).
MAX_COMPLETION_VALUES = 100


def load_app(path: str | os.PathLike[str], name: str | None = None) -> FastMCP:
    """Imports the user's file under a private module name (its directory first on sys.path) and
    returns its FastMCP instance: `name` if given, else `mcp`, else the only instance.

    Raises FileNotFoundError for a missing file, LookupError when no (or no unique) instance is
    found, and lets any exception of the user's module propagate unchanged (an ImportError saying
    a module "does not support loading in subinterpreters" is the host's cue to fall back)."""
    global HOSTED
    HOSTED = True
    path = os.path.abspath(os.fspath(path))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: {path}")
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    modname = f"_fasterapi_app_{stem}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    global APP_MODULE
    APP_MODULE = module
    sys.modules[modname] = module  # dataclasses and pickling look classes up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    if name:
        if not hasattr(module, name):
            raise LookupError(f"{path} has no attribute {name!r} (the --mcp name)")
        obj = getattr(module, name)
        if not isinstance(obj, FastMCP):
            raise LookupError(f"{path}: {name!r} is a {type(obj).__name__}, not a FastMCP instance")
        return obj
    obj = getattr(module, "mcp", None)
    if isinstance(obj, FastMCP):
        return obj
    found: dict[int, tuple[str, FastMCP]] = {}
    for key, value in vars(module).items():
        if isinstance(value, FastMCP) and id(value) not in found:
            found[id(value)] = (key, value)
    if len(found) == 1:
        return next(iter(found.values()))[1]
    if not found:
        App = sys.modules["fasterapi.web.app"].App if _web_loaded() else None
        if App is not None and any(isinstance(v, App) for v in vars(module).values()):
            # A web app without an MCP server: an empty FastMCP keeps the host's one shape
            # (the CLI serves no /mcp for it, see has_mcp).
            placeholder = FastMCP(os.path.splitext(os.path.basename(path))[0])
            placeholder._fa_placeholder = True  # type: ignore[attr-defined]
            return placeholder
        raise LookupError(
            f'No FastMCP instance found in {path} (and no web App): create one with `mcp = FastMCP("name")` or `app = App()`'
        )
    names = ", ".join(sorted(k for k, _ in found.values()))
    raise LookupError(f"Several FastMCP instances in {path} ({names}): choose one with --mcp NAME")


# Container types whose module-level instances are per worker and likely mutated by tools.
_MUTABLE = (dict, list, set, bytearray)
_MUTABLE_NAMES = frozenset(("deque", "defaultdict", "OrderedDict", "Counter", "ChainMap"))


class LineWriter(io.RawIOBase):
    """The binary side of sys.stdout/sys.stderr under the host: each thread's text is kept until
    its line is complete, then all its complete lines go out in one `_fasterapi._write_stderr`
    call, which the host writes whole, never spliced with another thread's or interpreter's
    lines or its own log records. Without it, under PYTHONUNBUFFERED=1 (common in containers)
    print() is one write(2) per piece and workers cut each other's lines. The partial line is
    per thread: in the shared-GIL mode every worker prints through this one object. flush()
    sends the calling thread's partial line (it asked for it); one longer than MAX_PENDING goes
    out unfinished (memory bound)."""

    MAX_PENDING = 1 << 16

    def __init__(self, write: Any) -> None:
        super().__init__()
        import _thread

        self._send = write
        self._local = _thread._local()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return 2  # faulthandler and subprocess look for a descriptor: stderr

    def isatty(self) -> bool:
        return False

    def _pending(self) -> bytearray:
        pending: bytearray | None = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = bytearray()
        return pending

    def write(self, data: Any) -> int:
        pending = self._pending()
        pending += data
        end = pending.rfind(b"\n") + 1
        if end == 0 and len(pending) > self.MAX_PENDING:
            end = len(pending)
        if end:
            out = bytes(pending[:end])
            del pending[:end]
            self._send(out)
        return len(data)

    def flush(self) -> None:
        pending = getattr(self._local, "pending", None)
        if pending:
            out = bytes(pending)
            pending.clear()
            self._send(out)


def install_output() -> None:
    """Under the host (called before the user's file is imported, in every interpreter):
    sys.stdout and sys.stderr become one line-atomic text stream to stderr (stdout is the
    protocol's). Outside the host it does nothing."""
    try:
        import _fasterapi  # type: ignore[import-not-found]
    except ImportError:
        return
    old = sys.stderr
    stream = io.TextIOWrapper(
        LineWriter(_fasterapi._write_stderr),
        encoding=getattr(old, "encoding", None) or "utf-8",
        errors="backslashreplace",
        write_through=True,
    )
    if old is not None:
        try:
            old.flush()
        except (OSError, ValueError):
            pass
    sys.stderr = stream
    sys.stdout = stream


def module_state(module: Any = None) -> list[str]:
    """Names of the module-level mutable containers the app module created at import (dict,
    list, set, collections types): each worker imports the file, so each has its own copy and a
    change made by a call on one worker is not seen by the others. Left out: private dunder
    names, `__all__`, and non-empty UPPER_CASE constants (configuration by convention)."""
    module = module if module is not None else APP_MODULE
    if module is None:
        return []
    names = []
    for key, value in vars(module).items():
        if key.startswith("__"):
            continue
        kind = type(value)
        if not (isinstance(value, _MUTABLE) or kind.__name__ in _MUTABLE_NAMES):
            continue
        if kind.__module__ not in ("builtins", "collections"):
            continue  # fasterapi.shared and user classes are deliberate choices
        if key.isupper() and len(value):
            continue
        names.append(key)
    return names


def startup_report(mcp: FastMCP) -> dict[str, Any]:
    """What the host says once at start-up (main interpreter): {"warnings": [text],
    "module_state": [names]} (see module_state; the host words it with the worker count)."""
    return {"warnings": list(getattr(mcp, "_startup_warnings", [])), "module_state": module_state()}


def _web_loaded() -> bool:
    """Whether an App can exist at all: only if its module was imported (`from fasterapi import
    App` imports it on first use). An MCP-only server never imports the web package (and its
    asyncio), which every interpreter's start would otherwise pay."""
    return "fasterapi.web.app" in sys.modules


def has_mcp(mcp: FastMCP) -> bool:
    """Whether the file defined an MCP server (not only a web app)."""
    return not getattr(mcp, "_fa_placeholder", False)


def web_table(name: str | None = None) -> list[list[Any]] | None:
    """The App's route table for the C router (main interpreter, after load_app), or None when
    the file has no App: [[method, pattern, flags], ...], row i being WebHost row i in every
    worker. flags: 1 = a handler reads Request.client (the I/O thread then looks the peer up)."""
    app = None
    if APP_MODULE is not None and _web_loaded():
        from .web.app import find_app

        app = find_app(APP_MODULE, name)
    if app is None:
        if name:
            raise LookupError(f"no App named {name!r}")
        return None
    # WebSocket rows come last: HTTP row i stays WebHost row i (web.c numbers the "WS" rows apart).
    from .web.app import needs_request

    # With middleware any request may have its Request.client read (by the middleware).
    mw = 1 if app.user_middleware else 0
    return [[m, r.c_path, 1 if mw or needs_request(r) else 0] for r, m in app.route_rows()] + app.ws_table()


def export(mcp: FastMCP) -> dict[str, Any]:
    """The server's table, computed once in the main interpreter. JSON-able; the lists hold MCP
    schema objects the host can serve as they are:

        {"name": str, "version": str,                 # serverInfo (version defaults to ours)
         "title"?: str, "description"?: str, "websiteUrl"?: str, "icons"?: [Icon],
         "instructions"?: str,                        # InitializeResult.instructions
         "completions": bool,                         # an @mcp.completion() handler exists
         "tools": [Tool], "resources": [Resource],
         "resourceTemplates": [ResourceTemplate], "prompts": [Prompt],
         "skills"?: [SkillEntry]}                     # SEP-2640 entries; their files are
                                                      # among "resources"

    Lists are in registration order; optional fields are omitted, never null. Tool.inputSchema
    and outputSchema are JSON Schema 2020-12 with local $refs into "$defs"."""
    return mcp.export()


def _error(code: int, message: str, data: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"__error__": err}


def _guard(kind: str, result: Any) -> Any:
    """Wraps an awaitable so that nothing but cancellation escapes it."""
    if not is_awaitable(result):
        return result

    async def run() -> Any:
        try:
            return await result
        except McpError as e:
            return {"__error__": e.error}
        except (Exception, SystemExit, KeyboardInterrupt) as e:  # noqa: BLE001
            # Must answer the request, and SystemExit/KeyboardInterrupt must not reach the
            # worker's event loop (asyncio re-raises them out of run_forever).
            return _error(INTERNAL_ERROR, f"Internal error in {kind}: {type(e).__name__}: {e}")

    return run()


class Dispatcher:
    """Runs the user's functions for one interpreter. Every method returns the MCP result dict,
    an {"__error__": ...} dict, or an awaitable of one of those; none raises (cancellation
    excepted: asyncio.CancelledError and other BaseExceptions pass through)."""

    def __init__(self, mcp: FastMCP, debug: bool = False, web_name: str | None = None, web_timeout: float = 0.0) -> None:
        self.mcp = mcp
        self.debug = bool(debug)
        # The file's web App, run by a WebHost in this interpreter; web_handle(row, creq) is what
        # the host calls for a web request (None: no App in the file).
        app = None
        if APP_MODULE is not None and _web_loaded():
            from .web.app import find_app

            app = find_app(APP_MODULE, web_name)
        if app is not None:
            from .web.app import WebHost

            self.web: Any = WebHost(app, self.debug, web_timeout)
        else:
            self.web = None
        self.web_handle = self.web.handle if self.web is not None else None
        # What the app's lifespan yielded (ctx.request_context.lifespan_context); {} without one,
        # as the python-sdk's default lifespan gives.
        self.lifespan_context: Any = {}
        self.lifespan_task: Any = None  # the HeldLifespan while it is entered

    # The app's lifespan, once per worker ---------------------------------------------------------

    def start(self, loop: Any) -> None:
        """Enters `FastMCP(lifespan=...)` on this worker's loop: `lifespan(mcp)` is an async (or
        plain) context manager; what it yields is the lifespan context. It is held open by a task
        that waits for stop(), so entering and leaving happen in one task, as anyio's cancel
        scopes require. An exception is raised here, noted as the lifespan's."""
        if self.web is not None:
            self.web.start(loop)
        factory = self.mcp.lifespan
        if factory is None:
            return
        from ._lifespan import HeldLifespan

        held = HeldLifespan(factory, self.mcp)
        try:
            self.lifespan_context = held.enter(loop)
        except BaseException as e:
            if hasattr(e, "add_note"):
                e.add_note(f"(raised by the lifespan of {self.mcp.name!r} at start-up: the server cannot start)")
            raise
        self.lifespan_task = held

    def stop(self, loop: Any) -> None:
        """Leaves the lifespan (its teardown), at shutdown. Errors are printed, not raised."""
        if self.web is not None:
            self.web.stop(loop)
        held, self.lifespan_task = self.lifespan_task, None
        if held is None:
            return
        try:
            held.leave(loop)
        except BaseException:  # noqa: BLE001 - shutdown goes on; the user sees what failed
            import traceback

            print(f"fasterapi: the lifespan of {self.mcp.name!r} failed in its teardown:", file=sys.stderr)
            traceback.print_exc()

    def _context(self, ctx: Any) -> Context:
        return Context(ctx, self.mcp, self)

    def call_tool(self, name: str, arguments: dict[str, Any] | None, ctx: Any) -> Any:
        try:
            tool = self.mcp._tools.get(name)
            if tool is None:
                return _error(INVALID_PARAMS, f"Unknown tool: {name}", {"name": name})
            if arguments is not None and not isinstance(arguments, dict):
                return _error(INVALID_PARAMS, "Tool arguments must be an object")
            result = tool.run(arguments or {}, Context(ctx, self.mcp, self), self.debug)
            # A sync tool's answer is already a dict; only awaitables need the guard.
            return result if type(result) is dict else _guard("tools/call", result)
        except Exception as e:  # noqa: BLE001
            return _error(INTERNAL_ERROR, f"Internal error in tools/call: {e}")

    def read_resource(self, uri: str, ctx: Any) -> Any:
        try:
            context = self._context(ctx)
            resource = self.mcp._resources.get(uri)
            if resource is not None:
                return _guard("resources/read", resource.read(context))
            for template in self.mcp._templates.values():
                params = template.matches(uri)
                if params is not None:
                    return _guard("resources/read", template.read(uri, params, context))
            return _error(RESOURCE_NOT_FOUND, f"Resource not found: {uri}", {"uri": uri})
        except Exception as e:  # noqa: BLE001
            return _error(INTERNAL_ERROR, f"Internal error in resources/read: {e}")

    def get_prompt(self, name: str, arguments: dict[str, Any] | None, ctx: Any) -> Any:
        try:
            prompt = self.mcp._prompts.get(name)
            if prompt is None:
                return _error(INVALID_PARAMS, f"Unknown prompt: {name}", {"name": name})
            if arguments is not None and not isinstance(arguments, dict):
                return _error(INVALID_PARAMS, "Prompt arguments must be an object")
            return _guard("prompts/get", prompt.render(arguments, self._context(ctx)))
        except Exception as e:  # noqa: BLE001
            return _error(INTERNAL_ERROR, f"Internal error in prompts/get: {e}")

    def complete(self, ref: dict[str, Any], argument: dict[str, Any], context: dict[str, Any] | None, ctx: Any) -> Any:
        try:
            return self._complete(ref, argument, context, ctx)
        except Exception as e:  # noqa: BLE001
            return _error(INTERNAL_ERROR, f"Internal error in completion/complete: {e}")

    def _complete(self, ref: Any, argument: Any, context: Any, ctx: Any) -> Any:
        if not isinstance(ref, dict) or not isinstance(argument, dict):
            return _error(INVALID_PARAMS, "completion/complete needs ref and argument objects")
        from .types import CompletionArgument, CompletionContext, PromptReference, ResourceTemplateReference

        kind = ref.get("type")
        ref_obj: PromptReference | ResourceTemplateReference
        if kind == "ref/prompt":
            pname = str(ref.get("name", ""))
            if pname not in self.mcp._prompts:
                return _error(INVALID_PARAMS, f"Unknown prompt: {pname}", {"name": pname})
            ref_obj = PromptReference(name=pname)
        elif kind == "ref/resource":
            uri = str(ref.get("uri", ""))
            known = (
                uri in self.mcp._templates
                or uri in self.mcp._resources
                or any(t.matches(uri) is not None for t in self.mcp._templates.values())
            )
            if not known:
                return _error(INVALID_PARAMS, f"Unknown resource template: {uri}", {"uri": uri})
            ref_obj = ResourceTemplateReference(uri=uri)
        else:
            return _error(INVALID_PARAMS, f"Unknown completion reference type: {kind!r}")
        arg = CompletionArgument(name=str(argument.get("name", "")), value=str(argument.get("value", "")))
        handler = self.mcp._completion_handler
        if handler is None:
            return {"completion": {"values": []}}
        cctx = None
        if isinstance(context, dict) and context.get("arguments") is not None:
            cctx = CompletionContext(arguments=dict(context["arguments"]))
        token = set_current(self._context(ctx))
        try:
            result = handler(ref_obj, arg, cctx)
        except McpError as e:
            return {"__error__": e.error}
        except Exception as e:  # noqa: BLE001
            return _error(INTERNAL_ERROR, f"Error completing argument {arg.name}: {e}")
        finally:
            reset_current(token)
        if is_awaitable(result):
            return self._complete_async(result, arg.name)
        return self._completion_result(result, arg.name)

    async def _complete_async(self, pending: Any, arg_name: str) -> dict[str, Any]:
        try:
            result = await pending
        except McpError as e:
            return {"__error__": e.error}
        except Exception as e:  # noqa: BLE001
            return _error(INTERNAL_ERROR, f"Error completing argument {arg_name}: {e}")
        return self._completion_result(result, arg_name)

    @staticmethod
    def _completion_result(result: Any, arg_name: str) -> dict[str, Any]:
        from .types import Completion

        if result is None:
            completion: dict[str, Any] = {"values": []}
        elif isinstance(result, Completion):
            completion = result.to_dict()
        elif isinstance(result, dict) and "values" in result:
            completion = {k: v for k, v in result.items() if v is not None}
        elif isinstance(result, (list, tuple)):
            completion = {"values": list(result)}
        else:
            return _error(INTERNAL_ERROR, f"Completion handler returned {type(result).__name__} for {arg_name}")
        values = [str(v) for v in completion.get("values", [])]
        if len(values) > MAX_COMPLETION_VALUES:
            completion.setdefault("total", len(values))
            completion["hasMore"] = True
            values = values[:MAX_COMPLETION_VALUES]
        completion["values"] = values
        return {"completion": completion}
