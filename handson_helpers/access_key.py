"""Section 3.1: an access key for the user, and its key file beside the QR file.

The secret goes from IAM straight into a file only its owner can read (safefs), as
`--query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text` writes it: "AKIA…<TAB>secret".
Which access key is the kit's: the one whose id the kit wrote to the user's tag
``handson-access-key`` (IAM keeps no tags on keys) or into the key file.
"""

from __future__ import annotations

import io
import os
import re

from .credentials import Keys, mask
from .errors import HandsonError, aws_call, require_passed
from .safefs import folder_problem, only_mine, read_own, remove_private, write_private
from .settings import expand, require_valid
from .shell import continued, private_dir, ref
from .target import Context
from .texts import access_key as texts
from .texts.common import NONE, NOT_PRIVATE
from .users import list_keys, require_kits_user, user_tags

ACCESS_KEY_TAG = "handson-access-key"
MAX_ACCESS_KEYS = 2  # AWS: at most two access keys per user
KEY_FILE_RE = re.compile(r"((?:AKIA)[A-Z0-9]{16})\t([A-Za-z0-9/+=]{40})\n?", re.ASCII)
KEY_FILE_MAX = 200


def read_key_file(path) -> Keys | None:
    """The kit's key file at ``path`` (a regular file of ours in the expected format), else None."""
    data = read_own(path, KEY_FILE_MAX)
    if data is None:
        return None
    text = io.TextIOWrapper(io.BytesIO(data), encoding="ascii", errors="replace").read()  # as open(…, "r") reads
    match = KEY_FILE_RE.fullmatch(text)
    return Keys(match.group(1), match.group(2)) if match else None


def key_file_problem(key_file: str) -> str | None:
    """Why the key file cannot be written (Japanese), or None."""
    path = expand(key_file)
    if os.path.lexists(path) and read_key_file(path) is None:
        return texts.NOT_KITS_FILE.format(file=key_file)
    return folder_problem(path.parent)


def tagged_key(ctx: Context, user_name: str) -> str | None:
    return next((t["Value"] for t in user_tags(ctx, user_name) if t["Key"] == ACCESS_KEY_TAG), None)


def kit_key_ids(ctx: Context, user_name: str, key_file: str) -> set[str]:
    """The user's access keys that the kit created: named by the user's tag or the kit's file."""
    existing = {k["AccessKeyId"] for k in list_keys(ctx, user_name)}
    named = {tagged_key(ctx, user_name)}
    on_disk = read_key_file(expand(key_file))
    if on_disk:
        named.add(on_disk.key_id)
    return existing & {k for k in named if k}


def key_commands(directory: str, user_name: str, key_file: str) -> dict[str, str]:
    """3.1's steps as a learner types them."""
    folder = ref("DIR_ACCESS_KEY", directory)
    user = ref("IAM_USER_NAME", user_name)
    keyfile = ref("FILE_ACCESS_KEY", key_file)
    create = continued(
        "aws iam create-access-key",
        f"    --user-name {user}",
        "    --query 'AccessKey.[AccessKeyId,SecretAccessKey]'",
        "    --output text",
        f"    > {keyfile}",
    )
    return {
        "mkdir": private_dir(folder),
        "count": continued(
            "aws iam list-access-keys", f"  --user-name {user}", "  --query 'length(AccessKeyMetadata[])'"
        ),
        # noclobber: `>` neither replaces a regular file nor writes through a link to one (a FIFO or a device it
        # would open: the folder step made sure that nobody else can put anything in the folder)
        "create": "(\n  umask 077\n  set -o noclobber\n  " + create + "\n)",
        "key_id": continued(f"ACCESS_KEY_ID=$(cut -f 1 {keyfile})") + " \\\n  && echo ${ACCESS_KEY_ID}",
        "tag": continued(
            "aws iam tag-user", f"  --user-name {user}", f"  --tags Key={ACCESS_KEY_TAG},Value=${{ACCESS_KEY_ID}}"
        ),
        "check": continued(
            "aws iam list-access-keys",
            f"  --user-name {user}",
            '  --query "AccessKeyMetadata[?AccessKeyId == \\`${ACCESS_KEY_ID}\\`].Status"',
            "  --output text",
        ),
    }


def _tag_key(ctx: Context, user_name: str, key_id: str) -> None:
    ctx.require_write("iam:TagUser")
    with aws_call("iam:TagUser"):
        ctx.iam.tag_user(UserName=user_name, Tags=[{"Key": ACCESS_KEY_TAG, "Value": key_id}])


