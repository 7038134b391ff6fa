"""The 2.2 form: QR code inline, two code boxes, one button; 23 uses the same form without the QR.
It only collects input: enabling is mfa.enable_mfa_device and resyncing mfa.resync_mfa_device,
which take the two codes as arguments."""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import threading
from collections.abc import Callable
from functools import partial

import ipywidgets as w

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
from .totp import authenticator_codes, normalize_code, seconds_left, secret_from_qr
from .users import get_user

CODE_STYLE = {"description_width": "150px"}


class CodeForm(w.VBox):
    """What the code forms of 22 and 40 share: a countdown to the next code, a status line, and a
    result that a waiting cell polls (set last, as the click may be handled on another thread)."""

    def __init__(self, children):
        self.tick()
        super().__init__(children)

    @property
    def finished(self) -> bool:
        return self.result is not None

    def tick(self) -> None:
        if not self.finished:
            self.countdown.value = f"現在の認証コードが切り替わるまで: <b>{seconds_left()}</b> 秒"

    def _show(self, kind: str, text: str) -> None:
        background, color, mark = STYLES[kind]
        self.status.value = f'<div style="background:{background};color:{color};padding:6px 10px;border-radius:4px">{mark} {html.escape(text)}</div>'


class MfaEnableForm(CodeForm):
    """QR, countdown, code boxes, the enable button and a status line; for 23 (``resync``) the
    same form without the QR, whose button resyncs."""

    def __init__(self, user_name: str, serial: str, bootstrap: bytes, enable: Callable[[str, str], Outcome], resync: bool = False):
        """``enable`` gets the two typed codes (e.g. mfa.enable_mfa_device bound to a Context)."""
        self.user_name, self.serial, self.enable, self.resync = user_name, serial, enable, resync
        self.result: Outcome | None = None
        self._busy = False
        if resync:  # the app registered the device at 2.2: no QR or key is shown again
            self.image = w.HTML()
            how = f"<b>① 認証アプリで、手順2.2で登録したMFAデバイス(アカウント名 {html.escape(device_name_of(serial))}@…)の認証コードを表示します。</b>"
        elif bootstrap.startswith(PNG_SIGNATURE):
            self.image = w.Image(value=bootstrap, format="png", width=240, height=240)
            how = "<b>① 認証アプリ(スマートフォンのアプリ等)でこのQRコードを読み取ります。</b>"
        else:  # Base32StringSeed: the key is typed into the app instead of scanning a QR
            key = bootstrap.decode("ascii").strip()
            grouped = " ".join(key[i : i + 4] for i in range(0, len(key), 4))
            self.image = w.HTML(f"<pre style='font-size:120%'>{html.escape(grouped)}</pre>")
            how = f"<b>① 認証アプリで「キーを手動で入力」(セットアップキーを入力)を選び、次のキーを入力します。</b>アカウント名は {html.escape(device_name_of(serial))}、種類は「時間ベース」です。"
        self.countdown = w.HTML()
        # Sync on change (blur or Enter), not per keystroke: the browser throttles keystroke
        # updates while the kernel is busy waiting, and a click could overtake the last digits.
        self.code1 = w.Text(description="認証コード(1回目)", placeholder="123456", style=CODE_STYLE, continuous_update=False)
        self.code2 = w.Text(description="認証コード(2回目)", placeholder="654321", style=CODE_STYLE, continuous_update=False)
        self.confirm = w.HTML()
        self.enable_button = w.Button(description="MFAデバイスを再同期" if resync else "MFAを有効化", button_style="primary", icon="refresh" if resync else "check")
        self.cancel_button = w.Button(description="キャンセル")
        self.status = w.HTML()
        self.enable_button.on_click(self.submit)
        self.cancel_button.on_click(self.cancel)
        self.code1.observe(self._update_confirm, "value")
        self.code2.observe(self._update_confirm, "value")
        self.code1.add_class("handson-code1")
        self.code2.add_class("handson-code2")
        self.image.add_class("handson-qr")
        self.status.add_class("handson-status")
        self.enable_button.add_class("handson-resync" if resync else "handson-enable")
        self._update_confirm()
        super().__init__(
            [
                w.HTML(how),
                self.image,
                self.countdown,
                w.HTML("<b>② アプリに<u>連続して</u>表示された6桁の認証コードを2つ入力します</b>(全角数字・空白も可)。"),
                self.code1,
                self.code2,
                self.confirm,
                w.HBox([self.enable_button, self.cancel_button]),
                self.status,
            ]
        )

    def __repr__(self) -> str:  # the text/plain of the output: never the QR or the codes
        return "仮想MFAデバイス再同期フォーム" if self.resync else "仮想MFAデバイス有効化フォーム"

    def _update_confirm(self, _change=None) -> None:
        """The page's 変数の確認 block, live: the codes only as 'entered' or not, never their digits."""

        def state(value: str) -> str:
            code = normalize_code(value)
            return "(6桁入力済み)" if len(code) == 6 and code.isdigit() else "(未入力または6桁ではありません)"

        lower = {
            "IAM_USER_NAME": f'"{self.user_name}"',
            "MFA_DEVICE_SERIAL": f'"{self.serial}"',
            "MFA_AUTH_CODE1": state(self.code1.value),
            "MFA_AUTH_CODE2": state(self.code2.value),
        }
        lines = "\n".join(f'  # {name}:"{value}"\n    {name}={lower[name]}' for name, value in enable_check_lines(self.user_name, self.serial))
        self.confirm.value = f"<pre style='margin:4px 0'>{html.escape(lines)}</pre>"

    def _finish(self, result: Outcome) -> None:
        self.image.value = b"" if isinstance(self.image, w.Image) else ""
        for box in (self.code1, self.code2):
            box.value = ""
            box.disabled = True
        self.cancel_button.disabled = True
        # Only the button (a second click says it is done) and the status stay on screen.
        self.children = (self.enable_button, self.status)
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
        else:
            if outcome == Outcome.ENABLED:
                self._show("success", "仮想MFAデバイスを有効化しました。QRコードの表示を消しました。")
            elif outcome == Outcome.RESYNCED:
                self._show("success", "仮想MFAデバイスを再同期しました。AWSは、認証アプリに今表示される認証コードを受け付けます。")
            else:
                self._show("info", "このデバイスは既に有効化されています。もう一度押しても何も変わりません。")
            if not self.finished:
                self._finish(outcome)
        finally:
            self._busy = False

    def cancel(self, _button=None) -> None:
        self._show("warning", "キャンセルしました。再開するには、このセルをもう一度実行してください。")
        self._finish(Outcome.CANCELLED)

    def fill_from_qr(self, outfile: str) -> None:
        """The built-in authenticator: read the QR file and type two consecutive codes."""
        self.code1.value, self.code2.value = authenticator_codes(secret_from_qr(expand(outfile)), 2)


