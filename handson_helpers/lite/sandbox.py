"""The sandbox inside the browser's Python: a page cannot listen on a port or start a process, so
botocore's requests are answered in-process by the very app the sandbox server runs
(server.SandboxApp: signatures, parameters, the kit's AWS rules, the MFA code model, the state file)
through a ``before-send`` hook, instead of over HTTP.

Its home (HANDSON_HOME) is a folder of the kernel's drive (/drive), which JupyterLite keeps in the
browser's storage, so the state file, and with it the devices' seeds, outlive a page reload.
"""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from botocore.awsrequest import AWSResponse
from werkzeug.test import EnvironBuilder, run_wsgi_app

from ..sandbox.paths import home
from ..sandbox.server import SandboxApp, build_app
from ..sandbox.store import CommitFailed

HOST = "127.0.0.1"
PORT = 8765  # the address the clients sign for; nothing listens there


class SavedAtOnce:
    """GroupCommit's interface without its writer thread (Pyodide has no threads): a change is saved
    before its request is answered, and a failed save fails that request as on the server."""

    def __init__(self, store):
        self.store = store
        self.last = 0
        self.failed: set[int] = set()

    def changed(self, snapshot: dict) -> int:
        self.last += 1
        try:
            self.store.save(snapshot)
        except OSError:
            self.failed.add(self.last)
        return self.last

    def seen(self) -> int:
        return self.last

    def wait(self, ticket: int) -> None:
        if ticket in self.failed:
            raise CommitFailed(f"could not save {self.store.path}")

    def clear(self) -> None:
        self.store.clear()


class InProcessApp(SandboxApp):
    """SandboxApp with no thread: its saves are immediate and its lock has no watchdog (whose timer
    is a thread); one kernel runs one request at a time."""

    commit_class = SavedAtOnce

    @contextlib.contextmanager
    def held(self):
        yield


class _Raw:
    """The body as botocore reads a response's raw stream."""

    def __init__(self, payload: bytes):
        self.payload = payload

    def stream(self, **_):
        yield self.payload


_app: SandboxApp | None = None


def app() -> SandboxApp:
    """This kernel's sandbox, its saved state loaded on first use."""
    global _app
    if _app is None:
        made = build_app(home(), InProcessApp)
        made.port = PORT
        _app = made
    return _app


def credentials() -> dict[str, str]:
    """boto3's keyword arguments for the sandbox's administrator key."""
    key_id, secret = next(iter(app().secrets.items()))
    return {"aws_access_key_id": key_id, "aws_secret_access_key": secret}


def answer(request, **_) -> AWSResponse:
    """A botocore ``before-send`` handler: the signed request, answered by the in-process sandbox."""
    parts = urlsplit(request.url)
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    environ = EnvironBuilder(
        path=parts.path or "/",
        base_url=f"http://{parts.netloc}",
        query_string=parts.query,
        method=request.method,
        headers=[(k, v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()],
        data=body.encode() if isinstance(body, str) else body,
    ).get_environ()
    environ["REMOTE_ADDR"] = HOST
    chunks, status, headers = run_wsgi_app(app(), environ, buffered=True)
    payload = b"".join(chunks)
    return AWSResponse(request.url, int(status.split()[0]), headers.to_wsgi_list(), _Raw(payload))


def url() -> str:
    return f"http://{HOST}:{PORT}"
