"""The notebook-level steps: 設定値の指定, 設定値の確認 and 01's 準備 checks."""

TERMINAL_VARIABLES = "ターミナルで同じ変数を使う場合の変数の設定"
ROW_MISMATCH = "{number}. {label} ({name}): {reason}。「設定値の指定」の手順 {number} に戻って設定し直してください。"
SETTINGS_MISMATCH = (
    "設定値の確認で ✘ が {count} 件あります。「設定値の指定」に戻って直し、"
    "このノートブックを最初から実行し直してください。"
)
SETTINGS_MATCH = "すべての設定値が期待値と一致しています。"

PACKAGES_CHECK = "必要なPythonパッケージがそろっている"
PACKAGES_OK = "不足なし"
PACKAGES_MISSING = "不足: {missing} → ターミナルで `make setup` を実行し、カーネルを再起動してください"
PYTHON_CHECK = "Python 3.10 以上で動いている"
PYTHON_WANTED = "3.10 以上"
PYTHON_OLD = "古いPythonです → Python 3.10 以上で `make setup` をやり直してください"
TARGET_CHECK = "接続先が指定されている (HANDSON_TARGET)"
TARGET_WANTED = "sandbox または aws"
TARGET_BAD = "{target} → sandbox か aws を指定してJupyterLabを起動し直してください"
FOLDER_CHECK = "QRコードの保存先に、自分だけが書き込める"
FOLDER_BAD = "{problem} → DIR_MFA_OUTFILE を自分だけが書き込める場所(ホームディレクトリの下など)に変更してください"
ENVIRONMENT_HINT = "✘ の行の案内に従って直し、このノートブックを最初から実行し直してください。"

# make notebooks (run.py): what a stored notebook shows where a form ran
FORM_PLACEHOLDER = (
    "(実行すると、ここにQRコードと認証コードの入力欄が表示されます。"
    "保存されたノートブックには、QRコードも入力した認証コードも残りません。)"
)
FORM_SHOWN = "[フォーム表示]"
