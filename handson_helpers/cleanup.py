"""後始末: remove what the hands-on created, in the order IAM requires, and nothing else.

All or nothing: when any of the user, the device or the QR file is not the kit's for this
learner (made in a terminal, by another participant, or a link), nothing is deleted, so the
account is never left half-cleaned; the learner gets the commands to do it by hand instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .access_cleanup import (
    AccessPlan,
    access_cleanup_commands,
    access_cleanup_rows,
    plan_access_cleanup,
    run_access_cleanup,
)
from .access_key import read_key_file
from .errors import HandsonError, aws_call, require_passed
from .mfa import device_tags, get_device, list_devices, serial_for
from .safefs import read_bootstrap, remove_private
from .settings import (
    KIT_POLICY_NAME,
    SEED_BACKUP_DEVICE_NAME,
    SEED_DIR_ACCESS_KEY,
    access_key_file,
    expand,
    mfa_outfile,
    owned,
    scoped,
)
from .shell import assign, continued, ref
from .target import Context
from .texts import cleanup as texts
from .texts.common import NONE
from .users import get_user, is_kits_user, listed


@dataclass(frozen=True)
class BackupPlan:
    """45's second device and its QR file."""

    serial: str
    outfile: str
    deactivate: bool
    delete_device: bool
    delete_file: bool

    @property
    def empty(self) -> bool:
        return not (self.deactivate or self.delete_device or self.delete_file)


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
    access: AccessPlan | None = None  # 3.1, 40 and 45: the kit's inline policies, access keys and key file
    backup: BackupPlan | None = None  # 45: the second device

    @property
    def empty(self) -> bool:
        access = self.access is not None and not self.access.empty
        backup = self.backup is not None and not self.backup.empty
        return not (access or backup or self.deactivate or self.delete_device or self.delete_user or self.delete_file)


def commands(plan: Plan) -> list[str]:
    """The aws CLI steps of a plan, in IAM's order, as a learner would type them."""
    backup = _backup_commands(plan.user_name, plan.backup) if plan.backup else []
    return (access_cleanup_commands(plan.access) if plan.access else []) + backup + _device_and_user_commands(plan)


def _device_commands(user: str, serial: str, deactivate: bool, delete: bool) -> list[str]:
    """Deactivate, then delete a virtual device (``user`` and ``serial`` as shown)."""
    steps = []
    if deactivate:
        steps.append(continued("aws iam deactivate-mfa-device", f"  --user-name {user}", f"  --serial-number {serial}"))
    if delete:
        steps.append(continued("aws iam delete-virtual-mfa-device", f"  --serial-number {serial}"))
    return steps


def _backup_commands(user_name: str, backup: BackupPlan) -> list[str]:
    steps = _device_commands(ref("IAM_USER_NAME", user_name), backup.serial, backup.deactivate, backup.delete_device)
    if backup.delete_file:
        steps.append(
            "rm " + assign("FILE", str(expand(backup.outfile))).split("=", 1)[1]
        )  # "${HOME}/…" as the page writes paths
    return steps


def _device_and_user_commands(plan: Plan) -> list[str]:
    user = ref("IAM_USER_NAME", plan.user_name)
    steps = _device_commands(user, ref("MFA_DEVICE_SERIAL", plan.serial), plan.deactivate, plan.delete_device)
    if plan.delete_user:
        steps.append(continued("aws iam delete-user", f"  --user-name {user}"))
    if plan.delete_file:
        steps.append(f"rm {ref('FILE_MFA_OUTFILE', str(expand(plan.outfile)))}")
    return steps


