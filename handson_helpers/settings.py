"""The hands-on's settings (設定値): the seed's values, participant scoping and the check table."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import rules
from .errors import HandsonError
from .safefs import folder_problem

SEED_USER_NAME = "handson-cli-basic-user"
SEED_USER_PATH = "/handson-cli/"
SEED_DEVICE_NAME = "handson-cli-basic-user-mfa"
SEED_MFA_BOOTSTRAP_METHOD = "QRCodePNG"
SEED_DIR_MFA_OUTFILE = "${HOME}/environment/tmp-handson-cli-iam-user-basic"
# 3.1 and 40: the access key file lives beside the QR file, in the hands-on's own folder.
SEED_DIR_ACCESS_KEY = "${HOME}/environment/tmp-handson-cli-iam-user-basic"
KIT_POLICY_NAME = "handson-cli-require-mfa"  # the inline policy of 40; 後始末 deletes only this name
KIT_TAG = {"Key": "handson-kit", "Value": "iam-mfa"}
PARTICIPANT_TAG_KEY = "handson-participant"

PARTICIPANT_MAX = 20
HASH_LEN = 8
PLAIN_PARTICIPANT_RE = re.compile(r"[a-z0-9_.@=,+][a-z0-9_.@=,+-]{0,19}", re.ASCII)
HASHED_RE = re.compile(r".+-[0-9a-f]{8}", re.ASCII)
# Which API parameter each setting becomes: its rules come from AWS's model (rules.py).
API_PARAMETER = {
    "IAM_USER_NAME": ("CreateUser", "UserName"),
    "IAM_USER_PATH": ("CreateUser", "Path"),
    "MFA_DEVICE_NAME": ("CreateVirtualMFADevice", "VirtualMFADeviceName"),
    "POLICY_NAME": ("PutUserPolicy", "PolicyName"),
}
LABELS = {
    "IAM_USER_NAME": "IAMユーザー名",
    "IAM_USER_PATH": "IAMユーザーパス",
    "MFA_DEVICE_NAME": "仮想MFAデバイス名",
    "MFA_BOOTSTRAP_METHOD": "MFAブートストラップ方式",
    "DIR_MFA_OUTFILE": "MFAブートストラップ出力ファイル用ディレクトリ",
    "FILE_MFA_OUTFILE": "MFAブートストラップ出力ファイル名",
    "DIR_ACCESS_KEY": "アクセスキー出力ファイル用ディレクトリ",
    "FILE_ACCESS_KEY": "アクセスキー出力ファイル名",
    "POLICY_NAME": "インラインポリシー名",
}
PATH_SETTINGS = ("DIR_MFA_OUTFILE", "FILE_MFA_OUTFILE", "DIR_ACCESS_KEY", "FILE_ACCESS_KEY")
BOOTSTRAP_METHODS = ("QRCodePNG", "Base32StringSeed")
SANDBOX_MODES = ("private", "room")


def sandbox_mode() -> str:
    """``HANDSON_SANDBOX``: ``room`` on a hub that runs the room service (HANDSON_ROOM_URL), else ``private``."""
    chosen = (os.environ.get("HANDSON_SANDBOX") or ("room" if os.environ.get("HANDSON_ROOM_URL") else "private")).strip().lower()
    if chosen not in SANDBOX_MODES:
        raise HandsonError(f"HANDSON_SANDBOX は private か room を指定してください(現在: {chosen})。", "BadSandboxMode")
    return chosen


def participant_id() -> str:
    """The raw workshop participant id (HANDSON_PARTICIPANT, else JUPYTERHUB_USER), or "".

    In a JupyterHub room it is the hub user alone: the room's keys reach only that user's names.
    """
    if os.environ.get("JUPYTERHUB_USER") and sandbox_mode() == "room":
        return os.environ["JUPYTERHUB_USER"].strip()
    return (os.environ.get("HANDSON_PARTICIPANT") or os.environ.get("JUPYTERHUB_USER") or "").strip()


def participant(raw: str | None = None) -> str:
    """The participant's name suffix: distinct participant ids never share one.

    An id that is already a short lower-case IAM name is used as it is; any other (cut,
    replaced, upper-case, non-ASCII, or one that looks like a hashed suffix) becomes a readable
    part plus 8 hex digits of its SHA-256. Lower case only, because IAM user names are unique
    regardless of case.
    """
    raw = participant_id() if raw is None else raw
    if not raw:
        return ""
    if PLAIN_PARTICIPANT_RE.fullmatch(raw) and not HASHED_RE.fullmatch(raw):
        return raw
    readable = re.sub(r"[^a-z0-9_.@=,+-]+", "-", raw.lower()).strip("-")[: PARTICIPANT_MAX - HASH_LEN - 1].strip("-")
    return f"{readable or 'p'}-{hashlib.sha256(raw.encode()).hexdigest()[:HASH_LEN]}"


def participant_tag(raw: str | None = None) -> dict | None:
    """The tag naming the participant on each resource (the raw id where IAM allows it)."""
    raw = participant_id() if raw is None else raw
    if not raw:
        return None
    valid = len(raw) <= 256 and rules.check_value(rules.member_shape("iam", "TagUser", "Tags").member.members["Value"], "value", raw) is None
    return {"Key": PARTICIPANT_TAG_KEY, "Value": raw if valid else "sha256:" + hashlib.sha256(raw.encode()).hexdigest()}


def kit_tags(raw: str | None = None) -> list[dict]:
    """The tags the kit puts on everything it creates for this learner."""
    tag = participant_tag(raw)
    return [KIT_TAG] + ([tag] if tag else [])


def owned(tags: list[dict], raw: str | None = None) -> bool:
    """Whether a resource with ``tags`` is the kit's for this learner (and no other participant)."""
    mine = participant_tag(raw)
    theirs = next((t for t in tags if t.get("Key") == PARTICIPANT_TAG_KEY), None)
    return KIT_TAG in tags and theirs == mine


