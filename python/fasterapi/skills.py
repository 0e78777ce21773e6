"""Skills (the `io.modelcontextprotocol/skills` extension, SEP-2640): a directory whose root holds
a `SKILL.md` (YAML frontmatter + Markdown instructions) and any supporting files, served as
resources under `skill://<name>/<path>`.

`mcp.add_skill("skills/pdf-processing")` (or `FastMCP(skills=[...])`) reads the skill once, at
registration: it parses SKILL.md's frontmatter, checks the name, walks the directory within named
limits, computes each file's size and sha256 digest, and keeps the bytes in memory, so that what
resources/read serves is exactly what the digest in the skill's entry describes. The host serves
`skills/list`, `skills/get` and `resources/directory/read` in C from the entries `export()` gives
it (src/mcp/skills.c); the files are ordinary resources.

The frontmatter parser is deliberately small and strict. It accepts the subset skills use:
`key: value` lines whose values are plain or quoted strings, and a `metadata:` map one level deep
of the same. Anything else (lists, block scalars, flow collections, anchors, values YAML would
read as numbers, booleans, null or dates) is a start-up error naming the file and line, because
a client compares the entry's frontmatter with its own YAML parse of the file, field by field
(SEP-2640 "Integrity and verification"): what this parser returns must be what any YAML 1.2
parser returns, and refusing is the only safe answer where they could differ.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .resources import BinaryResource, Resource, TextResource

# Limits, each with its reason.
# Files per skill and total bytes per skill: the extension says servers SHOULD NOT serve a skill
# with more than 512 resources or more than 16 MiB in all (clients may refuse bigger ones). The
# bytes are held in memory for the server's lifetime, so the byte limit also bounds memory.
MAX_SKILL_FILES = 512
MAX_SKILL_BYTES = 16 * 1024 * 1024
# The frontmatter block: Agent Skills frontmatter is a handful of short fields; a block longer
# than this is a missing closing `---`, not a skill.
MAX_FRONTMATTER_LINES = 200

SKILL_FILE = "SKILL.md"
SCHEME = "skill://"
# Agent Skills naming rules (1-64 characters, lowercase letters, digits and hyphens, no leading,
# trailing or consecutive hyphens), as SEP-2640 checks them.
NAME_RE = re.compile(r"^(?!.*--)[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$")
# Agent Skills: the description is 1-1024 characters.
MAX_DESCRIPTION = 1024
RESERVED_META_PREFIX = "io.modelcontextprotocol/"

_KEY_RE = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-/]*):(?:[ \t]+(.*))?$")
# Plain scalars that a YAML parser would not read as a string (YAML 1.2 core schema: null, bool,
# int, float; plus the YAML 1.1 booleans and timestamps that js-yaml and PyYAML still apply).
_NOT_STRING_RE = re.compile(
    r"^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE"
    r"|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF"
    r"|[-+]?[0-9][0-9_]*|0o[0-7]+|0x[0-9a-fA-F]+|0b[01]+"
    r"|[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?"
    r"|[0-9]+(?::[0-5]?[0-9])+(?:\.[0-9]*)?)$"
)
# A plain scalar cannot start with these (YAML 1.2 §7.3.3 c-indicator), except `-`, `?` and `:`
# followed by a non-space character.
_INDICATORS = set("[]{}#&*!|>'\"%@`,")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0",
            "b": "\b", "f": "\f", " ": " ", "\t": "\t", "e": "\x1b", "a": "\a", "v": "\v"}
# Supporting files with a well-known text type that `mimetypes` may not know on every system.
_MIME = {".md": "text/markdown", ".markdown": "text/markdown", ".txt": "text/plain",
         ".py": "text/x-python", ".sh": "text/x-shellscript", ".json": "application/json",
         ".yaml": "application/yaml", ".yml": "application/yaml", ".csv": "text/csv",
         ".html": "text/html", ".js": "text/javascript", ".ts": "text/plain"}
# RFC 3986 pchar minus "/" (segments are encoded one by one): what a path segment may hold as is.
_PCHAR_SAFE = "-._~!$&'()*+,;=:@"


class SkillError(ValueError):
    """A skill that cannot be served: the message names the file (and line) and what is wrong."""


def _scalar(raw: str, where: str) -> str:
    """The string a YAML 1.2 parser reads from one value (after `key: `), or SkillError."""
    s = raw.strip()
    if not s:
        raise SkillError(f"{where}: empty value (YAML reads it as null); give a string")
    if s[0] == '"':
        out: list[str] = []
        i = 1
        while i < len(s):
            c = s[i]
            if c == '"':
                break
            if c == "\\":
                i += 1
                e = s[i] if i < len(s) else ""
                if e in _ESCAPES:
                    out.append(_ESCAPES[e])
                elif e in ("x", "u", "U"):
                    n = {"x": 2, "u": 4, "U": 8}[e]
                    digits = s[i + 1:i + 1 + n]
                    if len(digits) != n or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                        raise SkillError(f"{where}: bad \\{e} escape in a double-quoted string")
                    cp = int(digits, 16)
                    if cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
                        raise SkillError(f"{where}: \\{e}{digits} is not a Unicode scalar value")
                    out.append(chr(cp))
                    i += n
                else:
                    raise SkillError(f"{where}: unknown escape \\{e} in a double-quoted string")
            else:
                out.append(c)
            i += 1
        else:
            raise SkillError(f"{where}: unterminated double-quoted string (multi-line strings are not supported)")
        _rest(s[i + 1:], where)
        return "".join(out)
    if s[0] == "'":
        out = []
        i = 1
        while i < len(s):
            if s[i] == "'":
                if s[i + 1:i + 2] == "'":
                    out.append("'")
                    i += 2
                    continue
                break
            out.append(s[i])
            i += 1
        else:
            raise SkillError(f"{where}: unterminated single-quoted string (multi-line strings are not supported)")
        _rest(s[i + 1:], where)
        return "".join(out)
    # A plain scalar: it ends at " #" (a comment).
    cut = re.search(r"[ \t]#", s)
    if cut:
        s = s[:cut.start()].rstrip()
    if s[0] in _INDICATORS or (s[0] in "-?:" and (len(s) == 1 or s[1] in " \t")):
        raise SkillError(f"{where}: {s!r} starts with a YAML indicator character; quote the value")
    if ": " in s or s.endswith(":") or ":\t" in s:
        raise SkillError(f"{where}: {s!r} contains ': ' (a nested mapping); quote the value")
    if _NOT_STRING_RE.match(s):
        raise SkillError(f"{where}: YAML reads {s!r} as a number, boolean, null or date, not a string; quote it")
    return s


def _rest(tail: str, where: str) -> None:
    """What follows a quoted string on its line: nothing, or a comment."""
    t = tail.strip()
    if t and not (t.startswith("#") and tail[:1] in (" ", "\t")):
        raise SkillError(f"{where}: unexpected text after a quoted string: {t!r}")


def parse_frontmatter(text: str, source: str = SKILL_FILE) -> tuple[dict[str, Any], str]:
    """Splits a SKILL.md into its frontmatter (a dict of strings, with `metadata` a dict of
    strings) and its body. Raises SkillError naming `source` and the line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines[0].rstrip("\r") != "---":
        raise SkillError(f"{source}:1: a SKILL.md must begin with a `---` line opening its YAML frontmatter")
    end = None
    for n in range(1, min(len(lines), MAX_FRONTMATTER_LINES + 2)):
        if lines[n].rstrip("\r").rstrip(" \t") == "---":
            end = n
            break
    if end is None:
        raise SkillError(
            f"{source}:1: the frontmatter is not closed by a `---` line within {MAX_FRONTMATTER_LINES} lines"
        )
    fm: dict[str, Any] = {}
    meta: dict[str, str] | None = None  # the metadata map being filled
    meta_indent = 0
    for n in range(1, end):
        line = lines[n].rstrip("\r")
        where = f"{source}:{n + 1}"
        if not line.strip() or line.lstrip(" ").startswith("#"):
            continue
        if "\t" in line[: len(line) - len(line.lstrip(" \t"))]:
            raise SkillError(f"{where}: tabs cannot indent YAML; use spaces")
        indent = len(line) - len(line.lstrip(" "))
        if indent:
            if meta is None:
                raise SkillError(f"{where}: unexpected indentation (only `metadata:` may hold a nested map)")
            if meta_indent == 0:
                meta_indent = indent
            if indent != meta_indent:
                raise SkillError(f"{where}: metadata entries must all be indented alike (one level deep)")
            m = _KEY_RE.match(line[indent:])
            if not m:
                raise SkillError(f"{where}: expected `key: value` inside metadata")
            key, value = m.group(1), m.group(2)
            if key in meta:
                raise SkillError(f"{where}: duplicate metadata key {key!r}")
            if key.startswith(RESERVED_META_PREFIX):
                raise SkillError(f"{where}: metadata keys starting with {RESERVED_META_PREFIX!r} are reserved for MCP")
            meta[key] = _scalar(value or "", where)
            continue
        if meta is not None and not meta:
            raise SkillError(f"{source}:{n}: `metadata:` needs at least one indented `key: value` line")
        meta = None
        m = _KEY_RE.match(line)
        if not m:
            raise SkillError(f"{where}: expected `key: value` (lists, block scalars and other YAML forms are not supported)")
        key, value = m.group(1), m.group(2)
        if key in fm:
            raise SkillError(f"{where}: duplicate key {key!r}")
        if key == "metadata":
            if value is not None and value.strip() and not value.strip().startswith("#"):
                raise SkillError(f"{where}: `metadata:` must be followed by indented `key: value` lines")
            meta = fm[key] = {}
            meta_indent = 0
            continue
        fm[key] = _scalar(value or "", where)
    if meta is not None and not meta:
        raise SkillError(f"{source}:{end}: `metadata:` needs at least one indented `key: value` line")
    for req in ("name", "description"):
        if req not in fm:
            raise SkillError(f"{source}: the frontmatter has no {req!r}")
    if len(fm["description"]) > MAX_DESCRIPTION:
        raise SkillError(f"{source}: the description is longer than {MAX_DESCRIPTION} characters")
    return fm, "\n".join(lines[end + 1:])


