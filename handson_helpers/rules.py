"""AWS's rules, defined once for the kit and the sandbox.

Parameter rules (length, pattern, enum, range, required) are read from botocore's service
model — the same model AWS's SDKs are generated from — rather than copied by hand, so the kit's
own checks and the sandbox's answers cannot drift apart. Patterns are Java regexes there;
``\\w`` and ``\\d`` mean ASCII, and a value must match whole.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

ACCOUNT_ID = "123456789012"  # the sandbox's fixed account id (moto's default)
REGION = "ap-northeast-1"
MAX_MFA_DEVICES_PER_USER = 8
# IAM quotas: all of a user's (group's, role's) inline policies together, one managed policy, a
# role's trust policy (white space not counted); managed policies attached to one entity, groups
# per user, tags per resource
MAX_USER_INLINE_POLICY_CHARS = 2048
MAX_GROUP_INLINE_POLICY_CHARS = 5120
MAX_ROLE_INLINE_POLICY_CHARS = 10240
MAX_MANAGED_POLICY_CHARS = 6144
MAX_TRUST_POLICY_CHARS = 2048
MAX_ATTACHED_POLICIES = 10
MAX_GROUPS_PER_USER = 10
MAX_TAGS_PER_RESOURCE = 50
SERIAL_PREFIX_LEN = len(f"arn:aws:iam::{ACCOUNT_ID}:mfa/")
# The model gives no maximum for a device name; the serial number (max 256) that embeds it does.
EXTRA_MAX = {"virtualMFADeviceName": 256 - SERIAL_PREFIX_LEN}
# Never echoed in an error: AWS does not, and a typed code must not reach a log.
SENSITIVE_SHAPES = {"authenticationCodeType", "tokenCodeType"}
TAG_CHARS = set("_.:/=+-@")


@dataclass(frozen=True)
class Violation:
    """One broken rule, in AWS's words (``message``) and as data for the kit's Japanese text."""

    field: str  # AWS's lowerCamel name, e.g. userName
    kind: str  # null, min, max, pattern, enum, range, type
    limit: object
    value: str | None
    sensitive: bool

    @property
    def message(self) -> str:
        shown = "null" if self.value is None else ("" if self.sensitive else f"'{self.value}'")
        where = f"Value {shown} at '{self.field}'".replace("Value  at", "Value at")
        constraint = {
            "null": "Member must not be null",
            "min": f"Member must have length greater than or equal to {self.limit}",
            "max": f"Member must have length less than or equal to {self.limit}",
            "pattern": f"Member must satisfy regular expression pattern: {self.limit}",
            "enum": f"Member must satisfy enum value set: [{', '.join(self.limit)}]"
            if isinstance(self.limit, list)
            else "",
            "range": f"Member must have value {self.limit}",
            "type": "Member must be a number",
        }[self.kind]
        return f"{where} failed to satisfy constraint: {constraint}"


def summary(violations: list[Violation]) -> str:
    """AWS's ValidationError text for a list of violations."""
    count = len(violations)
    head = f"{count} validation error{'s' if count > 1 else ''} detected: "
    return head + "; ".join(v.message for v in violations)


@cache
def _model(service: str):
    """botocore's model from its data files alone: no profile or config is read (a learner's
    broken AWS_PROFILE must not break the kit's own checks)."""
    from botocore.loaders import create_loader
    from botocore.model import ServiceModel

    return ServiceModel(create_loader().load_service_model(service, "service-2"), service_name=service)


def operations(service: str) -> list[str]:
    return list(_model(service).operation_names)


@cache
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.ASCII | re.DOTALL)


def _tag_text_ok(value: str) -> bool:
    """Tag keys and values: ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`` (Unicode letters, spaces, numbers)."""
    return all(unicodedata.category(c)[0] in "LZN" or c in TAG_CHARS for c in value)


def _lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def check_value(shape, field: str, value: str) -> Violation | None:
    """The first rule of ``shape`` that ``value`` (as sent on the wire, a string) breaks."""
    meta = shape.metadata
    sensitive = shape.name in SENSITIVE_SHAPES

    def broken(kind, limit):
        return Violation(field, kind, limit, value, sensitive)

    if shape.type_name == "integer":
        if not re.fullmatch(r"-?[0-9]{1,10}", value, re.ASCII):
            return broken("type", None)
        number = int(value)
        if "min" in meta and number < meta["min"]:
            return broken("range", f"greater than or equal to {meta['min']}")
        if "max" in meta and number > meta["max"]:
            return broken("range", f"less than or equal to {meta['max']}")
        return None
    if shape.type_name == "boolean":
        return None if value in ("true", "false") else broken("enum", ["true", "false"])
    if shape.type_name != "string":
        return None
    if "min" in meta and len(value) < meta["min"]:
        return broken("min", meta["min"])
    maximum = EXTRA_MAX.get(shape.name, meta.get("max"))
    if maximum is not None and len(value) > maximum:
        return broken("max", maximum)
    if "enum" in meta and value not in meta["enum"]:
        return broken("enum", list(meta["enum"]))
    pattern = meta.get("pattern")
    if pattern:
        ok = _tag_text_ok(value) if "\\p{" in pattern else bool(_regex(pattern).fullmatch(value))
        if not ok:
            return broken("pattern", pattern)
    return None


def validate(service: str, operation: str, params: dict[str, str]) -> list[Violation]:
    """Check wire parameters of a query-protocol call (``Tags.member.1.Key`` style) as AWS does."""
    shape = _model(service).operation_model(operation).input_shape
    if shape is None:
        return []
    found = []
    for name, member in shape.members.items():
        field = _lower_camel(name)
        if member.type_name == "list":
            items = sorted(
                {k.split(".")[2] for k in params if k.startswith(f"{name}.member.") and k.count(".") >= 2},
                key=lambda n: int(n) if n.isdigit() else 0,
            )
            if "max" in member.metadata and len(items) > member.metadata["max"]:
                found.append(Violation(field, "max", member.metadata["max"], None, False))
            for index in items:
                element = member.member
                if element.type_name == "structure":
                    for sub, sub_shape in element.members.items():
                        value = params.get(f"{name}.member.{index}.{sub}")
                        where = f"{field}.{index}.member.{_lower_camel(sub)}"
                        if value is None:
                            if sub in element.required_members:
                                found.append(Violation(where, "null", None, None, False))
                        elif (v := check_value(sub_shape, where, value)) is not None:
                            found.append(v)
                else:
                    value = params.get(f"{name}.member.{index}")
                    if value is not None and (v := check_value(element, f"{field}.{index}.member", value)):
                        found.append(v)
            continue
        value = params.get(name)
        if value is None:
            if name in shape.required_members:
                found.append(Violation(field, "null", None, None, False))
            continue
        violation = check_value(member, field, value)
        if violation is not None:
            found.append(violation)
    return found


@cache
def acts_on_caller(operation: str) -> bool:
    """Whether an IAM operation takes an optional UserName, which AWS reads as the user whose key
    signed the request (GetUser, ListAccessKeys, DeleteAccessKey, ListSSHPublicKeys, ...)."""
    shape = _model("iam").operation_model(operation).input_shape
    return shape is not None and "UserName" in shape.members and "UserName" not in shape.required_members


def member_shape(service: str, operation: str, name: str):
    return _model(service).operation_model(operation).input_shape.members[name]


def problem(operation: str, name: str, value: str) -> Violation | None:
    """Whether IAM would refuse ``value`` for parameter ``name`` of ``operation`` (kit-side checks)."""
    return check_value(member_shape("iam", operation, name), _lower_camel(name), value)
