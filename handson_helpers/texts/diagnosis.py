"""Refused MFA codes that belong to the device at another time (code_time.py): plain format strings.

PAIR and CODE take {when} (WHEN_BEHIND / WHEN_AHEAD) and {cause} (BEHIND_CAUSE / AHEAD_CAUSE),
each with {minutes}."""

WHEN_BEHIND = "約{minutes}分前"
WHEN_AHEAD = "約{minutes}分後"
BEHIND_CAUSE = (
    "スマートフォンの時計が約{minutes}分遅れているか、認証コードが表示されてから長い時間が経ってから入力されたと考えられます"
    "(何度試しても同じ分数になるなら、時計のずれです)。"
)
AHEAD_CAUSE = "スマートフォンの時計が約{minutes}分進んでいると考えられます。"
PAIR = (
    "入力された2つの認証コードは、このMFAデバイスのものですが、今ではなく{when}の時刻のコードです"
    "(IAMは受け付けませんでした。何も変更されていません)。{cause}"
    "スマートフォンの「日付と時刻」を「自動設定」にしてから、認証アプリに続けて表示された2つの認証コードを、表示されたらすぐに入力し直してください。"
)
CODE = (
    "入力された認証コードは、このMFAデバイスのものですが、今ではなく{when}の時刻のコードです"
    "(AWSは受け付けませんでした)。{cause}"
    "スマートフォンの「日付と時刻」を「自動設定」にしてから、認証アプリに新しく表示された認証コードを、すぐに入力し直してください。"
    "時計を直しても拒否される場合は、23_resync_virtual_mfa_device で再同期してください。"
)
CODE_RESYNC = (
    "入力された認証コードは、このMFAデバイスの今の認証コードですが、IAMはこのデバイスを別の時刻に合わせています"
    "(有効化のときに認証コードの入力が遅れた場合など。AWSは受け付けませんでした)。"
    "23_resync_virtual_mfa_device で再同期してから、新しく表示された認証コードでもう一度実行してください。"
)
PAIR_OTHER_DEVICE = (
    "入力された2つの認証コードは、このMFAデバイスのものではなく、別のMFAデバイスの今の認証コードです"
    "(IAMは受け付けませんでした。何も変更されていません)。認証アプリに項目が複数ある場合は、"
    "このノートブックで読み取ったQRコードの項目 (このMFAデバイスの名前) を選び、その認証コードを入力し直してください。"
    "ほかの人のQRコード(講師の画面など)を読み取った場合は、自分のQRコードを読み取り直してください。"
)
