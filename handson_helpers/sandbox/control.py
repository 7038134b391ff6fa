"""Start, find, reset and stop the sandbox server process.

One server per HANDSON_HOME, shared by every kernel and terminal of the user: its port and
pid live in a state file there. This module never imports moto, so a kernel stays light.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .paths import ACCOUNT_ID, LOOPBACK, REGION, home, lock_path, log_path, state_path, token

START_TIMEOUT = 60.0
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class SandboxError(RuntimeError):
    """The sandbox could not be started or reached; the message says what to do."""


@dataclass(frozen=True)
class Sandbox:
    pid: int
    host: str
    port: int
    started_at: float
    token: str
    already_running: bool = False

    @property
    def credentials(self) -> dict[str, str]:
        """Keyword arguments for boto3: the sandbox's own access key."""
        return {"aws_access_key_id": self.token, "aws_secret_access_key": "sandbox"}

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@contextmanager
def _locked(base: Path):
    with os.fdopen(os.open(lock_path(base), os.O_RDWR | os.O_CREAT, 0o600), "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def preferred_port(base: Path) -> int:
    """A port fixed per HANDSON_HOME, so the endpoint stays the same across stop, start and reboot.

    The server falls back to any free port when this one is taken.
    """
    return 20000 + int(hashlib.sha256(str(base).encode()).hexdigest(), 16) % 10000


def _read_state(base: Path) -> Sandbox | None:
    try:
        data = json.loads(state_path(base).read_text())
        return Sandbox(data["pid"], data["host"], data["port"], data["started_at"], token(base))
    except (FileNotFoundError, ValueError, KeyError):
        return None


def _write_state(base: Path, sandbox: Sandbox) -> None:
    tmp = state_path(base).with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": sandbox.pid, "host": sandbox.host, "port": sandbox.port, "started_at": sandbox.started_at}, f)
    os.replace(tmp, state_path(base))


def request(sandbox: Sandbox, path: str, payload: dict | None = None, timeout: float = 5.0) -> dict:
    """Call one of the sandbox's own control endpoints (/_handson/...)."""
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(
        sandbox.url + path, data=data, method="GET" if data is None else "POST", headers={"X-Handson-Token": sandbox.token}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def info(sandbox: Sandbox) -> dict | None:
    """What the running server holds, or None when it does not answer as this sandbox."""
    try:
        data = request(sandbox, "/_handson/info", timeout=2.0)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return data if data.get("pid") == sandbox.pid else None


def running(base: Path | None = None) -> Sandbox | None:
    """The sandbox of this HANDSON_HOME if its process is alive and answering."""
    sandbox = _read_state(base or home())
    if sandbox and info(sandbox) is not None:
        return sandbox
    return None


def start(host: str = "127.0.0.1", port: int = 0) -> Sandbox:
    """Start the sandbox, or return the running one; safe when two kernels call it at once."""
    if host not in LOOPBACK:
        raise SandboxError(f"サンドボックスはループバック(127.0.0.1)でのみ起動できます: {host}")
    base = home()
    with _locked(base):
        previous = _read_state(base)
        current = previous if previous and info(previous) is not None else None
        if current:
            return Sandbox(current.pid, current.host, current.port, current.started_at, current.token, already_running=True)
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")])),
            HANDSON_SANDBOX_TOKEN=token(base),  # in the environment, not in argv where `ps` shows it
        )
        log_fd = os.open(log_path(base), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "handson_helpers.sandbox.server", "--home", str(base), "--host", host, "--port", str(port or (previous.port if previous else preferred_port(base)))],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_fd,
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(log_fd)
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
        line = proc.stdout.readline().strip() if ready else b""
        proc.stdout.close()
        if not line.isdigit():
            proc.kill()
            raise SandboxError(
                f"サンドボックスを起動できませんでした。ログ {log_path(base)} を確認し、"
                "`make setup` をやり直してから再度実行してください。"
            )
        sandbox = Sandbox(proc.pid, host, int(line), time.time(), token(base))
        _write_state(base, sandbox)
        return sandbox


def ensure_running() -> Sandbox:
    """The running sandbox, started on first use so any front end just works."""
    return running() or start()


def stop() -> bool:
    """Stop the sandbox and remove its state file; True if a server was stopped."""
    base = home()
    with _locked(base):
        sandbox = _read_state(base)
        stopped = False
        if sandbox and info(sandbox) is not None:
            os.kill(sandbox.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _alive(sandbox.pid):
                time.sleep(0.05)
            if _alive(sandbox.pid):
                os.kill(sandbox.pid, signal.SIGKILL)
            stopped = True
        state_path(base).unlink(missing_ok=True)
        return stopped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a child of this process lingers as a zombie until reaped
        if os.waitpid(pid, os.WNOHANG) != (0, 0):
            return False
    except ChildProcessError:
        pass
    try:  # a zombie of another parent has exited too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def reset() -> Sandbox:
    """Empty the sandbox (users, devices, stored state, injected faults)."""
    sandbox = ensure_running()
    request(sandbox, "/_handson/reset", {})
    return sandbox


def inject_fault(action: str, code: str, status: int = 400, count: int = 1, message: str | None = None) -> None:
    """Make the next ``count`` calls of ``action`` fail with ``code`` (for fault tests and demos)."""
    request(ensure_running(), "/_handson/faults", {"action": action, "code": code, "status": status, "count": count, "message": message or code})


def client_env(sandbox: Sandbox) -> dict[str, str]:
    """Environment that points boto3 and the aws CLI at the sandbox."""
    return {
        "AWS_ENDPOINT_URL": sandbox.url,
        "AWS_ACCESS_KEY_ID": sandbox.token,
        "AWS_SECRET_ACCESS_KEY": sandbox.credentials["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": REGION,
    }


__all__ = ["ACCOUNT_ID", "Sandbox", "SandboxError", "client_env", "ensure_running", "info", "inject_fault", "reset", "running", "start", "stop"]