def plan_cleanup(
    ctx: Context,
    user_name: str,
    user_path: str,
    device_name: str,
    outfile: str,
    key_file: str | None = None,
    policy_name: str = KIT_POLICY_NAME,
    backup_name: str | None = None,
) -> Plan:
    """Read IAM and the disk, and list what 後始末 would delete (shown before deleting).

    ``key_file`` (3.1's FILE_ACCESS_KEY) defaults to the hands-on's path for this user;
    ``backup_name`` (45's device, its QR file beside 2.1's) to the hands-on's name for this learner.
    """
    key_file = key_file or access_key_file(SEED_DIR_ACCESS_KEY, user_name)
    backup_name = backup_name or scoped(SEED_BACKUP_DEVICE_NAME, ctx.participant)
    backup_serial = serial_for(ctx.account_id, backup_name)
    backup_outfile = mfa_outfile(str(Path(outfile).parent), backup_name)
    serial = serial_for(ctx.account_id, device_name)
    ctx.report.command(
        'MFA_DEVICE_SERIAL="arn:aws:iam::${AWS_ID}:mfa/${MFA_DEVICE_NAME}" \\\n  && echo ${MFA_DEVICE_SERIAL}', serial
    )
    user = get_user(ctx, user_name)
    devices = {d["SerialNumber"]: d for d in list_devices(ctx)}  # one read for 2.1's device and 45's
    device = devices.get(serial)
    owner = (device or {}).get("User", {}).get("UserName")
    kits_user = user is not None and is_kits_user(ctx, user, user_path)
    backup = devices.get(backup_serial)
    backup_owner = (backup or {}).get("User", {}).get("UserName")
    refused = _refusals(
        ctx,
        (user_name, user_path, user is not None and not kits_user),
        (device_name, device, owner),
        (backup_name, backup, backup_owner),
        (outfile, backup_outfile, key_file),
    )
    # The kit's policy, keys and key file; other keys and inline policies are in access.foreign.
    access = plan_access_cleanup(ctx, user_name, key_file, policy_name) if user is None or kits_user else None
    if kits_user and access is not None:
        refused += [texts.ATTACHED.format(user=user_name, item=item) for item in access.foreign]
        refused += attachments(ctx, user_name, (serial, backup_serial))
    whole = Plan(
        user_name=user_name,
        serial=serial,
        outfile=outfile,
        deactivate=owner == user_name,
        delete_device=device is not None,
        delete_user=user is not None,
        delete_file=os.path.lexists(expand(outfile)),
        refused=tuple(refused),
        access=access,
        backup=_backup_plan(backup_serial, backup_outfile, backup, backup_owner == user_name),
    )
    plan = whole if not refused else Plan(user_name, serial, outfile, False, False, False, False, tuple(refused))
    _show_plan(ctx, plan, whole)
    return plan


def _backup_plan(serial: str, outfile: str, listed: dict | None, assigned: bool) -> BackupPlan:
    return BackupPlan(serial, outfile, assigned, listed is not None, os.path.lexists(expand(outfile)))


def _refusals(ctx: Context, user: tuple[str, str, bool], device, backup, files: tuple[str, str, str]) -> list[str]:
    """Why the user, 2.1's device, the QR files, 45's device or the key file are not the kit's for
    this learner (nothing is then deleted). ``user`` is (name, path, whether it is there but not the
    kit's); ``device`` and ``backup`` are (name, as IAM lists it, assigned user); ``files`` are the
    two QR files and the key file."""
    *qr_files, key_file = files
    user_name, user_path, foreign_user = user
    (device_name, listed, owner), (backup_name, backup_listed, backup_owner) = device, backup
    serial, backup_serial = serial_for(ctx.account_id, device_name), serial_for(ctx.account_id, backup_name)
    refused = []
    if owner and owner != user_name:
        refused.append(texts.ASSIGNED_ELSEWHERE.format(serial=serial, owner=owner))
    if foreign_user:
        refused.append(texts.NOT_KITS_USER.format(user=user_name, path=user_path))
    if (
        listed is not None
        and (not owner or owner == user_name)
        and not owned(device_tags(ctx, serial), ctx.participant)
    ):
        refused.append(texts.NOT_KITS_DEVICE.format(device=device_name))
    for qr in qr_files:
        if os.path.lexists(expand(qr)) and read_bootstrap(expand(qr)) is None:
            refused.append(texts.NOT_KITS_QR.format(file=qr))
    if backup_owner and backup_owner != user_name:
        refused.append(texts.ASSIGNED_ELSEWHERE.format(serial=backup_serial, owner=backup_owner))
    elif backup_listed is not None and not owned(device_tags(ctx, backup_serial), ctx.participant):
        refused.append(texts.NOT_KITS_DEVICE.format(device=backup_name))
    if os.path.lexists(expand(key_file)) and read_key_file(expand(key_file)) is None:
        refused.append(texts.NOT_KITS_KEY_FILE.format(file=key_file))
    return refused


