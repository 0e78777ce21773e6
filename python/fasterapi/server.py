"""`FastMCP`: the server object a user file creates (`mcp = FastMCP("name")`).

Same surface as the python-sdk's `mcp.server.fastmcp.FastMCP` (1.x) with the PrefectHQ fastmcp
2.x additions people use (bare `@mcp.tool`, `@mcp.tool("name")`, `mcp.tool(fn, name=...)`,
`tags`, `enabled`, `exclude_args`, `meta`, `icons`). Registration is all it does: the `fasterapi`
host serves the protocol (see `_runtime.py`).
"""

from __future__ import annotations

import itertools
import os
import sys
import warnings
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from ._version import __version__
from .context import Context, get_context
from .errors import InvalidSignature
from .prompts import Prompt
from .resources import FunctionResource, Resource, ResourceTemplate, UriTemplate
from .tools import NotSet, Tool
from .types import ToolAnnotations

if TYPE_CHECKING:
    from .skills import Skill

F = TypeVar("F", bound=Callable[..., Any])


class FastMCP:
    """An MCP server: a table of tools, resources, prompts and a completion handler."""

    def __init__(
        self,
        name: str | None = None,
        instructions: str | None = None,
        *,
        version: str | None = None,
        title: str | None = None,
        description: str | None = None,
        website_url: str | None = None,
        icons: list[Any] | None = None,
        tools: list[Any] | None = None,
        skills: list[str | os.PathLike[str]] | None = None,
        debug: bool = False,
        log_level: str = "INFO",
        host: str = "127.0.0.1",
        port: int = 8000,
        dependencies: Any = (),
        lifespan: Any = None,
        **settings: Any,
    ) -> None:
        self.name: str = name or "FastMCP"
        self.instructions = instructions
        self.version = version
        self.title = title
        self.description = description
        self.website_url = website_url
        self.icons = icons
        self.dependencies = list(dependencies or ())
        # `lifespan(mcp)` is entered once in every worker at start-up and left at shutdown
        # (_runtime.Dispatcher.start/stop); what it yields is ctx.request_context.lifespan_context.
        self.lifespan = lifespan
        # Every other FastMCP setting (stateless_http, json_response, ...) is accepted and kept
        # here; the fasterapi command line decides transports.
        self.settings = SimpleNamespace(debug=debug, log_level=log_level, host=host, port=port, **settings)
        # What this build cannot do for the app, said once at start-up by the host (never
        # silence): HTTP-only options while only stdio is served.
        self._startup_warnings: list[str] = []
        for option in ("auth", "token_verifier", "auth_server_provider"):
            if settings.get(option) is not None:
                self._startup_warnings.append(
                    f"FastMCP({option}=...) is ignored: this fasterapi build serves MCP over stdio only, "
                    "where HTTP authorization does not apply (the client launches the server itself)"
                )
        self._tools: dict[str, Tool] = {}
        self._resources: dict[str, Resource] = {}
        self._templates: dict[str, ResourceTemplate] = {}
        self._prompts: dict[str, Prompt] = {}
        self._completion_handler: Callable[..., Any] | None = None
        self._skills: dict[str, Skill] = {}
        self._local: Any = None
        for t in tools or ():
            self.add_tool(t)
        for path in skills or ():
            self.add_skill(path)

    def __repr__(self) -> str:
        return f"FastMCP({self.name!r})"

    # Tools ------------------------------------------------------------------------------------

    def add_tool(
        self,
        fn: Callable[..., Any] | Tool,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | dict[str, Any] | None = None,
        icons: list[Any] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
        *,
        output_schema: Any = NotSet,
        input_schema: dict[str, Any] | None = None,
        exclude_args: list[str] | None = None,
        tags: set[str] | None = None,
        task: bool | str | None = None,
        input_before_task: bool = False,
    ) -> Tool:
        """Registers a function as a tool (the first registration of a name wins, as in FastMCP)."""
        tool = fn if isinstance(fn, Tool) else Tool.from_function(
            fn, name=name, title=title, description=description, annotations=annotations,
            icons=icons, meta=meta, structured_output=structured_output, output_schema=output_schema,
            input_schema=input_schema, exclude_args=exclude_args, tags=tags, task=task,
            input_before_task=input_before_task,
        )
        return _first_wins(self._tools, tool.name, tool, "Tool")

    def remove_tool(self, name: str) -> None:
        if name not in self._tools:
            raise KeyError(f"Unknown tool: {name}")
        del self._tools[name]

    def tool(
        self,
        name_or_fn: str | Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | dict[str, Any] | None = None,
        icons: list[Any] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
        output_schema: Any = NotSet,
        input_schema: dict[str, Any] | None = None,
        exclude_args: list[str] | None = None,
        tags: set[str] | None = None,
        enabled: bool = True,
        task: bool | str | None = None,
        input_before_task: bool = False,
    ) -> Any:
        """`@mcp.tool`, `@mcp.tool()`, `@mcp.tool("name")`, `@mcp.tool(name=..., ...)` or
        `mcp.tool(fn, name=...)`. The decorated function is returned unchanged.

        `input_schema` (a fasterapi extension) replaces the generated input schema verbatim;
        arguments are still bound to the parameters by name.

        `task` (tasks extension, io.modelcontextprotocol/tasks; FastMCP 2.x spells it the same):
        True or "optional" runs the call as a task when the request declares the extension (the
        client gets a taskId and polls), "required" runs it only as a task (other clients get
        -32021). `input_before_task=True` (a fasterapi extension): what the tool asks before its
        task starts goes through input_required rounds on the tools/call itself, and the retry
        that brings the answers becomes the task."""
        if isinstance(name_or_fn, str):
            if name is not None:
                raise TypeError("Tool name given twice (positionally and as name=)")
            name = name_or_fn

        def register(fn: F) -> F:
            if enabled:
                self.add_tool(
                    fn, name=name, title=title, description=description, annotations=annotations,
                    icons=icons, meta=meta, structured_output=structured_output,
                    output_schema=output_schema, input_schema=input_schema,
                    exclude_args=exclude_args, tags=tags, task=task,
                    input_before_task=input_before_task,
                )
            return fn

        return _decorate(name_or_fn, register)

    # Resources --------------------------------------------------------------------------------

    def add_resource(self, resource: Resource | ResourceTemplate) -> None:
        if isinstance(resource, ResourceTemplate):
            _first_wins(self._templates, resource.uri_template, resource, "Resource template")
        else:
            _first_wins(self._resources, resource.uri, resource, "Resource")

    def add_template(self, template: ResourceTemplate) -> None:
        self.add_resource(template)

    def resource(
        self,
        uri: str,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        mime_type: str | None = None,
        icons: list[Any] | None = None,
        annotations: Any = None,
        meta: dict[str, Any] | None = None,
        tags: set[str] | None = None,
        enabled: bool = True,
    ) -> Callable[[F], F]:
        """Registers a function as a resource (`"data://config"`) or, when the URI has
        `{variables}`, a resource template (`"users://{user_id}/profile"`)."""
        if callable(uri):
            raise TypeError(
                "The @resource decorator was used incorrectly. Did you forget to call it? "
                "Use @resource('uri') instead of @resource"
            )

        def register(fn: F) -> F:
            if enabled:
                kind: type[FunctionResource | ResourceTemplate] = (
                    ResourceTemplate if UriTemplate(uri).is_template else FunctionResource
                )
                self.add_resource(kind.from_function(
                    fn, uri, name=name, title=title, description=description, mime_type=mime_type,
                    icons=icons, annotations=annotations, meta=meta,
                ))
            return fn

        return register

    # Skills (io.modelcontextprotocol/skills, SEP-2640) ---------------------------------------

    def add_skill(self, path: str | os.PathLike[str], *, max_files: int | None = None,
                  max_bytes: int | None = None) -> Skill:
        """Serves the skill in directory `path` (its root holds SKILL.md; the directory's name is
        the skill's name): its files become resources `skill://<name>/<path>`, and the server
        declares the skills extension and answers skills/list, skills/get and
        resources/directory/read. The files are read now, once; a malformed SKILL.md, a bad name
        or a skill over the limits raises SkillError (a ValueError) naming the file and line.
        The limits default to MAX_SKILL_FILES (512) and MAX_SKILL_BYTES (16 MiB) of skills.py,
        which is imported here, on first use."""
        from .skills import MAX_SKILL_BYTES, MAX_SKILL_FILES, SkillError, load_skill

        skill = load_skill(path, max_files=MAX_SKILL_FILES if max_files is None else max_files,
                           max_bytes=MAX_SKILL_BYTES if max_bytes is None else max_bytes)
        if skill.name in self._skills:
            raise SkillError(f"{skill.path}: a skill named {skill.name!r} is already served "
                             f"(from {self._skills[skill.name].path})")
        resources = skill.resources()
        for r in resources:
            if r.uri in self._resources:
                raise SkillError(f"{skill.path}: resource {r.uri} is already registered")
        self._skills[skill.name] = skill
        for r in resources:
            self._resources[r.uri] = r
        return skill

    # Prompts ----------------------------------------------------------------------------------

    def add_prompt(self, prompt: Prompt | Callable[..., Any], **kw: Any) -> Prompt:
        p = prompt if isinstance(prompt, Prompt) else Prompt.from_function(prompt, **kw)
        return _first_wins(self._prompts, p.name, p, "Prompt")

    def prompt(
        self,
        name_or_fn: str | Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        icons: list[Any] | None = None,
        meta: dict[str, Any] | None = None,
        tags: set[str] | None = None,
        enabled: bool = True,
    ) -> Any:
        """`@mcp.prompt`, `@mcp.prompt()`, `@mcp.prompt("name")` or `@mcp.prompt(name=...)`."""
        if isinstance(name_or_fn, str):
            name = name_or_fn

        def register(fn: F) -> F:
            if enabled:
                self.add_prompt(
                    Prompt.from_function(fn, name=name, title=title, description=description,
                                         icons=icons, meta=meta, tags=tags)
                )
            return fn

        return _decorate(name_or_fn, register)

    # Completion -------------------------------------------------------------------------------

    def completion(self) -> Callable[[F], F]:
        """Registers the completion handler: `async def handle(ref, argument, context)` returning
        a `Completion` (or a list of strings) or None. `ref` is a PromptReference or a
        ResourceTemplateReference, `argument` a CompletionArgument(name, value), `context` a
        CompletionContext(arguments) or None."""

        def register(fn: F) -> F:
            if not callable(fn):
                raise InvalidSignature("completion handler must be callable")
            self._completion_handler = fn
            return fn

        return register

    # HTTP (not served by this build yet) ----------------------------------------------------------

    def custom_route(self, path: str, methods: list[str] | None = None, name: str | None = None,
                     include_in_schema: bool = True) -> Callable[[F], F]:
        """Accepted so the file loads; the route is not served (stdio only), which the host says
        at start-up naming the route."""

        def register(fn: F) -> F:
            self._startup_warnings.append(
                f"@mcp.custom_route({path!r}) is not served: this fasterapi build serves MCP over "
                "stdio only (HTTP routes come with the HTTP transport)"
            )
            return fn

        return register

    def _no_http(self, what: str) -> Any:
        raise RuntimeError(
            f"FastMCP.{what}() is not available: this fasterapi build serves MCP over stdio only and "
            f"has no ASGI app to give. Start the server with `fasterapi run FILE.py` and remove the "
            f"{what}() call"
        )

    def streamable_http_app(self, *args: Any, **kwargs: Any) -> Any:
        return self._no_http("streamable_http_app")

    def sse_app(self, *args: Any, **kwargs: Any) -> Any:
        return self._no_http("sse_app")

    def http_app(self, *args: Any, **kwargs: Any) -> Any:
        return self._no_http("http_app")

    # Context ----------------------------------------------------------------------------------

    def get_context(self) -> Context:
        """The Context of the request being served (for helpers that are not injected one)."""
        ctx = get_context()
        if ctx._fastmcp is None:
            ctx._fastmcp = self
        return ctx

    # The table --------------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """The JSON-able table the host serves (shape documented in `_runtime.export`)."""
        out: dict[str, Any] = {"name": self.name, "version": self.version or __version__}
        for key, value in (("title", self.title), ("description", self.description),
                           ("websiteUrl", self.website_url), ("instructions", self.instructions)):
            if value:
                out[key] = value
        if self.icons:
            from .tools import icons_wire

            out["icons"] = icons_wire(self.icons)
        out["completions"] = self._completion_handler is not None
        out["tools"] = [t.to_table() for t in self._tools.values()]
        out["resources"] = [r.to_mcp() for r in self._resources.values()]
        out["resourceTemplates"] = [t.to_mcp() for t in self._templates.values()]
        out["prompts"] = [p.to_mcp() for p in self._prompts.values()]
        if self._skills:
            out["skills"] = [k.entry() for k in self._skills.values()]
        return out

    # In-process use (tests, scripts): same results the host sends, as dicts -------------------

    def _dispatcher(self) -> Any:
        if self._local is None:
            from ._runtime import Dispatcher

            self._local = Dispatcher(self, debug=bool(self.settings.debug))
        return self._local

    async def _await(self, result: Any) -> Any:
        import inspect

        return await result if inspect.isawaitable(result) else result

    async def list_tools(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.export()["tools"]
        return items

    async def list_resources(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.export()["resources"]
        return items

    async def list_resource_templates(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.export()["resourceTemplates"]
        return items

    async def list_prompts(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.export()["prompts"]
        return items

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Calls a tool in-process; returns the CallToolResult dict."""
        result: dict[str, Any] = await self._await(self._dispatcher().call_tool(name, arguments or {}, LocalCall()))
        return result

    async def read_resource(self, uri: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._await(self._dispatcher().read_resource(str(uri), LocalCall()))
        return result

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self._await(self._dispatcher().get_prompt(name, arguments, LocalCall()))
        return result

    # Running ----------------------------------------------------------------------------------

    def run(
        self,
        transport: str = "stdio",
        mount_path: str | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        **_: Any,
    ) -> None:
        """Under the `fasterapi` host: does nothing (the host is already serving this file).
        From `python server.py`: replaces this process with `fasterapi run server.py`."""
        from . import _runtime

        if _runtime.HOSTED or _host_module_present():
            return
        if transport not in ("stdio", "sse", "streamable-http", "http"):
            raise ValueError(f"Unknown transport: {transport}")
        import shutil  # lazily: it pulls in bz2/lzma, not needed in the host's interpreters

        script = sys.argv[0] if sys.argv else ""
        exe = shutil.which("fasterapi")
        if not exe or not script or not os.path.isfile(script):
            why = "no `fasterapi` executable was found on PATH" if not exe else "the script file is unknown"
            raise RuntimeError(
                "This server runs on the fasterapi host: start it with "
                f"`fasterapi run {script or 'server.py'}` (stdio) or "
                f"`fasterapi run {script or 'server.py'} --http 127.0.0.1:8000` ({why})"
            )
        argv = ["fasterapi", "run", os.path.abspath(script)]
        if transport != "stdio":
            argv += ["--http", f"{host or self.settings.host}:{port or self.settings.port}"]
        main = sys.modules.get("__main__")
        var = next((k for k, v in vars(main).items() if v is self), None) if main else None
        if var and var != "mcp":
            argv += ["--mcp", var]
        sys.stdout.flush()
        sys.stderr.flush()
        os.execvp(exe, argv)


T = TypeVar("T")


def _first_wins(table: dict[str, T], key: str, item: T, what: str) -> T:
    """Registers `item` under `key` unless the key is taken: as in FastMCP, the first registration
    of a name wins and a later one only warns (pointed at the user's add_*/decorator call)."""
    if key in table:
        warnings.warn(f"{what} already exists: {key}", stacklevel=4)
        return table[key]
    table[key] = item
    return item


def _decorate(name_or_fn: Any, register: Callable[[F], F]) -> Any:
    """A decorator used bare (`@mcp.tool`: given the function) registers it; used with a call
    (`@mcp.tool()`, `@mcp.tool("name")`) it returns `register` to be applied."""
    return register(name_or_fn) if callable(name_or_fn) else register


def _host_module_present() -> bool:
    """True inside the fasterapi host (its built-in `_fasterapi` module imports)."""
    try:
        import _fasterapi  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


class LocalCall:
    """A stand-in for the host's CallContext when calling in-process: logs go to the `fasterapi`
    logger (stderr), progress is recorded."""

    _ids = itertools.count(1)

    def __init__(self) -> None:
        self.request_id: int = next(self._ids)
        self.session_id: str | None = None
        self.cancelled: bool = False
        self.logs: list[tuple[str, Any, str | None]] = []
        self.progress_events: list[tuple[float, float | None, str | None]] = []

    def log(self, level: str, data: Any, logger: str | None) -> None:
        import logging

        self.logs.append((level, data, logger))
        pylevel = {"debug": 10, "info": 20, "notice": 20, "warning": 30}.get(level, 40)
        logging.getLogger("fasterapi").log(pylevel, "%s%s", f"[{logger}] " if logger else "", data)

    def progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.progress_events.append((progress, total, message))
