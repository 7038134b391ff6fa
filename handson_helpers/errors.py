"""Japanese messages for everything a learner can run into, without raw tracebacks."""

from __future__ import annotations

from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

AWS_ERRORS = (ClientError, BotoCoreError)
REPEAT_HINT = "内容を確認してから、このセルをもう一度実行してください。"


class HandsonError(Exception):
    """A problem the learner can fix; its message says what happened and what to do next."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


@contextmanager
def aws_call(action: str):
    """Around one AWS call (e.g. ``iam:EnableMFADevice``): its boto3/botocore errors become the
    learner's Japanese HandsonError; handlers of expected codes go inside, before it."""
    try:
        yield
    except AWS_ERRORS as exc:
        raise explain(exc, action) from None


def require_passed(ok: bool, hint: str) -> None:
    """完了確認 cells prove the state: a failed check stops Run All with what to do next."""
    if not ok:
        raise HandsonError(f"完了確認に失敗しました(✘)。{hint}", "CheckFailed")


def error_code(exc) -> str:
    """AWS's error code of a ClientError ('' for anything else)."""
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def explain(exc: Exception, action: str) -> HandsonError:
    """Turn a boto3/botocore error of ``action`` (e.g. ``iam:EnableMFADevice``) into a HandsonError.

    AWS's own message is never quoted: for EnableMFADevice it could echo what the learner typed.
    """
    if isinstance(exc, HandsonError):
        return exc
    if isinstance(exc, EndpointConnectionError):
        return _endpoint_down(action, exc)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return HandsonError(
            "AWSの認証情報が見つかりません。`aws configure` または AWS_PROFILE を設定してから、01_preparation の手順をやり直してください。",
            "NoCredentials",
        )
    if isinstance(exc, NoRegionError):
        return HandsonError("リージョンが設定されていません。AWS_DEFAULT_REGION=ap-northeast-1 を設定してください。", "NoRegion")
    if not isinstance(exc, ClientError):
        return HandsonError(f"{action} で予期しないエラーが発生しました ({type(exc).__name__})。{REPEAT_HINT}")
    code = error_code(exc)
    messages = {
        "InvalidAuthenticationCode": (
            "認証コードが正しくありません(IAMが受け付けませんでした)。何も変更されていません。認証アプリに新しいコードが表示されるまで待ち、連続して表示された2つのコードを入力し直してください。"
        ),
        "EntityAlreadyExists": "同じ名前のリソースが既に存在します。",
        "EntityTemporarilyUnmodifiable": "IAMがこのリソースを一時的に変更できない状態です。少し待ってから再実行してください。",
        "LimitExceeded": "IAMの上限(ユーザーあたりのMFAデバイスは8個まで等)に達しています。不要なものを削除してから再実行してください。",
        "NoSuchEntity": "対象のリソースが見つかりません。",
        "DeleteConflict": "他のリソースがまだ紐づいているため削除できません。先に紐づくリソース(MFAデバイス、アクセスキー等)を外してください。",
        "ValidationError": "入力値がIAMの規則に合いません。設定値の指定に戻り、名前とパスを確認してください。",
        "Throttling": "AWS側の呼び出し回数制限に達し、再試行しても成功しませんでした。1分ほど待ってから再実行してください。",
        "ServiceFailure": "IAMで一時的な障害が発生し、再試行しても成功しませんでした。しばらく待ってから再実行してください。",
        "AccessDenied": f"権限がありません。この操作には IAM アクション {action} の許可が必要です。管理者に付与を依頼してください。",
        "AccessDeniedException": f"権限がありません。この操作には IAM アクション {action} の許可が必要です。管理者に付与を依頼してください。",
        "ExpiredToken": "認証情報の有効期限が切れています。認証情報を更新してから再実行してください。",
        "InvalidClientTokenId": "認証情報が無効です。AWS_PROFILE やアクセスキーを確認してください。",
    }
    text = messages.get(code, f"{action} が失敗しました (エラーコード: {code})。{REPEAT_HINT}")
    return HandsonError(text, code)


def _endpoint_down(action: str, exc: EndpointConnectionError) -> HandsonError:
    """The endpoint did not answer, even after botocore's retries (the sandbox is restarted by
    its clients' request hook, see sandbox.route, so this is rare there)."""
    if "127.0.0.1" in str(exc) or "localhost" in str(exc):
        return HandsonError(
            f"サンドボックスが応答しませんでした ({action})。この操作が反映されたかどうかは分かりません。"
            "このセルをもう一度実行すると、サンドボックスを起動し直し、IAMの状態を読み直して続きから進みます。",
            "SandboxDown",
        )
    return HandsonError(f"{action} の接続先に接続できませんでした。ネットワーク接続を確認してから再実行してください。", "EndpointConnectionError")


def install_notebook_handler() -> None:
    """Show HandsonError in a notebook as its Japanese message alone, without a traceback."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return

    def handler(shell, etype, value, tb, tb_offset=None):
        # IPython ignores what a custom handler returns when a cell raises: publish it here.
        stb = [f"✘ {getattr(value, 'message', None) or value}"]
        shell._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((HandsonError,), handler)  # the sandbox's SandboxError is one too
