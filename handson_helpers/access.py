"""Section 3.1 (an access key for the user) and 40 (what MFA protects), and their 後始末.

The secret access key and the session token never appear in an output, a message or a saved
widget: the secret goes from IAM straight into a file only its owner can read, the session
credentials live only in the kernel's memory, and what is shown of a key id is its prefix and
last four characters.

Which access key is the kit's: the one whose id the kit wrote to the user's tag
``handson-access-key`` (IAM keeps no tags on keys) or into the key file. The kit's inline policy
is the one named ``handson-cli-require-mfa`` (settings.KIT_POLICY_NAME).
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from dataclasses import dataclass, field
from datetime import datetime

import boto3

from . import code_time
from .display import SHOW, Reporter
from .errors import AWS_ERRORS, HandsonError, aws_call, error_code, explain, require_passed
from .mfa import OUT_OF_SYNC_HINT, THROTTLED
from .safefs import folder_problem, remove_private, write_private
from .settings import KIT_POLICY_NAME, KIT_POLICY_NAMES, expand, owned, require_valid
from .shell import PLAIN, continued, private_dir, quote, ref
from .target import Context, sandbox_client
from .totp import normalize_code
from .users import get_user, listed, user_tags

ACCESS_KEY_TAG = "handson-access-key"
MAX_ACCESS_KEYS = 2  # AWS: at most two access keys per user
KEY_FILE_RE = re.compile(r"((?:AKIA)[A-Z0-9]{16})\t([A-Za-z0-9/+=]{40})\n?", re.ASCII)
KEY_ID_RE = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{12}([A-Z0-9]{4})\b", re.ASCII)
WRONG_CODE = "000000"
# Real AWS: a new key and a new policy take a few seconds to be seen everywhere.
AWS_SETTLE_SECONDS = 30
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


def mask(key_id: str) -> str:
    """A key id as the kit shows it: prefix and last four characters (AKIA************WXYZ)."""
    return key_id[:4] + "*" * 12 + key_id[-4:] if len(key_id) == 20 else key_id[:4] + "…"


def mask_text(text: str) -> str:
    return KEY_ID_RE.sub(lambda m: m.group(1) + "*" * 12 + m.group(2), text)


@dataclass(frozen=True)
class Keys:
    """Credentials the kernel holds for the learner's IAM user; their repr shows no secret."""

    key_id: str
    secret: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None

    def __repr__(self) -> str:
        kind = "一時的な認証情報" if self.token else "アクセスキー"
        return f"{kind} {mask(self.key_id)}(シークレットは表示しません)"

    @property
    def boto(self) -> dict:
        return {"aws_access_key_id": self.key_id, "aws_secret_access_key": self.secret, "aws_session_token": self.token}


def client_for(ctx: Context, service: str, keys: Keys):
    """A client that signs with ``keys`` at the same target as ``ctx`` (the sandbox, or AWS)."""
    from .target import CLIENT_CONFIG

    if ctx.target == "sandbox":
        return sandbox_client(service, ctx.endpoint, **keys.boto)
    return boto3.Session(region_name=ctx.region, **keys.boto).client(service, config=CLIENT_CONFIG)


def _settled(ctx: Context, call, retry: tuple[str, ...]):
    """Real AWS only: retry codes a fresh key or policy gives for a few seconds, then give up."""
    deadline = time.monotonic() + (AWS_SETTLE_SECONDS if ctx.target == "aws" else 0)
    while True:
        try:
            return call()
        except AWS_ERRORS as exc:
            if error_code(exc) not in retry or time.monotonic() >= deadline:
                raise
            time.sleep(2)


# ----- the key file: "AKIA…<TAB>secret", as `--query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text` writes it -----


