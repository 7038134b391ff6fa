"""The instructor's live view of a JupyterHub room: who is stuck and why, from the facts the room
derives from every call (sandbox/watch.py; no codes, keys or seeds). Read with the room's
administrator key, which only a hub admin gets."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request

from . import room
from .display import Reporter
from .errors import HandsonError
from .settings import Settings
from .texts import room_view as text

PATH = "/_handson/watch"


def fetch(settings: Settings, timeout: float = 5.0) -> list[dict]:
    """The room's view: one row (a dict of derived facts, sandbox/watch.py) per participant."""
    return read(*instructor(settings), timeout=timeout)


def instructor(settings: Settings) -> tuple[str, str, str, int]:
    """The room's URL, administrator key (which only the instructor gets) and the uid its socket must
    be the hub's: asked for once by a view that reads again and again (the keys of a room are stable)."""
    keys = room.credentials(settings)
    if keys["Role"] != "instructor":
        raise HandsonError(text.INSTRUCTOR_ONLY, "InstructorOnly")
    return room.url(settings), keys["AccessKeyId"], keys["SecretAccessKey"], int(settings.room_uid or 0)


def read(url: str, key_id: str, secret: str, owner: int | None = None, timeout: float = 5.0) -> list[dict]:
    """The view from the room at ``url``, asked with the room's administrator key; ``owner``: only once
    the socket there is that uid's (room.ask's check, without waiting): a participant who took the
    room's port while it restarts would otherwise show the instructor rows of their own making, such
    as a call for help that points at their server."""
    from .sandbox.control import sign

    if owner is not None:
        room.check_listener(url, owner, grace=0.0)
    request = sign(key_id, secret, "GET", url + PATH)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())["participants"]
    except urllib.error.HTTPError as exc:
        raise HandsonError(text.UNREACHABLE.format(reason=f"HTTP {exc.code}"), "RoomUnreachable") from None
    except (OSError, ValueError, KeyError):
        raise HandsonError(text.UNREACHABLE.format(reason=text.NO_ANSWER), "RoomUnreachable") from None


def reason(what: str) -> str:
    """A problem's name in the instructor's language."""
    if what.startswith("wrong-time:"):
        value = what.split(":", 1)[1]
        if value == "resync":
            return text.RESYNC
        return text.WRONG_TIME.format(minutes=value[1:], direction=text.BEHIND if value.startswith("-") else text.AHEAD)
    return text.REASONS.get(what, what)


def ordered(rows: list[dict]) -> list[dict]:
    """Those who called for help on top (oldest call first), then the stuck, then the flagged, each by
    their newest problem (newest first), then the rest by their last call (newest first)."""

    def key(row: dict) -> tuple:
        call = row.get("help")
        newest = min((p["ago_seconds"] for p in row["problems"]), default=float("inf"))
        return (
            call is None,
            -call["ago_seconds"] if call else 0,
            not row["stuck"],
            not row["flagged"],
            newest,
            row["idle_seconds"],
            row["participant"],
        )

    return sorted(rows, key=key)


def help_cell(call: dict | None) -> str:
    """An open call for help (sandbox/help_desk.py): since when, how long the share lasts, the server's path."""
    if not call:
        return ""
    minutes = max(1, int(call["seconds_left"]) // 60)
    return text.HELP.format(seconds=int(call["ago_seconds"]), minutes=minutes, url=call["url"])


def model(rows: list[dict]) -> list[list[str]]:
    """The view's table: one line of text cells per participant, in order (derived facts only)."""
    return [
        [
            text.STUCK if row["stuck"] else text.FLAGGED if row["flagged"] else "",
            row["participant"],
            row["section"] or "-",
            text.AGO.format(seconds=int(row["idle_seconds"])),
            str(row["wrong_codes_in_a_row"]),
            " / ".join(
                f"{reason(p['what'])} ({p['action']}, {text.AGO.format(seconds=int(p['ago_seconds']))})"
                for p in row["problems"]
            )
            or "-",
            help_cell(row.get("help")),
        ]
        for row in ordered(rows)
    ] or [["", text.NONE, "", "", "", "", ""]]


def show(report: Reporter, rows: list[dict]) -> None:
    report.table(text.TITLE.format(count=len(rows)), text.HEADER, model(rows))


def watch(report: Reporter, settings: Settings, seconds: float, times: int | None = None) -> None:
    """Show the view again every ``seconds`` (clearing a terminal first), ``times`` times or until Ctrl-C."""
    shown, where = 0, instructor(settings)
    while times is None or shown < times:
        rows = read(*where)
        if sys.stdout.isatty():
            print("\033[2J\033[H", end="")
        show(report, rows)
        shown += 1
        if times is None or shown < times:
            time.sleep(seconds)
