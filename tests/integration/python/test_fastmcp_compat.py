"""integration/fastmcp-compat: servers written for the python-sdk's FastMCP run unchanged under
`fasterapi run` (issue 9 §1), spoken to in raw JSON through pyharness.

apps/fastmcp_style.py is written as FastMCP authors write servers (lifespan with a connection
object, pydantic Field descriptions and constraints, ctx.session and ctx.request_context calls,
mcp.types content objects, a module-level dict, a custom route and token_verifier=); its
pydantic and mcp.types classes are stand-ins (apps/_standins.py) recognised by shape. Covered:
the schemas, calls through the lifespan's connection, constraint errors from C, ctx.session
notifications and requests (roots/list, sampling/createMessage) answered by the test, content
objects, CallToolResult(_meta=), list results, inf results, the lifespan run in every worker and
torn down at shutdown, a failing lifespan as a start-up error, the start-up warnings, and a
quiet shutdown after tools that used threads (3.13's _DeleteDummyThreadOnDel noise).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

from pyharness import PyServerTestCase, app, call, main, request, responses, result, run_once, text_of


def answer(id_, res) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "result": res}


def tool_error(id_, text: str) -> dict:
    return result(id_, {"content": [{"type": "text", "text": text}], "isError": True})


class Calls(PyServerTestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.events = tempfile.NamedTemporaryFile("w+", delete=False)
        cls.events.close()

    @classmethod
    def tearDownClass(cls) -> None:
        os.unlink(cls.events.name)

    def setUp(self) -> None:
        super().setUp()
        open(self.events.name, "w").close()
        os.environ["FA_LIFESPAN_EVENTS"] = self.events.name  # the server inherits it
        self.addCleanup(os.environ.pop, "FA_LIFESPAN_EVENTS", None)
        self.srv = self.serve("fastmcp_style", "--workers", "2",
                              capabilities={"roots": {}, "sampling": {}})

    def lifespan_events(self) -> list[str]:
        with open(self.events.name) as f:
            return [line.split()[0] for line in f]

    def test_schemas_from_pydantic_fields_and_content_annotations(self) -> None:
        tools = {t["name"]: t for t in self.srv.request("l", "tools/list")["result"]["tools"]}
        self.assertJson(tools["greet_user"]["inputSchema"], {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "The name of the person to greet"},
                "title": {"type": "string", "description": "Optional title like Mr/Ms/Dr", "default": ""},
                "times": {"type": "integer", "description": "Number of times to repeat the greeting",
                          "default": 1, "minimum": 1, "maximum": 3}},
            "required": ["name"], "additionalProperties": False})
        self.assertJson(tools["pick"]["inputSchema"]["properties"]["code"],
                        {"type": "string", "description": "a short code", "minLength": 2, "maxLength": 4})
        for name in ("rich", "with_meta"):  # content annotations: no outputSchema
            self.assertNotIn("outputSchema", tools[name])

    def test_calls(self) -> None:
        srv = self.srv
        # The lifespan's connection object, in the worker that serves the call.
        for i in range(4):
            resp, _ = srv.call("q%d" % i, "query_db", {"key": "greeting"})
            self.assertEqual(text_of(resp), "hello", resp)
        # Field defaults fill omitted arguments; constraints are checked in C.
        resp, _ = srv.call(1, "greet_user", {"name": "Ada"})
        self.assertEqual(text_of(resp), "Ada")
        resp, _ = srv.call(2, "greet_user", {"name": "Ada", "title": "Dr", "times": 2})
        self.assertEqual(text_of(resp), "Dr Ada Dr Ada")
        resp, _ = srv.call(3, "greet_user", {"name": "Ada", "times": 5})
        self.assertTrue(resp["result"]["isError"])
        self.assertIn("times", text_of(resp))
        resp, _ = srv.call(4, "pick", {"code": "x"})
        self.assertTrue(resp["result"]["isError"])
        self.assertIn("code", text_of(resp))
        # Content objects of another library, CallToolResult(_meta=), lists, inf.
        resp, _ = srv.call(5, "rich")
        self.assertJson(resp, result(5, {"content": [
            {"type": "text", "text": "caption"},
            {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"}]}))
        resp, _ = srv.call(6, "with_meta")
        self.assertJson(resp, result(6, {"content": [{"type": "text", "text": "done"}], "isError": False,
                                         "_meta": {"trace": "abc"}}))
        resp, _ = srv.call(7, "lines")
        self.assertJson(resp, result(7, {"content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
                                         "structuredContent": {"result": ["one", "two"]}}))
        resp, _ = srv.call(8, "ratio", {"a": 1, "b": 0})
        self.assertJson(resp, tool_error(8, "Error executing tool ratio: the result holds inf, which JSON cannot represent"))
        resp, _ = srv.call(9, "ratio", {"a": 1, "b": 4})
        self.assertJson(resp["result"]["structuredContent"], {"result": 0.25})
        prompt = srv.request(10, "prompts/get", {"name": "review", "arguments": {"code": "x=1"}})
        self.assertJson(prompt["result"]["messages"], [
            {"role": "user", "content": {"type": "text", "text": "Review:\nx=1"}},
            {"role": "assistant", "content": {"type": "text", "text": "Looking."}}])

    def test_session_notifications_and_request_context(self) -> None:
        # notifications/resources/updated goes to clients subscribed to the URI (spec:
        # server/resources#subscriptions), so subscribe first.
        self.assertJson(self.srv.request("sub", "resources/subscribe", {"uri": "memo://one"}),
                        {"jsonrpc": "2.0", "id": "sub", "result": {}})
        resp, before = self.srv.call(1, "session_calls", meta={"progressToken": "tok"})
        self.assertJson(resp["result"]["structuredContent"], {"result": "id=1"})
        self.assertJson([m for m in before if "method" in m], [
            {"jsonrpc": "2.0", "method": "notifications/message",
             "params": {"level": "info", "logger": "sess", "data": "from the session"}},
            {"jsonrpc": "2.0", "method": "notifications/progress",
             "params": {"progressToken": "tok", "progress": 1, "total": 2}},
            {"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": "memo://one"}},
            {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"},
            {"jsonrpc": "2.0", "method": "notifications/resources/list_changed"},
            {"jsonrpc": "2.0", "method": "notifications/prompts/list_changed"}])
        # ctx.notify_resource_updated tells every subscribed session (here the only one); a uri
        # nobody subscribed to reaches nobody.
        resp, before = self.srv.call(2, "touch_memo")
        self.assertEqual(text_of(resp), "touched")
        self.assertJson([m for m in before if "method" in m], [
            {"jsonrpc": "2.0", "method": "notifications/resources/updated", "params": {"uri": "memo://one"}}])
        # Without a progressToken the progress notification is skipped, as the SDK's users do.
        resp, before = self.srv.call("s", "session_calls")
        self.assertEqual(text_of(resp), "id='s'")
        self.assertNotIn("notifications/progress", [m.get("method") for m in before])

    def test_session_requests_roots_and_sampling(self) -> None:
        srv = self.srv
        srv.send(call(1, "roots"))
        req, before = srv.recv_until(lambda m: m.get("method") == "roots/list")
        self.assertEqual(responses(before), [])
        srv.send(answer(req["id"], {"roots": [{"uri": "file:///repo", "name": "repo"}, {"uri": "file:///tmp"}]}))
        resp, _ = srv.recv_id(1)
        self.assertJson(resp["result"]["structuredContent"], {"result": ["file:///repo", "file:///tmp"]})
        srv.send(call(2, "summarize", {"text": "long text"}))
        req, _ = srv.recv_until(lambda m: m.get("method") == "sampling/createMessage")
        self.assertJson(req["params"], {"messages": [{"role": "user", "content": {"type": "text", "text": "long text"}}],
                                        "maxTokens": 50})
        srv.send(answer(req["id"], {"role": "assistant", "content": {"type": "text", "text": "short"},
                                    "model": "m1", "stopReason": "endTurn"}))
        resp, _ = srv.recv_id(2)
        self.assertEqual(text_of(resp), "short")

    def test_lifespan_in_every_worker_torn_down_at_shutdown(self) -> None:
        # Each worker enters it, and with isolated workers so does the early worker, which
        # serves from the main interpreter until they are up (the start-up line says so).
        n = 3 if "(own GIL)" in self.wait_serving(self.srv) else 2
        self.assertEqual(self.lifespan_events(), ["enter"] * n)
        resp, _ = self.srv.call(1, "query_db", {"key": "greeting"})
        self.assertEqual(text_of(resp), "hello")
        rest = self.assertClean(self.srv)
        self.assertEqual(rest, [])
        self.assertEqual(self.lifespan_events(), ["enter"] * n + ["exit"] * n)
        self.assertNotIn("Traceback", self.srv.logs())

    def test_threads_leave_no_noise_at_shutdown(self) -> None:
        for i, (tool, value) in enumerate((("in_thread", "thread"), ("in_pool", "42"), ("in_to_thread", "7"))):
            for k in range(2):  # reach both workers (either may serve a call)
                resp, _ = self.srv.call("%d-%d" % (i, k), tool)
                self.assertEqual(text_of(resp), value, resp)
        self.assertClean(self.srv)
        logs = self.srv.logs()
        self.assertNotIn("Exception ignored", logs)
        self.assertNotIn("Traceback", logs)


@unittest.skipUnless(importlib.util.find_spec("pydantic"), "pydantic is not installed for this Python")
class RealPydantic(PyServerTestCase):
    """The real pydantic.Field (Debian's python3-pydantic on the py311 build)."""

    def test_field_descriptions_defaults_and_bounds(self) -> None:
        srv = self.serve("pydantic_fields", "--workers", "2")
        tool = srv.request("l", "tools/list")["result"]["tools"][0]
        self.assertJson(tool["inputSchema"], {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "The name of the person to greet"},
                "title": {"type": "string", "description": "Optional title like Mr/Ms/Dr", "default": ""},
                "times": {"type": "integer", "description": "Number of times to repeat the greeting",
                          "minimum": 1, "maximum": 3, "default": 1}},
            "required": ["name"], "additionalProperties": False})
        resp, _ = srv.call(1, "greet_user", {"name": "Ada", "title": "Dr"})
        self.assertEqual(text_of(resp), "Dr Ada")
        resp, _ = srv.call(2, "greet_user", {"name": "Ada", "times": 4})
        self.assertTrue(resp["result"]["isError"])
        self.assertClean(srv)


