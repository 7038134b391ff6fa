"""GetSessionToken's temporary credentials, and who a verified request acts as.

GetSessionToken is answered here rather than by moto (which ignores the MFA code and hands out a
fixed example key): the code is checked against the device's seed by otp.py's model (its learned
clock offset, each code once, wrong codes throttled), a device of another user is refused, and the
session credentials are kept on the emulator's STS backend (so a reset forgets them) and in the
state file (so a restart keeps them until they expire). The patches at the end make moto's own
notion of the caller follow: a session acts as its user.

Imported only by the sandbox server process.
"""

from __future__ import annotations

import base64
import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from xml.sax.saxutils import escape

from . import emulator, faithful, otp
from .auth import Denied

STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
KEY_ALPHABET = string.ascii_uppercase + "234567"
# GetSessionToken for IAM users: 15 minutes to 36 hours, 12 hours when not given.
DEFAULT_SESSION_SECONDS = 43200
# Expired sessions are kept this long to answer ExpiredToken rather than InvalidClientTokenId.
KEEP_EXPIRED_SECONDS = 86400
# Sessions kept per user (the oldest goes first): AWS keeps none, the sandbox must save each one.
MAX_SESSIONS_PER_USER = 10
MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code."
MFA_HALF = "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code."


@dataclass
class Session:
    """Temporary credentials handed out by GetSessionToken."""

    key_id: str
    secret: str
    token: str
    user_name: str
    issued: float
    expiration: float
    mfa_serial: str | None  # the device whose code was given, or None (no MFA)
    user_id: str = ""  # the user's id: a user made again under the same name is someone else


@dataclass(frozen=True)
class Principal:
    """Who a verified request acts as."""

    kind: str  # "admin", "user" (long-term access key) or "session" (GetSessionToken)
    user_name: str = ""
    session: Session | None = None


ADMIN = Principal("admin")


def sessions() -> dict[str, Session]:
    """The sessions by key id, kept on the emulator's STS backend so that a reset forgets them too."""
    return emulator.sts_store("handson_sessions")


