"""Exceptions a web handler raises (FastAPI/Starlette spelling)."""

from __future__ import annotations

import http
from typing import Any, Mapping


class HTTPException(Exception):
    """Answers the request with `status_code` and {"detail": detail} (FastAPI's shape); detail
    defaults to the status's reason phrase."""

    def __init__(self, status_code: int, detail: Any = None, headers: Mapping[str, str] | None = None) -> None:
        if detail is None:
            try:
                detail = http.HTTPStatus(status_code).phrase
            except ValueError:
                detail = "Error"
        super().__init__(status_code, detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers) if headers else None

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


class RequestValidationError(Exception):
    """The request does not fit the handler's parameters: answered 422 with
    {"detail": errors}, each error {"type", "loc", "msg", "input"} as FastAPI (pydantic 2) writes
    them."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self._errors = errors

    def errors(self) -> list[dict[str, Any]]:
        return self._errors


class WebAppError(Exception):
    """A mistake in the app's definition (a route or parameter that cannot work), raised when the
    route is declared."""