def read_key_file(path) -> Keys | None:
    """The kit's key file at ``path`` (a regular file of ours in the expected format), else None."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_size > 200:
        return None
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "r", encoding="ascii", errors="replace") as f:
        match = KEY_FILE_RE.fullmatch(f.read())
    return Keys(match.group(1), match.group(2)) if match else None


def key_file_problem(key_file: str) -> str | None:
    """Why the key file cannot be written (Japanese), or None."""
    path = expand(key_file)
    if os.path.lexists(path) and read_key_file(path) is None:
        return f"{key_file} には既にキットのアクセスキーファイルではないものがあります"
    return folder_problem(path.parent)


# ----- 3.1: the access key -----


def list_keys(ctx: Context, user_name: str) -> list[dict]:
    return listed(ctx, "list_access_keys", "AccessKeyMetadata", UserName=user_name)


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


def _kits_user(ctx: Context, user_name: str) -> dict:
    user = get_user(ctx, user_name)
    if user is None:
        raise HandsonError(f"IAMユーザー {user_name} が見つかりません。先に 10_create_iam_user を実行してください。", "NoUser")
    if not owned(user_tags(ctx, user_name), ctx.participant):
        raise HandsonError(
            f"IAMユーザー {user_name} はキットが作成したものではないため、アクセスキーもポリシーも作成しません。設定値を確認してください。",
            "ForeignUser",
        )
    return user


def key_commands(directory: str, user_name: str, key_file: str) -> dict[str, str]:
    """3.1's steps as a learner types them."""
    folder = ref("DIR_ACCESS_KEY", directory)
    user = ref("IAM_USER_NAME", user_name)
    keyfile = ref("FILE_ACCESS_KEY", key_file)
    return {
        "mkdir": private_dir(folder),
        "count": continued("aws iam list-access-keys", f"  --user-name {user}", "  --query 'length(AccessKeyMetadata[])'"),
        # noclobber: `>` neither replaces a regular file nor writes through a link to one (a FIFO or a device it
        # would open: the folder step made sure that nobody else can put anything in the folder)
        "create": "(\n  umask 077\n  set -o noclobber\n  "
        + continued(
            "aws iam create-access-key",
            f"    --user-name {user}",
            "    --query 'AccessKey.[AccessKeyId,SecretAccessKey]'",
            "    --output text",
            f"    > {keyfile}",
        )
        + "\n)",
        "key_id": continued(f"ACCESS_KEY_ID=$(cut -f 1 {keyfile})") + " \\\n  && echo ${ACCESS_KEY_ID}",
        "tag": continued("aws iam tag-user", f"  --user-name {user}", f"  --tags Key={ACCESS_KEY_TAG},Value=${{ACCESS_KEY_ID}}"),
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
    _kits_user(ctx, user_name)
    keys = list_keys(ctx, user_name)
    existing = {k["AccessKeyId"] for k in keys}
    on_disk = read_key_file(path)
    tag = tagged_key(ctx, user_name)
    if on_disk and on_disk.key_id in existing:
        for name in ("count", "create", "key_id", "tag"):
            ctx.report.command(steps[name])
        if tag != on_disk.key_id:  # the tag step did not happen (a crash right after the create)
            _tag_key(ctx, user_name, on_disk.key_id)
            ctx.report.message("info", f"アクセスキー {mask(on_disk.key_id)} は作成済みでした。キットの目印(ユーザーのタグ)だけを付け直しました。")
        else:
            ctx.report.message("info", f"アクセスキー {mask(on_disk.key_id)} とファイル {key_file} は既に作成済みです。何も変更していません。")
        return on_disk.key_id
    if tag and tag in existing:
        raise HandsonError(
            f"キットが作成したアクセスキー {mask(tag)} はIAMにありますが、ファイル {key_file} にありません。"
            "シークレットアクセスキーは作成時の一度しか表示されないため、取り出すことはできません。"
            "作り直すには hh.recreate_access_key(ctx, IAM_USER_NAME, FILE_ACCESS_KEY) を実行してください"
            "(古いアクセスキーを削除し、新しいアクセスキーを作成します)。",
            "KeyFileMissing",
        )
    problem = key_file_problem(key_file)
    if problem:
        raise HandsonError(
            f"アクセスキーファイル {key_file} を保存できません: {problem}。DIR_ACCESS_KEY を自分だけが書き込めるディレクトリ(例: ホームディレクトリの下)に変更してください。何も変更していません。",
            "UnsafeFile",
        )
    if len(keys) >= MAX_ACCESS_KEYS:
        ctx.report.command(steps["count"], str(len(keys)))
        raise HandsonError(
            f"IAMユーザー {user_name} には既にアクセスキーが {len(keys)} 個あります。AWSではユーザーあたり {MAX_ACCESS_KEYS} 個までのため、"
            "これ以上作成できません(作成すると LimitExceeded で拒否されます)。キットが作成したものではないため削除もしません。"
            "不要なアクセスキーを確認して削除してから、もう一度実行してください。何も変更していません。",
            "LimitExceeded",
        )
    folder_existed = path.parent.is_dir()
    created = _create_key(ctx, user_name, key_file)
    ctx.report.command(steps["mkdir"], "" if folder_existed else "(ディレクトリを作成しました)")
    ctx.report.command(steps["count"], str(len(keys)))
    ctx.report.command(steps["create"], "(出力なし: アクセスキーIDとシークレットアクセスキーはファイルに保存しました。画面には表示しません)")
    ctx.report.command(steps["key_id"], mask(created))
    ctx.report.command(steps["tag"], "")
    ctx.report.message(
        "success",
        f"アクセスキー {mask(created)} を作成し、{key_file} に保存しました(本人だけが読める権限 600)。アクセスキーIDは秘密ではありませんが、保存されるノートブックには末尾4文字だけを表示します。",
    )
    return created


def _create_key(ctx: Context, user_name: str, key_file: str) -> str:
    path = expand(key_file)
    ctx.require_write("iam:CreateAccessKey")
    with aws_call("iam:CreateAccessKey"):
        try:
            created = ctx.iam.create_access_key(UserName=user_name)["AccessKey"]
        except ctx.iam.exceptions.LimitExceededException:
            raise HandsonError(
                f"IAMユーザー {user_name} のアクセスキーは既に {MAX_ACCESS_KEYS} 個あります(AWSの上限)。不要なものを削除してから、もう一度実行してください。",
                "LimitExceeded",
            ) from None
    key_id = created["AccessKeyId"]
    try:
        if read_key_file(path):
            remove_private(path)  # the kit's file of a key deleted since: replaced
        write_private(path, f"{key_id}\t{created['SecretAccessKey']}\n".encode(), "アクセスキーファイル")
    except (OSError, HandsonError):
        ctx.iam.delete_access_key(UserName=user_name, AccessKeyId=key_id)
        raise HandsonError(
            f"アクセスキーファイル {key_file} を書き込めませんでした。作成したアクセスキーは削除したので、DIR_ACCESS_KEY に書き込めるか確認してから、もう一度実行してください。",
            "KeyWriteFailed",
        ) from None
    _tag_key(ctx, user_name, key_id)
    return key_id


def recreate_access_key(ctx: Context, user_name: str, key_file: str) -> str:
    """Recovery when the key file is lost: delete the kit's key and create a new one."""
    require_valid(IAM_USER_NAME=user_name, FILE_ACCESS_KEY=key_file)
    _kits_user(ctx, user_name)
    problem = key_file_problem(key_file)
    if problem:
        raise HandsonError(f"アクセスキーファイル {key_file} を保存できません: {problem}。何も変更していません。", "UnsafeFile")
    old = tagged_key(ctx, user_name)
    if old in {k["AccessKeyId"] for k in list_keys(ctx, user_name)}:
        ctx.require_write("iam:DeleteAccessKey")
        with aws_call("iam:DeleteAccessKey"):
            ctx.iam.delete_access_key(UserName=user_name, AccessKeyId=old)
    created = _create_key(ctx, user_name, key_file)
    ctx.report.message("success", f"アクセスキーを作り直し({mask(created)})、{key_file} に保存しました。")
    return created


def verify_access_key(ctx: Context, user_name: str, key_file: str) -> None:
    """完了確認 of 3.1: IAM lists the kit's key as Active, and its file is private (0600)."""
    path = expand(key_file)
    on_disk = read_key_file(path)
    keys = {k["AccessKeyId"]: k["Status"] for k in list_keys(ctx, user_name)}
    status = keys.get(on_disk.key_id, "") if on_disk else ""
    ctx.report.command(key_commands(str(path.parent), user_name, str(path))["check"], status)
    private = bool(on_disk) and stat.S_IMODE(os.lstat(path).st_mode) == 0o600 and folder_problem(path.parent) is None
    results = [
        ctx.report.check(f'IAMユーザー"{user_name}"のアクセスキーが有効(Active)', "Active", status or "(なし)", status == "Active"),
        ctx.report.check("アクセスキーファイルが本人だけ読める状態で存在する", f"{key_file} (0600)", f"{key_file} ({'0600' if private else '存在しないか権限が違う'})", private),
    ]
    require_passed(all(results), "処理の実行のセルをもう一度実行してください(ファイルが無い場合は案内に従って作り直せます)。")


def key_console_view(ctx: Context, user_name: str) -> None:
    """(参考) The console's アクセスキー panel: id (masked), status, created."""
    status = {"Active": "アクティブ", "Inactive": "非アクティブ"}  # the console's words for the CLI's Status
    rows = [[mask(k["AccessKeyId"]), status.get(k["Status"], k["Status"]), k["CreateDate"].strftime("%Y-%m-%d")] for k in list_keys(ctx, user_name)]
    ctx.report.table(f"ユーザー {user_name} / セキュリティ認証情報(タブ) / アクセスキー", ["アクセスキーID", "ステータス", "作成日"], rows or [["(なし)", "", ""]])


# ----- 40: what MFA protects -----


def policy_document() -> str:
    return json.dumps(MFA_POLICY, indent=2)


def policy_commands(user_name: str, policy_name: str, document: str | None = None, variable: str = "POLICY_NAME") -> tuple[str, str, str]:
    user, policy = ref("IAM_USER_NAME", user_name), ref(variable, policy_name)
    define = f"POLICY_DOCUMENT=$(cat << 'END'\n{document or policy_document()}\nEND\n)"
    put = continued("aws iam put-user-policy", f"  --user-name {user}", f"  --policy-name {policy}", '  --policy-document "${POLICY_DOCUMENT}"')
    listed = continued("aws iam list-user-policies", f"  --user-name {user}", "  --query 'PolicyNames'", "  --output text")
    return define, put, listed


def user_policies(ctx: Context, user_name: str) -> list[str]:
    return listed(ctx, "list_user_policies", "PolicyNames", UserName=user_name)


def put_mfa_policy(ctx: Context, user_name: str, policy_name: str = KIT_POLICY_NAME) -> None:
    """Attach AWS's MFA-required pattern to the user as an inline policy (same result on a rerun)."""
    require_valid(IAM_USER_NAME=user_name, POLICY_NAME=policy_name)
    put_user_policy(ctx, user_name, policy_name, policy_document())


def put_user_policy(ctx: Context, user_name: str, policy_name: str, document: str, variable: str = "POLICY_NAME") -> None:
    """An inline policy of the kit on the kit's user, with the commands a terminal runs for it."""
    _kits_user(ctx, user_name)
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
        raise HandsonError(
            f"アクセスキーファイル {key_file} がありません(またはキットが保存したものではありません)。先に 31_create_access_key を実行してください。",
            "NoKeyFile",
        )
    return keys


def _as(keys: Keys, *lines: str, indent: str = "") -> str:
    """A command run with ``keys`` instead of the terminal's own credentials, for this command only."""
    if keys.token:
        env = ["AWS_ACCESS_KEY_ID=${SESSION_ACCESS_KEY_ID}", "AWS_SECRET_ACCESS_KEY=${SESSION_SECRET_ACCESS_KEY}", "AWS_SESSION_TOKEN=${SESSION_TOKEN}"]
    else:
        env = ["AWS_ACCESS_KEY_ID=${USER_ACCESS_KEY_ID}", "AWS_SECRET_ACCESS_KEY=${USER_SECRET_ACCESS_KEY}", "AWS_SESSION_TOKEN=''"]
    return continued(*(indent + line for line in env), *(indent + line for line in lines))


def caller_arn(ctx: Context, keys: Keys) -> str:
    """`aws sts get-caller-identity` with the user's key: who these credentials are."""
    with aws_call("sts:GetCallerIdentity"):
        arn = _settled(ctx, lambda: client_for(ctx, "sts", keys).get_caller_identity()["Arn"], ("InvalidClientTokenId",))
    ctx.report.command(_as(keys, "  aws sts get-caller-identity", "    --query 'Arn'", "    --output text"), arn)
    return arn


def read_command(keys: Keys, user_name: str, user_path: str) -> str:
    return _as(
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


def _read(ctx: Context, keys: Keys, user_name: str, user_path: str) -> ReadResult:
    client = client_for(ctx, "iam", keys)
    retry = ("InvalidClientTokenId", "AccessDenied") if keys.token else ("InvalidClientTokenId",)
    try:
        users = _settled(ctx, lambda: client.list_users(PathPrefix=user_path)["Users"], retry)
    except AWS_ERRORS as exc:
        code = error_code(exc)
        if code not in ("AccessDenied", "InvalidClientTokenId", "ExpiredToken"):
            raise explain(exc, "iam:ListUsers") from None
        return ReadResult(False, code, f"An error occurred ({code}) when calling the ListUsers operation: {mask_text(exc.response['Error'].get('Message', ''))}")
    return ReadResult(True, "", " ".join(u["UserName"] for u in users if u["UserName"] == user_name))


def protected_read(ctx: Context, keys: Keys, user_name: str, user_path: str) -> ReadResult:
    """The read the policy protects (iam:ListUsers), with the user's key or the MFA session."""
    result = _read(ctx, keys, user_name, user_path)
    ctx.report.command(read_command(keys, user_name, user_path), result.text, refused=not result.allowed)
    if not result.allowed and result.code == "AccessDenied":
        ctx.report.message(
            "info",
            "拒否されました(AccessDenied)。アクセスキーだけで送ったリクエストには「MFAで認証済み」という情報"
            "(aws:MultiFactorAuthPresent)が含まれないため、ポリシーの Deny(BoolIfExists: false)に当てはまり、"
            "Allow があっても明示的な拒否が優先されます。アクセスキーが漏れても、MFAデバイスが無ければこの操作はできません。",
        )
    elif not result.allowed:
        ctx.report.message("error", f"想定外の理由で拒否されました({result.code})。認証情報の有効期限や設定を確認してください。")
    elif keys.token:
        ctx.report.message("success", "MFAで取得した一時的な認証情報では、同じ操作が成功しました。")
    return result


def session_command(keys: Keys) -> str:
    return continued(
        "SESSION_CREDENTIALS=$(",
        _as(
            keys,
            "  aws sts get-session-token",
            "    --serial-number ${MFA_DEVICE_SERIAL}",
            "    --token-code ${MFA_TOKEN_CODE}",
            "    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken,Expiration]'",
            "    --output text",
            indent="  ",
        ),
        ")",
    ) + (f' \\\n  && read -r {" ".join(SESSION_VARS)} SESSION_EXPIRATION <<< "${{SESSION_CREDENTIALS}}" \\\n  && echo ${{SESSION_EXPIRATION}}')


def _get_session(ctx: Context, keys: Keys, serial: str, code: str) -> Keys:
    client = client_for(ctx, "sts", keys)
    response = _settled(ctx, lambda: client.get_session_token(SerialNumber=serial, TokenCode=code), ("InvalidClientTokenId",))
    creds = response["Credentials"]
    return Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], creds["Expiration"])