def expires(session: Session) -> str:
    return datetime.fromtimestamp(session.expiration, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----- GetSessionToken -----


def code_matches(device, code: str, now: float | None = None) -> bool:
    """One TOTP code of the device, as otp.py's model accepts it (its learned clock, each code
    once); Denied with Throttling after too many wrong codes."""
    if otp.throttled(device, now):
        raise Denied(400, *otp.THROTTLED)
    return otp.accept_code(device, code, now)


def _new_session(user_name: str, seconds: int, serial: str | None, now: float) -> Session:
    key_id = "ASIA" + "".join(secrets.choice(KEY_ALPHABET) for _ in range(16))
    secret = base64.b64encode(secrets.token_bytes(30)).decode()
    token = "IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(270)).decode()
    return Session(key_id, secret, token, user_name, now, now + seconds, serial)


def _duration(params: dict[str, str]) -> int:
    seconds = int(params.get("DurationSeconds") or DEFAULT_SESSION_SECONDS)
    if not 900 <= seconds <= 129600:
        raise Denied(
            400,
            "ValidationError",
            f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: "
            "Member must have value between 900 and 129600",
        )
    return seconds


def get_session_token(who: Principal, params: dict[str, str], now: float | None = None) -> bytes:
    """AWS's answer to GetSessionToken by an IAM user's long-term key (authorize() refused the rest)."""
    now = time.time() if now is None else now
    serial, code = params.get("SerialNumber"), params.get("TokenCode")
    if bool(serial) != bool(code):
        raise Denied(403, "AccessDenied", MFA_HALF)
    seconds = _duration(params)
    iam = emulator.iam()
    user = iam.get_user(who.user_name)
    if serial:
        device = iam.virtual_mfa_devices.get(serial)
        # another user's device or a wrong code: the same answer (and no failure counted on another's device)
        if code is None or serial not in user.mfa_devices or device is None or not code_matches(device, code, now):
            raise Denied(403, "AccessDenied", MFA_FAILED)
    session = _new_session(user.name, seconds, serial or None, now)
    session.user_id = user.id
    kept = sessions()
    mine = sorted((s for s in kept.values() if s.user_name == user.name), key=lambda s: s.issued)
    for old in mine[: max(0, len(mine) - MAX_SESSIONS_PER_USER + 1)]:  # the state file stays small
        del kept[old.key_id]
    kept[session.key_id] = session
    return (
        f'<GetSessionTokenResponse xmlns="{STS_XMLNS}"><GetSessionTokenResult><Credentials>'
        f"<AccessKeyId>{session.key_id}</AccessKeyId><SecretAccessKey>{escape(session.secret)}</SecretAccessKey>"
        f"<SessionToken>{escape(session.token)}</SessionToken><Expiration>{expires(session)}</Expiration>"
        f"</Credentials></GetSessionTokenResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>"
        f"</ResponseMetadata></GetSessionTokenResponse>"
    ).encode()


# ----- the emulator's own notion of the caller, for session keys -----


def create_user(self, region_name, user_name, path="/", tags=None):
    """User ids as AWS makes them ("AIDA" and 17 characters), since get-caller-identity shows them."""
    user = faithful.create_user(self, region_name, user_name, path, tags)
    user.id = "AIDA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(17))
    return user


def update_user(self, user_name, new_path=None, new_user_name=None):
    """A renamed user's sessions stay the user's (AWS ties them to the user, not the name)."""
    faithful.update_user(self, user_name, new_path, new_user_name)
    if new_user_name:
        for session in sessions().values():
            if session.user_name == user_name:
                session.user_name = new_user_name


def get_caller_identity(self, access_key_id, region):
    """GetSessionToken credentials are the user's: AWS answers with the user's id and ARN."""
    session = sessions().get(access_key_id)
    iam = emulator.iam()
    if session is not None and session.user_name in iam.users:
        user = iam.get_user(session.user_name)
        return user.id, user.arn, user.account_id
    return faithful.get_caller_identity(self, access_key_id, region)


def get_user_from_access_key_id(self, access_key_id):
    session = sessions().get(access_key_id)
    if session is not None:
        return self.users.get(session.user_name)
    return emulator.original("IAMBackend.get_user_from_access_key_id")(self, access_key_id)


PATCHES: dict[str, Callable] = {
    "STSBackend.get_caller_identity": get_caller_identity,
    "IAMBackend.create_user": create_user,
    "IAMBackend.update_user": update_user,
    "IAMBackend.get_user_from_access_key_id": get_user_from_access_key_id,
}


def apply() -> None:
    """Install the patches above (idempotent); after faithful.apply, whose rules they wrap."""
    emulator.install(PATCHES)


# ----- the state file (store.py) -----


def forget_sessions(user_name: str) -> None:
    """End every session of a user now (AWS cannot; the room does when a name changes hands)."""
    kept = sessions()
    for key_id in [k for k, s in kept.items() if s.user_name == user_name]:
        del kept[key_id]


def snapshot_sessions(now: float | None = None) -> list[dict]:
    now = time.time() if now is None else now
    return [asdict(s) for s in sessions().values() if s.expiration + KEEP_EXPIRED_SECONDS > now]


def check_sessions(items) -> None:
    if not isinstance(items, list):
        raise ValueError("unexpected state: sessions")
    for item in items:
        ok = isinstance(item, dict) and all(
            isinstance(item.get(k), str) for k in ("key_id", "secret", "token", "user_name")
        )
        ok = ok and all(isinstance(item.get(k), (int, float)) for k in ("issued", "expiration"))
        ok = ok and isinstance(item.get("mfa_serial"), (str, type(None))) and isinstance(item.get("user_id", ""), str)
        if not ok:
            raise ValueError("unexpected state: session")


def restore_sessions(items: list[dict]) -> None:
    kept = sessions()
    for item in items:
        # files saved before user_id: ""
        session = Session(**{k: item[k] for k in Session.__dataclass_fields__ if k in item})
        kept[session.key_id] = session
