#!/usr/bin/env python3
"""peer_run.py: runs a client against a server started on a free port, for ctest.

  peer_run.py SERVER_ARG... -- CLIENT_ARG...

Every "{port}" in either command is replaced by a free TCP port on 127.0.0.1. The server is
started first (stdin is a pipe held open, so a server that exits when stdin closes cannot
outlive this script), we wait until the port accepts connections (10 s at most), run the client
(bounded by --timeout, default 120 s), then stop the server with SIGTERM. The exit status is the
client's, or 1 when the server failed to start, died while the client ran, or did not exit
cleanly (status 0) on SIGTERM within 10 s: a server that crashes on bad input fails the test even
when the client saw nothing wrong. The server's stderr is shown when something failed.

Standard library only.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def main(argv):
    timeout = 120.0
    if argv[:1] == ["--timeout"]:
        timeout, argv = float(argv[1]), argv[2:]
    if "--" not in argv:
        sys.stderr.write(__doc__)
        return 2
    cut = argv.index("--")
    server_cmd, client_cmd = argv[:cut], argv[cut + 1:]
    if not server_cmd or not client_cmd:
        sys.stderr.write(__doc__)
        return 2

    for attempt in range(3):
        port = str(free_port())
        srv_args = [a.replace("{port}", port) for a in server_cmd]
        cli_args = [a.replace("{port}", port) for a in client_cmd]
        log = tempfile.TemporaryFile()
        srv = subprocess.Popen(srv_args, stdin=subprocess.PIPE, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and srv.poll() is None and not listening(int(port)):
            time.sleep(0.05)
        if srv.poll() is None and listening(int(port)):
            break
        srv.kill()
        srv.wait()
    else:
        log.seek(0)
        sys.stderr.write("peer_run: the server did not start: %s\n%s\n" % (
            " ".join(srv_args), log.read().decode(errors="replace")[-4000:]))
        return 1

    def server_log():
        log.seek(0)
        return log.read().decode(errors="replace")[-6000:]

    status = 0
    try:
        rc = subprocess.run(cli_args, timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        sys.stderr.write("peer_run: the client did not finish within %.0f s\n" % timeout)
        rc = 1
    if rc != 0:
        status = rc
    if srv.poll() is not None:
        sys.stderr.write("peer_run: the server died during the test (status %s)\n" % srv.returncode)
        status = status or 1
    else:
        srv.send_signal(signal.SIGTERM)
        try:
            src = srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
            src = "none (killed after 10 s)"
        if src != 0:
            sys.stderr.write("peer_run: the server's exit status on SIGTERM: %s\n" % src)
            status = status or 1
    if srv.stdin:
        try:
            srv.stdin.close()
        except OSError:
            pass
    if status != 0:
        sys.stderr.write("---- server output (%s) ----\n%s\n" % (" ".join(srv_args), server_log()))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
