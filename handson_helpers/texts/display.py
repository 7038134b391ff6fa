"""How a step shows itself: the labels of a command, its result and a 完了確認 verdict."""

COMMAND = "コマンド"
RESULT = "結果"
NO_OUTPUT = "(出力なし)"
CHECK = "{mark} 完了確認: {statement}\n  期待値: {expected}\n  実際の値: {actual}"
CHECK_HTML = "<b>{mark} 完了確認:</b> {statement}<br>期待値: <code>{expected}</code><br>実際の値: <code>{actual}</code>"
# shell.private_dir's refusal, echoed by bash
NOT_PRIVATE_FOLDER = "{folder} は自分だけが書き込めるディレクトリではありません"
