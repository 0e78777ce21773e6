#!/usr/bin/env python3
"""test_http_bad_input.py: hostile and broken HTTP/1.1 clients against the example web server.

Raw sockets only (standard library), so that every byte on the wire is the test's choice:
request smuggling vectors (RFC 9112 §6.3, §11.2), oversized heads and bodies, slow and stalled
clients, a client that never reads, resets in the middle of a request or a response, a flood of
connections against the connection cap, and pipelining. Each test is bounded in time.

The server under test:
  FA_EXAMPLE_WEB=/path/to/fasterapi-example-web   ours (started per test class on a free port;
                                                  FA_EXAMPLE_WEB_ARGS adds options, e.g.
                                                  "--io-threads 2")
  FA_HTTP_TARGET=nginx                            nginx with an equivalent config, to prove the
                                                  tests themselves against a reference server;
                                                  tests of a policy nginx does not have (a header
                                                  count limit) are skipped there.

Our example's options are found in its --help text; a test that needs an option the example does
not offer falls back to the default limit (and a longer wait) or is skipped with the reason.

Run: FA_EXAMPLE_WEB=build/dev/examples/embed_c/fasterapi-example-web \
         python3 tests/integration/http/test_http_bad_input.py -v
"""

import base64
import errno
import hashlib
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HOST = "127.0.0.1"

# Defaults of our server (include/fasterapi/http.h, src/transport/http_parser.h), used when the
# example has no option to lower them.
OUR_DEFAULTS = {
    "max_body": 16 * 1024 * 1024,
    "header_timeout_s": 10.0,
    "body_timeout_s": 30.0,
    "max_connections": 10240,
    # The example raises the library's 4 MiB (FA_HTTP_MAX_OUTPUT) to 40 MiB so that a 16 MiB
    # WebSocket message can be echoed (examples/embed_c/web_server.c).
    "max_output": 40 * 1024 * 1024,
}
# What the tests ask for when the server can be configured.
WANT = {"max_body": 1024 * 1024, "header_timeout_s": 2.0, "body_timeout_s": 2.0,
        "max_connections": 100}

# Bounds. A loopback answer takes milliseconds; these only bound a server that misbehaves.
ANSWER_TIMEOUT = 5.0
# Extra time allowed past a server timeout before we call the connection "not closed".
MARGIN = 3.0
# How long a server may keep a connection open after an error answer that says
# "Connection: close": a lingering close (RFC 9112 §9.6) drains what the client still sends so
# that the answer is not lost to a reset; nginx's lingering_timeout is 5 s.
LINGER = 7.0
# The flood: 10,000 connections at once (the brief), each needing a descriptor here.
FLOOD = 10000
# RSS the server may gain while a client pipelines without reading, beyond its output cap
# (max_output): read buffers and allocator slack. Unbounded buffering would grow by the whole
# pipelined volume (hundreds of MiB here). FA_RSS_SLACK_KB overrides it for sanitizer builds
# (ASan's quarantine holds freed memory).
RSS_SLACK_KB = int(os.environ.get("FA_RSS_SLACK_KB", 24 * 1024))


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, n), hard) if hard != resource.RLIM_INFINITY else max(soft, n)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------