class RecreateOffer(w.VBox):
    """The QR file is lost and the device unassigned: offer to delete and create it again."""

    def __init__(self, outfile: str, recreate: Callable[[], object]):
        """``recreate`` deletes and creates the device again (mfa.recreate_virtual_mfa_device, bound)."""
        self.recreate_device = recreate
        self.result: Outcome | None = None
        self.recreate_button = w.Button(description="仮想MFAデバイスを作り直す", button_style="warning", icon="refresh", layout=w.Layout(width="auto"))
        self.cancel_button = w.Button(description="キャンセル")
        self.status = w.HTML()
        self.recreate_button.add_class("handson-recreate")
        self.recreate_button.on_click(self.recreate)
        self.cancel_button.on_click(self.cancel)
        text = (
            f"QRコードファイル {outfile} がありません。AWSはQRコード(シード)を作成時の一度しか返さないため、"
            "再表示はできません。デバイスはまだ有効化されていないので、作り直しても失うものはありません。"
            "作り直すと新しいQRコードが表示されます(認証アプリに古い登録があれば削除してください)。"
        )
        super().__init__([w.HTML(f"⚠ {html.escape(text)}"), w.HBox([self.recreate_button, self.cancel_button]), self.status])

    def __repr__(self) -> str:
        return "仮想MFAデバイス作り直しの確認"

    @property
    def finished(self) -> bool:
        return self.result is not None

    def recreate(self, _button=None) -> None:
        try:
            self.recreate_device()
        except HandsonError as exc:
            self.status.value = f"✘ {html.escape(exc.message)}"
            return
        self.status.value = "✔ 作り直しました。下に新しいQRコードを表示します。"
        self.recreate_button.disabled = self.cancel_button.disabled = True
        self.result = Outcome.RECREATED

    def cancel(self, _button=None) -> None:
        self.recreate_button.disabled = self.cancel_button.disabled = True
        self.result = Outcome.CANCELLED


