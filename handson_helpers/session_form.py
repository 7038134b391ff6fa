"""The 40 form: one code box and a button that calls GetSessionToken with the learner's code.

It only collects the code; getting the credentials is access.get_session_token. The typed code,
the session's secret and its token are never put into a widget's state: the box is emptied once
used, and what the form shows of the credentials is their ASIA prefix and their expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import ipywidgets as w

from .credentials import Keys
from .errors import HandsonError
from .mfa import Outcome
from .mfa_session import get_session_token, session_command, show_session
from .settings import expand
from .shell import continued, ref
from .target import Context
from .totp import authenticator_codes, secret_from_qr
from .widget import CODE_STYLE, CodeForm, _show_and_wait


class MfaCodeForm(CodeForm):
    """Countdown, the code box, the button and a status line."""

    def __init__(self, get_session: Callable[[str], Keys]):
        """``get_session`` gets the typed code (access.get_session_token bound to the key and device)."""
        self.get_session = get_session
        self.result: Outcome | None = None
        self.session: Keys | None = None
        self._busy = False
        self.countdown = w.HTML()
        self.code = w.Text(description="認証コード", placeholder="123456", style=CODE_STYLE, continuous_update=False)
        self.submit_button = w.Button(description="一時的な認証情報を取得", button_style="primary", icon="key", layout=w.Layout(width="auto"))
        self.cancel_button = w.Button(description="キャンセル")
        self.status = w.HTML()
        self.code.add_class("handson-token-code")
        self.submit_button.add_class("handson-get-session")
        self.status.add_class("handson-status")
        self.submit_button.on_click(self.submit)
        self.cancel_button.on_click(self.cancel)
        super().__init__(
            [
                w.HTML("<b>認証アプリ(手順2.2で登録したもの)に表示されている6桁の認証コードを入力します</b>(全角数字・空白も可)。"),
                self.countdown,
                self.code,
                w.HBox([self.submit_button, self.cancel_button]),
                self.status,
            ]
        )

    def __repr__(self) -> str:  # the text/plain of the output: never the code or the credentials
        return "一時的な認証情報の取得フォーム"

    def _finish(self, result: Outcome) -> None:
        self.result = result
        self.code.value = ""
        self.code.disabled = True
        self.cancel_button.disabled = True
        self.children = (self.submit_button, self.status)

    def submit(self, _button=None) -> None:
        """Get the session with the typed code; a click after success only says it is done."""
        if self._busy:
            return
        if self.session is not None:
            self._show("info", "一時的な認証情報は取得済みです。もう一度押しても何も変わりません。")
            return
        self._busy = True
        try:
            self.session = self.get_session(self.code.value)
        except HandsonError as exc:
            self._show("error", exc.message)
            self.code.value = ""
        else:
            expires = self.session.expiration.isoformat() if self.session.expiration else "(不明)"
            self._show("success", f"一時的な認証情報を取得しました(アクセスキーIDは {self.session.key_id[:4]} で始まります。有効期限 {expires})。")
            self._finish(Outcome.DONE)
        finally:
            self._busy = False

    def cancel(self, _button=None) -> None:
        self._show("warning", "キャンセルしました。再開するには、このセルをもう一度実行してください。")
        self._finish(Outcome.CANCELLED)

    def fill_from_qr(self, outfile: str) -> None:
        """The built-in authenticator: read the QR file as the phone did and type the current code
        (or the next one, when it typed the current one already)."""
        (self.code.value,) = authenticator_codes(secret_from_qr(expand(outfile)), 1)


async def session_with_form(ctx: Context, keys: Keys, serial: str, outfile: str, wait: bool = True) -> Keys | None:
    """40's GetSessionToken step: the learner types a code of the device; returns the session.

    A coroutine, awaited by the cell, for the same reason as 22's form (see widget.enable_with_form).
    """
    from IPython import get_ipython

    form = MfaCodeForm(partial(get_session_token, ctx, keys, serial))
    if ctx.settings.auto_mfa:
        try:
            form.fill_from_qr(outfile)
        except (OSError, HandsonError):
            raise HandsonError(
                f"組み込みの認証アプリ(HANDSON_AUTO_MFA=1)がQRコードファイル {outfile} を読めませんでした。QRコードファイルは手順2.1で保存したものです。後始末で削除していないか確認してください。",
                "QrFileMissing",
            ) from None
        form.submit()
    shell = get_ipython()
    if not await _show_and_wait(form, shell, wait, ctx):
        return None
    if form.session is not None:
        ctx.report.command(session_command(keys), form.session.expiration.isoformat() if form.session.expiration else "")
        show_session(ctx.report, form.session)
    elif form.result == Outcome.CANCELLED:
        ctx.report.message("warning", "取得はキャンセルされました。このセルをもう一度実行すると再開できます。")
    elif form.status.value:
        ctx.report.message("error", "一時的な認証情報を取得できませんでした。フォームのメッセージを確認し、このセルをもう一度実行してください。")
    return form.session


async def verify_resynced(ctx: Context, user_name: str, serial: str, key_file: str, outfile: str, wait: bool = True) -> None:
    """完了確認 of 23: the device is the user's, and AWS takes a code the app shows now.

    Only GetSessionToken checks one code, with the user's own access key (3.1): before 3.1 the
    second check is left to 40, and the step says so.
    """
    from .access_key import read_key_file
    from .errors import require_passed
    from .users import listed

    mine = [d["SerialNumber"] for d in listed(ctx, "list_mfa_devices", "MFADevices", UserName=user_name)]
    ctx.report.command(
        continued(
            "aws iam list-mfa-devices",
            f"  --user-name {ref('IAM_USER_NAME', user_name)}",
            "  --query 'MFADevices[].SerialNumber'",
            "  --output text",
        ),
        " ".join(mine),
    )
    results = [ctx.report.check(f'仮想MFAデバイスがIAMユーザー"{user_name}"に割り当てられている', serial, " ".join(mine) or "(なし)", serial in mine)]
    keys = read_key_file(expand(key_file))
    if keys is None:
        ctx.report.message(
            "info",
            "アクセスキー(手順3.1)がまだ無いため、認証アプリの今の認証コードをAWSが受け付けることは、"
            "40_mfa_protected_access の一時的な認証情報の取得で確かめます(再同期が受け付けられたこと自体が、連続した2つの今の認証コードが正しかったことを示しています)。",
        )
    else:
        ctx.report.message("info", "手順3.1のアクセスキーで、認証アプリに今表示されている認証コードを使って一時的な認証情報を取得します(受け付けられれば、時刻は合っています)。")
        session = await session_with_form(ctx, keys, serial, outfile, wait)
        results.append(ctx.report.check("認証アプリの今の認証コードをAWSが受け付ける", "一時的な認証情報を取得できる", "取得できた" if session else "取得できなかった", session is not None))
    require_passed(all(results), "「仮想MFAデバイスの再同期」のセルをもう一度実行し、認証アプリに連続して表示された2つの認証コードを入力してください。")
