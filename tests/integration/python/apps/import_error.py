"""import_error.py: an app that raises while it is imported."""

from fasterapi import FastMCP

mcp = FastMCP("broken")


def load_settings() -> dict:
    raise RuntimeError("settings.toml is missing (raised at import)")


SETTINGS = load_settings()
