"""The code forms of 22, 23 and 40 (widget.py, session_form.py): what the learner reads and clicks."""

COUNTDOWN = "現在の認証コードが切り替わるまで: <b>{seconds}</b> 秒"
RESYNC_HOW = "<b>① 認証アプリで、手順2.2で登録したMFAデバイス(アカウント名 {device}@…)の認証コードを表示します。</b>"
QR_HOW = "<b>① 認証アプリ(スマートフォンのアプリ等)でこのQRコードを読み取ります。</b>"
KEY_HOW = (
    "<b>① 認証アプリで「キーを手動で入力」(セットアップキーを入力)を選び、次のキーを入力します。</b>"
    "アカウント名は {device}、種類は「時間ベース」です。"
)
CODE1 = "認証コード(1回目)"
CODE2 = "認証コード(2回目)"
RESYNC_BUTTON = "MFAデバイスを再同期"
ENABLE_BUTTON = "MFAを有効化"
CANCEL_BUTTON = "キャンセル"
TWO_CODES = "<b>② アプリに<u>連続して</u>表示された6桁の認証コードを2つ入力します</b>(全角数字・空白も可)。"
RESYNC_FORM = "仮想MFAデバイス再同期フォーム"
ENABLE_FORM = "仮想MFAデバイス有効化フォーム"
CODE_TYPED = "(6桁入力済み)"
CODE_NOT_TYPED = "(未入力または6桁ではありません)"
ENABLED = "仮想MFAデバイスを有効化しました。QRコードの表示を消しました。"
RESYNCED = "仮想MFAデバイスを再同期しました。AWSは、認証アプリに今表示される認証コードを受け付けます。"
ALREADY = "このデバイスは既に有効化されています。もう一度押しても何も変わりません。"
CANCELLED = "キャンセルしました。再開するには、このセルをもう一度実行してください。"

RECREATE_BUTTON = "仮想MFAデバイスを作り直す"
RECREATE_OFFER = (
    "QRコードファイル {file} がありません。AWSはQRコード(シード)を作成時の一度しか返さないため、"
    "再表示はできません。デバイスはまだ有効化されていないので、作り直しても失うものはありません。"
    "作り直すと新しいQRコードが表示されます(認証アプリに古い登録があれば削除してください)。"
)
RECREATE_FORM = "仮想MFAデバイス作り直しの確認"
RECREATED = "✔ 作り直しました。下に新しいQRコードを表示します。"

NO_CLICKS = (
    "この画面(フロントエンド)はフォームのクリックをカーネルに届けないため、ここで入力してもらいます"
    "(入力した認証コードは表示されません。空のまま Enter でキャンセル)。"
)
NO_INPUT = "この環境は入力も受け付けません。JupyterLabで開き、このセルをもう一度実行してください。"
TYPED_FORM = "(フォームの代わりに、下の入力欄で入力します)"
TYPED_DONE = "(入力は終わりました。QRコード・キーの表示は消しました)"
QR_TEXT = "(QRコード: 認証アプリで読み取ってください)"
KEY_TEXT = "(キー: 認証アプリに入力してください)"
# The browser edition draws the QR file again as SVG (lite/qr.py): a file it cannot read is refused
QR_NOT_DRAWABLE = (
    "QRコードファイルを画面に表示できません({problem})。QRコードファイルは手順2.1で保存したものです。"
    "21_create_virtual_mfa_device をやり直してください。"
)
QR_NOT_PNG = "PNG画像として壊れています"
QR_NOT_KITS = "キットが描いたQRコードの画像ではありません"
# Colab: no image before an input box (cell_wait.images_stall_input)
KEY_INSTEAD = (
    "Colab では画像の後の入力欄が表示されないことがあるため、QRコードの代わりにキーを表示します。"
    "認証アプリで「キーを手動で入力」(セットアップキーを入力)を選び、アカウント名は {device}、"
    "種類は「時間ベース」で次のキーを入力します:\n"
)
RECREATE_ASK = "作り直すなら y、やめるなら Enter: "
CANNOT_WAIT = "この環境ではセルが入力を待てません。フォームで操作してから、次のセルを実行してください。"
ALREADY_ENABLED = "仮想MFAデバイスは既に {user} に対して有効化されています。何も変更していません。"
NO_DEVICE = "仮想MFAデバイス {device} が見つかりません。先に 21_create_virtual_mfa_device を実行してください。"
ASSIGNED_ELSEWHERE = "このデバイスは別のIAMユーザー {user} に割り当て済みです。設定値を確認してください。"
NO_USER = "IAMユーザー {user} が見つかりません。先に 10_create_iam_user を実行してください。"
RECREATE_CANCELLED = "作り直しはキャンセルされました。何も変更していません。このセルをもう一度実行すると再開できます。"
ENABLE_DONE = "仮想MFAデバイスの有効化が完了しました。続けて完了確認を実行します。"
ENABLE_CANCELLED = "有効化はキャンセルされました。このセルをもう一度実行すると再開できます。"
ENABLE_FAILED = "有効化できませんでした。フォームのメッセージを確認し、このセルをもう一度実行してください。"
RESYNC_DONE = "仮想MFAデバイスの再同期が完了しました。続けて完了確認を実行します。"
RESYNC_CANCELLED = "再同期はキャンセルされました。このセルをもう一度実行すると再開できます。"
RESYNC_FAILED = "再同期できませんでした。フォームのメッセージを確認し、このセルをもう一度実行してください。"

