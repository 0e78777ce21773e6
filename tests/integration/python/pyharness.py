"""pyharness.py: the integration harness (../harness.py) pointed at `fasterapi run APP.py`.

The suites in this directory drive the real `fasterapi` executable (FASTERAPI, set by ctest to
the built CLI) serving the FastMCP apps in apps/. They reuse harness.Server and
harness.ServerTestCase unchanged: Server runs [FA_TEST_SERVER, *args], so FA_TEST_SERVER is set
to the CLI before harness is imported and every server is started as
self.start("run", app("kitchen"), ...). Standard library only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
APPS = os.path.join(HERE, "apps")
sys.path.insert(0, os.path.dirname(HERE))  # tests/integration: harness.py

# `fasterapi run` imports packages from an active virtual environment; the apps here need none,
# and one of another Python version (a developer's shell) would refuse to start every server.
# The tests that exercise it set VIRTUAL_ENV themselves.
os.environ.pop("VIRTUAL_ENV", None)

FASTERAPI = os.environ.get("FASTERAPI", "")
if FASTERAPI:
    os.environ["FA_TEST_SERVER"] = FASTERAPI

import harness  # noqa: E402  (needs FA_TEST_SERVER first)
from harness import (DEFAULT_TIMEOUT, LATEST, Server, ServerTestCase, call,  # noqa: E402,F401
                     dumps, error, initialize_params, main, notification, request, result,
                     same_json, text_result)

if not FASTERAPI or not os.access(FASTERAPI, os.X_OK):
    raise SystemExit("FASTERAPI must name the built `fasterapi` executable")


def app(name: str) -> str:
    """The path of apps/<name>.py."""
    return os.path.join(APPS, name + ".py")


def cancel(id_: Any, reason: str = "test") -> dict:
    return notification("notifications/cancelled", {"requestId": id_, "reason": reason})


def text_of(resp: dict) -> str:
    """The text of a tools/call result's first content block."""
    return resp["result"]["content"][0]["text"]


def responses(msgs: list) -> list:
    """The responses among msgs (no notifications, no server requests)."""
    return [m for m in msgs if isinstance(m, dict) and "method" not in m and "id" in m]


def run_once(args: list[str], stdin: bytes = b"", timeout: float = 20.0,
             env: dict | None = None) -> tuple[int, bytes, str]:
    """Runs `fasterapi ARGS` to completion: (exit status, stdout bytes, stderr text)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.run([FASTERAPI, *args], input=stdin, stdout=out, stderr=err,
                              timeout=timeout, env=env)
        out.seek(0)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        # Sanitized (harness.SANITIZER), a report fails the test whatever status it expected.
        report = harness.sanitizer_report(text) if harness.SANITIZER else ""
        if report:
            raise AssertionError("sanitizer report from fasterapi %s:\n%s"
                                 % (" ".join(args), report[:6000]))
        return proc.returncode, out.read(), text


class PyServerTestCase(ServerTestCase):
    """ServerTestCase with `fasterapi run` servers."""

    def serve(self, name: str, *args: str, version: str = LATEST, init: bool = True,
              capabilities: dict | None = None, ready: bool = True, **kw: Any) -> Server:
        """`fasterapi run apps/<name>.py ARGS`, past the handshake when init is true. With
        `ready` (and init), also waits for the start-up line: the server answers at once, from
        the main interpreter, while its worker interpreters start; tests about where calls run
        (which interpreter, which worker) need the workers up."""
        srv = self.start("run", app(name), *args, **kw)
        if init:
            params = initialize_params(version)
            if capabilities is not None:
                params["capabilities"] = capabilities
            resp = srv.request("init", "initialize", params, timeout=30)
            if "result" not in resp:
                raise AssertionError("initialize failed: %r" % (resp,))
            srv.send(notification("notifications/initialized"))
            quiet = any(a in ("warn", "error") for a in args)
            if ready and not quiet:
                self.wait_serving(srv)
        return srv

    def wait_serving(self, srv: Server, timeout: float = 30.0) -> str:
        """The "serving FILE: N tool(s), Python X (MODE)" line, logged once the workers run."""
        deadline = time.monotonic() + timeout
        while True:
            for line in srv.logs().splitlines():
                if "serving " in line and "tool(s), Python" in line:
                    return line
            if time.monotonic() > deadline or srv.proc.poll() is not None:
                raise AssertionError("no start-up line in:\n" + srv.logs())
            time.sleep(0.01)

    def assertAlive(self, srv: Server, tag: str = "alive") -> None:
        """A ping and a sync echo still answer."""
        self.assertJson(srv.request(tag, "ping"), result(tag, {}))
        resp, _ = srv.call(tag + "-echo", "echo", {"text": tag})
        self.assertEqual(text_of(resp), tag, resp)

    def assertNoResponseFor(self, msgs: list, id_: Any) -> None:
        for m in responses(msgs):
            self.assertFalse(same_json(m["id"], id_), "a response for cancelled id: %r" % m)


__all__ = [
    "APPS", "FASTERAPI", "DEFAULT_TIMEOUT", "LATEST", "PyServerTestCase", "Server", "app",
    "call", "cancel", "dumps", "error", "harness", "initialize_params", "main", "notification",
    "request", "responses", "result", "run_once", "same_json", "text_of", "text_result",
]
