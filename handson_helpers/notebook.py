"""Notebook-level helpers: friendly errors, 設定値の確認 and the 準備 checks."""

from __future__ import annotations

import importlib
import sys

from . import lite
from .display import SHOW
from .errors import HandsonError, install_notebook_handler, require_passed
from .safefs import folder_problem
from .settings import LABELS, PATH_SETTINGS, TARGETS, check, expand, load, mfa_outfile
from .shell import assign, ref
from .texts import notebook as texts
from .texts.common import VARIABLES_CHECK, VARIABLES_SET

PACKAGES = ("boto3", "ipywidgets", "jupyter_ui_poll", "pyotp", "qrcode", "PIL", "zxingcpp")
# The browser edition asks for the codes in text and draws the QR with pypng: what it never uses
NOT_IN_THE_BROWSER = ("jupyter_ui_poll", "PIL", "zxingcpp")
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
        "\n".join(
            assign(row.name, str(expand(row.actual)) if row.name in PATH_SETTINGS else row.actual) for row in rows
        ),
        label=texts.TERMINAL_VARIABLES,
    )
    SHOW.command("cat << END\n\n" + "\n".join(template) + "\n\nEND", "\n".join(printed), label=VARIABLES_CHECK)
    bad = [row for row in rows if not row.ok]
    for row in bad:
        label = ITEM_LABELS.get(row.name, row.name)
        SHOW.message(
            "error", texts.ROW_MISMATCH.format(number=row.number, label=label, name=row.name, reason=row.reason)
        )
    if bad:
        raise HandsonError(texts.SETTINGS_MISMATCH.format(count=len(bad)), "SettingMismatch")
    SHOW.message("success", texts.SETTINGS_MATCH)


def set_variables(**values: str) -> str:
    """設定値の指定 as the page writes it, for a terminal: each variable's 変数の設定, and
    FILE_MFA_OUTFILE derived from DIR_MFA_OUTFILE and MFA_DEVICE_NAME as the page does (returned)."""
    lines = [assign(name, str(expand(value)) if name in PATH_SETTINGS else value) for name, value in values.items()]
    outfile = mfa_outfile(values["DIR_MFA_OUTFILE"], values["MFA_DEVICE_NAME"])
    lines.append(
        'FILE_MFA_OUTFILE="${DIR_MFA_OUTFILE}/${MFA_DEVICE_NAME}.png"'
        f" \\\n  && echo {ref('FILE_MFA_OUTFILE', str(expand(outfile)))}"
    )
    SHOW.command("\n".join(lines), str(expand(outfile)), label=VARIABLES_SET)
    return outfile


def verify_environment(dir_mfa_outfile: str) -> None:
    """準備: check what the hands-on needs; each failed check says what to do."""
    missing = []
    for name in PACKAGES:
        if lite.ACTIVE and name in NOT_IN_THE_BROWSER:
            continue
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    packages = texts.PACKAGES_MISSING.format(missing=", ".join(missing)) if missing else texts.PACKAGES_OK
    ok_python = sys.version_info >= (3, 10)
    target = load().target
    problem = folder_problem(expand(dir_mfa_outfile))  # the same rule 21 applies before writing
    results = [
        SHOW.check(texts.PACKAGES_CHECK, texts.PACKAGES_OK, packages, not missing),
        SHOW.check(texts.PYTHON_CHECK, texts.PYTHON_WANTED, "OK" if ok_python else texts.PYTHON_OLD, ok_python),
        SHOW.check(
            texts.TARGET_CHECK,
            texts.TARGET_WANTED,
            target if target in TARGETS else texts.TARGET_BAD.format(target=target),
            target in TARGETS,
        ),
        SHOW.check(
            texts.FOLDER_CHECK,
            dir_mfa_outfile,
            dir_mfa_outfile if problem is None else texts.FOLDER_BAD.format(problem=problem),
            problem is None,
        ),
    ]
    require_passed(all(results), texts.ENVIRONMENT_HINT)


__all__ = ["HandsonError", "check_settings", "set_variables", "setup", "verify_environment"]
