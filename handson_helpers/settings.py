"""The hands-on's settings (設定値): the seed's values, participant scoping and the check table, and
the environment's settings (``Settings``), read once."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from . import rules
from .errors import HandsonError
from .safefs import folder_problem
from .texts import settings as texts

SEED_USER_NAME = "handson-cli-basic-user"
SEED_USER_PATH = "/handson-cli/"
SEED_DEVICE_NAME = "handson-cli-basic-user-mfa"
SEED_BACKUP_DEVICE_NAME = "handson-cli-basic-user-mfa-backup"  # 45's second device
SEED_MFA_BOOTSTRAP_METHOD = "QRCodePNG"
SEED_DIR_MFA_OUTFILE = "${HOME}/environment/tmp-handson-cli-iam-user-basic"
# 3.1 and 40: the access key file lives beside the QR file, in the hands-on's own folder.
SEED_DIR_ACCESS_KEY = "${HOME}/environment/tmp-handson-cli-iam-user-basic"
KIT_POLICY_NAME = "handson-cli-require-mfa"  # the inline policy of 40
MANAGE_MFA_POLICY_NAME = "handson-cli-manage-own-mfa"  # the inline policy of 45
KIT_POLICY_NAMES = (KIT_POLICY_NAME, MANAGE_MFA_POLICY_NAME)  # 後始末 deletes only these names
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
    "MFA_BACKUP_DEVICE_NAME": ("CreateVirtualMFADevice", "VirtualMFADeviceName"),
    "MFA_POLICY_NAME": ("PutUserPolicy", "PolicyName"),
}
LABELS = texts.LABELS
PATH_SETTINGS = ("DIR_MFA_OUTFILE", "FILE_MFA_OUTFILE", "DIR_ACCESS_KEY", "FILE_ACCESS_KEY", "FILE_MFA_BACKUP_OUTFILE")
TARGETS = ("sandbox", "aws")
BOOTSTRAP_METHODS = ("QRCodePNG", "Base32StringSeed")
SANDBOX_MODES = ("private", "room")
# 先生を呼ぶ (HANDSON_HELP): offered only where a helper who opens a participant's server cannot lose their
# hub session to it: per-user subdomains (c.JupyterHub.subdomain_host), or the operator's explicit opt-in.
HELP_MODES = ("subdomains", "same-origin")


def _text(raw: str) -> str:
    return raw.strip()


def _word(raw: str) -> str:
    return raw.strip().lower()


def _setting(variable: str, help: str, parse=_text, default: str = "", secret: bool = False):
    """A field of Settings: the environment variable it is read from, what it means, how it is read."""
    metadata = {"variable": variable, "help": help, "parse": parse, "default": default}
    return field(default=parse(default), repr=not secret, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """What the environment says about this run, read once (``Settings.read``): each field names its
    variable, its default and what it means, as JupyterHub's services declare their configuration.

    connect() reads it and its Context carries it; the steps take it from there. What a value means
    is checked where it is used (``target_problem``, ``sandbox_mode``), so that 01 can show a bad one
    as a ✘ row instead of stopping.
    """

    target: str = _setting("HANDSON_TARGET", "sandbox (default, offline) or aws (explicit opt-in)", _word, "sandbox")
    sandbox: str = _setting(
        "HANDSON_SANDBOX", "private (one per learner), or room (a JupyterHub room's)", _word, "private"
    )
    named_participant: str = _setting("HANDSON_PARTICIPANT", "the participant id outside a room (else JUPYTERHUB_USER)")
    hub_user: str = _setting("JUPYTERHUB_USER", "the JupyterHub user (set by the hub)")
    room_url: str = _setting("HANDSON_ROOM_URL", "the room sandbox's http://host:port (set by the hub)")
    room_uid: str = _setting("HANDSON_ROOM_UID", "the uid the room sandbox runs as (set by the hub)", default="0")
    hub_token: str = _setting("JUPYTERHUB_API_TOKEN", "the server's hub token (sent to the room only)", secret=True)
    allowed_account: str = _setting("HANDSON_AWS_ACCOUNT_ID", "the one real AWS account the kit may change")
    auto_mfa: bool = _setting(
        "HANDSON_AUTO_MFA", "1: the kit reads the QR file as a phone would (demos, CI)", lambda raw: raw == "1"
    )
    help: str = _setting(
        "HANDSON_HELP",
        "先生を呼ぶ (set by the hub, for the room and the servers): subdomains (each server on its own origin,"
        " c.JupyterHub.subdomain_host), or same-origin: the operator accepts that a helper who opens a"
        " participant's server runs that participant's JavaScript on the hub's own origin, where it can act"
        " with the helper's hub session; else no button",
        _word,
    )
    endpoint_override: str = _setting(
        "AWS_ENDPOINT_URL", "an endpoint override (also AWS_ENDPOINT_URL_IAM/_STS); refused with HANDSON_TARGET=aws"
    )

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings from ``environ`` (the process's environment): the one place the kit reads it."""
        env = os.environ if environ is None else environ
        values = {
            f.name: f.metadata["parse"](env.get(f.metadata["variable"]) or f.metadata["default"]) for f in fields(cls)
        }
        # the two whose default is another variable
        values["sandbox"] = _word(env.get("HANDSON_SANDBOX") or ("room" if env.get("HANDSON_ROOM_URL") else "private"))
        values["named_participant"] = _text(env.get("HANDSON_PARTICIPANT") or env.get("JUPYTERHUB_USER") or "")
        overrides = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL_STS")
        values["endpoint_override"] = next((env[name] for name in overrides if env.get(name)), "")
        return cls(**values)

    @property
    def target_problem(self) -> str | None:
        """Why HANDSON_TARGET cannot be used (Japanese), or None."""
        return None if self.target in TARGETS else texts.BAD_TARGET.format(target=self.target)

    @property
    def sandbox_mode(self) -> str:
        """``HANDSON_SANDBOX``: ``room`` on a hub that runs the room service (HANDSON_ROOM_URL), else ``private``."""
        if self.sandbox not in SANDBOX_MODES:
            raise HandsonError(texts.BAD_SANDBOX_MODE.format(mode=self.sandbox), "BadSandboxMode")
        return self.sandbox

    @property
    def help_offered(self) -> bool:
        """先生を呼ぶ is offered (HELP_MODES): the hub gives each server its own origin, or the operator opted in."""
        return self.help in HELP_MODES

    @property
    def participant_id(self) -> str:
        """The raw workshop participant id (HANDSON_PARTICIPANT, else JUPYTERHUB_USER), or "".

        In a JupyterHub room it is the hub user alone: the room's keys reach only that user's names.
        """
        if self.hub_user and self.sandbox_mode == "room":
            return self.hub_user
        return self.named_participant


