"""The instructor's workshop view and cleanup (workshop.py): plain constants and format strings."""

INSTRUCTOR_ONLY = (
    "全員の状況は講師 (JupyterHub の管理者) だけが見られます。"
    "自分の進み具合は各ノートブックの完了確認で確かめてください。"
)
STATUS_TITLE = "ワークショップの状況 ({count} 名分)"
STATUS_HEADER = [
    "参加者",
    "IAMユーザー",
    "仮想MFAデバイス",
    "MFA有効",
    "有効化日時",
    "アクセスキー(3.1)",
    "MFA必須ポリシー(40)",
]
NO_NAME = "(名前なし)"
NOBODY_FOUND = (
    "キットのリソースを持つ参加者が一人も見つかりません。参加者が 10_create_iam_user を実行したか、"
    "接続先(HANDSON_TARGET とアカウント)が参加者と同じかを確認してください。"
)
ALL_ENABLED = "キットのリソースを持つ参加者 {count} 名全員のMFAが有効になっている"
WAITING = "未完了 {count} 名"
WAITING_NEXT = (
    "未完了の参加者に 22_enable_virtual_mfa_device の実行を案内し、しばらくしてからこのセルを再実行してください。"
)
PLAN_TITLE = "削除の予定 (この順に実行)"
PLAN_HEADER = ["#", "操作", "IAMユーザー", "対象 (ポリシー名・アクセスキーID・シリアル番号)"]
NOTHING_DELETED_YET = "まだ何も削除していません。削除するには --yes を付けて実行してください。"
DELETED = "削除が終わりました ({done}/{total} 件)。"
