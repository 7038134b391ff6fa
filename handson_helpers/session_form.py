"""The 40 form: one code box and a button that calls GetSessionToken with the learner's code.

It only collects the code; getting the credentials is access.get_session_token. The typed code,
the session's secret and its token are never put into a widget's state: the box is emptied once
used, and what the form shows of the credentials is their ASIA prefix and their expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import ipywidgets as w

from .cell_wait import show_and_wait
from .credentials import Keys
from .errors import HandsonError
from .mfa import Outcome
from .mfa_session import get_session_token, session_command, show_session
from .settings import expand
from .shell import continued, ref
from .target import Context
from .texts import forms as texts
from .texts.common import NONE
from .totp import authenticator_codes, secret_from_qr
from .widget import CODE_STYLE, CodeForm

# Refusals that another code (or the same one typed right) can mend; after any other the form ends.
ANOTHER_CODE_HELPS = ("InvalidMfaCode", "Throttling", "EmptyCode", "NotDigits", "WrongLength")


class MfaCodeForm(CodeForm):
    """Countdown, the code box, the button and a status line."""

    def __init__(self, get_session: Callable[[str], Keys]):
        """``get_session`` gets the typed code (access.get_session_token bound to the key and device)."""
        self.get_session = get_session
        self.result: Outcome | None = None
        self.session: Keys | None = None
        self._busy = False
        self.countdown = w.HTML()
        self.code = w.Text(
            description=texts.TOKEN_CODE, placeholder="123456", style=CODE_STYLE, continuous_update=False
        )
        self.submit_button = w.Button(
            description=texts.SESSION_BUTTON, button_style="primary", icon="key", layout=w.Layout(width="auto")
        )
        self.cancel_button = w.Button(description=texts.CANCEL_BUTTON)
        self.status = w.HTML()
        self.code.add_class("handson-token-code")
        self.boxes = (self.code,)
        self.submit_button.add_class("handson-get-session")
        self.status.add_class("handson-status")
        self.submit_button.on_click(self.submit)
        self.cancel_button.on_click(self.cancel)
        super().__init__(
            [
                w.HTML(texts.ONE_CODE),
                self.countdown,
                self.code,
                w.HBox([self.submit_button, self.cancel_button]),
                self.status,
            ]
        )

    def __repr__(self) -> str:  # the text/plain of the output: never the code or the credentials
        return texts.SESSION_FORM

    def _finish(self, result: Outcome) -> None:
        self.result = result
        self.code.value = ""
        self.code.disabled = True
        self.cancel_button.disabled = True
        self.children = (self.submit_button, self.status, *self.help)  # 解決した stays for an open call

    def submit(self, _button=None) -> None:
        """Get the session with the typed code; a click after success only says it is done."""
        if self._busy:
            return
        if self.session is not None:
            self._show("info", texts.SESSION_ALREADY)
            return
        self._busy = True
        try:
            self.session = self.get_session(self.code.value)
        except HandsonError as exc:
            self._show("error", exc.message)
            self.code.value = ""
            if exc.code not in ANOTHER_CODE_HELPS:
                self._finish(Outcome.FAILED)  # another code cannot help: the cell says what to do
        else:
            expires = self.session.expiration.isoformat() if self.session.expiration else texts.UNKNOWN
            self._show("success", texts.SESSION_GOT.format(prefix=self.session.key_id[:4], expires=expires))
            self._finish(Outcome.DONE)
        finally:
            self._busy = False

    def cancel(self, _button=None) -> None:
        self._show("warning", texts.CANCELLED)
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
            raise HandsonError(texts.QR_UNREADABLE.format(file=outfile), "QrFileMissing") from None
        form.submit()
    shell = get_ipython()
    if not await show_and_wait(form, shell, wait, ctx):
        return None
    if form.session is not None:
        expires = form.session.expiration.isoformat() if form.session.expiration else ""
        ctx.report.command(session_command(keys), expires)
        show_session(ctx.report, form.session)
    elif form.result == Outcome.CANCELLED:
        ctx.report.message("warning", texts.SESSION_CANCELLED)
    elif form.status.value:
        ctx.report.message("error", texts.SESSION_FAILED)
    return form.session


async def verify_resynced(
    ctx: Context, user_name: str, serial: str, key_file: str, outfile: str, wait: bool = True
) -> None:
    """完了確認 of 23: the device is the user's, and AWS takes a code the app shows now.

    Only GetSessionToken checks one code, with the user's own access key (3.1): before 3.1 the
    second check is left to 40, and the step says so.
    """
    from .access_key import read_key_file
    from .errors import require_passed
    from .users import list_keys, listed

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
    assigned = ctx.report.check(
        texts.CHECK_ASSIGNED.format(user=user_name), serial, " ".join(mine) or NONE, serial in mine
    )
    results = [assigned]
    keys = read_key_file(expand(key_file))
    if keys is None:
        ctx.report.message("info", texts.NO_KEY_YET)
    elif not any(k["AccessKeyId"] == keys.key_id and k["Status"] == "Active" for k in list_keys(ctx, user_name)):
        ctx.report.message("warning", texts.KEY_NOT_USERS.format(file=key_file, user=user_name))
    else:
        ctx.report.message("info", texts.WITH_KEY)
        session = await session_with_form(ctx, keys, serial, outfile, wait)
        got = texts.GOT if session else texts.NOT_GOT
        results.append(ctx.report.check(texts.CHECK_ACCEPTED, texts.CHECK_ACCEPTED_EXPECTED, got, session is not None))
    require_passed(all(results), texts.CHECK_RESYNCED_HINT)
