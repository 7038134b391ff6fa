"""TOTP helpers: normalise typed codes, and the kit's built-in authenticator for demos and CI."""

from __future__ import annotations

import re
import time
import unicodedata
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp

from .errors import HandsonError
from .texts import mfa as texts

INTERVAL = 30


def normalize_code(text: str | None) -> str:
    """Full-width digits become ASCII (as a Japanese IME types them) and spaces are dropped."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def validate_codes(code1: str | None, code2: str | None) -> tuple[str, str]:
    """The two normalised codes, or a HandsonError saying what to fix; no AWS call is made."""
    normalized = []
    for label, raw in zip(texts.CODE_LABELS, (code1, code2)):
        code = normalize_code(raw)
        if not code:
            raise HandsonError(texts.CODE_EMPTY.format(label=label), "EmptyCode")
        if not code.isascii() or not code.isdigit():
            raise HandsonError(texts.CODE_NOT_DIGITS.format(label=label), "NotDigits")
        if len(code) != 6:
            raise HandsonError(texts.CODE_WRONG_LENGTH.format(label=label, length=len(code)), "WrongLength")
        normalized.append(code)
    if normalized[0] == normalized[1]:
        raise HandsonError(texts.SAME_CODE, "SameCode")
    return normalized[0], normalized[1]


def seconds_left(now: float | None = None) -> int:
    """Seconds until the authenticator shows its next code."""
    now = time.time() if now is None else now
    return INTERVAL - int(now) % INTERVAL


def secret_from_qr(path: str | Path | bytes) -> str:
    """The TOTP secret, as an authenticator app gets it: by scanning the QR image, or from a
    Base32StringSeed file as typed into "enter a setup key" (a file, or its bytes)."""
    import io

    import zxingcpp
    from PIL import Image

    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    if not data.startswith(b"\x89PNG"):
        key = data.decode("ascii", "replace").strip()
        if re.fullmatch(r"[A-Z2-7]{16,128}=*", key):
            return key

    with Image.open(io.BytesIO(data)) as image:
        results = zxingcpp.read_barcodes(image.convert("L"))
    for result in results:
        uri = urlparse(result.text)
        if uri.scheme == "otpauth":
            secret = parse_qs(uri.query).get("secret", [""])[0]
            if secret:
                return secret
    raise HandsonError(texts.QR_UNREADABLE, "QrUnreadable")


def consecutive_codes(secret: str, now: float | None = None) -> tuple[str, str]:
    """Two consecutive codes: the previous window's and the current one's (no 30-second wait)."""
    now = time.time() if now is None else now
    totp = pyotp.TOTP(secret)
    return totp.at(now - INTERVAL), totp.at(now)


# The built-in authenticator's memory: per device (a digest of its secret, never the secret), the
# last step whose code it typed. Kept for two minutes past that step.
MEMORY_FILE = "authenticator-steps.json"
MEMORY_STEPS = 4


def authenticator_codes(secret: str, count: int, now: float | None = None) -> tuple[str, ...]:
    """The built-in authenticator (HANDSON_AUTO_MFA, the tests' phone): ``count`` consecutive codes
    ending at the current step, or right after the last code it typed for this device.

    AWS accepts each code once (RFC 6238, section 5.2); a learner waits 30 seconds for the next
    one, while a demo or a test that asks twice in a step takes the next code instead of waiting.
    The memory is a file in HANDSON_HOME, shared by the kernels and the tests, under a lock.
    """
    import fcntl
    import hashlib
    import json
    import os

    from .sandbox.paths import home

    current = int((time.time() if now is None else now) // INTERVAL)
    key = hashlib.sha256(secret.encode()).hexdigest()[:32]
    fd = os.open(home() / MEMORY_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "r+", encoding="ascii") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            memory = json.loads(f.read() or "{}")
        except ValueError:
            memory = {}
        memory = (
            {k: v for k, v in memory.items() if isinstance(v, int) and v >= current - MEMORY_STEPS}
            if isinstance(memory, dict)
            else {}
        )
        first = max(current - count + 1, memory.get(key, current - count) + 1)
        memory[key] = first + count - 1
        f.seek(0)
        f.truncate()
        f.write(json.dumps(memory))
    totp = pyotp.TOTP(secret)
    return tuple(totp.at((first + i) * INTERVAL) for i in range(count))
