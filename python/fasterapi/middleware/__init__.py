"""FastAPI's / Starlette's middleware import paths (`fastapi.middleware.cors` is
`fasterapi.middleware.cors`); the code is in fasterapi.web.middleware."""

from ..web.middleware import BaseHTTPMiddleware, Middleware

__all__ = ["Middleware", "BaseHTTPMiddleware"]
