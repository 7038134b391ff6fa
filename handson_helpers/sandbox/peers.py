"""Who is at the other end of a connection to the sandbox: the Unix user owning the peer's socket.

On loopback every client is 127.0.0.1, so the room counts connections per local user (a
participant's kernel and terminal run as their Unix user). The kernel's sock_diag netlink answers
for one socket by its address pair without reading the whole socket table, as /proc/net/tcp
would on every accept (slow exactly when a flood of connections fills it); /proc is the fallback.
"""

from __future__ import annotations

import socket
import struct

from ..room import socket_uid

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NO_COOKIE = 0xFFFFFFFF
HEADER = struct.Struct("=LHHLL")  # nlmsghdr
UID_OFFSET = HEADER.size + 4 + 48 + 12  # inet_diag_msg: family, state, timer, retrans; id; expires, rqueue, wqueue; uid


def _packed(family: int, host: str) -> bytes:
    return socket.inet_pton(family, host).ljust(16, b"\0")


def _diag_uid(family: int, local: tuple, peer: tuple) -> int | None:
    """The uid of the peer's socket: the one whose own address is ``peer`` and whose remote is ``local``."""
    request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, NO_COOKIE)
    request += struct.pack("!HH", peer[1], local[1]) + _packed(family, peer[0]) + _packed(family, local[0])
    request += struct.pack("=III", 0, NO_COOKIE, NO_COOKIE)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as diag:
        diag.settimeout(1.0)
        diag.send(HEADER.pack(HEADER.size + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0) + request)
        answer = diag.recv(65536)
    kind = HEADER.unpack_from(answer)[1]
    if kind != SOCK_DIAG_BY_FAMILY or len(answer) < UID_OFFSET + 4:
        return None  # an error message: no such socket (the client has gone)
    return struct.unpack_from("=I", answer, UID_OFFSET)[0]


def client_of(conn: socket.socket) -> tuple[str, object]:
    """A key for the client of ``conn``: ("uid", n) for a socket of this machine, else ("address", ip)."""
    try:
        local, peer = conn.getsockname(), conn.getpeername()
    except OSError:
        return ("address", None)
    uid = None
    try:
        uid = _diag_uid(conn.family, local, peer)
    except OSError:  # no netlink here (another OS, a sandboxed container)
        uid = socket_uid(peer[0], peer[1], (local[0], local[1]))
    return ("uid", uid) if uid is not None else ("address", peer[0])