def load() -> Settings:
    """This process's settings, for what runs before connect() (設定値の指定 and 設定値の確認)."""
    return Settings.read()


def participant(raw: str | None = None) -> str:
    """The participant's name suffix: distinct participant ids never share one.

    An id that is already a short lower-case IAM name is used as it is; any other (cut,
    replaced, upper-case, non-ASCII, or one that looks like a hashed suffix) becomes a readable
    part plus 8 hex digits of its SHA-256. Lower case only, because IAM user names are unique
    regardless of case.
    """
    raw = load().participant_id if raw is None else raw
    if not raw:
        return ""
    if PLAIN_PARTICIPANT_RE.fullmatch(raw) and not HASHED_RE.fullmatch(raw):
        return raw
    readable = re.sub(r"[^a-z0-9_.@=,+-]+", "-", raw.lower()).strip("-")[: PARTICIPANT_MAX - HASH_LEN - 1].strip("-")
    return f"{readable or 'p'}-{hashlib.sha256(raw.encode()).hexdigest()[:HASH_LEN]}"


def participant_tag(raw: str | None = None) -> dict | None:
    """The tag naming the participant on each resource (the raw id where IAM allows it)."""
    raw = load().participant_id if raw is None else raw
    if not raw:
        return None
    valid = (
        len(raw) <= 256
        and rules.check_value(rules.member_shape("iam", "TagUser", "Tags").member.members["Value"], "value", raw)
        is None
    )
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


