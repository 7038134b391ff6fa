"""Who is calling, and may they: the sandbox's answer before the emulator's.

The learner's own sandbox key stays the administrator (an assumed-role session, see faithful.py)
and is never evaluated against a policy. A request signed with an IAM user's access key acts as
that user; one signed with temporary credentials from GetSessionToken (sessions.py) acts as the
same user, with ``aws:MultiFactorAuthPresent`` true when a code of the user's MFA device was given.
Either is evaluated against the user's policies (evaluation.py) and, in a workshop room, against
the room's boundary and rules (room.py installs them here).

Imported only by the sandbox server process.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

from ..rules import acts_on_caller
from . import emulator, evaluation, faithful, sessions
from .auth import Denied
from .sessions import ADMIN, Principal

# Calls that need no permission: AWS cannot deny them by policy.
ALWAYS_ALLOWED = {"sts:GetCallerIdentity", "sts:GetSessionToken"}
SESSION_REFUSED = "Cannot call GetSessionToken with session credentials"
INVALID_TOKEN = "The security token included in the request is invalid."
NO_MFA_SESSION = "The security token included in the request is invalid"  # AWS's, without the full stop
WHY_NOT = {
    "explicit": "with an explicit deny in an identity-based policy",
    "boundary": "because no permissions boundary allows the {action} action",
    "implicit": "because no identity-based policy allows the {action} action",
}
_admin_key_id = ""


def _user_key(key_id: str):
    key = emulator.iam().access_keys.get(key_id)
    return key if key is not None and key.user_name else None


def _same_user(session: sessions.Session) -> bool:
    """The session's user still exists and is the one it was issued to (not one made again under its name)."""
    user = emulator.iam().users.get(session.user_name)
    return user is not None and not (session.user_id and user.id != session.user_id)


# ----- who is calling (used by auth.verify through SandboxApp.caller_secret) -----


def secret_for(key_id: str, token: str | None, now: float | None = None) -> str | None:
    """The secret that must have signed a request with ``key_id`` (and ``token``), None when the
    key is unknown; Denied for a known key used wrongly (expired session)."""
    if key_id == _admin_key_id:
        return None  # the administrator's secret is the server's own (SandboxApp.secrets)
    session = sessions.sessions().get(key_id)
    if session is not None:
        if not token or not hmac.compare_digest(token.encode(), session.token.encode()) or not _same_user(session):
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
    session = sessions.sessions().get(key_id)
    if session is not None:
        if not _same_user(session):  # deleted while the request waited
            raise Denied(403, "InvalidClientTokenId", INVALID_TOKEN)
        return Principal("session", session.user_name, session)
    key = _user_key(key_id)
    if key is None:  # verified a moment ago, deleted since: treat as unknown
        raise Denied(403, "InvalidClientTokenId", INVALID_TOKEN)
    return Principal("user", key.user_name)


# ----- the room's hooks (room.install) -----


def _no_boundary(user_name: str) -> str | None:
    return None


# The permissions boundary of an IAM user (a policy document), if any: set by the room (room.py).
boundary_of: Callable[[str], str | None] = _no_boundary


def _no_room_rule(who: Principal, service: str, action: str, params: dict[str, str]) -> tuple[str, str] | None:
    return None


# A workshop room's own rule beyond IAM's, for every caller (room.py): None, or the resource and why not.
room_rule: Callable[[Principal, str, str, dict[str, str]], tuple[str, str] | None] = _no_room_rule


# ----- may they -----


def caller_defaults(who: Principal, service: str, action: str, params: dict[str, str]) -> None:
    """An omitted UserName is the signing key's user, for the permission check and for the call
    alike (moto would act on whoever owns the AccessKeyId given); a role session has no user."""
    if service != "iam" or params.get("UserName") or not acts_on_caller(action):
        return
    if who.kind == "admin":
        raise Denied(400, "ValidationError", "Must specify userName when calling with non-User credentials")
    params["UserName"] = who.user_name


def _refused(who: Principal, action: str, resource: str, why: str) -> Denied:
    arn = faithful.ADMIN_ARN if who.kind == "admin" else evaluation.user_arn(who.user_name)
    return Denied(
        403, "AccessDenied", f"User: {arn} is not authorized to perform: {action} on resource: {resource} {why}"
    )


def _credentials_refused(who: Principal, service: str, action: str) -> None:
    """What a role session or a GetSessionToken session may not call at all."""
    if who.kind == "admin" and (service, action) == ("sts", "GetSessionToken"):  # a role session, as in CloudShell
        raise Denied(403, "AccessDenied", SESSION_REFUSED)
    if who.kind == "session":
        if service == "sts" and action not in ("GetCallerIdentity", "AssumeRole"):
            message = (
                SESSION_REFUSED if action == "GetSessionToken" else f"Cannot call {action} with session credentials"
            )
            raise Denied(403, "AccessDenied", message)
        if service == "iam" and not (who.session and who.session.mfa_serial):
            raise Denied(403, "InvalidClientTokenId", NO_MFA_SESSION)


def _policies_allow(who: Principal, service: str, action: str, params: dict[str, str], region: str) -> None:
    """Denied unless the user's policies (and boundary) allow the call on every resource it acts on."""
    values = evaluation.context(who, region)
    boundary = boundary_of(who.user_name)
    for resource in evaluation.resources_of(service, action, params, who):
        verdict = evaluation.evaluate(who, service, action, resource, values)
        if verdict == "allowed" and not evaluation.bounded(boundary, service, action, resource, values):
            verdict = "boundary"
        if verdict != "allowed":
            full_action = f"{service}:{action}"
            raise _refused(who, full_action, resource, WHY_NOT[verdict].format(action=full_action))


def authorize(key_id: str, service: str, action: str, params: dict[str, str], region: str) -> Principal:
    """Denied with AWS's answer when the caller may not make this call; else who it is.
    Fills in ``params`` what AWS reads from the caller (caller_defaults)."""
    who = principal(key_id)
    caller_defaults(who, service, action, params)
    refused = room_rule(who, service, action, params)
    if refused is not None:
        raise _refused(who, f"{service}:{action}", refused[0], f"because {refused[1]}")
    _credentials_refused(who, service, action)
    if who.kind != "admin" and f"{service}:{action}" not in ALWAYS_ALLOWED:
        _policies_allow(who, service, action, params, region)
    return who


def answer(key_id: str, service: str, action: str, params: dict[str, str], region: str) -> bytes | None:
    """The server's one hook after validation: Denied when the caller may not; the sandbox's own
    answer for GetSessionToken; None to let the emulator answer."""
    who = authorize(key_id, service, action, params, region)
    if service == "sts" and action == "GetSessionToken":
        return sessions.get_session_token(who, params)
    return None


def apply(admin_key_id: str) -> None:
    """Evaluate with AWS's conditions from now on (idempotent); ``admin_key_id`` is never evaluated."""
    global _admin_key_id
    _admin_key_id = admin_key_id
    emulator.install_policy_check(evaluation.conditions_met)
