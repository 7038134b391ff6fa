"""45 (発展): a second virtual MFA device, added by the IAM user itself through an MFA session.

AWS allows up to 8 MFA devices per user (rules.MAX_MFA_DEVICES_PER_USER). The user's own
credentials do it here, as an IAM user does with the CLI: the kit's policy allows managing the
user's own MFA only when ``aws:MultiFactorAuthPresent`` is true, so the access key alone is refused
and a session from GetSessionToken (40's form) is needed first; the sandbox evaluates that policy.
"""

from __future__ import annotations

import json
from dataclasses import replace

from .credentials import Keys, client_for, mask_text
from .display import Silent
from .errors import AWS_ERRORS, HandsonError, aws_call, error_code, explain, require_passed
from .mfa import create_commands, create_virtual_mfa_device, enable_command, get_device, serial_for, show_pair_check
from .mfa_policy import as_keys, put_user_policy
from .rules import MAX_MFA_DEVICES_PER_USER
from .settings import MANAGE_MFA_POLICY_NAME, expand, kit_tags, require_valid
from .shell import continued, ref
from .target import Context
from .texts import backup as texts
from .texts.common import NONE
from .users import listed

MFA_PRESENT = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
NO_SESSION = texts.NO_SESSION


def manage_policy(user_path: str) -> dict:
    """AWS's self-managed-MFA example (IAM User Guide, reference_policies_examples_iam_mfa-selfmanage),
    every statement conditioned on MFA: there, only deactivating a device needs it; here adding one
    does too, since the user already has a device and a stolen access key must not add another."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowListVirtualMFADevicesWithMFA",
                "Effect": "Allow",
                "Action": "iam:ListVirtualMFADevices",
                "Resource": "*",
                "Condition": MFA_PRESENT,
            },
            {
                "Sid": "AllowCreateVirtualMFADeviceWithMFA",
                "Effect": "Allow",
                "Action": ["iam:CreateVirtualMFADevice", "iam:TagMFADevice", "iam:DeleteVirtualMFADevice"],
                "Resource": "arn:aws:iam::*:mfa/*",
                "Condition": MFA_PRESENT,
            },
            {
                "Sid": "AllowManageOwnUserMFAWithMFA",
                "Effect": "Allow",
                "Action": [
                    "iam:GetUser",
                    "iam:ListMFADevices",
                    "iam:EnableMFADevice",
                    "iam:ResyncMFADevice",
                    "iam:DeactivateMFADevice",
                ],
                "Resource": f"arn:aws:iam::*:user{user_path}${{aws:username}}",
                "Condition": MFA_PRESENT,
            },
        ],
    }


def put_manage_mfa_policy(
    ctx: Context, user_name: str, user_path: str, policy_name: str = MANAGE_MFA_POLICY_NAME
) -> None:
    """The administrator gives the user the policy above (same result on a rerun)."""
    require_valid(IAM_USER_NAME=user_name, IAM_USER_PATH=user_path, MFA_POLICY_NAME=policy_name)
    put_user_policy(ctx, user_name, policy_name, json.dumps(manage_policy(user_path), indent=2), "MFA_POLICY_NAME")


def _required(session: Keys | None) -> Keys:
    """40's form returns None when cancelled: the steps after it say what to run."""
    if session is None:
        raise HandsonError(NO_SESSION, "NoSession")
    return session


def as_user(ctx: Context, keys: Keys | None) -> Context:
    """The same target and reporter, with IAM and STS clients signing as the user's ``keys``."""
    keys = _required(keys)
    return replace(ctx, iam=client_for(ctx, "iam", keys), sts=client_for(ctx, "sts", keys))


def _create_lines(device_name: str, outfile: str, participant: str) -> list[str]:
    _, create = create_commands(
        device_name, "QRCodePNG", str(expand(outfile).parent), str(expand(outfile)), participant
    )
    backup = {
        "${MFA_DEVICE_NAME}": "${MFA_BACKUP_DEVICE_NAME}",
        "${FILE_MFA_OUTFILE}": "${FILE_MFA_BACKUP_OUTFILE}",
        "${MFA_BOOTSTRAP_METHOD}": "QRCodePNG",
    }
    lines = []
    for line in create.splitlines():
        for old, new in backup.items():
            line = line.replace(old, new)
        lines.append(line.removesuffix(" \\"))
    return ["  " + line for line in lines]


def _user_devices(ctx: Context, user_name: str) -> list[str]:
    return [d["SerialNumber"] for d in listed(ctx, "list_mfa_devices", "MFADevices", UserName=user_name)]


