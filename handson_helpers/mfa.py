"""Sections 2.1 and 2.2: the virtual MFA device, its QR file, and enabling it with two codes."""

from __future__ import annotations

import os
from enum import Enum

from . import code_time
from .display import SHOW
from .errors import AWS_ERRORS, HandsonError, aws_call, error_code, require_passed
from .safefs import file_problem, folder_problem, read_bootstrap, write_private
from .settings import expand, kit_tags, owned, require_valid
from .shell import continued, private_dir, ref, tags_arg
from .target import Context
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

    def __str__(self) -> str:  # printed as its text, like the strings it replaced
        return self.value


QR_LOST = (
    "仮想MFAデバイス {name} は存在しますが、QRコードファイル {file} {problem}。"
    "AWSはQRコード(シード)を作成時の一度しか返さないため、再表示はできません。"
    "デバイスはまだ有効化されていないので、作り直しても失うものはありません: "
    "hh.recreate_virtual_mfa_device(ctx, MFA_DEVICE_NAME, FILE_MFA_OUTFILE) を実行してください。"
)


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
    """CreateVirtualMFADevice, and its QR (or key) into ``outfile``; the device is deleted again if the file cannot be written."""
    path = expand(outfile)
    problem = file_problem(path)
    if problem:  # refused before anything is created in IAM
        raise HandsonError(
            f"QRコードファイル {outfile} を保存できません: {problem}。DIR_MFA_OUTFILE を自分だけが書き込めるディレクトリ(例: ホームディレクトリの下)に変更してください。何も変更していません。",
            "UnsafeFile",
        )
    ctx.require_write("iam:CreateVirtualMFADevice")
    with aws_call("iam:CreateVirtualMFADevice"):
        try:
            created = ctx.iam.create_virtual_mfa_device(VirtualMFADeviceName=device_name, Tags=kit_tags(ctx.participant))["VirtualMFADevice"]
        except ctx.iam.exceptions.EntityAlreadyExistsException:
            # made a moment ago by this very call, whose answer (with the only copy of the QR) was lost
            raise HandsonError(
                f"仮想MFAデバイス {device_name} は作成されましたが、QRコードを受け取る前に接続が切れました。"
                "AWSはQRコードを再表示しないため、このセルをもう一度実行し、表示される案内に従ってデバイスを作り直してください。",
                "QrFileMissing",
            ) from None
    try:
        write_private(path, created[method], "QRコードファイル")
    except (OSError, HandsonError) as exc:
        with aws_call("iam:DeleteVirtualMFADevice"):
            ctx.iam.delete_virtual_mfa_device(SerialNumber=created["SerialNumber"])
        reason = getattr(exc, "strerror", None) or getattr(exc, "message", "")
        raise HandsonError(
            f"QRコードファイル {outfile} を書き込めませんでした ({reason})。作成したデバイスは削除したので、DIR_MFA_OUTFILE に書き込めるか確認してから、もう一度実行してください。",
            "QrWriteFailed",
        ) from None
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
        return "ありません"
    if read_bootstrap(path) is None:
        return "はキットが保存したQRコード画像(またはキー)ではありません(空のファイル、ディレクトリ、リンク、別の形式など)"
    return None


def create_commands(device_name: str, method: str, directory: str, outfile: str, participant: str = "") -> tuple[str, str]:
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
    mkdir, cli = create_commands(device_name, method, str(expand(outfile).parent), str(expand(outfile)), ctx.participant)
    existing = get_device(ctx, serial)
    if existing:
        ctx.report.command(cli)
        if existing.get("User"):
            ctx.report.message("info", f"仮想MFAデバイス {device_name} は既に作成され、{existing['User']['UserName']} に対して有効化済みです。何も変更していません。")
        elif qr_problem(outfile) is None:
            ctx.report.message("info", f"仮想MFAデバイス {device_name} とQRコードファイルは既に作成済みです。何も変更していません。")
        else:
            raise HandsonError(QR_LOST.format(name=device_name, file=outfile, problem=qr_problem(outfile)), "QrFileMissing")
        return serial
    folder_existed = expand(outfile).parent.is_dir()
    serial = create_and_save(ctx, device_name, outfile, method)
    ctx.report.command(mkdir, "" if folder_existed else "(ディレクトリを作成しました)")
    ctx.report.command(cli, f'{{\n    "VirtualMFADevice": {{\n        "SerialNumber": "{serial}"\n    }}\n}}')
    return serial


