"""The python-sdk's parameter_descriptions example with the real pydantic.Field (served only
where pydantic imports for the embedded Python: Debian's python3-pydantic on the py311 build)."""

from typing import Annotated

from pydantic import Field

from fasterapi import FastMCP

mcp = FastMCP("pydantic-fields")


@mcp.tool()
def greet_user(
    name: str = Field(description="The name of the person to greet"),
    title: str = Field(description="Optional title like Mr/Ms/Dr", default=""),
    times: Annotated[int, Field(ge=1, le=3, description="Number of times to repeat the greeting")] = 1,
) -> str:
    """Greet a user by name with an optional title."""
    return " ".join([f"{title} {name}".strip()] * times)
