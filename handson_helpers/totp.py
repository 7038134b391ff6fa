"""TOTP helpers: normalise typed codes, and the kit's built-in authenticator for demos and CI."""

from __future__ import annotations

import re
import time
import unicodedata
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pyotp

from .errors import HandsonError

INTERVAL = 30


def normalize_code(text: str | None) -> str:
    """Full-width digits become ASCII (as a Japanese IME types them) and spaces are dropped."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def validate_codes(code1: str | None, code2: str | None) -> tuple[str, str]:
    """The two normalised codes, or a HandsonError saying what to fix; no AWS call is made."""
    normalized = []
    for label, raw in (("1回目", code1), ("2回目", code2)):
        code = normalize_code(raw)
        if not code:
            raise HandsonError(f"認証コード({label})が空です。認証アプリに表示された6桁の数字を入力してください。", "EmptyCode")
        if not code.isascii() or not code.isdigit():
            raise HandsonError(f"認証コード({label})に数字以外の文字が含まれています。6桁の数字だけを入力してください。", "NotDigits")
        if len(code) != 6:
            raise HandsonError(f"認証コード({label})は6桁の数字です(入力は{len(code)}桁)。認証アプリの表示をもう一度確認してください。", "WrongLength")
        normalized.append(code)
    if normalized[0] == normalized[1]:
        raise HandsonError(
            "1回目と2回目に同じコードが入力されています。1回目のコードが切り替わるのを待ち、次に表示されたコードを2回目に入力してください。",
            "SameCode",
        )
    return normalized[0], normalized[1]


def seconds_left(now: float | None = None) -> int:
    """Seconds until the authenticator shows its next code."""
    now = time.time() if now is None else now
    return INTERVAL - int(now) % INTERVAL


def secret_from_qr(path: str | Path) -> str:
    """The TOTP secret, as an authenticator app gets it: by scanning the QR image, or from a
    Base32StringSeed file as typed into "enter a setup key"."""
    import zxingcpp
    from PIL import Image

    data = Path(path).read_bytes()
    if not data.startswith(b"\x89PNG"):
        key = data.decode("ascii", "replace").strip()
        if re.fullmatch(r"[A-Z2-7]{16,128}=*", key):
            return key

    with Image.open(path) as image:
        results = zxingcpp.read_barcodes(image.convert("L"))
    for result in results:
        uri = urlparse(result.text)
        if uri.scheme == "otpauth":
            secret = parse_qs(uri.query).get("secret", [""])[0]
            if secret:
                return secret
    raise HandsonError("QRコード画像からMFAの情報を読み取れませんでした。21_create_virtual_mfa_device をやり直してください。", "QrUnreadable")


def consecutive_codes(secret: str, now: float | None = None) -> tuple[str, str]:
    """Two consecutive codes: the previous window's and the current one's (no 30-second wait)."""
    now = time.time() if now is None else now
    totp = pyotp.TOTP(secret)
    return totp.at(now - INTERVAL), totp.at(now)
