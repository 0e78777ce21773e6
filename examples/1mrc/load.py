#!/usr/bin/env python3
"""The 1MRC load generator and checker (standard library only, any python3 >= 3.8).

    python3 examples/1mrc/load.py --port 8080 -n 1000000 [-c 64] [--pipeline 1]
                                  [--users 10000] [--workers 2] [--json]

Sends exactly N `POST /event` requests to a freshly started examples/1mrc/app.py over C
keep-alive connections (each with up to PIPELINE requests in flight, RFC 9112 §9.3.2), checks
that every answer is 200, then reads `GET /stats` and compares it with the totals it knows it
sent. Event i carries userId "user-(i mod USERS)" and value ((7 i) mod 1000) / 2: multiples of
0.5 far below 2**52, so every partial sum is an exact float in any order and the expected sum
is computed exactly with integers. Checked: totalRequests == N, uniqueUsers == min(N, USERS),
sum and avg equal exactly, the per-worker counts add up to N and, with --workers K, each of the
server's workers 0..K-1 took requests.

Prints a summary (or one JSON object with --json) and exits 0 only when everything matched.
One thread and `selectors`: the client is the same whatever server it measures; it sends to the
host given only (127.0.0.1 by default).
"""

from __future__ import annotations

import argparse
import http.client
import json
import selectors
import socket
import sys
import time
from typing import Any, Dict, List, Optional

# A server that answers nothing for this long is stuck: the run fails instead of hanging.
STALL_S = 20.0
# Largest response head accepted: /event answers carry a few short headers.
MAX_HEAD = 16384


def event_value_halves(i: int) -> int:
    """Event i's value, in halves (value = halves / 2)."""
    return (7 * i) % 1000


