"""The /docs page in a real browser: Debian's headless Chromium loads it from `fasterapi run
apps/web_docs.py --http`, the page fetches /openapi.json and renders it, and

* the DOM after load (--dump-dom) lists every operation of the document, and no other;
* driven over the DevTools protocol (--remote-debugging-pipe: NUL-separated JSON on fds 3/4, so
  no WebSocket client is needed), "Try it" on a GET operation fills the path parameter, sends the
  request and shows the answer (200 with the response_model's fields, 422 for a bad value).

Chromium is required: when it is missing the test fails saying how to install it (it is in
scripts/bootstrap.sh --test), it never skips. Standard library only."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from html.parser import HTMLParser
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_web_app import WebServer  # noqa: E402

BROWSER_TIMEOUT = 90.0


def find_chromium() -> str:
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser"):
        path = shutil.which(name) if name else None
        if path:
            return path
    raise AssertionError(
        "headless Chromium is needed to test /docs and was not found: install Debian's `chromium` "
        "(scripts/bootstrap.sh --test, or apt-get install chromium), or set CHROMIUM")


def browser_args(profile: str) -> list[str]:
    # --no-sandbox: the tests may run as root in a container, where Chromium's sandbox cannot
    # start; the page is our own.
    return ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", "--mute-audio",
            f"--user-data-dir={profile}"]


class Operations(HTMLParser):
    """The operations the page rendered: (data-method, data-path) of each details.op, the
    status line's state, and the schema sections."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[tuple[str, str]] = []
        self.state = ""
        self.schemas: list[str] = []
        self.try_buttons = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "details" and "op" in classes:
            self.ops.append((a.get("data-method") or "", a.get("data-path") or ""))
        if a.get("id") == "status":
            self.state = a.get("data-state") or ""
        if tag == "section" and "schema" in classes:
            self.schemas.append((a.get("id") or "")[len("schema-"):])
        if tag == "button" and "try" in classes:
            self.try_buttons += 1


def _above_9(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class DevTools:
    """A Chromium driven over --remote-debugging-pipe (Chrome DevTools Protocol): commands are
    JSON objects written to the browser's fd 3, answers and events come NUL-terminated on fd 4."""

    def __init__(self, chromium: str, profile: str) -> None:
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # The browser's ends above 9, so that moving them to 3 and 4 cannot overwrite one another.
        to_browser_r, from_browser_w = _above_9(to_browser_r), _above_9(from_browser_w)
        # The browser reads fd 3 and writes fd 4: bash moves our pipe ends there before exec
        # (bash, not sh: dash takes no fd numbers above 9).
        script = f'exec "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self.proc = subprocess.Popen(
            ["bash", "-c", script, "bash", chromium, *browser_args(profile), "--remote-debugging-pipe", "about:blank"],
            pass_fds=(to_browser_r, from_browser_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.next_id = 0
        self.pending = b""

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while time.monotonic() < deadline:
            while b"\0" in self.pending:
                raw, self.pending = self.pending.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self.next_id:
                    if "error" in answer:
                        raise AssertionError(f"{method}: {answer['error']}")
                    return answer.get("result", {})
            chunk = os.read(self.from_browser, 65536)
            if not chunk:
                raise AssertionError(f"Chromium closed the DevTools pipe during {method}")
            self.pending += chunk
        raise AssertionError(f"no answer to {method} in {BROWSER_TIMEOUT} s")

    def evaluate(self, session: str, expression: str) -> Any:
        r = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}, session)
        if "exceptionDetails" in r:
            raise AssertionError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.to_browser, self.from_browser):
            try:
                os.close(fd)
            except OSError:
                pass


# Fills the form of one operation, presses "Try it" and waits for the answer shown on the page.
TRY_IT = """
(async () => {
  const op = document.getElementById(%(id)s);
  if (!op) return {error: "no such operation on the page"};
  op.open = true;
  for (const [name, value] of Object.entries(%(values)s)) {
    const box = op.querySelector('input[name="' + name + '"]');
    if (!box) return {error: "no input for " + name};
    box.value = value;
  }
  op.querySelector("button.try").click();
  const out = op.querySelector(".result");
  for (let i = 0; i < 200; i++) {
    if (out.dataset.status) {
      const body = out.querySelector(".result-body");
      return {status: out.dataset.status, body: body ? body.textContent : null, text: out.textContent};
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  return {error: "no answer shown", text: out.textContent};
})()
"""


