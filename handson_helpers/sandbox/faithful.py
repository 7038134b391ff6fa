"""Patches that make moto's IAM behave like AWS for every call the hands-on makes.

moto alone accepts any MFA code, returns random bytes as the QR "PNG", hands the seed out on
every List call and deletes users and assigned devices that AWS refuses to delete. A learner
would learn wrong lessons from that, and the kit's tests would pass on broken code.

The rules are functions of moto's shape (``self`` is moto's IAM or STS backend); emulator.py
puts them in place (``apply``) and hands out moto's originals and errors.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import re
import secrets
from urllib.parse import quote

import qrcode

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
from . import emulator, otp

ISSUER = "Amazon Web Services"
# Who the learner is in the sandbox: an administrator's role session, as in CloudShell or with
# SSO, rather than the emulator's own "user/moto".
ADMIN_ROLE = "HandsonSandboxAdmin"
ADMIN_SESSION = "learner"
ADMIN_ARN = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{ADMIN_ROLE}/{ADMIN_SESSION}"
ADMIN_USER_ID = f"AROA{hashlib.sha256(ADMIN_ROLE.encode()).hexdigest()[:17].upper()}:{ADMIN_SESSION}"


class InvalidAuthenticationCode(emulator.IamError):
    code = "InvalidAuthenticationCode"


class Throttled(emulator.IamError):
    code = otp.THROTTLED[0]


def otpauth_uri(device_name: str, account_id: str, seed: str) -> str:
    label = quote(f"{ISSUER}:{device_name}@{account_id}")
    return f"otpauth://totp/{label}?secret={seed}&issuer={quote(ISSUER)}"


def qr_png(uri: str) -> bytes:
    """The QR image AWS returns. One fixed mask pattern: scanners read any of the eight, and trying
    all of them (qrcode's default) was a sixth of the sandbox's time with a room of learners.
    Drawn by pillow, or where there is none (the browser edition) by pypng: qrcode 8.2's own fallback
    imports pillow unguarded."""
    code = qrcode.QRCode(border=4, box_size=8, mask_pattern=0)
    code.add_data(uri)
    code.make(fit=True)
    buf = io.BytesIO()
    factory = None
    if importlib.util.find_spec("PIL") is None:
        from qrcode.image.pure import PyPNGImage

        factory = PyPNGImage
    code.make_image(image_factory=factory).save(buf)  # PNG either way
    return buf.getvalue()


def codes_match(self, serial_number: str, code1: str, code2: str, now: float | None = None) -> None:
    """EnableMFADevice's and ResyncMFADevice's check of two consecutive codes (otp.py's model):
    InvalidAuthenticationCode when they match nothing, Throttling after too many wrong ones."""
    device = self.virtual_mfa_devices[serial_number]
    if otp.throttled(device, now):
        raise Throttled(otp.THROTTLED[1])
    others = [d for serial, d in self.virtual_mfa_devices.items() if serial != serial_number]
    if not otp.accept_pair(device, code1, code2, now, others):
        raise InvalidAuthenticationCode("Authentication code for device is not valid.")


def _moto(name: str):
    return emulator.original(f"IAMBackend.{name}")


def list_virtual_mfa_devices(self, assignment_status, marker, max_items):
    """moto's markers are offsets it handed out; any other marker is AWS's "Invalid Marker"."""
    if marker and not re.fullmatch(r"[0-9]{1,9}", marker, re.ASCII):
        raise emulator.Invalid("Invalid Marker.")
    return _moto("list_virtual_mfa_devices")(self, assignment_status, marker, max_items)


def create_user(self, region_name, user_name, path="/", tags=None):
    """Names are unique regardless of case in IAM ("John" and "john" cannot both exist)."""
    if any(name.lower() == user_name.lower() for name in self.users):
        raise emulator.AlreadyExists(f"User with name {user_name} already exists.")
    return _moto("create_user")(self, region_name, user_name, path, tags)


def _policy_chars(document: str) -> int:
    """A policy's size as IAM counts it: white space outside strings does not count."""
    try:
        return len(json.dumps(json.loads(document), separators=(",", ":"), ensure_ascii=False))
    except ValueError:
        return len(document)  # moto's validator refuses it first


def _inline_quota(kind: str, limit: int, find: str, name: str):
    """IAM's quota on an entity's inline policies together (2,048 characters for a user, 5,120 for
    a group, 10,240 for a role): every policy is evaluated on each of its calls, so none grows without bound."""

    def put(self, entity_name, policy_name, policy_json):
        entity = getattr(self, find)(entity_name)
        others = sum(_policy_chars(doc) for name, doc in entity.policies.items() if name != policy_name)
        if others + _policy_chars(policy_json) > limit:
            raise emulator.LimitExceeded(f"Maximum policy size of {limit} bytes exceeded for {kind} {entity.name}")
        return _moto(name)(self, entity_name, policy_name, policy_json)

    return put


def _sized(limit: int, quota: str, position: int, name: str):
    """IAM's quota on one document: a managed policy (version) or a role's trust policy."""

    def call(self, *args, **kwargs):
        document = args[position] if len(args) > position else None
        if isinstance(document, str) and _policy_chars(document) > limit:
            raise emulator.LimitExceeded(f"Cannot exceed quota for {quota}: {limit}")
        return _moto(name)(self, *args, **kwargs)

    return call


def _attach_quota(quota: str, limit: int, find: str, name: str):
    """IAM's quota on managed policies attached to one user, group or role (moto has none)."""

    def attach(self, policy_arn, entity_name):
        entity = getattr(self, find)(entity_name)
        if policy_arn not in entity.managed_policies and len(entity.managed_policies) >= limit:
            raise emulator.LimitExceeded(f"Cannot exceed quota for {quota}: {limit}")
        return _moto(name)(self, policy_arn, entity_name)

    return attach


def add_user_to_group(self, group_name, user_name):
    user = self.get_user(user_name)
    groups = [g for g in self.groups.values() if user in g.users]
    if len(groups) >= MAX_GROUPS_PER_USER and all(g.name != group_name for g in groups):
        raise emulator.LimitExceeded(f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}")
    return _moto("add_user_to_group")(self, group_name, user_name)


def tag_user(self, name, tags):
    """IAM's quota: at most 50 tags on a user."""
    user = self.get_user(name)
    keys = {t["Key"] for t in self.tagger.list_tags_for_resource(user.arn)["Tags"]} | {t["Key"] for t in tags}
    if len(keys) > MAX_TAGS_PER_RESOURCE:
        raise emulator.LimitExceeded("The number of tags has reached the maximum limit.")
    return _moto("tag_user")(self, name, tags)


def update_user(self, user_name, new_path=None, new_user_name=None):
    """A rename may not make two names that differ only in case, either; the user keeps its
    access keys and tags under the new name and path (moto leaves them on the old ones)."""
    if new_user_name and any(n.lower() == new_user_name.lower() and n != user_name for n in self.users):
        raise emulator.AlreadyExists(f"User with name {new_user_name} already exists.")
    user = self.users.get(user_name)
    old_arn = user.arn if user is not None else None
    tags = self.tagger.list_tags_for_resource(old_arn)["Tags"] if old_arn else []
    _moto("update_user")(self, user_name, new_path, new_user_name)
    user = self.users[new_user_name or user_name]
    for key in user.access_keys:
        key.user_name = user.name
    if old_arn and user.arn != old_arn:
        self.tagger.delete_all_tags_for_resource(old_arn)
        self.tagger.tag_resource(user.arn, tags)


def create_virtual_mfa_device(self, device_name, path, tags=None):
    device = _moto("create_virtual_mfa_device")(self, device_name, path)
    self.tagger.tag_resource(device.serial_number, tags or [])
    device.base32_string_seed = base64.b32encode(secrets.token_bytes(40)).decode()
    device.qr_code_png = qr_png(otpauth_uri(device_name, self.account_id, device.base32_string_seed))
    return device


def _assigned_device(self, user_name, serial_number):
    user = self.get_user(user_name)
    device = self.virtual_mfa_devices.get(serial_number)
    if device is None:
        raise emulator.NoSuchEntity(f"VirtualMFADevice with serial number {serial_number} doesn't exist.")
    return user, device


def enable_mfa_device(self, user_name, serial_number, authentication_code_1, authentication_code_2):
    user, device = _assigned_device(self, user_name, serial_number)
    if device.user is not None or serial_number in user.mfa_devices:
        raise emulator.AlreadyExists("MFA Device is already in use.")
    if len(user.mfa_devices) >= MAX_MFA_DEVICES_PER_USER:
        raise emulator.LimitExceeded("Cannot exceed quota for MFADevicesPerUser: 8")
    codes_match(self, serial_number, authentication_code_1, authentication_code_2)  # late codes: enabled, out of sync
    emulator.assign_device(self, user, device)


def resync_mfa_device(self, user_name, serial_number, authentication_code_1, authentication_code_2):
    user, device = _assigned_device(self, user_name, serial_number)
    if serial_number not in user.mfa_devices:
        raise emulator.NoSuchEntity(f"MFA device {serial_number} is not assigned to user {user_name}.")
    codes_match(self, serial_number, authentication_code_1, authentication_code_2)


def delete_user(self, user_name):
    user = self.get_user(user_name)
    if user.mfa_devices:
        raise emulator.DeleteConflict("Cannot delete entity, must remove MFA device first.")
    if user.access_keys:
        raise emulator.DeleteConflict("Cannot delete entity, must delete access keys first.")
    if user.password:
        raise emulator.DeleteConflict("Cannot delete entity, must delete login profile first.")
    _moto("delete_user")(self, user_name)


def delete_virtual_mfa_device(self, serial_number):
    device = self.virtual_mfa_devices.get(serial_number)
    if device is not None and device.user is not None:
        raise emulator.DeleteConflict("MFA Device is in use and cannot be deleted. Deactivate it first.")
    if device is None:
        raise emulator.NoSuchEntity(f"VirtualMFADevice with serial number {serial_number} doesn't exist.")
    del self.virtual_mfa_devices[serial_number]
    self.tagger.delete_all_tags_for_resource(serial_number)


def list_mfa_device_tags(self, serial_number):
    if serial_number not in self.virtual_mfa_devices:
        raise emulator.NoSuchEntity(f"VirtualMFADevice with serial number {serial_number} doesn't exist.")
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


def get_caller_identity(self, access_key_id, region):
    if access_key_id == _admin_key_id:
        return ADMIN_USER_ID, ADMIN_ARN, ACCOUNT_ID
    return emulator.original("STSBackend.get_caller_identity")(self, access_key_id, region)


def patches() -> dict:
    """The rules, by the moto method each replaces."""
    b = "IAMBackend."
    return {
        "STSBackend.get_caller_identity": get_caller_identity,
        b + "update_user": update_user,
        b + "put_user_policy": _inline_quota("user", MAX_USER_INLINE_POLICY_CHARS, "get_user", "put_user_policy"),
        b + "put_group_policy": _inline_quota("group", MAX_GROUP_INLINE_POLICY_CHARS, "get_group", "put_group_policy"),
        b + "put_role_policy": _inline_quota("role", MAX_ROLE_INLINE_POLICY_CHARS, "get_role", "put_role_policy"),
        # create_policy(description, path, document, ...), create_policy_version(arn, document, ...),
        # create_role(name, trust document, ...), update_assume_role_policy(name, document)
        b + "create_policy": _sized(MAX_MANAGED_POLICY_CHARS, "PolicySize", 2, "create_policy"),
        b + "create_policy_version": _sized(MAX_MANAGED_POLICY_CHARS, "PolicySize", 1, "create_policy_version"),
        b + "create_role": _sized(MAX_TRUST_POLICY_CHARS, "ACLSizePerRole", 1, "create_role"),
        b + "update_assume_role_policy": _sized(
            MAX_TRUST_POLICY_CHARS, "ACLSizePerRole", 1, "update_assume_role_policy"
        ),
        b + "attach_user_policy": _attach_quota(
            "PoliciesPerUser", MAX_ATTACHED_POLICIES, "get_user", "attach_user_policy"
        ),
        b + "attach_group_policy": _attach_quota(
            "PoliciesPerGroup", MAX_ATTACHED_POLICIES, "get_group", "attach_group_policy"
        ),
        b + "attach_role_policy": _attach_quota(
            "PoliciesPerRole", MAX_ATTACHED_POLICIES, "get_role", "attach_role_policy"
        ),
        b + "add_user_to_group": add_user_to_group,
        b + "tag_user": tag_user,
        b + "create_user": create_user,
        b + "create_virtual_mfa_device": create_virtual_mfa_device,
        b + "enable_mfa_device": enable_mfa_device,
        b + "resync_mfa_device": resync_mfa_device,
        b + "delete_user": delete_user,
        b + "list_virtual_mfa_devices": list_virtual_mfa_devices,
        b + "delete_virtual_mfa_device": delete_virtual_mfa_device,
        b + "list_mfa_device_tags": list_mfa_device_tags,
    }


def apply(admin_key_id: str) -> None:
    """Install the rules on moto's IAM/STS backends and response classes (idempotent)."""
    global _admin_key_id
    _admin_key_id = admin_key_id
    emulator.install(patches())
    secret = [
        f"ListVirtualMFADevicesResponse.VirtualMFADevices.VirtualMFADevice.{f}"
        for f in ("Base32StringSeed", "QRCodePNG")
    ]
    emulator.install_responses(secret + [f"{path}.{field}" for path, fields in UNLISTED.items() for field in fields])
