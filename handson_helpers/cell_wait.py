"""How a cell waits for a form's clicks, on each ipykernel the kit supports (widget.py and
session_form.py show their forms through ``show_and_wait``)."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from .target import Context
from .texts import forms as texts


def wait_mode(shell) -> str | None:
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
                idle = {"execution_state": "idle"}
                kernel.session.send(kernel.iopub_socket, "status", idle, parent=msg, ident=kernel._topic("status"))

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


async def show_and_wait(widget, shell, wait: bool, ctx: Context) -> bool:
    """Display the widget; wait for it where the kernel allows. False if the cell cannot wait.

    With HANDSON_AUTO_MFA=1 (ctx.settings.auto_mfa) the built-in authenticator has typed already."""
    from IPython.display import display as show

    if shell is not None:
        show(widget)
    if not wait or ctx.settings.auto_mfa or widget.finished:
        return True
    mode = wait_mode(shell)
    if mode is None:
        ctx.report.message("info", texts.CANNOT_WAIT)
        return False
    try:
        await _wait(widget, shell, mode)
    except asyncio.CancelledError:  # the learner pressed ■ (interrupt): same as cancel
        widget.cancel()
    return True
