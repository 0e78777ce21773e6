"""Skills (SEP-2640): the strict SKILL.md frontmatter parser, loading a skill directory (name
rules, limits, digests, MIME types) and what FastMCP exports and serves for it."""

from __future__ import annotations

import hashlib
import os
import tempfile
import unittest
from typing import Any

from fasterapi import FastMCP, SkillError
from fasterapi.skills import load_skill, parse_frontmatter

try:
    from ._support import read_resource
except ImportError:
    from _support import read_resource  # type: ignore[no-redef]

try:  # a second opinion on what YAML makes of the accepted subset, when installed
    import yaml  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - depends on the interpreter
    yaml = None

HEAD = "---\nname: demo\ndescription: A demo skill\n"


def fm(body: str) -> dict[str, Any]:
    return parse_frontmatter(f"---\n{body}---\nbody\n", "S.md")[0]


class Frontmatter(unittest.TestCase):
    def test_plain_and_quoted(self) -> None:
        got = fm(
            'name: demo\ndescription: "Say \\"hi\\" \\u00e9"\nlicense: \'it\'\'s MIT\'\n'
            "allowed-tools: Bash(git:*) Read  # trailing comment\n"
        )
        self.assertEqual(got, {"name": "demo", "description": 'Say "hi" \u00e9', "license": "it's MIT",
                               "allowed-tools": "Bash(git:*) Read"})

    def test_metadata_map_and_body(self) -> None:
        got, body = parse_frontmatter(
            "\ufeff---\r\nname: demo\r\ndescription: d\r\nmetadata:\r\n  author: me\r\n"
            "  version: \"1.0\"\r\n\r\n# a comment\r\n---  \r\n# Title\r\n", "S.md")
        self.assertEqual(got, {"name": "demo", "description": "d", "metadata": {"author": "me", "version": "1.0"}})
        self.assertEqual(body, "# Title\r\n")

    def bad(self, text: str, needle: str, line: int | None = None) -> None:
        with self.assertRaises(SkillError) as cm:
            parse_frontmatter(text, "S.md")
        msg = str(cm.exception)
        self.assertIn(needle, msg)
        self.assertTrue(msg.startswith("S.md"), msg)
        if line is not None:
            self.assertTrue(msg.startswith(f"S.md:{line}:"), msg)

    def test_rejects(self) -> None:
        self.bad("# no frontmatter\n", "must begin with", 1)
        self.bad("---\nname: demo\n", "not closed", 1)
        self.bad(HEAD + "tags:\n  - a\n---\n", "empty value", 4)
        self.bad(HEAD + "- item\n---\n", "expected `key: value`", 4)
        self.bad(HEAD + "version: 1.0\n---\n", "quote it", 4)
        self.bad(HEAD + "enabled: true\n---\n", "quote it", 4)
        self.bad(HEAD + "when: 2024-01-01\n---\n", "quote it", 4)
        self.bad(HEAD + "x: null\n---\n", "quote it", 4)
        self.bad(HEAD + "x: ~\n---\n", "quote it", 4)
        self.bad(HEAD + "x: [a, b]\n---\n", "indicator", 4)
        self.bad(HEAD + "x: |\n  text\n---\n", "indicator", 4)
        self.bad(HEAD + "x: &anchor v\n---\n", "indicator", 4)
        self.bad(HEAD + "x: a: b\n---\n", "nested mapping", 4)
        self.bad(HEAD + 'x: "open\n---\n', "unterminated", 4)
        self.bad(HEAD + "x: 'open\n---\n", "unterminated", 4)
        self.bad(HEAD + 'x: "a" b\n---\n', "after a quoted string", 4)
        self.bad(HEAD + 'x: "\\q"\n---\n', "unknown escape", 4)
        self.bad(HEAD + 'x: "\\ud800"\n---\n', "Unicode scalar", 4)
        self.bad(HEAD + "name: again\n---\n", "duplicate key", 4)
        self.bad(HEAD + "  indented: v\n---\n", "unexpected indentation", 4)
        self.bad(HEAD + "metadata:\n---\n", "at least one", 4)
        self.bad(HEAD + "metadata: {}\n---\n", "must be followed by indented", 4)
        self.bad(HEAD + "metadata:\n  a: b\n    c: d\n---\n", "indented alike", 6)
        self.bad(HEAD + "metadata:\n  a: b\n  a: c\n---\n", "duplicate metadata key", 6)
        self.bad(HEAD + "metadata:\n\ta: b\n---\n", "tabs", 5)
        self.bad(HEAD + "metadata:\n  io.modelcontextprotocol/x: b\n---\n", "reserved", 5)
        self.bad("---\nname: demo\n---\n", "no 'description'")
        self.bad("---\ndescription: d\n---\n", "no 'name'")
        self.bad("---\nname: demo\ndescription: " + "x" * 1025 + "\n---\n", "longer than 1024")
        self.bad("---\n" + "a: b\n" * 300, "not closed")

    @unittest.skipIf(yaml is None, "PyYAML is not installed")
    def test_agrees_with_yaml(self) -> None:
        """Whatever the strict parser accepts, a YAML parser reads the same way (the client
        compares the two field by field)."""
        values = ["plain text", "https://example.com/a#b", "a#b", "'single ''q'''", '"dq \\t \\u00e9 \\\\"',
                  "Bash(git:*) Read", "-leading-dash", "tail # comment", '"1.0"', "v1.0", "1.0.0",
                  "x:y", "über", '"\\x41\\/"', "0x1G", "yes-please"]
        for v in values:
            text = f"---\nname: demo\ndescription: d\nk: {v}\nmetadata:\n  m: {v}\n---\n"
            with self.subTest(value=v):
                ours = parse_frontmatter(text, "S.md")[0]
                theirs = yaml.safe_load(text.split("---\n")[1])
                self.assertEqual(ours, theirs)


