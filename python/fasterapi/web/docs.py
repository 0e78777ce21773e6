"""The /docs page: docs.html (our own HTML, CSS and JavaScript, no CDN) with the App's title and
the OpenAPI document's URL filled in. The page fetches the document and renders it in the
browser, so it stays the same for every app and is read from disk once per interpreter."""

from __future__ import annotations

import html
import os
import re

_PAGE: str | None = None
_SLOT = re.compile(r"\{\{(title|openapi_url)\}\}")


def docs_html(title: str, openapi_url: str) -> str:
    """The page for an app titled `title` whose document is at `openapi_url` (both escaped:
    they land in element text and attributes)."""
    global _PAGE
    if _PAGE is None:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "docs.html"), encoding="utf-8") as f:
            _PAGE = f.read()
    values = {"title": html.escape(title), "openapi_url": html.escape(openapi_url)}
    # One pass, so that a title holding "{{openapi_url}}" stays text.
    return _SLOT.sub(lambda m: values[m.group(1)], _PAGE)


__all__ = ["docs_html"]
