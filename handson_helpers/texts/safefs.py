"""Files the kit writes: why a folder or a file is refused."""

FOREIGN_LINK = "{path} は別のユーザーのシンボリックリンクです"
NOT_A_FOLDER = "{path} はディレクトリではありません"
FOREIGN_FOLDER = "{path} は別のユーザーのディレクトリです"
SHARED_FOLDER = "{path} は他のユーザーも書き込めるディレクトリです"
NO_WRITE = "{path} に書き込む権限がありません"
UNSAFE_FOLDER = (
    "{label} に指定されたディレクトリは使えません: {problem}。"
    "自分だけが書き込めるディレクトリ(例: ホームディレクトリの下)を指定してください。何も変更していません。"
)
RACED_FOLDER = "{label} のディレクトリを安全に作成できませんでした: {problem}。"
LINK = "{path} はシンボリックリンクです"
NOT_A_FILE = "{path} はファイルではありません(ディレクトリなど)"
FOREIGN_FILE = "{path} は別のユーザーのファイルです"
OTHER_CONTENT = "{path} には既に別の内容のファイルがあります"
UNSAFE_FILE = (
    "{label} {path} に書き込めません: {problem}。別の場所を指定するか、そのファイルを確認してください。"
    "何も変更していません。"
)
NOT_KITS_FILE = (
    "{path} はキットが作成したファイルではないため削除しません。中身を確認して、必要なら手で削除してください。"
)
