"""What a learner reads when AWS (or the way to it) refuses: one message per error code."""

REPEAT_HINT = "内容を確認してから、このセルをもう一度実行してください。"
CHECK_FAILED = "完了確認に失敗しました(✘)。{hint}"
NO_CREDENTIALS = (
    "AWSの認証情報が見つかりません。`aws configure` または AWS_PROFILE を設定してから、"
    "01_preparation の手順をやり直してください。"
)
NO_REGION = "リージョンが設定されていません。AWS_DEFAULT_REGION=ap-northeast-1 を設定してください。"
UNEXPECTED = "{action} で予期しないエラーが発生しました ({kind})。" + REPEAT_HINT
FAILED = "{action} が失敗しました (エラーコード: {code})。" + REPEAT_HINT
ACCESS_DENIED = (
    "権限がありません。この操作には IAM アクション {action} の許可が必要です。管理者に付与を依頼してください。"
)
BY_CODE = {
    "InvalidAuthenticationCode": (
        "認証コードが正しくありません(IAMが受け付けませんでした)。何も変更されていません。"
        "認証アプリに新しいコードが表示されるまで待ち、連続して表示された2つのコードを入力し直してください。"
    ),
    "EntityAlreadyExists": "同じ名前のリソースが既に存在します。",
    "EntityTemporarilyUnmodifiable": (
        "IAMがこのリソースを一時的に変更できない状態です。少し待ってから再実行してください。"
    ),
    "LimitExceeded": (
        "IAMの上限(ユーザーあたりのMFAデバイスは8個まで等)に達しています。不要なものを削除してから再実行してください。"
    ),
    "NoSuchEntity": "対象のリソースが見つかりません。",
    "DeleteConflict": (
        "他のリソースがまだ紐づいているため削除できません。先に紐づくリソース(MFAデバイス、アクセスキー等)を外してください。"
    ),
    "ValidationError": "入力値がIAMの規則に合いません。設定値の指定に戻り、名前とパスを確認してください。",
    "Throttling": (
        "AWS側の呼び出し回数制限に達し、再試行しても成功しませんでした。1分ほど待ってから再実行してください。"
    ),
    "ServiceFailure": (
        "IAMで一時的な障害が発生し、再試行しても成功しませんでした。しばらく待ってから再実行してください。"
    ),
    "AccessDenied": ACCESS_DENIED,
    "AccessDeniedException": ACCESS_DENIED,
    "ExpiredToken": "認証情報の有効期限が切れています。認証情報を更新してから再実行してください。",
    "InvalidClientTokenId": "認証情報が無効です。AWS_PROFILE やアクセスキーを確認してください。",
}
SANDBOX_DOWN = (
    "サンドボックスが応答しませんでした ({action})。この操作が反映されたかどうかは分かりません。"
    "このセルをもう一度実行すると、サンドボックスを起動し直し、IAMの状態を読み直して続きから進みます。"
)
ENDPOINT_DOWN = "{action} の接続先に接続できませんでした。ネットワーク接続を確認してから再実行してください。"
