"""Where the sandbox keeps its files: in the user's home, never in the repository."""
from __future__ import annotations

import os
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