def _wait_mode(shell) -> str | None:
    """How this kernel lets a cell wait for clicks: "poll" on ipykernel 6 (jupyter-ui-poll pumps
    its queue), "await" on ipykernel >= 7.4 (it hands comm messages to a cell that awaits),
    None where neither works (ipykernel 7.0-7.3, no kernel)."""
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return None
    if callable(getattr(kernel, "do_one_iteration", None)):
        return "poll"
    from ipykernel import version_info

    return "await" if version_info[:2] >= (7, 4) else None


@contextlib.contextmanager
def _comms_on_the_main_shell(kernel):
    """While the cell awaits on ipykernel 7.4, handle the form's messages as the front end expects.

    In order: 7.4 routes a widget's next message to the subshell of the message during which the
    kernel last changed that widget, so after a wrong code the boxes' updates would go to
    JupyterLab's widget subshell while the click stays on the main shell, and the click could be
    handled first. Handled without that subshell id, every message of the form comes to the main
    shell, one after another. And with an idle status: 7.4 sends none for a comm message handled
    while a cell holds the main shell, and ipywidgets' front end sends a widget's next change only
    after it, so a code box would otherwise sync only once.
    """
    handler = kernel.shell_handlers["comm_msg"]

    def handle(stream, ident, msg):
        msg["header"].pop("subshell_id", None)
        try:
            handler(stream, ident, msg)
        finally:
            if threading.current_thread() is threading.main_thread():  # a subshell sends its own
                kernel.session.send(kernel.iopub_socket, "status", {"execution_state": "idle"}, parent=msg, ident=kernel._topic("status"))

    kernel.shell_handlers["comm_msg"] = handle
    try:
        yield
    finally:
        kernel.shell_handlers["comm_msg"] = handler


async def _wait(widget, shell, mode: str) -> None:
    """Keep the cell running (so Run All waits) until the widget is finished.

    A flag, not a Future: on ipykernel 7 a click may be handled on another thread.
    """
    tick = getattr(widget, "tick", lambda: None)
    if mode == "poll":
        from jupyter_ui_poll import ui_events

        async with ui_events() as poll:  # holds back the next cells until this one ends
            while not widget.finished:
                await poll(20)
                tick()
                await asyncio.sleep(0.1)
        return
    with _comms_on_the_main_shell(shell.kernel):
        while not widget.finished:
            tick()
            await asyncio.sleep(0.1)


async def _show_and_wait(widget, shell, wait: bool, ctx: Context) -> bool:
    """Display the widget; wait for it where the kernel allows. False if the cell cannot wait.

    With HANDSON_AUTO_MFA=1 (ctx.settings.auto_mfa) the built-in authenticator has typed already."""
    from IPython.display import display as show

    if shell is not None:
        show(widget)
    if not wait or ctx.settings.auto_mfa or widget.finished:
        return True
    mode = _wait_mode(shell)
    if mode is None:
        ctx.report.message("info", "この環境ではセルが入力を待てません。フォームで操作してから、次のセルを実行してください。")
        return False
    try:
        await _wait(widget, shell, mode)
    except asyncio.CancelledError:  # the learner pressed ■ (interrupt): same as cancel
        widget.cancel()
    return True


