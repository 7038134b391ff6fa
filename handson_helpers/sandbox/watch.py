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
from typing import Any

from ..code_time import OTHER_DEVICE
from ..room import participant_of
from ..settings import MANAGE_MFA_POLICY_NAME, SEED_BACKUP_DEVICE_NAME
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
# 45's steps: the backup device's, and the policy that lets the user manage their own MFA
BACKUP_STEPS = ("CreateVirtualMFADevice", "EnableMFADevice", "ResyncMFADevice", "PutUserPolicy")
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
    wrong_time: str = ""  # the last refusal's explanation (otp.py): minutes, "resync" or "other-device"
    devices_made: set[str] = field(default_factory=set)  # the names of the MFA devices made
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


@dataclass(frozen=True)
class Call:
    """What the view knows of a call, found before it runs: whose, which step, and the name of the MFA
    device it acts on (a name, never a code, key or seed)."""

    participant: str
    action: str
    section: str
    device: str = ""
    lesson: bool = False  # 45's refusal on purpose: the backup device made with the access key alone


def identify(key_id: str, action: str, params: dict[str, str]) -> Call | None:
    """The call of a participant (their identity key, their user's key or session); None for the
    instructor and unknown keys. Reads the emulator's state: call with the server's lock held."""
    try:
        who = authorization.principal(key_id)
    except Denied:
        return None
    participant = participant_of(who.user_name) if who.kind != "admin" else None
    if not participant:
        return None
    device = (params.get("VirtualMFADeviceName") or params.get("SerialNumber", "")).rsplit("/", 1)[-1]
    backup = device.startswith(SEED_BACKUP_DEVICE_NAME) or params.get("PolicyName") == MANAGE_MFA_POLICY_NAME
    section = "45" if backup and action in BACKUP_STEPS else SECTIONS.get(action, "")
    lesson = section == "45" and action == "CreateVirtualMFADevice" and who.kind == "user"
    return Call(participant, action, section, device, lesson)


class Watch:
    """Per participant Facts, on the request threads of the room."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._facts: dict[str, Facts] = {}

    def record(self, call: Call, status: str, payload: bytes, refusal: str | None, now: float | None = None) -> None:
        """One call of a participant's: what it was, its answer (status line and body, of which only
        the error code is read) and the code-time explanation sent with it (otp.py)."""
        now = time.time() if now is None else now
        code = error_code(status, payload)
        with self._lock:
            facts = self._facts.setdefault(call.participant, Facts())
            facts.last_call = now
            facts.section = call.section or facts.section
            action = call.action
            if call.lesson and code == "AccessDenied":
                return
            wrong_code = code == "InvalidAuthenticationCode" or (
                code == "AccessDenied" and action == "GetSessionToken" and MFA_FAILED in payload[:4096]
            )
            if action in CODE_ACTIONS and (wrong_code or code == "Throttling"):
                facts.wrong_codes += wrong_code
                facts.wrong_time = refusal or ""
                what = "wrong-code" if wrong_code else "throttled"
                if refusal:  # the codes' explanation: another device's, or of another time
                    what = refusal if refusal == OTHER_DEVICE else f"wrong-time:{refusal}"
                facts.problems.appendleft((now, what, action))
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
                if call.device in facts.devices_made:  # a lost QR: the same device made again
                    facts.problems.appendleft((now, "re-created-device", action))
                facts.devices_made.add(call.device)

    def view(self, now: float | None = None, help: dict[str, dict] | None = None) -> list[dict]:
        """Every participant's facts and open call for help (``help``: help_desk.open_calls), by name
        (the instructor's side orders them: room_view.ordered)."""
        now = time.time() if now is None else now
        help = help or {}
        with self._lock:
            rows: list[dict[str, Any]] = []
            for participant in sorted({*self._facts, *help}):
                facts = self._facts.get(participant) or Facts(last_call=now)
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
                        "help": help.get(participant),
                    }
                )
        return rows
