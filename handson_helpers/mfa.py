"""Sections 2.1 and 2.2: the virtual MFA device, its QR file, and enabling it with two codes."""

from __future__ import annotations

import os
from enum import Enum

from . import code_time
from .display import SHOW
from .errors import AWS_ERRORS, HandsonError, aws_call, error_code, require_passed
from .safefs import file_problem, folder_problem, only_mine, read_bootstrap, write_private
from .settings import expand, kit_tags, owned, require_valid
from .shell import continued, private_dir, ref, tags_arg
from .target import Context
from .texts import mfa as texts
from .texts.common import NONE, NOT_PRIVATE, VARIABLES_CHECK, VARIABLES_SET
from .totp import validate_codes
from .users import get_user


class Outcome(str, Enum):
    """How a step's form ended (a str, so a notebook or a test can compare it with text)."""

    ENABLED = "enabled"
    RESYNCED = "resynced"
    ALREADY = "already"
    RECREATED = "recreated"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"

    def __str__(self) -> str:  # printed as its text, like the strings it replaced
        return self.value


QR_LOST = texts.QR_LOST


# The seed's query for the device by its serial number, as the page writes it
SERIAL_QUERY = '"VirtualMFADevices[?SerialNumber == \\`arn:aws:iam::${AWS_ID}:mfa/${MFA_DEVICE_NAME}\\`].SerialNumber"'


def serial_for(account_id: str, device_name: str) -> str:
    """The serial number IAM gives a virtual device created without a path."""
    return f"arn:aws:iam::{account_id}:mfa/{device_name}"


def device_name_of(serial: str) -> str:
    """The device name at the end of a serial number (arn:aws:iam::ACCOUNT:mfa/[path/]NAME)."""
    return serial.rsplit("/", 1)[-1]


def list_devices(ctx: Context, assignment_status: str = "Any") -> list[dict]:
    with aws_call("iam:ListVirtualMFADevices"):
        pages = ctx.iam.get_paginator("list_virtual_mfa_devices").paginate(AssignmentStatus=assignment_status)
        return [d for page in pages for d in page["VirtualMFADevices"]]


def get_device(ctx: Context, serial: str) -> dict | None:
    """The device as IAM lists it (with its User once enabled), or None."""
    return next((d for d in list_devices(ctx) if d["SerialNumber"] == serial), None)


def create_and_save(ctx: Context, device_name: str, outfile: str, method: str = "QRCodePNG") -> str:
    """CreateVirtualMFADevice, and its QR (or key) into ``outfile``; the device is deleted again if
    the file cannot be written."""
    path = expand(outfile)
    problem = file_problem(path)
    if problem:  # refused before anything is created in IAM
        raise HandsonError(texts.UNSAFE_QR_FILE.format(file=outfile, problem=problem), "UnsafeFile")
    ctx.require_write("iam:CreateVirtualMFADevice")
    with aws_call("iam:CreateVirtualMFADevice"):
        try:
            tags = kit_tags(ctx.participant)
            created = ctx.iam.create_virtual_mfa_device(VirtualMFADeviceName=device_name, Tags=tags)["VirtualMFADevice"]
        except ctx.iam.exceptions.EntityAlreadyExistsException:
            # made a moment ago by this very call, whose answer (with the only copy of the QR) was lost
            raise HandsonError(texts.ANSWER_LOST.format(device=device_name), "QrFileMissing") from None
    try:
        write_private(path, created[method], texts.QR_LABEL)
    except (OSError, HandsonError) as exc:
        with aws_call("iam:DeleteVirtualMFADevice"):
            ctx.iam.delete_virtual_mfa_device(SerialNumber=created["SerialNumber"])
        reason = getattr(exc, "strerror", None) or getattr(exc, "message", "")
        raise HandsonError(texts.QR_WRITE_FAILED.format(file=outfile, reason=reason), "QrWriteFailed") from None
    return created["SerialNumber"]


def device_tags(ctx: Context, serial: str) -> list[dict]:
    with aws_call("iam:ListMFADeviceTags"):
        try:
            return ctx.iam.list_mfa_device_tags(SerialNumber=serial)["Tags"]
        except ctx.iam.exceptions.NoSuchEntityException:
            return []


def qr_problem(outfile: str) -> str | None:
    """Why the QR file cannot be shown (Japanese), or None when it holds the kit's PNG or key."""
    path = expand(outfile)
    if not os.path.lexists(path):
        return texts.QR_MISSING
    if read_bootstrap(path) is None:
        return texts.QR_NOT_KITS
    return None