# 40's form (session_form.py)
TOKEN_CODE = "認証コード"
SESSION_BUTTON = "一時的な認証情報を取得"
ONE_CODE = "<b>認証アプリ(手順2.2で登録したもの)に表示されている6桁の認証コードを入力します</b>(全角数字・空白も可)。"
SESSION_FORM = "一時的な認証情報の取得フォーム"
SESSION_ALREADY = "一時的な認証情報は取得済みです。もう一度押しても何も変わりません。"
SESSION_GOT = "一時的な認証情報を取得しました(アクセスキーIDは {prefix} で始まります。有効期限 {expires})。"
UNKNOWN = "(不明)"
QR_UNREADABLE = (
    "組み込みの認証アプリ(HANDSON_AUTO_MFA=1)がQRコードファイル {file} を読めませんでした。"
    "QRコードファイルは手順2.1で保存したものです。後始末で削除していないか確認してください。"
)
SESSION_CANCELLED = "取得はキャンセルされました。このセルをもう一度実行すると再開できます。"
SESSION_FAILED = (
    "一時的な認証情報を取得できませんでした。フォームのメッセージを確認し、このセルをもう一度実行してください。"
)
CHECK_ASSIGNED = '仮想MFAデバイスがIAMユーザー"{user}"に割り当てられている'
NO_KEY_YET = (
    "アクセスキー(手順3.1)がまだ無いため、認証アプリの今の認証コードをAWSが受け付けることは、"
    "40_mfa_protected_access の一時的な認証情報の取得で確かめます"
    "(再同期が受け付けられたこと自体が、連続した2つの今の認証コードが正しかったことを示しています)。"
)
KEY_NOT_USERS = (
    "{file} のアクセスキーは、IAMユーザー\"{user}\"の有効なアクセスキーではありません"
    "(以前の実行で残ったファイルかもしれません)。認証アプリの今の認証コードをAWSが受け付けることは、"
    "31_create_access_key をもう一度実行したあと、40_mfa_protected_access の一時的な認証情報の取得で確かめます。"
)
WITH_KEY = (
    "手順3.1のアクセスキーで、認証アプリに今表示されている認証コードを使って一時的な認証情報を取得します"
    "(受け付けられれば、時刻は合っています)。"
)
CHECK_ACCEPTED = "認証アプリの今の認証コードをAWSが受け付ける"
CHECK_ACCEPTED_EXPECTED = "一時的な認証情報を取得できる"
GOT = "取得できた"
NOT_GOT = "取得できなかった"
CHECK_RESYNCED_HINT = (
    "「仮想MFAデバイスの再同期」のセルをもう一度実行し、"
    "認証アプリに連続して表示された2つの認証コードを入力してください。"
)
