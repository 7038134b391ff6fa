"""Section 40, the policy: AWS's MFA-required pattern on the user, and the read it protects, made
with the access key alone (refused) and with the MFA session (allowed).

The kit's inline policy is the one named ``handson-cli-require-mfa`` (settings.KIT_POLICY_NAME).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import credentials
from .access_key import read_key_file
from .credentials import Keys, mask_text
from .errors import AWS_ERRORS, HandsonError, aws_call, error_code, explain, require_passed
from .settings import KIT_POLICY_NAME, expand, require_valid
from .shell import continued, ref
from .target import Context
from .texts import mfa_protection as texts
from .texts.common import NONE
from .users import require_kits_user, user_policies

# AWS's pattern for "deny everything but managing one's own MFA unless signed in with MFA"
# (IAM User Guide, example policies), plus one harmless read to prove it on.
MFA_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "AllowListUsers", "Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
        {
            "Sid": "DenyAllExceptListedIfNoMFA",
            "Effect": "Deny",
            "NotAction": [
                "iam:CreateVirtualMFADevice",
                "iam:EnableMFADevice",
                "iam:GetUser",
                "iam:ListMFADevices",
                "iam:ListVirtualMFADevices",
                "iam:ResyncMFADevice",
                "sts:GetSessionToken",
            ],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    ],
}
USER_VARS = ("USER_ACCESS_KEY_ID", "USER_SECRET_ACCESS_KEY")
SESSION_VARS = ("SESSION_ACCESS_KEY_ID", "SESSION_SECRET_ACCESS_KEY", "SESSION_TOKEN")
TERMINAL_VARS = (*USER_VARS, "SESSION_CREDENTIALS", *SESSION_VARS, "SESSION_EXPIRATION", "MFA_TOKEN_CODE")


def policy_document() -> str:
    return json.dumps(MFA_POLICY, indent=2)


def policy_commands(
    user_name: str, policy_name: str, document: str | None = None, variable: str = "POLICY_NAME"
) -> tuple[str, str, str]:
    user, policy = ref("IAM_USER_NAME", user_name), ref(variable, policy_name)
    define = f"POLICY_DOCUMENT=$(cat << 'END'\n{document or policy_document()}\nEND\n)"
    put = continued(
        "aws iam put-user-policy",
        f"  --user-name {user}",
        f"  --policy-name {policy}",
        '  --policy-document "${POLICY_DOCUMENT}"',
    )
    listed = continued(
        "aws iam list-user-policies", f"  --user-name {user}", "  --query 'PolicyNames'", "  --output text"
    )
    return define, put, listed


def put_mfa_policy(ctx: Context, user_name: str, policy_name: str = KIT_POLICY_NAME) -> None:
    """Attach AWS's MFA-required pattern to the user as an inline policy (same result on a rerun)."""
    require_valid(IAM_USER_NAME=user_name, POLICY_NAME=policy_name)
    put_user_policy(ctx, user_name, policy_name, policy_document())


def put_user_policy(
    ctx: Context, user_name: str, policy_name: str, document: str, variable: str = "POLICY_NAME"
) -> None:
    """An inline policy of the kit on the kit's user, with the commands a terminal runs for it."""
    require_kits_user(ctx, user_name)
    define, put, listed = policy_commands(user_name, policy_name, document, variable)
    ctx.report.command(define)
    ctx.require_write("iam:PutUserPolicy")
    with aws_call("iam:PutUserPolicy"):
        ctx.iam.put_user_policy(UserName=user_name, PolicyName=policy_name, PolicyDocument=document)
    ctx.report.command(put, "")
    ctx.report.command(listed, "\t".join(user_policies(ctx, user_name)))


def user_keys(ctx: Context, key_file: str) -> Keys:
    """The user's access key, read from 3.1's file (the command a terminal uses for the same)."""
    require_valid(FILE_ACCESS_KEY=key_file)
    keys = read_key_file(expand(key_file))
    ctx.report.command(f"read -r {' '.join(USER_VARS)} < {ref('FILE_ACCESS_KEY', str(expand(key_file)))}", "")
    if keys is None:
        raise HandsonError(texts.NO_KEY_FILE.format(file=key_file), "NoKeyFile")
    return keys


def as_keys(keys: Keys, *lines: str, indent: str = "") -> str:
    """A command run with ``keys`` instead of the terminal's own credentials, for this command only."""
    if keys.token:
        env = [
            "AWS_ACCESS_KEY_ID=${SESSION_ACCESS_KEY_ID}",
            "AWS_SECRET_ACCESS_KEY=${SESSION_SECRET_ACCESS_KEY}",
            "AWS_SESSION_TOKEN=${SESSION_TOKEN}",
        ]
    else:
        env = [
            "AWS_ACCESS_KEY_ID=${USER_ACCESS_KEY_ID}",
            "AWS_SECRET_ACCESS_KEY=${USER_SECRET_ACCESS_KEY}",
            "AWS_SESSION_TOKEN=''",
        ]
    return continued(*(indent + line for line in env), *(indent + line for line in lines))


