"""`from fasterapi.middleware.trustedhost import TrustedHostMiddleware` (FastAPI's path)."""

from ..web.middleware import TrustedHostMiddleware

__all__ = ["TrustedHostMiddleware"]