def _show_plan(ctx: Context, plan: Plan, whole: Plan) -> None:
    """The plan's table, and when anything is refused, why and the commands to do it by hand."""
    rows = (
        access_cleanup_rows(plan.access, whole.access, _word)
        + _backup_rows(plan.backup, whole.backup)
        + [
            [
                "",
                texts.ROW_DEACTIVATE,
                f"{plan.user_name} / {plan.serial}",
                _word(plan.deactivate, whole.deactivate, texts.UNASSIGNED),
            ],
            ["", texts.ROW_DELETE_DEVICE, plan.serial, _word(plan.delete_device, whole.delete_device, texts.ABSENT)],
            ["", texts.ROW_DELETE_USER, plan.user_name, _word(plan.delete_user, whole.delete_user, texts.ABSENT)],
            ["", texts.ROW_QR_FILE, plan.outfile, _word(plan.delete_file, whole.delete_file, texts.ABSENT)],
        ]
    )
    rows = [[str(number), *row[1:]] for number, row in enumerate(rows, 1)]
    ctx.report.table(texts.TITLE, texts.HEADER, rows)
    if whole.refused:
        ctx.report.message("warning", texts.REFUSED.format(reasons=" / ".join(whole.refused)))
        ctx.report.command("\n".join(commands(whole)))


def _backup_rows(plan: BackupPlan | None, whole: BackupPlan | None) -> list[list[str]]:
    """45's rows, only for a learner who has its device or QR file (the others never did 45)."""
    if whole is None or whole.empty:
        return []
    plan = plan or BackupPlan(whole.serial, whole.outfile, False, False, False)
    return [
        ["", texts.ROW_BACKUP_DEACTIVATE, whole.serial, _word(plan.deactivate, whole.deactivate, texts.UNASSIGNED)],
        ["", texts.ROW_BACKUP_DELETE, whole.serial, _word(plan.delete_device, whole.delete_device, texts.ABSENT)],
        ["", texts.ROW_BACKUP_FILE, whole.outfile, _word(plan.delete_file, whole.delete_file, texts.ABSENT)],
    ]


def attachments(ctx: Context, user_name: str, serials: tuple[str, ...]) -> list[str]:
    """What else holds the user (DeleteUser would refuse) beyond access keys and inline policies,
    which plan_access_cleanup has already sorted into the kit's (3.1, 40, 45) and others, and the
    kit's devices (``serials``)."""
    iam, found = ctx.iam, []
    devices = [
        d["SerialNumber"]
        for d in listed(ctx, "list_mfa_devices", "MFADevices", UserName=user_name)
        if d["SerialNumber"] not in serials
    ]
    attached = [
        p["PolicyName"] for p in listed(ctx, "list_attached_user_policies", "AttachedPolicies", UserName=user_name)
    ]
    groups = [g["GroupName"] for g in listed(ctx, "list_groups_for_user", "Groups", UserName=user_name)]
    with aws_call("iam:GetLoginProfile"):
        try:
            iam.get_login_profile(UserName=user_name)
            login = True
        except iam.exceptions.NoSuchEntityException:
            login = False
    for what, items in (
        (texts.OTHER_DEVICE, devices),
        (texts.MANAGED_POLICY, attached),
        (texts.GROUP, groups),
        (texts.LOGIN_PROFILE, [texts.PRESENT] if login else []),
    ):
        if items:
            found.append(texts.ATTACHED_LIST.format(user=user_name, what=what, items=", ".join(items)))
    return found


def _word(planned: bool, needed: bool, absent: str) -> str:
    if planned:
        return texts.RUN
    return texts.KEPT if needed else texts.NOT_NEEDED.format(absent=absent)


