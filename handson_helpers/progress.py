"""Where a learner stands, read live from IAM and the disk (the contents notebook shows it)."""

from __future__ import annotations

import os

from .access import kit_key_ids, read_key_file, user_policies
from .mfa import get_device, serial_for
from .settings import (
    KIT_POLICY_NAME,
    SEED_DEVICE_NAME,
    SEED_DIR_ACCESS_KEY,
    SEED_DIR_MFA_OUTFILE,
    SEED_USER_NAME,
    SEED_USER_PATH,
    access_key_file,
    expand,
    mfa_outfile,
    scoped,
)
from .target import Context
from .users import get_user

DONE, TODO = "✔", "-"
# 40 ends with a read made with a session that lives only in the kernel: IAM keeps no trace of it.
POLICY_ONLY = "ポリシーのみ設定済み"


def progress(ctx: Context) -> list[tuple[str, str, str]]:
    """(notebook, what it leaves behind, state) for 1, 2.1, 2.2, 3.1 and 40, from IAM and the disk;
    後始末 is done when all are gone. 40 is never ✔ here: its policy shows, its session step cannot."""
    user_name, device_name = scoped(SEED_USER_NAME), scoped(SEED_DEVICE_NAME)
    user = get_user(ctx, user_name)
    device = get_device(ctx, serial_for(ctx.account_id, device_name))
    qr = os.path.lexists(expand(mfa_outfile(SEED_DIR_MFA_OUTFILE, device_name)))
    enabled = bool(device and device.get("User", {}).get("UserName") == user_name)
    key_file = access_key_file(SEED_DIR_ACCESS_KEY, user_name)
    on_disk = read_key_file(expand(key_file))
    has_key = bool(user and on_disk and on_disk.key_id in kit_key_ids(ctx, user_name, key_file))
    has_policy = bool(user and KIT_POLICY_NAME in user_policies(ctx, user_name))

    def mark(done: bool) -> str:
        return DONE if done else TODO

    return [
        ("10_create_iam_user", f'IAMユーザー"{user_name}"(パス {SEED_USER_PATH})', mark(bool(user and user["Path"] == SEED_USER_PATH))),
        ("21_create_virtual_mfa_device", f'仮想MFAデバイス"{device_name}"とQRコードファイル', mark(bool(device) and (qr or enabled))),
        ("22_enable_virtual_mfa_device", f'"{user_name}"のMFAが有効', mark(enabled)),
        ("31_create_access_key", f'"{user_name}"のアクセスキーとアクセスキーファイル', mark(has_key)),
        ("40_mfa_protected_access", f'MFA必須のインラインポリシー"{KIT_POLICY_NAME}"(一時的な認証情報での確認はIAMに残りません)', POLICY_ONLY if has_policy else TODO),
    ]


def show_progress(ctx: Context) -> str:
    """A table of the sections with ✔/-, and the notebook to open next (returned)."""
    rows = progress(ctx)
    ctx.report.table("いまの進み具合(IAMから取得)", ["ノートブック", "確認したこと", "状態"], [list(row) for row in rows])
    if all(state == TODO for _, _, state in rows):
        ctx.report.message("info", "まだ何も作成されていません(または後始末が済んでいます)。01_preparation から始めます。")
        return "01_preparation"
    name, state = next((name, state) for name, _, state in rows if state != DONE)  # 40 is never DONE
    if state == POLICY_ONLY:
        ctx.report.message(
            "info",
            "次に開くノートブック: 40_mfa_protected_access。MFA必須のポリシーは設定済みです。一時的な認証情報で確かめる手順はIAMに記録が残らないため、"
            "ここでは確認できません。40 を最後(完了確認)まで実行したら、90_cleanup で後始末をします。",
        )
    else:
        ctx.report.message("info", f"次に開くノートブック: {name}")
    return name
