"""How a cell waits for a form's clicks, on each ipykernel the kit supports, and what it does in a
front end that never delivers them while a cell runs (VS Code, headless runners): it asks in text
(widget.py and session_form.py show their forms through ``show_and_wait``)."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import signal
import sys
import threading
import time

import ipywidgets as w

from . import lite
from .target import Context
from .texts import forms as texts

# How long a form waits for the front end's first message before it asks for the codes in text
PROBE_SECONDS = 5.0


def wait_mode(shell) -> str | None:
    """How this kernel lets a cell wait for clicks: "poll" on ipykernel 6 (jupyter-ui-poll pumps
    its queue), "await" on ipykernel >= 7.4 (it hands comm messages to a cell that awaits),
    "typed" in JupyterLite (one kernel message at a time: no click arrives while a cell runs),
    None where neither works (ipykernel 7.0-7.3, no kernel)."""
    if lite.ACTIVE:
        return "typed"
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
                idle = {"execution_state": "idle"}
                kernel.session.send(kernel.iopub_socket, "status", idle, parent=msg, ident=kernel._topic("status"))

    kernel.shell_handlers["comm_msg"] = handle
    try:
        yield
    finally:
        kernel.shell_handlers["comm_msg"] = handler


@contextlib.contextmanager
def _shell_ident_kept(kernel):
    """jupyter-ui-poll, holding back a queued cell, sets ipykernel 6's per-channel parent identities
    as the shell's own: an input request (the typed fallback) would then fail. Put it back."""
    idents = getattr(kernel, "_parent_ident", None)
    shell_ident = idents.get("shell") if isinstance(idents, dict) else None
    try:
        yield
    finally:
        if shell_ident is not None:
            idents["shell"] = shell_ident


class Probe:
    """Does this front end deliver widget messages to the kernel while the cell waits?

    Two hidden Layout models and a link between them that the front end runs: its link model copies
    the source's width into the target when it is created and sends the change back to the kernel,
    the way a click comes. No answer: the clicks will not come either.
    """

    def __init__(self) -> None:
        self.source, self.target = w.Layout(width="1px"), w.Layout()
        self.link = w.jsdlink((self.source, "width"), (self.target, "width"))

    @property
    def answered(self) -> bool:
        return self.target.width == self.source.width

    def close(self) -> None:
        for model in (self.link, self.source, self.target):
            model.close()


def images_stall_input() -> bool:
    """Colab: an input box asked for after an image output is reported never to appear (colabtools
    issue 2889, open since 2022): there the typed fallback shows no image. Its kernel is Colab's own,
    which loads google.colab before any cell runs."""
    return "google.colab" in sys.modules


def _heard(widget, probe: Probe, started: float) -> bool:
    """False once the front end has been silent for PROBE_SECONDS; once it answers, the form shows
    its secret part (the QR), which no front end that cannot send it back should ever hold."""
    if probe.answered:
        getattr(widget, "reveal", lambda: None)()
        return True
    return time.monotonic() - started < PROBE_SECONDS


async def _wait(widget, shell, mode: str) -> bool:
    """Keep the cell running (so Run All waits) until the widget is finished. False when the front
    end sends nothing back within PROBE_SECONDS (the clicks cannot arrive).

    A flag, not a Future: on ipykernel 7 a click may be handled on another thread.
    """
    tick = getattr(widget, "tick", lambda: None)
    probe, started = Probe(), time.monotonic()
    try:
        if mode == "poll":
            from jupyter_ui_poll import ui_events

            with _shell_ident_kept(shell.kernel):
                async with ui_events() as poll:  # holds back the next cells until this one ends
                    while not widget.finished:
                        await poll(20)
                        if not _heard(widget, probe, started):
                            return False
                        tick()
                        await asyncio.sleep(0.1)
            return True
        with _comms_on_the_main_shell(shell.kernel):
            while not widget.finished:
                if not _heard(widget, probe, started):
                    return False
                tick()
                await asyncio.sleep(0.1)
        return True
    finally:
        probe.close()


