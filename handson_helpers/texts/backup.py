"""Section 45 (発展): a second virtual MFA device, added by the user through an MFA session."""

NO_SESSION = (
    "一時的な認証情報がありません。「一時的な認証情報の取得」のセルを実行し、"
    "手順2.2の認証アプリの認証コードを入力してください。"
)
EXISTS_NOT_TRIED = "予備の仮想MFAデバイス {device} は作成済みのため、アクセスキーだけでの作成は試しません。"
REFUSED_WITHOUT_MFA = (
    "拒否されました(AccessDenied)。MFA管理用のポリシーは、aws:MultiFactorAuthPresent が true のとき"
    "(MFAで取得した一時的な認証情報)だけ許可します。アクセスキーだけでは、予備のMFAデバイスを追加できません。"
    "何も作成されていません。"
)
ALLOWED_WITHOUT_MFA = (
    "アクセスキーだけで作成できてしまいました。このユーザーには別のポリシーでMFAデバイスの作成が許可されています。"
    "作成されたデバイスは削除しました。ユーザーのポリシーを確認してください。"
)
TOO_MANY_DEVICES = (
    "IAMユーザー {user} には既にMFAデバイスが {count} 個あります。AWSではユーザーあたり {limit} 個までのため、"
    "これ以上追加できません(LimitExceeded)。何も変更していません。"
)
EXISTS = "予備の仮想MFAデバイス {device} とQRコードファイルは既に作成済みです。何も変更していません。"
CHECK = 'IAMユーザー"{user}"にMFAデバイスが2つ(元のデバイスと予備)割り当てられている'
CHECK_HINT = "「一時的な認証情報の取得」から順に、セルをもう一度実行してください。"
