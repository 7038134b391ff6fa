"""The 2.2 form: QR code inline, two code boxes, one button; 23 uses the same form without the QR.
It only collects input: enabling is mfa.enable_mfa_device and resyncing mfa.resync_mfa_device,
which take the two codes as arguments."""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable
from functools import partial

import ipywidgets as w

from . import help_button, lite
from .cell_wait import images_stall_input, show_and_wait, wait_mode
from .display import STYLES, Silent
from .errors import HandsonError
from .mfa import (
    QR_LOST,
    Outcome,
    device_name_of,
    enable_check_lines,
    enable_command,
    enable_mfa_device,
    get_device,
    qr_problem,
    recreate_virtual_mfa_device,
    require_assigned,
    resync_command,
    resync_mfa_device,
)
from .safefs import PNG_SIGNATURE, read_bootstrap
from .settings import expand
from .target import Context
from .texts import forms as texts
from .totp import authenticator_codes, normalize_code, seconds_left, secret_from_qr
from .users import get_user

CODE_STYLE = {"description_width": "150px"}


# Refusals that other codes (or the same ones typed right) can mend; after any other the form ends,
# rather than asking again for codes that every try refuses.
ANOTHER_PAIR_HELPS = ("InvalidAuthenticationCode", "Throttling", "EmptyCode", "NotDigits", "WrongLength", "SameCode")


class CodeForm(w.VBox):
    """What the code forms of 22 and 40 share: a countdown to the next code, a status line, and a
    result that a waiting cell polls (set last, as the click may be handled on another thread)."""

    boxes: tuple[w.Text, ...] = ()
    said: tuple[str, str] | None = None  # the status line's last (kind, text), for the typed fallback

    def __init__(self, children):
        self.tick()
        self.help = help_button.widgets()  # 先生を呼ぶ, on a hub
        super().__init__([*children, *self.help])

    @property
    def finished(self) -> bool:
        return self.result is not None

    def tick(self) -> None:
        if not self.finished:
            self.countdown.value = texts.COUNTDOWN.format(seconds=seconds_left())

    def _show(self, kind: str, text: str) -> None:
        background, color, mark = STYLES[kind]
        style = f"background:{background};color:{color};padding:6px 10px;border-radius:4px"
        self.status.value = f'<div style="{style}">{mark} {html.escape(text)}</div>'
        self.said = (kind, text)

    def type_in(self, ask: Callable[[str], str]) -> None:
        """One round of the typed fallback (cell_wait): each box asked in turn, then the button's
        work, with the same checks and messages; an empty first answer cancels."""
        for box in self.boxes:
            box.value = ask(f"{box.description}: ")
            if box is self.boxes[0] and not box.value.strip():
                self.cancel()
                return
        self.submit()


def _how(serial: str, bootstrap: bytes, resync: bool) -> str:
    """How to set up the app: scan the QR, type the key, or (23) use the device registered at 2.2."""
    device = html.escape(device_name_of(serial))
    if resync:
        return texts.RESYNC_HOW.format(device=device)
    if bootstrap.startswith(PNG_SIGNATURE):
        return texts.QR_HOW
    return texts.KEY_HOW.format(device=device)


def _grouped_key(bootstrap: bytes) -> str:
    """Base32StringSeed: the key the learner types into the app instead of scanning a QR."""
    key = bootstrap.decode("ascii").strip()
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


class SecretView(w.HTML):
    """The QR (or key) as HTML: an output that shows it on its own says only what it is in text."""

    text = texts.QR_TEXT

    def __repr__(self) -> str:
        return self.text


def _secret_view(bootstrap: bytes) -> w.Widget:
    """The QR (or key) as a widget, which is emptied and closed when the form ends. In the browser
    edition the QR is drawn again from the file as SVG (lite/qr.py): no pillow there."""
    if bootstrap.startswith(PNG_SIGNATURE) and not lite.ACTIVE:
        view: w.Widget = w.Image(value=bootstrap, format="png", width=240, height=240)
    elif bootstrap.startswith(PNG_SIGNATURE):
        from .lite.qr import svg_of_png

        view = SecretView(svg_of_png(bootstrap))
    else:
        view = SecretView(f"<pre style='font-size:120%'>{html.escape(_grouped_key(bootstrap))}</pre>")
        view.text = texts.KEY_TEXT
    view.add_class("handson-qr")
    return view


