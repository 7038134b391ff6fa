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
    """The room's view, stuck participants first (the room sorts it)."""
    from .sandbox.control import sign

    keys = room.credentials(settings)
    if keys["Role"] != "instructor":
        raise HandsonError(text.INSTRUCTOR_ONLY, "InstructorOnly")
    request = sign(keys["AccessKeyId"], keys["SecretAccessKey"], "GET", room.url(settings) + PATH)
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


def help_cell(call: dict | None) -> str:
    """An open call for help (sandbox/help_desk.py): since when, how long the share lasts, the server's path."""
    if not call:
        return ""
    minutes = max(1, int(call["seconds_left"]) // 60)
    return text.HELP.format(seconds=int(call["ago_seconds"]), minutes=minutes, url=call["url"])


def show(report: Reporter, rows: list[dict]) -> None:
    report.table(
        text.TITLE.format(count=len(rows)),
        text.HEADER,
        [
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
            for row in rows
        ]
        or [["", text.NONE, "", "", "", "", ""]],
    )


def watch(report: Reporter, settings: Settings, seconds: float, times: int | None = None) -> None:
    """Show the view again every ``seconds`` (clearing a terminal first), ``times`` times or until Ctrl-C."""
    shown = 0
    while times is None or shown < times:
        rows = fetch(settings)
        if sys.stdout.isatty():
            print("\033[2J\033[H", end="")
        show(report, rows)
        shown += 1
        if times is None or shown < times:
            time.sleep(seconds)
