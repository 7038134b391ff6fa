"""Notebook-level helpers: friendly errors, 設定値の確認 and the 準備 checks."""
from __future__ import annotations

import importlib
import os
import sys

from . import display
from .errors import HandsonError, install_notebook_handler, require_passed
from .settings import check, expand, require_valid

PACKAGES = ("boto3", "ipywidgets", "jupyter_ui_poll", "pyotp", "qrcode", "PIL", "zxingcpp")
ITEM_LABELS = {
    "IAM_USER_NAME": "IAMユーザー名",
    "IAM_USER_PATH": "IAMユーザーパス",
    "MFA_DEVICE_NAME": "仮想MFAデバイス名",
    "MFA_BOOTSTRAP_METHOD": "MFAブートストラップ方式",
    "DIR_MFA_OUTFILE": "MFAブートストラップ出力ファイル用ディレクトリ",
    "FILE_MFA_OUTFILE": "MFAブートストラップ出力ファイル名",
}


def setup() -> None:
    """Call once at the top of a notebook: HandsonError shows as a message, not a traceback."""
    install_notebook_handler()


def check_settings(**values: str) -> None:
    """設定値の確認: each variable's expected (upper) and actual (lower) value, mismatches named.

    A value that differs from the seed's is flagged; one that IAM would refuse stops Run All.
    """
    rows = check(values)
    lines = []
    for row in rows:
        mark = "✔" if row.ok else "✘"
        lines.append(f'  # {row.number}. {row.name}:"{row.expected}"\n  {mark}   {row.name}="{row.actual}"')
    display.command("cat << END\n\n" + "\n".join(lines) + "\n\nEND")
    bad = [row for row in rows if not row.ok]
    for row in bad:
        display.message(
            "error",
            f"{row.number}. {ITEM_LABELS.get(row.name, row.name)} ({row.name}): {row.reason}。"
            f"「設定値の指定」の手順 {row.number} に戻って設定し直してください。",
        )
    if not bad:
        display.message("success", "すべての設定値が期待値と一致しています。")
    require_valid(**{row.name: row.actual for row in rows})


def show_environment(dir_mfa_outfile: str) -> None:
    """準備: check what the hands-on needs; each failed check says what to do."""
    results = []
    missing = []
    for name in PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    results.append(
        display.check(
            "必要なPythonパッケージがそろっている",
            "不足なし",
            "不足なし" if not missing else "不足: " + ", ".join(missing) + " → ターミナルで `make setup` を実行し、カーネルを再起動してください",
            not missing,
        )
    )
    ok_python = sys.version_info >= (3, 10)
    results.append(display.check("Python 3.10 以上で動いている", "3.10 以上", "OK" if ok_python else "古いPythonです → Python 3.10 以上で `make setup` をやり直してください", ok_python))
    target = (os.environ.get("HANDSON_TARGET") or "sandbox").strip().lower()
    results.append(
        display.check(
            "接続先が指定されている (HANDSON_TARGET)",
            "sandbox または aws",
            target if target in ("sandbox", "aws") else f"{target} → sandbox か aws を指定してJupyterLabを起動し直してください",
            target in ("sandbox", "aws"),
        )
    )
    directory = expand(dir_mfa_outfile)
    parent = next((p for p in [directory, *directory.parents] if p.exists()), None)
    writable = parent is not None and os.access(parent, os.W_OK)
    results.append(
        display.check(
            "QRコードの保存先に書き込める",
            dir_mfa_outfile,
            dir_mfa_outfile if writable else f"{parent} に書き込めません → DIR_MFA_OUTFILE を書き込める場所に変更してください",
            writable,
        )
    )
    require_passed(all(results), "✘ の行の案内に従って直し、このノートブックを最初から実行し直してください。")


__all__ = ["HandsonError", "check_settings", "setup", "show_environment"]