def mfa_serial(ctx: Context, user_name: str) -> str:
    """The serial of the user's MFA device, from IAM (the device 22 enabled)."""
    with aws_call("iam:ListMFADevices"):
        devices = ctx.iam.list_mfa_devices(UserName=user_name)["MFADevices"]
    ctx.report.command(
        continued(
            "MFA_DEVICE_SERIAL=$(",
            "  aws iam list-mfa-devices",
            f"    --user-name {ref('IAM_USER_NAME', user_name)}",
            "    --query 'MFADevices[0].SerialNumber'",
            "    --output text",
            ")",
        )
        + " \\\n  && echo ${MFA_DEVICE_SERIAL}",
        devices[0]["SerialNumber"] if devices else "None",
    )
    if not devices:
        raise HandsonError(f"IAMユーザー {user_name} のMFAが有効になっていません。先に 22_enable_virtual_mfa_device を実行してください。", "NoMfa")
    return devices[0]["SerialNumber"]


def wrong_code_refused(ctx: Context, keys: Keys, serial: str) -> str:
    """GetSessionToken with a code that is not the device's: AWS refuses it (AccessDenied)."""
    ctx.report.command(f"MFA_TOKEN_CODE='{WRONG_CODE}'", label="変数の設定")
    try:
        _get_session(ctx, keys, serial, WRONG_CODE)
    except AWS_ERRORS as exc:
        code = error_code(exc)
        if code != "AccessDenied":
            raise explain(exc, "sts:GetSessionToken") from None
        ctx.report.command(
            session_command(keys),
            f"An error occurred (AccessDenied) when calling the GetSessionToken operation: {mask_text(exc.response['Error'].get('Message', ''))}",
            refused=True,
        )
        ctx.report.message(
            "info",
            "拒否されました。認証コードは認証アプリが30秒ごとに計算するもので、間違ったコード、古いコード、一度使ったコードでは一時的な認証情報を取得できません。"
            "アプリに表示された正しいコードまで拒否され続ける場合は、デバイスの同期がずれている可能性があります: 23_resync_virtual_mfa_device で再同期します。",
        )
        return code
    ctx.report.message("warning", f"認証コード {WRONG_CODE} がたまたま正しいコードでした(約25万分の1の確率です)。次の手順に進んで構いません。")
    return ""


