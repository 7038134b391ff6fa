"""Where a learner stands, read live from IAM and the disk (the contents notebook shows it)."""

from __future__ import annotations

import os

from .access import kit_key_ids, read_key_file, user_policies
from .mfa import get_device, serial_for
from .settings import (
    KIT_POLICY_NAME,
    SEED_BACKUP_DEVICE_NAME,
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

# Advanced sections a learner may skip: shown, never named as the next notebook (23 leaves nothing
# in IAM to read back, so it is not a row).
OPTIONAL = ("45_add_backup_mfa_device",)


def progress(ctx: Context) -> list[tuple[str, str, bool]]:
    """(notebook, what it leaves behind, done?) for 1, 2.1, 2.2, 3.1, 40 and 45, from IAM and the
    disk; 後始末 is done when all are gone."""
    user_name, device_name = scoped(SEED_USER_NAME), scoped(SEED_DEVICE_NAME)
    user = get_user(ctx, user_name)
    device = get_device(ctx, serial_for(ctx.account_id, device_name))
    qr = os.path.lexists(expand(mfa_outfile(SEED_DIR_MFA_OUTFILE, device_name)))
    enabled = bool(device and device.get("User", {}).get("UserName") == user_name)
    key_file = access_key_file(SEED_DIR_ACCESS_KEY, user_name)
    on_disk = read_key_file(expand(key_file))
    has_key = bool(user and on_disk and on_disk.key_id in kit_key_ids(ctx, user_name, key_file))
    has_policy = bool(user and KIT_POLICY_NAME in user_policies(ctx, user_name))
    backup_name = scoped(SEED_BACKUP_DEVICE_NAME)
    backup = get_device(ctx, serial_for(ctx.account_id, backup_name))
    has_backup = bool(backup and backup.get("User", {}).get("UserName") == user_name)
    return [
        ("10_create_iam_user", f'IAMユーザー"{user_name}"(パス {SEED_USER_PATH})', bool(user and user["Path"] == SEED_USER_PATH)),
        ("21_create_virtual_mfa_device", f'仮想MFAデバイス"{device_name}"とQRコードファイル', bool(device) and (qr or enabled)),
        ("22_enable_virtual_mfa_device", f'"{user_name}"のMFAが有効', enabled),
        ("31_create_access_key", f'"{user_name}"のアクセスキーとアクセスキーファイル', has_key),
        ("40_mfa_protected_access", f'MFA必須のインラインポリシー"{KIT_POLICY_NAME}"', has_policy),
        ("45_add_backup_mfa_device", f'(任意)予備の仮想MFAデバイス"{backup_name}"が有効', has_backup),
    ]


def show_progress(ctx: Context) -> str:
    """A table of the sections with ✔/-, and the notebook to open next (returned)."""
    rows = progress(ctx)
    nothing_left = not any(done for _, _, done in rows)
    ctx.report.table(
        "いまの進み具合(IAMから取得)",
        ["ノートブック", "確認したこと", "状態"],
        [[name, what, "✔" if done else "-"] for name, what, done in rows],
    )
    pending = next((name for name, _, done in rows if not done and name not in OPTIONAL), None)
    if nothing_left:
        following = "01_preparation"
        ctx.report.message("info", "まだ何も作成されていません(または後始末が済んでいます)。01_preparation から始めます。")
    elif pending:
        following = pending
        ctx.report.message("info", f"次に開くノートブック: {pending}")
    else:
        following = "90_cleanup"
        ctx.report.message("success", "発展(40)まで完了しています。終わったら 90_cleanup で後始末をします。")
    return following
