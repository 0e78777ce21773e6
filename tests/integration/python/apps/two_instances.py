"""two_instances.py: two FastMCP instances and no `mcp` variable; --mcp picks one."""

from fasterapi import FastMCP

public = FastMCP("public")
admin = FastMCP("admin")


@public.tool()
def hello() -> str:
    return "hello from public"


@admin.tool()
def shutdown_everything() -> str:
    return "no"
