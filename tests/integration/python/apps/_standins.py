"""Stand-ins for `mcp.types` and `pydantic.Field`, for apps written against the python-sdk.

Neither package is installable for the embedded Python, so these classes have the names and the
attributes of the real ones (pydantic models: `model_dump(by_alias=True)` spells `meta` as
`_meta`; pydantic's FieldInfo keeps constraints as annotated_types objects in `metadata`). They
are not fasterapi's own classes: fasterapi must recognise them by shape.
"""

from __future__ import annotations

from typing import Any, Literal


class _Model:
    """The pydantic BaseModel surface fasterapi may use: attributes and model_dump."""

    def __init__(self, **fields: Any) -> None:
        if "_meta" in fields:
            fields["meta"] = fields.pop("_meta")
        for k, v in self._defaults().items():
            fields.setdefault(k, v)
        self.__dict__.update(fields)

    @classmethod
    def _defaults(cls) -> dict[str, Any]:
        return {"meta": None, "annotations": None}

    def model_dump(self, mode: str = "python", by_alias: bool = False, exclude_none: bool = False) -> dict[str, Any]:
        out = {}
        for k, v in self.__dict__.items():
            if exclude_none and v is None:
                continue
            if isinstance(v, _Model):
                v = v.model_dump(mode=mode, by_alias=by_alias, exclude_none=exclude_none)
            elif isinstance(v, list):
                v = [x.model_dump(mode=mode, by_alias=by_alias, exclude_none=exclude_none) if isinstance(x, _Model) else x for x in v]
            out["_meta" if (k == "meta" and by_alias) else k] = v
        return out


class TextContent(_Model):
    type: Literal["text"]
    text: str


class ImageContent(_Model):
    type: Literal["image"]
    data: str
    mimeType: str


class SamplingMessage(_Model):
    role: str
    content: Any


class CallToolResult(_Model):
    content: list[Any]

    @classmethod
    def _defaults(cls) -> dict[str, Any]:
        return {"meta": None, "structuredContent": None, "isError": False}


# ---- pydantic.Field ------------------------------------------------------------------------------

class PydanticUndefinedType:
    def __repr__(self) -> str:
        return "PydanticUndefined"


PydanticUndefined = PydanticUndefinedType()


class _Constraint:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


_Constraint.__module__ = "annotated_types"


class FieldInfo:
    def __init__(self, default: Any, kw: dict[str, Any]) -> None:
        self.default = default
        self.default_factory = kw.pop("default_factory", None)
        self.description = kw.pop("description", None)
        self.title = kw.pop("title", None)
        self.examples = kw.pop("examples", None)
        self.json_schema_extra = kw.pop("json_schema_extra", None)
        self.metadata = [_Constraint(**{k: v}) for k, v in kw.items() if v is not None]


def Field(default: Any = PydanticUndefined, **kw: Any) -> Any:  # noqa: N802
    return FieldInfo(default, kw)