class OurServer:
    """fasterapi-example-web on a free port, with the options the example offers."""

    name = "fasterapi"
    counts_headers = True  # FA_HTTP_MAX_HEADERS: more than 100 fields -> 431
    strict_chunk_lines = True  # malformed chunk extensions and bare-LF chunk lines -> 400
    # Bare LF line ends and runs of spaces in the request line -> 400 (RFC 9112 §2.2 and §3
    # allow a lenient recipient to accept them; ours is strict).
    strict_lines = True
    follows_symlinks = False  # openat2(RESOLVE_BENEATH): no symlink leaves the static dir

    def __init__(self, binary):
        self.binary = binary
        self.proc = None
        self.port = None
        self.limits = dict(OUR_DEFAULTS)
        try:
            help_text = subprocess.run([binary, "--help"], capture_output=True, text=True,
                                       timeout=5).stdout
            help_text += subprocess.run([binary, "--help"], capture_output=True, text=True,
                                        timeout=5).stderr
        except (OSError, subprocess.TimeoutExpired):
            help_text = ""
        self.help = help_text

    def has(self, flag):
        return re.search(r"(^|\s)%s\b" % re.escape(flag), self.help) is not None

    def start(self, tight=True, static=None, extra=()):
        args = [self.binary, "--port", "0", "--host", HOST]
        args += os.environ.get("FA_EXAMPLE_WEB_ARGS", "").split()
        args += list(extra)
        if static:
            args += ["--static", static]
        self.limits = dict(OUR_DEFAULTS)
        if tight:
            # Millisecond options are spelled *-ms; fall back to seconds when only that exists.
            for key, flags in [("max_body", ["--max-body"]),
                               ("max_connections", ["--max-connections"]),
                               ("header_timeout_s", ["--header-timeout-ms", "--header-timeout"]),
                               ("body_timeout_s", ["--body-timeout-ms", "--body-timeout"])]:
                for flag in flags:
                    if self.has(flag):
                        v = WANT[key]
                        if flag.endswith("-ms"):
                            v = int(v * 1000)
                        args += [flag, str(int(v))]
                        self.limits[key] = WANT[key]
                        break
        for attempt in range(5):
            self.port = free_port()
            args[2] = str(self.port)
            self.stderr = tempfile.TemporaryFile()
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=self.stderr)
            if wait_listening(self.port, self.proc, 10.0):
                return
            self.stop()
        raise RuntimeError("the server did not start: %s" % " ".join(args))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        self.proc = None
        self._close_log()
        return rc

    def log(self):
        if getattr(self, "stderr", None) is None:
            return getattr(self, "_log", "")
        try:
            self.stderr.seek(0)
            return self.stderr.read().decode(errors="replace")[-4000:]
        except (OSError, ValueError):
            return ""

    def _close_log(self):
        if getattr(self, "stderr", None) is not None:
            self._log = self.log()
            self.stderr.close()
            self.stderr = None


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
error_log stderr error;
pid {prefix}/nginx.pid;
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
events {{ worker_connections {max_connections}; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    client_max_body_size {max_body};
    client_body_buffer_size {max_body};
    client_header_timeout {header_timeout}s;
    client_body_timeout {body_timeout}s;
    keepalive_requests 1000000;
    server {{
        listen {host}:{port} backlog=1024;
        location = /json {{ default_type application/json; return 200 '{{"message":"Hello, World!"}}'; }}
        location /items/ {{ default_type application/json; return 200 '{{"id":"$uri","q":"$arg_q"}}'; }}
        location = /echo {{ echo_read_request_body; echo_request_body; }}
        location = /slow {{ echo_sleep 0.3; echo "slow"; }}
        location = /ws {{ return 404; }}
        location /static/ {{ alias {static}/; }}
    }}
}}
"""


class NginxServer:
    """nginx with the same routes (the echo module for /echo and /slow): the reference."""

    name = "nginx"
    counts_headers = False  # nginx limits header size, not count
    strict_chunk_lines = False  # nginx skips chunk extensions unparsed and accepts bare LF
    strict_lines = False  # nginx accepts bare LF and runs of spaces in the request line
    follows_symlinks = True  # nginx's default is disable_symlinks off

    def __init__(self):
        self.proc = None
        self.limits = dict(OUR_DEFAULTS)

    def start(self, tight=True, static=None, extra=()):
        self.limits = dict(OUR_DEFAULTS)
        self.limits.update(max_body=WANT["max_body"], header_timeout_s=WANT["header_timeout_s"],
                           body_timeout_s=WANT["body_timeout_s"])
        self.limits["max_connections"] = WANT["max_connections"] if tight else 20000
        self.prefix = tempfile.mkdtemp(prefix="fa_nginx_")
        self.port = free_port()
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(
                prefix=self.prefix, host=HOST, port=self.port,
                max_body=self.limits["max_body"],
                max_connections=self.limits["max_connections"],
                header_timeout=int(self.limits["header_timeout_s"]),
                body_timeout=int(self.limits["body_timeout_s"]),
                static=static or self.prefix))
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(["nginx", "-p", self.prefix, "-c", conf],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr)
        if not wait_listening(self.port, self.proc, 10.0):
            raise RuntimeError("nginx did not start: " + self.log())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGQUIT)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self._close_log()
        shutil.rmtree(self.prefix, ignore_errors=True)
        return 0 if rc in (0, -signal.SIGQUIT) else rc

    def log(self):
        if getattr(self, "stderr", None) is None:
            return getattr(self, "_log", "")
        try:
            self.stderr.seek(0)
            return self.stderr.read().decode(errors="replace")[-4000:]
        except (OSError, ValueError):
            return ""

    def _close_log(self):
        if getattr(self, "stderr", None) is not None:
            self._log = self.log()
            self.stderr.close()
            self.stderr = None


def wait_listening(port, proc, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def make_server():
    if os.environ.get("FA_HTTP_TARGET") == "nginx":
        return NginxServer()
    binary = os.environ.get("FA_EXAMPLE_WEB")
    if not binary:
        raise unittest.SkipTest("set FA_EXAMPLE_WEB to the fasterapi-example-web binary "
                                "(or FA_HTTP_TARGET=nginx)")
    return OurServer(binary)


# ---------------------------------------------------------------------------------------------
# A small HTTP/1.1 response reader
# ---------------------------------------------------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value (last wins)
        self.body = body

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:60])


class Conn:
    """A client connection that reads responses incrementally and notes how it ended."""

    def __init__(self, port, timeout=ANSWER_TIMEOUT):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False
        self.reset = False

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.reset = True
            return False

    def _fill(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_response(self, timeout=ANSWER_TIMEOUT, head_request=False):
        """The next response, or None when the connection ended or the time ran out."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                return None
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
        if not m:
            raise AssertionError("not an HTTP response: %r" % lines[0][:100])
        status = int(m.group(1))
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode()] = value.strip().decode(errors="replace")
        self.buf = rest
        if head_request or status in (204, 304) or 100 <= status < 200:
            return Response(status, headers, b"")
        if "content-length" in headers:
            n = int(headers["content-length"])
            while len(self.buf) < n:
                if not self._fill(deadline):
                    return None
            body, self.buf = self.buf[:n], self.buf[n:]
            return Response(status, headers, body)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    if not self._fill(deadline):
                        return None
                line, _, self.buf = self.buf.partition(b"\r\n")
                size = int(line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    if not self._fill(deadline):
                        return None
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    return Response(status, headers, body)
        # Delimited by the close (RFC 9112 §6.3 rule 8).
        while self._fill(deadline):
            pass
        body, self.buf = self.buf, b""
        return Response(status, headers, body)

    def state(self):
        """How the connection stands, for failure messages."""
        end = "reset by the server" if self.reset else "closed by the server" if self.eof \
            else "still open, nothing more came"
        return "%d unparsed bytes (%r...), %s" % (len(self.buf), self.buf[:80], end)

    def wait_closed(self, timeout):
        """True when the server closes (EOF or RST) within timeout; discards what arrives."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            if time.monotonic() >= deadline:
                return False
            self._fill(deadline)
        return True

    def close(self, rst=False):
        if rst:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def req(method, target, headers=(), body=b"", host="t"):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % host]
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


GET_JSON = req("GET", "/json")
# The request hidden behind a malformed one. If the server ever answers it, the framing of the
# malformed request was misread: a proxy in front could have been made to route it elsewhere.
SMUGGLED = req("GET", "/items/smuggled?q=smuggled")


class ServerTestCase(unittest.TestCase):
    """Starts one server per test class; each test checks it is still alive afterwards."""

    tight = True
    extra_args = ()  # options of our example only

    @classmethod
    def static_root(cls):
        return None

    @classmethod
    def setUpClass(cls):
        raise_nofile(2 * FLOOD + 1000)
        cls.server = make_server()
        cls.server.start(tight=cls.tight, static=cls.static_root(), extra=cls.extra_args)
        cls.port = cls.server.port

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        if rc not in (0, None):
            raise AssertionError("server exited with %s on SIGTERM; log:\n%s" % (
                rc, cls.server.log()))

    def tearDown(self):
        if not self.server.alive():
            self.fail("the server died; log:\n" + self.server.log())

    def conn(self, timeout=ANSWER_TIMEOUT):
        return Conn(self.port, timeout)

    def assert_serves(self, what="afterwards"):
        c = self.conn()
        try:
            c.send(GET_JSON)
            r = c.read_response()
            self.assertIsNotNone(r, "GET /json got no answer %s" % what)
            self.assertEqual(r.status, 200, "GET /json %s: %r" % (what, r))
        finally:
            c.close()

    def assert_rejected(self, data, statuses, what):
        """Sends data (a bad request followed by SMUGGLED), expects exactly one response with a
        status in `statuses`, then the connection closed, and SMUGGLED never answered."""
        c = self.conn()
        try:
            c.send(data)
            r = c.read_response()
            self.assertIsNotNone(r, "%s: no response: %s" % (what, c.state()))
            self.assertIn(r.status, statuses, "%s: got %r" % (what, r))
            # The answer announces the close (RFC 9112 §9.6), so a proxy does not reuse it.
            self.assertIn("close", r.headers.get("connection", "").lower(),
                          "%s: %d without Connection: close" % (what, r.status))
            extra = c.read_response(timeout=2.0)
            self.assertIsNone(extra, "%s: a second response came back: the smuggled request "
                              "was answered: %r" % (what, extra))
            self.assertTrue(c.wait_closed(2.0), "%s: connection left open after %d" % (
                what, r.status))
        finally:
            c.close()


# ---------------------------------------------------------------------------------------------
# Request smuggling and framing errors
# ---------------------------------------------------------------------------------------------


class TestSmuggling(ServerTestCase):
    def test_cl_and_te(self):
        body = b"0\r\n\r\n"
        self.assert_rejected(
            req("POST", "/echo", ["Content-Length: %d" % len(body), "Transfer-Encoding: chunked"],
                body) + SMUGGLED, (400,), "Content-Length then Transfer-Encoding")

    def test_te_and_cl(self):
        body = b"0\r\n\r\n"
        self.assert_rejected(
            req("POST", "/echo", ["Transfer-Encoding: chunked", "Content-Length: %d" % len(body)],
                body) + SMUGGLED, (400,), "Transfer-Encoding then Content-Length")

    def test_cl_and_te_body_hides_request(self):
        # The classic CL.TE desync: by Content-Length the body holds SMUGGLED; by chunked it ends
        # at "0\r\n\r\n" and SMUGGLED is the next request.
        body = b"0\r\n\r\n" + SMUGGLED
        self.assert_rejected(
            req("POST", "/echo", ["Content-Length: %d" % len(body), "Transfer-Encoding: chunked"],
                body), (400,), "CL.TE desync")

    def test_duplicate_content_length_equal(self):
        self.assert_rejected(
            req("POST", "/echo", ["Content-Length: 5", "Content-Length: 5"], b"hello")
            + SMUGGLED, (400,), "two equal Content-Length fields")

    def test_duplicate_content_length_different(self):
        self.assert_rejected(
            req("POST", "/echo", ["Content-Length: 5", "Content-Length: 0"], b"hello")
            + SMUGGLED, (400,), "two different Content-Length fields")

    def test_content_length_list(self):
        self.assert_rejected(req("POST", "/echo", ["Content-Length: 5, 5"], b"hello") + SMUGGLED,
                             (400,), "Content-Length: 5, 5")

    def test_content_length_signs(self):
        for value in ("+5", "-5", "0x5", " 5 5", "5.0", "1e3"):
            with self.subTest(value=value):
                self.assert_rejected(
                    req("POST", "/echo", ["Content-Length: %s" % value], b"hello") + SMUGGLED,
                    (400,), "Content-Length: %r" % value)

    def test_content_length_overflow(self):
        for value in ("18446744073709551616", "99999999999999999999999999999"):
            with self.subTest(value=value):
                self.assert_rejected(
                    req("POST", "/echo", ["Content-Length: %s" % value], b"hello") + SMUGGLED,
                    (400, 413), "Content-Length: %s" % value)

    def test_transfer_encoding_not_just_chunked(self):
        body = b"5\r\nhello\r\n0\r\n\r\n"
        for value in ("chunked, identity", "identity, chunked", "identity", "gzip, chunked",
                      "xchunked", "chunked, chunked"):
            with self.subTest(value=value):
                self.assert_rejected(
                    req("POST", "/echo", ["Transfer-Encoding: %s" % value], body) + SMUGGLED,
                    (400, 501), "Transfer-Encoding: %s" % value)

    def test_transfer_encoding_twice(self):
        body = b"5\r\nhello\r\n0\r\n\r\n"
        self.assert_rejected(
            req("POST", "/echo", ["Transfer-Encoding: chunked", "Transfer-Encoding: identity"],
                body) + SMUGGLED, (400, 501), "two Transfer-Encoding fields")

    def test_transfer_encoding_in_http10(self):
        # RFC 9112 §6.1: chunked is HTTP/1.1 only; a 1.0 request with it must not be framed by it.
        data = (b"POST /echo HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n0\r\n\r\n" + SMUGGLED)
        c = self.conn()
        try:
            c.send(data)
            r = c.read_response()
            self.assertIsNotNone(r, "HTTP/1.0 with Transfer-Encoding: no response")
            self.assertIn(r.status, (400, 501), r)
            self.assertIsNone(c.read_response(timeout=2.0), "smuggled request answered")
        finally:
            c.close()

    def test_bad_chunk_sizes(self):
        for chunked in (b"zz\r\nhello\r\n0\r\n\r\n",
                        b"-5\r\nhello\r\n0\r\n\r\n",
                        b"0x5\r\nhello\r\n0\r\n\r\n",
                        b"+5\r\nhello\r\n0\r\n\r\n",
                        b"\r\nhello\r\n0\r\n\r\n",
                        b"ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
                        b"5\r\nhelloXX\r\n0\r\n\r\n",  # more data than the size says
                        b"5\r\nhel\r\n0\r\n\r\n\r\n",  # less data than the size says
                        b"5\nhello\n0\n\n",  # bare LF line ends
                        b"5\rhello\r0\r\r"):  # bare CR line ends
            if b"\r\n" not in chunked and b"\n" in chunked and not self.server.strict_chunk_lines:
                continue  # RFC 9112 §2.2 lets a recipient accept a bare LF; ours does not
            with self.subTest(chunked=chunked):
                self.assert_rejected(
                    req("POST", "/echo", ["Transfer-Encoding: chunked"], chunked) + SMUGGLED,
                    (400, 413), "chunked body %r" % chunked)

    def test_bad_chunk_extensions(self):
        if not self.server.strict_chunk_lines:
            self.skipTest("%s skips chunk extensions without parsing them" % self.server.name)
        for ext in (b";", b";=x", b";a=\"unterminated", b";a=b\x01c", b";a b", b";\x7f"):
            chunked = b"5" + ext + b"\r\nhello\r\n0\r\n\r\n"
            with self.subTest(ext=ext):
                self.assert_rejected(
                    req("POST", "/echo", ["Transfer-Encoding: chunked"], chunked) + SMUGGLED,
                    (400,), "chunk extension %r" % ext)

    def test_bad_request_lines(self):
        for line, statuses in ((b"GET  /json HTTP/1.1", (400,)),
                               (b"GET /json  HTTP/1.1", (400,)),
                               (b"GET /js on HTTP/1.1", (400,)),
                               (b"GET /json HTTP/1.1 extra", (400,)),
                               (b"GET /json HTTP/2.0", (400, 505)),
                               (b"GET /json HTTP/1", (400, 505)),
                               (b"G(T /json HTTP/1.1", (400,)),
                               (b"GET /json\x00 HTTP/1.1", (400,))):
            if b"  " in line and not self.server.strict_lines:
                continue
            with self.subTest(line=line):
                self.assert_rejected(line + b"\r\nHost: t\r\n\r\n" + SMUGGLED, statuses,
                                     "request line %r" % line)

    def test_error_in_the_middle_of_a_pipeline(self):
        """Two good requests, a smuggling attempt, then one more: the good ones are answered in
        order, then the 400, then nothing."""
        body = b"0\r\n\r\n"
        data = (req("GET", "/items/first1x") + req("GET", "/items/second2x") +
                req("POST", "/echo", ["Content-Length: %d" % len(body),
                                      "Transfer-Encoding: chunked"], body) + SMUGGLED)
        c = self.conn()
        try:
            c.send(data)
            r1, r2 = c.read_response(), c.read_response()
            self.assertIsNotNone(r2, "answers before the bad request are missing: %s" % (
                c.state(),))
            self.assertEqual((r1.status, r2.status), (200, 200))
            self.assertIn(b"first1x", r1.body)
            self.assertIn(b"second2x", r2.body)
            r3 = c.read_response()
            self.assertIsNotNone(r3, c.state())
            self.assertEqual(r3.status, 400, r3)
            self.assertIsNone(c.read_response(timeout=2.0), "the smuggled request was answered")
        finally:
            c.close()

    def test_valid_framing_variants_accepted(self):
        """The controls: strictness must not refuse what RFC 9110/9112 allow."""
        cases = [
            (["transfer-encoding: chunked"], b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
            (["Transfer-Encoding: CHUNKED"], b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
            (["content-length: 5"], b"hello", b"hello"),
            (["Content-Length: 005"], b"hello", b"hello"),
            (["Content-Length:5"], b"hello", b"hello"),
            (["Content-Length: 5 "], b"hello", b"hello"),
            (["Transfer-Encoding: chunked"], b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
            (["Transfer-Encoding: chunked"], b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
             b"hello"),
            (["Transfer-Encoding: chunked"], b"0005\r\nhello\r\n0\r\n\r\n", b"hello"),
        ]
        for headers, body, want in cases:
            with self.subTest(headers=headers, body=body):
                c = self.conn()
                try:
                    c.send(req("POST", "/echo", headers, body) + GET_JSON)
                    r = c.read_response()
                    self.assertIsNotNone(r, c.state())
                    self.assertEqual((r.status, r.body), (200, want))
                    r = c.read_response()
                    self.assertIsNotNone(r, "the request after it was lost: %s" % c.state())
                    self.assertEqual(r.status, 200)
                finally:
                    c.close()

    def test_valid_requests_accepted(self):
        """More controls: absolute-form targets (RFC 9112 §3.2.2), obs-text in a value, a long
        value within the limits, HTTP/1.0 and Connection: close (the server then closes)."""
        for data, closes in (
                (b"GET http://t/json HTTP/1.1\r\nHost: t\r\n\r\n", False),
                (b"GET /json HTTP/1.1\r\nHost: t\r\nX-Latin: caf\xe9\r\n\r\n", False),
                (req("GET", "/json", ["X-Long: " + "v" * 7000]), False),  # nginx: 8 KiB lines
                (b"GET /json HTTP/1.0\r\n\r\n", True),
                (req("GET", "/json", ["Connection: close"]), True)):
            with self.subTest(data=data[:40]):
                c = self.conn()
                try:
                    c.send(data)
                    r = c.read_response()
                    self.assertIsNotNone(r, c.state())
                    self.assertEqual(r.status, 200, r)
                    if closes:
                        self.assertTrue(c.wait_closed(2.0), "connection left open")
                finally:
                    c.close()

    def test_valid_chunk_extension_accepted(self):
        # The control: extensions are legal (RFC 9112 §7.1.1) and must not be refused.
        c = self.conn()
        try:
            c.send(req("POST", "/echo", ["Transfer-Encoding: chunked"],
                       b"5;name=value;flag\r\nhello\r\n6;q=\"quoted str\"\r\n world\r\n0\r\n\r\n"))
            r = c.read_response()
            self.assertIsNotNone(r)
            self.assertEqual((r.status, r.body), (200, b"hello world"))
        finally:
            c.close()

    def test_bad_header_syntax(self):
        for header in ("Content-Length : 5", " Content-Length: 5", "Content\x01Length: 5",
                       "X-A: 1\r\n Content-Length: 5",  # space before colon, obs-fold, ctl
                       "X-A: a\x00b", "X-A: a\rb", "X-A: a\nb: c"):  # NUL, bare CR, bare LF
            if "\n" in header and "\r\n" not in header and not self.server.strict_lines:
                continue
            with self.subTest(header=header):
                self.assert_rejected(req("POST", "/echo", [header], b"hello") + SMUGGLED,
                                     (400,), "header %r" % header)


# ---------------------------------------------------------------------------------------------
# Size limits
# ---------------------------------------------------------------------------------------------


class TestLimits(ServerTestCase):
    def test_header_flood_431(self):
        if not self.server.counts_headers:
            self.skipTest("%s limits the head's size, not its header count" % self.server.name)
        headers = ["X-Flood-%d: v" % i for i in range(200)]
        self.assert_rejected(req("GET", "/json", headers) + SMUGGLED, (431,), "200 headers")

    def test_huge_head_431(self):
        # 64 headers of 1 KiB: over every server's total head limit (ours 32 KiB).
        headers = ["X-Big-%d: %s" % (i, "v" * 1024) for i in range(64)]
        statuses = (431,) if self.server.name != "nginx" else (400, 431)
        self.assert_rejected(req("GET", "/json", headers) + SMUGGLED, statuses, "64 KiB head")

    def test_long_request_line_414(self):
        self.assert_rejected(req("GET", "/json?" + "a" * 20 * 1024) + SMUGGLED, (414,),
                             "20 KiB request line")

    def test_body_over_limit_413(self):
        limit = self.server.limits["max_body"]
        c = self.conn()
        try:
            # The head alone must be enough: the server refuses before the body arrives.
            c.send(req("POST", "/echo", ["Content-Length: %d" % (limit + 1)]))
            r = c.read_response()
            self.assertIsNotNone(r, "no answer to a declared body of limit+1 bytes")
            self.assertEqual(r.status, 413, r)
            self.assertIn("close", r.headers.get("connection", "").lower(), r.headers)
            self.assertTrue(c.wait_closed(LINGER), "connection left open after 413")
        finally:
            c.close()

    def test_body_at_limit_accepted(self):
        limit = self.server.limits["max_body"]
        if limit > 32 * 1024 * 1024:
            self.skipTest("limit too large to send here")
        body = os.urandom(limit)
        c = self.conn(timeout=30)
        try:
            t = threading.Thread(target=c.send, args=(req("POST", "/echo", [
                "Content-Length: %d" % limit]) + body,))
            t.start()
            r = c.read_response(timeout=30)
            t.join(30)
            self.assertIsNotNone(r, "POST /echo with a body of exactly the limit (%d bytes): no "
                                 "whole answer: %s" % (limit, c.state()))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.body, body)
        finally:
            c.close()

    def test_expect_continue(self):
        """Expect: 100-continue (RFC 9110 §10.1.1): a body within the limit is asked for with a
        100 interim answer; one over the limit is refused (413) before it is sent."""
        c = self.conn()
        try:
            c.send(req("POST", "/echo", ["Content-Length: 5", "Expect: 100-continue"]))
            interim = c.read_response(timeout=3.0)
            self.assertIsNotNone(interim, "no 100 Continue: %s" % c.state())
            self.assertEqual(interim.status, 100, interim)
            c.send(b"hello")
            r = c.read_response()
            self.assertIsNotNone(r, c.state())
            self.assertEqual((r.status, r.body), (200, b"hello"))
        finally:
            c.close()
        limit = self.server.limits["max_body"]
        c = self.conn()
        try:
            c.send(req("POST", "/echo", ["Content-Length: %d" % (limit + 1),
                                         "Expect: 100-continue"]))
            r = c.read_response(timeout=3.0)
            self.assertIsNotNone(r, "no answer to Expect with an oversized body: %s" % c.state())
            self.assertEqual(r.status, 413, "an oversized body was asked for: %r" % r)
        finally:
            c.close()

    def test_chunked_body_over_limit_413(self):
        limit = self.server.limits["max_body"]
        chunk = b"x" * 65536
        c = self.conn(timeout=30)
        try:
            c.send(req("POST", "/echo", ["Transfer-Encoding: chunked"]))
            frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
            sent = 0
            # Keep sending until the server answers or we are well past the limit.
            stop = threading.Event()

            def pump():
                nonlocal sent
                while not stop.is_set() and sent <= limit + 4 * len(chunk):
                    if not c.send(frame):
                        return
                    sent += len(chunk)

            t = threading.Thread(target=pump)
            t.start()
            r = c.read_response(timeout=30)
            stop.set()
            t.join(30)
            self.assertIsNotNone(r, "no answer to a chunked body over the limit (%s)" % (
                "reset" if c.reset else "closed" if c.eof else "silent"))
            self.assertEqual(r.status, 413, r)
            self.assertTrue(c.wait_closed(5.0), "connection left open after 413")
        finally:
            c.close()


# ---------------------------------------------------------------------------------------------
# Slow clients
# ---------------------------------------------------------------------------------------------


class TestSlowClients(ServerTestCase):
    def test_slowloris_head(self):
        """A head sent 1 byte per 200 ms must be cut off at the head timeout (408 or close),
        while other clients are served."""
        timeout = self.server.limits["header_timeout_s"]
        head = req("GET", "/json", ["X-Slow-%d: %s" % (i, "s" * 20) for i in range(200)])
        # Up to 300 more connections (half the cap) that send the start of a head and then
        # nothing: all of them must be cut off by the same timeout (no connection is held
        # forever).
        idle = []
        for _ in range(min(300, self.server.limits["max_connections"] // 2)):
            p = self.conn()
            p.send(b"GET /json HTTP/1.1\r\nHost: t\r\nX-Partial: ")
            idle.append(p)
        c = self.conn()
        t0 = time.monotonic()
        closed_at = None
        try:
            for i in range(len(head)):
                if time.monotonic() - t0 > timeout + MARGIN:
                    break
                if not c.send(head[i:i + 1]):
                    closed_at = time.monotonic() - t0
                    break
                # Poll for the server's verdict while dripping.
                c.sock.setblocking(False)
                try:
                    data = c.sock.recv(4096)
                    if data == b"":
                        c.eof = True
                    c.buf += data
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    c.eof = c.reset = True
                finally:
                    c.sock.setblocking(True)
                if c.eof or c.buf:
                    closed_at = time.monotonic() - t0
                    break
                if i % 25 == 0:
                    self.assert_serves("while a slowloris client drips its head")
                time.sleep(0.2)
            if closed_at is None:
                c.wait_closed(max(0.1, timeout + MARGIN - (time.monotonic() - t0)))
                if c.eof or c.buf:
                    closed_at = time.monotonic() - t0
            self.assertIsNotNone(closed_at, "the server was still waiting for the head after "
                                 "%.1f s (head timeout %.1f s)" % (timeout + MARGIN, timeout))
            self.assertLessEqual(closed_at, timeout + MARGIN)
            self.assertGreaterEqual(closed_at, min(timeout, 1.0) - 0.5,
                                    "cut off long before the head timeout")
            if c.buf:
                r = c.read_response(timeout=1.0)
                if r is not None:
                    self.assertEqual(r.status, 408, r)
            left = [p for p in idle if not p.wait_closed(
                max(0.1, timeout + MARGIN - (time.monotonic() - t0)))]
            self.assertEqual(len(left), 0, "%d of %d partial heads still open after %.1f s" % (
                len(left), len(idle), timeout + MARGIN))
        finally:
            c.close()
            for p in idle:
                p.close()

    def test_slow_body_completes(self):
        """A body that keeps making progress (1 byte per 100 ms) is not a timeout."""
        body = b"slowly-but-surely!!!"
        c = self.conn()
        try:
            c.send(req("POST", "/echo", ["Content-Length: %d" % len(body)]))
            for i in range(len(body)):
                time.sleep(0.1)
                self.assertTrue(c.send(body[i:i + 1]), "connection dropped during a slow body")
            r = c.read_response()
            self.assertIsNotNone(r)
            self.assertEqual((r.status, r.body), (200, body))
        finally:
            c.close()

    def test_stalled_body_times_out(self):
        timeout = self.server.limits["body_timeout_s"]
        if timeout > 10:
            self.skipTest("the example has no body-timeout option (default %.0f s)" % timeout)
        c = self.conn()
        try:
            c.send(req("POST", "/echo", ["Content-Length: 100"], b"only part of the body"))
            t0 = time.monotonic()
            closed = c.wait_closed(timeout + MARGIN)
            self.assertTrue(closed, "connection still open %.1f s into a stalled body (body "
                            "timeout %.1f s)" % (timeout + MARGIN, timeout))
            self.assertGreaterEqual(time.monotonic() - t0, timeout - 1.0)
            if c.buf:
                r = c.read_response(timeout=0.5)
                if r is not None:
                    self.assertIn(r.status, (408, 400), r)
        finally:
            c.close()

    def test_never_reading_client(self):
        """A client pipelines requests and never reads: the server must stop reading (our sends
        block) or close the connection, with its memory bounded; others are still served."""
        pid = self.server.pid()
        rss0 = rss_kb(pid)
        c = self.conn()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        batch = GET_JSON * 1000
        sent = 0
        blocked = closed = False
        peak = rss0
        t0 = time.monotonic()
        try:
            c.sock.setblocking(False)
            view = memoryview(batch)
            off = 0
            last_progress = time.monotonic()
            while time.monotonic() - t0 < 20:
                try:
                    n = c.sock.send(view[off:])
                    sent += n
                    off = (off + n) % len(batch)
                    last_progress = time.monotonic()
                except BlockingIOError:
                    if time.monotonic() - last_progress > 1.5:
                        blocked = True
                        break
                    time.sleep(0.01)
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                peak = max(peak, rss_kb(pid))
                if sent > 512 * 1024 * 1024:
                    break
            peak = max(peak, rss_kb(pid))
            requests = sent // len(GET_JSON)
            sys.stderr.write("  never-reading client: %d requests sent, %s; server RSS %d -> %d "
                             "KiB\n" % (requests, "server stopped reading" if blocked else
                                        "connection closed" if closed else "still accepting",
                                        rss0, peak))
            self.assertTrue(blocked or closed, "the server kept reading %d pipelined requests "
                            "(%.0f MiB) from a client that never reads" % (
                                requests, sent / 1048576))
            bound = self.server.limits["max_output"] // 1024 + RSS_SLACK_KB
            self.assertLess(peak - rss0, bound,
                            "server RSS grew by %d KiB for a client that never reads (bound: "
                            "max_output + %d KiB)" % (peak - rss0, RSS_SLACK_KB))
            self.assert_serves("while a client never reads")
        finally:
            c.close(rst=True)
        time.sleep(0.3)
        self.assert_serves("after the never-reading client left")


# ---------------------------------------------------------------------------------------------
# Resets and the connection cap
# ---------------------------------------------------------------------------------------------


class TestResets(ServerTestCase):
    def _background_clients(self, stop, errors, counter):
        while not stop.is_set():
            try:
                c = self.conn()
                for _ in range(5):
                    c.send(GET_JSON)
                    r = c.read_response()
                    if r is None or r.status != 200:
                        errors.append("background GET /json: %r" % (r,))
                        break
                    counter[0] += 1
                c.close()
            except OSError as exc:
                errors.append("background client: %r" % (exc,))
                return

    def test_resets_while_others_are_served(self):
        stop = threading.Event()
        errors = []
        counter = [0]
        bg = threading.Thread(target=self._background_clients, args=(stop, errors, counter))
        bg.start()
        try:
            # 8 MiB: more than the socket buffers hold, so the server is still writing when the
            # RST comes (EPIPE, and SIGPIPE unless the server ignores it).
            big = os.urandom(8 * 1024 * 1024)
            for i in range(30):
                # Mid-request: half a head, then RST.
                c = self.conn()
                c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Le")
                c.close(rst=True)
                # Mid-body: the head and part of the body, then RST.
                c = self.conn()
                c.send(req("POST", "/echo", ["Content-Length: 1000"], b"x" * 500))
                c.close(rst=True)
                # Mid-response: an 8 MiB echo, read a little of it, then RST (every third time
                # a plain close instead: the server's next write then meets an RST too).
                c = self.conn(timeout=30)
                c.send(req("POST", "/echo", ["Content-Length: %d" % len(big)]) + big)
                c.sock.recv(65536)
                c.close(rst=i % 3 != 0)
                # While a deferred answer is pending: /slow answers from another thread later.
                c = self.conn()
                c.send(req("GET", "/slow?ms=50"))
                c.close(rst=True)
                # Pipelined requests, RST before reading any answer.
                c = self.conn()
                c.send(GET_JSON * 100)
                c.close(rst=True)
                # Pipelined deferred requests, then a plain close (FIN): their answers are
                # written one by one as they come, the first meets the client's RST, the next
                # ones EPIPE (SIGPIPE killed the server before it ignored the signal).
                c = self.conn()
                c.send(b"".join(req("GET", "/slow?ms=%d" % (5 * k)) for k in range(1, 20)))
                c.close()
            time.sleep(0.5)  # the /slow answers arrive for connections that are gone
        finally:
            stop.set()
            bg.join(30)
        self.assertEqual(errors, [], "other clients failed during the resets")
        self.assertGreater(counter[0], 0, "the background client was never served")
        self.assert_serves("after 180 reset connections")


class TestConnectionFlood(ServerTestCase):
    def test_flood_against_cap(self):
        """FLOOD connections at once: the ones over the cap are refused cleanly (503 or
        closed), none hang, and the server serves normally afterwards."""
        have = raise_nofile(FLOOD + 500)
        if have < FLOOD + 100:
            self.skipTest("RLIMIT_NOFILE hard limit %d < %d" % (have, FLOOD + 100))
        cap = self.server.limits["max_connections"]
        sel = selectors.DefaultSelector()
        socks = []
        outcome = {"200": 0, "503": 0, "other": 0, "closed": 0, "refused": 0, "pending": 0}
        t0 = time.monotonic()
        try:
            for _ in range(FLOOD):
                s = socket.socket()
                s.setblocking(False)
                err = s.connect_ex((HOST, self.port))
                if err not in (0, errno.EINPROGRESS):
                    outcome["refused"] += 1
                    s.close()
                    continue
                socks.append(s)
                sel.register(s, selectors.EVENT_WRITE, [b"", False])
            # Each socket sends GET /json once writable and reads until a whole status line
            # arrives or the server closes it.
            deadline = time.monotonic() + 60
            open_count = len(socks)
            while open_count and time.monotonic() < deadline:
                for key, ev in sel.select(timeout=1.0):
                    s, st = key.fileobj, key.data
                    if ev & selectors.EVENT_WRITE and not st[1]:
                        try:
                            s.send(GET_JSON)
                            st[1] = True
                            sel.modify(s, selectors.EVENT_READ, st)
                        except (BlockingIOError, InterruptedError):
                            pass
                        except OSError:
                            outcome["refused"] += 1
                            sel.unregister(s)
                            open_count -= 1
                        continue
                    try:
                        data = s.recv(4096)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data = b""
                    if data:
                        st[0] += data
                        if b"\r\n" not in st[0]:
                            continue
                        status = st[0][9:12]
                        key_name = status.decode() if status in (b"200", b"503") else "other"
                        outcome[key_name] += 1
                    else:
                        outcome["closed"] += 1
                    sel.unregister(s)
                    open_count -= 1
            outcome["pending"] = open_count
            elapsed = time.monotonic() - t0
            sys.stderr.write("  %d connections against a cap of %d in %.1f s: %r\n" % (
                FLOOD, cap, elapsed, outcome))
            self.assertEqual(outcome["pending"], 0, "connections left hanging: %r" % outcome)
            self.assertEqual(outcome["other"], 0, "unexpected statuses: %r" % outcome)
            self.assertGreater(outcome["200"], 0, "nobody was served: %r" % outcome)
            if cap < FLOOD:
                # Served connections stay open (idle keep-alive) while we count, so the cap is
                # reached and some connections must have been refused (not queued forever).
                # (How many are served is the server's choice: nginx closes idle keep-alive
                # connections to make room for new ones.)
                self.assertGreater(outcome["503"] + outcome["closed"] + outcome["refused"], 0,
                                   "nothing was refused over a cap of %d: %r" % (cap, outcome))
            # Server memory after all of this must not be out of bounds.
        finally:
            for s in socks:
                try:
                    s.close()
                except OSError:
                    pass
            sel.close()
        time.sleep(0.5)
        self.assert_serves("after %d connections" % FLOOD)


# ---------------------------------------------------------------------------------------------
# Pipelining
# ---------------------------------------------------------------------------------------------


class TestPipelining(ServerTestCase):
    def test_50_requests_in_one_send(self):
        n = 50
        reqs = []
        for i in range(n):
            if i % 5 == 4:
                body = b"body-%d" % i
                reqs.append(req("POST", "/echo", ["Content-Length: %d" % len(body)], body))
            else:
                reqs.append(req("GET", "/items/p%dx?q=q%dx" % (i, i)))
        c = self.conn()
        try:
            c.send(b"".join(reqs))
            for i in range(n):
                r = c.read_response()
                self.assertIsNotNone(r, "pipelined answer %d of %d missing" % (i + 1, n))
                self.assertEqual(r.status, 200, "answer %d: %r" % (i, r))
                if i % 5 == 4:
                    self.assertEqual(r.body, b"body-%d" % i, "answer %d out of order" % i)
                else:
                    self.assertIn(b"p%dx" % i, r.body, "answer %d out of order: %r" % (i, r))
                    self.assertIn(b"q%dx" % i, r.body, "answer %d out of order: %r" % (i, r))
            self.assertIsNone(c.read_response(timeout=0.3), "more answers than requests")
            self.assertFalse(c.eof, "the server closed a keep-alive connection")
        finally:
            c.close()

    def test_pipelined_across_reads_with_slow(self):
        """A deferred answer (/slow, answered from another thread) holds back the answers to
        the requests after it: responses stay in request order."""
        c = self.conn()
        try:
            c.send(req("GET", "/slow?ms=200") + req("GET", "/items/after1x") +
                   req("GET", "/items/after2x"))
            r1, r2, r3 = c.read_response(), c.read_response(), c.read_response()
            self.assertIsNotNone(r3, "missing answers: %r %r %r" % (r1, r2, r3))
            self.assertEqual([r1.status, r2.status, r3.status], [200, 200, 200])
            self.assertIn(b"after1x", r2.body)
            self.assertIn(b"after2x", r3.body)
        finally:
            c.close()


# ---------------------------------------------------------------------------------------------
# Static files: path traversal, symlinks, HEAD, ETag, ranges
# ---------------------------------------------------------------------------------------------

SECRET = b"the secret outside the static directory\n"


class TestStatic(ServerTestCase):
    @classmethod
    def static_root(cls):
        cls.base = tempfile.mkdtemp(prefix="fa_static_")
        root = os.path.join(cls.base, "root")
        os.makedirs(os.path.join(root, "sub"))
        with open(os.path.join(cls.base, "secret.txt"), "wb") as f:
            f.write(SECRET)
        with open(os.path.join(root, "hello.txt"), "wb") as f:
            f.write(b"hello static\n")
        with open(os.path.join(root, "sub", "inner.txt"), "wb") as f:
            f.write(b"inner\n")
        cls.big = os.urandom(1024 * 1024 + 7)  # over the inline size: the sendfile path
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(cls.big)
        os.symlink(cls.base, os.path.join(root, "escape"))
        os.symlink(os.path.join(cls.base, "secret.txt"), os.path.join(root, "secret_link"))
        return root

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.base, ignore_errors=True)

    def get(self, target, headers=(), method="GET"):
        c = self.conn()
        try:
            c.send(req(method, target, headers))
            r = c.read_response(head_request=method == "HEAD")
            self.assertIsNotNone(r, "%s %s: no answer: %s" % (method, target, c.state()))
            return r
        finally:
            c.close()

    def test_files(self):
        r = self.get("/static/hello.txt")
        self.assertEqual((r.status, r.body), (200, b"hello static\n"))
        self.assertTrue(r.headers.get("content-type", "").startswith("text/plain"), r.headers)
        r = self.get("/static/sub/inner.txt")
        self.assertEqual((r.status, r.body), (200, b"inner\n"))
        r = self.get("/static/big.bin")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.body == self.big, "big file differs (%d bytes)" % len(r.body))
        r = self.get("/static/hello.txt", method="HEAD")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("content-length"), "13", r.headers)

    def test_traversal_refused(self):
        targets = ["/static/../secret.txt", "/static/%2e%2e/secret.txt",
                   "/static/sub/../../secret.txt", "/static/%2e%2e%2fsecret.txt",
                   "/static/..%2fsecret.txt", "/static/sub/%2e%2e/%2e%2e/secret.txt",
                   "/static/..%5csecret.txt", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
                   "/static/hello.txt%00.png", "/static/./../secret.txt", "/static/sub/..",
                   "/static/", "/static/sub/", "/static/nonexistent"]
        if not self.server.follows_symlinks:
            targets += ["/static/escape/secret.txt", "/static/secret_link",
                        "/static/escape/root/hello.txt"]
        for target in targets:
            with self.subTest(target=target):
                r = self.get(target)
                self.assertNotEqual(r.status, 200, "%s served: %r" % (target, r))
                self.assertGreaterEqual(r.status, 400, "%s: %r" % (target, r))
                self.assertNotIn(SECRET.strip(), r.body)
                self.assertNotIn(b"root:", r.body)
        self.assert_serves("after the traversal attempts")

    def test_etag(self):
        r = self.get("/static/hello.txt")
        etag = r.headers.get("etag")
        self.assertTrue(etag, r.headers)
        r = self.get("/static/hello.txt", ["If-None-Match: %s" % etag])
        self.assertEqual((r.status, r.body), (304, b""))
        r = self.get("/static/hello.txt", ['If-None-Match: "something-else"'])
        self.assertEqual(r.status, 200)

    def test_ranges(self):
        r = self.get("/static/hello.txt", ["Range: bytes=0-4"])
        self.assertEqual((r.status, r.body), (206, b"hello"))
        self.assertEqual(r.headers.get("content-range"), "bytes 0-4/13")
        r = self.get("/static/hello.txt", ["Range: bytes=-3"])
        self.assertEqual((r.status, r.body), (206, b"ic\n"))
        r = self.get("/static/hello.txt", ["Range: bytes=6-"])
        self.assertEqual((r.status, r.body), (206, b"static\n"))
        r = self.get("/static/hello.txt", ["Range: bytes=100-"])
        self.assertEqual(r.status, 416, r)
        self.assertEqual(r.headers.get("content-range"), "bytes */13")
        r = self.get("/static/big.bin", ["Range: bytes=1000-1999"])
        self.assertEqual(r.status, 206)
        self.assertTrue(r.body == self.big[1000:2000], "wrong slice of the big file")
        r = self.get("/static/big.bin", ["Range: bytes=1048000-"])
        self.assertEqual(r.status, 206)
        self.assertTrue(r.body == self.big[1048000:], "wrong tail of the big file")
        for bad in ("bytes=5-2", "bytes=abc", "lines=0-4", "bytes=0-4,",
                    "bytes=99999999999999999999999-"):
            with self.subTest(range=bad):
                r = self.get("/static/hello.txt", ["Range: %s" % bad])
                self.assertIn(r.status, (200, 416), r)
                if r.status == 200:
                    self.assertEqual(r.body, b"hello static\n")
        if self.server.name != "nginx":  # nginx answers several ranges with multipart/byteranges
            r = self.get("/static/hello.txt", ["Range: bytes=0-1,3-4"])
            self.assertEqual((r.status, r.body), (200, b"hello static\n"))


# ---------------------------------------------------------------------------------------------
# Server-Sent Events: the stream's framing, hostile Last-Event-ID values, resets mid-stream
# ---------------------------------------------------------------------------------------------


class SSEReader:
    """Reads an event stream on a raw socket: the head, then events (WHATWG HTML §9.2.6)."""

    def __init__(self, port, last_id=None):
        self.c = Conn(port)
        headers = ["Accept: text/event-stream", "Cache-Control: no-cache"]
        if last_id is not None:
            headers.append("Last-Event-ID: %s" % last_id)
        self.c.send(req("GET", "/events", headers))
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while b"\r\n\r\n" not in self.c.buf and self.c._fill(deadline):
            pass
        head, _, self.c.buf = self.c.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        self.status = int(lines[0][9:12]) if lines[0].startswith(b"HTTP/1.") else 0
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            self.headers[name.strip().lower().decode()] = value.strip().decode()
        self.chunked = self.headers.get("transfer-encoding", "").lower() == "chunked"
        self.raw = b""  # the event stream with any chunked framing removed

    def _more(self, deadline):
        if not self.c._fill(deadline):
            return False
        if not self.chunked:
            self.raw += self.c.buf
            self.c.buf = b""
            return True
        while True:
            line, sep, rest = self.c.buf.partition(b"\r\n")
            if not sep:
                return True
            size = int(line.split(b";")[0], 16)
            if len(rest) < size + 2:
                return True
            self.raw += rest[:size]
            self.c.buf = rest[size + 2:]

    def events(self, n, timeout=ANSWER_TIMEOUT):
        """The next n events as dicts of field -> value (comments dropped)."""
        deadline = time.monotonic() + timeout
        out = []
        while len(out) < n:
            block, sep, rest = self.raw.partition(b"\n\n")
            if not sep:
                if not self._more(deadline):
                    break
                continue
            self.raw = rest
            ev = {}
            for line in block.split(b"\n"):
                if not line or line.startswith(b":"):
                    continue
                name, _, value = line.partition(b":")
                ev[name.decode()] = value[1:].decode() if value.startswith(b" ") else \
                    value.decode()
            if "data" in ev or "id" in ev:
                out.append(ev)
        return out

    def close(self, rst=False):
        self.c.close(rst=rst)


class TestSSE(ServerTestCase):
    extra_args = ("--clock-ms", "20")

    def setUp(self):
        if self.server.name == "nginx":
            self.skipTest("nginx has no event stream route")

    def test_stream_framing(self):
        r = SSEReader(self.port)
        try:
            if r.status == 404:
                self.skipTest("this build of the example has no /events route")
            self.assertEqual(r.status, 200, r.headers)
            self.assertTrue(r.headers.get("content-type", "").startswith("text/event-stream"),
                            r.headers)
            self.assertIn("no-cache", r.headers.get("cache-control", ""), r.headers)
            self.assertNotIn("content-length", r.headers)
            evs = r.events(5)
            self.assertEqual(len(evs), 5, "fewer than 5 events in %.0f s: %r" % (
                ANSWER_TIMEOUT, evs))
            ids = [int(e["id"]) for e in evs]
            self.assertEqual(ids, list(range(ids[0], ids[0] + 5)), "ids not consecutive")
            self.assertNotIn(b"\r", r.raw, "a raw CR in the stream")
        finally:
            r.close()

    def test_resume_after_last_event_id(self):
        r = SSEReader(self.port)
        try:
            if r.status == 404:
                self.skipTest("this build of the example has no /events route")
            first = int(r.events(3)[-1]["id"])
        finally:
            r.close()
        r = SSEReader(self.port, last_id=str(first))
        try:
            evs = r.events(3)
            self.assertEqual([int(e["id"]) for e in evs], [first + 1, first + 2, first + 3],
                             "replay after Last-Event-ID %d" % first)
        finally:
            r.close()

    def test_hostile_last_event_id(self):
        for value in ("abc", "-1", "0", "99999999999999999999999999", "1" * 4000, "1 2",
                      "\x01\x02", "%00", "18446744073709551615", "18446744073709551616"):
            with self.subTest(value=value[:30]):
                r = SSEReader(self.port, last_id=value)
                try:
                    if r.status == 404:
                        self.skipTest("this build of the example has no /events route")
                    self.assertIn(r.status, (200, 400), r.headers)
                    if r.status == 200:
                        evs = r.events(1)
                        self.assertEqual(len(evs), 1, "no live event after Last-Event-ID %r" % (
                            value[:30],))
                finally:
                    r.close()
        self.assert_serves("after hostile Last-Event-ID values")

    def test_resets_mid_stream(self):
        readers = []
        for i in range(60):
            r = SSEReader(self.port)
            if r.status == 404:
                r.close()
                self.skipTest("this build of the example has no /events route")
            readers.append(r)
        time.sleep(0.2)
        for i, r in enumerate(readers):
            r.close(rst=i % 2 == 0)  # half reset, half closed in order
            if i % 10 == 0:
                time.sleep(0.03)  # let the clock publish into half-closed streams
        time.sleep(0.3)
        r = SSEReader(self.port)
        try:
            self.assertEqual(len(r.events(2)), 2, "the stream stopped after the resets")
        finally:
            r.close()
        self.assert_serves("after 60 streams were dropped")


# ---------------------------------------------------------------------------------------------
# Graceful shutdown
# ---------------------------------------------------------------------------------------------


class TestShutdown(unittest.TestCase):
    """SIGTERM (nginx: SIGQUIT) while a deferred request is in flight: it is still answered,
    new connections are refused, and the server exits 0 within its shutdown timeout."""

    def test_in_flight_request_answered(self):
        server = make_server()
        if server.name == "nginx":
            self.skipTest("nginx cancels the echo module's sleep timer at shutdown")
        server.start()
        try:
            c = Conn(server.port)
            c.send(req("GET", "/slow?ms=1000"))
            time.sleep(0.2)  # the request is in the handler (deferred) now
            sig = signal.SIGQUIT if server.name == "nginx" else signal.SIGTERM
            t0 = time.monotonic()
            server.proc.send_signal(sig)
            r = c.read_response(timeout=8.0)
            self.assertIsNotNone(r, "the in-flight /slow was not answered: %s" % c.state())
            self.assertEqual(r.status, 200, r)
            c.close()
            rc = server.proc.wait(timeout=10)
            self.assertIn(rc, (0,) if server.name != "nginx" else (0, -signal.SIGQUIT),
                          "exit status %s; log:\n%s" % (rc, server.log()))
            self.assertLess(time.monotonic() - t0, 7.0, "shutdown took too long")
            with self.assertRaises(OSError, msg="still accepting after shutdown"):
                socket.create_connection((HOST, server.port), timeout=1).close()
        finally:
            server.stop()

    def test_websocket_gets_going_away(self):
        server = make_server()
        if server.name == "nginx":
            self.skipTest("nginx has no WebSocket echo route")
        server.start()
        try:
            c = Conn(server.port)
            key = ws_key()
            c.send(ws_upgrade(key))
            r = c.read_response()
            self.assertIsNotNone(r, c.state())
            if r.status == 404:
                self.skipTest("this build of the example has no /ws route")
            self.assertEqual(r.status, 101, r)
            server.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 8.0
            while len(c.buf) < 4 and c._fill(deadline):
                pass
            # A close frame (opcode 8, unmasked, FIN) with code 1001 Going Away (§7.4.1).
            self.assertGreaterEqual(len(c.buf), 4, "no close frame at shutdown: %s" % c.state())
            self.assertEqual(c.buf[0], 0x88, c.state())
            self.assertEqual(struct.unpack("!H", c.buf[2:4])[0], 1001, c.state())
            c.send(ws_frame(8, struct.pack("!H", 1001)))
            self.assertTrue(c.wait_closed(8.0), "TCP not closed after the close handshake")
            c.close()
            rc = server.proc.wait(timeout=10)
            self.assertEqual(rc, 0, "exit status %s; log:\n%s" % (rc, server.log()))
        finally:
            server.stop()

    def test_websocket_silent_at_shutdown(self):
        """A client that never answers the 1001 close: the server closes TCP after its close
        timeout (5 s) and exits 0, not waiting forever."""
        server = make_server()
        if server.name == "nginx":
            self.skipTest("nginx has no WebSocket echo route")
        server.start()
        try:
            c = Conn(server.port)
            c.send(ws_upgrade(ws_key()))
            r = c.read_response()
            self.assertIsNotNone(r, c.state())
            if r.status == 404:
                self.skipTest("this build of the example has no /ws route")
            self.assertEqual(r.status, 101, r)
            t0 = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            self.assertTrue(c.wait_closed(5.0 + MARGIN), "TCP still open %.1f s after an "
                            "unanswered close at shutdown" % (5.0 + MARGIN))
            self.assertTrue(c.buf.startswith(b"\x88"), "no close frame: %s" % c.state())
            rc = server.proc.wait(timeout=10)
            self.assertEqual(rc, 0, "exit status %s; log:\n%s" % (rc, server.log()))
            sys.stderr.write("  silent WebSocket at shutdown: exited after %.2f s\n" % (
                time.monotonic() - t0))
            c.close()
        finally:
            server.stop()


# ---------------------------------------------------------------------------------------------
# WebSocket: the opening handshake (RFC 6455 §4.2.1) and a client that never reads
# ---------------------------------------------------------------------------------------------

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_key():
    return base64.b64encode(os.urandom(16)).decode()


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def ws_upgrade(key, method="GET", version="13", drop=(), extra=(), http="HTTP/1.1"):
    fields = {"Host": "t", "Upgrade": "websocket", "Connection": "Upgrade",
              "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": version}
    lines = ["%s /ws %s" % (method, http)]
    lines += ["%s: %s" % (k, v) for k, v in fields.items() if k not in drop]
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def ws_frame(opcode, payload, fin=True):
    """A masked client frame (RFC 6455 §5.2, §5.3)."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | opcode
    if n < 126:
        head = bytes([b0, 0x80 | n])
    elif n < 65536:
        head = bytes([b0, 0x80 | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, 0x80 | 127]) + struct.pack("!Q", n)
    key = os.urandom(4)
    k = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big") \
        if n else b""
    return head + key + masked


class TestWebSocket(ServerTestCase):
    def setUp(self):
        if self.server.name == "nginx":
            self.skipTest("nginx has no WebSocket echo route")

    def handshake(self, data):
        c = self.conn()
        c.send(data)
        r = c.read_response()
        return c, r

    def test_valid_handshake(self):
        key = ws_key()
        c, r = self.handshake(ws_upgrade(key))
        try:
            self.assertIsNotNone(r, "no answer to a valid upgrade: %s" % c.state())
            if r.status == 404:
                self.skipTest("this build of the example has no /ws route")
            self.assertEqual(r.status, 101, r)
            self.assertEqual(r.headers.get("sec-websocket-accept"), ws_accept(key))
            self.assertIn("upgrade", r.headers.get("connection", "").lower())
            self.assertEqual(r.headers.get("upgrade", "").lower(), "websocket")
            # Frames right after the handshake work: a ping gets its pong.
            c.send(ws_frame(9, b"hi"))
            deadline = time.monotonic() + ANSWER_TIMEOUT
            while len(c.buf) < 4 and c._fill(deadline):
                pass
            self.assertEqual(c.buf[:4], b"\x8a\x02hi", c.state())
        finally:
            c.close()

    def test_bad_handshakes(self):
        probe_c, probe = self.handshake(ws_upgrade(ws_key()))
        probe_c.close()
        if probe is not None and probe.status == 404:
            self.skipTest("this build of the example has no /ws route")
        cases = [
            ("no Sec-WebSocket-Key", ws_upgrade("", drop=("Sec-WebSocket-Key",)), (400,)),
            ("key of 8 bytes", ws_upgrade(base64.b64encode(b"12345678").decode()), (400,)),
            ("key not base64", ws_upgrade("!!!!!!!!!!!!!!!!!!!!!!=="), (400,)),
            ("version 8", ws_upgrade(ws_key(), version="8"), (426,)),
            ("no version", ws_upgrade(ws_key(), drop=("Sec-WebSocket-Version",)), (400, 426)),
            ("POST", ws_upgrade(ws_key(), method="POST", extra=("Content-Length: 0",)),
             (400, 405)),
            ("HTTP/1.0", ws_upgrade(ws_key(), http="HTTP/1.0"), (400, 426, 505)),
            ("Upgrade: h2c", ws_upgrade(ws_key(), drop=("Upgrade",), extra=("Upgrade: h2c",)),
             (400, 426)),
        ]
        for what, data, statuses in cases:
            with self.subTest(what=what):
                c, r = self.handshake(data)
                try:
                    self.assertIsNotNone(r, "%s: no answer: %s" % (what, c.state()))
                    self.assertIn(r.status, statuses, "%s: %r" % (what, r))
                    if r.status == 426:
                        self.assertEqual(r.headers.get("sec-websocket-version"), "13", r.headers)
                    # Not switched: the connection still speaks HTTP (or is closed), so a frame
                    # sent now is not answered as WebSocket.
                    c.send(ws_frame(9, b"hi"))
                    rest = c.read_response(timeout=0.5)
                    self.assertFalse(c.buf.startswith(b"\x8a"), "%s: switched protocols" % what)
                    if rest is not None:
                        self.assertGreaterEqual(rest.status, 400, rest)
                finally:
                    c.close()

    def test_never_reading_ws_client(self):
        """A WebSocket client sends messages to the echo and never reads the echoes: the server
        must stop reading or drop it, with its memory bounded; others are still served."""
        self._never_reading(ws_frame(2, os.urandom(32 * 1024)), "messages")

    def test_ping_flood_never_reading(self):
        """The same with 125-byte pings: the pongs must be bounded like any other output."""
        self._never_reading(ws_frame(9, os.urandom(125)) * 64, "pings")

    def test_protocol_error_closes(self):
        """We break the protocol and never answer the server's close frame: the close frame
        (1002) comes first, then the server closes TCP, at once (RFC 6455 §7.1.7) or at the
        latest after its close timeout (FA_WS_CLOSE_TIMEOUT_MS, 5 s)."""
        c = self.conn()
        try:
            c.send(ws_upgrade(ws_key()))
            r = c.read_response()
            if r is not None and r.status == 404:
                self.skipTest("this build of the example has no /ws route")
            self.assertEqual(r.status if r else None, 101, c.state())
            c.send(b"\x81\x05hello")  # an unmasked text frame -> 1002
            t0 = time.monotonic()
            self.assertTrue(c.wait_closed(5.0 + MARGIN), "TCP still open %.1f s after the "
                            "server's close frame went unanswered" % (5.0 + MARGIN))
            self.assertTrue(c.buf.startswith(b"\x88"), "no close frame first: %s" % c.state())
            self.assertEqual(struct.unpack("!H", c.buf[2:4])[0], 1002, c.state())
            sys.stderr.write("  unanswered close: TCP closed after %.2f s\n" % (
                time.monotonic() - t0))
        finally:
            c.close()

    def _never_reading(self, frame, what):
        key = ws_key()
        c = self.conn()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.send(ws_upgrade(key))
        r = c.read_response()
        if r is not None and r.status == 404:
            c.close()
            self.skipTest("this build of the example has no /ws route")
        self.assertIsNotNone(r, c.state())
        self.assertEqual(r.status, 101, r)
        pid = self.server.pid()
        rss0 = peak = rss_kb(pid)
        sent = 0
        blocked = closed = False
        t0 = time.monotonic()
        try:
            c.sock.setblocking(False)
            off = 0
            last_progress = time.monotonic()
            while time.monotonic() - t0 < 20 and sent < 1024 * 1024 * 1024:
                try:
                    n = c.sock.send(frame[off:])
                    sent += n
                    off = (off + n) % len(frame)
                    last_progress = time.monotonic()
                except BlockingIOError:
                    if time.monotonic() - last_progress > 1.5:
                        blocked = True
                        break
                    time.sleep(0.01)
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                peak = max(peak, rss_kb(pid))
            peak = max(peak, rss_kb(pid))
            sys.stderr.write("  never-reading WebSocket client (%s): %.0f MiB sent, %s; server "
                             "RSS %d -> %d KiB\n" % (what, sent / 1048576, "server stopped reading" if
                                                 blocked else "dropped" if closed else
                                                 "still accepting", rss0, peak))
            self.assertTrue(blocked or closed, "the server kept reading %.0f MiB of %s from a "
                            "client that never reads the answers" % (sent / 1048576, what))
            bound = self.server.limits["max_output"] // 1024 + RSS_SLACK_KB
            self.assertLess(peak - rss0, bound, "server RSS grew by %d KiB (bound: max_output "
                            "+ %d KiB)" % (peak - rss0, RSS_SLACK_KB))
            self.assert_serves("while a WebSocket client never reads")
        finally:
            c.close(rst=True)


if __name__ == "__main__":
    unittest.main()
