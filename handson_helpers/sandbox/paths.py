"""Where the sandbox keeps its files: in the user's home, never in the repository."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

LOOPBACK = ("127.0.0.1", "::1", "localhost")
ACCOUNT_ID = "123456789012"  # moto's default account: the sandbox's fixed account id
REGION = "ap-northeast-1"


def home() -> Path:
    """The sandbox's folder (HANDSON_HOME, default ~/.handson-iam-mfa), created 0700."""
    path = Path(os.environ.get("HANDSON_HOME") or "~/.handson-iam-mfa").expanduser()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def state_path(base: Path) -> Path:
    return base / "sandbox.json"


def lock_path(base: Path) -> Path:
    return base / "sandbox.lock"


def store_path(base: Path) -> Path:
    return base / "iam-state.json"


def log_path(base: Path) -> Path:
    return base / "sandbox.log"


def token_path(base: Path) -> Path:
    return base / "token"


def token(base: Path) -> str:
    """The sandbox's access key: only its owner's processes can read it (0600).

    On a shared machine (The Littlest JupyterHub) every user's sandbox listens on loopback;
    without the token one participant's code could change another participant's sandbox.
    """
    path = token_path(base)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = "HANDSON" + secrets.token_hex(8).upper()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value)
        return value
