#!/usr/bin/python3
"""autobahn_driver.py: a WebSocket (RFC 6455) conformance driver for a server's echo endpoint.

The official Autobahn|Testsuite is Python 2 only and cannot run here (research/perf_anchors.md
§C.2), so this is the project's own driver, written on the frame-level API of Debian's
python3-autobahn (the library the testsuite itself is built on): WebSocketClientProtocol.sendFrame
(opcode, payload, fin, rsv, mask, payload_len, chopsize), sendCloseFrame, sendPing, and the
library's strict validation of what the server sends back (UTF-8, close codes, masking, RSV).

It covers the behaviour sections of the testsuite (1 framing, 2 ping/pong, 3 reserved bits,
4 reserved opcodes, 5 fragmentation, 6 UTF-8, 7 close handling, 10 auto-fragmentation) plus
a few cases the testsuite leaves out (X: unmasked client frames, the server's message size
limit, 64-bit lengths). Each case opens its own connection, sends its frames, records what
comes back (messages, pongs, the close code, who closed, whether the close was clean) and
compares that with the expected outcome:

  OK             the strict expectation was met
  NON-STRICT     a tolerated outcome (e.g. invalid UTF-8 caught only when the message ended,
                 or the TCP connection dropped without a close frame where a close code was due)
  INFORMATIONAL  cases where the RFC leaves the choice open; the outcome is only reported
  FAIL           anything else

Usage:
  /usr/bin/python3 autobahn_driver.py --url ws://127.0.0.1:PORT/ws [--max-message BYTES]
        [--strict | --strict-fail-fast] [--cases PREFIX,...] [--jobs N] [--deadline SECONDS]
        [--verbose]

--strict counts every NON-STRICT outcome as a failure; --strict-fail-fast only the 6.4 cases
(invalid UTF-8 must be caught before the message ends, as our server promises), and leaves a
connection dropped without a close frame (which Autobahn itself accepts) a reported NON-STRICT.
--max-message is the server's message size limit: adds the X.2-X.4 cases (exactly the limit is
echoed, one byte more fails with 1009, in one frame and fragmented). Exit status: 0 when no case
FAILed, 1 otherwise, 2 on a usage or set-up error.

Needs Debian's python3-autobahn (`apt-get install python3-autobahn`), so run it with the
system interpreter (/usr/bin/python3), not a pyenv one.
"""

import argparse
import asyncio
import os
import struct
import sys
import time
import urllib.parse

try:
    import txaio

    txaio.use_asyncio()
    from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol
    from autobahn.websocket.protocol import WebSocketProtocol
except ImportError as exc:  # pragma: no cover - environment problem, reported clearly
    sys.stderr.write(
        "autobahn_driver.py needs Debian's python3-autobahn (apt-get install python3-autobahn) "
        "and must run under /usr/bin/python3 (%s)\n" % exc
    )
    sys.exit(2)

# The library's list of codes a peer may send stops at 1013; 1014 (Bad Gateway) is registered by
# IANA too, so an echo of it is not a protocol violation. (onCloseFrame reads the list through
# the base class, so it is extended there.)
if 1014 not in WebSocketProtocol.CLOSE_STATUS_CODES_ALLOWED:
    WebSocketProtocol.CLOSE_STATUS_CODES_ALLOWED = WebSocketProtocol.CLOSE_STATUS_CODES_ALLOWED + [1014]

OK, NON_STRICT, INFO, FAIL = "OK", "NON-STRICT", "INFORMATIONAL", "FAIL"
_RANK = {OK: 0, INFO: 1, NON_STRICT: 2, FAIL: 3}

# Per-case bounds. A case normally finishes in milliseconds on loopback; CASE_TIMEOUT only
# bounds a server that never answers. WAIT is the pause of the fail-fast cases (6.4.x), 1 s as in
# Autobahn: long enough for a loopback server to act on the bytes it has even on a loaded CI
# machine, short enough that the whole run stays well under a minute.
CASE_TIMEOUT = 3.0
WAIT = 1.0


class Close:
    """The expected end of a case: who starts the closing handshake, the close codes the server
    may send, whether the TCP close must be clean, and whether an empty close payload is fine."""

    def __init__(self, by_me, codes, clean, allow_empty=False):
        self.by_me = by_me
        self.codes = tuple(dict.fromkeys(codes))  # without repeats, in order
        self.clean = clean
        self.allow_empty = allow_empty


# We close (1000) after the expected events; the server answers 1000 (or an empty close).
NORMAL = Close(True, (1000,), True, allow_empty=True)


def failed_with(code):
    """The server must fail the connection with `code` (RFC 6455 §7.1.7); it need not wait for
    our close reply, so the TCP close need not be clean."""
    return Close(False, (code,), False)


class Case:
    def __init__(self, cid, title, act, expect, close, informational=False, timeout=CASE_TIMEOUT,
                 auto_close=True):
        self.cid = cid
        self.title = title
        self.act = act  # act(p): sends the case's frames on DriverProtocol p
        self.expect = expect  # {verdict: [event, ...]}, OK first
        self.close = close
        self.informational = informational
        self.timeout = timeout
        # Close with 1000 once the OK events have arrived (cases whose action closes itself
        # turn this off).
        self.auto_close = auto_close


def msg(payload, binary=False):
    return ("message", payload, binary)


def pong(payload):
    return ("pong", payload)


