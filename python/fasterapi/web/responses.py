"""Responses (Starlette's spelling): the status, headers and body a handler answers with."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from typing import Any, Iterator, Mapping, MutableMapping
from urllib.parse import quote


class MutableHeaders(MutableMapping[str, str]):
    """Response headers: case-insensitive names, insertion order kept; `append` adds a repeated
    header (Set-Cookie)."""

    __slots__ = ("_items",)

    def __init__(self, init: Mapping[str, str] | list[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = []
        if init:
            for k, v in init.items() if isinstance(init, Mapping) else init:
                self[k] = v

    def __getitem__(self, key: str) -> str:
        low = key.lower()
        for k, v in self._items:
            if k.lower() == low:
                return v
        raise KeyError(key)

    def __setitem__(self, key: str, value: str) -> None:
        low = key.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != low]
        self._items.append((key, str(value)))

    def __delitem__(self, key: str) -> None:
        low = key.lower()
        n = len(self._items)
        self._items = [(k, v) for k, v in self._items if k.lower() != low]
        if len(self._items) == n:
            raise KeyError(key)

    def append(self, key: str, value: str) -> None:
        self._items.append((key, str(value)))

    def setdefault(self, key: str, default: str = "") -> str:  # type: ignore[override]
        # MutableMapping's version goes through a KeyError per missing name (~1 us each).
        low = key.lower()
        for k, v in self._items:
            if k.lower() == low:
                return v
        self._items.append((key, str(default)))
        return str(default)

    def __iter__(self) -> Iterator[str]:
        return iter([k for k, _ in self._items])

    def __len__(self) -> int:
        return len(self._items)

    def raw(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"MutableHeaders({self._items!r})"


class Response:
    """A response: `content` (bytes, or str encoded as UTF-8), `status_code`, `headers`,
    `media_type` (text types get "; charset=utf-8")."""

    media_type: str | None = None
    charset = "utf-8"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.status_code = int(status_code)
        if media_type is not None:
            self.media_type = media_type
        self.body = self.render(content)
        self.headers = MutableHeaders(headers)

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        if isinstance(content, (bytes, bytearray, memoryview)):
            return bytes(content)
        return str(content).encode(self.charset)

    @property
    def content_type(self) -> str | None:
        mt = self.media_type
        if mt is None:
            return None
        if mt.startswith("text/") and "charset=" not in mt:
            return f"{mt}; charset={self.charset}"
        return mt

    def set_cookie(
        self,
        key: str,
        value: str = "",
        max_age: int | None = None,
        expires: int | str | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = "lax",
    ) -> None:
        """Adds a Set-Cookie header (RFC 6265 §4.1)."""
        parts = [f"{key}={quote(str(value), safe='')}"]
        if max_age is not None:
            parts.append(f"Max-Age={int(max_age)}")
        if expires is not None:
            if isinstance(expires, int):
                import email.utils
                import time

                expires = email.utils.formatdate(time.time() + expires, usegmt=True)
            parts.append(f"Expires={expires}")
        if path is not None:
            parts.append(f"Path={path}")
        if domain is not None:
            parts.append(f"Domain={domain}")
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        if samesite is not None:
            parts.append(f"SameSite={samesite.capitalize()}")
        self.headers.append("Set-Cookie", "; ".join(parts))

    def delete_cookie(self, key: str, path: str = "/", domain: str | None = None) -> None:
        self.set_cookie(key, "", max_age=0, expires=0, path=path, domain=domain)


class PlainTextResponse(Response):
    media_type = "text/plain"


class HTMLResponse(Response):
    media_type = "text/html"


def _default(value: Any) -> Any:
    """json.dumps' hook for what JSON has no type for (FastAPI's jsonable_encoder, in short)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    iso = getattr(value, "isoformat", None)  # datetime, date, time
    if iso is not None:
        return iso()
    to_dict = getattr(value, "model_dump", None) or getattr(value, "dict", None)
    if callable(to_dict):
        return to_dict()
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default).encode


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity (RFC 8259 §6): they become null, as FastAPI's encoder gives."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _one_shot_encoder() -> Any:
    """_encode's C encoder made once, without the circular-reference markers: JSONEncoder.encode
    builds a new one per call (and its markers dict), which cost more than encoding a small
    answer. Without markers a cycle ends in RecursionError instead of ValueError; json_bytes then
    takes _encode's path, so what a caller sees is unchanged. None without the C accelerator."""
    make = getattr(json.encoder, "c_make_encoder", None)
    esc = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or esc is None:
        return None
    try:
        enc = make(None, _default, esc, None, ":", ",", False, False, False)
        if "".join(enc({"a": [1, 0.5, "\u00e9", None]}, 0)) != '{"a":[1,0.5,"\u00e9",null]}':
            return None
    except Exception:  # noqa: BLE001 - another signature: keep the plain encoder
        return None
    return enc


_fast_encode = _one_shot_encoder()


def json_bytes(content: Any) -> bytes:
    if _fast_encode is not None:
        try:
            return "".join(_fast_encode(content, 0)).encode("utf-8")
        except (ValueError, RecursionError):
            pass  # NaN/infinity, or a cycle: the exact path below
    try:
        return _encode(content).encode("utf-8")
    except ValueError:
        return _encode(_finite(json.loads(json.dumps(content, default=_default)))).encode("utf-8")


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


class RedirectResponse(Response):
    """A redirect to `url` (307 by default, as Starlette: the method and body are kept)."""

    def __init__(self, url: Any, status_code: int = 307, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(b"", status_code, headers)
        self.headers["Location"] = quote(str(url), safe=":/%#?=@[]!$&'()*+,;")


class FileResponse(Response):
    """A file's bytes, its media type guessed from the name (`filename` adds a
    Content-Disposition: attachment). The file is read whole when the response is made: meant
    for small files; large ones belong to a static route (fa_http_route_static) or a proxy."""

    def __init__(
        self,
        path: Any,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str | None = None,
        filename: str | None = None,
    ) -> None:
        import mimetypes
        import os

        path = os.fspath(path)
        if media_type is None:
            media_type = mimetypes.guess_type(filename or path)[0] or "application/octet-stream"
        with open(path, "rb") as f:
            content = f.read()
        super().__init__(content, status_code, headers, media_type)
        if filename is not None:
            self.headers["Content-Disposition"] = "attachment; filename*=utf-8''" + quote(filename, safe="")
