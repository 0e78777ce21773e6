"""State shared by every interpreter of the server: counters, sets and maps kept in C memory.

A module global lives in one interpreter only, and the host runs one interpreter per worker, so
`hits += 1` in a tool counts per worker. These objects count once for the whole server:

    from fasterapi import shared

    hits = shared.Counter("hits")
    seen = shared.Set("seen-users")
    cache = shared.Map("cache")

    @mcp.tool()
    def visit(user: str) -> int:
        seen.add(user)
        cache[user] = {"last": "now"}
        return hits.add()

Values are JSON-able and compared by their canonical JSON text (`json.dumps(sort_keys=True,
separators=(",", ":"))`), so `{"a": 1, "b": 2}` and `{"b": 2, "a": 1}` are the same set member.
Objects with the same name are the same state. Each single call is atomic; sequences of calls
(read-modify-write on a Map entry) are not.

Inside the host the state is the `_fasterapi` module's; without it (tests, `python server.py`)
an in-process implementation with the same behaviour is used.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, MutableMapping
from typing import Any


# One encoder, made once: json.dumps with any non-default option builds a new JSONEncoder per
# call, which cost more than encoding a short key (2.0 against 0.2 us for "user-123" on 3.13).
# encode() keeps no state between calls, so threads may share it.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), allow_nan=False)


def _one_shot() -> Any:
    """_ENCODER's C encoder, made once and without circular-reference markers (encode() builds
    both per call: for a short list that was most of its cost). A cycle then ends in
    RecursionError, and encode() asks _ENCODER for the real error. None without _json."""
    make = getattr(json.encoder, "c_make_encoder", None)
    esc = getattr(json.encoder, "c_encode_basestring_ascii", None)
    if make is None or esc is None:
        return None
    try:
        enc = make(None, _ENCODER.default, esc, None, ":", ",", True, False, False)
        if "".join(enc({"b": [1, 0.5], "a": "\u00e9"}, 0)) != _ENCODER.encode({"b": [1, 0.5], "a": "\u00e9"}):
            return None
    except Exception:  # noqa: BLE001 - another signature: encode() keeps _ENCODER
        return None
    return enc


_FAST = _one_shot()
_ESCAPE = getattr(json.encoder, "c_encode_basestring_ascii", None) or json.encoder.py_encode_basestring_ascii


def encode(value: Any) -> str:
    """The canonical JSON text of a value (TypeError/ValueError when it is not JSON-able)."""
    if type(value) is str:  # what JSONEncoder.encode does first for a str
        return _ESCAPE(value)
    if _FAST is not None:
        try:
            return "".join(_FAST(value, 0))
        except Exception:  # noqa: BLE001 - _ENCODER raises the real error (a cycle: ValueError)
            pass
    return _ENCODER.encode(value)


class _LocalBackend:
    """The in-process stand-in for `_fasterapi`'s shared_* functions."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, int] = {}
        self._sets: dict[str, dict[str, None]] = {}
        self._maps: dict[str, dict[str, str]] = {}

    def shared_counter_add(self, name: str, delta: int) -> int:
        with self._lock:
            value = self._counters.get(name, 0) + int(delta)
            self._counters[name] = value
            return value

    def shared_counter_get(self, name: str) -> int:
        with self._lock:
            return self._counters.get(name, 0)

    def shared_set_add(self, name: str, value_json: str) -> bool:
        with self._lock:
            members = self._sets.setdefault(name, {})
            if value_json in members:
                return False
            members[value_json] = None
            return True

    def shared_set_discard(self, name: str, value_json: str) -> bool:
        with self._lock:
            members = self._sets.get(name, {})
            if value_json not in members:
                return False
            del members[value_json]
            return True

    def shared_set_contains(self, name: str, value_json: str) -> bool:
        with self._lock:
            return value_json in self._sets.get(name, {})

    def shared_set_len(self, name: str) -> int:
        with self._lock:
            return len(self._sets.get(name, {}))

    def shared_set_items(self, name: str) -> list[str]:
        with self._lock:
            return list(self._sets.get(name, {}))

    def shared_map_set(self, name: str, key: str, value_json: str) -> None:
        with self._lock:
            self._maps.setdefault(name, {})[key] = value_json

    def shared_map_get(self, name: str, key: str) -> str | None:
        with self._lock:
            return self._maps.get(name, {}).get(key)

    def shared_map_delete(self, name: str, key: str) -> bool:
        with self._lock:
            return self._maps.get(name, {}).pop(key, None) is not None

    def shared_map_len(self, name: str) -> int:
        with self._lock:
            return len(self._maps.get(name, {}))

    def shared_map_items(self, name: str) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._maps.get(name, {}).items())


_backend: Any = None
_backend_lock = threading.Lock()


