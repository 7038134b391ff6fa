"""Patches that make moto's IAM behave like AWS for every call the hands-on makes.

moto alone accepts any MFA code, returns random bytes as the QR "PNG", hands the seed out on
every List call and deletes users and assigned devices that AWS refuses to delete. A learner
would learn wrong lessons from that, and the kit's tests would pass on broken code.

Imported only by the sandbox server process: kernels never import moto.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import secrets
import time
from urllib.parse import quote

import pyotp
import qrcode
from moto.core.responses import ActionResult, EmptyResult
from moto.core.serialize import never_return
from moto.iam import models, responses
from moto.iam.exceptions import (
    DeleteConflictException,
    EntityAlreadyExists,
    IAMException,
    LimitExceededException,
    NotFoundException,
    ValidationError,
)
from moto.sts import models as sts_models

from ..rules import (
    ACCOUNT_ID,
    MAX_ATTACHED_POLICIES,
    MAX_GROUP_INLINE_POLICY_CHARS,
    MAX_GROUPS_PER_USER,
    MAX_MANAGED_POLICY_CHARS,
    MAX_MFA_DEVICES_PER_USER,
    MAX_ROLE_INLINE_POLICY_CHARS,
    MAX_TAGS_PER_RESOURCE,
    MAX_TRUST_POLICY_CHARS,
    MAX_USER_INLINE_POLICY_CHARS,
)

ISSUER = "Amazon Web Services"
# Who the learner is in the sandbox: an administrator's role session, as in CloudShell or with
# SSO, rather than the emulator's own "user/moto".
ADMIN_ROLE = "HandsonSandboxAdmin"
ADMIN_SESSION = "learner"
ADMIN_ARN = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{ADMIN_ROLE}/{ADMIN_SESSION}"
ADMIN_USER_ID = f"AROA{hashlib.sha256(ADMIN_ROLE.encode()).hexdigest()[:17].upper()}:{ADMIN_SESSION}"
# A pair (w, w+1) of TOTP windows is accepted when w+1 lies within this many 30-second
# windows of "now": up to two windows in the past, because a learner reads the second code,
# types both and clicks (easily a minute), and one in the future for clock skew. Codes
# from ten minutes ago, two windows apart, swapped or repeated are refused, as AWS does.
ACCEPT_PAST_WINDOWS = 2
ACCEPT_FUTURE_WINDOWS = 1


class InvalidAuthenticationCode(IAMException):
    code = "InvalidAuthenticationCode"


def otpauth_uri(device_name: str, account_id: str, seed: str) -> str:
    label = quote(f"{ISSUER}:{device_name}@{account_id}")
    return f"otpauth://totp/{label}?secret={seed}&issuer={quote(ISSUER)}"


def qr_png(uri: str) -> bytes:
    """The QR image AWS returns. One fixed mask pattern: scanners read any of the eight, and trying
    all of them (qrcode's default) was a sixth of the sandbox's time with a room of learners."""
    code = qrcode.QRCode(border=4, box_size=8, mask_pattern=0)
    code.add_data(uri)
    code.make(fit=True)
    buf = io.BytesIO()
    code.make_image().save(buf, format="PNG")
    return buf.getvalue()


def codes_match(seed: str, code1: str, code2: str, now: float | None = None) -> bool:
    """True when code1, code2 are the TOTP codes of two consecutive windows near now."""
    if not all(isinstance(c, str) and re.fullmatch(r"[0-9]{6}", c, re.ASCII) for c in (code1, code2)):
        return False
    totp = pyotp.TOTP(seed)
    current = int((time.time() if now is None else now) // totp.interval)
    for second in range(current - ACCEPT_PAST_WINDOWS, current + ACCEPT_FUTURE_WINDOWS + 1):
        first_code = totp.at((second - 1) * totp.interval)
        second_code = totp.at(second * totp.interval)
        if first_code == second_code:
            continue  # ambiguous pair: AWS would not accept a repeated code either
        if secrets.compare_digest(first_code, code1) and secrets.compare_digest(second_code, code2):
            return True
    return False


_orig_create_user = models.IAMBackend.create_user
_orig_create_device = models.IAMBackend.create_virtual_mfa_device
_orig_enable = models.IAMBackend.enable_mfa_device
_orig_delete_user = models.IAMBackend.delete_user
_orig_list_devices = models.IAMBackend.list_virtual_mfa_devices


def list_virtual_mfa_devices(self, assignment_status, marker, max_items):
    """moto's markers are offsets it handed out; any other marker is AWS's "Invalid Marker"."""
    if marker and not re.fullmatch(r"[0-9]{1,9}", marker, re.ASCII):
        raise ValidationError("Invalid Marker.")
    return _orig_list_devices(self, assignment_status, marker, max_items)


def create_user(self, region_name, user_name, path="/", tags=None):
    """Names are unique regardless of case in IAM ("John" and "john" cannot both exist)."""
    if any(name.lower() == user_name.lower() for name in self.users):
        raise EntityAlreadyExists(f"User with name {user_name} already exists.")
    return _orig_create_user(self, region_name, user_name, path, tags)


_orig_put_user_policy = models.IAMBackend.put_user_policy
_orig = {
    name: getattr(models.IAMBackend, name)
    for name in (
        "put_group_policy",
        "put_role_policy",
        "create_policy",
        "create_policy_version",
        "create_role",
        "update_assume_role_policy",
        "attach_user_policy",
        "attach_group_policy",
        "attach_role_policy",
    )
}
_orig_tag_user = models.IAMBackend.tag_user


def _policy_chars(document: str) -> int:
    """A policy's size as IAM counts it: white space outside strings does not count."""
    try:
        return len(json.dumps(json.loads(document), separators=(",", ":"), ensure_ascii=False))
    except ValueError:
        return len(document)  # moto's validator refuses it first


def _inline_quota(kind: str, limit: int, find, original):
    """IAM's quota on an entity's inline policies together (2,048 characters for a user, 5,120 for
    a group, 10,240 for a role): every policy is evaluated on each of its calls, so none grows without bound."""

    def put(self, entity_name, policy_name, policy_json):
        entity = find(self, entity_name)
        others = sum(_policy_chars(doc) for name, doc in entity.policies.items() if name != policy_name)
        if others + _policy_chars(policy_json) > limit:
            raise LimitExceededException(f"Maximum policy size of {limit} bytes exceeded for {kind} {entity.name}")
        return original(self, entity_name, policy_name, policy_json)

    return put


def _sized(limit: int, quota: str, position: int, original):
    """IAM's quota on one document: a managed policy (version) or a role's trust policy."""

    def call(self, *args, **kwargs):
        document = args[position] if len(args) > position else None
        if isinstance(document, str) and _policy_chars(document) > limit:
            raise LimitExceededException(f"Cannot exceed quota for {quota}: {limit}")
        return original(self, *args, **kwargs)

    return call


def _attach_quota(quota: str, limit: int, find, original):
    """IAM's quota on managed policies attached to one user, group or role (moto has none)."""

    def attach(self, policy_arn, entity_name):
        entity = find(self, entity_name)
        if policy_arn not in entity.managed_policies and len(entity.managed_policies) >= limit:
            raise LimitExceededException(f"Cannot exceed quota for {quota}: {limit}")
        return original(self, policy_arn, entity_name)

    return attach


_orig_add_user_to_group = models.IAMBackend.add_user_to_group


def add_user_to_group(self, group_name, user_name):
    user = self.get_user(user_name)
    groups = [g for g in self.groups.values() if user in g.users]
    if len(groups) >= MAX_GROUPS_PER_USER and all(g.name != group_name for g in groups):
        raise LimitExceededException(f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}")
    return _orig_add_user_to_group(self, group_name, user_name)


def tag_user(self, name, tags):
    """IAM's quota: at most 50 tags on a user."""
    user = self.get_user(name)
    keys = {t["Key"] for t in self.tagger.list_tags_for_resource(user.arn)["Tags"]} | {t["Key"] for t in tags}
    if len(keys) > MAX_TAGS_PER_RESOURCE:
        raise LimitExceededException("The number of tags has reached the maximum limit.")
    return _orig_tag_user(self, name, tags)


_orig_update_user = models.IAMBackend.update_user


def update_user(self, user_name, new_path=None, new_user_name=None):
    """A rename may not make two names that differ only in case, either; the user keeps its
    access keys and tags under the new name and path (moto leaves them on the old ones)."""
    if new_user_name and any(n.lower() == new_user_name.lower() and n != user_name for n in self.users):
        raise EntityAlreadyExists(f"User with name {new_user_name} already exists.")
    user = self.users.get(user_name)
    old_arn = user.arn if user is not None else None
    tags = self.tagger.list_tags_for_resource(old_arn)["Tags"] if old_arn else []
    _orig_update_user(self, user_name, new_path, new_user_name)
    user = self.users[new_user_name or user_name]
    for key in user.access_keys:
        key.user_name = user.name
    if old_arn and user.arn != old_arn:
        self.tagger.delete_all_tags_for_resource(old_arn)
        self.tagger.tag_resource(user.arn, tags)


def create_virtual_mfa_device(self, device_name, path, tags=None):
    device = _orig_create_device(self, device_name, path)
    self.tagger.tag_resource(device.serial_number, tags or [])
    device.base32_string_seed = base64.b32encode(secrets.token_bytes(40)).decode()
    device.qr_code_png = qr_png(otpauth_uri(device_name, self.account_id, device.base32_string_seed))
    return device


def _assigned_device(self, user_name, serial_number):
    user = self.get_user(user_name)
    device = self.virtual_mfa_devices.get(serial_number)
    if device is None:
        raise NotFoundException(f"VirtualMFADevice with serial number {serial_number} doesn't exist.")
    return user, device


def enable_mfa_device(self, user_name, serial_number, authentication_code_1, authentication_code_2):
    user, device = _assigned_device(self, user_name, serial_number)
    if device.user is not None or serial_number in user.mfa_devices:
        raise EntityAlreadyExists("MFA Device is already in use.")
    if len(user.mfa_devices) >= MAX_MFA_DEVICES_PER_USER:
        raise LimitExceededException("Cannot exceed quota for MFADevicesPerUser: 8")
    if not codes_match(device.base32_string_seed, authentication_code_1, authentication_code_2):
        raise InvalidAuthenticationCode("Authentication code for device is not valid.")
    assign_device(self, user, device)


def assign_device(self, user, device, enable_date=None):
    """Attach device to user as EnableMFADevice does; the codes are not kept anywhere."""
    _orig_enable(self, user.name, device.serial_number, "", "")
    if enable_date is not None:
        device.enable_date = enable_date
        user.mfa_devices[device.serial_number].enable_date = enable_date


def resync_mfa_device(self, user_name, serial_number, authentication_code_1, authentication_code_2):
    user, device = _assigned_device(self, user_name, serial_number)
    if serial_number not in user.mfa_devices:
        raise NotFoundException(f"MFA device {serial_number} is not assigned to user {user_name}.")
    if not codes_match(device.base32_string_seed, authentication_code_1, authentication_code_2):
        raise InvalidAuthenticationCode("Authentication code for device is not valid.")


def delete_user(self, user_name):
    user = self.get_user(user_name)
    if user.mfa_devices:
        raise DeleteConflictException("Cannot delete entity, must remove MFA device first.")
    if user.access_keys:
        raise DeleteConflictException("Cannot delete entity, must delete access keys first.")
    if user.password:
        raise DeleteConflictException("Cannot delete entity, must delete login profile first.")
    _orig_delete_user(self, user_name)


def delete_virtual_mfa_device(self, serial_number):
    device = self.virtual_mfa_devices.get(serial_number)
    if device is not None and device.user is not None:
        raise DeleteConflictException("MFA Device is in use and cannot be deleted. Deactivate it first.")
    if device is None:
        raise NotFoundException(f"VirtualMFADevice with serial number {serial_number} doesn't exist.")
    del self.virtual_mfa_devices[serial_number]
    self.tagger.delete_all_tags_for_resource(serial_number)


def list_mfa_device_tags(self, serial_number):
    if serial_number not in self.virtual_mfa_devices:
        raise NotFoundException(f"VirtualMFADevice with serial number {serial_number} doesn't exist.")
    return self.tagger.list_tags_for_resource(serial_number)["Tags"]


# What AWS's listing operations leave out although the listed object has it ("this operation does
# not return tags"): another user's tags (the kit's hold an access key id) are read with ListUserTags,
# which a participant's scope does not allow.
UNLISTED = {
    "ListUsersResponse.Users.User": ("Tags", "PermissionsBoundary"),
    "GetGroupResponse.Users.User": ("Tags", "PermissionsBoundary"),
    "ListVirtualMFADevicesResponse.VirtualMFADevices.VirtualMFADevice": ("Tags",),
    "ListVirtualMFADevicesResponse.VirtualMFADevices.VirtualMFADevice.User": ("Tags", "PermissionsBoundary"),
    "ListRolesResponse.Roles.Role": ("Tags", "PermissionsBoundary"),
    "ListPoliciesResponse.Policies.Policy": ("Tags",),
    "ListInstanceProfilesResponse.InstanceProfiles.InstanceProfile": ("Tags",),
    "ListInstanceProfilesResponse.InstanceProfiles.InstanceProfile.Roles.Role": ("Tags", "PermissionsBoundary"),
    "ListInstanceProfilesForRoleResponse.InstanceProfiles.InstanceProfile": ("Tags",),
    "ListInstanceProfilesForRoleResponse.InstanceProfiles.InstanceProfile.Roles.Role": ("Tags", "PermissionsBoundary"),
}
_admin_key_id = ""
_orig_caller_identity = sts_models.STSBackend.get_caller_identity


def get_caller_identity(self, access_key_id, region):
    if access_key_id == _admin_key_id:
        return ADMIN_USER_ID, ADMIN_ARN, ACCOUNT_ID
    return _orig_caller_identity(self, access_key_id, region)


def _create_device_response(self):
    device = self.backend.create_virtual_mfa_device(self._get_param("VirtualMFADeviceName"), self._get_param("Path"), self._get_param("Tags", []))
    return ActionResult({"VirtualMFADevice": device})


def _list_device_tags_response(self):
    return ActionResult({"Tags": self.backend.list_mfa_device_tags(self._get_param("SerialNumber")), "IsTruncated": False})


def _resync_response(self):
    self.backend.resync_mfa_device(
        self._get_param("UserName"),
        self._get_param("SerialNumber"),
        self._get_param("AuthenticationCode1"),
        self._get_param("AuthenticationCode2"),
    )
    return EmptyResult()


def apply(admin_key_id: str) -> None:
    """Install the patches on moto's IAM/STS backends and response classes (idempotent)."""
    global _admin_key_id
    _admin_key_id = admin_key_id
    sts_models.STSBackend.get_caller_identity = get_caller_identity
    models.IAMBackend.update_user = update_user
    backend = models.IAMBackend
    backend.put_user_policy = _inline_quota("user", MAX_USER_INLINE_POLICY_CHARS, backend.get_user, _orig_put_user_policy)
    backend.put_group_policy = _inline_quota("group", MAX_GROUP_INLINE_POLICY_CHARS, backend.get_group, _orig["put_group_policy"])
    backend.put_role_policy = _inline_quota("role", MAX_ROLE_INLINE_POLICY_CHARS, backend.get_role, _orig["put_role_policy"])
    # create_policy(description, path, document, ...), create_policy_version(arn, document, ...),
    # create_role(name, trust document, ...), update_assume_role_policy(name, document)
    backend.create_policy = _sized(MAX_MANAGED_POLICY_CHARS, "PolicySize", 2, _orig["create_policy"])
    backend.create_policy_version = _sized(MAX_MANAGED_POLICY_CHARS, "PolicySize", 1, _orig["create_policy_version"])
    backend.create_role = _sized(MAX_TRUST_POLICY_CHARS, "ACLSizePerRole", 1, _orig["create_role"])
    backend.update_assume_role_policy = _sized(MAX_TRUST_POLICY_CHARS, "ACLSizePerRole", 1, _orig["update_assume_role_policy"])
    backend.attach_user_policy = _attach_quota("PoliciesPerUser", MAX_ATTACHED_POLICIES, backend.get_user, _orig["attach_user_policy"])
    backend.attach_group_policy = _attach_quota("PoliciesPerGroup", MAX_ATTACHED_POLICIES, backend.get_group, _orig["attach_group_policy"])
    backend.attach_role_policy = _attach_quota("PoliciesPerRole", MAX_ATTACHED_POLICIES, backend.get_role, _orig["attach_role_policy"])
    backend.add_user_to_group = add_user_to_group
    models.IAMBackend.tag_user = tag_user
    models.IAMBackend.create_user = create_user
    models.IAMBackend.create_virtual_mfa_device = create_virtual_mfa_device
    models.IAMBackend.enable_mfa_device = enable_mfa_device
    models.IAMBackend.resync_mfa_device = resync_mfa_device
    models.IAMBackend.delete_user = delete_user
    models.IAMBackend.list_virtual_mfa_devices = list_virtual_mfa_devices
    models.IAMBackend.delete_virtual_mfa_device = delete_virtual_mfa_device
    models.IAMBackend.list_mfa_device_tags = list_mfa_device_tags
    responses.IamResponse.resync_mfa_device = _resync_response
    responses.IamResponse.create_virtual_mfa_device = _create_device_response
    responses.IamResponse.list_mfa_device_tags = _list_device_tags_response
    hidden = {f"ListVirtualMFADevicesResponse.VirtualMFADevices.VirtualMFADevice.{field}": never_return for field in ("Base32StringSeed", "QRCodePNG")}
    hidden |= {f"{path}.{field}": never_return for path, fields in UNLISTED.items() for field in fields}
    responses.IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER = {
        **responses.IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER,
        **hidden,
    }
