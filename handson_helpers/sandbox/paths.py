"""Where the sandbox keeps its files: in the user's home, never in the repository."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import string
from pathlib import Path

LOOPBACK = ("127.0.0.1", "::1", "localhost")
KEY_ALPHABET = string.ascii_uppercase + "234567"  # base32, as AWS key ids
KEY_ID_RE = re.compile(r"AKIA[A-Z2-7]{16}")


def home() -> Path:
    """The sandbox's folder (HANDSON_HOME, default ~/.handson-iam-mfa): created 0700 when missing.

    An existing folder is never chmodded; one that others can write to, or that belongs to
    someone else, is refused (they could swap the state or the credentials file).
    """
    from ..safefs import private_folder

    return private_folder(Path(os.environ.get("HANDSON_HOME") or "~/.handson-iam-mfa").expanduser(), "HANDSON_HOME")


def state_path(base: Path) -> Path:
    return base / "sandbox.json"


def lock_path(base: Path) -> Path:
    return base / "sandbox.lock"


def store_path(base: Path) -> Path:
    return base / "iam-state.json"


def shared_with_path(base: Path) -> Path:
    """The helpers the room's help desk has shared a server with (help_desk.py), kept across restarts."""
    return base / "help-shared-with.json"


def log_path(base: Path) -> Path:
    return base / "sandbox.log"


def credentials_path(base: Path) -> Path:
    return base / "credentials.json"


def credentials(base: Path) -> tuple[str, str]:
    """The sandbox's administrator key pair, readable only by its owner (0600).

    Requests must be SigV4-signed with it, and the sandbox proves it knows the secret before a
    client talks to it, so the secret itself never travels: on a shared machine (The Littlest
    JupyterHub) another user can reach the loopback port but can neither read this file nor
    learn the secret from a request.
    """
    path = credentials_path(base)
    try:
        data = json.loads(path.read_text())
        if (
            isinstance(data, dict)
            and KEY_ID_RE.fullmatch(str(data.get("key_id")))
            and len(str(data.get("secret"))) == 40
        ):
            return data["key_id"], data["secret"]
    except (FileNotFoundError, ValueError):
        pass
    key_id = "AKIA" + "".join(secrets.choice(KEY_ALPHABET) for _ in range(16))
    secret = base64.b64encode(secrets.token_bytes(30)).decode()  # 40 characters, as AWS's
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"key_id": key_id, "secret": secret}, f)
    try:
        if path.is_symlink() or path.exists():
            os.replace(tmp, path)  # unreadable or of an old shape: replace it
        elif hasattr(os, "link"):
            os.link(tmp, path)  # two processes creating at once: the first one wins
        else:  # Pyodide (the browser edition): no links, and one process
            os.replace(tmp, path)
    except FileExistsError:
        return credentials(base)
    finally:
        tmp.unlink(missing_ok=True)
    (base / "token").unlink(missing_ok=True)  # the old plain key id, which travelled in headers
    return key_id, secret