def create_commands(
    device_name: str, method: str, directory: str, outfile: str, participant: str = ""
) -> tuple[str, str]:
    """The folder step and the create step of 2.1, as the page writes them."""
    mkdir = private_dir(ref("DIR_MFA_OUTFILE", directory))
    create = continued(
        "aws iam create-virtual-mfa-device",
        f"  --virtual-mfa-device-name {ref('MFA_DEVICE_NAME', device_name)}",
        f"  --bootstrap-method {ref('MFA_BOOTSTRAP_METHOD', method)}",
        f"  --outfile {ref('FILE_MFA_OUTFILE', outfile)}",
        f"  --tags {tags_arg(kit_tags(participant))}",
    )
    return mkdir, create


def create_virtual_mfa_device(ctx: Context, device_name: str, outfile: str, method: str = "QRCodePNG") -> str:
    """Section 2.1: create the device and its bootstrap file (the QR PNG, or with Base32StringSeed
    the key as text); a second run finds them and changes nothing."""
    require_valid(MFA_DEVICE_NAME=device_name, MFA_BOOTSTRAP_METHOD=method, FILE_MFA_OUTFILE=outfile)
    serial = serial_for(ctx.account_id, device_name)
    path = expand(outfile)
    mkdir, cli = create_commands(device_name, method, str(path.parent), str(path), ctx.participant)
    existing = get_device(ctx, serial)
    if existing:
        ctx.report.command(cli)
        if existing.get("User"):
            user = existing["User"]["UserName"]
            ctx.report.message("info", texts.EXISTS_ENABLED.format(device=device_name, user=user))
        elif qr_problem(outfile) is None:
            ctx.report.message("info", texts.EXISTS.format(device=device_name))
        else:
            raise HandsonError(
                QR_LOST.format(name=device_name, file=outfile, problem=qr_problem(outfile)), "QrFileMissing"
            )
        return serial
    folder_existed = path.parent.is_dir()
    serial = create_and_save(ctx, device_name, outfile, method)
    ctx.report.command(mkdir, "" if folder_existed else texts.FOLDER_CREATED)
    ctx.report.command(cli, f'{{\n    "VirtualMFADevice": {{\n        "SerialNumber": "{serial}"\n    }}\n}}')
    return serial


def recreate_virtual_mfa_device(ctx: Context, device_name: str, outfile: str) -> str:
    """Recovery when the QR file is lost: delete the unassigned device (the kit's) and create it again."""
    require_valid(MFA_DEVICE_NAME=device_name, FILE_MFA_OUTFILE=outfile)
    serial = serial_for(ctx.account_id, device_name)
    existing = get_device(ctx, serial)
    if existing and existing.get("User"):
        raise HandsonError(texts.ASSIGNED_NOT_RECREATED.format(device=device_name), "DeviceAssigned")
    if existing and not owned(device_tags(ctx, serial), ctx.participant):
        raise HandsonError(texts.FOREIGN_DEVICE.format(device=device_name, serial=serial), "ForeignDevice")
    problem = file_problem(expand(outfile))
    if problem:
        raise HandsonError(texts.UNSAFE_QR_FILE_SHORT.format(file=outfile, problem=problem), "UnsafeFile")
    if existing:
        ctx.require_write("iam:DeleteVirtualMFADevice")
        with aws_call("iam:DeleteVirtualMFADevice"):
            ctx.iam.delete_virtual_mfa_device(SerialNumber=serial)
    serial = create_and_save(ctx, device_name, outfile)
    ctx.report.message("success", texts.RECREATED.format(device=device_name, file=outfile))
    return serial


def find_device_serial(ctx: Context, account_id: str, device_name: str) -> str:
    """The 2.2 step that reads the device's serial number back from IAM."""
    wanted = serial_for(account_id, device_name)
    found = [d["SerialNumber"] for d in list_devices(ctx) if d["SerialNumber"] == wanted]
    ctx.report.command(
        continued(
            "MFA_DEVICE_SERIAL=$(",
            "  aws iam list-virtual-mfa-devices",
            "    --query " + SERIAL_QUERY,
            "    --output text",
            ")",
        )
        + " \\\n  && echo ${MFA_DEVICE_SERIAL}",
        " ".join(found),
    )
    if not found:
        raise HandsonError(texts.NO_DEVICE_BEFORE_21.format(device=device_name), "NoDevice")
    return found[0]


