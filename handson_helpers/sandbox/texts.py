"""What the sandbox tells a learner, in one place for a translator: each a format string.

AWS's own English error messages are not here: they stay beside the AWS rule that answers them.
"""

# control.py: starting the sandbox
LOOPBACK_ONLY = "サンドボックスはループバック(127.0.0.1)でのみ起動できます: {host}"
NOT_STARTED = (
    "サンドボックスを起動できませんでした。ログ {log} を確認し、`make setup` をやり直してから再度実行してください。"
)

# server.py and store.py: the saved state at start
STATE_SET_ASIDE = "保存されていた状態 {path} を読み込めなかったため {aside} に移し、空の状態で起動しました。"
STATE_PARTLY_LOADED = (
    "保存されていた状態のうち {skipped} を読み込めませんでした。元のファイルは {aside} に残してあります。"
)
MOTO_CHANGED = (
    "保存されていた状態 {path} を、インストールされている moto {version} では復元できません"
    "(moto の内部が変わりました: {error})。ファイルはそのまま残してあります。"
    "moto を固定されたバージョン(locks/learner.txt: `make clean setup`)に戻してから、もう一度実行してください。"
)

# __main__.py: python -m handson_helpers.sandbox
STARTED = "sandbox {word} at {url} (pid {pid})"
ALREADY_RUNNING = "already running"
JUST_STARTED = "started"
STOPPED = "sandbox stopped"
WAS_NOT_RUNNING = "sandbox was not running"
NOT_RUNNING = "sandbox: not running (start it with: python -m handson_helpers.sandbox start)"
EMPTIED = "sandbox at {url} is now empty"
RUNNING = "sandbox: running at {url} (pid {pid}, since {since})"
STATE = "state:   {state}"
USERS = "users:   {count}"
DEVICES = "devices: {count}"
ASSIGNED = "assigned to {user}"
UNASSIGNED = "unassigned"

# help_desk.py: 先生を呼ぶ from someone who is not a participant
HELP_NOT_A_PARTICIPANT = (
    "先生を呼ぶは参加者のためのボタンです。講師やアシスタントのサーバーは共有しません。"
    " (Only participants call for help: the instructor's and helpers' servers are not shared.)"
)
HELP_BUSY = (
    "ルームが JupyterHub の応答を待っています。少し待ってからもう一度押してください。"
    " (The room is waiting for the hub: try again.)"
)
