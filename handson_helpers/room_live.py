"""95's live view of the room: room_view's table in a widget that a thread of the kernel refreshes
every few seconds, without the cell being run again. It stops at its button, when the kernel ends,
and when the cell is run again (the new view replaces it: one refresher per kernel)."""

from __future__ import annotations

import atexit
import html
import threading
import time
from collections.abc import Callable
from functools import partial

import ipywidgets as w

from . import room_view
from .display import STYLES, Silent
from .errors import HandsonError
from .target import Context
from .texts import room_view as text

SECONDS = 3.0  # as often as `workshop status --watch` is asked to; the room answers from memory
THREAD_NAME = "handson-room-view"
_current: LiveView | None = None
_lock = threading.Lock()


def _line(kind: str, message: str) -> str:
    background, color, mark = STYLES[kind]
    style = f"background:{background};color:{color};padding:2px 8px;border-radius:4px"
    return f'<span style="{style}">{mark} {html.escape(message)}</span>'


def render(rows: list[dict]) -> str:
    """The table's HTML, as the terminal and the static view show it (room_view.show)."""
    report = Silent()
    room_view.show(report, rows)
    return report.reports[0].html


class LiveView(w.VBox):
    """The table, a status line and a stop button; ``fetch`` gives the room's rows (room_view.read)."""

    def __init__(self, fetch: Callable[[], list[dict]], seconds: float = SECONDS):
        self.fetch, self.seconds = fetch, seconds
        self.table = w.HTML()
        self.status = w.HTML()
        self.button = w.Button(description=text.STOP, icon="stop")
        self.button.on_click(self.stop)
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        super().__init__([w.HBox([self.button, self.status]), self.table])

    def __repr__(self) -> str:  # the text/plain a notebook keeps: not the table, which changes
        return text.LIVE

    def refresh(self) -> None:
        try:
            rows = self.fetch()
        except Exception as exc:  # noqa: BLE001 - the refresher goes on, and its status says this read failed
            message = exc.message if isinstance(exc, HandsonError) else text.UNEXPECTED.format(kind=type(exc).__name__)
            now = time.strftime("%H:%M:%S")
            self.status.value = _line(
                "warning", text.FAILED.format(time=now, message=message, seconds=int(self.seconds))
            )
            return
        self.show(rows)

    def show(self, rows: list[dict]) -> None:
        self.table.value = render(rows)
        self.status.value = _line(
            "info", text.UPDATED.format(time=time.strftime("%H:%M:%S"), seconds=int(self.seconds))
        )

    def _run(self) -> None:
        while not self._stopping.wait(self.seconds):
            self.refresh()
        self.button.disabled = True
        self.status.value = _line("info", text.STOPPED)

    def start(self, rows: list[dict]) -> LiveView:
        self.show(rows)
        self.thread.start()
        return self

    def stop(self, _button=None, wait: float = 0.0) -> None:
        self._stopping.set()
        if wait and self.thread.is_alive():
            self.thread.join(wait)


def watch_room(ctx: Context, seconds: float = SECONDS) -> LiveView | None:
    """95: who is stuck and why, refreshed every ``seconds``; the view this kernel showed before stops.
    Outside a room it says why there is nothing to show; to a participant, that it is the instructor's."""
    global _current
    if not ctx.room:
        ctx.report.message("info", text.NOT_A_ROOM)
        return None
    with _lock:
        if _current is not None:
            _current.stop(wait=seconds + 10)
            _current = None
        try:
            where = room_view.instructor(ctx.settings)
            rows = room_view.read(*where)
        except HandsonError as exc:
            ctx.report.message("warning", exc.message)
            return None
        _current = LiveView(partial(room_view.read, *where), seconds).start(rows)
    from IPython.display import display

    display(_current)
    return _current


@atexit.register
def _stop_at_exit() -> None:
    """The kernel ends: the refresher ends before it, not in the middle of a request."""
    if _current is not None:
        _current.stop(wait=2.0)
