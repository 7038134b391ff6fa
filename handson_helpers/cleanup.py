"""後始末: remove what the hands-on created, in the order IAM requires, and nothing else."""
from __future__ import annotations

from dataclasses import dataclass

from . import display
from .errors import AWS_ERRORS, HandsonError, explain, require_passed
from .mfa import get_device, serial_for
from .settings import KIT_TAG, expand
from .target import Context
from .users import get_user


@dataclass(frozen=True)
class Plan:
    user_name: str
    serial: str
    outfile: str
    deactivate: bool
    delete_device: bool
    delete_user: bool
    delete_file: bool
    refused: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.deactivate or self.delete_device or self.delete_user or self.delete_file)


def _is_kits_user(ctx: Context, user: dict, user_path: str) -> bool:
    try:
        tags = ctx.iam.list_user_tags(UserName=user["UserName"])["Tags"]
    except AWS_ERRORS as exc:
        raise explain(exc, "iam:ListUserTags") from None
    return user["Path"] == user_path and KIT_TAG in tags


def plan_cleanup(ctx: Context, user_name: str, user_path: str, device_name: str, outfile: str) -> Plan:
    """Read IAM and the disk, and list what 後始末 would delete (shown before deleting)."""
    serial = serial_for(ctx.account_id, device_name)
    user = get_user(ctx, user_name)
    device = get_device(ctx, serial)
    refused = []
    owner = (device or {}).get("User", {}).get("UserName")
    if owner and owner != user_name:
        refused.append(f"デバイス {serial} は別のユーザー {owner} に割り当てられているため触りません")
        device = None
    kits_user = user is not None and _is_kits_user(ctx, user, user_path)
    if user is not None and not kits_user:
        refused.append(f"ユーザー {user_name} はキットが作成したもの(パス {user_path} とタグ {KIT_TAG['Key']})ではないため削除しません")
    plan = Plan(
        user_name=user_name,
        serial=serial,
        outfile=outfile,
        deactivate=bool(device and owner == user_name),
        delete_device=device is not None,
        delete_user=kits_user,
        delete_file=expand(outfile).exists(),
        refused=tuple(refused),
    )
    rows = [
        ["1", "MFAデバイスの無効化", f"{user_name} / {serial}", "実行" if plan.deactivate else "不要(割り当てなし)"],
        ["2", "仮想MFAデバイスの削除", serial, "実行" if plan.delete_device else "不要(存在しない)"],
        ["3", "IAMユーザーの削除", user_name, "実行" if plan.delete_user else ("対象外" if user else "不要(存在しない)")],
        ["4", "QRコードファイルの削除", outfile, "実行" if plan.delete_file else "不要(存在しない)"],
    ]
    display.table("後始末の予定(この順に実行します)", ["#", "操作", "対象", "予定"], rows)
    for reason in refused:
        display.message("warning", reason)
    return plan


def run_cleanup(ctx: Context, plan: Plan) -> None:
    """Carry out a plan from plan_cleanup; each step is skipped when already done."""
    if plan.deactivate:
        ctx.require_write("iam:DeactivateMFADevice")
        _call(ctx, "iam:DeactivateMFADevice", ctx.iam.deactivate_mfa_device, UserName=plan.user_name, SerialNumber=plan.serial)
        display.command(f"aws iam deactivate-mfa-device \\\n  --user-name {plan.user_name} \\\n  --serial-number {plan.serial}", "")
    if plan.delete_device:
        ctx.require_write("iam:DeleteVirtualMFADevice")
        _call(ctx, "iam:DeleteVirtualMFADevice", ctx.iam.delete_virtual_mfa_device, SerialNumber=plan.serial)
        display.command(f"aws iam delete-virtual-mfa-device \\\n  --serial-number {plan.serial}", "")
    if plan.delete_user:
        ctx.require_write("iam:DeleteUser")
        _call(ctx, "iam:DeleteUser", ctx.iam.delete_user, UserName=plan.user_name)
        display.command(f"aws iam delete-user \\\n  --user-name {plan.user_name}", "")
    if plan.delete_file:
        expand(plan.outfile).unlink(missing_ok=True)
        display.command(f"rm {plan.outfile}", "")
    if plan.empty:
        display.message("info", "削除するものはありません(後始末は済んでいます)。")


def _call(ctx: Context, action: str, method, **params) -> None:
    try:
        method(**params)
    except ctx.iam.exceptions.NoSuchEntityException:
        pass  # already gone: the goal of this step is reached
    except ctx.iam.exceptions.DeleteConflictException as exc:
        raise HandsonError(
            f"{action} が拒否されました: まだ紐づくリソースがあります (アクセスキー、ログインプロファイル等)。"
            "それらを削除してから、このセルをもう一度実行してください。",
            "DeleteConflict",
        ) from exc
    except AWS_ERRORS as exc:
        raise explain(exc, action) from None


def verify_cleanup(ctx: Context, user_name: str, device_name: str, outfile: str) -> None:
    """完了確認 of 後始末: user, device and QR file are gone."""
    serial = serial_for(ctx.account_id, device_name)
    user_gone = get_user(ctx, user_name) is None
    device_gone = get_device(ctx, serial) is None
    file_gone = not expand(outfile).exists()
    results = [
        display.check(f"IAMユーザー「{user_name}」が存在しない", "(なし)", "(なし)" if user_gone else user_name, user_gone),
        display.check(f"仮想MFAデバイス「{device_name}」が存在しない", "(なし)", "(なし)" if device_gone else serial, device_gone),
        display.check("QRコードファイルが存在しない", "(なし)", "(なし)" if file_gone else outfile, file_gone),
    ]
    require_passed(all(results), "表示された警告を確認し、処理の実行のセルをもう一度実行してください。")
