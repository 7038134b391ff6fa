"""先生を呼ぶ: a button beside the code forms (22, 23, 40, 45) that asks the room to let the
instructors open this participant's server for a while (sandbox/help_desk.py grants and revokes it,
through JupyterHub's sharing). Shown only in a JupyterHub room: without a hub there is nobody to call.
"""

from __future__ import annotations

import html
import urllib.error

import ipywidgets as w

from . import room
from .errors import HandsonError
from .settings import Settings
from .texts import help as texts


def available(settings: Settings) -> bool:
    """A participant's server in a hub room that offers 先生を呼ぶ (Settings.help_offered)."""
    return (
        bool(settings.hub_user and settings.hub_token and settings.room_url)
        and settings.sandbox_mode == "room"
        and settings.help_offered
    )


# A click waits this long at most (the kernel answers nothing else meanwhile); the room's
# offer, asked as a form is drawn, less: a room that does not answer shows no button.
CALL_SECONDS, CALL_GRACE_SECONDS = 5.0, 2.0
OFFER_SECONDS = 3.0


def offered(settings: Settings) -> bool:
    """The room's word that this hub user may call (not the instructor, not a helper)."""
    try:
        answer = room.ask(settings, room.HELP_PATH, "GET", timeout=OFFER_SECONDS, grace=0.0)
    except (urllib.error.HTTPError, HandsonError):
        return False
    return isinstance(answer, dict) and answer.get("offered") is True


def call(settings: Settings, method: str) -> str:
    """POST asks for help, DELETE ends the call; what to tell the participant."""
    try:
        answer = room.ask(settings, room.HELP_PATH, method, timeout=CALL_SECONDS, grace=CALL_GRACE_SECONDS)
    except urllib.error.HTTPError as exc:
        if exc.code == 403:
            return texts.NOT_A_PARTICIPANT
        reason = f"HTTP {exc.code}"
        return (texts.TOO_SOON if exc.code in (429, 503) else texts.FAILED).format(reason=reason)
    except HandsonError as exc:
        return texts.FAILED.format(reason=exc.code)
    if method == "DELETE":
        return texts.ENDED if answer.get("revoked", True) else texts.REVOKE_FAILED
    return texts.CALLED.format(minutes=max(1, int(answer.get("seconds_left", 0)) // 60))


class HelpButton(w.HBox):
    """The two buttons and a line for the answer."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.ask_button = w.Button(description=texts.BUTTON, icon="hand-paper-o", layout=w.Layout(width="auto"))
        self.done_button = w.Button(description=texts.DONE_BUTTON, layout=w.Layout(width="auto"))
        self.answer = w.HTML()
        self.ask_button.add_class("handson-help")
        self.ask_button.on_click(lambda _: self._say(call(self.settings, "POST")))
        self.done_button.on_click(lambda _: self._say(call(self.settings, "DELETE")))
        super().__init__([self.ask_button, self.done_button, self.answer])

    def _say(self, text: str) -> None:
        self.answer.value = html.escape(text)


def widgets(settings: Settings | None = None) -> list[w.Widget]:
    """The button for a form's last line, or nothing outside a hub room or for a non-participant."""
    settings = settings or Settings.read()
    return [HelpButton(settings)] if available(settings) and offered(settings) else []