def _mime(rel: str, data: bytes) -> str:
    ext = os.path.splitext(rel)[1].lower()
    mime = _MIME.get(ext) or mimetypes.guess_type(rel, strict=False)[0]
    if mime:
        return mime
    try:
        data.decode("utf-8")
        return "text/plain"
    except UnicodeDecodeError:
        return "application/octet-stream"


@dataclass
class SkillFile:
    rel: str  # path below the skill root, "/"-separated, not encoded
    data: bytes
    mime_type: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


@dataclass
class Skill:
    """One skill read from disk: its frontmatter and its files (SKILL.md first)."""

    name: str
    path: str
    frontmatter: dict[str, Any]
    files: list[SkillFile] = field(default_factory=list)

    def uri(self, rel: str = SKILL_FILE) -> str:
        return SCHEME + self.name + "/" + "/".join(quote(seg, safe=_PCHAR_SAFE) for seg in rel.split("/"))

    def entry(self) -> dict[str, Any]:
        """The skill entry served by skills/list and skills/get."""
        return {
            "uri": self.uri(),
            "frontmatter": self.frontmatter,
            "resources": [{"uri": self.uri(f.rel), "digest": f.digest, "size": len(f.data)} for f in self.files],
        }

    def resources(self) -> list[Resource]:
        """The files as resources: SKILL.md takes its name and description from the frontmatter
        (SEP-2640 SHOULD), the others are named by their path."""
        out: list[Resource] = []
        for f in self.files:
            skill_md = f.rel == SKILL_FILE
            kw: dict[str, Any] = dict(
                uri=self.uri(f.rel),
                name=self.frontmatter["name"] if skill_md else f"{self.name}/{f.rel}",
                description=self.frontmatter["description"] if skill_md else None,
                mime_type=f.mime_type,
                size=len(f.data),
            )
            try:
                out.append(TextResource(text=f.data.decode("utf-8"), **kw))
            except UnicodeDecodeError:
                out.append(BinaryResource(data=f.data, **kw))
        return out


