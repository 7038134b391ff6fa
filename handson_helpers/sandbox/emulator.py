"""The one module that knows the sandbox's IAM and STS are moto: its imports, its patches, its objects.

The other sandbox modules say what AWS does (faithful.py's rules, sessions.py's callers,
evaluation.py's conditions, store.py's state file) in functions of moto's shape, and this module
puts them in place: ``install`` replaces backend methods, ``install_responses`` the few response
handlers moto lacks, ``install_policy_check`` moto's statement check. It also hands out moto's
originals, its errors, its backends and the objects the state file rebuilds. A moto release that
moves any of it breaks here, and tests/test_moto_drift.py names what moved.

Imported only by the sandbox server process: kernels never load moto.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
from collections.abc import Callable
from datetime import datetime

from moto.core import responses as core_responses
from moto.core import utils
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, EmptyResult
from moto.core.serialize import never_return
from moto.iam import access_control, models, responses
from moto.iam.exceptions import (
    DeleteConflictException,
    EntityAlreadyExists,
    IAMException,
    LimitExceededException,
    NotFoundException,
    ValidationError,
)
from moto.moto_api._internal.models import moto_api_backend
from moto.server import create_backend_app
from moto.sts import models as sts_models

from ..rules import ACCOUNT_ID
from . import wildcard

PARTITION = "aws"
VERSION = importlib.metadata.version("moto")

# AWS's errors as moto's response classes answer them (each carries AWS's code and the message)
IamError = IAMException  # subclassed for the codes moto has no class for
DeleteConflict = DeleteConflictException
AlreadyExists = EntityAlreadyExists
LimitExceeded = LimitExceededException
NoSuchEntity = NotFoundException
Invalid = ValidationError
ServiceError = ServiceException  # what any backend call may raise: .code and .message

# The classes whose methods install() replaces, by the name a patch table uses
CLASSES = {"IAMBackend": models.IAMBackend, "STSBackend": sts_models.STSBackend}
_originals: dict[str, Callable | None] = {}


def iam() -> models.IAMBackend:
    return models.iam_backends[ACCOUNT_ID][PARTITION]


def sts_store(name: str) -> dict:
    """A dict kept on moto's STS backend (so that a reset of moto forgets it too)."""
    backend = sts_models.sts_backends[ACCOUNT_ID][PARTITION]
    if not hasattr(backend, name):
        setattr(backend, name, {})
    return getattr(backend, name)


def reset() -> None:
    """Empty every backend, as moto's own reset endpoint does."""
    moto_api_backend.reset()


def apps() -> dict:
    """moto's WSGI app per service the sandbox serves."""
    return {"iam": create_backend_app("iam"), "sts": create_backend_app("sts")}


def original(where: str) -> Callable:
    """moto's own method named ``Class.method`` in a patch table, whether or not it is replaced."""
    kept = _originals.get(where)
    if kept is not None:
        return kept
    owner, name = where.split(".")
    return getattr(CLASSES[owner], name)


def install(patches: dict[str, Callable]) -> None:
    """Replace moto's methods (``{"IAMBackend.create_user": function}``); idempotent, originals kept."""
    for where, function in patches.items():
        owner, name = where.split(".")
        if where not in _originals:  # a method moto lacks (resync_mfa_device) has none
            _originals[where] = getattr(CLASSES[owner], name, None)
        setattr(CLASSES[owner], name, function)


# ----- the response handlers moto lacks, and the fields AWS's listings leave out -----


def create_virtual_mfa_device_response(self):
    params = (self._get_param("VirtualMFADeviceName"), self._get_param("Path"), self._get_param("Tags", []))
    return ActionResult({"VirtualMFADevice": self.backend.create_virtual_mfa_device(*params)})


def list_mfa_device_tags_response(self):
    tags = self.backend.list_mfa_device_tags(self._get_param("SerialNumber"))
    return ActionResult({"Tags": tags, "IsTruncated": False})


def resync_mfa_device_response(self):
    self.backend.resync_mfa_device(
        self._get_param("UserName"),
        self._get_param("SerialNumber"),
        self._get_param("AuthenticationCode1"),
        self._get_param("AuthenticationCode2"),
    )
    return EmptyResult()


RESPONSES = {
    "create_virtual_mfa_device": create_virtual_mfa_device_response,
    "list_mfa_device_tags": list_mfa_device_tags_response,
    "resync_mfa_device": resync_mfa_device_response,
}


