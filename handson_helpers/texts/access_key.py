"""Section 3.1: the access key and its file."""

FILE_LABEL = "アクセスキーファイル"
NOT_KITS_FILE = "{file} には既にキットのアクセスキーファイルではないものがあります"
RETAGGED = "アクセスキー {key} は作成済みでした。キットの目印(ユーザーのタグ)だけを付け直しました。"
EXISTS = "アクセスキー {key} とファイル {file} は既に作成済みです。何も変更していません。"
FILE_LOST = (
    "キットが作成したアクセスキー {key} はIAMにありますが、ファイル {file} にありません。"
    "シークレットアクセスキーは作成時の一度しか表示されないため、取り出すことはできません。"
    "作り直すには hh.recreate_access_key(ctx, IAM_USER_NAME, FILE_ACCESS_KEY) を実行してください"
    "(古いアクセスキーを削除し、新しいアクセスキーを作成します)。"
)
UNSAFE_FILE = (
    "アクセスキーファイル {file} を保存できません: {problem}。"
    "DIR_ACCESS_KEY を自分だけが書き込めるディレクトリ(例: ホームディレクトリの下)に変更してください。"
    "何も変更していません。"
)
UNSAFE_FILE_SHORT = "アクセスキーファイル {file} を保存できません: {problem}。何も変更していません。"
TOO_MANY = (
    "IAMユーザー {user} には既にアクセスキーが {count} 個あります。AWSではユーザーあたり {limit} 個までのため、"
    "これ以上作成できません(作成すると LimitExceeded で拒否されます)。キットが作成したものではないため削除もしません。"
    "不要なアクセスキーを確認して削除してから、もう一度実行してください。何も変更していません。"
)
LIMIT_EXCEEDED = (
    "IAMユーザー {user} のアクセスキーは既に {limit} 個あります(AWSの上限)。不要なものを削除してから、"
    "もう一度実行してください。"
)
WRITE_FAILED = (
    "アクセスキーファイル {file} を書き込めませんでした。作成したアクセスキーは削除したので、"
    "DIR_ACCESS_KEY に書き込めるか確認してから、もう一度実行してください。"
)
FOLDER_CREATED = "(ディレクトリを作成しました)"
SECRET_IN_FILE = "(出力なし: アクセスキーIDとシークレットアクセスキーはファイルに保存しました。画面には表示しません)"
CREATED = (
    "アクセスキー {key} を作成し、{file} に保存しました(本人だけが読める権限 600)。"
    "アクセスキーIDは秘密ではありませんが、保存されるノートブックには末尾4文字だけを表示します。"
)
RECREATED = "アクセスキーを作り直し({key})、{file} に保存しました。"
CHECK_ACTIVE = 'IAMユーザー"{user}"のアクセスキーが有効(Active)'
CHECK_FILE = "アクセスキーファイルが本人だけ読める状態で存在する"
CHECK_HINT = "処理の実行のセルをもう一度実行してください(ファイルが無い場合は案内に従って作り直せます)。"
CONSOLE_STATUS = {"Active": "アクティブ", "Inactive": "非アクティブ"}  # the console's words for the CLI's Status
CONSOLE_TITLE = "ユーザー {user} / セキュリティ認証情報(タブ) / アクセスキー"
CONSOLE_HEADER = ["アクセスキーID", "ステータス", "作成日"]
