"""`from fasterapi.middleware.base import BaseHTTPMiddleware` (Starlette's path)."""

from ..web.middleware import BaseHTTPMiddleware

__all__ = ["BaseHTTPMiddleware"]
