"""Where a learner stands, read live from IAM and the disk (the contents notebook shows it)."""

from __future__ import annotations

import os

from .access_key import kit_key_ids, read_key_file
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
from .texts import progress as texts
from .users import get_user, user_policies

DONE, TODO = "✔", "-"
# 40 ends with a read made with a session that lives only in the kernel: IAM keeps no trace of it.
POLICY_ONLY = texts.POLICY_ONLY
# Advanced sections a learner may skip: shown, never named as the next notebook (23 leaves nothing
# in IAM to read back, so it is not a row).
OPTIONAL = ("45_add_backup_mfa_device",)


def progress(ctx: Context) -> list[tuple[str, str, str]]:
    """(notebook, what it leaves behind, state) for 1, 2.1, 2.2, 3.1, 40 and 45, from IAM and the disk;
    後始末 is done when all are gone. 40 is never ✔ here: its policy shows, its session step cannot."""
    who = ctx.participant
    user_name, device_name = scoped(SEED_USER_NAME, who), scoped(SEED_DEVICE_NAME, who)
    user = get_user(ctx, user_name)
    device = get_device(ctx, serial_for(ctx.account_id, device_name))
    qr = os.path.lexists(expand(mfa_outfile(SEED_DIR_MFA_OUTFILE, device_name)))
    enabled = bool(device and device.get("User", {}).get("UserName") == user_name)
    key_file = access_key_file(SEED_DIR_ACCESS_KEY, user_name)
    on_disk = read_key_file(expand(key_file))
    has_key = bool(user and on_disk and on_disk.key_id in kit_key_ids(ctx, user_name, key_file))
    has_policy = bool(user and KIT_POLICY_NAME in user_policies(ctx, user_name))
    backup_name = scoped(SEED_BACKUP_DEVICE_NAME, who)
    backup = get_device(ctx, serial_for(ctx.account_id, backup_name))
    has_backup = bool(backup and backup.get("User", {}).get("UserName") == user_name)

    def mark(done: bool) -> str:
        return DONE if done else TODO

    return [
        (
            "10_create_iam_user",
            texts.USER.format(user=user_name, path=SEED_USER_PATH),
            mark(bool(user and user["Path"] == SEED_USER_PATH)),
        ),
        (
            "21_create_virtual_mfa_device",
            texts.DEVICE.format(device=device_name),
            mark(bool(device) and (qr or enabled)),
        ),
        ("22_enable_virtual_mfa_device", texts.ENABLED.format(user=user_name), mark(enabled)),
        ("31_create_access_key", texts.ACCESS_KEY.format(user=user_name), mark(has_key)),
        ("40_mfa_protected_access", texts.POLICY.format(policy=KIT_POLICY_NAME), POLICY_ONLY if has_policy else TODO),
        ("45_add_backup_mfa_device", texts.BACKUP.format(device=backup_name), mark(has_backup)),
    ]


def show_progress(ctx: Context) -> str:
    """A table of the sections with ✔/-, and the notebook to open next (returned)."""
    rows = progress(ctx)
    ctx.report.table(texts.TITLE, texts.HEADER, [list(row) for row in rows])
    if all(state == TODO for _, _, state in rows):
        ctx.report.message("info", texts.NOTHING_YET)
        return "01_preparation"
    name, state = next(
        (name, state) for name, _, state in rows if state != DONE and name not in OPTIONAL
    )  # 40 is never DONE
    if state == POLICY_ONLY:
        ctx.report.message("info", texts.NEXT_AFTER_POLICY)
    else:
        ctx.report.message("info", texts.NEXT.format(name=name))
    return name