class MfaEnableForm(CodeForm):
    """QR, countdown, code boxes, the enable button and a status line; for 23 (``resync``) the
    same form without the QR, whose button resyncs."""

    def __init__(
        self, user_name: str, serial: str, bootstrap: bytes, enable: Callable[[str, str], Outcome], resync: bool = False
    ):
        """``enable`` gets the two typed codes (e.g. mfa.enable_mfa_device bound to a Context)."""
        self.user_name, self.serial, self.enable, self.resync = user_name, serial, enable, resync
        self.result: Outcome | None = None
        self._busy = False
        # The QR (or key) becomes a widget only once the front end has answered (reveal): where
        # the form's messages do not come back, it is shown as an output that is removed again.
        self.bootstrap = b"" if resync else bootstrap
        self.image: w.Widget | None = None
        how = _how(serial, bootstrap, resync)
        self.countdown = w.HTML()
        # Sync on change (blur or Enter), not per keystroke: the browser throttles keystroke
        # updates while the kernel is busy waiting, and a click could overtake the last digits.
        self.code1 = w.Text(description=texts.CODE1, placeholder="123456", style=CODE_STYLE, continuous_update=False)
        self.code2 = w.Text(description=texts.CODE2, placeholder="654321", style=CODE_STYLE, continuous_update=False)
        self.confirm = w.HTML()
        self.enable_button = w.Button(
            description=texts.RESYNC_BUTTON if resync else texts.ENABLE_BUTTON,
            button_style="primary",
            icon="refresh" if resync else "check",
        )
        self.cancel_button = w.Button(description=texts.CANCEL_BUTTON)
        self.status = w.HTML()
        self.enable_button.on_click(self.submit)
        self.cancel_button.on_click(self.cancel)
        self.code1.observe(self._update_confirm, "value")
        self.code2.observe(self._update_confirm, "value")
        self.code1.add_class("handson-code1")
        self.code2.add_class("handson-code2")
        self.boxes = (self.code1, self.code2)
        self.status.add_class("handson-status")
        self.enable_button.add_class("handson-resync" if resync else "handson-enable")
        self._update_confirm()
        self.body = [
            w.HTML(how),
            self.countdown,
            w.HTML(texts.TWO_CODES),
            self.code1,
            self.code2,
            self.confirm,
            w.HBox([self.enable_button, self.cancel_button]),
            self.status,
        ]
        super().__init__(self.body)

    def __repr__(self) -> str:  # the text/plain of the output: never the QR or the codes
        return texts.RESYNC_FORM if self.resync else texts.ENABLE_FORM

    def reveal(self) -> None:
        """Show the QR (or key) in the form, for a front end that delivers the form's clicks."""
        if self.image is not None or self.finished or not self.bootstrap:
            return
        self.image = _secret_view(self.bootstrap)
        how, *rest = self.body
        self.children = (how, self.image, *rest, *self.help)

    def secret_widget(self) -> w.Widget | None:
        """The QR (or key) as a widget of its own, for the browser edition's typed fallback, where
        outputs (saved with the notebook) must never hold it; _finish empties and closes it."""
        if self.image is not None or self.finished or not self.bootstrap:
            return None
        self.image = _secret_view(self.bootstrap)
        return self.image

    def secret_bundle(self) -> dict | None:
        """The QR (or key) as an output's data, for the typed fallback, which removes it again; the
        QR's key as text where an image would stall the input that follows (Colab)."""
        if self.finished or not self.bootstrap:
            return None
        if not self.bootstrap.startswith(PNG_SIGNATURE):
            return {"text/plain": _grouped_key(self.bootstrap)}
        if images_stall_input():
            key = secret_from_qr(self.bootstrap).encode("ascii")
            return {"text/plain": texts.KEY_INSTEAD.format(device=device_name_of(self.serial)) + _grouped_key(key)}
        return {"image/png": base64.b64encode(self.bootstrap).decode("ascii"), "text/plain": texts.QR_TEXT}

    def _update_confirm(self, _change=None) -> None:
        """The page's 変数の確認 block, live: the codes only as 'entered' or not, never their digits."""

        def state(value: str) -> str:
            code = normalize_code(value)
            return texts.CODE_TYPED if len(code) == 6 and code.isdigit() else texts.CODE_NOT_TYPED

        lower = {
            "IAM_USER_NAME": f'"{self.user_name}"',
            "MFA_DEVICE_SERIAL": f'"{self.serial}"',
            "MFA_AUTH_CODE1": state(self.code1.value),
            "MFA_AUTH_CODE2": state(self.code2.value),
        }
        upper = enable_check_lines(self.user_name, self.serial)
        lines = "\n".join(f'  # {name}:"{value}"\n    {name}={lower[name]}' for name, value in upper)
        self.confirm.value = f"<pre style='margin:4px 0'>{html.escape(lines)}</pre>"

    def _finish(self, result: Outcome) -> None:
        self.bootstrap = b""
        if self.image is not None:
            self.image.value = b"" if isinstance(self.image, w.Image) else ""
        for box in (self.code1, self.code2):
            box.value = ""
            box.disabled = True
        self.cancel_button.disabled = True
        # Only the button (a second click says it is done), the status and 先生を呼ぶ (its 解決した ends a
        # call made while the form was open) stay on screen.
        self.children = (self.enable_button, self.status, *self.help)
        if self.image is not None:
            self.image.close()  # no QR (or key) model is left for a saved widget state to capture
        # Last: the waiting cell, maybe on another thread, goes on once the QR is gone.
        self.result = result

    def submit(self, _button=None) -> None:
        """Enable with the typed codes; a click after success only says it is done."""
        if self._busy:
            return
        self._busy = True
        try:
            outcome = self.enable(self.code1.value, self.code2.value)
        except HandsonError as exc:
            self._show("error", exc.message)
            if exc.code in ("InvalidAuthenticationCode", "Throttling"):
                self.code1.value = self.code2.value = ""
            elif exc.code not in ANOTHER_PAIR_HELPS:
                self._finish(Outcome.FAILED)  # no pair of codes can mend it: the cell says what to do
        else:
            if outcome == Outcome.ENABLED:
                self._show("success", texts.ENABLED)
            elif outcome == Outcome.RESYNCED:
                self._show("success", texts.RESYNCED)
            else:
                self._show("info", texts.ALREADY)
            if not self.finished:
                self._finish(outcome)
        finally:
            self._busy = False

    def cancel(self, _button=None) -> None:
        self._show("warning", texts.CANCELLED)
        self._finish(Outcome.CANCELLED)

    def fill_from_qr(self, outfile: str) -> None:
        """The built-in authenticator: read the QR file and type two consecutive codes."""
        self.code1.value, self.code2.value = authenticator_codes(secret_from_qr(expand(outfile)), 2)


