"""Who is calling, and may they: the sandbox's IAM users, their policies and their MFA sessions.

The learner's own sandbox key stays the administrator (an assumed-role session, see faithful.py)
and is never evaluated against a policy. A request signed with an IAM user's access key acts as
that user; one signed with temporary credentials from GetSessionToken acts as the same user, with
``aws:MultiFactorAuthPresent`` true when a code of the user's MFA device was given. Either is
evaluated against the user's inline, attached and group policies as AWS does: an explicit Deny
wins, else an Allow is needed.

The evaluation itself is moto's (``moto.iam.access_control``: policy collection, Action/NotAction,
Resource, Effect). What it lacks is patched here and nothing more: condition operators beyond
StringEquals (``Bool``, ``Numeric…``, ``…IfExists``, ``Null``), the rule that a condition on an
absent key is false unless ``…IfExists``, the rule that an unmet condition makes a statement not
apply (moto turns it into a Deny), the request context (``aws:MultiFactorAuthPresent``,
``aws:MultiFactorAuthAge``, ``aws:username``, …) and policy variables such as ``${aws:username}``.

GetSessionToken is answered here rather than by moto (which ignores the MFA code and hands out a
fixed example key): the code is checked against the device's seed with the same windows as
EnableMFADevice, a device of another user is refused, and the session credentials are kept on the
STS backend (so a reset forgets them) and in the state file (so a restart keeps them until they
expire).

Imported only by the sandbox server process.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from xml.sax.saxutils import escape

import pyotp
from moto.iam import access_control, models
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, IAMUserAccessKey, PermissionResult
from moto.sts import models as sts_models

from ..rules import ACCOUNT_ID, acts_on_caller
from . import faithful, wildcard
from .auth import Denied

PARTITION = "aws"
STS_XMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
KEY_ALPHABET = string.ascii_uppercase + "234567"
# GetSessionToken for IAM users: 15 minutes to 36 hours, 12 hours when not given.
DEFAULT_SESSION_SECONDS = 43200
# Expired sessions are kept this long to answer ExpiredToken rather than InvalidClientTokenId.
KEEP_EXPIRED_SECONDS = 86400
# Sessions kept per user (the oldest goes first): AWS keeps none, the sandbox must save each one.
MAX_SESSIONS_PER_USER = 10
# Calls that need no permission: AWS cannot deny them by policy.
ALWAYS_ALLOWED = {"sts:GetCallerIdentity", "sts:GetSessionToken"}
MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code."
SESSION_REFUSED = "Cannot call GetSessionToken with session credentials"


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
_admin_key_id = ""


def _sessions() -> dict[str, Session]:
    """The sessions, kept on moto's STS backend so that a reset of moto forgets them too."""
    backend = sts_models.sts_backends[ACCOUNT_ID][PARTITION]
    if not hasattr(backend, "handson_sessions"):
        backend.handson_sessions = {}
    return backend.handson_sessions


def _iam() -> models.IAMBackend:
    return models.iam_backends[ACCOUNT_ID][PARTITION]


def _user_key(key_id: str):
    key = _iam().access_keys.get(key_id)
    return key if key is not None and key.user_name else None


# ----- who is calling (used by auth.verify through SandboxApp.caller_secret) -----


def secret_for(key_id: str, token: str | None, now: float | None = None) -> str | None:
    """The secret that must have signed a request with ``key_id`` (and ``token``), None when the
    key is unknown; Denied for a known key used wrongly (expired session)."""
    if key_id == _admin_key_id:
        return None  # the administrator's secret is the server's own (SandboxApp.secrets)
    session = _sessions().get(key_id)
    if session is not None:
        user = _iam().users.get(session.user_name)
        if not token or not hmac.compare_digest(token.encode(), session.token.encode()) or user is None or (session.user_id and user.id != session.user_id):
            return None  # a wrong token, or a user deleted (even if one of that name was made again)
        if (time.time() if now is None else now) >= session.expiration:
            raise Denied(403, "ExpiredToken", "The security token included in the request is expired")
        return session.secret
    key = _user_key(key_id)
    if key is None or key.status != "Active" or token:
        return None  # unknown, inactive, or a long-term key sent with a session token: AWS says invalid
    return key.secret_access_key