def recreate_virtual_mfa_device(ctx: Context, device_name: str, outfile: str) -> str:
    """Recovery when the QR file is lost: delete the unassigned device (the kit's) and create it again."""
    require_valid(MFA_DEVICE_NAME=device_name, FILE_MFA_OUTFILE=outfile)
    serial = serial_for(ctx.account_id, device_name)
    existing = get_device(ctx, serial)
    if existing and existing.get("User"):
        raise HandsonError(f"仮想MFAデバイス {device_name} は有効化済みのため作り直しません。", "DeviceAssigned")
    if existing and not owned(device_tags(ctx, serial), ctx.participant):
        raise HandsonError(
            f"仮想MFAデバイス {device_name} はキットが作成したものではないため、削除も作り直しもしません。"
            f"自分で作成したものなら、ターミナルで aws iam delete-virtual-mfa-device --serial-number {serial} を実行してから、"
            "21_create_virtual_mfa_device をやり直してください。",
            "ForeignDevice",
        )
    problem = file_problem(expand(outfile))
    if problem:
        raise HandsonError(f"QRコードファイル {outfile} を保存できません: {problem}。何も変更していません。", "UnsafeFile")
    if existing:
        ctx.require_write("iam:DeleteVirtualMFADevice")
        with aws_call("iam:DeleteVirtualMFADevice"):
            ctx.iam.delete_virtual_mfa_device(SerialNumber=serial)
    serial = create_and_save(ctx, device_name, outfile)
    ctx.report.message("success", f"仮想MFAデバイス {device_name} を作り直し、新しいQRコードを {outfile} に保存しました。認証アプリの古い登録は削除してください。")
    return serial


def find_device_serial(ctx: Context, account_id: str, device_name: str) -> str:
    """The 2.2 step that reads the device's serial number back from IAM."""
    wanted = serial_for(account_id, device_name)
    found = [d["SerialNumber"] for d in list_devices(ctx) if d["SerialNumber"] == wanted]
    ctx.report.command(
        continued(
            "MFA_DEVICE_SERIAL=$(",
            "  aws iam list-virtual-mfa-devices",
            '    --query "VirtualMFADevices[?SerialNumber == \\`arn:aws:iam::${AWS_ID}:mfa/${MFA_DEVICE_NAME}\\`].SerialNumber"',
            "    --output text",
            ")",
        )
        + " \\\n  && echo ${MFA_DEVICE_SERIAL}",
        " ".join(found),
    )
    if not found:
        raise HandsonError(f"仮想MFAデバイス {device_name} が見つかりません。先に 21_create_virtual_mfa_device を実行してください。", "NoDevice")
    return found[0]


def enable_mfa_device(ctx: Context, user_name: str, serial: str, code1: str, code2: str) -> Outcome:
    """EnableMFADevice with two consecutive codes; Outcome.ALREADY when IAM shows it done.

    Bad codes are refused here, before any call; the state is read back from IAM, so a
    second click or a rerun after a kernel restart changes nothing.
    """
    state = get_device(ctx, serial)
    if state is None:
        raise HandsonError(f"仮想MFAデバイス {serial} が見つかりません。21_create_virtual_mfa_device を実行してください。", "NoDevice")
    assigned = state.get("User", {}).get("UserName")
    if assigned == user_name:
        return Outcome.ALREADY
    if assigned:
        raise HandsonError(f"このデバイスは別のIAMユーザー {assigned} に割り当て済みです。設定値を確認してください。", "AssignedElsewhere")
    if get_user(ctx, user_name) is None:
        raise HandsonError(f"IAMユーザー {user_name} が見つかりません。先に 10_create_iam_user を実行してください。", "NoUser")
    first, second = validate_codes(code1, code2)
    ctx.require_write("iam:EnableMFADevice")
    with aws_call("iam:EnableMFADevice"):
        try:
            ctx.iam.enable_mfa_device(UserName=user_name, SerialNumber=serial, AuthenticationCode1=first, AuthenticationCode2=second)
        except ctx.iam.exceptions.EntityAlreadyExistsException:
            if (get_device(ctx, serial) or {}).get("User", {}).get("UserName") == user_name:
                return Outcome.ALREADY  # a concurrent click got there first
            raise HandsonError("このデバイスは既に別のユーザーに割り当てられています。", "EntityAlreadyExists") from None
        except AWS_ERRORS as exc:
            _raise_throttled(exc)
            _raise_other_time(ctx, exc)
            raise
    return Outcome.ENABLED


def _raise_throttled(exc: Exception) -> None:
    """Too many wrong codes for this device (the sandbox's model, README): say to wait."""
    if error_code(exc) == "Throttling":
        raise HandsonError(THROTTLED, "Throttling") from None


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


CODE_PLACEHOLDERS = {"MFA_AUTH_CODE1": "<連続した認証コードの1回目>", "MFA_AUTH_CODE2": "<連続した認証コードの2回目>"}


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
    SHOW.command("\n".join(f"{name}='{value}'" for name, value in CODE_PLACEHOLDERS.items()), label="変数の設定")
    upper = [(serial_variable if name == "MFA_DEVICE_SERIAL" else name, value) for name, value in enable_check_lines(user_name, serial)]
    template = "\n".join(f'  # {name}:"{value}"\n    {name}="${{{name}}}"' for name, value in upper)
    actual = {"IAM_USER_NAME": user_name, serial_variable: serial}
    printed = "\n".join(f'  # {name}:"{value}"\n    {name}="{actual.get(name, "(下のフォームに入力します)")}"' for name, value in upper)
    SHOW.command(f"cat << END\n\n{template}\n\nEND", printed, label="変数の確認")
    SHOW.command(command)