def validate_code(code: str | None) -> str:
    """The normalised 6-digit code, or a HandsonError saying what to fix; no AWS call is made."""
    text = normalize_code(code)
    if not text:
        raise HandsonError("認証コードが空です。認証アプリに表示された6桁の数字を入力してください。", "EmptyCode")
    if not text.isascii() or not text.isdigit():
        raise HandsonError("認証コードに数字以外の文字が含まれています。6桁の数字だけを入力してください。", "NotDigits")
    if len(text) != 6:
        raise HandsonError(f"認証コードは6桁の数字です(入力は{len(text)}桁)。認証アプリの表示をもう一度確認してください。", "WrongLength")
    return text


def get_session_token(ctx: Context, keys: Keys, serial: str, code: str) -> Keys:
    """GetSessionToken with a code of the user's device; a Japanese HandsonError when refused."""
    try:
        return _get_session(ctx, keys, serial, validate_code(code))
    except AWS_ERRORS as exc:
        if error_code(exc) == "AccessDenied":
            raise HandsonError(
                code_time.explain_code(ctx, exc)
                or "認証コードが正しくありません(AWSが受け付けませんでした)。認証アプリに新しいコードが表示されたら、そのコードを入力し直してください(一度使った認証コードは使えません)。"
                + OUT_OF_SYNC_HINT,
                "InvalidMfaCode",
            ) from None
        if error_code(exc) == "Throttling":
            raise HandsonError(THROTTLED, "Throttling") from None
        raise explain(exc, "sts:GetSessionToken") from None


