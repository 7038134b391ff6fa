"""Policy evaluation as AWS does it: the request context, conditions, what a call acts on, the verdict.

An IAM user's request is evaluated against the user's inline, attached and group policies: an
explicit Deny wins, else an Allow is needed. Matching Action/NotAction, Resource and Effect is the
emulator's (moto's ``access_control``, through emulator.py, with wildcard.py's matcher); what it
lacks is here: condition operators beyond StringEquals (``Bool``, ``Numeric…``, ``…IfExists``,
``Null``), the rule that a condition on an absent key is false unless ``…IfExists``, the rule that
an unmet condition makes a statement not apply, the request context (``aws:MultiFactorAuthPresent``,
``aws:MultiFactorAuthAge``, ``aws:username``, …) and policy variables such as ``${aws:username}``.

Imported only by the sandbox server process.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone

from ..rules import ACCOUNT_ID
from . import emulator, wildcard
from .sessions import Principal

# ----- the request context -----


def _stamp(when: float) -> str:
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def context(who: Principal, region: str, now: float | None = None) -> dict[str, str]:
    """AWS's global condition keys for a request (lower-case: condition keys ignore case)."""
    now = time.time() if now is None else now
    user = emulator.iam().get_user(who.user_name)
    values = {
        "aws:username": user.name,
        "aws:userid": user.id,
        "aws:principalarn": user.arn,
        "aws:principalaccount": ACCOUNT_ID,
        "aws:principaltype": "User",
        "aws:currenttime": _stamp(now),
        "aws:epochtime": str(int(now)),
        "aws:securetransport": "false",
        "aws:requestedregion": region,
    }
    if who.session is not None:  # long-term keys carry no MFA keys at all: hence BoolIfExists
        values["aws:tokenissuetime"] = _stamp(who.session.issued)
        values["aws:multifactorauthpresent"] = "true" if who.session.mfa_serial else "false"
        if who.session.mfa_serial:
            values["aws:multifactorauthage"] = str(max(0, int(now - who.session.issued)))
    return values


# ----- conditions -----


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


def _key_holds(base: str, if_exists: bool, expected, actual: str | None) -> bool:
    """One key of one operator."""
    wanted = [
        str(v).lower() if isinstance(v, bool) else str(v)
        for v in (expected if isinstance(expected, list) else [expected])
    ]
    if base == "Null":
        return (actual is None) == (wanted[0].lower() == "true")
    if actual is None:
        return if_exists
    if base not in OPERATORS:
        return False
    test, negated = OPERATORS[base]
    return any(test(value, actual) for value in wanted) != negated


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
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        if not all(_key_holds(base, if_exists, expected, values.get(key.lower())) for key, expected in keys.items()):
            return False
    return True


# ----- what a call acts on -----


def user_arn(name: str) -> str:
    user = emulator.iam().users.get(name)
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
            key = emulator.iam().access_keys.get(params.get("AccessKeyId", ""))
            return user_arn(key.user_name) if key is not None and key.user_name else "*"
        if "UserName" in params or action == "ChangePassword":  # caller_defaults filled UserName in
            return user_arn(params.get("UserName") or who.user_name)
    return "*"


def resources_of(service: str, action: str, params: dict[str, str], who: Principal) -> list[str]:
    """Every ARN the call needs permission on: a rename needs both the old and the new user, as in AWS."""
    resources = [resource_of(service, action, params, who)]
    if service == "iam" and action == "UpdateUser" and (params.get("NewUserName") or params.get("NewPath")):
        user = emulator.iam().users.get(params.get("UserName", ""))
        path = params.get("NewPath") or (user.path if user is not None else "/")
        name = params.get("NewUserName") or params.get("UserName", "")
        resources.append(f"arn:aws:iam::{ACCOUNT_ID}:user{path}{name}")
    return resources


# ----- the verdict -----


def with_variables(document: str, values: dict[str, str]) -> str:
    """The policy document with ``${aws:username}`` and the like replaced, as AWS does."""

    def substitute(match: re.Match) -> str:
        return json.dumps(values.get(match.group(1).lower(), match.group(0)))[1:-1]

    return re.sub(r"\$\{([A-Za-z0-9:]+)\}", substitute, document)


def evaluate(who: Principal, service: str, action: str, resource: str, values: dict[str, str]) -> str:
    """ "allowed", "explicit" (an explicit Deny) or "implicit" (no Allow)."""
    full_action = f"{service}:{action}"
    allowed = False
    for document in emulator.user_policies(who.user_name):
        result = emulator.verdict(with_variables(document, values), full_action, resource, values)
        if result == "denied":
            return "explicit"
        allowed = allowed or result == "permitted"
    return "allowed" if allowed else "implicit"


def bounded(boundary: str | None, service: str, action: str, resource: str, values: dict[str, str]) -> bool:
    """Whether a permissions boundary (a policy document), if there is one, allows the call (AWS needs both)."""
    if boundary is None:
        return True
    return emulator.verdict(with_variables(boundary, values), f"{service}:{action}", resource, values) == "permitted"