def event_body(i: int, users: int) -> bytes:
    h = event_value_halves(i)
    value = str(h // 2) if h % 2 == 0 else "%d.5" % (h // 2)
    return b'{"userId":"user-%d","value":%s}' % (i % users, value.encode())


def expected_totals(n: int, users: int) -> Dict[str, Any]:
    # Sum of (7 i mod 1000) over i < n: whole periods of 1000 (7 is coprime with 1000, so each
    # period holds every residue once) plus the rest, in integers, then halved exactly.
    periods, rest = divmod(n, 1000)
    halves = periods * (999 * 1000 // 2) + sum(event_value_halves(i) for i in range(rest))
    total = halves / 2  # exact: halves < 2**53
    return {"totalRequests": n, "uniqueUsers": min(n, users), "sum": total, "avg": total / n if n else 0.0}


class Conn:
    __slots__ = ("sock", "out", "inbuf", "inflight")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.out = bytearray()
        self.inbuf = bytearray()
        self.inflight = 0


def parse_responses(c: Conn, statuses: Dict[int, int], bad: List[bytes]) -> int:
    """Takes every complete response off c.inbuf; returns how many."""
    done = 0
    buf = c.inbuf
    pos = 0
    while True:
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            if len(buf) - pos > MAX_HEAD:
                raise RuntimeError("response head longer than %d bytes" % MAX_HEAD)
            break
        head = bytes(buf[pos:end]).lower()
        try:
            status = int(head[9:12])
        except ValueError:
            raise RuntimeError("bad status line: %r" % head[:40]) from None
        k = head.find(b"\r\ncontent-length:")
        if k < 0:
            raise RuntimeError("response without Content-Length: %r" % head[:200])
        eol = head.find(b"\r\n", k + 2)
        length = int(head[k + 17:eol if eol >= 0 else len(head)])
        if len(buf) < end + 4 + length:
            break
        statuses[status] = statuses.get(status, 0) + 1
        if status != 200 and len(bad) < 5:
            bad.append(bytes(buf[end + 4:end + 4 + length]))
        if b"\r\nconnection: close" in head:
            raise RuntimeError("the server closed a keep-alive connection (status %d)" % status)
        pos = end + 4 + length
        done += 1
    if pos:
        del buf[:pos]
    return done


def send_events(host: str, port: int, n: int, conns: int, pipeline: int, users: int) -> Dict[str, Any]:
    head = ("POST /event HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
            "Content-Length: " % (host, port)).encode()
    sel = selectors.DefaultSelector()
    all_conns: List[Conn] = []
    for _ in range(min(conns, max(n, 1))):
        s = socket.create_connection((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        c = Conn(s)
        all_conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)
    statuses: Dict[int, int] = {}
    bad: List[bytes] = []
    next_i = 0
    answered = 0

    def fill(c: Conn) -> None:
        nonlocal next_i
        while c.inflight < pipeline and next_i < n:
            body = event_body(next_i, users)
            c.out += head + b"%d\r\n\r\n" % len(body) + body
            c.inflight += 1
            next_i += 1

    def flush(c: Conn) -> None:
        if c.out:
            try:
                sent = c.sock.send(c.out)
            except BlockingIOError:
                sent = 0
            del c.out[:sent]
        sel.modify(c.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0), c)

    start = time.monotonic()
    for c in all_conns:
        fill(c)
        flush(c)
    last_progress = start
    try:
        while answered < n:
            events = sel.select(1.0)
            now = time.monotonic()
            if not events and now - last_progress > STALL_S:
                raise RuntimeError("no answer for %.0f s (%d of %d answered)" % (STALL_S, answered, n))
            for key, mask in events:
                c = key.data
                if mask & selectors.EVENT_READ:
                    data = c.sock.recv(262144)
                    if not data:
                        raise RuntimeError("the server closed a connection (%d of %d answered)" % (answered, n))
                    c.inbuf += data
                    got = parse_responses(c, statuses, bad)
                    if got:
                        c.inflight -= got
                        answered += got
                        last_progress = now
                        fill(c)
                flush(c)
    finally:
        for c in all_conns:
            sel.unregister(c.sock)
            c.sock.close()
        sel.close()
    seconds = time.monotonic() - start
    return {"answered": answered, "seconds": seconds, "rps": answered / seconds if seconds > 0 else 0.0,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "bad_bodies": [b.decode("utf-8", "replace")[:300] for b in bad]}


def get_stats(host: str, port: int) -> Dict[str, Any]:
    c = http.client.HTTPConnection(host, port, timeout=30)
    try:
        c.request("GET", "/stats")
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError("GET /stats: %d %r" % (r.status, body[:200]))
        return json.loads(body)
    finally:
        c.close()


def check(stats: Dict[str, Any], want: Dict[str, Any], n: int, workers: int) -> List[str]:
    problems = []
    for k, v in want.items():
        got = stats.get(k)
        # Exact: type and value (an int total is not 20000.0, a float sum must be the same float).
        if type(got) is not type(v) and not (isinstance(v, float) and type(got) is int and got == v):
            problems.append("%s: got %r (%s), want %r" % (k, got, type(got).__name__, v))
        elif got != v:
            problems.append("%s: got %r, want %r" % (k, got, v))
    per = stats.get("workers")
    if not isinstance(per, dict):
        problems.append("no per-worker counts in /stats")
    else:
        if sum(per.values()) != n:
            problems.append("per-worker counts add up to %d, not %d: %r" % (sum(per.values()), n, per))
        idle = [str(w) for w in range(workers) if not per.get(str(w))]
        if idle:
            problems.append("workers that took no request: %s (counts %r)" % (", ".join(idle), per))
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", type=int, default=1_000_000, help="events to send (default 1,000,000)")
    ap.add_argument("-c", "--conns", type=int, default=64, help="keep-alive connections (64)")
    ap.add_argument("--pipeline", type=int, default=1, help="requests in flight per connection (1)")
    ap.add_argument("--users", type=int, default=10_000, help="distinct userIds (10,000)")
    ap.add_argument("--workers", type=int, default=0,
                    help="check that the server's workers 0..K-1 each took requests (FasterAPI)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    a = ap.parse_args(argv)
    if a.n < 1 or a.conns < 1 or a.pipeline < 1 or a.users < 1:
        ap.error("-n, --conns, --pipeline and --users must be positive")
    before = get_stats(a.host, a.port)
    if before.get("totalRequests") != 0:
        print("load.py: the server has counted %r events already; start a fresh one"
              % before.get("totalRequests"), file=sys.stderr)
        return 2
    run = send_events(a.host, a.port, a.n, a.conns, a.pipeline, a.users)
    stats = get_stats(a.host, a.port)
    want = expected_totals(a.n, a.users)
    problems = check(stats, want, a.n, a.workers)
    if run["statuses"] != {"200": a.n}:
        problems.insert(0, "statuses %r, want {'200': %d}; bodies: %r" % (run["statuses"], a.n, run["bad_bodies"]))
    out = dict(run, n=a.n, conns=a.conns, pipeline=a.pipeline, users=a.users, expected=want, stats=stats,
               ok=not problems, problems=problems)
    if a.json:
        print(json.dumps(out))
    else:
        print("%d events in %.2f s: %.0f req/s; /stats %s" % (a.n, run["seconds"], run["rps"], json.dumps(stats)))
        print("exact totals, every worker served" if not problems else "MISMATCH:\n  " + "\n  ".join(problems))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