def caller_arn(ctx: Context, keys: Keys) -> str:
    """`aws sts get-caller-identity` with the user's key: who these credentials are."""
    with aws_call("sts:GetCallerIdentity"):
        client = credentials.client_for(ctx, "sts", keys)
        arn = credentials.settled(ctx, lambda: client.get_caller_identity()["Arn"], ("InvalidClientTokenId",))
    ctx.report.command(as_keys(keys, "  aws sts get-caller-identity", "    --query 'Arn'", "    --output text"), arn)
    return arn


def read_command(keys: Keys, user_name: str, user_path: str) -> str:
    return as_keys(
        keys,
        "  aws iam list-users",
        f"    --path-prefix {ref('IAM_USER_PATH', user_path)}",
        '    --query "Users[?UserName == \\`${IAM_USER_NAME}\\`].UserName"',
        "    --output text",
    )


@dataclass(frozen=True)
class ReadResult:
    allowed: bool
    code: str  # AWS's error code when refused
    text: str  # what the CLI prints: the names, or its error line

    @property
    def shown(self) -> str:
        """成功: names, or 拒否 (code), as the check and its table say it."""
        return texts.ALLOWED.format(text=self.text) if self.allowed else texts.DENIED.format(code=self.code)


def _read(ctx: Context, keys: Keys, user_name: str, user_path: str) -> ReadResult:
    client = credentials.client_for(ctx, "iam", keys)
    retry = ("InvalidClientTokenId", "AccessDenied") if keys.token else ("InvalidClientTokenId",)
    try:
        users = credentials.settled(ctx, lambda: client.list_users(PathPrefix=user_path)["Users"], retry)
    except AWS_ERRORS as exc:
        code = error_code(exc)
        if code not in ("AccessDenied", "InvalidClientTokenId", "ExpiredToken"):
            raise explain(exc, "iam:ListUsers") from None
        message = mask_text(exc.response["Error"].get("Message", ""))
        return ReadResult(False, code, f"An error occurred ({code}) when calling the ListUsers operation: {message}")
    return ReadResult(True, "", " ".join(u["UserName"] for u in users if u["UserName"] == user_name))


def protected_read(ctx: Context, keys: Keys, user_name: str, user_path: str) -> ReadResult:
    """The read the policy protects (iam:ListUsers), with the user's key or the MFA session."""
    result = _read(ctx, keys, user_name, user_path)
    ctx.report.command(read_command(keys, user_name, user_path), result.text, refused=not result.allowed)
    if not result.allowed and result.code == "AccessDenied":
        ctx.report.message("info", texts.DENIED_WITHOUT_MFA)
    elif not result.allowed:
        ctx.report.message("error", texts.DENIED_OTHERWISE.format(code=result.code))
    elif keys.token:
        ctx.report.message("success", texts.ALLOWED_WITH_MFA)
    return result


def verify_mfa_protection(ctx: Context, user_name: str, user_path: str, keys: Keys, session: Keys | None) -> None:
    """完了確認 of 40: the same read, refused with the access key alone, allowed with MFA."""
    without = _read(ctx, keys, user_name, user_path)
    with_mfa = (
        _read(ctx, session, user_name, user_path) if session else ReadResult(False, "NoSession", texts.NO_SESSION_YET)
    )
    session_row = texts.SESSION_ROW.format(prefix=session.key_id[:4]) if session else texts.SESSION_ROW_NONE
    ctx.report.table(
        texts.TABLE_TITLE,
        texts.TABLE_HEADER,
        [
            [texts.ACCESS_KEY_ROW.format(prefix=keys.key_id[:4]), texts.WITHOUT, without.shown],
            [
                session_row,
                texts.WITH,
                texts.ALLOWED.format(text=with_mfa.text or NONE) if with_mfa.allowed else with_mfa.shown,
            ],
        ],
    )
    refused_alone = not without.allowed and without.code == "AccessDenied"
    ok = ctx.report.check(
        texts.CHECK,
        texts.CHECK_EXPECTED.format(user=user_name),
        f"{without.shown if not without.allowed else texts.ALLOWED_PLAIN} / {with_mfa.shown}",
        refused_alone and with_mfa.allowed and with_mfa.text == user_name,
    )
    require_passed(ok, texts.CHECK_HINT)


def policy_console_view(ctx: Context, user_name: str) -> None:
    rows = [[name, texts.INLINE] for name in user_policies(ctx, user_name)]
    ctx.report.table(texts.CONSOLE_TITLE.format(user=user_name), texts.CONSOLE_HEADER, rows or [[NONE, ""]])
