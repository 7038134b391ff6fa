"""Workshop mode for instructors: who is where, and a cleanup of exactly what the kit created.

``python -m handson_helpers.workshop status``          one row per participant (in a room, then who is stuck and why)
``python -m handson_helpers.workshop status --watch 5`` in a room: that view again every 5 seconds
``python -m handson_helpers.workshop cleanup [--yes]`` lists what it would delete; deletes with --yes

A resource is the kit's when IAM says so: a user under /handson-cli/ tagged handson-kit=iam-mfa
whose handson-participant tag names the participant its name was made for, and a virtual device
named handson-cli-basic-user-mfa[-participant] with the same tags or assigned to such a user; on
such a user, the inline policy handson-cli-require-mfa (40) and the access key its
handson-access-key tag names (3.1). Nothing else in the account is read for deletion, let alone
deleted.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass

from . import room, room_view
from .access_key import tagged_key
from .credentials import mask
from .display import visible
from .errors import AWS_ERRORS, HandsonError, aws_call, explain, require_passed
from .mfa import device_name_of, device_tags, list_devices
from .settings import (
    HASH_LEN,
    KIT_POLICY_NAME,
    KIT_POLICY_NAMES,
    KIT_TAG,
    PARTICIPANT_TAG_KEY,
    SEED_BACKUP_DEVICE_NAME,
    SEED_DEVICE_NAME,
    SEED_USER_NAME,
    SEED_USER_PATH,
    participant,
)
from .target import Context, connect
from .texts import workshop as texts
from .texts.common import NONE
from .users import list_keys, listed, user_policies, user_tags


@dataclass(frozen=True)
class Row:
    participant: str
    user: str | None
    serial: str | None
    enabled: bool
    since: str
    access_key: str = ""  # 3.1: the kit's access key id, if the user has it
    policy: bool = False  # 40: the kit's MFA-required inline policy is on the user


def _suffix(name: str, base: str) -> str | None:
    if name == base:
        return ""
    return name[len(base) + 1 :] if name.startswith(base + "-") else None


def _participant(tags: list[dict], suffix: str) -> str | None:
    """The participant a kit resource was made for, if its tags agree with its name, else None."""
    if KIT_TAG not in tags:
        return None
    tag = next((t["Value"] for t in tags if t.get("Key") == PARTICIPANT_TAG_KEY), None)
    if tag is None:
        return "" if suffix == "" else None
    if tag.startswith("sha256:"):  # exactly what participant_tag writes: no text of one's own after the hash
        return (
            tag if re.fullmatch("sha256:[0-9a-f]{64}", tag) and suffix.endswith("-" + tag[7 : 7 + HASH_LEN]) else None
        )
    return tag if participant(tag) == suffix else None


def kit_users(ctx: Context, user_path: str = SEED_USER_PATH) -> list[tuple[dict, str]]:
    """Users under the hands-on's path named and tagged by the kit, with their participant."""
    with aws_call("iam:ListUsers"):
        pages = ctx.iam.get_paginator("list_users").paginate(PathPrefix=user_path)
        users = [u for page in pages for u in page["Users"] if _suffix(u["UserName"], SEED_USER_NAME) is not None]
    found = []
    for user in users:
        if user["Path"] != user_path:
            continue
        who = _participant(user_tags(ctx, user["UserName"]), _suffix(user["UserName"], SEED_USER_NAME) or "")
        if who is not None:
            found.append((user, who))
    return found


def kit_devices(ctx: Context, users: list[tuple[dict, str]]) -> list[tuple[dict, str]]:
    """Devices named by the kit that carry its tags, or that are assigned to one of its users."""
    owners = {u["UserName"]: who for u, who in users}
    found = []
    for device in list_devices(ctx):
        suffix = _device_suffix(device)
        if suffix is None:
            continue
        owner = device.get("User", {}).get("UserName")
        if owner:
            if owner in owners:
                found.append((device, owners[owner]))
            continue  # assigned to someone the kit did not create: not ours to touch
        who = _participant(device_tags(ctx, device["SerialNumber"]), suffix)
        if who is not None:
            found.append((device, who))
    return found


def _device_suffix(device: dict) -> str | None:
    """The participant part of a device's name: 45's backup first (its name extends 2.1's), else 2.1's."""
    name = device_name_of(device["SerialNumber"])
    backup = _suffix(name, SEED_BACKUP_DEVICE_NAME)
    return backup if backup is not None else _suffix(name, SEED_DEVICE_NAME)


def _is_backup(device: dict) -> bool:
    """45's second device: listed after 2.1's in the instructor's table."""
    return _suffix(device_name_of(device["SerialNumber"]), SEED_BACKUP_DEVICE_NAME) is not None


def kit_access(ctx: Context, user_name: str) -> tuple[str, bool]:
    """The kit's access key id on this user (3.1), and whether the kit's policy is on it (40)."""
    tagged = tagged_key(ctx, user_name)
    key = tagged if tagged and tagged in {k["AccessKeyId"] for k in list_keys(ctx, user_name)} else ""
    return key, KIT_POLICY_NAME in user_policies(ctx, user_name)


