"""`from fasterapi.middleware.cors import CORSMiddleware` (FastAPI's path)."""

from ..web.middleware import CORSMiddleware

__all__ = ["CORSMiddleware"]