def mask_bytes(data, key):
    """XOR-masks data with the 4-byte key (RFC 6455 §5.3), fast for megabytes."""
    if not data:
        return b""
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def raw_frame(opcode, payload=b"", fin=True, rsv=0, masked=True, length=None):
    """A frame's bytes built by hand, for the cases that send a frame in pieces or with a
    length that does not match the payload (the library always writes whole frames)."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length is None else length
    m = 0x80 if masked else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + mask_bytes(payload, key)


class ExactTimer:
    """Replaces the factory's batched timer: txaio 21.2's quantises a delay down to whole
    seconds (int(now + delay)), so a 1-s closing-handshake timeout could fire after a few
    milliseconds and fail a case at random."""

    def __init__(self, loop):
        self.loop = loop

    def call_later(self, delay, func, *args, **kwargs):
        return self.loop.call_later(delay, lambda: func(*args, **kwargs))


class DriverProtocol(WebSocketClientProtocol):
    """One case on one connection: runs case.act on open and records what the server sends."""

    def connection_made(self, transport):
        # Set before the handshake can complete (its answer may arrive in the same loop turn).
        self.case = self.factory.case
        self.done = self.factory.done
        self.received = []
        super().connection_made(transport)

    def onConnect(self, response):
        self.opened_response = response

    def onOpen(self):
        self.was_open = True
        try:
            self.case.act(self)
        except Exception as exc:  # a driver bug: report it as the case's failure
            self.driver_error = "driver error: %r" % (exc,)
            self.dropConnection(abort=True)

    def _fail_connection(self, code=1001, reason="going away"):
        # Keep why the client itself failed the connection (the server sent something invalid).
        if getattr(self, "fail_reason", None) is None:
            self.fail_reason = "%s (%d)" % (reason, code)
        return super()._fail_connection(code, reason)

    def onMessage(self, payload, isBinary):
        self.received.append(msg(bytes(payload), bool(isBinary)))
        self._maybe_finish()

    def onPong(self, payload):
        self.received.append(pong(bytes(payload)))
        self._maybe_finish()

    def onClose(self, wasClean, code, reason):
        if not self.done.done():
            self.done.set_result(None)

    def later(self, delay, fn, tag=None):
        """Runs fn after delay if the connection is still open; a tag records the wait as an
        event, so that a case can tell "the server acted before the wait ended" (no tag in the
        events) from "it acted only after" (tag present)."""

        def fire():
            if self.state == WebSocketProtocol.STATE_OPEN:
                if tag is not None:
                    self.received.append(("timeout", tag))
                fn()

        asyncio.get_event_loop().call_later(delay, fire)

    def send_raw(self, data, chopsize=None):
        self.sendData(data, sync=chopsize is not None, chopsize=chopsize)

    def _maybe_finish(self):
        if (self.case.auto_close and self.case.close.by_me
                and self.received == self.case.expect[OK]
                and self.state == WebSocketProtocol.STATE_OPEN):
            self.sendClose(1000)


def judge(case, p):
    """Returns (verdict, observed text) for a finished case."""
    if getattr(p, "driver_error", None):
        return FAIL, p.driver_error
    if not getattr(p, "was_open", False):
        return FAIL, "no WebSocket connection (handshake failed or refused)"

    code = p.remoteCloseCode
    who = "me" if p.closedByMe else "server"
    observed = "events=%s close=%s by=%s clean=%s" % (
        describe(p.received), code, who, bool(p.wasClean))

    behavior = FAIL
    for verdict, events in case.expect.items():
        if p.received == events:
            behavior = verdict
            break

    c = case.close
    if p.failedByMe:
        close_v, why = FAIL, "the client failed the connection: %s" % (
            getattr(p, "fail_reason", None) or p.wasNotCleanReason)
    elif p.droppedByMe and not p.wasClean:
        close_v, why = FAIL, "the server did not finish the close (client dropped TCP: %s)" % (
            p.wasNotCleanReason,)
    elif c.by_me != bool(p.closedByMe):
        close_v, why = FAIL, "closed by the wrong endpoint"
    elif c.clean and not p.wasClean:
        close_v, why = FAIL, "unclean close"
    elif code is None and not c.allow_empty:
        # RFC 6455 §7.1.7 lets an endpoint fail the connection without a close frame in some
        # situations; Autobahn accepts it, we report it as NON-STRICT.
        close_v, why = NON_STRICT, "no close code from the server"
    elif code is not None and code not in c.codes:
        close_v, why = FAIL, "close code %s, expected %s" % (code, "/".join(map(str, c.codes)))
    else:
        close_v, why = OK, ""

    if behavior == FAIL:
        want = "; ".join("%s=%s" % (v, describe(e)) for v, e in case.expect.items())
        why = ("events differ (expected %s)" % want) + ("; " + why if why else "")
    verdict = max(behavior, close_v, key=_RANK.get)
    if case.informational and verdict in (FAIL, NON_STRICT):
        verdict = INFO
    return verdict, observed + ("  <- " + why if why else "")


def expected_text(case):
    c = case.close
    alts = "; or ".join("%s %s" % (describe(e), v) for v, e in case.expect.items() if v != OK)
    return "events=%s close=%s%s by=%s%s%s" % (
        describe(case.expect[OK]), "/".join(map(str, c.codes)), "/none" if c.allow_empty else "",
        "me" if c.by_me else "server", " clean" if c.clean else "",
        ("  (tolerated: %s)" % alts) if alts else "")


def describe(events):
    out = []
    for e in events:
        if e[0] == "message":
            kind = "bin" if e[2] else "text"
            out.append("%s[%d]" % (kind, len(e[1])) if len(e[1]) > 24 else "%s%r" % (kind, e[1]))
        elif e[0] == "pong":
            out.append("pong[%d]" % len(e[1]) if len(e[1]) > 24 else "pong%r" % (e[1],))
        else:
            out.append("wait:%s" % e[1])
    return "[" + ", ".join(out) + "]"


# ---------------------------------------------------------------------------------------------
# The cases. Each act(p) uses only p.sendFrame / p.sendMessage / p.sendPing / p.sendCloseFrame /
# p.send_raw and p.later, so what goes on the wire is explicit.
# ---------------------------------------------------------------------------------------------


def section1(cases):
    sizes = [0, 125, 126, 127, 128, 65535, 65536]
    for sub, (opcode, binary, unit) in enumerate([(1, False, b"*"), (2, True, b"\xfe")], start=1):
        kind = "binary" if binary else "text"
        for i, n in enumerate(sizes, start=1):
            payload = unit * n
            cases.append(Case(
                "1.%d.%d" % (sub, i), "%s message of %d bytes" % (kind, n),
                lambda p, op=opcode, pl=payload: p.sendFrame(opcode=op, payload=pl),
                {OK: [msg(payload, binary)]}, NORMAL))
        payload = unit * 65536
        cases.append(Case(
            "1.%d.8" % sub, "%s message of 65536 bytes written in 997-byte chops" % kind,
            lambda p, op=opcode, pl=payload: p.sendFrame(opcode=op, payload=pl, chopsize=997),
            {OK: [msg(payload, binary)]}, NORMAL))


def section2(cases):
    sentinel = b"sentinel"

    def pings(n, chop=None):
        def act(p):
            for i in range(n):
                p.sendFrame(opcode=9, payload=b"payload-%d" % i, chopsize=chop)
        return act

    cases += [
        Case("2.1", "ping without payload", lambda p: p.sendPing(), {OK: [pong(b"")]}, NORMAL),
        Case("2.2", "ping with a text payload", lambda p: p.sendPing(b"Hello, world!"),
             {OK: [pong(b"Hello, world!")]}, NORMAL),
        Case("2.3", "ping with a binary payload",
             lambda p: p.sendPing(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),
             {OK: [pong(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff")]}, NORMAL),
        Case("2.4", "ping with a 125-byte payload (the control frame limit)",
             lambda p: p.sendPing(b"\xfe" * 125), {OK: [pong(b"\xfe" * 125)]}, NORMAL),
        Case("2.5", "ping with a 126-byte payload -> 1002 (RFC 6455 §5.5)",
             lambda p: p.sendFrame(opcode=9, payload=b"\xfe" * 126), {OK: []}, failed_with(1002)),
        Case("2.6", "ping with 125 bytes written 1 byte at a time",
             lambda p: p.sendFrame(opcode=9, payload=b"\xfe" * 125, chopsize=1),
             {OK: [pong(b"\xfe" * 125)]}, NORMAL),
        # An unsolicited pong must be ignored (§5.5.3): the only answer is to the ping after it.
        Case("2.7", "unsolicited pong without payload is ignored",
             lambda p: (p.sendFrame(opcode=10), p.sendPing(sentinel)),
             {OK: [pong(sentinel)]}, NORMAL),
        Case("2.8", "unsolicited pong with payload is ignored",
             lambda p: (p.sendFrame(opcode=10, payload=b"unsolicited pong payload"),
                        p.sendPing(sentinel)),
             {OK: [pong(sentinel)]}, NORMAL),
        Case("2.9", "unsolicited pong, then a ping",
             lambda p: (p.sendFrame(opcode=10, payload=b"unsolicited pong payload"),
                        p.sendPing(b"ping payload")),
             {OK: [pong(b"ping payload")]}, NORMAL),
        Case("2.10", "10 pings back-to-back -> 10 pongs in order", pings(10),
             {OK: [pong(b"payload-%d" % i) for i in range(10)]}, NORMAL),
        Case("2.11", "10 pings back-to-back, written 1 byte at a time", pings(10, 1),
             {OK: [pong(b"payload-%d" % i) for i in range(10)]}, NORMAL),
    ]


def section3(cases):
    hello = b"Hello, world!"

    def after_echo(opcode, rsv, chop=None):
        def act(p):
            p.sendFrame(opcode=1, payload=hello, chopsize=chop)
            p.sendFrame(opcode=opcode, payload=hello, rsv=rsv, chopsize=chop)
            p.sendPing(b"must not be answered")
        return act

    # The server may fail the connection before or after echoing the valid first message.
    tolerant = {OK: [msg(hello)], NON_STRICT: []}
    cases += [
        Case("3.1", "text frame with RSV=1 -> 1002",
             lambda p: p.sendFrame(opcode=1, payload=hello, rsv=1), {OK: []}, failed_with(1002)),
        Case("3.2", "echo, then a text frame with RSV=2, then a ping -> 1002",
             after_echo(1, 2), tolerant, failed_with(1002)),
        Case("3.3", "echo, then RSV=3, ping, written in chops", after_echo(1, 3, 1), tolerant,
             failed_with(1002)),
        Case("3.4", "echo, then RSV=4, ping, written 1 byte at a time", after_echo(1, 4, 1),
             tolerant, failed_with(1002)),
        Case("3.5", "binary frame with RSV=5 -> 1002",
             lambda p: p.sendFrame(opcode=2, payload=b"\x00\xff\xfe\xfd", rsv=5), {OK: []},
             failed_with(1002)),
        Case("3.6", "ping with RSV=6 -> 1002",
             lambda p: p.sendFrame(opcode=9, payload=hello, rsv=6), {OK: []}, failed_with(1002)),
        Case("3.7", "close with RSV=7 -> 1002",
             lambda p: p.sendFrame(opcode=8, payload=struct.pack("!H", 1000), rsv=7), {OK: []},
             failed_with(1002)),
    ]


def section4(cases):
    hello = b"Hello, world!"
    tolerant = {OK: [msg(hello)], NON_STRICT: []}
    for sub, opcodes, kind in [(1, (3, 4, 5, 6, 7), "non-control"),
                               (2, (11, 12, 13, 14, 15), "control")]:
        for i, op in enumerate(opcodes, start=1):
            if i == 1:
                act, exp = (lambda p, op=op: p.sendFrame(opcode=op)), {OK: []}
                title = "reserved %s opcode %d -> 1002" % (kind, op)
            elif i == 2:
                act, exp = (lambda p, op=op: p.sendFrame(opcode=op, payload=b"reserved")), {OK: []}
                title = "reserved %s opcode %d with payload -> 1002" % (kind, op)
            else:
                def act(p, op=op):
                    p.sendFrame(opcode=1, payload=hello)
                    p.sendFrame(opcode=op, payload=b"reserved")
                    p.sendPing(b"must not be answered")
                exp = tolerant
                title = "echo, then reserved %s opcode %d, then a ping -> 1002" % (kind, op)
            cases.append(Case("4.%d.%d" % (sub, i), title, act, exp, failed_with(1002)))


def section5(cases):
    f1, f2 = b"fragment1", b"fragment2"

    def two_fragments(chop=None, ping=None):
        def act(p):
            p.sendFrame(opcode=1, fin=False, payload=f1, chopsize=chop)
            if ping is not None:
                p.sendFrame(opcode=9, payload=ping, chopsize=chop)
            p.sendFrame(opcode=0, fin=True, payload=f2, chopsize=chop)
        return act

    def stray_continuation(fin, chop=None, delay=False):
        def act(p):
            frames = [raw_frame(0, b"non-continuation payload", fin=fin),
                      raw_frame(1, b"Hello, world!")]
            if delay:
                p.send_raw(frames[0], chopsize=1)
                p.later(0.05, lambda: p.send_raw(frames[1], chopsize=1))
            else:
                for fr in frames:
                    p.send_raw(fr, chopsize=chop)
        return act

    pp = b"ping payload"
    cases += [
        Case("5.1", "ping split in 2 fragments -> 1002",
             lambda p: (p.sendFrame(opcode=9, fin=False, payload=f1),
                        p.sendFrame(opcode=0, fin=True, payload=f2)),
             {OK: []}, failed_with(1002)),
        Case("5.2", "pong split in 2 fragments -> 1002",
             lambda p: (p.sendFrame(opcode=10, fin=False, payload=f1),
                        p.sendFrame(opcode=0, fin=True, payload=f2)),
             {OK: []}, failed_with(1002)),
        Case("5.3", "text message in 2 fragments", two_fragments(), {OK: [msg(f1 + f2)]}, NORMAL),
        Case("5.4", "text message in 2 fragments, written in chops", two_fragments(chop=3),
             {OK: [msg(f1 + f2)]}, NORMAL),
        Case("5.5", "text message in 2 fragments, written 1 byte at a time",
             two_fragments(chop=1), {OK: [msg(f1 + f2)]}, NORMAL),
        Case("5.6", "ping between 2 fragments of a text message", two_fragments(ping=pp),
             {OK: [pong(pp), msg(f1 + f2)]}, NORMAL),
        Case("5.7", "ping between 2 fragments, written in chops", two_fragments(chop=3, ping=pp),
             {OK: [pong(pp), msg(f1 + f2)]}, NORMAL),
        Case("5.8", "ping between 2 fragments, written 1 byte at a time",
             two_fragments(chop=1, ping=pp), {OK: [pong(pp), msg(f1 + f2)]}, NORMAL),
        Case("5.9", "continuation (FIN) without a first fragment -> 1002",
             stray_continuation(True), {OK: []}, failed_with(1002)),
        Case("5.10", "continuation (FIN) without a first fragment, 1 byte at a time",
             stray_continuation(True, chop=1), {OK: []}, failed_with(1002)),
        Case("5.11", "continuation (FIN) without a first fragment, 1 byte at a time, paused",
             stray_continuation(True, delay=True), {OK: []}, failed_with(1002)),
        Case("5.12", "continuation (no FIN) without a first fragment -> 1002",
             stray_continuation(False), {OK: []}, failed_with(1002)),
        Case("5.13", "continuation (no FIN) without a first fragment, 1 byte at a time",
             stray_continuation(False, chop=1), {OK: []}, failed_with(1002)),
        Case("5.14", "continuation (no FIN) without a first fragment, 1 byte at a time, paused",
             stray_continuation(False, delay=True), {OK: []}, failed_with(1002)),
    ]

    def act15(p):
        p.sendFrame(opcode=1, fin=False, payload=f1)
        p.sendFrame(opcode=0, fin=True, payload=f2)
        p.sendFrame(opcode=0, fin=False, payload=b"fragment3")
        p.sendFrame(opcode=1, fin=True, payload=b"fragment4")

    cases.append(Case("5.15", "a message, then a continuation outside any message -> 1002",
                      act15, {OK: [msg(f1 + f2)], NON_STRICT: []}, failed_with(1002)))

    def act16_17(first_fin):
        def act(p):
            for _ in range(2):
                p.sendFrame(opcode=0, fin=first_fin, payload=f1)
                p.sendFrame(opcode=1, fin=False, payload=f2)
                p.sendFrame(opcode=0, fin=True, payload=b"fragment3")
        return act

    cases += [
        Case("5.16", "continuation (no FIN) first, then a fragmented message -> 1002",
             act16_17(False), {OK: []}, failed_with(1002)),
        Case("5.17", "continuation (FIN) first, then a fragmented message -> 1002",
             act16_17(True), {OK: []}, failed_with(1002)),
        Case("5.18", "a text fragment, then a new text frame inside the message -> 1002",
             lambda p: (p.sendFrame(opcode=1, fin=False, payload=f1),
                        p.sendFrame(opcode=1, fin=True, payload=f2)),
             {OK: []}, failed_with(1002)),
    ]

    frags = [b"fragment%d" % i for i in range(1, 6)]

    def act19(chop):
        def act(p):
            p.sendFrame(opcode=1, fin=False, payload=frags[0], chopsize=chop)
            p.sendFrame(opcode=0, fin=False, payload=frags[1], chopsize=chop)
            p.sendFrame(opcode=9, payload=b"pongme 1!", chopsize=chop)

            def part2():
                p.sendFrame(opcode=0, fin=False, payload=frags[2], chopsize=chop)
                p.sendFrame(opcode=0, fin=False, payload=frags[3], chopsize=chop)
                p.sendFrame(opcode=9, payload=b"pongme 2!", chopsize=chop)
                p.later(0.1, lambda: p.sendFrame(opcode=0, fin=True, payload=frags[4],
                                                 chopsize=chop))

            p.later(0.1, part2)
        return act

    exp19 = {OK: [pong(b"pongme 1!"), pong(b"pongme 2!"), msg(b"".join(frags))]}
    cases += [
        Case("5.19", "text message in 5 fragments with 2 pings between them, paused",
             act19(None), exp19, NORMAL),
        Case("5.20", "as 5.19, written 1 byte at a time", act19(1), exp19, NORMAL),
    ]


# UTF-8 vectors (RFC 3629; the validity rules of the Unicode standard, Table 3-7): valid and
# invalid byte sequences, each sent whole in one frame and again one byte per frame.
UTF8_VALID = [
    ("Greek kosme", "κόσμε".encode()),
    ("U+0000", b"\x00"),
    ("U+007F", b"\x7f"),
    ("U+0080", b"\xc2\x80"),
    ("U+07FF", b"\xdf\xbf"),
    ("U+0800", b"\xe0\xa0\x80"),
    ("U+D7FF (before the surrogates)", b"\xed\x9f\xbf"),
    ("U+E000 (after the surrogates)", b"\xee\x80\x80"),
    ("U+FFFD", b"\xef\xbf\xbd"),
    ("U+FFFE and U+FFFF (noncharacters are valid UTF-8)", b"\xef\xbf\xbe\xef\xbf\xbf"),
    ("U+10000", b"\xf0\x90\x80\x80"),
    ("U+10FFFF", b"\xf4\x8f\xbf\xbf"),
    ("mixed scripts", "Hello-µ@ßöäüàá-UTF-8!! 日本語 🎉".encode()),
]
UTF8_INVALID = [
    ("lone continuation 0x80", b"\x80"),
    ("lone continuation 0xbf", b"\xbf"),
    ("continuations 0x80 0xbf 0x80", b"\x80\xbf\x80"),
    ("2-byte lead without continuation", b"\xc2 "),
    ("3-byte lead, 1 continuation", b"\xe0\xa0 "),
    ("4-byte lead, 2 continuations", b"\xf0\x90\x80 "),
    ("truncated 2-byte at the end", b"ab\xc2"),
    ("truncated 3-byte at the end", b"ab\xe1\x80"),
    ("truncated 4-byte at the end", b"ab\xf1\x80\x80"),
    ("overlong '/' as 2 bytes", b"\xc0\xaf"),
    ("overlong U+007F as 2 bytes", b"\xc1\xbf"),
    ("overlong '/' as 3 bytes", b"\xe0\x80\xaf"),
    ("overlong U+07FF as 3 bytes", b"\xe0\x9f\xbf"),
    ("overlong '/' as 4 bytes", b"\xf0\x80\x80\xaf"),
    ("overlong U+FFFF as 4 bytes", b"\xf0\x8f\xbf\xbf"),
    ("surrogate U+D800", b"\xed\xa0\x80"),
    ("surrogate U+DFFF", b"\xed\xbf\xbf"),
    ("surrogate pair U+D800 U+DC00", b"\xed\xa0\x80\xed\xb0\x80"),
    ("U+110000 (above the Unicode range)", b"\xf4\x90\x80\x80"),
    ("lead byte 0xf5", b"\xf5\x80\x80\x80"),
    ("5-byte sequence", b"\xf8\x88\x80\x80\x80"),
    ("6-byte sequence", b"\xfc\x84\x80\x80\x80\x80"),
    ("byte 0xfe", b"\xfe"),
    ("byte 0xff", b"\xff"),
    ("invalid in the middle of valid text", "κόσμε".encode() + b"\xed\xa0\x80" + b"edited"),
]


def section6(cases):
    def fragments(parts):
        def act(p):
            for i, part in enumerate(parts):
                p.sendFrame(opcode=1 if i == 0 else 0, fin=i == len(parts) - 1, payload=part)
        return act

    hello = "Hello-µ@ßöäüàá-UTF-8!!".encode()
    kosme = "κόσμε".encode()
    cases += [
        Case("6.1.1", "empty text message", lambda p: p.sendFrame(opcode=1),
             {OK: [msg(b"")]}, NORMAL),
        Case("6.1.2", "text message of 3 empty fragments", fragments([b"", b"", b""]),
             {OK: [msg(b"")]}, NORMAL),
        Case("6.1.3", "empty, non-empty, empty fragments",
             fragments([b"", b"middle frame payload", b""]),
             {OK: [msg(b"middle frame payload")]}, NORMAL),
        Case("6.2.1", "valid UTF-8 in one frame", fragments([hello]), {OK: [msg(hello)]}, NORMAL),
        Case("6.2.2", "valid UTF-8 split on code point boundaries",
             fragments([hello[:12], hello[12:]]), {OK: [msg(hello)]}, NORMAL),
        Case("6.2.3", "valid UTF-8, one byte per frame (code points split across frames)",
             fragments([hello[i:i + 1] for i in range(len(hello))]), {OK: [msg(hello)]}, NORMAL),
        Case("6.2.4", "4-byte code points split across frames",
             fragments([b"\xf0", b"\x9f\x8e", b"\x89\xf0\x9f", b"\x8e\x89"]),
             {OK: [msg("🎉🎉".encode())]}, NORMAL),
        Case("6.3.1", "invalid UTF-8 in one frame -> 1007",
             fragments([kosme + b"\xed\xa0\x80edited"]), {OK: []}, failed_with(1007)),
        Case("6.3.2", "invalid UTF-8, one byte per frame -> 1007",
             fragments([bytes([b]) for b in kosme + b"\xed\xa0\x80edited"]), {OK: []},
             failed_with(1007)),
    ]

    # 6.4: fail fast. The invalid bytes are sent, then we wait WAIT seconds before the rest of
    # the message. A server that validates as it reads closes with 1007 during the wait (OK);
    # one that validates whole messages closes only after the last frame (NON-STRICT).
    bad = b"\xf4\x90\x80\x80"  # a complete but out-of-range sequence: invalid at its 2nd byte

    def fail_fast_frames(split_lead):
        def act(p):
            p.sendFrame(opcode=1, fin=False, payload=kosme)

            def part2():
                if split_lead:  # the lead byte ends a frame, the invalid byte starts the next
                    p.sendFrame(opcode=0, fin=False, payload=bad[:1])
                    p.sendFrame(opcode=0, fin=False, payload=bad[1:])
                else:
                    p.sendFrame(opcode=0, fin=False, payload=bad)
                p.later(WAIT, lambda: p.sendFrame(opcode=0, fin=True, payload=b"edited"), "B")

            p.later(WAIT, part2, "A")
        return act

    def fail_fast_in_frame(cut):
        # One frame whose payload arrives in pieces: the server must judge the bytes it has.
        def act(p):
            payload = kosme + bad + b"edited"
            frame = raw_frame(1, payload)
            head = len(frame) - len(payload)
            p.send_raw(frame[:head + len(kosme)])
            p.later(WAIT, lambda: (p.send_raw(frame[head + len(kosme):head + len(kosme) + cut]),
                                   p.later(WAIT, lambda: p.send_raw(
                                       frame[head + len(kosme) + cut:]), "B")), "A")
        return act

    fast = {OK: [("timeout", "A")], NON_STRICT: [("timeout", "A"), ("timeout", "B")]}
    for cid, title, act in [
        ("6.4.1", "fail fast: invalid sequence in the 2nd of 3 frames", fail_fast_frames(False)),
        ("6.4.2", "fail fast: invalid sequence split across frames", fail_fast_frames(True)),
        ("6.4.3", "fail fast: invalid bytes arrive inside one frame", fail_fast_in_frame(4)),
        ("6.4.4", "fail fast: only the 1st invalid byte arrives inside one frame",
         fail_fast_in_frame(2)),
    ]:
        cases.append(Case(cid, title + " -> 1007 before the message ends", act, fast,
                          failed_with(1007), timeout=CASE_TIMEOUT + 2 * WAIT))

    for i, (title, data) in enumerate(UTF8_VALID, start=1):
        cases.append(Case("6.5.%d" % i, "valid UTF-8, one frame: " + title, fragments([data]),
                          {OK: [msg(data)]}, NORMAL))
        cases.append(Case("6.6.%d" % i, "valid UTF-8, 1 byte per frame: " + title,
                          fragments([data[j:j + 1] for j in range(len(data))] or [b""]),
                          {OK: [msg(data)]}, NORMAL))
    for i, (title, data) in enumerate(UTF8_INVALID, start=1):
        cases.append(Case("6.7.%d" % i, "invalid UTF-8, one frame: %s -> 1007" % title,
                          fragments([data]), {OK: []}, failed_with(1007)))
        cases.append(Case("6.8.%d" % i, "invalid UTF-8, 1 byte per frame: %s -> 1007" % title,
                          fragments([data[j:j + 1] for j in range(len(data))]), {OK: []},
                          failed_with(1007)))


def section7(cases):
    hello = b"Hello World!"
    by_me = NORMAL

    def close_then(*frames):
        def act(p):
            p.sendCloseFrame(code=1000)
            for fr in frames:
                p.send_raw(fr)
        return act

    def act5(p):
        p.sendFrame(opcode=1, fin=False, payload=b"fragment1")
        p.sendCloseFrame(code=1000)
        p.sendFrame(opcode=0, fin=True, payload=b"fragment2")

    def act6(p):
        big = b"BAsd7&jh23" * 26 * 1024  # 260 KiB, like Autobahn's 7.1.6
        for _ in range(4):
            p.sendFrame(opcode=1, payload=big)
        p.sendCloseFrame(code=1000)
        p.sendPing(b"after close")

    big = b"BAsd7&jh23" * 26 * 1024
    cases += [
        Case("7.1.1", "a message, then close -> echo, then the close reply",
             lambda p: (p.sendFrame(opcode=1, payload=hello), p.sendCloseFrame(code=1000)),
             {OK: [msg(hello)]}, by_me, auto_close=False),
        Case("7.1.2", "two close frames: the second is ignored",
             close_then(raw_frame(8, struct.pack("!H", 1000))), {OK: []}, by_me,
             auto_close=False),
        Case("7.1.3", "a ping after our close is not answered",
             close_then(raw_frame(9, b"after close")), {OK: []}, by_me, auto_close=False),
        Case("7.1.4", "a text message after our close is not echoed",
             close_then(raw_frame(1, b"after close")), {OK: []}, by_me, auto_close=False),
        Case("7.1.5", "close in the middle of a fragmented message: nothing echoed", act5,
             {OK: []}, by_me, auto_close=False),
        Case("7.1.6", "4 big messages, close, ping (INFORMATIONAL: how much is echoed)", act6,
             {OK: [msg(big)] * 4}, by_me, informational=True, auto_close=False),
        Case("7.3.1", "close with an empty payload", lambda p: p.sendCloseFrame(), {OK: []},
             by_me, auto_close=False),
        Case("7.3.2", "close with a 1-byte payload -> 1002",
             lambda p: p.sendFrame(opcode=8, payload=b"\x2a"), {OK: []}, failed_with(1002)),
        Case("7.3.3", "close 1000 without a reason", lambda p: p.sendCloseFrame(code=1000),
             {OK: []}, by_me, auto_close=False),
        Case("7.3.4", "close 1000 with a reason",
             lambda p: p.sendCloseFrame(code=1000, reasonUtf8=b"Hello World!"), {OK: []}, by_me,
             auto_close=False),
        Case("7.3.5", "close 1000 with a 123-byte reason (125-byte payload)",
             lambda p: p.sendCloseFrame(code=1000, reasonUtf8=b"*" * 123), {OK: []}, by_me,
             auto_close=False),
        Case("7.3.6", "close 1000 with a 124-byte reason (126-byte payload) -> 1002",
             lambda p: p.sendCloseFrame(code=1000, reasonUtf8=b"*" * 124), {OK: []},
             Close(True, (1002,), False), auto_close=False),
        Case("7.5.1", "close with an invalid UTF-8 reason -> 1007",
             lambda p: p.sendCloseFrame(code=1000, reasonUtf8=b"\xce\xba\xe1\xbd\xb9\xcf\x83"
                                        b"\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64"),
             {OK: []}, Close(True, (1007,), False), auto_close=False),
    ]
    # Valid codes (RFC 6455 §7.4.1, IANA registry): the server echoes the code or answers 1000.
    valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
    for i, code in enumerate(valid, start=1):
        cases.append(Case("7.7.%d" % i, "close code %d is accepted" % code,
                          lambda p, c=code: p.sendCloseFrame(code=c), {OK: []},
                          Close(True, (code, 1000), True, allow_empty=True), auto_close=False))
    # 1012-1014 were registered after RFC 6455 (Autobahn does not test them); accepting them is
    # recommended, rejecting them is only reported.
    for i, code in enumerate([1012, 1013, 1014], start=len(valid) + 1):
        cases.append(Case("7.7.%d" % i, "close code %d (registered after RFC 6455)" % code,
                          lambda p, c=code: p.sendCloseFrame(code=c), {OK: []},
                          Close(True, (code, 1000), True, allow_empty=True), informational=True,
                          auto_close=False))
    invalid = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999]
    for i, code in enumerate(invalid, start=1):
        cases.append(Case("7.9.%d" % i, "close code %d is invalid -> 1002" % code,
                          lambda p, c=code: p.sendCloseFrame(code=c), {OK: []},
                          Close(True, (1002,), False), auto_close=False))
    for i, code in enumerate([5000, 65535], start=1):
        cases.append(Case("7.13.%d" % i, "close code %d (INFORMATIONAL; 1002 expected)" % code,
                          lambda p, c=code: p.sendCloseFrame(code=c), {OK: []},
                          Close(True, (1002,), False), informational=True, auto_close=False))


def section10(cases):
    payload = b"*" * 65536

    def act(p):
        p.autoFragmentSize = 1300  # the library splits the message into 1300-byte frames
        p.sendMessage(payload, isBinary=False)

    cases.append(Case("10.1.1", "65536-byte text message sent as 1300-byte fragments", act,
                      {OK: [msg(payload)]}, NORMAL))


def section_x(cases, max_message):
    def unmasked(p):
        p.send_raw(raw_frame(1, b"Hello, world!", masked=False))

    cases += [
        Case("X.1", "unmasked client frame -> 1002 (RFC 6455 §5.1)", unmasked, {OK: []},
             failed_with(1002)),
        # A 64-bit length with the top bit set is not allowed (§5.2); a huge legal length is
        # over any sane limit. Either way the server must not wait for (or allocate) the body.
        Case("X.5", "64-bit length with the most significant bit set -> 1002/1009",
             lambda p: p.send_raw(raw_frame(2, b"", length=1 << 63)), {OK: []},
             Close(False, (1002, 1009), False)),
        Case("X.6", "binary frame announcing 2^62 bytes -> 1009",
             lambda p: p.send_raw(raw_frame(2, b"", length=1 << 62)), {OK: []},
             failed_with(1009)),
    ]
    # Many frames for one message: the server must not spend a fixed cost per frame that adds
    # up (memory or time) beyond the message's size.
    tiny = b"abcdefghij" * 1000

    def one_byte_frames(p):
        for i in range(len(tiny)):
            p.sendFrame(opcode=1 if i == 0 else 0, fin=i == len(tiny) - 1,
                        payload=tiny[i:i + 1])

    def empty_frames(p):
        p.sendFrame(opcode=2, fin=False, payload=b"start")
        for _ in range(20000):
            p.sendFrame(opcode=0, fin=False, payload=b"")
        p.sendFrame(opcode=0, fin=True, payload=b"end")

    cases += [
        Case("X.7", "text message of 10000 one-byte fragments", one_byte_frames,
             {OK: [msg(tiny)]}, NORMAL, timeout=CASE_TIMEOUT + 5),
        # A server may refuse so many fragments (npm ws closes with 1008): INFORMATIONAL unless
        # echoed; a crash or a hang still shows (the case times out, peer_run sees the death).
        Case("X.8", "binary message with 20000 empty fragments in the middle (INFORMATIONAL "
             "when refused)", empty_frames, {OK: [msg(b"startend", True)]}, NORMAL,
             informational=True, timeout=CASE_TIMEOUT + 5),
    ]
    if max_message is None:
        return
    # Binary, so that neither side spends time validating megabytes of UTF-8.
    exact = b"\x5a" * max_message
    half = max_message // 2 + 1

    def over_fragmented(p):
        p.sendFrame(opcode=2, fin=False, payload=b"\x5a" * half)
        p.sendFrame(opcode=0, fin=True, payload=b"\x5a" * half)

    big_timeout = CASE_TIMEOUT + max_message / (64 << 20)
    cases += [
        Case("X.2", "binary message of exactly the limit (%d bytes) is echoed" % max_message,
             lambda p: p.sendFrame(opcode=2, payload=exact), {OK: [msg(exact, True)]}, NORMAL,
             timeout=big_timeout),
        Case("X.3", "one frame of limit+1 bytes -> 1009",
             lambda p: p.sendFrame(opcode=2, payload=b"\x5a" * (max_message + 1)), {OK: []},
             failed_with(1009), timeout=big_timeout),
        Case("X.4", "2 fragments of %d bytes (over the limit together) -> 1009" % half,
             over_fragmented, {OK: []}, failed_with(1009), timeout=big_timeout),
    ]


def all_cases(max_message):
    cases = []
    for build in (section1, section2, section3, section4, section5, section6, section7,
                  section10):
        build(cases)
    section_x(cases, max_message)
    return cases


# ---------------------------------------------------------------------------------------------


async def run_case(case, url, host, port, deadline):
    loop = asyncio.get_event_loop()
    factory = WebSocketClientFactory(url, loop=loop)
    factory.protocol = DriverProtocol
    factory.case = case
    factory._batched_timer = ExactTimer(loop)
    factory.done = loop.create_future()
    factory.setProtocolOptions(
        failByDrop=False,  # on a server's violation, send a close frame, as a peer should
        openHandshakeTimeout=2,
        closeHandshakeTimeout=1,
        serverConnectionDropTimeout=1,
        autoFragmentSize=0,
        maxFramePayloadSize=0,
        maxMessagePayloadSize=0,
        utf8validateIncoming=True,
        applyMask=True,
        echoCloseCodeReason=False,
        perMessageCompressionOffers=[],
    )
    p = None
    try:
        _, p = await asyncio.wait_for(loop.create_connection(factory, host, port), timeout=2)
    except (OSError, asyncio.TimeoutError) as exc:
        return FAIL, "cannot connect: %r" % (exc,), 0.0
    t0 = time.monotonic()
    budget = max(0.1, min(case.timeout, deadline - t0))
    try:
        await asyncio.wait_for(asyncio.shield(p.done), timeout=budget)
    except asyncio.TimeoutError:
        p.driver_error = None
        timed_out = True
        p.dropConnection(abort=True)
        try:
            await asyncio.wait_for(p.done, timeout=1)
        except asyncio.TimeoutError:
            pass
    else:
        timed_out = False
    verdict, observed = judge(case, p)
    if timed_out:  # a server that hangs fails even an INFORMATIONAL case
        verdict = FAIL
        observed += "  <- case timed out after %.1f s" % budget
    return verdict, observed, time.monotonic() - t0


async def run_all(args, cases):
    u = urllib.parse.urlparse(args.url)
    host, port = u.hostname, u.port or 80
    deadline = time.monotonic() + args.deadline
    sem = asyncio.Semaphore(args.jobs)
    results = {}

    async def one(case):
        async with sem:
            if time.monotonic() > deadline:
                results[case.cid] = (FAIL, "not run: the run's deadline passed", 0.0)
                return
            results[case.cid] = await run_case(case, args.url, host, port, deadline)

    await asyncio.gather(*(one(c) for c in cases))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="ws://HOST:PORT/PATH of an echo endpoint")
    ap.add_argument("--max-message", type=int, default=None,
                    help="the server's message size limit in bytes (adds the X.2-X.4 cases)")
    ap.add_argument("--strict", action="store_true", help="count NON-STRICT as FAIL")
    ap.add_argument("--strict-fail-fast", action="store_true",
                    help="count NON-STRICT as FAIL in the fail-fast UTF-8 cases (6.4.x)")
    ap.add_argument("--cases", default="", help="comma-separated case id prefixes to run")
    ap.add_argument("--jobs", type=int, default=4, help="cases run at once (default 4)")
    ap.add_argument("--deadline", type=float, default=55.0,
                    help="bound on the whole run in seconds (default 55)")
    ap.add_argument("--verbose", action="store_true", help="print the library's log")
    args = ap.parse_args()
    # The library logs each failed connection; the table says it all unless asked for more.
    txaio.start_logging(out=sys.stderr, level="debug" if args.verbose else "critical")

    cases = all_cases(args.max_message)
    if args.cases:
        prefixes = [c.strip() for c in args.cases.split(",") if c.strip()]
        cases = [c for c in cases if any(c.cid == x or c.cid.startswith(x + ".") for x in prefixes)]
        if not cases:
            sys.stderr.write("no case matches %r\n" % args.cases)
            return 2

    t0 = time.monotonic()
    results = asyncio.run(run_all(args, cases))
    elapsed = time.monotonic() - t0

    counts = {OK: 0, NON_STRICT: 0, INFO: 0, FAIL: 0}
    failed = []
    print("%-8s %-7s %-13s %s" % ("case", "ms", "verdict", "title / expected / observed"))
    for c in cases:
        verdict, observed, dt = results[c.cid]
        counts[verdict] += 1
        bad = verdict == FAIL or (verdict == NON_STRICT and (
            args.strict or (args.strict_fail_fast and c.cid.startswith("6.4."))))
        if bad:
            failed.append(c.cid)
        print("%-8s %-7d %-13s %s" % (c.cid, dt * 1000, verdict + (" (FAIL)" if bad and verdict
                                                                    != FAIL else ""), c.title))
        print("%-8s %-7s %-13s   expected: %s" % ("", "", "", expected_text(c)))
        print("%-8s %-7s %-13s   observed: %s" % ("", "", "", observed))
    print("\n%d cases in %.1f s against %s: %d OK, %d NON-STRICT, %d INFORMATIONAL, %d FAIL%s" % (
        len(cases), elapsed, args.url, counts[OK], counts[NON_STRICT], counts[INFO], counts[FAIL],
        " (strict: NON-STRICT counts as FAIL)" if args.strict else
        " (NON-STRICT counts as FAIL in 6.4.x)" if args.strict_fail_fast else ""))
    if failed:
        print("FAILED: " + " ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