def create_refused_without_mfa(ctx: Context, keys: Keys, user_name: str, device_name: str, outfile: str) -> str:
    """CreateVirtualMFADevice with the access key alone: the policy allows it only with MFA.

    Tried only while the backup device does not exist (a rerun has nothing to prove here).
    """
    require_valid(MFA_BACKUP_DEVICE_NAME=device_name, FILE_MFA_BACKUP_OUTFILE=outfile)
    command = as_keys(keys, *_create_lines(device_name, outfile, ctx.participant))
    serial = serial_for(ctx.account_id, device_name)
    if get_device(ctx, serial) is not None:
        ctx.report.command(command)
        ctx.report.message("info", texts.EXISTS_NOT_TRIED.format(device=device_name))
        return ""
    ctx.require_write("iam:CreateVirtualMFADevice")  # the attempt may succeed where another policy allows it
    try:
        client = client_for(ctx, "iam", keys)
        client.create_virtual_mfa_device(VirtualMFADeviceName=device_name, Tags=kit_tags(ctx.participant))
    except AWS_ERRORS as exc:
        if error_code(exc) != "AccessDenied":
            raise explain(exc, "iam:CreateVirtualMFADevice") from None
        message = mask_text(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
        error = f"An error occurred (AccessDenied) when calling the CreateVirtualMFADevice operation: {message}"
        ctx.report.command(command, error, refused=True)
        ctx.report.message("info", texts.REFUSED_WITHOUT_MFA)
        return "AccessDenied"
    # Another policy of this user allows it: the device the call made (its QR unsaved) is removed again.
    ctx.require_write("iam:DeleteVirtualMFADevice")
    with aws_call("iam:DeleteVirtualMFADevice"):
        ctx.iam.delete_virtual_mfa_device(SerialNumber=serial)
    ctx.report.command(command, "")
    ctx.report.message("warning", texts.ALLOWED_WITHOUT_MFA)
    return ""


def create_backup_device(ctx: Context, session: Keys | None, user_name: str, device_name: str, outfile: str) -> str:
    """CreateVirtualMFADevice with the MFA session; the QR goes to ``outfile`` as in 2.1. Returns the serial."""
    require_valid(IAM_USER_NAME=user_name, MFA_BACKUP_DEVICE_NAME=device_name, FILE_MFA_BACKUP_OUTFILE=outfile)
    session = _required(session)
    user_ctx = as_user(ctx, session)
    serial = serial_for(ctx.account_id, device_name)
    devices = _user_devices(ctx, user_name)
    if serial not in devices and len(devices) >= MAX_MFA_DEVICES_PER_USER:
        message = texts.TOO_MANY_DEVICES.format(user=user_name, count=len(devices), limit=MAX_MFA_DEVICES_PER_USER)
        raise HandsonError(message, "LimitExceeded")
    existed = get_device(ctx, serial) is not None
    create_virtual_mfa_device(user_ctx.with_report(Silent()), device_name, outfile)
    created = "" if existed else f'{{\n    "VirtualMFADevice": {{\n        "SerialNumber": "{serial}"\n    }}\n}}'
    ctx.report.command(as_keys(session, *_create_lines(device_name, outfile, ctx.participant)), created)
    ctx.report.command(
        'MFA_BACKUP_DEVICE_SERIAL="arn:aws:iam::${AWS_ID}:mfa/${MFA_BACKUP_DEVICE_NAME}"'
        " \\\n  && echo ${MFA_BACKUP_DEVICE_SERIAL}",
        serial,
    )
    if existed:
        ctx.report.message("info", texts.EXISTS.format(device=device_name))
    return serial


def show_backup_enable_check(session: Keys | None, user_name: str, serial: str) -> None:
    """The 変数の確認 block and the enable command, run with the session's credentials."""
    session = _required(session)
    command = enable_command(user_name, serial).replace("MFA_DEVICE_SERIAL", "MFA_BACKUP_DEVICE_SERIAL")
    as_user_command = as_keys(session, *("  " + line.removesuffix(" \\") for line in command.splitlines()))
    show_pair_check(user_name, serial, as_user_command, "MFA_BACKUP_DEVICE_SERIAL")


def verify_backup_device(ctx: Context, user_name: str, serial: str, backup_serial: str) -> None:
    """完了確認 of 45: the user has both devices, read back from IAM by the administrator."""
    devices = _user_devices(ctx, user_name)
    ctx.report.command(
        continued(
            "aws iam list-mfa-devices",
            f"  --user-name {ref('IAM_USER_NAME', user_name)}",
            "  --query 'MFADevices[].SerialNumber'",
            "  --output text",
        ),
        "\t".join(devices),
    )
    ok = ctx.report.check(
        texts.CHECK.format(user=user_name),
        f"{serial} / {backup_serial}",
        " / ".join(devices) or NONE,
        serial in devices and backup_serial in devices,
    )
    require_passed(ok, texts.CHECK_HINT)