def backend() -> Any:
    """`_fasterapi` inside the host, else the in-process implementation (chosen once; the lock
    keeps two threads from each making their own in-process state)."""
    global _backend
    found = _backend
    if found is not None:
        return found
    with _backend_lock:
        if _backend is None:
            try:
                import _fasterapi  # type: ignore[import-not-found]
            except ImportError:
                _fasterapi = None
            if _fasterapi is not None and hasattr(_fasterapi, "shared_counter_add"):
                _backend = _fasterapi
            else:
                _backend = _LocalBackend()
        return _backend


def worker_id() -> int:
    """Which worker runs this code: inside the host, the pool worker's index, 0..workers-1 (the
    early worker that serves during an own-GIL pool's start-up is `workers`); elsewhere (tests,
    uvicorn, the host's main interpreter importing the app) the thread's `threading.get_ident()`.

    For state kept per worker, e.g. `per_worker[str(worker_id())] = taken`, to see that every
    worker served. A plain `def` handler runs to its end before its worker starts another, so a
    worker's own entry needs no lock; `async def` handlers of one worker interleave at awaits."""
    get = getattr(backend(), "worker_id", None)
    wid = get() if get is not None else None
    return threading.get_ident() if wid is None else int(wid)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError("a shared object's name must be a non-empty str")
    return name


class Counter:
    """A shared integer counter."""

    def __init__(self, name: str) -> None:
        self.name = _check_name(name)

    def add(self, n: int = 1) -> int:
        """Adds n (may be negative) and returns the new value."""
        if type(n) is not int and (isinstance(n, bool) or not isinstance(n, int)):
            raise TypeError("Counter.add() takes an int")
        return int((_backend or backend()).shared_counter_add(self.name, n))

    def incr(self) -> int:
        return self.add(1)

    def decr(self) -> int:
        return self.add(-1)

    @property
    def value(self) -> int:
        return int(backend().shared_counter_get(self.name))

    def __int__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"shared.Counter({self.name!r}, value={self.value})"


class Set:
    """A shared set of JSON-able values."""

    def __init__(self, name: str) -> None:
        self.name = _check_name(name)

    def add(self, value: Any) -> bool:
        """Adds a value; True if it was not there yet."""
        return bool((_backend or backend()).shared_set_add(self.name, encode(value)))

    def discard(self, value: Any) -> bool:
        """Removes a value if present; True if it was there."""
        return bool(backend().shared_set_discard(self.name, encode(value)))

    def remove(self, value: Any) -> None:
        if not self.discard(value):
            raise KeyError(value)

    def __contains__(self, value: object) -> bool:
        try:
            text = encode(value)
        except (TypeError, ValueError):
            return False
        return bool(backend().shared_set_contains(self.name, text))

    def __len__(self) -> int:
        return int(backend().shared_set_len(self.name))

    def __iter__(self) -> Iterator[Any]:
        return iter([json.loads(t) for t in backend().shared_set_items(self.name)])

    def __repr__(self) -> str:
        return f"shared.Set({self.name!r}, len={len(self)})"


class Map(MutableMapping[str, Any]):
    """A shared mapping of str keys to JSON-able values."""

    def __init__(self, name: str) -> None:
        self.name = _check_name(name)

    @staticmethod
    def _key(key: Any) -> str:
        if not isinstance(key, str):
            raise TypeError(f"shared.Map keys are str, not {type(key).__name__}")
        return key

    def __getitem__(self, key: str) -> Any:
        text = backend().shared_map_get(self.name, self._key(key))
        if text is None:
            raise KeyError(key)
        return json.loads(text)

    def get(self, key: str, default: Any = None) -> Any:
        if not isinstance(key, str):
            return default
        text = backend().shared_map_get(self.name, key)
        return default if text is None else json.loads(text)

    def __setitem__(self, key: str, value: Any) -> None:
        if type(key) is not str:
            self._key(key)
        (_backend or backend()).shared_map_set(self.name, key, encode(value))

    def __delitem__(self, key: str) -> None:
        if not backend().shared_map_delete(self.name, self._key(key)):
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and backend().shared_map_get(self.name, key) is not None

    def __len__(self) -> int:
        return int(backend().shared_map_len(self.name))

    def __iter__(self) -> Iterator[str]:
        return iter([k for k, _ in backend().shared_map_items(self.name)])

    def keys(self) -> list[str]:  # type: ignore[override]
        return [k for k, _ in backend().shared_map_items(self.name)]

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(k, json.loads(v)) for k, v in backend().shared_map_items(self.name)]

    def values(self) -> list[Any]:  # type: ignore[override]
        return [json.loads(v) for _, v in backend().shared_map_items(self.name)]

    def __repr__(self) -> str:
        return f"shared.Map({self.name!r}, len={len(self)})"


__all__ = ["Counter", "Set", "Map", "encode", "backend", "worker_id"]