def scoped(name: str, who: str | None = None) -> str:
    """The seed's name, with the participant's suffix in a workshop (``who`` is a raw id)."""
    suffix = participant(who)
    return f"{name}-{suffix}" if suffix else name


def mfa_outfile(directory: str, device_name: str) -> str:
    """FILE_MFA_OUTFILE="${DIR_MFA_OUTFILE}/${MFA_DEVICE_NAME}.png"."""
    return f"{directory.rstrip('/')}/{device_name}.png"


def access_key_file(directory: str, user_name: str) -> str:
    """FILE_ACCESS_KEY="${DIR_ACCESS_KEY}/${IAM_USER_NAME}-access-key.txt"."""
    return f"{directory.rstrip('/')}/{user_name}-access-key.txt"


def expand(path: str) -> Path:
    """A path as bash would read it in double quotes: ``${HOME}``, ``$HOME`` or ``~`` at the start."""
    home = os.path.expanduser("~")
    for prefix in ("${HOME}", "$HOME"):
        if path == prefix or path.startswith(prefix + "/"):
            return Path(home + path[len(prefix) :])
    return Path(os.path.expanduser(path))


def expected() -> dict[str, str]:
    """What each variable should hold for this participant (the upper lines of 設定値の確認)."""
    device = scoped(SEED_DEVICE_NAME)
    return {
        "IAM_USER_NAME": scoped(SEED_USER_NAME),
        "IAM_USER_PATH": SEED_USER_PATH,
        "MFA_DEVICE_NAME": device,
        "MFA_BOOTSTRAP_METHOD": SEED_MFA_BOOTSTRAP_METHOD,
        "DIR_MFA_OUTFILE": SEED_DIR_MFA_OUTFILE,
        "FILE_MFA_OUTFILE": mfa_outfile(SEED_DIR_MFA_OUTFILE, device),
        "DIR_ACCESS_KEY": SEED_DIR_ACCESS_KEY,
        "FILE_ACCESS_KEY": access_key_file(SEED_DIR_ACCESS_KEY, scoped(SEED_USER_NAME)),
        "POLICY_NAME": KIT_POLICY_NAME,
    }


def _japanese(name: str, violation: rules.Violation, value: str) -> str:
    label = LABELS[name]
    if violation.kind == "max":
        return f"{label}は{violation.limit}文字以内です({len(value)}文字)"
    if violation.kind == "pattern" and name == "IAM_USER_PATH":
        return "パスは / で始まり / で終わり、間は半角の英数字と記号だけです(空白・全角文字・改行は使えません。例: /handson-cli/)"
    if violation.kind == "pattern" and name == "POLICY_NAME":
        return f"{label}に使えるのは半角の英数字と + = , . @ _ - だけです(空白・全角文字は使えません)"
    if violation.kind == "pattern":
        return f"{label}に使えるのは半角の英数字と + = , . @ _ - だけです(空白・/・全角文字・改行は使えません)"
    return "値が空です"


def problem(name: str, value) -> str | None:
    """Why IAM (or the kit) would refuse this value (Japanese), or None."""
    if not isinstance(value, str) or not value:
        return "値が空です"
    if name in API_PARAMETER:
        violation = rules.problem(*API_PARAMETER[name], value)
        return _japanese(name, violation, value) if violation else None
    if name == "MFA_BOOTSTRAP_METHOD" and value not in BOOTSTRAP_METHODS:
        return f"MFAブートストラップ方式は {' か '.join(BOOTSTRAP_METHODS)} です"
    if name in PATH_SETTINGS:
        if any(c in value for c in "\0\n\r"):
            return "改行などの制御文字は使えません"
        folder = expand(value) if name.startswith("DIR_") else expand(value).parent
        reason = folder_problem(folder)
        if reason:
            return f"{reason}。自分だけが書き込めるディレクトリ(例: ホームディレクトリの下)を指定してください"
    return None


def require_valid(**values) -> None:
    """Raise a HandsonError naming the first invalid setting, before any AWS call."""
    for name, value in values.items():
        reason = problem(name, value)
        if reason:
            raise HandsonError(f"設定値 {name} が正しくありません: {reason}。設定値の指定に戻って値を直し、もう一度実行してください。何も変更していません。", "InvalidSetting")


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
        alternative = name == "MFA_BOOTSTRAP_METHOD"  # either of AWS's two methods is a valid choice
        if reason is None and not alternative and actual != wanted.get(name, actual):
            reason = "期待値と異なります"
        rows.append(CheckRow(number, name, wanted.get(name, ""), str(actual), reason))
    return rows
