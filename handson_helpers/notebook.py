"""Notebook-level helpers: friendly errors, 設定値の確認 and the 準備 checks."""

from __future__ import annotations

import importlib
import os
import sys

from .display import SHOW
from .errors import HandsonError, install_notebook_handler, require_passed
from .safefs import folder_problem
from .settings import LABELS, PATH_SETTINGS, check, expand, mfa_outfile
from .shell import assign, ref

PACKAGES = ("boto3", "ipywidgets", "jupyter_ui_poll", "pyotp", "qrcode", "PIL", "zxingcpp")
ITEM_LABELS = LABELS


def setup() -> None:
    """Call once at the top of a notebook: HandsonError shows as a message, not a traceback."""
    install_notebook_handler()


def check_settings(**values: str) -> None:
    """設定値の確認 as on the page: the `cat << END` listing (expected upper line, actual lower line).

    Any ✘ stops Run All with the item to go back to; the variables are also shown as bash
    assignments, safe to paste into a terminal.
    """
    rows = check(values)
    template, printed = [], []
    for row in rows:
        template += [f'  # {row.number}. {row.name}:"{row.expected}"', f'       {row.name}="${{{row.name}}}"']
        shown = str(expand(row.actual)) if row.name in PATH_SETTINGS else row.actual
        printed += [
            f'  # {row.number}. {row.name}:"{expand(row.expected) if row.name in PATH_SETTINGS else row.expected}"',
            f'       {row.name}="{shown}"   {"✔" if row.ok else f"✘ {row.reason}"}',
        ]
    SHOW.command(
        "\n".join(assign(row.name, str(expand(row.actual)) if row.name in PATH_SETTINGS else row.actual) for row in rows),
        label="ターミナルで同じ変数を使う場合の変数の設定",
    )
    SHOW.command("cat << END\n\n" + "\n".join(template) + "\n\nEND", "\n".join(printed), label="変数の確認")
    bad = [row for row in rows if not row.ok]
    for row in bad:
        SHOW.message(
            "error",
            f"{row.number}. {ITEM_LABELS.get(row.name, row.name)} ({row.name}): {row.reason}。「設定値の指定」の手順 {row.number} に戻って設定し直してください。",
        )
    if bad:
        raise HandsonError(
            f"設定値の確認で ✘ が {len(bad)} 件あります。「設定値の指定」に戻って直し、このノートブックを最初から実行し直してください。",
            "SettingMismatch",
        )
    SHOW.message("success", "すべての設定値が期待値と一致しています。")


def set_variables(**values: str) -> str:
    """設定値の指定 as the page writes it, for a terminal: each variable's 変数の設定, and
    FILE_MFA_OUTFILE derived from DIR_MFA_OUTFILE and MFA_DEVICE_NAME as the page does (returned)."""
    lines = [assign(name, str(expand(value)) if name in PATH_SETTINGS else value) for name, value in values.items()]
    outfile = mfa_outfile(values["DIR_MFA_OUTFILE"], values["MFA_DEVICE_NAME"])
    lines.append(f'FILE_MFA_OUTFILE="${{DIR_MFA_OUTFILE}}/${{MFA_DEVICE_NAME}}.png" \\\n  && echo {ref("FILE_MFA_OUTFILE", str(expand(outfile)))}')
    SHOW.command("\n".join(lines), str(expand(outfile)), label="変数の設定")
    return outfile


def verify_environment(dir_mfa_outfile: str) -> None:
    """準備: check what the hands-on needs; each failed check says what to do."""
    results = []
    missing = []
    for name in PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    results.append(
        SHOW.check(
            "必要なPythonパッケージがそろっている",
            "不足なし",
            "不足なし" if not missing else "不足: " + ", ".join(missing) + " → ターミナルで `make setup` を実行し、カーネルを再起動してください",
            not missing,
        )
    )
    ok_python = sys.version_info >= (3, 10)
    results.append(SHOW.check("Python 3.10 以上で動いている", "3.10 以上", "OK" if ok_python else "古いPythonです → Python 3.10 以上で `make setup` をやり直してください", ok_python))
    target = (os.environ.get("HANDSON_TARGET") or "sandbox").strip().lower()
    results.append(
        SHOW.check(
            "接続先が指定されている (HANDSON_TARGET)",
            "sandbox または aws",
            target if target in ("sandbox", "aws") else f"{target} → sandbox か aws を指定してJupyterLabを起動し直してください",
            target in ("sandbox", "aws"),
        )
    )
    problem = folder_problem(expand(dir_mfa_outfile))  # the same rule 21 applies before writing
    results.append(
        SHOW.check(
            "QRコードの保存先に、自分だけが書き込める",
            dir_mfa_outfile,
            dir_mfa_outfile if problem is None else f"{problem} → DIR_MFA_OUTFILE を自分だけが書き込める場所(ホームディレクトリの下など)に変更してください",
            problem is None,
        )
    )
    require_passed(all(results), "✘ の行の案内に従って直し、このノートブックを最初から実行し直してください。")


__all__ = ["HandsonError", "check_settings", "set_variables", "setup", "verify_environment"]
