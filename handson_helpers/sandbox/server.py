"""The sandbox server process: the emulator's IAM/STS with the kit's rules, on loopback only.

Run by ``handson_helpers.sandbox.start``; not meant to be started by hand. It prints its port
on stdout once it listens (the parent waits for that line), then serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import io
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from ..code_time import HEADER as CODE_TIME_HEADER
from ..room import CREDENTIALS_PATH, HELP_PATH
from ..settings import Settings
from . import auth, authorization, emulator, faithful, help_desk, otp, room, sessions, texts, watch
from .connections import MAX_CONNECTIONS, MAX_CONNECTIONS_PER_CLIENT, Handler, Server
from .control import CONTROL_SERVICE, proof
from .paths import LOOPBACK, credentials, store_path
from .query import FORM, Refused, body_of, checked, error_parts
from .store import CommitFailed, GroupCommit, MotoChanged, Store, restore, snapshot

READ_PREFIXES = ("Get", "List")
HOST_RE = re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):[0-9]{1,5}", re.ASCII)
NONCE_RE = re.compile(r"[0-9a-f]{32}", re.ASCII)
# The watchdog: a request holds the lock for milliseconds; one that holds it this long has hung the
# sandbox for everyone, and the process exits (status 1, with every thread's stack on stderr) so
# that whoever runs it (the hub, the kit's ensure_running) starts it again.
HOLD_LIMIT_SECONDS = 30.0
STOP_GRACE_SECONDS = 5.0  # after SIGTERM: a clean stop within this, else exit all the same
SAVE_FAILED = "The sandbox could not save its state; the change may not have been kept."


class SandboxApp:
    """WSGI app: checks signatures and parameters as AWS does, serialises requests, answers
    once the state is saved."""

    commit_class: type = GroupCommit  # how changes reach the state file (the browser's has no thread)

    def __init__(self, apps: dict, store: Store, key_id: str, secret: str, notice: str = ""):
        self.apps = apps  # the emulator's app per service
        self.store = store
        self.secrets = {key_id: secret}
        self.notice = notice
        self.port = 0  # set once the server listens
        self.lock = threading.Lock()
        self.commits = self.commit_class(store)
        self.started_at = time.time()
        self.hub: room.Hub | None = None  # set when serving a JupyterHub room
        self.stopping = False  # SIGTERM came: the stop deadline replaces the watchdog
        self.host = ""  # the room's address as kernels reach it (host:port), when not loopback
        self.watch = watch.Watch()  # the room's live view (only a room records)
        self.help: help_desk.HelpDesk | None = None  # 先生を呼ぶ, on a hub

    @contextlib.contextmanager
    def held(self):
        """The lock that serialises the emulator, watched: held beyond HOLD_LIMIT_SECONDS, the process
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
        try:
            self._addressed(environ.get("HTTP_HOST", ""))
            if path == "/_handson/hello":
                return self._hello(environ, start_response)
            if path == CREDENTIALS_PATH and self.hub is not None:
                return self._room_credentials(environ, start_response)
            if path == HELP_PATH and self.help is not None:
                return self._help(environ, start_response)
            body = body_of(environ)
            try:
                caller = auth.verify(environ, body, self.caller_secret, time.time(), self.started_at)
            except auth.Denied as denied:
                raise Refused(denied.status, denied.code, denied.message) from None
            if path.startswith("/_handson/"):
                if caller.service != CONTROL_SERVICE or caller.key_id not in self.secrets:  # not an IAM user's key
                    raise Refused(403, "AccessDenied", "Control endpoints take requests signed for the sandbox.")
                return self._control(environ, body, start_response)
            action, params = checked(caller.service, environ, body)
            status, headers, payload, ticket, call = self._serve(caller, action, params, environ)
            refusal = otp.take_refusal()  # refused codes of the device at another time (otp.py)
            if refusal and not status.startswith("200"):
                headers = [*headers, (CODE_TIME_HEADER, refusal)]
            if call:
                self.watch.record(call, status, payload, refusal)
            try:  # answered only once the state it changed or saw is on disk (store.GroupCommit)
                self.commits.wait(ticket)
            except CommitFailed:
                raise Refused(500, "ServiceFailure", SAVE_FAILED, caller.service) from None
        except Refused as refused:
            status, headers, payload = error_parts(refused.status, refused.code, refused.message, refused.service)
            if refused.code == "ValidationError" and self.hub is not None:
                self._watch_refused(caller, refused.action, status, payload)
        return self._answer(start_response, status, headers, payload)

    def _watch_refused(self, caller: auth.Caller, action: str, status: str, payload: bytes) -> None:
        """A room participant's call refused before it ran (ValidationError), for the live view."""
        with self.held():
            call = watch.identify(caller.key_id, action, {})
        if call:
            self.watch.record(call, status, payload, None)

    def _addressed(self, host: str) -> None:
        """Refused unless the request was addressed to this server: not one captured on a stale
        port and replayed here, nor a header no client of ours sends."""
        if self.host and host == self.host:
            return
        if not HOST_RE.fullmatch(host) or host.rsplit(":", 1)[-1] != str(self.port):
            raise Refused(400, "InvalidHost", "The request was not addressed to this endpoint.")

    def _serve(self, caller: auth.Caller, action: str, params: dict[str, str], environ):
        """Under the lock: the answer and the ticket of the state it changed or saw (_run), and in a
        room the call as the live view knows it, found before the call can change who is calling."""
        with self.held():  # the emulator's backends are not thread-safe
            otp.take_refusal()  # none left over from an earlier request on this thread
            call = watch.identify(caller.key_id, action, params) if self.hub is not None else None
            return (*self._run(caller, action, params, environ), call)

    def _run(self, caller: auth.Caller, action: str, params: dict[str, str], environ) -> tuple[str, list, bytes, int]:
        """The sandbox's answer (authorization.py) or the emulator's; called with the lock held."""
        service = caller.service
        try:  # IAM users and their sessions: evaluated against their policies
            own = authorization.answer(caller.key_id, service, action, params, caller.region)
        except auth.Denied as denied:  # decided on the policies it saw: waits for them like a read
            return (*error_parts(denied.status, denied.code, denied.message, service), self.commits.seen())
        except emulator.ServiceError as exc:  # IAM's own answer about what it read (e.g. a user just deleted)
            return (*error_parts(400, exc.code, exc.message, service), self.commits.seen())
        if own is not None:  # GetSessionToken: a new session
            return "200 OK", [("Content-Type", "text/xml")], own, self.commits.changed(snapshot(emulator.iam()))
        # the emulator gets exactly the parameters that were checked (and a UserName AWS reads
        # from the caller), in one form body
        form = urlencode(params).encode()
        environ.update(
            {
                "QUERY_STRING": "",
                "REQUEST_METHOD": "POST",
                "CONTENT_TYPE": FORM,
                "CONTENT_LENGTH": str(len(form)),
                "wsgi.input": io.BytesIO(form),
            }
        )
        status, headers, payload = self._emulate(service, action, environ)
        changed = status.startswith("200") and not action.startswith(READ_PREFIXES)
        ticket = self.commits.changed(snapshot(emulator.iam())) if changed else self.commits.seen()
        return status, headers, payload, ticket

    def _answer(self, start_response, status: str, headers: list, payload: bytes):
        start_response(status, headers)
        return [payload]

    def _emulate(self, service: str, action: str, environ) -> tuple[str, list, bytes]:
        """The emulator's answer, from the service's own app: the service is known from the signature,
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
            return error_parts(400, "InvalidAction", f"The sandbox does not implement {action}.", service)
        except Exception as exc:  # noqa: BLE001
            # moto tripping over input it does not expect (e.g. an odd SAML assertion)
            print(f"sandbox: {action} raised {type(exc).__name__}: {exc}", file=sys.stderr)
            return error_parts(400, "InvalidInput", f"The sandbox could not process this {action} request.", service)
        return captured["status"], captured["headers"], payload

    def caller_secret(self, key_id: str, token: str | None) -> str | None:
        """The secret a request must be signed with: the administrator's, an IAM user's access
        key's or a session's (authorization.py); None for a key the sandbox does not know."""
        if key_id in self.secrets:
            return None if token else self.secrets[key_id]
        return authorization.secret_for(key_id, token)

    def _hello(self, environ, start_response):
        """Prove knowledge of the secret for a client's nonce, without revealing it."""
        nonce = (parse_qs(environ.get("QUERY_STRING", "")).get("nonce") or [""])[0]
        if not NONCE_RE.fullmatch(nonce):
            return json_answer(start_response, "400 Bad Request", {"error": "nonce required"})
        secret = next(iter(self.secrets.values()))
        result = {"pid": os.getpid(), "port": self.port, "proof": proof(secret, nonce, self.port, os.getpid())}
        return json_answer(start_response, "200 OK", result)

    def _room_credentials(self, environ, start_response):
        """A kernel's keys, for the hub user whose token it sent: the administrator's for a hub admin."""
        try:
            if environ.get("REQUEST_METHOD") != "GET":
                raise room.NotAllowed(405, "GET only.")
            assert self.hub is not None
            caller = self.hub.identify(environ.get("HTTP_AUTHORIZATION", ""))
            if caller.admin:
                key_id, secret = next(iter(self.secrets.items()))
                result = {
                    "AccessKeyId": key_id,
                    "SecretAccessKey": secret,
                    "Role": "instructor",
                    "Participant": caller.name,
                }
            else:
                result = self._participant_keys(caller)
        except room.NotAllowed as refused:
            return json_answer(start_response, f"{refused.status} Refused", {"error": refused.message})
        return json_answer(start_response, "200 OK", result, [("Cache-Control", "no-store")])

    def _help(self, environ, start_response):
        """Whether the hub user whose token it sent may call for help (GET: the button is shown only then),
        a call (POST) or its end (DELETE)."""
        try:
            method = environ.get("REQUEST_METHOD")
            if method not in ("GET", "POST", "DELETE"):
                raise room.NotAllowed(405, "GET, POST or DELETE only.")
            assert self.hub is not None and self.help is not None
            caller = self.hub.identify(environ.get("HTTP_AUTHORIZATION", ""))
            if method == "GET":
                result = {"offered": self.help.offered(caller)}
            else:
                result = self.help.ask(caller) if method == "POST" else self.help.withdraw(caller)
        except room.NotAllowed as refused:
            return json_answer(start_response, f"{refused.status} Refused", {"error": refused.message})
        return json_answer(start_response, "200 OK", result, [("Cache-Control", "no-store")])

    def _participant_keys(self, caller: room.Caller) -> dict:
        with self.held():
            try:
                result = room.issue(caller.name, caller.since)
            except emulator.ServiceError as exc:  # e.g. a name IAM holds in another case
                raise room.NotAllowed(409, f"The room could not make {caller.name}'s user: {exc.message}") from None
            ticket = self.commits.changed(snapshot(emulator.iam()))
        try:  # the key works after a restart before anyone is told it
            self.commits.wait(ticket)
        except CommitFailed:
            raise room.NotAllowed(503, "The room could not save its state; try again in a moment.") from None
        return result

    def _control(self, environ, body: bytes, start_response):
        path = environ["PATH_INFO"]
        method = environ["REQUEST_METHOD"]
        if path == "/_handson/watch" and method == "GET":  # the view has its own lock
            calls = self.help.open_calls() if self.help is not None else None
            return json_answer(start_response, "200 OK", {"participants": self.watch.view(help=calls)})
        with self.held():
            if path == "/_handson/info" and method == "GET":
                return json_answer(start_response, "200 OK", self._info())
            if path == "/_handson/reset" and method == "POST":
                self.reset()
                return json_answer(start_response, "200 OK", {"reset": True})
        return json_answer(start_response, "404 Not Found", {"error": "not found"})

    def reset(self) -> None:
        """Under the lock: empty the emulator and the state file."""
        emulator.reset()
        self.commits.clear()
        self.watch = watch.Watch()

    def _info(self) -> dict:
        backend = emulator.iam()
        devices = [
            {"serial": d.serial_number, "user": d.user.name if d.user else None}
            for d in backend.virtual_mfa_devices.values()
        ]
        return {
            "pid": os.getpid(),
            "started_at": self.started_at,
            "store": str(self.store.path),
            "notice": self.notice,
            "users": sorted(f"{u.path}{u.name}" for u in backend.users.values()),
            "devices": sorted(devices, key=lambda d: d["serial"]),
        }


