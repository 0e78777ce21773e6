"""Docstrings → a description and per-parameter descriptions.

Understands Google style (`Args:` / `Arguments:` / `Parameters:` sections with `name (type): text`
entries), NumPy style (`Parameters` underlined with dashes, `name : type` entries) and reST
(`:param name: text`, `:param type name: text`, `:type name:` lines). The parameter sections are
removed from the description because their text moves into the input schema; everything else
(summary, body, Returns, Raises, examples) is kept, as FastMCP keeps the whole docstring.
"""

from __future__ import annotations

import inspect
import re

_GOOGLE_PARAMS = re.compile(
    r"^(args|arguments|parameters|params|keyword args|keyword arguments|other parameters)\s*:\s*$",
    re.IGNORECASE,
)
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_NUMPY_HEADER = re.compile(r"^(parameters|other parameters|keyword arguments)\s*$", re.IGNORECASE)
_NUMPY_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?::\s*(.*))?$")
_REST_PARAM = re.compile(
    r"^:(param|parameter|arg|argument|key|keyword)\s+(?:[^:]*?\s)?\*{0,2}(\w+)\s*:\s*(.*)$"
)
_REST_TYPE = re.compile(r"^:type\s+\w+\s*:")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """(description, {parameter: description}) from a docstring; ("", {}) for None."""
    if not doc or not doc.strip():
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    params: dict[str, str] = {}
    kept: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        stripped = line.strip()
        # Google: "Args:" then an indented block.
        if _GOOGLE_PARAMS.match(stripped):
            base = _indent(line)
            i += 1
            current: str | None = None
            entry_indent = -1
            while i < n:
                ln = lines[i]
                if ln.strip() and _indent(ln) <= base:
                    break
                if ln.strip():
                    m = _GOOGLE_ENTRY.match(ln.strip())
                    if m and (entry_indent < 0 or _indent(ln) <= entry_indent):
                        entry_indent = _indent(ln)
                        current = m.group(1)
                        params[current] = m.group(3).strip()
                    elif current is not None:
                        params[current] = (params[current] + " " + ln.strip()).strip()
                i += 1
            continue
        # NumPy: "Parameters" underlined with dashes.
        if _NUMPY_HEADER.match(stripped) and i + 1 < n and re.fullmatch(r"-{3,}", lines[i + 1].strip()):
            base = _indent(line)
            i += 2
            current = None
            while i < n:
                ln = lines[i]
                if not ln.strip():
                    # A blank line ends the section when the next text is a new header.
                    if i + 2 < n and re.fullmatch(r"-{3,}", lines[i + 2].strip()):
                        break
                    i += 1
                    continue
                if _indent(ln) == base and i + 1 < n and re.fullmatch(r"-{3,}", lines[i + 1].strip()):
                    break
                if _indent(ln) == base:
                    m = _NUMPY_ENTRY.match(ln.strip())
                    if m:
                        current = m.group(1)
                        params[current] = ""
                elif current is not None:
                    params[current] = (params[current] + " " + ln.strip()).strip()
                i += 1
            continue
        # reST field lists.
        m = _REST_PARAM.match(stripped)
        if m or _REST_TYPE.match(stripped):
            base = _indent(line)
            name = m.group(2) if m else None
            if name is not None:
                params[name] = m.group(3).strip() if m else ""
            i += 1
            while i < n and lines[i].strip() and _indent(lines[i]) > base:
                if name is not None:
                    params[name] = (params[name] + " " + lines[i].strip()).strip()
                i += 1
            continue
        kept.append(line)
        i += 1
    description = "\n".join(kept).strip()
    description = re.sub(r"\n{3,}", "\n\n", description)
    return description, params


def humanize(name: str) -> str:
    """A readable fallback description from a function name: `get_weather` → "Get weather"."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ").split()
    if not words:
        return name
    text = " ".join(words).lower()
    return text[0].upper() + text[1:]