class Environment(PyServerTestCase):
    """The user's environment (issue 9 section 2): an activated virtual environment (VIRTUAL_ENV)
    or --venv DIR, made by `python3.X -m venv` and holding a small local package, and
    PYTHONPATH; a virtual environment of another Python version is refused naming both."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.tmp = tempfile.TemporaryDirectory()
        cls.venv = os.path.join(cls.tmp.name, "venv")
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", cls.venv], check=True, timeout=60)
        site = os.path.join(cls.venv, "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
        os.makedirs(os.path.join(site, "venvpkg"))
        with open(os.path.join(site, "venvpkg", "__init__.py"), "w") as f:
            f.write('GREETING = "from the venv"\n')
        cls.path = os.path.join(cls.tmp.name, "path")
        os.makedirs(cls.path)
        with open(os.path.join(cls.path, "pathpkg.py"), "w") as f:
            f.write('VALUE = "from PYTHONPATH"\n')
        cls.other = os.path.join(cls.tmp.name, "other")
        os.makedirs(cls.other)
        other = (3, 11) if sys.version_info[:2] != (3, 11) else (3, 13)
        with open(os.path.join(cls.other, "pyvenv.cfg"), "w") as f:  # as `python3.X -m venv` writes it
            f.write("home = /usr/bin\ninclude-system-site-packages = false\nversion = %d.%d.2\n" % other)
        cls.other_version = "%d.%d" % other

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tmp.cleanup()

    def where(self, *args: str, **env: str) -> str:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            srv = self.serve("venv_app", "--workers", "2", *args)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        texts = {text_of(srv.call(i, "where")[0]) for i in range(4)}  # both workers
        self.assertClean(srv)
        self.assertEqual(len(texts), 1, texts)
        return texts.pop()

    def test_active_venv_and_pythonpath(self) -> None:
        got = self.where(VIRTUAL_ENV=self.venv, PYTHONPATH=self.path)
        self.assertEqual(got, "from the venv|from PYTHONPATH|" + self.venv)

    def test_venv_option(self) -> None:
        got = self.where("--venv", self.venv)
        self.assertEqual(got, "from the venv|no pathpkg|" + self.venv)

    def test_without_the_venv_the_import_fails(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
        rc, out, err = run_once(["run", app("venv_app")], env=env)
        self.assertEqual((rc, out), (1, b""))
        self.assertIn("ModuleNotFoundError: No module named 'venvpkg'", err)

    def test_a_venv_of_another_python_is_refused_naming_both(self) -> None:
        import re

        rc, out, err = run_once(["run", app("venv_app"), "--venv", self.other])
        self.assertEqual((rc, out), (1, b""), err)
        mine = "%d.%d" % sys.version_info[:2]
        self.assertRegex(err, re.escape("is for Python %s, but this fasterapi embeds Python %s" % (self.other_version, mine)))
        rc, out, err = run_once(["run", app("venv_app"), "--venv", self.tmp.name])
        self.assertEqual((rc, out), (1, b""), err)
        self.assertIn("is not a virtual environment (no pyvenv.cfg", err)


class LineAtomicOutput(PyServerTestCase):
    """With PYTHONUNBUFFERED=1 (set in many containers) print() is one write(2) per piece; two
    workers with their own GIL printing at once used to cut each other's lines (issue 9 §2).
    Every line must arrive whole, long lines (> PIPE_BUF) included."""

    def test_lines_from_concurrent_workers_arrive_whole(self) -> None:
        import re

        calls, lines = 24, 40
        msgs = [request(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                          "clientInfo": {"name": "t", "version": "1"}}),
                {"jsonrpc": "2.0", "method": "notifications/initialized"}]
        msgs += [call(i, "chatter", {"call": i, "lines": lines}) for i in range(1, calls + 1)]
        stdin = "".join(json.dumps(m) + "\n" for m in msgs).encode()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for mode in ([], ["--shared-gil"]):  # one sys.stdout per worker, or one for all
            with self.subTest(mode=mode):
                self.check_run(["run", app("chatty"), "--workers", "2", *mode], stdin, env, calls, lines)

    def check_run(self, args: list, stdin: bytes, env: dict, calls: int, lines: int) -> None:
        import re

        rc, out, err = run_once(args, stdin=stdin, env=env, timeout=60)
        self.assertEqual(rc, 0, err[-2000:])
        self.assertEqual(len(out.splitlines()), calls + 1)
        line_re = re.compile(r"SPAM (\d+) (\d+) (\d+) (x*) END")
        seen, broken = set(), []
        for line in err.splitlines():
            if "SPAM" not in line and "END" not in line and not line.startswith("x"):
                continue
            m = line_re.fullmatch(line)
            if not m or len(m.group(4)) != int(m.group(3)):
                broken.append(line[:120])
            else:
                seen.add((int(m.group(1)), int(m.group(2))))
        self.assertEqual(broken[:5], [], "%d broken lines" % len(broken))
        self.assertEqual(len(seen), calls * lines)


class StartUp(PyServerTestCase):
    def test_warnings_name_the_options_and_the_module_state(self) -> None:
        srv = self.serve("fastmcp_style", "--workers", "2")
        self.assertClean(srv)
        logs = srv.logs()
        self.assertIn("FastMCP(token_verifier=...) is ignored", logs)
        self.assertIn("@mcp.custom_route('/health') is not served", logs)
        if "(own GIL)" in logs:  # isolated workers: each has its own copy of the module
            self.assertIn("module-level containers (notes)", logs)
            self.assertIn("fasterapi.shared", logs)
            self.assertIn("--workers 1", logs)
        else:  # shared-GIL mode (3.11, 3.12.0-3.12.3): one module for every worker
            self.assertIn("(shared GIL)", logs)
            self.assertNotIn("module-level containers", logs)
        # One worker: one copy of the module, nothing to warn about.
        srv = self.serve("fastmcp_style", "--workers", "1")
        self.assertClean(srv)
        self.assertNotIn("module-level containers", srv.logs())
        self.assertIn("custom_route", srv.logs())

    def test_failing_lifespan_is_a_start_up_error(self) -> None:
        env = dict(os.environ, FA_LIFESPAN_FAIL="1")
        init = request(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                         "clientInfo": {"name": "t", "version": "1"}})
        rc, out, err = run_once(["run", app("fastmcp_style"), "--workers", "2"],
                                stdin=(json.dumps(init) + "\n").encode(), env=env)
        self.assertEqual(rc, 1, err)
        self.assertEqual(out, b"")
        self.assertIn("Traceback", err)
        self.assertIn("ConnectionError: cannot reach the database at db.invalid:5432", err)
        self.assertIn("raised by the lifespan of 'fastmcp-style' at start-up", err)

    def test_http_app_at_module_level_is_a_start_up_error(self) -> None:
        env = dict(os.environ, FA_CALL_HTTP_APP="1")
        rc, out, err = run_once(["run", app("fastmcp_style")], env=env)
        self.assertEqual(rc, 1, err)
        self.assertEqual(out, b"")
        self.assertIn("FastMCP.streamable_http_app() is not available", err)


if __name__ == "__main__":
    main()
