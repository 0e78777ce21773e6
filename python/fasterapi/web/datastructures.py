"""Request-side containers: case-insensitive headers, multi-valued query parameters, the URL."""

from __future__ import annotations

from typing import Any, Iterator, Mapping, NamedTuple
from urllib.parse import parse_qsl


class Address(NamedTuple):
    host: str
    port: int


class Headers(Mapping[str, str]):
    """Request headers, names case-insensitive; `getlist` returns every value of a repeated
    header, `[name]`/`get` the first. Built from the raw (name, value) pairs only when used."""

    __slots__ = ("_raw", "_index")

    def __init__(self, raw: list[tuple[str, str]] | Mapping[str, str] | None = None) -> None:
        if raw is None:
            raw = []
        elif isinstance(raw, Mapping):
            raw = list(raw.items())
        self._raw = [(k.lower(), v) for k, v in raw]
        self._index: dict[str, str] | None = None

    def _idx(self) -> dict[str, str]:
        if self._index is None:
            idx: dict[str, str] = {}
            for k, v in self._raw:
                idx.setdefault(k, v)
            self._index = idx
        return self._index

    def __getitem__(self, key: str) -> str:
        return self._idx()[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._idx()

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._idx().get(key.lower(), default)

    def getlist(self, key: str) -> list[str]:
        key = key.lower()
        return [v for k, v in self._raw if k == key]

    def raw(self) -> list[tuple[str, str]]:
        return list(self._raw)

    def __iter__(self) -> Iterator[str]:
        return iter(self._idx())

    def __len__(self) -> int:
        return len(self._idx())

    def __repr__(self) -> str:
        return f"Headers({self._raw!r})"


class QueryParams(Mapping[str, str]):
    """The query string's parameters: `[name]`/`get` give the last value (Starlette), `getlist`
    all of them in order, `multi_items()` every pair."""

    __slots__ = ("_items", "_last")

    def __init__(self, query: str | list[tuple[str, str]] = "") -> None:
        if isinstance(query, str):
            items = parse_qsl(query, keep_blank_values=True) if query else []
        else:
            items = list(query)
        self._items = items
        self._last = dict(items)

    def __getitem__(self, key: str) -> str:
        return self._last[key]

    def getlist(self, key: str) -> list[str]:
        return [v for k, v in self._items if k == key]

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._last)

    def __len__(self) -> int:
        return len(self._last)

    def __repr__(self) -> str:
        return f"QueryParams({self._items!r})"


class URL:
    """The request URL as the server saw it: scheme, netloc (from Host), path (decoded), query
    (raw)."""

    __slots__ = ("scheme", "netloc", "path", "raw_path", "query")

    def __init__(self, scheme: str, netloc: str, raw_path: str, query: str) -> None:
        from urllib.parse import unquote

        self.scheme = scheme
        self.netloc = netloc
        self.raw_path = raw_path
        self.path = unquote(raw_path)
        self.query = query

    @property
    def hostname(self) -> str:
        host = self.netloc
        if host.startswith("["):
            return host[1 : host.find("]")]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def port(self) -> int | None:
        host = self.netloc
        tail = host[host.find("]") + 1 :] if host.startswith("[") else host
        if ":" in tail:
            try:
                return int(tail.rsplit(":", 1)[1])
            except ValueError:
                return None
        return None

    def __str__(self) -> str:
        q = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{self.netloc}{self.raw_path}{q}"

    def __repr__(self) -> str:
        return f"URL({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))
