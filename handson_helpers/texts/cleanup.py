"""後始末: the plan table, why nothing is deleted, and its 完了確認."""

RUN = "実行"
KEPT = "対象外(削除しません)"
NOT_NEEDED = "不要({absent})"
ABSENT = "存在しない"
UNASSIGNED = "割り当てなし"
UNSET_RUN = "実行(キットは一時的な認証情報を保存していません)"
UNSET_NOT_NEEDED = "不要(3.1/40 未実行)"
ROW_UNSET = "ターミナルの一時的な認証情報の変数を消す"
ROW_POLICY = "インラインポリシーの削除"
ROW_KEYS = "アクセスキーの削除"
NO_KIT_KEYS = "(キットのものなし)"
ROW_KEY_FILE = "アクセスキーファイルの削除"
ROW_BACKUP_DEACTIVATE = "予備のMFAデバイスの無効化"
ROW_BACKUP_DELETE = "予備の仮想MFAデバイスの削除"
ROW_BACKUP_FILE = "予備のQRコードファイルの削除"
ROW_DEACTIVATE = "MFAデバイスの無効化"
ROW_DELETE_DEVICE = "仮想MFAデバイスの削除"
ROW_DELETE_USER = "IAMユーザーの削除"
ROW_QR_FILE = "QRコードファイルの削除"
TITLE = "後始末の予定(この順に実行します)"
HEADER = ["#", "操作", "対象", "予定"]

FOREIGN_POLICY = "インラインポリシー {policy}"
FOREIGN_KEY = "アクセスキー {key}"
ASSIGNED_ELSEWHERE = "仮想MFAデバイス {serial} は別のユーザー {owner} に割り当てられています"
NOT_KITS_USER = "IAMユーザー {user} はキットがこの学習者用に作成したもの(パス {path} とキットのタグ)ではありません"
NOT_KITS_DEVICE = "仮想MFAデバイス {device} はキットが作成したもの(キットのタグ)ではありません"
NOT_KITS_QR = "{file} はキットが保存したQRコード画像(またはキー)ではありません"
NOT_KITS_KEY_FILE = "{file} はキットが保存したアクセスキーファイルではありません"
ATTACHED = "IAMユーザー {user} に{item}が付いています"
ATTACHED_LIST = "IAMユーザー {user} に{what}({items})が付いています"
OTHER_DEVICE = "別のMFAデバイス"
MANAGED_POLICY = "管理ポリシー"
GROUP = "グループ"
LOGIN_PROFILE = "ログインプロファイル(パスワード)"
PRESENT = "あり"
REFUSED = (
    "キット以外で作成されたものがあるため、何も削除しません(一部だけ削除して中途半端な状態にしないためです): "
    "{reasons}。自分で作成したものだと確かめられる場合は、次のコマンドをターミナルで順に実行してください。"
)
NOTHING_TO_DELETE = "削除するものはありません(後始末は済んでいます)。"
DELETE_CONFLICT = (
    "{action} が拒否されました: まだ紐づくリソースがあります (アクセスキー、ログインプロファイル等)。"
    "それらを削除してから、このセルをもう一度実行してください。"
)
CHECK_USER = 'IAMユーザー"{user}"が存在しない'
CHECK_DEVICE = '仮想MFAデバイス"{device}"が存在しない'
CHECK_QR = "QRコードファイルが存在しない"
CHECK_KEY_FILE = "アクセスキーファイルが存在しない"
CHECK_BACKUP = '予備の仮想MFAデバイス"{device}"とQRコードファイルが存在しない'
CHECK_HINT = "表示された警告を確認し、処理の実行のセルをもう一度実行してください。"
