"""The room's live view for the instructor (issue 26, item 1): per participant, facts derived from
each call's action and answer (the section it belongs to, when, what went wrong), never a code, key,
seed or parameter value. Kept in memory only: a restarted room starts a new view.

Imported only by the sandbox server process; read through the control endpoint /_handson/watch.
"""

from __future__ import annotations

import collections
import re
import threading
import time
from dataclasses import dataclass, field

from ..room import participant_of
from . import authorization, sessions
from .auth import Denied

# The notebook (section) an action belongs to; reads (Get/List) say nothing about where one is.
SECTIONS = {
    "CreateUser": "10",
    "CreateVirtualMFADevice": "21",
    "EnableMFADevice": "22",
    "ResyncMFADevice": "23",
    "CreateAccessKey": "31",
    "PutUserPolicy": "40",
    "GetSessionToken": "40",
    "DeactivateMFADevice": "後始末",
    "DeleteVirtualMFADevice": "後始末",
    "DeleteAccessKey": "後始末",
    "DeleteUserPolicy": "後始末",
    "DeleteUser": "後始末",
}
CODE_ACTIONS = ("EnableMFADevice", "ResyncMFADevice", "GetSessionToken")
ONE_WRONG_CODE = ("wrong-code",)
RECENT = 5  # problems kept per participant, newest first
STUCK_WRONG_CODES = 3  # wrong codes in a row that make a participant stuck
STUCK_SECONDS = 600  # a problem newer than this, with no step done since, makes a participant stuck
ERROR_CODE_RE = re.compile(rb"<Code>([A-Za-z.]{1,64})</Code>")
# 40's lesson: the user's access key alone meets the policy's explicit Deny. Expected, not a problem.
LESSON = b"with an explicit deny in an identity-based policy"
MFA_FAILED = sessions.MFA_FAILED.encode()  # GetSessionToken's answer to a wrong code


@dataclass
class Facts:
    last_call: float = 0.0
    section: str = ""
    wrong_codes: int = 0  # in a row, on the code actions
    wrong_time: str = ""  # the last refusal's explanation (otp.py): minutes or "resync"
    devices_made: int = 0
    last_success: float = 0.0  # of a step (not a read)
    problems: collections.deque = field(
        default_factory=lambda: collections.deque(maxlen=RECENT)
    )  # (when, what, action)


def error_code(status: str, payload: bytes) -> str:
    """AWS's error code of an answer ('' for a success and for 40's lesson)."""
    if status.startswith("2") or LESSON in payload[:4096]:
        return ""
    match = ERROR_CODE_RE.search(payload[:4096])
    return match.group(1).decode() if match else status.split(" ", 1)[0]


def participant(key_id: str) -> str | None:
    """Whose call this is: a participant's identity key, their user's key or session; None for the
    instructor and unknown keys. Reads moto's state: call with the server's lock held."""
    try:
        who = authorization.principal(key_id)
    except Denied:
        return None
    return participant_of(who.user_name) if who.kind != "admin" else None


class Watch:
    """Per participant Facts, on the request threads of the room."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._facts: dict[str, Facts] = {}

    def record(
        self, participant: str, action: str, status: str, payload: bytes, refusal: str | None, now: float | None = None
    ) -> None:
        """One call of a participant's: its action, its answer (status line and body, of which only
        the error code is read) and the code-time explanation sent with it (otp.py)."""
        now = time.time() if now is None else now
        code = error_code(status, payload)
        with self._lock:
            facts = self._facts.setdefault(participant, Facts())
            facts.last_call = now
            facts.section = SECTIONS.get(action, facts.section)
            wrong_code = code == "InvalidAuthenticationCode" or (
                code == "AccessDenied" and action == "GetSessionToken" and MFA_FAILED in payload[:4096]
            )
            if action in CODE_ACTIONS and (wrong_code or code == "Throttling"):
                facts.wrong_codes += wrong_code
                facts.wrong_time = refusal or ""
                facts.problems.appendleft(
                    (now, f"wrong-time:{refusal}" if refusal else "wrong-code" if wrong_code else "throttled", action)
                )
                return
            read = action.startswith(("Get", "List")) and action != "GetSessionToken"
            if code and not (read and code != "AccessDenied"):  # the kit reads to learn what exists (NoSuchEntity)
                what = (
                    "session-refused"
                    if action == "GetSessionToken"
                    else {"AccessDenied": "access-denied", "ValidationError": "validation-error"}.get(code, code)
                )
                facts.problems.appendleft((now, what, action))
                return
            if code or read:
                return
            facts.last_success = now
            if action in CODE_ACTIONS:
                facts.wrong_codes, facts.wrong_time = 0, ""
            if action == "CreateVirtualMFADevice":
                facts.devices_made += 1
                if facts.devices_made > 1:  # a lost QR: the device made again
                    facts.problems.appendleft((now, "re-created-device", action))

    def view(self, now: float | None = None) -> list[dict]:
        """Every participant's facts, the stuck ones first, then by the newest problem or call."""
        now = time.time() if now is None else now
        with self._lock:
            rows = []
            for participant, facts in self._facts.items():
                newest = facts.problems[0][0] if facts.problems else 0.0
                # a single wrong code is ordinary (a typo, 40's lesson): wrong codes count in a row
                flagging = [when for when, what, _ in facts.problems if what not in ONE_WRONG_CODE]
                recent = bool(flagging) and now - flagging[0] < STUCK_SECONDS
                stuck = (
                    facts.wrong_codes >= STUCK_WRONG_CODES
                    or bool(facts.wrong_time)
                    or (recent and flagging[0] > facts.last_success)
                )
                rows.append(
                    {
                        "participant": participant,
                        "section": facts.section,
                        "idle_seconds": round(now - facts.last_call, 1),
                        "wrong_codes_in_a_row": facts.wrong_codes,
                        "wrong_time": facts.wrong_time,
                        "stuck": stuck,
                        "flagged": stuck or recent,
                        "problems": [
                            {"ago_seconds": round(now - when, 1), "what": what, "action": action}
                            for when, what, action in facts.problems
                        ],
                        "_order": (not stuck, not recent, -max(newest, facts.last_call)),
                    }
                )
        rows.sort(key=lambda row: row.pop("_order"))
        return rows