def enable_mfa_device(ctx: Context, user_name: str, serial: str, code1: str, code2: str) -> Outcome:
    """EnableMFADevice with two consecutive codes; Outcome.ALREADY when IAM shows it done.

    Bad codes are refused here, before any call; the state is read back from IAM, so a
    second click or a rerun after a kernel restart changes nothing.
    """
    state = get_device(ctx, serial)
    if state is None:
        raise HandsonError(texts.NO_DEVICE.format(device=serial), "NoDevice")
    assigned = state.get("User", {}).get("UserName")
    if assigned == user_name:
        return Outcome.ALREADY
    if assigned:
        raise HandsonError(texts.ASSIGNED_ELSEWHERE.format(user=assigned), "AssignedElsewhere")
    if get_user(ctx, user_name) is None:
        raise HandsonError(texts.NO_USER.format(user=user_name), "NoUser")
    first, second = validate_codes(code1, code2)
    ctx.require_write("iam:EnableMFADevice")
    with aws_call("iam:EnableMFADevice"):
        try:
            ctx.iam.enable_mfa_device(
                UserName=user_name, SerialNumber=serial, AuthenticationCode1=first, AuthenticationCode2=second
            )
        except ctx.iam.exceptions.EntityAlreadyExistsException:
            if (get_device(ctx, serial) or {}).get("User", {}).get("UserName") == user_name:
                return Outcome.ALREADY  # a concurrent click got there first
            raise HandsonError(texts.ASSIGNED_ELSEWHERE_NOW, "EntityAlreadyExists") from None
        except AWS_ERRORS as exc:
            _raise_throttled(exc)
            _raise_other_time(ctx, exc)
            raise
    return Outcome.ENABLED


def _raise_throttled(exc: Exception) -> None:
    """Too many wrong codes for this device (the sandbox's model, README): say to wait."""
    if error_code(exc) == "Throttling":
        raise HandsonError(texts.THROTTLED, "Throttling") from None


def _raise_other_time(ctx: Context, exc: Exception) -> None:
    """Two codes of this device, but of another time (the sandbox says so, code_time.py)."""
    message = code_time.explain_pair(ctx, exc) if error_code(exc) == "InvalidAuthenticationCode" else None
    if message:
        raise HandsonError(message, "InvalidAuthenticationCode") from None


def _pair_command(verb: str, user_name: str, serial: str) -> str:
    return continued(
        f"aws iam {verb}",
        f"  --user-name {ref('IAM_USER_NAME', user_name)}",
        f"  --serial-number {ref('MFA_DEVICE_SERIAL', serial)}",
        "  --authentication-code1 ${MFA_AUTH_CODE1}",
        "  --authentication-code2 ${MFA_AUTH_CODE2}",
    )


def enable_command(user_name: str, serial: str) -> str:
    """The 2.2 enable step exactly as the page writes it."""
    return _pair_command("enable-mfa-device", user_name, serial)


def resync_command(user_name: str, serial: str) -> str:
    """23's resync step, in the same form as 2.2's enable step."""
    return _pair_command("resync-mfa-device", user_name, serial)


CODE_PLACEHOLDERS = texts.CODE_PLACEHOLDERS


def enable_check_lines(user_name: str, serial: str) -> list[tuple[str, str]]:
    """The page's upper lines before enabling: (variable, expected as the page writes it)."""
    return [
        ("IAM_USER_NAME", user_name),
        ("MFA_DEVICE_SERIAL", serial_for("XXXXXXXXXXXX", device_name_of(serial))),
        *CODE_PLACEHOLDERS.items(),
    ]


def show_enable_check(user_name: str, serial: str) -> None:
    """仮想MFAデバイスの有効化, before the form: the page's 変数の設定 of the two codes (placeholders,
    never digits), its 変数の確認 block and the command to run."""
    show_pair_check(user_name, serial, enable_command(user_name, serial))


def show_resync_check(user_name: str, serial: str) -> None:
    """23's 変数の設定 and 変数の確認 before the form, and the command the form runs."""
    show_pair_check(user_name, serial, resync_command(user_name, serial))


def show_pair_check(user_name: str, serial: str, command: str, serial_variable: str = "MFA_DEVICE_SERIAL") -> None:
    """The page's 変数の設定 of the two codes (placeholders, never digits), its 変数の確認 block and
    the command; the codes are typed into the form, so their lower lines say so instead of a value.
    45 names its device's serial MFA_BACKUP_DEVICE_SERIAL."""
    SHOW.command("\n".join(f"{name}='{value}'" for name, value in CODE_PLACEHOLDERS.items()), label=VARIABLES_SET)
    upper = [
        (serial_variable if name == "MFA_DEVICE_SERIAL" else name, value)
        for name, value in enable_check_lines(user_name, serial)
    ]
    template = "\n".join(f'  # {name}:"{value}"\n    {name}="${{{name}}}"' for name, value in upper)
    actual = {"IAM_USER_NAME": user_name, serial_variable: serial}
    printed = "\n".join(
        f'  # {name}:"{value}"\n    {name}="{actual.get(name, texts.CODE_IN_FORM)}"' for name, value in upper
    )
    SHOW.command(f"cat << END\n\n{template}\n\nEND", printed, label=VARIABLES_CHECK)
    SHOW.command(command)