class RecreateOffer(w.VBox):
    """The QR file is lost and the device unassigned: offer to delete and create it again."""

    said: tuple[str, str] | None = None

    def __init__(self, outfile: str, recreate: Callable[[], object]):
        """``recreate`` deletes and creates the device again (mfa.recreate_virtual_mfa_device, bound)."""
        self.recreate_device = recreate
        self.result: Outcome | None = None
        self.recreate_button = w.Button(
            description=texts.RECREATE_BUTTON, button_style="warning", icon="refresh", layout=w.Layout(width="auto")
        )
        self.cancel_button = w.Button(description=texts.CANCEL_BUTTON)
        self.status = w.HTML()
        self.recreate_button.add_class("handson-recreate")
        self.recreate_button.on_click(self.recreate)
        self.cancel_button.on_click(self.cancel)
        text = texts.RECREATE_OFFER.format(file=outfile)
        buttons = w.HBox([self.recreate_button, self.cancel_button])
        super().__init__([w.HTML(f"⚠ {html.escape(text)}"), buttons, self.status])

    def __repr__(self) -> str:
        return texts.RECREATE_FORM

    @property
    def finished(self) -> bool:
        return self.result is not None

    def recreate(self, _button=None) -> None:
        try:
            self.recreate_device()
        except HandsonError as exc:
            self.status.value = f"✘ {html.escape(exc.message)}"
            self.said = ("error", exc.message)
            return
        self.said = ("success", texts.RECREATED)
        self.status.value = texts.RECREATED
        self.recreate_button.disabled = self.cancel_button.disabled = True
        self.result = Outcome.RECREATED

    def cancel(self, _button=None) -> None:
        self.recreate_button.disabled = self.cancel_button.disabled = True
        self.result = Outcome.CANCELLED

    def type_in(self, ask: Callable[[str], str]) -> None:
        """The typed fallback (cell_wait): y recreates, anything else cancels."""
        if ask(texts.RECREATE_ASK).strip().lower() in ("y", "yes", "ｙ"):
            self.recreate()
        else:
            self.cancel()


