"""先生を呼ぶ (help_button.py): the button beside the code forms on a hub, and what it says."""

BUTTON = "先生を呼ぶ"
DONE_BUTTON = "解決した"
CALLED = (
    "先生に知らせました。先生はあと約{minutes}分、あなたの JupyterLab を開いて一緒に確認できます"
    " (JupyterHub の共有機能。時間が過ぎるか「解決した」を押すと取り消されます)。"
)
ENDED = "先生の閲覧を取り消しました。"
REVOKE_FAILED = (
    "先生の閲覧をまだ取り消せていません (JupyterHub が応答しません)。ルームが数秒ごとに取り消しを再試行します。"
    "急ぐときは先生に伝えてください。"
)
TOO_SOON = "少し待ってからもう一度押してください ({reason})。"
FAILED = "先生に知らせられませんでした ({reason})。手を挙げて先生を呼んでください。"
NOT_A_PARTICIPANT = "先生を呼ぶは参加者のためのボタンです (講師・アシスタントのサーバーは共有しません)。"