def require_assigned(ctx: Context, user_name: str, serial: str) -> None:
    """23 and 45 need the device enabled for the user (read from IAM): else say which section to run."""
    state = get_device(ctx, serial)
    if state is None:
        raise HandsonError(texts.NO_DEVICE_BEFORE_22.format(device=serial), "NoDevice")
    assigned = state.get("User", {}).get("UserName")
    if assigned != user_name:
        where = texts.ASSIGNED_TO_OTHER.format(user=assigned) if assigned else texts.NOT_ENABLED_YET
        message = texts.NOT_ASSIGNED.format(device=device_name_of(serial), user=user_name, where=where)
        raise HandsonError(message, "NotAssigned")


def resync_mfa_device(ctx: Context, user_name: str, serial: str, code1: str, code2: str) -> Outcome:
    """ResyncMFADevice with two consecutive codes, for a device IAM holds as out of sync (codes
    typed too late at enabling, or a phone's clock that drifted). The codes are checked as 22's are."""
    require_assigned(ctx, user_name, serial)
    first, second = validate_codes(code1, code2)
    ctx.require_write("iam:ResyncMFADevice")
    with aws_call("iam:ResyncMFADevice"):
        try:
            ctx.iam.resync_mfa_device(
                UserName=user_name, SerialNumber=serial, AuthenticationCode1=first, AuthenticationCode2=second
            )
        except ctx.iam.exceptions.InvalidAuthenticationCodeException as exc:
            _raise_other_time(ctx, exc)
            raise HandsonError(texts.INVALID_RESYNC_CODE, "InvalidAuthenticationCode") from None
        except AWS_ERRORS as exc:
            _raise_throttled(exc)
            raise
    return Outcome.RESYNCED


def enabled_users(ctx: Context, user_name: str) -> list[str]:
    return [d["User"]["UserName"] for d in list_devices(ctx) if d.get("User", {}).get("UserName") == user_name]


def verify_mfa_enabled(ctx: Context, user_name: str) -> None:
    """完了確認 of 2.2: the seed's query over list-virtual-mfa-devices prints the user's name."""
    actual = " ".join(enabled_users(ctx, user_name))
    ctx.report.command(
        continued(
            "aws iam list-virtual-mfa-devices",
            '  --query "VirtualMFADevices[?User.UserName == \\`${IAM_USER_NAME}\\`].User.UserName"',
            "  --output text",
        ),
        actual,
    )
    ok = ctx.report.check(texts.CHECK_ENABLED.format(user=user_name), user_name, actual or NONE, actual == user_name)
    require_passed(ok, texts.CHECK_ENABLED_HINT)


def verify_device_created(ctx: Context, device_name: str, outfile: str) -> None:
    """完了確認 of 2.1: the device is listed and its QR file is the kit's private PNG (0600)."""
    serial = serial_for(ctx.account_id, device_name)
    listed = get_device(ctx, serial) is not None
    path = expand(outfile)
    mode_ok = qr_problem(outfile) is None and only_mine(path)
    private = mode_ok and folder_problem(path.parent) is None
    ctx.report.command(
        continued("aws iam list-virtual-mfa-devices", "  --query " + SERIAL_QUERY, "  --output text"),
        serial if listed else "",
    )
    ok_device = ctx.report.check(
        texts.CHECK_DEVICE.format(device=device_name), serial, serial if listed else NONE, listed
    )
    ok_file = ctx.report.check(
        texts.CHECK_QR, f"{outfile} (0600)", f"{outfile} ({'0600' if private else NOT_PRIVATE})", private
    )
    require_passed(ok_device and ok_file, texts.CHECK_CREATED_HINT)


def console_view(ctx: Context, user_name: str) -> None:
    """(参考) The console's セキュリティ認証情報 tab, 多要素認証 (MFA) panel: one row per device.

    Today's console lists devices in a table (タイプ, 識別子, 作成日); the page's older screen had a
    field 'MFA デバイスの割り当て', which is now the button that adds a device.
    """
    with aws_call("iam:ListMFADevices"):
        try:
            devices = ctx.iam.list_mfa_devices(UserName=user_name)["MFADevices"]
        except ctx.iam.exceptions.NoSuchEntityException:
            devices = []
    rows = [[texts.CONSOLE_VIRTUAL, d["SerialNumber"], d["EnableDate"].strftime("%Y-%m-%d")] for d in devices]
    ctx.report.table(texts.CONSOLE_TITLE.format(user=user_name), texts.CONSOLE_HEADER, rows or [[NONE, "", ""]])
