"""kitchen.py: a FastMCP app with one of everything, for tests/integration/python.

Written the way FastMCP users write servers; only the import names fasterapi.
"""

import asyncio
import sys
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Literal, Optional, TypedDict

from fasterapi import Context, FastMCP, Image, shared
from fasterapi.types import Completion

mcp = FastMCP("kitchen", instructions="Everything the Python host integration tests need.",
              version="2.0.0")


# ---- plain tools ----

@mcp.tool()
def echo(text: str) -> str:
    """Echo the text back."""
    return text


@mcp.tool()
async def async_echo(text: str, delay: float = 0.0) -> str:
    """Echo the text back after awaiting asyncio.sleep(delay)."""
    await asyncio.sleep(delay)
    return text


@dataclass
class Point:
    x: float
    y: float
    label: str = "origin"


class Color(Enum):
    RED = "red"
    GREEN = "green"


class Summary(TypedDict):
    total: int
    count: int
    mean: float


@mcp.tool()
def describe_point(point: Point, unit: Literal["cm", "m"] = "m") -> str:
    """Describe a point.

    Args:
        point: where it is
        unit: the unit of the coordinates
    """
    return f"{point.label} at ({point.x}, {point.y}) {unit} [{type(point).__name__}]"


@mcp.tool()
def paint(color: Color, shade: Optional[int] = None) -> str:
    """Paint with a color.

    Args:
        color: which color
        shade: how dark, 0-10 (optional)
    """
    return f"{color.name} shade={shade!r}"


@mcp.tool()
def labels(name: str, **extra: str) -> str:
    """Takes any other arguments too (**kwargs): its schema allows unknown properties."""
    return name + "".join(f" {k}={v}" for k, v in sorted(extra.items()))


@mcp.tool()
def summarize(numbers: list[int]) -> Summary:
    """Sum and average a list of integers."""
    total = sum(numbers)
    return {"total": total, "count": len(numbers), "mean": total / len(numbers) if numbers else 0.0}


@mcp.tool()
async def async_total(numbers: list[int]) -> int:
    """Add the numbers, asynchronously."""
    await asyncio.sleep(0)
    return sum(numbers)


@mcp.tool()
def annotated(name: Annotated[str, "Who to greet"]) -> str:
    return f"hello {name}"


@mcp.tool()
def pixel() -> Image:
    """A 1x1 PNG."""
    return Image(data=b"\x89PNG\r\n\x1a\nfake", format="png")


# ---- side effects, state ----

side_effects = shared.Counter("side-effects")
hits = shared.Counter("hits")
GLOBAL_HITS = 0


@mcp.tool()
def record(n: int, tag: str) -> int:
    """Count a call in a shared counter (a side effect), then return n."""
    side_effects.add()
    return n


@mcp.tool()
def side_effect_count() -> int:
    """How many times `record` ran."""
    return side_effects.value


def interpreter_id() -> int:
    """The id of the interpreter running this code (0 is the main one)."""
    try:
        import _interpreters  # 3.13
    except ImportError:  # 3.12
        import _xxsubinterpreters as _interpreters
    current = _interpreters.get_current()
    return int(current[0] if isinstance(current, tuple) else current)


@mcp.tool()
def hit(hold: float = 0.0) -> dict[str, int]:
    """Count this call twice, in the shared counter `hits` and in a module global, then hold
    the worker (time.sleep) for `hold` seconds."""
    global GLOBAL_HITS
    GLOBAL_HITS += 1
    value = {"shared": hits.add(), "global": GLOBAL_HITS, "interp": interpreter_id()}
    if hold:
        time.sleep(hold)
    return value


@mcp.tool()
def hit_count() -> int:
    """Read the shared counter `hits`."""
    return hits.value


@mcp.tool()
def whoami() -> str:
    """The interpreter and thread running this call."""
    return f"{interpreter_id()}/{threading.get_ident()}"


# ---- failures ----

@mcp.tool()
def fail(message: str = "boom") -> str:
    """Raise a ValueError."""
    raise ValueError(message)


@mcp.tool()
async def async_fail(message: str = "async boom") -> str:
    """Raise a ValueError after an await."""
    await asyncio.sleep(0)
    raise ValueError(message)