def show_session(report: Reporter, session: Keys) -> None:
    """What may be shown of a session: that its key id starts with ASIA, and its expiry."""
    expires = session.expiration.isoformat() if session.expiration else "(不明)"
    report.message(
        "success",
        f"一時的な認証情報を取得しました。アクセスキーIDは {session.key_id[:4]} で始まる一時的なもので、有効期限は {expires} です。"
        "認証情報(シークレットアクセスキーとセッショントークン)は表示も保存もしません。",
    )


def session_check_lines(serial: str) -> str:
    return (
        f'cat << END\n\n  # MFA_DEVICE_SERIAL:"{serial}"\n    MFA_DEVICE_SERIAL="${{MFA_DEVICE_SERIAL}}"\n'
        '  # MFA_TOKEN_CODE:"<認証アプリに表示された認証コード>"\n    MFA_TOKEN_CODE="${MFA_TOKEN_CODE}"\n\nEND'
    )


def show_session_step(keys: Keys, serial: str) -> None:
    """Before the form: the code's 変数の設定 (a placeholder), the page-style 変数の確認 and the command the form runs."""
    SHOW.command("MFA_TOKEN_CODE='<認証アプリに表示された認証コード>'", label="変数の設定")
    SHOW.command(
        session_check_lines(serial),
        f'  # MFA_DEVICE_SERIAL:"{serial}"\n    MFA_DEVICE_SERIAL="{serial}"\n  # MFA_TOKEN_CODE:"<認証アプリに表示された認証コード>"\n    MFA_TOKEN_CODE="(下のフォームに入力します)"',
        label="変数の確認",
    )
    SHOW.command(session_command(keys))