def room_identities(ctx: Context) -> list[tuple[dict, str]]:
    """The IAM users a JupyterHub room made for its participants (room.py), with their participant."""
    found = []
    for user in listed(ctx, "list_users", "Users", PathPrefix=room.IDENTITY_PATH):
        tag = next((t["Value"] for t in user_tags(ctx, user["UserName"]) if t["Key"] == room.IDENTITY_TAG_KEY), None)
        if (
            user["Path"] == room.IDENTITY_PATH
            and tag is not None
            and _participant(
                [KIT_TAG, {"Key": PARTICIPANT_TAG_KEY, "Value": tag}], user["UserName"][len(room.IDENTITY_PREFIX) :]
            )
            is not None
        ):
            found.append((user, tag))
    return found


def room_users(ctx: Context) -> list[tuple[dict, str]]:
    """In a room: every user named for a participant, at any path, tagged or not."""
    return [
        (u, suffix) for u in listed(ctx, "list_users", "Users") if (suffix := room.suffix_of(u["UserName"])) is not None
    ]


def room_devices(ctx: Context, users: list[tuple[dict, str]]) -> list[dict]:
    """In a room: the virtual devices a participant can have made (named for them, at path /), unless
    assigned to a user that is not a participant's (e.g. one the instructor made by hand)."""
    theirs = {u["UserName"] for u, _ in users}
    found = []
    for device in list_devices(ctx):
        serial = device["SerialNumber"]
        owner = device.get("User", {}).get("UserName")
        if (
            serial.split(":mfa", 1)[1].count("/") == 1
            and device_name_of(serial).lower().startswith(SEED_DEVICE_NAME + "-")
            and (owner is None or owner in theirs)
        ):
            found.append(device)
    return found


def status(ctx: Context, user_path: str = SEED_USER_PATH) -> list[Row]:
    if f":user{room.IDENTITY_PATH}" in ctx.caller_arn:  # a participant's room key reaches only their own names
        raise HandsonError(
            texts.INSTRUCTOR_ONLY,
            "InstructorOnly",
        )
    users = kit_users(ctx, user_path)
    devices = kit_devices(ctx, users)
    identities = room_identities(ctx) if ctx.room else []
    if (
        ctx.room
    ):  # who a participant is comes from the room's identity, which only the room tags, not from their own tags
        named = {identity["UserName"][len(room.IDENTITY_PREFIX) :]: tag for identity, tag in identities}
        users = [(u, named.get(_suffix(u["UserName"], SEED_USER_NAME) or "", who)) for u, who in users]
        devices = [(d, named.get(_device_suffix(d) or "", who)) for d, who in devices]
    rows = []
    for user, who in users:
        mine = sorted((d for d, _ in devices if d.get("User", {}).get("UserName") == user["UserName"]), key=_is_backup)
        mine = mine or [d for d, owner in devices if not d.get("User") and owner == who]
        device = mine[0] if mine else None
        enabled = bool(device and device.get("User"))
        since = device["EnableDate"].isoformat(timespec="seconds") if device and enabled else ""
        key, policy = kit_access(ctx, user["UserName"])
        rows.append(Row(who, user["UserName"], device["SerialNumber"] if device else None, enabled, since, key, policy))
    listed_users = {r.user for r in rows}
    shown = {r.serial for r in rows} | {
        d["SerialNumber"] for d, _ in devices if d.get("User", {}).get("UserName") in listed_users
    }
    for device, who in devices:
        if device["SerialNumber"] not in shown:
            rows.append(Row(who, None, device["SerialNumber"], False, ""))
    started = {r.participant for r in rows}
    if ctx.room:  # in the room, not yet at 1
        rows += [Row(who, None, None, False, "") for _, who in identities if who not in started]
    return sorted(rows, key=lambda r: (r.participant, r.user or ""))


def show_status(ctx: Context, user_path: str = SEED_USER_PATH) -> list[Row]:
    """The instructor's table: participant, user, device, MFA enabled, since."""
    rows = status(ctx, user_path)
    ctx.report.table(
        texts.STATUS_TITLE.format(count=len(rows)),
        texts.STATUS_HEADER,
        [
            [
                r.participant or texts.NO_NAME,
                r.user or NONE,
                device_name_of(r.serial) if r.serial else NONE,
                "✔" if r.enabled else "-",
                r.since or "-",
                "✔" if r.access_key else "-",
                "✔" if r.policy else "-",
            ]
            for r in rows
        ]
        or [[NONE, "", "", "", "", "", ""]],
    )
    return rows


def verify_all_enabled(ctx: Context, user_path: str = SEED_USER_PATH) -> None:
    """完了確認 for the instructor: every participant listed has MFA enabled."""
    rows = status(ctx, user_path)
    if not rows:
        ctx.report.message(
            "warning",
            texts.NOBODY_FOUND,
        )
        return
    waiting = [visible(r.participant or r.user or r.serial or "") for r in rows if not r.enabled]
    ok = ctx.report.check(
        texts.ALL_ENABLED.format(count=len(rows)),
        texts.WAITING.format(count=0),
        texts.WAITING.format(count=len(waiting)) + (": " + ", ".join(waiting) if waiting else ""),
        not waiting,
    )
    require_passed(
        ok,
        texts.WAITING_NEXT,
    )


