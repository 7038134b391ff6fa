"""接続先: where the steps run, and the guard that keeps a real account unchanged."""

ACCOUNT_GUARD = (
    "実AWSアカウント {account} への変更 ({action}) を止めました。"
    "このアカウントで実行してよい場合は、HANDSON_AWS_ACCOUNT_ID にこのアカウントIDを設定して"
    "JupyterLabを起動し直してください。何も変更していません。"
)
ENDPOINT_OVERRIDE = (
    "HANDSON_TARGET=aws なのに AWS_ENDPOINT_URL(_IAM/_STS) が設定されています。"
    "サンドボックス用の環境変数を外し(unset AWS_ENDPOINT_URL)、JupyterLabを起動し直してください。"
)
INSTRUCTOR = "講師 (ルーム全体を操作できます)"
PARTICIPANT = "参加者 {who} (自分のユーザーとMFAデバイスだけを操作できます)"
WHERE = "アカウント: {account} / 呼び出し元: {caller} / リージョン: {region}"
ROOM = "接続先: ワークショップのルーム用サンドボックス (オフライン、実AWSには接続しません) / {role} / " + WHERE
SANDBOX = "接続先: ローカルサンドボックス (オフライン、実AWSには接続しません) / " + WHERE
WRITABLE = "変更可 (HANDSON_AWS_ACCOUNT_ID と一致)"
READ_ONLY = "参照のみ (変更するには HANDSON_AWS_ACCOUNT_ID にこのアカウントIDを設定)"
AWS = "接続先: 実AWS / " + WHERE + " / {guard}"
LITE = (
    "ブラウザ版(JupyterLite)で実行しています。サンドボックスはこのブラウザの中で動き、状態はこのブラウザに保存されます"
    "(ページを再読み込みしても続きから進められます。1つのブラウザに学習者1人)。ターミナルがないため、aws コマンドは"
    "表示するだけで実行しません。講師用の画面(95_workshop_status)はありません。"
)