def load_skill(path: str | os.PathLike[str], *, max_files: int = MAX_SKILL_FILES,
               max_bytes: int = MAX_SKILL_BYTES) -> Skill:
    """Reads the skill in directory `path`. Raises SkillError (a ValueError) naming the file."""
    root = os.fspath(path)
    if not os.path.isdir(root):
        raise SkillError(f"{root}: a skill is a directory holding {SKILL_FILE}; this is not a directory")
    dirname = os.path.basename(os.path.normpath(os.path.abspath(root)))
    skill_md = os.path.join(root, SKILL_FILE)
    if not os.path.isfile(skill_md) or os.path.islink(skill_md):
        raise SkillError(f"{skill_md}: every skill needs a {SKILL_FILE} (a regular file) at its root")
    files: list[SkillFile] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                raise SkillError(f"{os.path.join(dirpath, d)}: symbolic links are not served from skills")
        for fname in sorted(filenames):
            full = os.path.join(dirpath, fname)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if os.path.islink(full) or not os.path.isfile(full):
                raise SkillError(f"{full}: only regular files are served from skills (not links or devices)")
            if len(files) >= max_files:
                raise SkillError(f"{root}: the skill has more than {max_files} files (the limit; raise max_files=)")
            size = os.path.getsize(full)
            if total + size > max_bytes:
                raise SkillError(f"{root}: the skill's files exceed {max_bytes} bytes in all (the limit; raise max_bytes=)")
            with open(full, "rb") as fh:
                data = fh.read(max_bytes - total + 1)
            if total + len(data) > max_bytes:
                raise SkillError(f"{root}: the skill's files exceed {max_bytes} bytes in all (the limit; raise max_bytes=)")
            total += len(data)
            files.append(SkillFile(rel, data, "text/markdown" if rel == SKILL_FILE else _mime(rel, data)))
    files.sort(key=lambda f: (f.rel != SKILL_FILE, f.rel))
    try:
        text = files[0].data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SkillError(f"{skill_md}: not UTF-8 text ({e})") from None
    fm, _ = parse_frontmatter(text, skill_md)
    name = fm["name"]
    if not NAME_RE.match(name):
        raise SkillError(
            f"{skill_md}: skill name {name!r} breaks the naming rules (1-64 lowercase letters, digits "
            "and hyphens; no leading, trailing or double hyphens)"
        )
    if name != dirname:
        raise SkillError(f"{skill_md}: the skill name {name!r} must equal its directory's name {dirname!r}")
    return Skill(name=name, path=root, frontmatter=fm, files=files)