def json_answer(start_response, status: str, result: dict, headers: list | None = None):
    start_response(status, [("Content-Type", "application/json"), *(headers or [])])
    return [json.dumps(result, ensure_ascii=False).encode()]


def _restored(store: Store) -> str:
    """Load the saved state into the emulator; what the learner should hear about it."""
    data = store.load()
    if not data:
        return store.notice
    try:
        skipped = restore(emulator.iam(), data, store.path)
        if skipped:
            aside = store.set_aside(keep=True)
            return texts.STATE_PARTLY_LOADED.format(skipped=", ".join(skipped), aside=aside)
    except MotoChanged:
        raise  # the file is fine, the moto is not: stop, and leave the file where it is
    except Exception as exc:  # any shape we did not write: keep the file, start empty
        emulator.reset()
        aside = store.set_aside()
        print(
            f"sandbox: {store.path} has an unexpected shape ({type(exc).__name__}); moved to {aside}, starting empty",
            file=sys.stderr,
        )
        return texts.STATE_SET_ASIDE.format(path=store.path, aside=aside)
    return store.notice


def build_app(home: Path, app_class: type[SandboxApp] = SandboxApp) -> SandboxApp:
    """The app of the sandbox of ``home``, its saved state loaded (``app_class``: the tests' own)."""
    key_id, secret = credentials(home)
    faithful.apply(key_id)
    sessions.apply()
    authorization.apply(key_id)
    store = Store(store_path(home))
    notice = _restored(store)
    return app_class(emulator.apps(), store, key_id, secret, notice)


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


