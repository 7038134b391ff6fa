"""Section 1: the IAM user the MFA device is enabled for."""
from __future__ import annotations

from . import display
from .errors import AWS_ERRORS, HandsonError, explain, require_passed
from .settings import KIT_TAG, require_valid
from .target import Context


def get_user(ctx: Context, user_name: str) -> dict | None:
    """The user as IAM has it, or None."""
    try:
        return ctx.iam.get_user(UserName=user_name)["User"]
    except ctx.iam.exceptions.NoSuchEntityException:
        return None
    except AWS_ERRORS as exc:
        raise explain(exc, "iam:GetUser") from None


def create_user(ctx: Context, user_name: str, user_path: str) -> dict:
    """Create the user (tagged as the kit's); a second run finds it and changes nothing."""
    require_valid(IAM_USER_NAME=user_name, IAM_USER_PATH=user_path)
    cli = f"aws iam create-user \\\n  --user-name {user_name} \\\n  --path {user_path}"
    existing = get_user(ctx, user_name)
    if existing:
        if existing["Path"] != user_path:
            raise HandsonError(
                f"IAMユーザー {user_name} は別のパス {existing['Path']} で既に存在します。キットのものではないため変更しません。"
                "別のユーザー名を指定するか、管理者に確認してください。",
                "ForeignUser",
            )
        display.command(cli)
        display.message("info", f"IAMユーザー {user_name} は既に作成済みです。何も変更していません。")
        return existing
    ctx.require_write("iam:CreateUser")
    try:
        user = ctx.iam.create_user(UserName=user_name, Path=user_path, Tags=[KIT_TAG])["User"]
    except ctx.iam.exceptions.EntityAlreadyExistsException:
        user = get_user(ctx, user_name)  # created by a concurrent run a moment ago
    except AWS_ERRORS as exc:
        raise explain(exc, "iam:CreateUser") from None
    display.command(cli, f'{{\n    "User": {{\n        "Path": "{user["Path"]}",\n        "UserName": "{user["UserName"]}",\n        "Arn": "{user["Arn"]}"\n    }}\n}}')
    return user


def verify_user(ctx: Context, user_name: str, user_path: str) -> None:
    """完了確認: the user exists under the hands-on's path."""
    try:
        pages = ctx.iam.get_paginator("list_users").paginate(PathPrefix=user_path)
        names = [u["UserName"] for page in pages for u in page["Users"] if u["UserName"] == user_name]
    except AWS_ERRORS as exc:
        raise explain(exc, "iam:ListUsers") from None
    actual = " ".join(names)
    display.command(
        f"aws iam list-users \\\n  --path-prefix {user_path} \\\n  --query \"Users[?UserName == \\`{user_name}\\`].UserName\" \\\n  --output text",
        actual,
    )
    ok = display.check(f"IAMユーザー「{user_name}」がパス {user_path} に存在する", user_name, actual or "(なし)", actual == user_name)
    require_passed(ok, "処理の実行のセルをもう一度実行してください。")