@mcp.tool()
def sync_exit(code: int = 3) -> str:
    """sys.exit() from a plain def (SystemExit is a BaseException, not an Exception)."""
    sys.exit(code)


@mcp.tool()
async def async_exit(code: int = 4) -> str:
    """sys.exit() from an async def, after an await."""
    await asyncio.sleep(0)
    sys.exit(code)


@mcp.tool()
async def async_interrupt() -> str:
    """KeyboardInterrupt from an async def, after an await."""
    await asyncio.sleep(0)
    raise KeyboardInterrupt


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque>"


@mcp.tool(structured_output=False)
def returns_set():
    """Return a set (not JSON)."""
    return {1, 2, 3}


@mcp.tool(structured_output=False)
def returns_object():
    """Return a custom object (not JSON)."""
    return Opaque()


@mcp.tool()
def returns_bad_dict() -> dict:
    """Return a dict holding a set."""
    return {"a": {1, 2}}


@mcp.tool()
def big(nbytes: int) -> str:
    """Return a string of nbytes 'x'."""
    return "x" * nbytes


# ---- long-running ----

@mcp.tool()
async def nap(seconds: float) -> str:
    """await asyncio.sleep(seconds)."""
    await asyncio.sleep(seconds)
    return f"napped {seconds}"


@mcp.tool()
def spin(seconds: float = 0.0) -> str:
    """A busy loop: forever when seconds is 0, else until seconds have passed."""
    if seconds <= 0:
        while True:
            pass
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return f"spun {seconds}"


@mcp.tool()
def block(seconds: float) -> str:
    """time.sleep(seconds): a blocking C call."""
    time.sleep(seconds)
    return f"blocked {seconds}"


# ---- logging and progress ----

@mcp.tool()
async def chatty(steps: int, ctx: Context) -> str:
    """Log at every level and report progress, asynchronously."""
    await ctx.debug("debug line")
    await ctx.info("info line")
    await ctx.warning("warning line")
    await ctx.error("error line")
    for i in range(steps):
        await ctx.report_progress(i + 1, steps, f"step {i + 1}")
        await asyncio.sleep(0.01)
    return "chatted"


@mcp.tool()
def chatty_sync(steps: int, ctx: Context) -> str:
    """Log and report progress from a plain def (no await)."""
    ctx.debug("sync debug")
    ctx.info("sync info")
    for i in range(steps):
        ctx.report_progress(i + 1, steps)
    return "chatted sync"


# ---- client requests ----

@dataclass
class Contact:
    name: str
    age: int
    newsletter: bool = False


@mcp.tool()
async def ask_contact(ctx: Context) -> str:
    """Elicit a contact from the user."""
    answer = await ctx.elicit("Who should we contact?", Contact)
    if answer.action == "accept":
        c = answer.data
        return f"accepted {type(c).__name__} {c.name} {c.age} {c.newsletter}"
    return answer.action


@mcp.tool()
async def ask_model(question: str, ctx: Context) -> str:
    """Ask the client's model."""
    reply = await ctx.sample(question, max_tokens=50)
    return f"model said: {reply.text}"


# ---- resources, prompts, completion ----

USERS = {"1": "Ada", "2": "Alan"}


@mcp.resource("config://settings", mime_type="application/json")
def settings() -> dict:
    """The settings."""
    return {"theme": "dark"}


@mcp.resource("users://{user_id}/name")
def user_name(user_id: str) -> str:
    """A user's name."""
    return USERS.get(user_id, "nobody")


@mcp.resource("files://{folder}/{name}")
async def file_text(folder: str, name: str) -> str:
    """A file, asynchronously."""
    await asyncio.sleep(0)
    return f"{folder}/{name}"


@mcp.prompt()
def greet(name: str, style: str = "warm") -> str:
    """Greet someone."""
    return f"Say a {style} hello to {name}."


@mcp.prompt()
async def compare(a: str, b: str) -> str:
    """Compare two things."""
    return f"Compare {a} with {b}."


@mcp.completion()
async def complete(ref, argument, context):
    if argument.name == "style":
        styles = ("warm", "witty", "wild")
        return Completion(values=[s for s in styles if s.startswith(argument.value)])
    if argument.name == "user_id":
        return [k for k in USERS if k.startswith(argument.value)]
    return None