def make_skill(root: str, name: str, skill_md: str | None = None, files: dict[str, bytes] | None = None) -> str:
    d = os.path.join(root, name)
    os.makedirs(d)
    with open(os.path.join(d, "SKILL.md"), "w", encoding="utf-8") as f:
        f.write(skill_md if skill_md is not None else f"---\nname: {name}\ndescription: The {name} skill\n---\n# {name}\n")
    for rel, data in (files or {}).items():
        p = os.path.join(d, *rel.split("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    return d


class LoadSkill(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def test_entry_and_resources(self) -> None:
        png = b"\x89PNG\r\n\x1a\n\x00\xff"
        d = make_skill(self.root, "pdf-tools", files={
            "references/GUIDE.md": b"# Guide\n", "assets/logo.png": png, "scripts/a b.sh": b"echo\n"})
        mcp = FastMCP("t", skills=[d])
        table = mcp.export()
        [entry] = table["skills"]
        self.assertEqual(entry["uri"], "skill://pdf-tools/SKILL.md")
        self.assertEqual(entry["frontmatter"], {"name": "pdf-tools", "description": "The pdf-tools skill"})
        uris = [r["uri"] for r in entry["resources"]]
        self.assertEqual(uris, ["skill://pdf-tools/SKILL.md", "skill://pdf-tools/assets/logo.png",
                                "skill://pdf-tools/references/GUIDE.md", "skill://pdf-tools/scripts/a%20b.sh"])
        guide = entry["resources"][2]
        self.assertEqual(guide["digest"], "sha256:" + hashlib.sha256(b"# Guide\n").hexdigest())
        self.assertEqual(guide["size"], 8)
        listed = {r["uri"]: r for r in table["resources"]}
        md = listed["skill://pdf-tools/SKILL.md"]
        self.assertEqual((md["name"], md["description"], md["mimeType"]),
                         ("pdf-tools", "The pdf-tools skill", "text/markdown"))
        self.assertEqual(listed["skill://pdf-tools/assets/logo.png"]["mimeType"], "image/png")
        # What resources/read serves is exactly what the digest covers.
        text = read_resource(mcp, "skill://pdf-tools/references/GUIDE.md")["contents"][0]
        self.assertEqual(text["text"], "# Guide\n")
        blob = read_resource(mcp, "skill://pdf-tools/assets/logo.png")["contents"][0]
        import base64

        self.assertEqual(base64.b64decode(blob["blob"]), png)

    def test_no_skills_no_key(self) -> None:
        self.assertNotIn("skills", FastMCP("t").export())

    def bad(self, needle: str, **kw: Any) -> None:
        with self.assertRaises(SkillError) as cm:
            load_skill(kw.pop("path"), **kw)
        self.assertIn(needle, str(cm.exception))

    def test_rejects(self) -> None:
        self.bad("not a directory", path=os.path.join(self.root, "missing"))
        os.makedirs(os.path.join(self.root, "empty"))
        self.bad("needs a SKILL.md", path=os.path.join(self.root, "empty"))
        d = make_skill(self.root, "Bad_Name", "---\nname: Bad_Name\ndescription: d\n---\n")
        self.bad("naming rules", path=d)
        d = make_skill(self.root, "a--b", "---\nname: a--b\ndescription: d\n---\n")
        self.bad("naming rules", path=d)
        d = make_skill(self.root, "dir-name", "---\nname: other\ndescription: d\n---\n")
        self.bad("must equal its directory", path=d)
        d = make_skill(self.root, "big", files={"a.bin": b"x" * 100})
        self.bad("exceed 64 bytes", path=d, max_bytes=64)
        d = make_skill(self.root, "many", files={f"f{i}.txt": b"" for i in range(4)})
        self.bad("more than 3 files", path=d, max_files=3)
        self.assertEqual(len(load_skill(d, max_files=5).files), 5)
        d = make_skill(self.root, "latin", "---\nname: latin\ndescription: caf\xe9\n---\n")
        with open(os.path.join(d, "SKILL.md"), "wb") as f:
            f.write(b"---\nname: latin\ndescription: caf\xe9\n---\n")
        self.bad("not UTF-8", path=d)
        d = make_skill(self.root, "linked")
        os.symlink("/etc/passwd", os.path.join(d, "passwd"))
        self.bad("only regular files", path=d)
        d = make_skill(self.root, "badfm", "---\nname: badfm\ndescription: d\nlist:\n  - a\n---\n")
        self.bad("SKILL.md:4: empty value", path=d)

    def test_duplicates(self) -> None:
        d = make_skill(self.root, "one")
        mcp = FastMCP("t")
        mcp.add_skill(d)
        with self.assertRaises(SkillError):
            mcp.add_skill(d)
        other = os.path.join(self.root, "x")
        os.makedirs(other)
        d2 = make_skill(other, "one")
        with self.assertRaises(SkillError):
            mcp.add_skill(d2)


if __name__ == "__main__":
    unittest.main()