async def enable_with_form(ctx: Context, user_name: str, serial: str, outfile: str, wait: bool = True) -> str:
    """Section 2.2's enable step: show the form and wait until enabled or cancelled.

    A coroutine, awaited by the cell (``await hh.enable_with_form(...)``): on ipykernel >= 7.4
    only a cell that awaits receives the clicks while it waits.
    """
    from IPython import get_ipython

    cli = enable_command(user_name, serial)
    device = get_device(ctx, serial)
    if device and device.get("User", {}).get("UserName") == user_name:
        ctx.report.command(cli)
        ctx.report.message("info", f"仮想MFAデバイスは既に {user_name} に対して有効化されています。何も変更していません。")
        return Outcome.ALREADY
    if device is None:
        raise HandsonError(f"仮想MFAデバイス {serial} が見つかりません。先に 21_create_virtual_mfa_device を実行してください。", "NoDevice")
    if device.get("User"):
        raise HandsonError(f"このデバイスは別のIAMユーザー {device['User']['UserName']} に割り当て済みです。設定値を確認してください。", "AssignedElsewhere")
    if get_user(ctx, user_name) is None:  # before the learner types anything
        raise HandsonError(f"IAMユーザー {user_name} が見つかりません。先に 10_create_iam_user を実行してください。", "NoUser")
    shell = get_ipython()
    device_name = device_name_of(serial)
    problem = qr_problem(outfile)
    if problem:
        if ctx.settings.auto_mfa or not wait or _wait_mode(shell) is None or os.path.lexists(expand(outfile)):
            raise HandsonError(QR_LOST.format(name=device_name, file=outfile, problem=problem), "QrFileMissing")
        # The offer says itself that the device was recreated: the step's own report is kept, not shown.
        offer = RecreateOffer(outfile, partial(recreate_virtual_mfa_device, ctx.with_report(Silent()), device_name, outfile))
        await _show_and_wait(offer, shell, wait, ctx)
        if offer.result != Outcome.RECREATED:
            ctx.report.message("warning", "作り直しはキャンセルされました。何も変更していません。このセルをもう一度実行すると再開できます。")
            return Outcome.CANCELLED
    form = MfaEnableForm(user_name, serial, read_bootstrap(expand(outfile)) or b"", partial(enable_mfa_device, ctx, user_name, serial))
    if ctx.settings.auto_mfa:
        form.fill_from_qr(outfile)
        form.submit()
    if not await _show_and_wait(form, shell, wait, ctx):
        return ""
    if form.result in (Outcome.ENABLED, Outcome.ALREADY):
        ctx.report.command(cli, "")
        ctx.report.message("success", "仮想MFAデバイスの有効化が完了しました。続けて完了確認を実行します。")
    elif form.result == Outcome.CANCELLED:
        ctx.report.message("warning", "有効化はキャンセルされました。このセルをもう一度実行すると再開できます。")
    elif form.status.value:
        ctx.report.message("error", "有効化できませんでした。フォームのメッセージを確認し、このセルをもう一度実行してください。")
    return form.result or ""


async def resync_with_form(ctx: Context, user_name: str, serial: str, outfile: str, wait: bool = True) -> str:
    """23's resync step: 22's form without the QR; waits until resynced or cancelled.

    ``outfile`` is 2.1's QR file, read only by the built-in authenticator (HANDSON_AUTO_MFA).
    """
    from IPython import get_ipython

    require_assigned(ctx, user_name, serial)  # before the learner types anything
    form = MfaEnableForm(user_name, serial, b"", partial(resync_mfa_device, ctx, user_name, serial), resync=True)
    if ctx.settings.auto_mfa:
        form.fill_from_qr(outfile)
        form.submit()
    if not await _show_and_wait(form, get_ipython(), wait, ctx):
        return ""
    if form.result == Outcome.RESYNCED:
        ctx.report.command(resync_command(user_name, serial), "")
        ctx.report.message("success", "仮想MFAデバイスの再同期が完了しました。続けて完了確認を実行します。")
    elif form.result == Outcome.CANCELLED:
        ctx.report.message("warning", "再同期はキャンセルされました。このセルをもう一度実行すると再開できます。")
    elif form.status.value:
        ctx.report.message("error", "再同期できませんでした。フォームのメッセージを確認し、このセルをもう一度実行してください。")
    return form.result or ""
