"""The sandbox server process: moto's IAM/STS with the kit's patches, on loopback only.

Run by ``handson_helpers.sandbox.start``; not meant to be started by hand. It prints its port
on stdout once it listens (the parent waits for that line), then serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import faulthandler
import functools
import http.client
import io
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit
from xml.sax.saxutils import escape

from moto.core.exceptions import ServiceException
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from .. import rules
from ..code_time import HEADER as CODE_TIME_HEADER
from ..room import CREDENTIALS_PATH
from . import access, auth, faithful, otp, peers, room, watch
from .control import CONTROL_SERVICE, proof
from .paths import LOOPBACK, credentials, store_path
from .store import CommitFailed, GroupCommit, MotoChanged, Store, restore, snapshot

READ_PREFIXES = ("Get", "List")
XMLNS = {"iam": "https://iam.amazonaws.com/doc/2010-05-08/", "sts": "https://sts.amazonaws.com/doc/2011-06-15/"}
DIE_AFTER_SAVE = "DieAfterSave"  # a fault that kills the server between saving and answering
MAX_BODY = 64 * 1024  # IAM's largest document (a policy) is 10 KB
FORM = "application/x-www-form-urlencoded"
HOST_RE = re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):[0-9]{1,5}", re.ASCII)
NONCE_RE = re.compile(r"[0-9a-f]{32}", re.ASCII)
BODY_READ = "handson.body_read"  # environ key: the request's whole body was read
# The watchdog: a request holds the lock for milliseconds; one that holds it this long has hung the
# sandbox for everyone, and the process exits (status 1, with every thread's stack on stderr) so
# that whoever runs it (the hub, the kit's ensure_running) starts it again.
HOLD_LIMIT_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0  # after SIGTERM: a clean stop within this, else exit all the same
# Connections: each has a thread. In all, and in a room per client (a local Unix user, else an
# address; HANDSON_ROOM_CONNECTIONS_PER_CLIENT, for a benchmark whose learners share one uid).
MAX_CONNECTIONS = 512
MAX_CONNECTIONS_PER_CLIENT = 32
IDLE_SECONDS = 30.0  # a connection with no request in it this long is closed
REQUEST_SECONDS = 10.0  # a request must arrive whole (headers and body) this long after its first byte


def _iam_backend():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    return iam_backends[DEFAULT_ACCOUNT_ID]["aws"]


def _error_xml(code: str, message: str, service: str = "iam") -> bytes:
    return (
        f'<ErrorResponse xmlns="{XMLNS.get(service, XMLNS["iam"])}">'
        f"<Error><Type>Sender</Type><Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


def _error_parts(status: int, code: str, message: str, service: str = "iam") -> tuple[str, list, bytes]:
    reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}.get(status, "Error")
    return f"{status} {reason}", [("Content-Type", "text/xml")], _error_xml(code, message, service)


def _params(environ, body: bytes) -> dict[str, str]:
    """The query API's parameters: a form body, or a query string, never both, each name once."""
    query = environ.get("QUERY_STRING", "")
    if body and environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != FORM:
        raise ValueError(f"The sandbox takes the query protocol only (Content-Type: {FORM}).")
    if body and query:
        raise ValueError("Parameters must be sent in the body or in the query string, not both.")
    try:
        pairs = parse_qsl((body.decode("utf-8") if body else query), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise ValueError("The request body is not UTF-8.") from None
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise ValueError(f"Parameter {key} is given more than once.")
        params[key] = value
    return params


class SandboxApp:
    """WSGI wrapper: checks signatures and parameters as AWS does, serialises requests, answers
    once the state is saved, injects faults."""

    def __init__(self, apps: dict, store: Store, key_id: str, secret: str, notice: str = ""):
        self.apps = apps  # moto's Flask app per service
        self.store = store
        self.secrets = {key_id: secret}
        self.notice = notice
        self.port = 0  # set once the server listens
        self.lock = threading.Lock()
        self.commits = GroupCommit(store)
        self.faults: list[dict] = []
        self.started_at = time.time()
        self.hub: room.Hub | None = None  # set when serving a JupyterHub room
        self.stopping = False  # SIGTERM came: the stop deadline replaces the watchdog
        self.host = ""  # the room's address as kernels reach it (host:port), when not loopback
        self.watch = watch.Watch()  # the room's live view (only a room records)

    @contextlib.contextmanager
    def held(self):
        """The lock that serialises moto, watched: held beyond HOLD_LIMIT_SECONDS, the process
        exits. faulthandler's timer is a C thread, so it fires even while a hung request keeps
        the GIL (as a backtracking regular expression does)."""
        with self.lock:
            if not self.stopping:
                faulthandler.dump_traceback_later(HOLD_LIMIT_SECONDS, exit=True)
            try:
                yield
            finally:
                if not self.stopping:
                    faulthandler.cancel_dump_traceback_later()

    def stop(self, server) -> None:
        """SIGTERM: stop serving, and exit within STOP_GRACE_SECONDS even if a request hangs."""
        self.stopping = True
        faulthandler.dump_traceback_later(STOP_GRACE_SECONDS, exit=True)
        threading.Thread(target=server.shutdown).start()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        host = environ.get("HTTP_HOST", "")
        if not (self.host and host == self.host) and (not HOST_RE.fullmatch(host) or host.rsplit(":", 1)[-1] != str(self.port)):
            # not addressed to this server: a request captured on a stale port and replayed here,
            # or a header no client of ours sends
            return self._error(start_response, 400, "InvalidHost", "The request was not addressed to this endpoint.")
        if path == "/_handson/hello":
            return self._hello(environ, start_response)
        if path == CREDENTIALS_PATH and self.hub is not None:
            return self._room_credentials(environ, start_response)
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self._error(start_response, 400, "MalformedInput", "Invalid Content-Length.")
        if size > MAX_BODY or size < 0:  # checked before reading: nobody can make the sandbox hold a huge body
            return self._error(start_response, 413, "RequestEntityTooLarge", f"Request bodies are limited to {MAX_BODY} bytes.")
        if environ.get("HTTP_CONTENT_ENCODING", "identity").lower() not in ("", "identity"):
            return self._error(start_response, 400, "MalformedInput", "Content-Encoding is not supported.")
        body = environ["wsgi.input"].read(size) if size else b""
        if len(body) == size and "HTTP_TRANSFER_ENCODING" not in environ:
            environ[BODY_READ] = True  # the connection may serve another request (Handler)
        try:
            caller = auth.verify(environ, body, self.caller_secret, time.time(), self.started_at)
        except auth.Denied as denied:
            return self._error(start_response, denied.status, denied.code, denied.message)
        if path.startswith("/_handson/"):
            if caller.service != CONTROL_SERVICE or caller.key_id not in self.secrets:  # not an IAM user's key
                return self._error(start_response, 403, "AccessDenied", "Control endpoints take requests signed for the sandbox.")
            return self._control(environ, body, start_response)
        service = caller.service
        if service not in XMLNS:
            return self._error(start_response, 400, "InvalidAction", f"The sandbox serves IAM and STS only, not {service}.")
        try:
            params = _params(environ, body)
        except ValueError as exc:
            return self._error(start_response, 400, "MalformedInput", str(exc), service)
        action = params.get("Action", "")
        if action not in rules.operations(service):
            return self._error(start_response, 400, "InvalidAction", f"Could not find operation {action} for version {params.get('Version', '')}", service)
        violations = rules.validate(service, action, params)
        if violations:
            if self.hub is not None:
                with self.held():
                    who = watch.participant(caller.key_id)
                if who:
                    self.watch.record(who, action, "400", b"<Code>ValidationError</Code>", None)
            return self._error(start_response, 400, "ValidationError", rules.summary(violations), service)
        fault = None
        with self.held():  # moto's backends are not thread-safe
            otp.take_refusal()  # none left over from an earlier request on this thread
            who = watch.participant(caller.key_id) if self.hub is not None else None
            try:  # IAM users and their sessions: evaluated against their policies (access.py)
                own = access.answer(caller.key_id, service, action, params, caller.region)
            except auth.Denied as denied:  # decided on the policies it saw: waits for them like a read
                status, headers, payload = _error_parts(denied.status, denied.code, denied.message, service)
                ticket = self.commits.seen()
            except ServiceException as exc:  # IAM's own answer about what it read (e.g. a user just deleted)
                status, headers, payload = _error_parts(400, exc.code, exc.message, service)
                ticket = self.commits.seen()
            else:
                if own is not None:  # GetSessionToken: a new session
                    status, headers, payload, ticket = "200 OK", [("Content-Type", "text/xml")], own, self.commits.changed(snapshot(_iam_backend()))
                else:
                    # moto gets exactly the parameters that were checked (and a UserName AWS reads from the caller), in one form body
                    checked = urlencode(params).encode()
                    environ.update({"QUERY_STRING": "", "REQUEST_METHOD": "POST", "CONTENT_TYPE": FORM, "CONTENT_LENGTH": str(len(checked)), "wsgi.input": io.BytesIO(checked)})
                    fault = self._take_fault(action)
                    if fault and fault["code"] != DIE_AFTER_SAVE:
                        return self._error(start_response, fault["status"], fault["code"], fault["message"], service)
                    status, headers, payload = self._inner(service, action, environ)
                    changed = status.startswith("200") and not action.startswith(READ_PREFIXES)
                    ticket = self.commits.changed(snapshot(_iam_backend())) if changed else self.commits.seen()
        try:  # answered only once the state it changed or saw is on disk (store.GroupCommit)
            self.commits.wait(ticket)
        except CommitFailed:
            return self._error(start_response, 500, "ServiceFailure", "The sandbox could not save its state; the change may not have been kept.", service)
        if fault:  # a crash after the change was saved, before the answer left
            os._exit(70)
        refusal = otp.take_refusal()  # refused codes of the device at another time (otp.py)
        if refusal and not status.startswith("200"):
            headers = [*headers, (CODE_TIME_HEADER, refusal)]
        if who:
            self.watch.record(who, action, status, payload, refusal)
        start_response(status, headers)
        return [payload]

    def _inner(self, service: str, action: str, environ) -> tuple[str, list, bytes]:
        """moto's answer, from the service's own app: the service is known from the signature,
        and moto's dispatcher would look it up again by listing its package folder on every request."""
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        try:
            chunks = self.apps[service](environ, capture)
            try:
                payload = b"".join(chunks)
            finally:
                getattr(chunks, "close", lambda: None)()
        except NotImplementedError:  # an action moto lacks (e.g. GetMFADevice): say so, never a 500
            return _error_parts(400, "InvalidAction", f"The sandbox does not implement {action}.", service)
        except Exception as exc:  # noqa: BLE001 - moto tripping over input it does not expect (e.g. an odd SAML assertion)
            print(f"sandbox: {action} raised {type(exc).__name__}: {exc}", file=sys.stderr)
            return _error_parts(400, "InvalidInput", f"The sandbox could not process this {action} request.", service)
        return captured["status"], captured["headers"], payload

    def caller_secret(self, key_id: str, token: str | None) -> str | None:
        """The secret a request must be signed with: the administrator's, an IAM user's access
        key's or a session's (access.py); None for a key the sandbox does not know."""
        if key_id in self.secrets:
            return None if token else self.secrets[key_id]
        return access.secret_for(key_id, token)

    @staticmethod
    def _error(start_response, status: int, code: str, message: str, service: str = "iam"):
        line, headers, payload = _error_parts(status, code, message, service)
        start_response(line, headers)
        return [payload]

    def _hello(self, environ, start_response):
        """Prove knowledge of the secret for a client's nonce, without revealing it."""
        nonce = (parse_qs(environ.get("QUERY_STRING", "")).get("nonce") or [""])[0]
        if not NONCE_RE.fullmatch(nonce):
            start_response("400 Bad Request", [("Content-Type", "application/json")])
            return [b'{"error": "nonce required"}']
        secret = next(iter(self.secrets.values()))
        result = {"pid": os.getpid(), "port": self.port, "proof": proof(secret, nonce, self.port, os.getpid())}
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(result).encode()]

    def _room_credentials(self, environ, start_response):
        """A kernel's keys, for the hub user whose token it sent: the administrator's for a hub admin."""
        try:
            if environ.get("REQUEST_METHOD") != "GET":
                raise room.NotAllowed(405, "GET only.")
            assert self.hub is not None
            caller = self.hub.identify(environ.get("HTTP_AUTHORIZATION", ""))
            if caller.admin:
                key_id, secret = next(iter(self.secrets.items()))
                result = {"AccessKeyId": key_id, "SecretAccessKey": secret, "Role": "instructor", "Participant": caller.name}
            else:
                with self.held():
                    try:
                        result = room.issue(caller.name, caller.since)
                    except ServiceException as exc:  # e.g. a name IAM holds in another case
                        raise room.NotAllowed(409, f"The room could not make {caller.name}'s user: {exc.message}") from None
                    ticket = self.commits.changed(snapshot(_iam_backend()))
                try:  # the key works after a restart before anyone is told it
                    self.commits.wait(ticket)
                except CommitFailed:
                    raise room.NotAllowed(503, "The room could not save its state; try again in a moment.") from None
        except room.NotAllowed as refused:
            start_response(f"{refused.status} Refused", [("Content-Type", "application/json")])
            return [json.dumps({"error": refused.message}).encode()]
        start_response("200 OK", [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
        return [json.dumps(result).encode()]

    def _take_fault(self, action: str) -> dict | None:
        for fault in self.faults:
            if fault["action"] in (action, "*") and fault["count"] > 0:
                fault["count"] -= 1
                return fault
        return None

    def _control(self, environ, body: bytes, start_response):
        path = environ["PATH_INFO"]
        method = environ["REQUEST_METHOD"]
        with self.held():
            if path == "/_handson/info" and method == "GET":
                result = self._info()
            elif path == "/_handson/watch" and method == "GET":
                result = {"participants": self.watch.view()}
            elif path == "/_handson/reset" and method == "POST":
                from moto.moto_api._internal.models import moto_api_backend

                moto_api_backend.reset()
                self.faults.clear()
                self.commits.clear()
                result = {"reset": True}
            elif path == "/_handson/faults" and method == "POST":
                try:
                    fault = json.loads(body or b"{}")
                    fault = {
                        "action": str(fault["action"]),
                        "code": str(fault["code"]),
                        "status": int(fault.get("status", 400)),
                        "message": str(fault.get("message", fault["code"])),
                        "count": int(fault.get("count", 1)),
                    }
                except (ValueError, KeyError, TypeError, AttributeError):
                    start_response("400 Bad Request", [("Content-Type", "application/json")])
                    return [b'{"error": "a fault needs action and code"}']
                self.faults.append(fault)
                result = {"faults": len(self.faults)}
            else:
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [b'{"error": "not found"}']
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(result, ensure_ascii=False).encode()]

    def _info(self) -> dict:
        backend = _iam_backend()
        return {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "store": str(self.store.path),
            "notice": self.notice,
            "users": sorted(f"{u.path}{u.name}" for u in backend.users.values()),
            "devices": sorted(
                ({"serial": d.serial_number, "user": d.user.name if d.user else None} for d in backend.virtual_mfa_devices.values()),
                key=lambda d: d["serial"],
            ),
        }


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
        body = _error_xml("Throttling", "Too many connections from this client; close some and try again.")
        head = f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/xml\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n"
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
    disable_nagle_algorithm = True  # headers and body are two writes: without it, the body waits for the client's delayed ACK

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
        if keyword.lower() == "connection" and value.lower() == "close" and self.environ and self.environ.get(BODY_READ):
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


def _method_names_once_per_class() -> None:
    """moto finds a request's handler by listing its response class's methods with
    inspect.getmembers on every request (7% of a call's time); the classes no longer change once
    the patches are applied, so the list is kept per class."""
    from moto.core import responses, utils

    responses.method_names_from_class = functools.cache(utils.method_names_from_class)


def build_app(home: Path):
    from moto.server import create_backend_app

    key_id, secret = credentials(home)
    faithful.apply(key_id)
    access.apply(key_id)
    _method_names_once_per_class()
    store = Store(store_path(home))
    notice = ""
    data = store.load()
    if data:
        try:
            skipped = restore(_iam_backend(), data, store.path)
            if skipped:
                aside = store.set_aside(keep=True)
                notice = f"保存されていた状態のうち {', '.join(skipped)} を読み込めませんでした。元のファイルは {aside} に残してあります。"
        except MotoChanged:
            raise  # the file is fine, the moto is not: stop, and leave the file where it is
        except Exception as exc:  # any shape we did not write: keep the file, start empty
            from moto.moto_api._internal.models import moto_api_backend

            moto_api_backend.reset()
            aside = store.set_aside()
            notice = f"保存されていた状態 {store.path} を読み込めなかったため {aside} に移し、空の状態で起動しました。"
            print(f"sandbox: {store.path} has an unexpected shape ({type(exc).__name__}); moved to {aside}, starting empty", file=sys.stderr)
    notice = notice or store.notice
    return SandboxApp({"iam": create_backend_app("iam"), "sts": create_backend_app("sts")}, store, key_id, secret, notice)


def _listen(app: SandboxApp, host: str, port: int, stop_on=(signal.SIGTERM,), per_client: int = MAX_CONNECTIONS):
    """A threaded server for ``app`` that stops cleanly on the given signals."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = Server(host, port, app, handler=Handler, per_client=per_client)
    app.port = server.server_port
    for signum in stop_on:
        signal.signal(signum, lambda *_: app.stop(server))
    return server


def _listen_preferring(app: SandboxApp, host: str, port: int):
    """The home's own port when it is free, else one the system picks, bound where it is tried:
    asking whether a port is free and binding it later races whoever binds it in between."""
    if port:
        try:
            return _listen(app, host, port)
        except SystemExit:  # werkzeug exits (status 1) instead of raising when the port is taken
            pass
    return _listen(app, host, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="handson_helpers.sandbox.server")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK:
        print(f"refusing to listen on {args.host}: the sandbox serves loopback only", file=sys.stderr)
        return 2
    try:
        app = build_app(args.home)
    except MotoChanged as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        print(json.dumps({"error": exc.notice}), flush=True)  # control.start shows it to the learner
        return 1
    server = _listen_preferring(app, args.host, args.port)
    print(json.dumps({"port": server.server_port, "notice": app.notice}), flush=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    server.serve_forever()
    return 0


def serve_room(home: Path) -> int:
    """The room sandbox as a JupyterHub managed service: it listens where the hub says
    (JUPYTERHUB_SERVICE_URL) and answers credentials only for tokens the hub vouches for."""
    where = urlsplit(os.environ["JUPYTERHUB_SERVICE_URL"])
    if not where.hostname or not where.port:
        print("JUPYTERHUB_SERVICE_URL needs a host and a port", file=sys.stderr)
        return 2
    # On Kubernetes the URL names the hub's Service ("hub"), which the pod cannot bind: HANDSON_ROOM_BIND=0.0.0.0
    bind = os.environ.get("HANDSON_ROOM_BIND") or where.hostname
    app = build_app(home)
    app.hub = room.Hub.from_environment()
    room.install()
    per_client = int(os.environ.get("HANDSON_ROOM_CONNECTIONS_PER_CLIENT") or MAX_CONNECTIONS_PER_CLIENT)
    server = _listen(app, bind, where.port, (signal.SIGTERM, signal.SIGINT), per_client)  # the hub stops its services with these
    app.host = where.netloc
    print(f"room sandbox: serving {where.netloc} for {app.hub.api_url}", file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