def main(argv: list[str] | None = None, app_class: type[SandboxApp] = SandboxApp) -> int:
    parser = argparse.ArgumentParser(prog="handson_helpers.sandbox.server")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK:
        print(f"refusing to listen on {args.host}: the sandbox serves loopback only", file=sys.stderr)
        return 2
    try:
        app = build_app(args.home, app_class)
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
    # no helpers, so every call is refused, unless the hub offers 先生を呼ぶ safely or by the operator's choice
    helpers = (os.environ.get("HANDSON_HELPERS") or "").split() if Settings.read().help_offered else []
    seconds = float(os.environ.get("HANDSON_HELP_SECONDS") or help_desk.HELP_SECONDS)
    app.help = help_desk.HelpDesk(app.hub, helpers, seconds, state=home)
    threading.Thread(target=app.help.run, args=(threading.Event(),), daemon=True).start()
    per_client = int(os.environ.get("HANDSON_ROOM_CONNECTIONS_PER_CLIENT") or MAX_CONNECTIONS_PER_CLIENT)
    server = _listen(
        app, bind, where.port, (signal.SIGTERM, signal.SIGINT), per_client
    )  # the hub stops its services with these
    app.host = where.netloc
    print(f"room sandbox: serving {where.netloc} for {app.hub.api_url}", file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