def install_responses(hidden: list[str]) -> None:
    """The handlers above, and ``hidden`` (response key paths) never returned; idempotent."""
    for name, handler in RESPONSES.items():
        setattr(responses.IamResponse, name, handler)
    responses.IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER = {
        **responses.IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER,
        **{path: never_return for path in hidden},
    }
    # moto lists a response class's methods on every request (7% of a call's time); they no longer change
    core_responses.method_names_from_class = functools.cache(utils.method_names_from_class)


# ----- policies: moto's evaluation, with AWS's conditions and wildcards -----

_moto_statement_check = access_control.IAMPolicyStatement.is_action_permitted


def _unset(block: dict | None, values: dict | None) -> bool:
    return not block  # before install_policy_check: a condition fails closed


_conditions_met: Callable[[dict | None, dict | None], bool] = _unset
VERDICTS = {access_control.PermissionResult.DENIED: "denied", access_control.PermissionResult.PERMITTED: "permitted"}


def statement_is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
    """moto decides Action/NotAction, Resource and Effect; an unmet Condition makes the
    statement not apply (NEUTRAL), as in AWS, rather than moto's DENIED."""
    result = _moto_statement_check(self, action, resource, principal, None)
    neutral = access_control.PermissionResult.NEUTRAL
    if result is neutral or _conditions_met(self._statement.get("Condition"), incoming_condition_values):
        return result
    return neutral


def conditions_checked_above(self, incoming_condition_values) -> bool:
    return True  # moto's own check (StringEquals only, absent keys count as met) is replaced above


def match(pattern: str, string: str) -> bool | None:
    """AWS's wildcards (wildcard.py) for moto's Action, NotAction and Resource: moto reads the
    rest as a regular expression, so a ``.`` or ``+`` in a name would match other names, and
    many ``*`` would backtrack for hours. None for no match, as moto's caller tests for."""
    return True if isinstance(pattern, str) and wildcard.matches(pattern, string) else None


def install_policy_check(conditions_met: Callable[[dict | None, dict | None], bool]) -> None:
    """moto's statement check with AWS's conditions (``conditions_met``) and wildcards; idempotent."""
    global _conditions_met
    _conditions_met = conditions_met
    statement = access_control.IAMPolicyStatement
    statement.is_action_permitted = statement_is_action_permitted
    statement._check_conditions = conditions_checked_above
    statement._match = staticmethod(match)


def verdict(document: str, action: str, resource: str, values: dict[str, str]) -> str:
    """One policy document's answer: "denied" (explicitly), "permitted" or "neutral"."""
    result = access_control.IAMPolicy(document).is_action_permitted(action, resource, None, values)
    return VERDICTS.get(result, "neutral")


class _Owner:
    """Just enough of moto's IAMUserAccessKey for its collect_policies()."""

    def __init__(self, user_name: str, backend):
        self._owner_user_name = user_name
        self.backend = backend


def user_policies(user_name: str, backend=None) -> list[str]:
    """The user's policy documents (inline, attached, groups'), as moto collects them."""
    owner = _Owner(user_name, backend or iam())
    documents = []
    for policy in access_control.IAMUserAccessKey.collect_policies(owner):  # type: ignore[arg-type]  # duck-typed
        if isinstance(policy, models.Policy):
            document = next(v.document for v in policy.versions if v.is_default)
        elif isinstance(policy, str):
            document = policy
        else:
            document = policy["policy_document"]
        documents.append(document if isinstance(document, str) else json.dumps(document))
    return documents


# ----- objects the state file rebuilds (store.py) -----


def add_access_key(backend, user, key_id: str, secret: str, status: str, created: datetime | None):
    key = models.AccessKey(user.name, prefix=key_id[:4], account_id=backend.account_id, status=status)
    key.access_key_id, key.secret_access_key = key_id, secret
    key.create_date = created
    user.access_keys.append(key)
    backend.access_keys[key.physical_resource_id] = key
    return key


def add_device(backend, serial: str, seed: str, qr_png: bytes):
    """A virtual MFA device with a known seed (CreateVirtualMFADevice would mint a new one)."""
    device = models.VirtualMfaDevice(backend.account_id, "us-east-1", "/placeholder")
    device.serial_number, device.base32_string_seed, device.qr_code_png = serial, seed, qr_png
    backend.virtual_mfa_devices[serial] = device
    return device


def assign_device(backend, user, device, enable_date: datetime | None = None) -> None:
    """Attach device to user as EnableMFADevice does; the codes are not kept anywhere."""
    original("IAMBackend.enable_mfa_device")(backend, user.name, device.serial_number, "", "")
    if enable_date is not None:
        device.enable_date = enable_date
        user.mfa_devices[device.serial_number].enable_date = enable_date
