"""The sandbox's connections: werkzeug's threaded server with bounds on clients, heads and time.

A client over its share of connections is refused at once, a request must arrive whole within
REQUEST_SECONDS of its first byte, an idle connection is closed after IDLE_SECONDS, and a
connection whose request body the app read to its end is kept open for the next request.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import io
import socket
import threading
import time
import uuid
from xml.sax.saxutils import escape

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from . import peers

XMLNS = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/", "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}
BODY_READ = "handson.body_read"  # environ key: the request's whole body was read
# Connections: each has a thread. In all, and in a room per client (a local Unix user, else an
# address; HANDSON_ROOM_CONNECTIONS_PER_CLIENT, for a benchmark whose learners share one uid).
MAX_CONNECTIONS = 512
MAX_CONNECTIONS_PER_CLIENT = 32
IDLE_SECONDS = 30.0  # a connection with no request in it this long is closed
REQUEST_SECONDS = 10.0  # a request must arrive whole (headers and body) this long after its first byte


def error_xml(code: str, message: str, service: str = "iam") -> bytes:
    """AWS's error document of the query API."""
    return (
        f'<ErrorResponse xmlns="{XMLNS.get(service, XMLNS["iam"])}">'
        f"<Error><Type>Sender</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


class _NothingMore(io.RawIOBase):
    """What werkzeug's after-answer drain reads from a connection kept open: nothing, since the
    bytes waiting there are the client's next request."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return 0


class _Deadline(io.RawIOBase):
    """A connection's bytes, for a client that must send a request within REQUEST_SECONDS of its
    first byte (a byte now and then keeps no thread forever) and may wait IDLE_SECONDS between."""

    def __init__(self, handler: Handler):
        self.handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        handler, conn = self.handler, self.handler.connection
        began = handler.request_began
        timeout = IDLE_SECONDS if began is None else began + REQUEST_SECONDS - time.monotonic()
        if timeout <= 0:
            raise TimeoutError("the request did not arrive in time")
        conn.settimeout(timeout)
        try:
            count = conn.recv_into(buffer)
        finally:
            conn.settimeout(IDLE_SECONDS)  # for writing the answer
        if count and began is None:
            handler.request_began = time.monotonic()
        return count


class Server(ThreadedWSGIServer):
    """werkzeug's threaded server, with a bound on connections per client and in all: a client
    over its share (here, a few hundred idle connections of one participant) is refused at once
    and the others are served as before."""

    def __init__(self, *args, per_client: int = MAX_CONNECTIONS, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.per_client_limit = per_client
        self.clients: dict[object, tuple] = {}  # connection -> its client (peers.client_of)
        self.per_client: collections.Counter = collections.Counter()
        self.counting = threading.Lock()

    def process_request(self, request, client_address):
        client = peers.client_of(request)
        with self.counting:
            full = len(self.clients) >= MAX_CONNECTIONS or self.per_client[client] >= self.per_client_limit
            if not full:
                self.clients[request] = client
                self.per_client[client] += 1
        if full:
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self._forget(request)
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def _forget(self, request) -> None:
        with self.counting:
            client = self.clients.pop(request, None)
            if client is not None:
                self.per_client[client] -= 1
                if not self.per_client[client]:
                    del self.per_client[client]

    def _refuse(self, request) -> None:
        body = error_xml("Throttling", "Too many connections from this client; close some and try again.")
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/xml\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            request.setblocking(False)
            request.send(head.encode() + body)
        self.shutdown_request(request)


# What one request's head may hold: http.server reads headers with http.client's limits (64 KB a
# line, 100 lines), so 32 connections of one participant could make the room hold 200 MB. AWS's
# SDKs send about 10 headers of well under 1 KB; a longer head gets 431 before anything reads it.
http.client._MAXLINE = 8192  # type: ignore[attr-defined]
http.client._MAXHEADERS = 40  # type: ignore[attr-defined]


class Handler(WSGIRequestHandler):
    """A connection that sends nothing for a while is closed, so idle sockets cannot pile up.

    werkzeug closes every connection after one answer because it cannot tell where a request
    body it did not read ends. The sandbox reads each body itself, so a connection whose request
    body was read to its end (``BODY_READ``) stays open for the client's next request: a new
    connection and server thread per call were a quarter of the sandbox's time per call.
    """

    timeout = IDLE_SECONDS
    disable_nagle_algorithm = (
        True  # headers and body are two writes: without it, the body waits for the client's delayed ACK
    )

    def setup(self) -> None:
        super().setup()
        self.request_began: float | None = None
        self.rfile.close()  # the socket's own file: closing it leaves the socket open
        self.rfile = io.BufferedReader(_Deadline(self))

    def handle_one_request(self):
        self.environ = None  # BODY_READ is about this request only, not the previous one
        self.request_began = None
        super().handle_one_request()

    def run_wsgi(self):
        connection = self.rfile
        try:
            super().run_wsgi()
        finally:
            self.rfile = connection

    def send_header(self, keyword, value):
        if (
            keyword.lower() == "connection"
            and value.lower() == "close"
            and self.environ
            and self.environ.get(BODY_READ)
        ):
            self.rfile = _NothingMore()  # type: ignore[assignment]  # read by werkzeug's drain only
            return  # http.server reads the next request line from this connection
        super().send_header(keyword, value)


def port_free(host: str, port: int) -> bool:
    """Whether the previous port can be taken again (werkzeug exits instead of raising)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
