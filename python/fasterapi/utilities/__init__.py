"""`fasterapi.utilities`: module paths of `mcp.server.fastmcp.utilities` (see `types`)."""
