"""`fasterapi.utilities.types`: the python-sdk's `mcp.server.fastmcp.utilities.types` (Image,
Audio) and PrefectHQ fastmcp's `fastmcp.utilities.types` (also File), for an import swap."""

from ..content import Audio, File, Image

__all__ = ["Image", "Audio", "File"]