def verify_mfa_protection(ctx: Context, user_name: str, user_path: str, keys: Keys, session: Keys | None) -> None:
    """完了確認 of 40: the same read, refused with the access key alone, allowed with MFA."""
    without = _read(ctx, keys, user_name, user_path)
    with_mfa = _read(ctx, session, user_name, user_path) if session else ReadResult(False, "NoSession", "(一時的な認証情報がありません)")
    ctx.report.table(
        "同じ操作(aws iam list-users)の結果",
        ["認証情報", "MFA", "結果"],
        [
            [f"アクセスキー ({keys.key_id[:4]}…)", "なし", f"拒否 ({without.code})" if not without.allowed else f"成功: {without.text}"],
            [
                f"一時的な認証情報 ({session.key_id[:4]}…)" if session else "一時的な認証情報",
                "あり",
                f"成功: {with_mfa.text or '(なし)'}" if with_mfa.allowed else f"拒否 ({with_mfa.code})",
            ],
        ],
    )
    ok = ctx.report.check(
        "アクセスキーだけでは拒否され、MFAで取得した一時的な認証情報では成功する",
        f"拒否 (AccessDenied) / 成功: {user_name}",
        f"{'拒否 (' + without.code + ')' if not without.allowed else '成功'} / {('成功: ' + with_mfa.text) if with_mfa.allowed else '拒否 (' + with_mfa.code + ')'}",
        (not without.allowed and without.code == "AccessDenied") and with_mfa.allowed and with_mfa.text == user_name,
    )
    require_passed(ok, "「一時的な認証情報の取得」のセルをもう一度実行し、認証アプリに表示された認証コードを入力してください。")


