"""A FasterAPI MCP server in Python: the quickstart `make run` serves.

Written exactly as for FastMCP; only the import differs. Run it with

    fasterapi run examples/quickstart/server.py

and each tool call runs on a worker thread with its own Python interpreter (and GIL), so CPU-bound
tools use every core.
"""

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Annotated, Literal

from fasterapi import Context, FastMCP

mcp = FastMCP(
    "quickstart",
    instructions="Small utilities: arithmetic, text statistics, hashing, a slow countdown, "
    "user profiles and a review prompt.",
)


@mcp.tool()
def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


@dataclass
class TextStats:
    characters: int
    words: int
    lines: int


@mcp.tool()
def text_stats(text: Annotated[str, "The text to measure"]) -> TextStats:
    """Count the characters, words and lines of a text."""
    return TextStats(len(text), len(text.split()), text.count("\n") + 1)


@mcp.tool()
def digest(data: str, algorithm: Literal["sha256", "sha1", "md5"] = "sha256") -> str:
    """Hash a string and return the hex digest.

    Args:
        data: the text to hash (UTF-8)
        algorithm: which hash function to use
    """
    return hashlib.new(algorithm, data.encode()).hexdigest()


@mcp.tool()
async def countdown(seconds: int, ctx: Context) -> str:
    """Count down, reporting progress every second (an async tool: it waits without holding a
    worker)."""
    for i in range(seconds):
        await ctx.report_progress(i, seconds, f"{seconds - i} s left")
        await ctx.info(f"tick {i + 1}/{seconds}")
        await asyncio.sleep(1)
    return "liftoff"


PROFILES = {"1": {"name": "Ada Lovelace", "role": "analyst"}, "2": {"name": "Alan Turing", "role": "engineer"}}


@mcp.resource("users://{user_id}/profile", mime_type="application/json")
def user_profile(user_id: str) -> dict:
    """A user's profile."""
    return PROFILES.get(user_id, {"error": f"no user {user_id}"})


@mcp.resource("config://version")
def version() -> str:
    """The server's version."""
    return "quickstart 1.0"


@mcp.prompt()
def review_code(code: str, language: str = "python") -> str:
    """Ask for a code review."""
    return f"Please review this {language} code and point out bugs and unclear parts:\n\n{code}"


if __name__ == "__main__":
    mcp.run()
