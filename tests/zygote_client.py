"""The fork servers' client (see zygote.py), which stands where the real program stands: it runs
some 300 times in `make test`, so it imports only what it needs."""

import json
import os
import signal
import socket
import struct
import sys

CLIENT = os.path.abspath(__file__)
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def client(path: str, kind: str, argv: list[str]) -> None:
    """Run ``kind`` (aws or kernel) with ``argv`` in a child of the server at ``path``; exit as it exits."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    conn.connect(path)
    for signum in FORWARDED:
        signal.signal(signum, lambda signum, _frame: conn.send(bytes([signum])))
    umask = os.umask(0)
    os.umask(umask)
    request = {"kind": kind, "argv": [sys.argv[0], *argv], "env": dict(os.environ), "cwd": os.getcwd(), "umask": umask}
    socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
    answer = b""
    while len(answer) < 4:
        chunk = conn.recv(4)
        if not chunk:
            os._exit(70)  # the server went away
        answer += chunk
    (code,) = struct.unpack("!i", answer)
    if code < 0:  # killed by a signal: so is the stand-in (as a shell reports it, if that signal cannot be sent back)
        if -code not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        code = 128 - code
    os._exit(code)


if __name__ == "__main__":
    client(sys.argv[1], sys.argv[2], sys.argv[3:])