def policy_console_view(ctx: Context, user_name: str) -> None:
    rows = [[name, "カスタマーインライン"] for name in user_policies(ctx, user_name)]
    ctx.report.table(f"ユーザー {user_name} / 許可(タブ) / 許可ポリシー", ["ポリシー名", "タイプ"], rows or [["(なし)", ""]])


# ----- 後始末: the kit's policy, keys and key file (cleanup.plan_cleanup calls these) -----


@dataclass(frozen=True)
class AccessPlan:
    user_name: str
    key_file: str
    policy_names: tuple[str, ...]  # the kit's inline policy names (40's, 45's)
    policies: tuple[str, ...]  # those of them the user has
    keys: tuple[str, ...]  # the kit's access keys
    delete_file: bool
    foreign: tuple[str, ...]  # what else is attached to the user (not the kit's): DeleteUser would conflict

    @property
    def delete_policy(self) -> bool:
        return bool(self.policies)

    @property
    def empty(self) -> bool:
        return not (self.delete_policy or self.keys or self.delete_file)


def plan_access_cleanup(ctx: Context, user_name: str, key_file: str, policy_name: str = KIT_POLICY_NAME) -> AccessPlan:
    """What of 3.1, 40 and 45 the kit would delete, read from IAM and the disk."""
    user = get_user(ctx, user_name)
    policies = user_policies(ctx, user_name) if user else []
    keys = [k["AccessKeyId"] for k in list_keys(ctx, user_name)] if user else []
    mine = kit_key_ids(ctx, user_name, key_file) if user else set()
    path = expand(key_file)
    names = (policy_name, *(n for n in KIT_POLICY_NAMES if n != policy_name))
    foreign = [f"インラインポリシー {p}" for p in policies if p not in names]
    foreign += [f"アクセスキー {mask(k)}" for k in keys if k not in mine]
    return AccessPlan(
        user_name,
        key_file,
        names,
        tuple(n for n in names if n in policies),
        tuple(k for k in keys if k in mine),
        read_key_file(path) is not None,
        tuple(foreign),
    )