def create_access_key(ctx: Context, user_name: str, key_file: str) -> str:
    """Section 3.1: an access key for the user, written to a file only its owner can read.

    A second run finds the kit's key and changes nothing. Returns the access key id.
    """
    require_valid(IAM_USER_NAME=user_name, FILE_ACCESS_KEY=key_file)
    path = expand(key_file)
    steps = key_commands(str(path.parent), user_name, str(path))
    require_kits_user(ctx, user_name)
    keys = list_keys(ctx, user_name)
    existing = {k["AccessKeyId"] for k in keys}
    on_disk = read_key_file(path)
    tag = tagged_key(ctx, user_name)
    if on_disk and on_disk.key_id in existing:
        for name in ("count", "create", "key_id", "tag"):
            ctx.report.command(steps[name])
        if tag != on_disk.key_id:  # the tag step did not happen (a crash right after the create)
            _tag_key(ctx, user_name, on_disk.key_id)
            ctx.report.message("info", texts.RETAGGED.format(key=mask(on_disk.key_id)))
        else:
            ctx.report.message("info", texts.EXISTS.format(key=mask(on_disk.key_id), file=key_file))
        return on_disk.key_id
    _require_creatable(ctx, user_name, key_file, keys, tag, steps["count"])
    folder_existed = path.parent.is_dir()
    created = _create_key(ctx, user_name, key_file)
    ctx.report.command(steps["mkdir"], "" if folder_existed else texts.FOLDER_CREATED)
    ctx.report.command(steps["count"], str(len(keys)))
    ctx.report.command(steps["create"], texts.SECRET_IN_FILE)
    ctx.report.command(steps["key_id"], mask(created))
    ctx.report.command(steps["tag"], "")
    ctx.report.message("success", texts.CREATED.format(key=mask(created), file=key_file))
    return created


def _require_creatable(ctx: Context, user_name: str, key_file: str, keys: list[dict], tag, count: str) -> None:
    """Refused before anything is created: the kit's key without its file, an unsafe file, or two keys."""
    if tag and tag in {k["AccessKeyId"] for k in keys}:
        raise HandsonError(texts.FILE_LOST.format(key=mask(tag), file=key_file), "KeyFileMissing")
    problem = key_file_problem(key_file)
    if problem:
        raise HandsonError(texts.UNSAFE_FILE.format(file=key_file, problem=problem), "UnsafeFile")
    if len(keys) >= MAX_ACCESS_KEYS:
        ctx.report.command(count, str(len(keys)))
        message = texts.TOO_MANY.format(user=user_name, count=len(keys), limit=MAX_ACCESS_KEYS)
        raise HandsonError(message, "LimitExceeded")


def _create_key(ctx: Context, user_name: str, key_file: str) -> str:
    path = expand(key_file)
    ctx.require_write("iam:CreateAccessKey")
    with aws_call("iam:CreateAccessKey"):
        try:
            created = ctx.iam.create_access_key(UserName=user_name)["AccessKey"]
        except ctx.iam.exceptions.LimitExceededException:
            message = texts.LIMIT_EXCEEDED.format(user=user_name, limit=MAX_ACCESS_KEYS)
            raise HandsonError(message, "LimitExceeded") from None
    key_id = created["AccessKeyId"]
    try:
        if read_key_file(path):
            remove_private(path)  # the kit's file of a key deleted since: replaced
        write_private(path, f"{key_id}\t{created['SecretAccessKey']}\n".encode(), texts.FILE_LABEL)
    except (OSError, HandsonError):
        ctx.iam.delete_access_key(UserName=user_name, AccessKeyId=key_id)
        raise HandsonError(texts.WRITE_FAILED.format(file=key_file), "KeyWriteFailed") from None
    _tag_key(ctx, user_name, key_id)
    return key_id


def recreate_access_key(ctx: Context, user_name: str, key_file: str) -> str:
    """Recovery when the key file is lost: delete the kit's key and create a new one."""
    require_valid(IAM_USER_NAME=user_name, FILE_ACCESS_KEY=key_file)
    require_kits_user(ctx, user_name)
    problem = key_file_problem(key_file)
    if problem:
        raise HandsonError(texts.UNSAFE_FILE_SHORT.format(file=key_file, problem=problem), "UnsafeFile")
    old = tagged_key(ctx, user_name)
    if old in {k["AccessKeyId"] for k in list_keys(ctx, user_name)}:
        ctx.require_write("iam:DeleteAccessKey")
        with aws_call("iam:DeleteAccessKey"):
            ctx.iam.delete_access_key(UserName=user_name, AccessKeyId=old)
    created = _create_key(ctx, user_name, key_file)
    ctx.report.message("success", texts.RECREATED.format(key=mask(created), file=key_file))
    return created


def verify_access_key(ctx: Context, user_name: str, key_file: str) -> None:
    """完了確認 of 3.1: IAM lists the kit's key as Active, and its file is private (0600)."""
    path = expand(key_file)
    on_disk = read_key_file(path)
    keys = {k["AccessKeyId"]: k["Status"] for k in list_keys(ctx, user_name)}
    status = keys.get(on_disk.key_id, "") if on_disk else ""
    ctx.report.command(key_commands(str(path.parent), user_name, str(path))["check"], status)
    mode_ok = bool(on_disk) and only_mine(path)
    private = mode_ok and folder_problem(path.parent) is None
    results = [
        ctx.report.check(texts.CHECK_ACTIVE.format(user=user_name), "Active", status or NONE, status == "Active"),
        ctx.report.check(
            texts.CHECK_FILE, f"{key_file} (0600)", f"{key_file} ({'0600' if private else NOT_PRIVATE})", private
        ),
    ]
    require_passed(all(results), texts.CHECK_HINT)


def key_console_view(ctx: Context, user_name: str) -> None:
    """(参考) The console's アクセスキー panel: id (masked), status, created."""
    status = texts.CONSOLE_STATUS
    rows = [
        [mask(k["AccessKeyId"]), status.get(k["Status"], k["Status"]), k["CreateDate"].strftime("%Y-%m-%d")]
        for k in list_keys(ctx, user_name)
    ]
    ctx.report.table(texts.CONSOLE_TITLE.format(user=user_name), texts.CONSOLE_HEADER, rows or [[NONE, "", ""]])
