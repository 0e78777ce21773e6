"""noisy.py: an app that writes to stdout at import and inside its tools. The host must keep
all of it off the protocol stream (it goes to stderr)."""

import os
import sys

from fasterapi import FastMCP

print("NOISE: print at import")
sys.stdout.write("NOISE: sys.stdout.write at import\n")
sys.stdout.flush()
os.write(1, b"NOISE: os.write(1) at import\n")
sys.__stdout__.write("NOISE: sys.__stdout__ at import\n")
sys.__stdout__.flush()

mcp = FastMCP("noisy")


@mcp.tool()
def shout(text: str) -> str:
    """Print the text every way there is, then return it."""
    print("NOISE: print", text)
    print("NOISE: print without newline", text, end="")
    sys.stdout.write("NOISE: sys.stdout.write " + text + "\n")
    sys.stdout.flush()
    os.write(1, ("NOISE: os.write(1) " + text + "\n").encode())
    sys.__stdout__.write("NOISE: sys.__stdout__ " + text + "\n")
    sys.__stdout__.flush()
    return text


@mcp.tool()
async def async_shout(text: str) -> str:
    """The same from an async tool."""
    print("NOISE: async print", text, flush=True)
    os.write(1, b"NOISE: async os.write(1)\n")
    return text