def expected(who: str | None = None) -> dict[str, str]:
    """What each variable should hold for participant ``who`` (a raw id, else this process's): the
    upper lines of 設定値の確認."""
    who = load().participant_id if who is None else who
    user, device, backup = (
        scoped(SEED_USER_NAME, who),
        scoped(SEED_DEVICE_NAME, who),
        scoped(SEED_BACKUP_DEVICE_NAME, who),
    )
    return {
        "IAM_USER_NAME": user,
        "IAM_USER_PATH": SEED_USER_PATH,
        "MFA_DEVICE_NAME": device,
        "MFA_BOOTSTRAP_METHOD": SEED_MFA_BOOTSTRAP_METHOD,
        "DIR_MFA_OUTFILE": SEED_DIR_MFA_OUTFILE,
        "FILE_MFA_OUTFILE": mfa_outfile(SEED_DIR_MFA_OUTFILE, device),
        "DIR_ACCESS_KEY": SEED_DIR_ACCESS_KEY,
        "FILE_ACCESS_KEY": access_key_file(SEED_DIR_ACCESS_KEY, user),
        "POLICY_NAME": KIT_POLICY_NAME,
        "MFA_BACKUP_DEVICE_NAME": backup,
        "FILE_MFA_BACKUP_OUTFILE": mfa_outfile(SEED_DIR_MFA_OUTFILE, backup),
        "MFA_POLICY_NAME": MANAGE_MFA_POLICY_NAME,
    }


def _japanese(name: str, violation: rules.Violation, value: str) -> str:
    label = LABELS[name]
    if violation.kind == "max":
        return texts.TOO_LONG.format(label=label, limit=violation.limit, length=len(value))
    if violation.kind == "pattern" and name == "IAM_USER_PATH":
        return texts.BAD_PATH
    if violation.kind == "pattern" and name in ("POLICY_NAME", "MFA_POLICY_NAME"):
        return texts.BAD_POLICY_NAME.format(label=label)
    if violation.kind == "pattern":
        return texts.BAD_NAME.format(label=label)
    return texts.EMPTY


def problem(name: str, value) -> str | None:
    """Why IAM (or the kit) would refuse this value (Japanese), or None."""
    if not isinstance(value, str) or not value:
        return texts.EMPTY
    if name in API_PARAMETER:
        violation = rules.problem(*API_PARAMETER[name], value)
        return _japanese(name, violation, value) if violation else None
    if name == "MFA_BOOTSTRAP_METHOD" and value not in BOOTSTRAP_METHODS:
        return texts.BAD_METHOD.format(methods=texts.OR.join(BOOTSTRAP_METHODS))
    if name in PATH_SETTINGS:
        if any(c in value for c in "\0\n\r"):
            return texts.CONTROL_CHARACTERS
        folder = expand(value) if name.startswith("DIR_") else expand(value).parent
        reason = folder_problem(folder)
        if reason:
            return texts.UNSAFE_FOLDER.format(reason=reason)
    return None


def require_valid(**values) -> None:
    """Raise a HandsonError naming the first invalid setting, before any AWS call."""
    for name, value in values.items():
        reason = problem(name, value)
        if reason:
            raise HandsonError(texts.INVALID_SETTING.format(name=name, reason=reason), "InvalidSetting")


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


def check(values: dict[str, str], who: str | None = None) -> list[CheckRow]:
    """Compare each variable with its expected value: the check the seed asks to do by eye
    (``who``: the raw participant id, else this process's)."""
    wanted = expected(who)
    rows = []
    for number, (name, actual) in enumerate(values.items(), 1):
        reason = problem(name, actual)
        alternative = name == "MFA_BOOTSTRAP_METHOD"  # either of AWS's two methods is a valid choice
        if reason is None and not alternative and actual != wanted.get(name, actual):
            reason = texts.MISMATCH
        rows.append(CheckRow(number, name, wanted.get(name, ""), str(actual), reason))
    return rows