Step = tuple[str, str | None, str | None]  # (operation, user name, policy name / key id / serial)


def cleanup(ctx: Context, yes: bool) -> int:
    """List, then (with yes) delete, in AWS's order: the kit's inline policies and access key,
    deactivate, delete device, delete user."""
    steps = _cleanup_steps(ctx)
    ctx.report.table(
        texts.PLAN_TITLE,
        texts.PLAN_HEADER,
        [
            [str(i), op, name or "", mask(target) if op == "delete-access-key" and target else target or ""]
            for i, (op, name, target) in enumerate(steps, 1)
        ]
        or [["-", NONE, "", ""]],
    )
    if not steps or not yes:
        if steps:
            ctx.report.message("info", texts.NOTHING_DELETED_YET)
        return 0
    ctx.require_write("iam:DeleteUser")
    failed = sum(not _delete(ctx, step) for step in steps)
    ctx.report.message(
        "success" if not failed else "warning", texts.DELETED.format(done=len(steps) - failed, total=len(steps))
    )
    return 1 if failed else 0


def _cleanup_steps(ctx: Context) -> list[Step]:
    """What the kit (or, in a room, the participants) made, in the order AWS lets it be deleted."""
    if ctx.room:  # everything named for a participant is theirs there, made by the kit or in the terminal
        users = room_users(ctx)
        devices = room_devices(ctx, users)
    else:
        users = kit_users(ctx)
        devices = [d for d, _ in kit_devices(ctx, users)]
    steps: list[Step] = []
    for user, _ in users:
        if ctx.room:
            steps += [("delete-user-policy", user["UserName"], p) for p in user_policies(ctx, user["UserName"])]
            steps += [
                ("delete-access-key", user["UserName"], k["AccessKeyId"]) for k in list_keys(ctx, user["UserName"])
            ]
            continue
        key, _ = kit_access(ctx, user["UserName"])
        steps += [
            ("delete-user-policy", user["UserName"], p)
            for p in user_policies(ctx, user["UserName"])
            if p in KIT_POLICY_NAMES
        ]  # 40's and 45's
        if key:
            steps.append(("delete-access-key", user["UserName"], key))
    steps += [("deactivate-mfa-device", d["User"]["UserName"], d["SerialNumber"]) for d in devices if d.get("User")]
    steps += [("delete-virtual-mfa-device", None, d["SerialNumber"]) for d in devices]
    steps += [("delete-user", u["UserName"], None) for u, _ in users]
    if ctx.room:  # a room's participants' own IAM users go last
        for identity, _ in room_identities(ctx):
            name = identity["UserName"]
            steps += (
                [("delete-user-policy", name, room.SCOPE_POLICY_NAME)]
                if room.SCOPE_POLICY_NAME in user_policies(ctx, name)
                else []
            )
            steps += [("delete-access-key", name, k["AccessKeyId"]) for k in list_keys(ctx, name)]
            steps.append(("delete-user", name, None))
    return steps


def _delete(ctx: Context, step: Step) -> bool:
    """One step; False (and said) when AWS refused it. Already gone counts as done."""
    op, name, target = step
    try:
        if op == "delete-user-policy":
            ctx.iam.delete_user_policy(UserName=name, PolicyName=target)
        elif op == "delete-access-key":
            ctx.iam.delete_access_key(UserName=name, AccessKeyId=target)
        elif op == "deactivate-mfa-device":
            ctx.iam.deactivate_mfa_device(UserName=name, SerialNumber=target)
        elif op == "delete-virtual-mfa-device":
            ctx.iam.delete_virtual_mfa_device(SerialNumber=target)
        else:
            ctx.iam.delete_user(UserName=name)
    except ctx.iam.exceptions.NoSuchEntityException:
        pass  # already gone, perhaps by the participant's own 後始末
    except AWS_ERRORS as exc:
        ctx.report.message("error", f"{op} {name or target}: {explain(exc, 'iam:' + op).message}")
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handson_helpers.workshop", description="Instructor tools for a workshop."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    state = sub.add_parser("status", help="one row per participant; in a room, then who is stuck and why")
    state.add_argument(
        "--watch", type=float, metavar="SECONDS", help="in a room: show who is stuck again every SECONDS until Ctrl-C"
    )
    clean = sub.add_parser("cleanup", help="list what would be deleted; delete with --yes")
    clean.add_argument("--yes", action="store_true", help="really delete")
    args = parser.parse_args(argv)
    try:
        ctx = connect()
        if args.command == "status":
            show_status(ctx)
            if ctx.room:
                room_view.watch(ctx.report, ctx.settings, args.watch or 0, None if args.watch else 1)
            return 0
        return cleanup(ctx, args.yes)
    except HandsonError as exc:
        print(f"✘ {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the end of --watch
        return 0


if __name__ == "__main__":
    sys.exit(main())
