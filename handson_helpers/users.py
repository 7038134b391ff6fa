"""Section 1: the IAM user the MFA device is enabled for."""

from __future__ import annotations

from .errors import HandsonError, aws_call, require_passed
from .settings import PARTICIPANT_TAG_KEY, kit_tags, owned, require_valid
from .shell import continued, ref, tags_arg
from .target import Context
from .texts import users as texts
from .texts.common import NONE


def get_user(ctx: Context, user_name: str) -> dict | None:
    """The user as IAM has it, or None."""
    with aws_call("iam:GetUser"):
        try:
            return ctx.iam.get_user(UserName=user_name)["User"]
        except ctx.iam.exceptions.NoSuchEntityException:
            return None


def listed(ctx: Context, operation: str, key: str, **params) -> list:
    """Every item of a paginated IAM list call (e.g. ``list_user_tags``, ``Tags``); a user that is
    not there reads as an empty list."""
    with aws_call("iam:" + ctx.iam.meta.method_to_api_mapping[operation]):
        try:
            return [item for page in ctx.iam.get_paginator(operation).paginate(**params) for item in page[key]]
        except ctx.iam.exceptions.NoSuchEntityException:
            return []


def user_tags(ctx: Context, user_name: str) -> list[dict]:
    return listed(ctx, "list_user_tags", "Tags", UserName=user_name)


def list_keys(ctx: Context, user_name: str) -> list[dict]:
    return listed(ctx, "list_access_keys", "AccessKeyMetadata", UserName=user_name)


def user_policies(ctx: Context, user_name: str) -> list[str]:
    return listed(ctx, "list_user_policies", "PolicyNames", UserName=user_name)


def require_kits_user(ctx: Context, user_name: str) -> dict:
    """The user, when it is the kit's for this learner: 3.1 and 40 add nothing to another's."""
    user = get_user(ctx, user_name)
    if user is None:
        raise HandsonError(texts.NO_USER.format(user=user_name), "NoUser")
    if not owned(user_tags(ctx, user_name), ctx.participant):
        raise HandsonError(texts.FOREIGN_USER.format(user=user_name), "ForeignUser")
    return user


def is_kits_user(ctx: Context, user: dict, user_path: str) -> bool:
    """Made by the kit for this learner: the hands-on's path and the kit's tags naming them."""
    return user["Path"] == user_path and owned(user_tags(ctx, user["UserName"]), ctx.participant)


def create_user_command(user_name: str, user_path: str, participant: str = "") -> str:
    return continued(
        "aws iam create-user",
        f"  --user-name {ref('IAM_USER_NAME', user_name)}",
        f"  --path {ref('IAM_USER_PATH', user_path)}",
        f"  --tags {tags_arg(kit_tags(participant))}",
    )


def create_user(ctx: Context, user_name: str, user_path: str) -> dict:
    """Create the user (tagged as the kit's); a second run finds it and changes nothing."""
    require_valid(IAM_USER_NAME=user_name, IAM_USER_PATH=user_path)
    cli = create_user_command(user_name, user_path, ctx.participant)
    existing = get_user(ctx, user_name)
    if existing:
        if existing["Path"] != user_path:
            raise HandsonError(texts.OTHER_PATH.format(user=user_name, path=existing["Path"]), "ForeignUser")
        tags = user_tags(ctx, user_name)
        if any(t["Key"] == PARTICIPANT_TAG_KEY for t in tags) and not owned(tags, ctx.participant):
            raise HandsonError(texts.OTHER_PARTICIPANT.format(user=user_name), "ForeignUser")
        ctx.report.command(cli)
        mine = "" if owned(tags, ctx.participant) else texts.NOT_KITS
        ctx.report.message("info", texts.EXISTS.format(user=user_name, mine=mine))
        return existing
    ctx.require_write("iam:CreateUser")
    with aws_call("iam:CreateUser"):
        try:
            user = ctx.iam.create_user(UserName=user_name, Path=user_path, Tags=kit_tags(ctx.participant))["User"]
        except ctx.iam.exceptions.EntityAlreadyExistsException:
            user = get_user(ctx, user_name)  # created by a concurrent run a moment ago, or differs only in case
            if user is None or user["UserName"] != user_name:
                raise HandsonError(texts.CASE_CLASH.format(user=user_name), "EntityAlreadyExists") from None
    fields = ",\n".join(f'        "{key}": "{user[key]}"' for key in ("Path", "UserName", "Arn"))
    ctx.report.command(cli, f'{{\n    "User": {{\n{fields}\n    }}\n}}')
    return user


def verify_user(ctx: Context, user_name: str, user_path: str) -> None:
    """完了確認: the user exists under the hands-on's path."""
    with aws_call("iam:ListUsers"):
        pages = ctx.iam.get_paginator("list_users").paginate(PathPrefix=user_path)
        names = [u["UserName"] for page in pages for u in page["Users"] if u["UserName"] == user_name]
    actual = " ".join(names)
    ctx.report.command(
        continued(
            "aws iam list-users",
            f"  --path-prefix {ref('IAM_USER_PATH', user_path)}",
            '  --query "Users[?UserName == \\`${IAM_USER_NAME}\\`].UserName"',
            "  --output text",
        ),
        actual,
    )
    ok = ctx.report.check(
        texts.CHECK.format(user=user_name, path=user_path), user_name, actual or NONE, actual == user_name
    )
    require_passed(ok, texts.CHECK_HINT)