def access_cleanup_commands(plan: AccessPlan) -> list[str]:
    user = ref("IAM_USER_NAME", plan.user_name)
    steps = []
    if not plan.empty:
        steps.append("unset " + " ".join(TERMINAL_VARS))
    for policy in plan.policies:
        # 40's policy is the notebook's POLICY_NAME; 45's has no variable in 後始末
        name = ref("POLICY_NAME", policy) if policy == plan.policy_names[0] else policy if PLAIN.fullmatch(policy) else quote(policy)
        steps.append(continued("aws iam delete-user-policy", f"  --user-name {user}", f"  --policy-name {name}"))
    if plan.keys:
        steps.append(
            continued(
                "ACCESS_KEY_ID=$(",
                "  aws iam list-user-tags",
                f"    --user-name {user}",
                f"    --query \"Tags[?Key == '{ACCESS_KEY_TAG}'].Value\"",
                "    --output text",
                ")",
            )
            + " \\\n  && echo ${ACCESS_KEY_ID}"
        )
        steps.append(continued("aws iam delete-access-key", f"  --user-name {user}", "  --access-key-id ${ACCESS_KEY_ID}"))
    if plan.delete_file:
        steps.append(f"rm {ref('FILE_ACCESS_KEY', str(expand(plan.key_file)))}")
    return steps


def access_cleanup_rows(plan: AccessPlan | None, whole: AccessPlan | None, word) -> list[list[str]]:
    """Rows of the 後始末 table for these steps (``word(planned, needed, absent)`` from cleanup.py)."""
    planned = plan or AccessPlan("", "", (KIT_POLICY_NAME,), (), (), False, ())
    whole = whole or planned
    return [
        ["1", "ターミナルの一時的な認証情報の変数を消す", "SESSION_* / USER_*", _unset_word(planned, whole)],
        ["2", "インラインポリシーの削除", ", ".join(whole.policies or whole.policy_names[:1]), word(planned.delete_policy, whole.delete_policy, "存在しない")],
        ["3", "アクセスキーの削除", ", ".join(mask(k) for k in whole.keys) or "(キットのものなし)", word(bool(planned.keys), bool(whole.keys), "存在しない")],
        ["4", "アクセスキーファイルの削除", whole.key_file, word(planned.delete_file, whole.delete_file, "存在しない")],
    ]


def _unset_word(plan: AccessPlan, whole: AccessPlan) -> str:
    if not plan.empty:
        return "実行(キットは一時的な認証情報を保存していません)"
    return "対象外(削除しません)" if not whole.empty else "不要(3.1/40 未実行)"


def run_access_cleanup(ctx: Context, plan: AccessPlan, call) -> None:
    """Delete in AWS's order: policies, keys, key file (``call`` from cleanup.py ignores NoSuchEntity)."""
    steps = iter(access_cleanup_commands(plan))
    if plan.empty:
        return
    ctx.report.command(next(steps), "")
    for policy in plan.policies:
        ctx.require_write("iam:DeleteUserPolicy")
        call(ctx, "iam:DeleteUserPolicy", ctx.iam.delete_user_policy, UserName=plan.user_name, PolicyName=policy)
        ctx.report.command(next(steps), "")
    if plan.keys:
        ctx.require_write("iam:DeleteAccessKey")
        ctx.report.command(next(steps), " ".join(mask(k) for k in plan.keys))
        for key_id in plan.keys:
            call(ctx, "iam:DeleteAccessKey", ctx.iam.delete_access_key, UserName=plan.user_name, AccessKeyId=key_id)
        ctx.report.command(next(steps), "")
    if plan.delete_file:
        remove_private(expand(plan.key_file))
        ctx.report.command(next(steps), "")


__all__ = [
    "AccessPlan",
    "Keys",
    "caller_arn",
    "create_access_key",
    "get_session_token",
    "mfa_serial",
    "plan_access_cleanup",
    "protected_read",
    "put_mfa_policy",
    "recreate_access_key",
    "user_keys",
    "verify_access_key",
    "verify_mfa_protection",
    "wrong_code_refused",
]
