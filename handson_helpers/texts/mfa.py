"""Sections 2.1, 2.2 and 23: the virtual MFA device, its QR file, enabling and resyncing it."""

QR_LOST = (
    "仮想MFAデバイス {name} は存在しますが、QRコードファイル {file} {problem}。"
    "AWSはQRコード(シード)を作成時の一度しか返さないため、再表示はできません。"
    "デバイスはまだ有効化されていないので、作り直しても失うものはありません: "
    "hh.recreate_virtual_mfa_device(ctx, MFA_DEVICE_NAME, FILE_MFA_OUTFILE) を実行してください。"
)
QR_LABEL = "QRコードファイル"
UNSAFE_QR_FILE = (
    "QRコードファイル {file} を保存できません: {problem}。"
    "DIR_MFA_OUTFILE を自分だけが書き込めるディレクトリ(例: ホームディレクトリの下)に変更してください。"
    "何も変更していません。"
)
UNSAFE_QR_FILE_SHORT = "QRコードファイル {file} を保存できません: {problem}。何も変更していません。"
ANSWER_LOST = (
    "仮想MFAデバイス {device} は作成されましたが、QRコードを受け取る前に接続が切れました。"
    "AWSはQRコードを再表示しないため、このセルをもう一度実行し、表示される案内に従ってデバイスを作り直してください。"
)
QR_WRITE_FAILED = (
    "QRコードファイル {file} を書き込めませんでした ({reason})。作成したデバイスは削除したので、"
    "DIR_MFA_OUTFILE に書き込めるか確認してから、もう一度実行してください。"
)
QR_MISSING = "ありません"
QR_NOT_KITS = (
    "はキットが保存したQRコード画像(またはキー)ではありません(空のファイル、ディレクトリ、リンク、別の形式など)"
)
EXISTS_ENABLED = "仮想MFAデバイス {device} は既に作成され、{user} に対して有効化済みです。何も変更していません。"
EXISTS = "仮想MFAデバイス {device} とQRコードファイルは既に作成済みです。何も変更していません。"
FOLDER_CREATED = "(ディレクトリを作成しました)"
ASSIGNED_NOT_RECREATED = "仮想MFAデバイス {device} は有効化済みのため作り直しません。"
FOREIGN_DEVICE = (
    "仮想MFAデバイス {device} はキットが作成したものではないため、削除も作り直しもしません。"
    "自分で作成したものなら、ターミナルで aws iam delete-virtual-mfa-device --serial-number {serial} を実行してから、"
    "21_create_virtual_mfa_device をやり直してください。"
)
RECREATED = (
    "仮想MFAデバイス {device} を作り直し、新しいQRコードを {file} に保存しました。"
    "認証アプリの古い登録は削除してください。"
)
NO_DEVICE_BEFORE_21 = (
    "仮想MFAデバイス {device} が見つかりません。先に 21_create_virtual_mfa_device を実行してください。"
)
NO_DEVICE = "仮想MFAデバイス {device} が見つかりません。21_create_virtual_mfa_device を実行してください。"
ASSIGNED_ELSEWHERE = "このデバイスは別のIAMユーザー {user} に割り当て済みです。設定値を確認してください。"
ASSIGNED_ELSEWHERE_NOW = "このデバイスは既に別のユーザーに割り当てられています。"
NO_USER = "IAMユーザー {user} が見つかりません。先に 10_create_iam_user を実行してください。"
CODE_PLACEHOLDERS = {"MFA_AUTH_CODE1": "<連続した認証コードの1回目>", "MFA_AUTH_CODE2": "<連続した認証コードの2回目>"}
CODE_IN_FORM = "(下のフォームに入力します)"
THROTTLED = (
    "間違った認証コードが続いたため、AWSがこのMFAデバイスの認証コードをしばらく受け付けなくなっています。"
    "10分ほど待ってから、認証アプリに表示された新しい認証コードで、もう一度実行してください。何も変更されていません。"
)
# 40's wrong-code message: AWS's answer cannot tell a mistyped code from a device out of sync
OUT_OF_SYNC_HINT = (
    "認証アプリの認証コードを正しく入力しても拒否される場合は、MFAデバイスの時刻がずれています"
    "(有効化のときに認証コードの入力が遅れた場合など)。"
    "時刻がずれている場合は 23_resync_virtual_mfa_device で再同期してください。"
)
NO_DEVICE_BEFORE_22 = (
    "仮想MFAデバイス {device} が見つかりません。"
    "先に 21_create_virtual_mfa_device と 22_enable_virtual_mfa_device を実行してください。"
)
ASSIGNED_TO_OTHER = "別のIAMユーザー {user} に割り当てられています"
NOT_ENABLED_YET = "まだ有効化されていません。先に 22_enable_virtual_mfa_device を実行してください"
NOT_ASSIGNED = "仮想MFAデバイス {device} は IAMユーザー {user} に対して有効化されていません({where})。"
INVALID_RESYNC_CODE = (
    "認証コードが正しくありません(IAMが受け付けませんでした)。何も変更されていません。"
    "認証アプリに新しい認証コードが表示されるまで待ち、連続して表示された2つを入力し直してください"
    "(一度使った認証コードは使えません。認証アプリの時刻が5分以上ずれている場合は、スマートフォンの時刻を「自動設定」にしてください)。"
)
CHECK_ENABLED = 'IAMユーザー"{user}"のMFAが有効になっている'
CHECK_ENABLED_HINT = "「仮想MFAデバイスの有効化」のセルをもう一度実行し、2つの認証コードを入力してください。"
CHECK_DEVICE = '仮想MFAデバイス"{device}"が存在する'
CHECK_QR = "QRコードファイルが本人だけ読める状態で存在する"
CHECK_CREATED_HINT = (
    "処理の実行のセルをもう一度実行してください(QRコードファイルが無い場合は案内に従って作り直せます)。"
)
CONSOLE_VIRTUAL = "仮想"
CONSOLE_TITLE = "ユーザー {user} / セキュリティ認証情報(タブ) / 多要素認証 (MFA)"
CONSOLE_HEADER = ["タイプ", "識別子", "作成日"]

# The two codes of 2.2 and 23 (totp.validate_codes), before any AWS call
CODE_LABELS = ("1回目", "2回目")
CODE_EMPTY = "認証コード({label})が空です。認証アプリに表示された6桁の数字を入力してください。"
CODE_NOT_DIGITS = "認証コード({label})に数字以外の文字が含まれています。6桁の数字だけを入力してください。"
CODE_WRONG_LENGTH = "認証コード({label})は6桁の数字です(入力は{length}桁)。認証アプリの表示をもう一度確認してください。"
SAME_CODE = (
    "1回目と2回目に同じコードが入力されています。1回目のコードが切り替わるのを待ち、"
    "次に表示されたコードを2回目に入力してください。"
)
QR_UNREADABLE = "QRコード画像からMFAの情報を読み取れませんでした。21_create_virtual_mfa_device をやり直してください。"