def _require_enablable(ctx: Context, user_name: str, serial: str, cli: str) -> bool:
    """Before the learner types anything: the device and the user are there, the device is free.
    True when it is enabled for this user already (said, with the command)."""
    device = get_device(ctx, serial)
    if device and device.get("User", {}).get("UserName") == user_name:
        ctx.report.command(cli)
        ctx.report.message("info", texts.ALREADY_ENABLED.format(user=user_name))
        return True
    if device is None:
        raise HandsonError(texts.NO_DEVICE.format(device=serial), "NoDevice")
    if device.get("User"):
        raise HandsonError(texts.ASSIGNED_ELSEWHERE.format(user=device["User"]["UserName"]), "AssignedElsewhere")
    if get_user(ctx, user_name) is None:
        raise HandsonError(texts.NO_USER.format(user=user_name), "NoUser")
    return False


async def _offer_recreate(ctx: Context, serial: str, outfile: str, shell, wait: bool) -> bool:
    """The QR file is not the kit's: offer to recreate the unassigned device where a learner can
    click; elsewhere say what to run. False when the learner cancelled."""
    device_name = device_name_of(serial)
    problem = qr_problem(outfile)
    if not problem:
        return True
    if ctx.settings.auto_mfa or not wait or wait_mode(shell) is None or os.path.lexists(expand(outfile)):
        raise HandsonError(QR_LOST.format(name=device_name, file=outfile, problem=problem), "QrFileMissing")
    # The offer says itself that the device was recreated: the step's own report is kept, not shown.
    recreate = partial(recreate_virtual_mfa_device, ctx.with_report(Silent()), device_name, outfile)
    offer = RecreateOffer(outfile, recreate)
    await show_and_wait(offer, shell, wait, ctx)
    if offer.result != Outcome.RECREATED:
        ctx.report.message("warning", texts.RECREATE_CANCELLED)
        return False
    return True


async def enable_with_form(ctx: Context, user_name: str, serial: str, outfile: str, wait: bool = True) -> str:
    """Section 2.2's enable step: show the form and wait until enabled or cancelled.

    A coroutine, awaited by the cell (``await hh.enable_with_form(...)``): on ipykernel >= 7.4
    only a cell that awaits receives the clicks while it waits.
    """
    from IPython import get_ipython

    cli = enable_command(user_name, serial)
    if _require_enablable(ctx, user_name, serial, cli):
        return Outcome.ALREADY
    shell = get_ipython()
    if not await _offer_recreate(ctx, serial, outfile, shell, wait):
        return Outcome.CANCELLED
    enable = partial(enable_mfa_device, ctx, user_name, serial)
    form = MfaEnableForm(user_name, serial, read_bootstrap(expand(outfile)) or b"", enable)
    if ctx.settings.auto_mfa:
        form.fill_from_qr(outfile)
        form.submit()
    if not await show_and_wait(form, shell, wait, ctx):
        return ""
    if form.result in (Outcome.ENABLED, Outcome.ALREADY):
        ctx.report.command(cli, "")
        ctx.report.message("success", texts.ENABLE_DONE)
    elif form.result == Outcome.CANCELLED:
        ctx.report.message("warning", texts.ENABLE_CANCELLED)
    elif form.status.value:
        ctx.report.message("error", texts.ENABLE_FAILED)
    return form.result or ""


async def resync_with_form(ctx: Context, user_name: str, serial: str, outfile: str, wait: bool = True) -> str:
    """23's resync step: 22's form without the QR; waits until resynced or cancelled.

    ``outfile`` is 2.1's QR file, read only by the built-in authenticator (HANDSON_AUTO_MFA).
    """
    from IPython import get_ipython

    require_assigned(ctx, user_name, serial)  # before the learner types anything
    resync = partial(resync_mfa_device, ctx, user_name, serial)
    form = MfaEnableForm(user_name, serial, b"", resync, resync=True)
    if ctx.settings.auto_mfa:
        form.fill_from_qr(outfile)
        form.submit()
    if not await show_and_wait(form, get_ipython(), wait, ctx):
        return ""
    if form.result == Outcome.RESYNCED:
        ctx.report.command(resync_command(user_name, serial), "")
        ctx.report.message("success", texts.RESYNC_DONE)
    elif form.result == Outcome.CANCELLED:
        ctx.report.message("warning", texts.RESYNC_CANCELLED)
    elif form.status.value:
        ctx.report.message("error", texts.RESYNC_FAILED)
    return form.result or ""
