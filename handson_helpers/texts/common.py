"""Words every area uses: the page's labels, and what a check shows for nothing."""

NONE = "(なし)"
VARIABLES_SET = "変数の設定"
VARIABLES_CHECK = "変数の確認"
NOT_PRIVATE = "存在しないか権限が違う"