class DocsInChromiumTest(unittest.TestCase):
    srv: WebServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.chromium = find_chromium()
        cls.srv = WebServer("web_docs", "--workers", "2")
        cls.base = f"http://127.0.0.1:{cls.srv.port}"
        status, _, body = cls.srv.request("GET", "/openapi.json")
        assert status == 200, status
        cls.doc = json.loads(body)

    @classmethod
    def tearDownClass(cls) -> None:
        rc = cls.srv.stop()
        assert rc == 0, f"exit status {rc}:\n{cls.srv.stderr()}"

    def documented(self) -> list[tuple[str, str]]:
        return sorted((m.upper(), p) for p, item in self.doc["paths"].items() for m in item)

    def test_dom_lists_every_route(self) -> None:
        with tempfile.TemporaryDirectory() as profile:
            # --virtual-time-budget: the DOM is dumped once the page's fetch and rendering are
            # done (virtual time runs until the page is idle or the budget is spent).
            out = subprocess.run(
                [self.chromium, *browser_args(profile), "--virtual-time-budget=20000", "--dump-dom", self.base + "/docs"],
                capture_output=True, timeout=BROWSER_TIMEOUT)
        dom = out.stdout.decode("utf-8", "replace")
        self.assertEqual(out.returncode, 0, out.stderr.decode("utf-8", "replace")[-2000:])
        page = Operations()
        page.feed(dom)
        self.assertEqual(page.state, "ready", dom[-3000:])
        self.assertEqual(sorted(page.ops), self.documented())
        self.assertEqual(len(page.ops), 6)
        self.assertNotIn(("GET", "/internal"), page.ops)  # include_in_schema=False
        self.assertEqual(page.try_buttons, sum(1 for m, _ in page.ops if m == "GET"))
        self.assertEqual(sorted(page.schemas), sorted(self.doc["components"]["schemas"]))
        self.assertIn("Item", page.schemas)
        # Text the page shows: the title, summaries, a parameter's description and constraint.
        self.assertIn("Shop", dom)
        self.assertIn("Create an item", dom)
        self.assertIn("The caller's token", dom)
        self.assertIn("integer, &gt;= 1", dom)

    def test_try_a_get(self) -> None:
        with tempfile.TemporaryDirectory() as profile:
            b = DevTools(self.chromium, profile)
            try:
                target = b.send("Target.createTarget", {"url": self.base + "/docs"})["targetId"]
                session = b.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
                state = ""
                deadline = time.monotonic() + BROWSER_TIMEOUT
                while time.monotonic() < deadline:
                    state = b.evaluate(session, "(document.getElementById('status') || {dataset: {}}).dataset.state || ''")
                    if state:
                        break
                    time.sleep(0.1)
                self.assertEqual(state, "ready")
                op_id = json.dumps("op-read_item_items__item_id__get")
                r = b.evaluate(session, TRY_IT % {"id": op_id, "values": json.dumps({"item_id": "1"})})
                self.assertEqual(r.get("status"), "200", r)
                self.assertEqual(json.loads(r["body"]), {"name": "Hammer", "price": 9.5})
                self.assertIn("GET /items/1", r["text"])
                r = b.evaluate(session, TRY_IT % {"id": op_id, "values": json.dumps({"item_id": "0", "q": "abc"})})
                self.assertEqual(r.get("status"), "422", r)
                err = json.loads(r["body"])["detail"][0]
                self.assertEqual((err["loc"], err["type"]), (["path", "item_id"], "greater_than_equal"))
                self.assertIn("GET /items/0?q=abc", r["text"])
                # Query parameters with defaults prefilled from the schema.
                r = b.evaluate(session, TRY_IT % {"id": json.dumps("op-list_items_items__get"), "values": "{}"})
                self.assertEqual(r.get("status"), "200", r)
                self.assertIn("GET /items/?skip=0&limit=10", r["text"])
                self.assertEqual(json.loads(r["body"]), [{"name": "Hammer", "price": 9.5}])
                # A required header left empty: the page says so and sends nothing.
                r = b.evaluate(session, TRY_IT.replace("if (out.dataset.status)", "if (out.textContent)")
                               % {"id": json.dumps("op-read_me_users_me_get"), "values": "{}"})
                self.assertIn("required: x-token", r.get("text", ""), r)
            finally:
                b.close()


if __name__ == "__main__":
    unittest.main()