def principal(key_id: str) -> Principal:
    if key_id == _admin_key_id:
        return ADMIN
    session = _sessions().get(key_id)
    if session is not None:
        user = _iam().users.get(session.user_name)
        if user is None or (session.user_id and user.id != session.user_id):  # deleted while the request waited
            raise Denied(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
        return Principal("session", session.user_name, session)
    key = _user_key(key_id)
    if key is None:  # verified a moment ago, deleted since: treat as unknown
        raise Denied(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    return Principal("user", key.user_name)


# ----- the request context and conditions moto lacks -----


def context(who: Principal, region: str, now: float | None = None) -> dict[str, str]:
    """AWS's global condition keys for a request (lower-case: condition keys ignore case)."""
    now = time.time() if now is None else now
    user = _iam().get_user(who.user_name)
    values = {
        "aws:username": user.name,
        "aws:userid": user.id,
        "aws:principalarn": user.arn,
        "aws:principalaccount": ACCOUNT_ID,
        "aws:principaltype": "User",
        "aws:currenttime": datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:epochtime": str(int(now)),
        "aws:securetransport": "false",
        "aws:requestedregion": region,
    }
    if who.session is not None:  # long-term keys carry no MFA keys at all: hence BoolIfExists
        values["aws:tokenissuetime"] = datetime.fromtimestamp(who.session.issued, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        values["aws:multifactorauthpresent"] = "true" if who.session.mfa_serial else "false"
        if who.session.mfa_serial:
            values["aws:multifactorauthage"] = str(max(0, int(now - who.session.issued)))
    return values


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    if re.fullmatch(r"-?[0-9]+", text):
        return float(text)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _compare(convert, test):
    def check(expected: str, actual: str) -> bool:
        a, b = convert(actual), convert(expected)
        return a is not None and b is not None and test(a, b)

    return check


# operator -> (test(expected, actual), negated): a negated operator holds when no value matches
OPERATORS = {
    "StringEquals": (lambda e, a: a == e, False),
    "StringNotEquals": (lambda e, a: a == e, True),
    "StringEqualsIgnoreCase": (lambda e, a: a.lower() == e.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda e, a: a.lower() == e.lower(), True),
    "StringLike": (wildcard.matches, False),
    "StringNotLike": (wildcard.matches, True),
    "ArnEquals": (wildcard.matches, False),
    "ArnLike": (wildcard.matches, False),
    "ArnNotEquals": (wildcard.matches, True),
    "ArnNotLike": (wildcard.matches, True),
    "Bool": (lambda e, a: a.lower() == e.lower(), False),
    "NumericEquals": (_compare(_number, lambda a, b: a == b), False),
    "NumericNotEquals": (_compare(_number, lambda a, b: a == b), True),
    "NumericLessThan": (_compare(_number, lambda a, b: a < b), False),
    "NumericLessThanEquals": (_compare(_number, lambda a, b: a <= b), False),
    "NumericGreaterThan": (_compare(_number, lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (_compare(_number, lambda a, b: a >= b), False),
    "DateEquals": (_compare(_date, lambda a, b: a == b), False),
    "DateNotEquals": (_compare(_date, lambda a, b: a == b), True),
    "DateLessThan": (_compare(_date, lambda a, b: a < b), False),
    "DateLessThanEquals": (_compare(_date, lambda a, b: a <= b), False),
    "DateGreaterThan": (_compare(_date, lambda a, b: a > b), False),
    "DateGreaterThanEquals": (_compare(_date, lambda a, b: a >= b), False),
}


def conditions_met(block: dict | None, values: dict[str, str] | None) -> bool:
    """AWS's rules for a statement's Condition block: every operator and every key must hold.

    A key absent from the request makes its condition false, except with ``…IfExists`` (true)
    and ``Null`` (which asks exactly that). An operator the sandbox does not know fails closed.
    """
    if not block:
        return True
    values = values or {}
    for operator, keys in block.items():
        if not isinstance(keys, dict):
            return False
        base, if_exists = (operator[: -len("IfExists")], True) if operator.endswith("IfExists") else (operator, False)
        for key, expected in keys.items():
            wanted = [str(v).lower() if isinstance(v, bool) else str(v) for v in (expected if isinstance(expected, list) else [expected])]
            actual = values.get(key.lower())
            if base == "Null":
                if (actual is None) != (wanted[0].lower() == "true"):
                    return False
                continue
            if actual is None:
                if if_exists:
                    continue
                return False
            if base not in OPERATORS:
                return False
            test, negated = OPERATORS[base]
            matched = any(test(value, actual) for value in wanted)
            if matched == negated:
                return False
    return True


_moto_statement_check = IAMPolicyStatement.is_action_permitted


def _statement_is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    """moto decides Action/NotAction, Resource and Effect; an unmet Condition makes the
    statement not apply (NEUTRAL), as in AWS, rather than moto's DENIED."""
    result = _moto_statement_check(self, action, resource, principal, None)
    if result is PermissionResult.NEUTRAL or conditions_met(self._statement.get("Condition"), incoming_condition_values):
        return result
    return PermissionResult.NEUTRAL


def _conditions_checked_above(self, incoming_condition_values) -> bool:
    return True  # moto's own check (StringEquals only, absent keys count as met) is replaced above


def _match(pattern: str, string: str) -> bool | None:
    """AWS's wildcards (wildcard.py) for moto's Action, NotAction and Resource: moto reads the
    rest as a regular expression, so a ``.`` or ``+`` in a name would match other names, and
    many ``*`` would backtrack for hours. None for no match, as moto's caller tests for."""
    return True if isinstance(pattern, str) and wildcard.matches(pattern, string) else None


# ----- what a call acts on, and the verdict -----


def _user_arn(name: str) -> str:
    user = _iam().users.get(name)
    return user.arn if user is not None else f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"


def resource_of(service: str, action: str, params: dict[str, str], who: Principal) -> str:
    """The ARN an action acts on, as AWS names it in its AccessDenied message."""
    if service == "iam":
        if "SerialNumber" in params and "UserName" not in params:
            return params["SerialNumber"]
        if action == "CreateUser":
            return f"arn:aws:iam::{ACCOUNT_ID}:user{params.get('Path') or '/'}{params.get('UserName', '')}"
        if action == "CreateVirtualMFADevice":
            path = params.get("Path") or "/"
            return f"arn:aws:iam::{ACCOUNT_ID}:mfa{path}{params.get('VirtualMFADeviceName', '')}"
        if action == "ListUsers":
            return f"arn:aws:iam::{ACCOUNT_ID}:user{params.get('PathPrefix') or '/'}"
        if action == "GetAccessKeyLastUsed":  # the key's owner, whoever asks
            key = _iam().access_keys.get(params.get("AccessKeyId", ""))
            return _user_arn(key.user_name) if key is not None and key.user_name else "*"
        if "UserName" in params or action == "ChangePassword":  # caller_defaults filled UserName in
            return _user_arn(params.get("UserName") or who.user_name)
    return "*"


def resources_of(service: str, action: str, params: dict[str, str], who: Principal) -> list[str]:
    """Every ARN the call needs permission on: a rename needs both the old and the new user, as in AWS."""
    resources = [resource_of(service, action, params, who)]
    if service == "iam" and action == "UpdateUser" and (params.get("NewUserName") or params.get("NewPath")):
        user = _iam().users.get(params.get("UserName", ""))
        path = params.get("NewPath") or (user.path if user is not None else "/")
        resources.append(f"arn:aws:iam::{ACCOUNT_ID}:user{path}{params.get('NewUserName') or params.get('UserName', '')}")
    return resources


def _documents(user_name: str) -> list:
    """The user's policies (inline, attached, groups'), as moto collects them."""
    return IAMUserAccessKey.collect_policies(_Owner(user_name))  # type: ignore[arg-type]  # duck-typed: only .backend and .user_name are read


class _Owner:
    """Just enough of moto's IAMUserAccessKey for its collect_policies()."""

    def __init__(self, user_name: str):
        self._owner_user_name = user_name
        self.backend = _iam()


def _with_variables(policy, values: dict[str, str]) -> str:
    """The policy document with ``${aws:username}`` and the like replaced, as AWS does."""
    if isinstance(policy, models.Policy):
        document = next(v.document for v in policy.versions if v.is_default)
    elif isinstance(policy, str):
        document = policy
    else:
        document = policy["policy_document"]
    if not isinstance(document, str):
        document = json.dumps(document)

    def substitute(match: re.Match) -> str:
        return json.dumps(values.get(match.group(1).lower(), match.group(0)))[1:-1]

    return re.sub(r"\$\{([A-Za-z0-9:]+)\}", substitute, document)


def evaluate(who: Principal, service: str, action: str, resource: str, values: dict[str, str]) -> str:
    """ "allowed", "explicit" (an explicit Deny) or "implicit" (no Allow), with moto's IAMPolicy."""
    full_action = f"{service}:{action}"
    allowed = False
    for policy in _documents(who.user_name):
        result = IAMPolicy(_with_variables(policy, values)).is_action_permitted(full_action, resource, None, values)
        if result is PermissionResult.DENIED:
            return "explicit"
        if result is PermissionResult.PERMITTED:
            allowed = True
    return "allowed" if allowed else "implicit"


def _no_boundary(user_name: str) -> str | None:
    return None


# The permissions boundary of an IAM user (a policy document), if any: set by the room (room.py).
boundary_of: Callable[[str], str | None] = _no_boundary


def _no_room_rule(who: Principal, service: str, action: str, params: dict[str, str]) -> tuple[str, str] | None:
    return None


# A workshop room's own rule beyond IAM's, for every caller (room.py): None, or the resource and why not.
room_rule: Callable[[Principal, str, str, dict[str, str]], tuple[str, str] | None] = _no_room_rule


def bounded(who: Principal, service: str, action: str, resource: str, values: dict[str, str]) -> bool:
    """Whether the user's permissions boundary, if it has one, allows the call (AWS needs both)."""
    document = boundary_of(who.user_name)
    if document is None:
        return True
    result = IAMPolicy(_with_variables(document, values)).is_action_permitted(f"{service}:{action}", resource, None, values)
    return result is PermissionResult.PERMITTED


def caller_defaults(who: Principal, service: str, action: str, params: dict[str, str]) -> None:
    """An omitted UserName is the signing key's user, for the permission check and for the call
    alike (moto would act on whoever owns the AccessKeyId given); a role session has no user."""
    if service != "iam" or params.get("UserName") or not acts_on_caller(action):
        return
    if who.kind == "admin":
        raise Denied(400, "ValidationError", "Must specify userName when calling with non-User credentials")
    params["UserName"] = who.user_name


def authorize(key_id: str, service: str, action: str, params: dict[str, str], region: str) -> Principal:
    """Denied with AWS's answer when the caller may not make this call; else who it is.
    Fills in ``params`` what AWS reads from the caller (caller_defaults)."""
    who = principal(key_id)
    full_action = f"{service}:{action}"
    caller_defaults(who, service, action, params)
    refused = room_rule(who, service, action, params)
    if refused is not None:
        arn = faithful.ADMIN_ARN if who.kind == "admin" else _user_arn(who.user_name)
        raise Denied(403, "AccessDenied", f"User: {arn} is not authorized to perform: {full_action} on resource: {refused[0]} because {refused[1]}")
    if who.kind == "admin":
        if full_action == "sts:GetSessionToken":  # the learner's role session, as in CloudShell
            raise Denied(403, "AccessDenied", SESSION_REFUSED)
        return who
    if who.kind == "session":
        if service == "sts" and action not in ("GetCallerIdentity", "AssumeRole"):
            raise Denied(403, "AccessDenied", SESSION_REFUSED if action == "GetSessionToken" else f"Cannot call {action} with session credentials")
        if service == "iam" and not (who.session and who.session.mfa_serial):
            raise Denied(403, "InvalidClientTokenId", "The security token included in the request is invalid")
    if full_action in ALWAYS_ALLOWED:
        return who
    values = context(who, region)
    for resource in resources_of(service, action, params, who):
        verdict = evaluate(who, service, action, resource, values)
        if verdict == "allowed" and not bounded(who, service, action, resource, values):
            verdict = "boundary"
        if verdict != "allowed":
            break
    if verdict != "allowed":
        why = {
            "explicit": "with an explicit deny in an identity-based policy",
            "boundary": f"because no permissions boundary allows the {full_action} action",
        }.get(verdict, f"because no identity-based policy allows the {full_action} action")
        raise Denied(403, "AccessDenied", f"User: {_user_arn(who.user_name)} is not authorized to perform: {full_action} on resource: {resource} {why}")
    return who


# ----- GetSessionToken -----


def code_matches(seed: str, code: str, now: float | None = None) -> bool:
    """One TOTP code of the device, in the windows EnableMFADevice accepts for its second code."""
    if not re.fullmatch(r"[0-9]{6}", code or "", re.ASCII):
        return False
    totp = pyotp.TOTP(seed)
    current = int((time.time() if now is None else now) // totp.interval)
    return any(secrets.compare_digest(totp.at(window * totp.interval), code) for window in range(current - faithful.ACCEPT_PAST_WINDOWS, current + faithful.ACCEPT_FUTURE_WINDOWS + 1))


def _new_session(user_name: str, seconds: int, serial: str | None, now: float) -> Session:
    key_id = "ASIA" + "".join(secrets.choice(KEY_ALPHABET) for _ in range(16))
    secret = base64.b64encode(secrets.token_bytes(30)).decode()
    token = "IQoJb3JpZ2luX2VjE" + base64.b64encode(secrets.token_bytes(270)).decode()
    return Session(key_id, secret, token, user_name, now, now + seconds, serial)


def get_session_token(who: Principal, params: dict[str, str], now: float | None = None) -> bytes:
    """AWS's answer to GetSessionToken by an IAM user's long-term key (authorize() refused the rest)."""
    now = time.time() if now is None else now
    serial, code = params.get("SerialNumber"), params.get("TokenCode")
    if bool(serial) != bool(code):
        raise Denied(403, "AccessDenied", "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.")
    user = _iam().get_user(who.user_name)
    if serial:
        device = _iam().virtual_mfa_devices.get(serial)
        if code is None or serial not in user.mfa_devices or device is None or not code_matches(device.base32_string_seed, code, now):
            raise Denied(403, "AccessDenied", MFA_FAILED)  # another user's device or a wrong code: the same answer
    seconds = int(params.get("DurationSeconds") or DEFAULT_SESSION_SECONDS)
    if not 900 <= seconds <= 129600:
        raise Denied(400, "ValidationError", f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value between 900 and 129600")
    session = _new_session(user.name, seconds, serial or None, now)
    session.user_id = user.id
    sessions = _sessions()
    mine = sorted((s for s in sessions.values() if s.user_name == user.name), key=lambda s: s.issued)
    for old in mine[: max(0, len(mine) - MAX_SESSIONS_PER_USER + 1)]:  # the state file stays small
        del sessions[old.key_id]
    sessions[session.key_id] = session
    expiration = datetime.fromtimestamp(session.expiration, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'<GetSessionTokenResponse xmlns="{STS_XMLNS}"><GetSessionTokenResult><Credentials>'
        f"<AccessKeyId>{session.key_id}</AccessKeyId><SecretAccessKey>{escape(session.secret)}</SecretAccessKey>"
        f"<SessionToken>{escape(session.token)}</SessionToken><Expiration>{expiration}</Expiration>"
        f"</Credentials></GetSessionTokenResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>"
        f"</ResponseMetadata></GetSessionTokenResponse>"
    ).encode()


def answer(key_id: str, service: str, action: str, params: dict[str, str], region: str) -> bytes | None:
    """The server's one hook after validation: Denied when the caller may not; the sandbox's own
    answer for GetSessionToken; None to let moto answer."""
    who = authorize(key_id, service, action, params, region)
    if service == "sts" and action == "GetSessionToken":
        return get_session_token(who, params)
    return None


# ----- moto's own notion of the caller, for session keys -----

_prev_create_user = faithful.create_user
_prev_caller_identity = faithful.get_caller_identity


def create_user(self, region_name, user_name, path="/", tags=None):
    """User ids as AWS makes them ("AIDA" and 17 characters), since get-caller-identity shows them."""
    user = _prev_create_user(self, region_name, user_name, path, tags)
    user.id = "AIDA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(17))
    return user


_prev_update_user = faithful.update_user


def update_user(self, user_name, new_path=None, new_user_name=None):
    """A renamed user's sessions stay the user's (AWS ties them to the user, not the name)."""
    _prev_update_user(self, user_name, new_path, new_user_name)
    if new_user_name:
        for session in _sessions().values():
            if session.user_name == user_name:
                session.user_name = new_user_name


_moto_user_from_key = models.IAMBackend.get_user_from_access_key_id


def get_caller_identity(self, access_key_id, region):
    """GetSessionToken credentials are the user's: AWS answers with the user's id and ARN."""
    session = _sessions().get(access_key_id)
    if session is not None and session.user_name in _iam().users:
        user = _iam().get_user(session.user_name)
        return user.id, user.arn, user.account_id
    return _prev_caller_identity(self, access_key_id, region)


def get_user_from_access_key_id(self, access_key_id):
    session = _sessions().get(access_key_id)
    if session is not None:
        return self.users.get(session.user_name)
    return _moto_user_from_key(self, access_key_id)


# ----- the state file (store.py) -----


def forget_sessions(user_name: str) -> None:
    """End every session of a user now (AWS cannot; the room does when a name changes hands)."""
    sessions = _sessions()
    for key_id in [k for k, s in sessions.items() if s.user_name == user_name]:
        del sessions[key_id]


def snapshot_sessions(now: float | None = None) -> list[dict]:
    now = time.time() if now is None else now
    return [asdict(s) for s in _sessions().values() if s.expiration + KEEP_EXPIRED_SECONDS > now]


def check_sessions(items) -> None:
    if not isinstance(items, list):
        raise ValueError("unexpected state: sessions")
    for item in items:
        ok = isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("key_id", "secret", "token", "user_name"))
        ok = ok and all(isinstance(item.get(k), (int, float)) for k in ("issued", "expiration"))
        if not ok or not isinstance(item.get("mfa_serial"), (str, type(None))) or not isinstance(item.get("user_id", ""), str):
            raise ValueError("unexpected state: session")


def restore_sessions(items: list[dict]) -> None:
    sessions = _sessions()
    for item in items:
        session = Session(**{k: item[k] for k in Session.__dataclass_fields__ if k in item})  # files saved before user_id: ""
        sessions[session.key_id] = session


def apply(admin_key_id: str) -> None:
    """Install the patches (idempotent); call after faithful.apply."""
    global _admin_key_id
    _admin_key_id = admin_key_id
    IAMPolicyStatement.is_action_permitted = _statement_is_action_permitted
    IAMPolicyStatement._check_conditions = _conditions_checked_above
    IAMPolicyStatement._match = staticmethod(_match)
    sts_models.STSBackend.get_caller_identity = get_caller_identity
    models.IAMBackend.create_user = create_user
    models.IAMBackend.update_user = update_user
    models.IAMBackend.get_user_from_access_key_id = get_user_from_access_key_id
    assert access_control.IAMPolicyStatement is IAMPolicyStatement