THROTTLED = (
    "間違った認証コードが続いたため、AWSがこのMFAデバイスの認証コードをしばらく受け付けなくなっています。"
    "10分ほど待ってから、認証アプリに表示された新しい認証コードで、もう一度実行してください。何も変更されていません。"
)
# 40's wrong-code message: AWS's answer cannot tell a mistyped code from a device out of sync
OUT_OF_SYNC_HINT = (
    "認証アプリの認証コードを正しく入力しても拒否される場合は、MFAデバイスの時刻がずれています"
    "(有効化のときに認証コードの入力が遅れた場合など)。時刻がずれている場合は 23_resync_virtual_mfa_device で再同期してください。"
)


def require_assigned(ctx: Context, user_name: str, serial: str) -> None:
    """23 and 45 need the device enabled for the user (read from IAM): else say which section to run."""
    state = get_device(ctx, serial)
    if state is None:
        raise HandsonError(f"仮想MFAデバイス {serial} が見つかりません。先に 21_create_virtual_mfa_device と 22_enable_virtual_mfa_device を実行してください。", "NoDevice")
    assigned = state.get("User", {}).get("UserName")
    if assigned != user_name:
        where = f"別のIAMユーザー {assigned} に割り当てられています" if assigned else "まだ有効化されていません。先に 22_enable_virtual_mfa_device を実行してください"
        raise HandsonError(f"仮想MFAデバイス {device_name_of(serial)} は IAMユーザー {user_name} に対して有効化されていません({where})。", "NotAssigned")


def resync_mfa_device(ctx: Context, user_name: str, serial: str, code1: str, code2: str) -> Outcome:
    """ResyncMFADevice with two consecutive codes, for a device IAM holds as out of sync (codes
    typed too late at enabling, or a phone's clock that drifted). The codes are checked as 22's are."""
    require_assigned(ctx, user_name, serial)
    first, second = validate_codes(code1, code2)
    ctx.require_write("iam:ResyncMFADevice")
    with aws_call("iam:ResyncMFADevice"):
        try:
            ctx.iam.resync_mfa_device(UserName=user_name, SerialNumber=serial, AuthenticationCode1=first, AuthenticationCode2=second)
        except ctx.iam.exceptions.InvalidAuthenticationCodeException as exc:
            _raise_other_time(ctx, exc)
            raise HandsonError(
                "認証コードが正しくありません(IAMが受け付けませんでした)。何も変更されていません。"
                "認証アプリに新しい認証コードが表示されるまで待ち、連続して表示された2つを入力し直してください"
                "(一度使った認証コードは使えません。認証アプリの時刻が5分以上ずれている場合は、スマートフォンの時刻を「自動設定」にしてください)。",
                "InvalidAuthenticationCode",
            ) from None
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
    ok = ctx.report.check(f'IAMユーザー"{user_name}"のMFAが有効になっている', user_name, actual or "(なし)", actual == user_name)
    require_passed(ok, "「仮想MFAデバイスの有効化」のセルをもう一度実行し、2つの認証コードを入力してください。")


def verify_device_created(ctx: Context, device_name: str, outfile: str) -> None:
    """完了確認 of 2.1: the device is listed and its QR file is the kit's private PNG (0600)."""
    serial = serial_for(ctx.account_id, device_name)
    listed = get_device(ctx, serial) is not None
    path = expand(outfile)
    private = qr_problem(outfile) is None and (os.lstat(path).st_mode & 0o777) == 0o600 and folder_problem(path.parent) is None
    ctx.report.command(
        continued(
            "aws iam list-virtual-mfa-devices",
            '  --query "VirtualMFADevices[?SerialNumber == \\`arn:aws:iam::${AWS_ID}:mfa/${MFA_DEVICE_NAME}\\`].SerialNumber"',
            "  --output text",
        ),
        serial if listed else "",
    )
    ok_device = ctx.report.check(f'仮想MFAデバイス"{device_name}"が存在する', serial, serial if listed else "(なし)", listed)
    ok_file = ctx.report.check("QRコードファイルが本人だけ読める状態で存在する", f"{outfile} (0600)", f"{outfile} ({'0600' if private else '存在しないか権限が違う'})", private)
    require_passed(ok_device and ok_file, "処理の実行のセルをもう一度実行してください(QRコードファイルが無い場合は案内に従って作り直せます)。")


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
    rows = [["仮想", d["SerialNumber"], d["EnableDate"].strftime("%Y-%m-%d")] for d in devices] or [["(なし)", "", ""]]
    ctx.report.table(f"ユーザー {user_name} / セキュリティ認証情報(タブ) / 多要素認証 (MFA)", ["タイプ", "識別子", "作成日"], rows)
