"""Section 40: what MFA protects (the MFA-required policy, the protected read, the MFA session)."""

NO_KEY_FILE = (
    "アクセスキーファイル {file} がありません(またはキットが保存したものではありません)。"
    "先に 31_create_access_key を実行してください。"
)
DENIED_WITHOUT_MFA = (
    "拒否されました(AccessDenied)。アクセスキーだけで送ったリクエストには「MFAで認証済み」という情報"
    "(aws:MultiFactorAuthPresent)が含まれないため、ポリシーの Deny(BoolIfExists: false)に当てはまり、"
    "Allow があっても明示的な拒否が優先されます。アクセスキーが漏れても、MFAデバイスが無ければこの操作はできません。"
)
DENIED_OTHERWISE = "想定外の理由で拒否されました({code})。認証情報の有効期限や設定を確認してください。"
ALLOWED_WITH_MFA = "MFAで取得した一時的な認証情報では、同じ操作が成功しました。"
NO_MFA = "IAMユーザー {user} のMFAが有効になっていません。先に 22_enable_virtual_mfa_device を実行してください。"
WRONG_CODE_REFUSED = (
    "拒否されました。認証コードは認証アプリが30秒ごとに計算するもので、間違ったコード、古いコード、"
    "一度使ったコードでは一時的な認証情報を取得できません。"
    "アプリに表示された正しいコードまで拒否され続ける場合は、デバイスの同期がずれている可能性があります: "
    "23_resync_virtual_mfa_device で再同期します。"
)
WRONG_CODE_ACCEPTED = (
    "認証コード {code} がたまたま正しいコードでした(約25万分の1の確率です)。次の手順に進んで構いません。"
)
EMPTY_CODE = "認証コードが空です。認証アプリに表示された6桁の数字を入力してください。"
NOT_DIGITS = "認証コードに数字以外の文字が含まれています。6桁の数字だけを入力してください。"
WRONG_LENGTH = "認証コードは6桁の数字です(入力は{length}桁)。認証アプリの表示をもう一度確認してください。"
INVALID_CODE = (
    "認証コードが正しくありません(AWSが受け付けませんでした)。認証アプリに新しいコードが表示されたら、"
    "そのコードを入力し直してください(一度使った認証コードは使えません)。"
)
UNKNOWN = "(不明)"
SESSION_GOT = (
    "一時的な認証情報を取得しました。アクセスキーIDは {prefix} で始まる一時的なもので、有効期限は {expires} です。"
    "認証情報(シークレットアクセスキーとセッショントークン)は表示も保存もしません。"
)
CODE_PLACEHOLDER = "<認証アプリに表示された認証コード>"
CODE_IN_FORM = "(下のフォームに入力します)"
NO_SESSION_YET = "(一時的な認証情報がありません)"
TABLE_TITLE = "同じ操作(aws iam list-users)の結果"
TABLE_HEADER = ["認証情報", "MFA", "結果"]
ACCESS_KEY_ROW = "アクセスキー ({prefix}…)"
SESSION_ROW = "一時的な認証情報 ({prefix}…)"
SESSION_ROW_NONE = "一時的な認証情報"
WITHOUT = "なし"
WITH = "あり"
DENIED = "拒否 ({code})"
ALLOWED = "成功: {text}"
ALLOWED_PLAIN = "成功"
CHECK = "アクセスキーだけでは拒否され、MFAで取得した一時的な認証情報では成功する"
CHECK_EXPECTED = "拒否 (AccessDenied) / 成功: {user}"
CHECK_HINT = "「一時的な認証情報の取得」のセルをもう一度実行し、認証アプリに表示された認証コードを入力してください。"
CONSOLE_TITLE = "ユーザー {user} / 許可(タブ) / 許可ポリシー"
CONSOLE_HEADER = ["ポリシー名", "タイプ"]
INLINE = "カスタマーインライン"