def run_cleanup(ctx: Context, plan: Plan) -> None:
    """Carry out a plan from plan_cleanup; each step is skipped when already done."""
    if plan.access is not None:  # first: the inline policies and access keys, which DeleteUser would refuse
        run_access_cleanup(ctx, plan.access, _call)
    if plan.backup is not None:  # then 45's device, which DeleteUser would refuse too
        _run_backup_cleanup(ctx, plan.user_name, plan.backup)
    steps = iter(_device_and_user_commands(plan))
    _device_steps(ctx, steps, plan.user_name, plan.serial, plan.deactivate, plan.delete_device)
    if plan.delete_user:
        ctx.require_write("iam:DeleteUser")
        _call(ctx, "iam:DeleteUser", ctx.iam.delete_user, UserName=plan.user_name)
        ctx.report.command(next(steps), "")
    if plan.delete_file:
        remove_private(expand(plan.outfile))
        ctx.report.command(next(steps), "")
    if plan.empty and not plan.refused:
        ctx.report.message("info", texts.NOTHING_TO_DELETE)


def _run_backup_cleanup(ctx: Context, user_name: str, backup: BackupPlan) -> None:
    steps = iter(_backup_commands(user_name, backup))
    _device_steps(ctx, steps, user_name, backup.serial, backup.deactivate, backup.delete_device)
    if backup.delete_file:
        remove_private(expand(backup.outfile))
        ctx.report.command(next(steps), "")


def _device_steps(ctx: Context, steps, user_name: str, serial: str, deactivate: bool, delete: bool) -> None:
    """Deactivate, then delete a virtual device, each shown with its next command from ``steps``."""
    if deactivate:
        ctx.require_write("iam:DeactivateMFADevice")
        _call(ctx, "iam:DeactivateMFADevice", ctx.iam.deactivate_mfa_device, UserName=user_name, SerialNumber=serial)
        ctx.report.command(next(steps), "")
    if delete:
        ctx.require_write("iam:DeleteVirtualMFADevice")
        _call(ctx, "iam:DeleteVirtualMFADevice", ctx.iam.delete_virtual_mfa_device, SerialNumber=serial)
        ctx.report.command(next(steps), "")


def _call(ctx: Context, action: str, method, **params) -> None:
    with aws_call(action):
        try:
            method(**params)
        except ctx.iam.exceptions.NoSuchEntityException:
            pass  # already gone: the goal of this step is reached
        except ctx.iam.exceptions.DeleteConflictException as exc:
            raise HandsonError(texts.DELETE_CONFLICT.format(action=action), "DeleteConflict") from exc


def verify_cleanup(ctx: Context, user_name: str, device_name: str, outfile: str, key_file: str | None = None) -> None:
    """完了確認 of 後始末: user (with its policy and keys), device, QR file and key file are gone."""
    key_file = key_file or access_key_file(SEED_DIR_ACCESS_KEY, user_name)
    serial = serial_for(ctx.account_id, device_name)
    user_gone = get_user(ctx, user_name) is None
    device_gone = get_device(ctx, serial) is None
    file_gone = not os.path.lexists(expand(outfile))
    key_file_gone = not os.path.lexists(expand(key_file))
    backup_name = scoped(SEED_BACKUP_DEVICE_NAME, ctx.participant)
    backup_outfile = expand(mfa_outfile(str(Path(outfile).parent), backup_name))
    backup_gone = get_device(ctx, serial_for(ctx.account_id, backup_name)) is None and not os.path.lexists(
        backup_outfile
    )
    check = ctx.report.check
    results = [
        check(texts.CHECK_USER.format(user=user_name), NONE, NONE if user_gone else user_name, user_gone),
        check(texts.CHECK_DEVICE.format(device=device_name), NONE, NONE if device_gone else serial, device_gone),
        check(texts.CHECK_QR, NONE, NONE if file_gone else outfile, file_gone),
        check(texts.CHECK_KEY_FILE, NONE, NONE if key_file_gone else key_file, key_file_gone),
    ]
    if not backup_gone:  # 45's device or QR file: said only when left (a learner who skipped 45 never sees it)
        results.append(check(texts.CHECK_BACKUP.format(device=backup_name), NONE, backup_name, False))
    require_passed(all(results), texts.CHECK_HINT)
