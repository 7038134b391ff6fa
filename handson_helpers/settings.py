"""The hands-on's settings (設定値): the seed's values, participant scoping and the check table."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import HandsonError

SEED_USER_NAME = "handson-cli-basic-user"
SEED_USER_PATH = "/handson-cli/"
SEED_DEVICE_NAME = "handson-cli-basic-user-mfa"
SEED_DIR_MFA_OUTFILE = "~/environment/tmp-handson-cli-iam-user-basic"
KIT_TAG = {"Key": "handson-kit", "Value": "iam-mfa"}

NAME_RE = re.compile(r"^[\w+=,.@-]+$", re.ASCII)
PATH_RE = re.compile(r"^(/|/[\x21-\x7e]+/)$")
PARTICIPANT_MAX = 20


def participant() -> str:
    """The workshop participant (HANDSON_PARTICIPANT, else JUPYTERHUB_USER), sanitised for IAM names."""
    raw = os.environ.get("HANDSON_PARTICIPANT") or os.environ.get("JUPYTERHUB_USER") or ""
    cleaned = re.sub(r"[^A-Za-z0-9+=,.@_-]", "-", raw.strip()).strip("-")
    return cleaned[:PARTICIPANT_MAX]


def scoped(name: str, who: str | None = None) -> str:
    """The seed's name, with the participant's suffix in a workshop."""
    who = participant() if who is None else who
    return f"{name}-{who}" if who else name


def mfa_outfile(directory: str, device_name: str) -> str:
    """FILE_MFA_OUTFILE="${DIR_MFA_OUTFILE}/${MFA_DEVICE_NAME}.png"."""
    return f"{directory.rstrip('/')}/{device_name}.png"


def expand(path: str) -> Path:
    return Path(os.path.expanduser(path))


def expected() -> dict[str, str]:
    """What each variable should hold for this participant (the upper lines of 設定値の確認)."""
    device = scoped(SEED_DEVICE_NAME)
    return {
        "IAM_USER_NAME": scoped(SEED_USER_NAME),
        "IAM_USER_PATH": SEED_USER_PATH,
        "MFA_DEVICE_NAME": device,
        "MFA_BOOTSTRAP_METHOD": "QRCodePNG",
        "DIR_MFA_OUTFILE": SEED_DIR_MFA_OUTFILE,
        "FILE_MFA_OUTFILE": mfa_outfile(SEED_DIR_MFA_OUTFILE, device),
    }


def problem(name: str, value) -> str | None:
    """Why IAM would refuse this value (Japanese), or None."""
    if not isinstance(value, str) or not value:
        return "値が空です"
    if name == "IAM_USER_NAME":
        if len(value) > 64:
            return f"IAMユーザー名は64文字以内です({len(value)}文字)"
        if not NAME_RE.match(value):
            return "IAMユーザー名に使えるのは英数字と + = , . @ _ - だけです(空白や / は使えません)"
    if name == "MFA_DEVICE_NAME":
        if len(value) > 226:
            return f"仮想MFAデバイス名は226文字以内です({len(value)}文字)"
        if not NAME_RE.match(value):
            return "仮想MFAデバイス名に使えるのは英数字と + = , . @ _ - だけです"
    if name == "IAM_USER_PATH" and (len(value) > 512 or not PATH_RE.match(value)):
        return "パスは / で始まり / で終わる必要があります(例: /handson-cli/)"
    return None


def require_valid(**values) -> None:
    """Raise a HandsonError naming the first invalid setting, before any AWS call."""
    for name, value in values.items():
        reason = problem(name, value)
        if reason:
            raise HandsonError(f"設定値 {name} が正しくありません: {reason}。設定値の指定に戻って値を直し、もう一度実行してください。", "InvalidSetting")


@dataclass(frozen=True)
class CheckRow:
    number: int
    name: str
    expected: str
    actual: str
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.reason is None


def check(values: dict[str, str]) -> list[CheckRow]:
    """Compare each variable with its expected value: the check the seed asks to do by eye."""
    wanted = expected()
    rows = []
    for number, (name, actual) in enumerate(values.items(), 1):
        reason = problem(name, actual)
        if reason is None and actual != wanted.get(name, actual):
            reason = "期待値と異なります"
        rows.append(CheckRow(number, name, wanted.get(name, ""), str(actual), reason))
    return rows