@contextlib.contextmanager
def _interruptible():
    """■ (interrupt) raises KeyboardInterrupt in a blocking input request: in a cell that awaits,
    ipykernel's own handler only schedules a cancel on its event loop, which the request holds."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved)


def _close_all(widget) -> None:
    for child in getattr(widget, "children", ()):
        _close_all(child)
    widget.close()


def _typed(widget, handle, ctx: Context) -> bool:
    """The form's work asked in text (getpass: the typed codes are never echoed into the notebook),
    round after round until it is finished. Its secret (the QR, or the key) is shown in the form's
    place and replaced by a plain line once the codes are taken, the cell fails or the learner
    interrupts. In the browser edition it is shown only in a widget of its own (outputs are saved
    with the notebook, that widget's state is not), emptied and closed then. False when this front
    end cannot answer input either."""
    from IPython.core.error import StdinNotImplementedError

    ctx.report.message("warning", texts.NO_CLICKS)
    secret = widget.secret_bundle() if not lite.ACTIVE and hasattr(widget, "secret_bundle") else None
    if handle is not None:
        handle.update(secret or {"text/plain": texts.TYPED_FORM}, raw=True)
    _close_all(widget)  # the typed codes go into closed boxes: no front end or saved state sees them
    view = widget.secret_widget() if lite.ACTIVE and hasattr(widget, "secret_widget") else None
    shown = handle if view is None else _show(view)

    def clear() -> None:
        if view is not None:
            view.value = ""  # before closing: no model, in the kernel or the page, keeps the QR
        if shown is not None:
            shown.update({"text/plain": texts.TYPED_DONE}, raw=True)
        if view is not None:
            view.close()

    try:
        with _interruptible():
            while not widget.finished:
                widget.type_in(getpass.getpass)
                if widget.finished:
                    clear()
                if widget.said:
                    ctx.report.message(*widget.said)
                    widget.said = None
    except StdinNotImplementedError:
        ctx.report.message("error", texts.NO_INPUT)
        return False
    except KeyboardInterrupt:  # ■ (interrupt) while the kernel asks: same as cancel
        widget.cancel()
        widget.said = None
    finally:
        clear()
    return True


def _show(widget):
    """Display the widget with a handle, to replace it later. ipywidgets 7 (Colab's) displays itself
    in _ipython_display_, which drops the display id: its view is given as the same bundle here."""
    from IPython.display import display as show

    if hasattr(widget, "_repr_mimebundle_"):
        return show(widget, display_id=True)
    view = {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}
    bundle = {"text/plain": repr(widget), "application/vnd.jupyter.widget-view+json": view}
    return show(bundle, raw=True, display_id=True)


async def show_and_wait(widget, shell, wait: bool, ctx: Context) -> bool:
    """Display the widget; wait for it where the kernel allows, or ask in text where the front end
    does not deliver its clicks. False if the cell cannot wait.

    With HANDSON_AUTO_MFA=1 (ctx.settings.auto_mfa) the built-in authenticator has typed already."""
    if lite.ACTIVE and wait and not ctx.settings.auto_mfa and not widget.finished:
        # JupyterLite delivers no click while the cell runs: a text line in the form's place, and
        # the cell's first output a text, as its renderer misplaced a widget shown first
        from IPython.display import display

        return _typed(widget, display({"text/plain": texts.TYPED_FORM}, raw=True, display_id=True), ctx)
    handle = _show(widget) if shell is not None else None
    if not wait or ctx.settings.auto_mfa or widget.finished:
        getattr(widget, "reveal", lambda: None)()  # the clicks are handled after the cell
        return True
    mode = wait_mode(shell)
    if mode is None:
        ctx.report.message("info", texts.CANNOT_WAIT)
        return False
    try:
        delivered = mode != "typed" and await _wait(widget, shell, mode)
    except asyncio.CancelledError:  # the learner pressed ■ (interrupt): same as cancel
        widget.cancel()
        return True
    return delivered or _typed(widget, handle, ctx)
