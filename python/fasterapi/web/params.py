"""Parameter markers (FastAPI's spelling): `Query()`, `Path()`, `Header()`, `Cookie()`, `Body()`
as defaults or inside `Annotated[...]`, and `Depends()`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..schema import MISSING, FieldInfo


@dataclass(frozen=True)
class ParamInfo(FieldInfo):
    """Where a handler parameter comes from, with FieldInfo's default and constraints (ge, le,
    min_length, max_length, pattern, ...) checked on the converted value."""

    kind: str = "query"
    alias: str | None = None
    embed: bool = False
    convert_underscores: bool = True


def _marker(kind: str) -> Callable[..., ParamInfo]:
    def make(
        default: Any = MISSING,
        *,
        alias: str | None = None,
        default_factory: Callable[[], Any] | None = None,
        description: str | None = None,
        title: str | None = None,
        examples: list[Any] | None = None,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
        lt: float | None = None,
        multiple_of: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        regex: str | None = None,
        embed: bool = False,
        convert_underscores: bool = True,
        **_ignored: Any,
    ) -> ParamInfo:
        if default is Ellipsis:
            default = MISSING  # FastAPI's spelling of "required"
        return ParamInfo(
            default=default,
            default_factory=default_factory,
            description=description,
            title=title,
            examples=examples,
            ge=ge,
            gt=gt,
            le=le,
            lt=lt,
            multiple_of=multiple_of,
            min_length=min_length,
            max_length=max_length,
            pattern=pattern or regex,
            kind=kind,
            alias=alias,
            embed=embed,
            convert_underscores=convert_underscores,
        )

    make.__name__ = kind.capitalize()
    make.__doc__ = f"Declares a parameter read from the request's {kind}."
    return make


Query = _marker("query")
Path = _marker("path")
Header = _marker("header")
Cookie = _marker("cookie")
Body = _marker("body")
Form = _marker("form")


class Depends:
    """`Depends(fn)`: the parameter's value is what `fn` returns (or yields: the code after the
    yield runs once the response is made). `fn` takes request parameters like a handler,
    dependencies included; within one request it runs once however many times it is depended
    on (`use_cache=False` opts out)."""

    __slots__ = ("dependency", "use_cache")

    def __init__(self, dependency: Callable[..., Any] | None = None, *, use_cache: bool = True) -> None:
        self.dependency = dependency
        self.use_cache = use_cache

    def __repr__(self) -> str:
        name = getattr(self.dependency, "__name__", repr(self.dependency))
        return f"Depends({name})"
