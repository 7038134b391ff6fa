"""Start, find, reset and stop the sandbox server process.

One server per HANDSON_HOME, shared by every kernel and terminal of the user: its port and
pid live in a state file there. A listener is trusted only after it proves that it knows the
sandbox's secret (an HMAC over a fresh nonce and its own port), and every request after that is
SigV4-signed, so the secret never travels: whoever holds a stale port learns nothing from us.
This module never loads the emulator, so a kernel stays light.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..errors import HandsonError
from ..rules import ACCOUNT_ID, REGION
from . import texts
from .paths import LOOPBACK, credentials, home, lock_path, log_path, state_path

START_TIMEOUT = 60.0
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
CONTROL_SERVICE = "handson"  # the SigV4 service name of the control endpoints
SERVER = "handson_helpers.sandbox.server"


def server_module() -> str:
    """The module the server runs as: the kit's, or (HANDSON_SANDBOX_SERVER) the tests' own with
    fault injection (tests/sandbox_faults.py), in every process they start."""
    return os.environ.get("HANDSON_SANDBOX_SERVER") or SERVER


class SandboxError(HandsonError):
    """The sandbox could not be started or reached; the message says what to do (a HandsonError,
    so a form's callback shows it like any other)."""


@dataclass(frozen=True)
class Sandbox:
    pid: int
    host: str
    port: int
    started_at: float
    key_id: str
    secret: str = field(repr=False)
    already_running: bool = False
    notice: str = ""  # e.g. a state file that was set aside at start

    @property
    def credentials(self) -> dict[str, str]:
        """Keyword arguments for boto3: the sandbox's own administrator key."""
        return {"aws_access_key_id": self.key_id, "aws_secret_access_key": self.secret}

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def proof(secret: str, nonce: str, port: int, pid: int) -> str:
    """What only the real sandbox can answer to a nonce; bound to its port, so it cannot be relayed."""
    return hmac.new(secret.encode(), f"handson-sandbox-proof|{nonce}|{port}|{pid}".encode(), hashlib.sha256).hexdigest()


@contextmanager
def _locked(base: Path):
    with os.fdopen(os.open(lock_path(base), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600), "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def preferred_port(base: Path) -> int:
    """A port fixed per HANDSON_HOME, so the endpoint stays the same across stop, start and reboot.

    The server falls back to any free port when this one is taken; the port is never trusted
    for being the same, only for proving the secret.
    """
    return 20000 + int(hashlib.sha256(str(base).encode()).hexdigest(), 16) % 10000


def _read_state(base: Path) -> Sandbox | None:
    try:
        data = json.loads(state_path(base).read_text())
        key_id, secret = credentials(base)
        return Sandbox(
            int(data["pid"]), str(data["host"]), int(data["port"]), float(data["started_at"]), key_id, secret
        )
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def _write_state(base: Path, sandbox: Sandbox) -> None:
    tmp = state_path(base).with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": sandbox.pid, "host": sandbox.host, "port": sandbox.port, "started_at": sandbox.started_at}, f)
    os.replace(tmp, state_path(base))


def signed_request(
    sandbox: Sandbox,
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict | None = None,
    service: str = CONTROL_SERVICE,
):
    """A urllib request SigV4-signed with the sandbox's key."""
    return sign(sandbox.key_id, sandbox.secret, method, url, body, headers, service)


def sign(
    key_id: str,
    secret: str,
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict | None = None,
    service: str = CONTROL_SERVICE,
):
    """A urllib request SigV4-signed with this key (botocore computes the signature)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials(key_id, secret), service, REGION).add_auth(request)
    prepared = request.prepare()
    return urllib.request.Request(
        prepared.url, data=prepared.body or None, method=method, headers=dict(prepared.headers)
    )


def request(sandbox: Sandbox, path: str, payload: dict | None = None, timeout: float = 5.0) -> dict:
    """Call one of the sandbox's own control endpoints (/_handson/...), signed."""
    body = b"" if payload is None else json.dumps(payload).encode()
    req = signed_request(
        sandbox, "GET" if payload is None else "POST", sandbox.url + path, body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def proven(sandbox: Sandbox, timeout: float = 2.0) -> bool:
    """Whether the listener at the sandbox's port is this sandbox: it must prove the secret.

    Nothing secret is sent: only a fresh random nonce.
    """
    nonce = secrets.token_hex(16)
    try:
        with urllib.request.urlopen(f"{sandbox.url}/_handson/hello?nonce={nonce}", timeout=timeout) as resp:
            data = json.loads(resp.read(4096))
    except (OSError, ValueError, urllib.error.URLError):
        return False
    if not isinstance(data, dict) or data.get("pid") != sandbox.pid:
        return False
    return hmac.compare_digest(str(data.get("proof", "")), proof(sandbox.secret, nonce, sandbox.port, sandbox.pid))


def info(sandbox: Sandbox) -> dict | None:
    """What the running server holds, or None when it does not prove to be this sandbox."""
    if not proven(sandbox):
        return None
    try:
        return request(sandbox, "/_handson/info", timeout=5.0)
    except (OSError, ValueError, urllib.error.URLError):
        return None


def running(base: Path | None = None) -> Sandbox | None:
    """The sandbox of this HANDSON_HOME if its process is alive and proves itself."""
    sandbox = _read_state(base or home())
    if sandbox and _alive(sandbox.pid) and proven(sandbox):
        return sandbox
    return None


def start(host: str = "127.0.0.1", port: int = 0, base: Path | None = None) -> Sandbox:
    """Start the sandbox, or return the running one; safe when two kernels call it at once."""
    if host not in LOOPBACK:
        raise SandboxError(texts.LOOPBACK_ONLY.format(host=host))
    base = base or home()
    with _locked(base):
        previous = _read_state(base)
        if previous and _alive(previous.pid):
            if proven(previous):
                return replace(previous, already_running=True)
            if _serves(previous.pid, base):  # ours, but with credentials we no longer have: retire it
                _terminate(previous.pid)
        key_id, secret = credentials(base)
        port = port or (previous.port if previous else preferred_port(base))
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))
        )
        log_fd = os.open(log_path(base), os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", server_module(), "--home", str(base), "--host", host, "--port", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_fd,
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(log_fd)
        out = proc.stdout
        assert out is not None  # stdout=PIPE
        ready, _, _ = select.select([out], [], [], START_TIMEOUT)
        line = out.readline() if ready else b""
        out.close()
        try:
            hello = json.loads(line)
            refused = hello.get("error")  # the server could not take the saved state and says why
            bound = int(hello["port"]) if refused is None else 0
        except (ValueError, KeyError, TypeError, AttributeError):
            proc.kill()
            raise SandboxError(texts.NOT_STARTED.format(log=log_path(base))) from None
        if refused is not None:
            proc.kill()
            proc.wait()
            raise SandboxError(str(refused))
        sandbox = Sandbox(proc.pid, host, bound, time.time(), key_id, secret, notice=str(hello.get("notice") or ""))
        _write_state(base, sandbox)
        return sandbox


def ensure_running(base: Path | None = None) -> Sandbox:
    """The running sandbox, started on first use so any front end just works."""
    base = base or home()
    return running(base) or start(base=base)


_current: dict[Path, Sandbox] = {}


def current(base: Path) -> Sandbox:
    """The proven sandbox of ``base``, started again if its process is gone (cheap when alive).

    Clients route every request through this (see target.py), so a kernel never sends even a
    signed request to a port that its sandbox no longer holds.
    """
    sandbox = _current.get(base)
    if sandbox is None or not _alive(sandbox.pid):
        sandbox = _current[base] = ensure_running(base)
    return sandbox


def route(base: Path):
    """A botocore ``before-sign`` handler: send the request to ``base``'s live sandbox."""

    def handler(request, **_):
        sandbox = current(base)
        parts = urlsplit(request.url)
        if parts.netloc != f"{sandbox.host}:{sandbox.port}":
            request.url = urlunsplit(parts._replace(netloc=f"{sandbox.host}:{sandbox.port}"))
            if "Host" in request.headers:
                del request.headers["Host"]

    return handler


def stop() -> bool:
    """Stop the sandbox and remove its state file; True if a server was stopped."""
    base = home()
    with _locked(base):
        sandbox = _read_state(base)
        stopped = False
        if sandbox and _alive(sandbox.pid) and (proven(sandbox) or _serves(sandbox.pid, base)):
            _terminate(sandbox.pid)
            stopped = True
        state_path(base).unlink(missing_ok=True)
        _current.pop(base, None)
        return stopped


def _terminate(pid: int) -> None:
    """End ``pid``, waiting (up to 20 s) until all its threads have ended and so its port is free."""
    os.kill(pid, signal.SIGTERM)
    if not wait_gone(pid) and _alive(pid):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_gone(pid)


def wait_gone(pid: int, timeout: float = 10) -> bool:
    """Wait until every thread of ``pid`` has ended, so its sockets are closed.

    A killed server's main thread is a zombie at once, but a thread inside ``fsync`` (the store's
    writer) ends, and releases the listening socket, only when the disk answers.
    """
    deadline = time.monotonic() + timeout
    while not _gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _gone(pid: int) -> bool:
    if not os.path.isdir("/proc/self/task"):  # not Linux
        return not _alive(pid)
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return True
    for tid in tids:
        try:
            if state(f"/proc/{pid}/task/{tid}/stat") not in ("Z", "X"):
                return False
        except (OSError, IndexError):
            continue
    return True


def _serves(pid: int, base: Path) -> bool:
    """Whether ``pid`` is a sandbox server of this user for ``base`` (read from its command line)."""
    try:
        return (
            f"\0--home\0{base}\0".encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
            and os.stat(f"/proc/{pid}").st_uid == os.geteuid()
        )
    except OSError:
        return False


def state(stat: str) -> str:
    """The state letter (R, S, D, Z...) in a process's or thread's /proc stat file."""
    return Path(stat).read_text().rsplit(")", 1)[1].split()[0]


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live sandbox server of this user (not a zombie, not a reused pid)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a child of this process lingers as a zombie until reaped
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False
    except ChildProcessError:
        pass
    try:
        if state(f"/proc/{pid}/stat") == "Z":
            return False
        # started as start() starts a server (`python -m MODULE --home ...`), with the kit's module or
        # the tests' (HANDSON_SANDBOX_SERVER), whatever this process's environment; proven() tells whose
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        return argv[1:2] == [b"-m"] and b"--home" in argv
    except (OSError, IndexError):
        return True  # no /proc (not Linux): the proof decides


def reset() -> Sandbox:
    """Empty the sandbox (users, devices, stored state)."""
    sandbox = ensure_running()
    request(sandbox, "/_handson/reset", {})
    return sandbox


def client_env(sandbox: Sandbox) -> dict[str, str]:
    """Environment that points boto3 and the aws CLI at the sandbox."""
    return {
        "AWS_ENDPOINT_URL": sandbox.url,
        "AWS_ACCESS_KEY_ID": sandbox.key_id,
        "AWS_SECRET_ACCESS_KEY": sandbox.secret,
        "AWS_DEFAULT_REGION": REGION,
    }


__all__ = [
    "ACCOUNT_ID",
    "Sandbox",
    "SandboxError",
    "client_env",
    "current",
    "ensure_running",
    "info",
    "reset",
    "route",
    "running",
    "start",
    "stop",
]
