"""The instructor's live view of a room (room_view.py): labels and the reasons' names."""

TITLE = "ルームの今 ({count} 名、要対応が上)"
HEADER = ["", "参加者", "セクション", "最後の操作", "連続した誤りコード", "最近の問題 (新しい順)", "先生を呼ぶ"]
HELP = "{seconds}秒前に呼出し、あと{minutes}分開けます: {url}"
STUCK = "要対応"
FLAGGED = "注意"
NONE = "(まだ誰も操作していません)"
AGO = "{seconds}秒前"
REASONS = {
    "wrong-code": "認証コードの誤り",
    "throttled": "誤りが続き一時受付停止 (Throttling)",
    "session-refused": "一時的な認証情報の取得を拒否",
    "access-denied": "権限なし (AccessDenied)",
    "validation-error": "入力値が規則違反 (ValidationError)",
    "re-created-device": "MFAデバイスを作り直した (QRコード紛失?)",
    "other-device": "別のMFAデバイスのコード (認証アプリの別の項目、または他人のQRコードを読み取った)",
}
WRONG_TIME = "別の時刻のコード (スマートフォンの時計が約{minutes}分{direction}、または入力の遅れ)"
BEHIND = "遅れ"
AHEAD = "進み"
RESYNC = "デバイスの時刻ずれ (再同期が必要)"
INSTRUCTOR_ONLY = "ルームの今の状況は講師 (JupyterHub の管理者) だけが見られます。"
NO_ANSWER = "応答なし"
UNREACHABLE = "ルームのサンドボックスから状況を取得できませんでした ({reason})。少し待ってから再実行してください。"
# 95's live view (room_live.py)
NOT_A_ROOM = (
    "ここはJupyterHubのルームではないため、参加者ごとの「今」(誰が、なぜ止まっているか) は表示しません。"
    "ルームで講師が実行すると、ここに自動で更新される一覧が表示されます。"
)
UPDATED = "{time} 更新 ({seconds}秒ごとに自動で更新中)"
FAILED = "{time} 更新できませんでした: {message} ({seconds}秒後に再試行)"
UNEXPECTED = "予期しないエラー ({kind})"
STOPPED = "自動更新を停止しました。再開するにはセルを再実行してください。"
STOP = "自動更新を停止"
LIVE = "ルームの今 (自動更新)"  # what a saved notebook keeps as the widget's text: never the changing table
