"""設定値: the names of the settings, why a value is refused, and the environment's own settings."""

LABELS = {
    "IAM_USER_NAME": "IAMユーザー名",
    "IAM_USER_PATH": "IAMユーザーパス",
    "MFA_DEVICE_NAME": "仮想MFAデバイス名",
    "MFA_BOOTSTRAP_METHOD": "MFAブートストラップ方式",
    "DIR_MFA_OUTFILE": "MFAブートストラップ出力ファイル用ディレクトリ",
    "FILE_MFA_OUTFILE": "MFAブートストラップ出力ファイル名",
    "DIR_ACCESS_KEY": "アクセスキー出力ファイル用ディレクトリ",
    "FILE_ACCESS_KEY": "アクセスキー出力ファイル名",
    "POLICY_NAME": "インラインポリシー名",
    "MFA_BACKUP_DEVICE_NAME": "予備の仮想MFAデバイス名",
    "FILE_MFA_BACKUP_OUTFILE": "予備のMFAブートストラップ出力ファイル名",
    "MFA_POLICY_NAME": "MFA管理用のインラインポリシー名",
}

TOO_LONG = "{label}は{limit}文字以内です({length}文字)"
BAD_PATH = (
    "パスは / で始まり / で終わり、間は半角の英数字と記号だけです(空白・全角文字・改行は使えません。例: /handson-cli/)"
)
BAD_POLICY_NAME = "{label}に使えるのは半角の英数字と + = , . @ _ - だけです(空白・全角文字は使えません)"
BAD_NAME = "{label}に使えるのは半角の英数字と + = , . @ _ - だけです(空白・/・全角文字・改行は使えません)"
EMPTY = "値が空です"
BAD_METHOD = "MFAブートストラップ方式は {methods} です"
OR = " か "
CONTROL_CHARACTERS = "改行などの制御文字は使えません"
UNSAFE_FOLDER = "{reason}。自分だけが書き込めるディレクトリ(例: ホームディレクトリの下)を指定してください"
INVALID_SETTING = (
    "設定値 {name} が正しくありません: {reason}。設定値の指定に戻って値を直し、もう一度実行してください。"
    "何も変更していません。"
)
MISMATCH = "期待値と異なります"

BAD_TARGET = "HANDSON_TARGET は sandbox か aws を指定してください(現在: {target})。"
BAD_SANDBOX_MODE = "HANDSON_SANDBOX は private か room を指定してください(現在: {mode})。"
