"""The sandbox server process: moto's IAM/STS with the kit's patches, on loopback only.

Run by ``handson_helpers.sandbox.start``; not meant to be started by hand. It prints its port
on stdout once it listens (the parent waits for that line), then serves until SIGTERM.
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs

from werkzeug.serving import make_server

from . import faithful
from .paths import LOOPBACK, store_path
from .store import Store, restore, snapshot

READ_PREFIXES = ("Get", "List")


def _iam_backend():
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    return iam_backends[DEFAULT_ACCOUNT_ID]["aws"]


def _error_xml(code: str, message: str) -> bytes:
    return (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()


class SandboxApp:
    """WSGI wrapper: serialises requests, saves state before answering, injects faults."""

    def __init__(self, inner, store: Store, token: str):
        self.inner = inner
        self.store = store
        self.token = token
        self.lock = threading.Lock()
        self.faults: list[dict] = []
        self.started_at = time.time()

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/_handson/"):
            if environ.get("HTTP_X_HANDSON_TOKEN") != self.token:
                start_response("403 Forbidden", [("Content-Type", "application/json")])
                return [b'{"error": "token required"}']
            return self._control(environ, start_response)
        if f"Credential={self.token}/" not in environ.get("HTTP_AUTHORIZATION", ""):
            start_response("403 Forbidden", [("Content-Type", "text/xml")])
            return [_error_xml("InvalidClientTokenId", "The security token included in the request is invalid.")]
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = (parse_qs(body.decode("utf-8", "replace")).get("Action") or [""])[0]
        with self.lock:
            fault = self._take_fault(action)
            if fault:
                start_response(f"{fault['status']} Fault", [("Content-Type", "text/xml")])
                return [_error_xml(fault["code"], fault["message"])]
            captured = {}

            def capture(status, headers, exc_info=None):
                captured["status"], captured["headers"] = status, headers
                return lambda data: None

            chunks = self.inner(environ, capture)
            try:
                payload = b"".join(chunks)
            finally:
                getattr(chunks, "close", lambda: None)()
            if captured["status"].startswith("200") and action and not action.startswith(READ_PREFIXES):
                self.store.save(snapshot(_iam_backend()))
        start_response(captured["status"], captured["headers"])
        return [payload]

    def _take_fault(self, action: str) -> dict | None:
        for fault in self.faults:
            if fault["action"] in (action, "*") and fault["count"] > 0:
                fault["count"] -= 1
                return fault
        return None

    def _control(self, environ, start_response):
        path = environ["PATH_INFO"]
        method = environ["REQUEST_METHOD"]
        with self.lock:
            if path == "/_handson/info" and method == "GET":
                result = self._info()
            elif path == "/_handson/reset" and method == "POST":
                from moto.moto_api._internal.models import moto_api_backend

                moto_api_backend.reset()
                self.faults.clear()
                self.store.clear()
                result = {"reset": True}
            elif path == "/_handson/faults" and method == "POST":
                size = int(environ.get("CONTENT_LENGTH") or 0)
                fault = json.loads(environ["wsgi.input"].read(size) or b"{}")
                self.faults.append(
                    {
                        "action": fault["action"],
                        "code": fault["code"],
                        "status": int(fault.get("status", 400)),
                        "message": fault.get("message", fault["code"]),
                        "count": int(fault.get("count", 1)),
                    }
                )
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
            "users": sorted(f"{u.path}{u.name}" for u in backend.users.values()),
            "devices": sorted(
                ({"serial": d.serial_number, "user": d.user.name if d.user else None} for d in backend.virtual_mfa_devices.values()),
                key=lambda d: d["serial"],
            ),
        }


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


def build_app(home: Path):
    from moto.server import DomainDispatcherApplication, create_backend_app

    faithful.apply()
    store = Store(store_path(home))
    data = store.load()
    if data:
        restore(_iam_backend(), data)
    return SandboxApp(DomainDispatcherApplication(create_backend_app), store, os.environ["HANDSON_SANDBOX_TOKEN"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="handson_helpers.sandbox.server")
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK:
        print(f"refusing to listen on {args.host}: the sandbox serves loopback only", file=sys.stderr)
        return 2
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = build_app(args.home)
    server = make_server(args.host, args.port if port_free(args.host, args.port) else 0, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(server.server_port, flush=True)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
