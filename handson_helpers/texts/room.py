"""A workshop room on JupyterHub: what a participant reads when the room cannot give them keys."""

NOT_CONFIGURED = (
    "HANDSON_SANDBOX=room ですが、ルームのサンドボックスの場所 (HANDSON_ROOM_URL) がありません。"
    "講師に JupyterHub の設定を確認してもらってください。"
)
BAD_URL = (
    "HANDSON_ROOM_URL ({url}) は http://ホスト:ポート の形にしてください。"
    "講師に JupyterHub の設定を確認してもらってください。"
)
NOBODY_LISTENS = "どのプロセスも待ち受けていません"
WRONG_LISTENER = "ユーザーID {owner} のプロセスが待ち受けています (ルームはユーザーID {expected})"
UNTRUSTED_LISTENER = "ルームのサンドボックスの場所 {url} で{who}。鍵は送っていません。講師に連絡してください。"
NO_HUB_TOKEN = "ルームのサンドボックスは JupyterHub の中でだけ使えます (JUPYTERHUB_API_TOKEN がありません)。"
HUB_REFUSED = "JupyterHub がこのサーバーを確認できませんでした"
REFUSED = (
    "ルームのサンドボックスが鍵を渡しませんでした ({reason})。File → Hub Control Panel からサーバーを再起動し、"
    "直らなければ講師に連絡してください。"
)
UNREACHABLE = (
    "ルームのサンドボックスに接続できませんでした。少し待ってから再実行し、直らなければ講師に連絡してください。"
)
UNREADABLE = "ルームのサンドボックスの応答を読めませんでした。講師に連絡してください。"
