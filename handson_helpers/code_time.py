"""Refused MFA codes that are the device's own at another time: the sandbox says where they belong
(sandbox/otp.py) in a response header of the error, and the learner is told the phone's clock or
typing delay rather than "wrong code". Real AWS sends no such header: its message stays the plain one."""

from __future__ import annotations

import re

from .texts import diagnosis as text

HEADER = "X-Handson-Code-Time"
# The header's value: signed minutes from now to the codes' time, or RESYNC for the phone's current
# code refused because the device learned another clock (enabled with late codes).
RESYNC = "resync"
# Or OTHER_DEVICE: the pair is the current codes of another MFA device (the app's other entry, a
# neighbour's QR scanned): which device is never said.
OTHER_DEVICE = "other-device"
VALUE_RE = re.compile(r"[+-](?:[1-9]|1[0-5])|resync|other-device", re.ASCII)


def other_time(ctx, exc) -> str | None:
    """The sandbox's explanation of refused codes in ``exc`` (a ClientError), if it gave one."""
    if getattr(ctx, "target", "") != "sandbox":
        return None
    headers = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPHeaders", {})
    value = headers.get(HEADER.lower(), "")
    return value if VALUE_RE.fullmatch(value) else None


def _when_and_cause(value: str) -> dict[str, str]:
    minutes = int(value[1:])
    if value.startswith("-"):
        return {"when": text.WHEN_BEHIND.format(minutes=minutes), "cause": text.BEHIND_CAUSE.format(minutes=minutes)}
    return {"when": text.WHEN_AHEAD.format(minutes=minutes), "cause": text.AHEAD_CAUSE.format(minutes=minutes)}


def explain_pair(ctx, exc) -> str | None:
    """EnableMFADevice / ResyncMFADevice refused two codes of the device at another time."""
    value = other_time(ctx, exc)
    if value == OTHER_DEVICE:
        return text.PAIR_OTHER_DEVICE
    return text.PAIR.format(**_when_and_cause(value)) if value and value != RESYNC else None


def explain_code(ctx, exc) -> str | None:
    """GetSessionToken refused one code of the device at another time (or its current one: resync)."""
    value = other_time(ctx, exc)
    if not value or value == OTHER_DEVICE:
        return None
    return text.CODE_RESYNC if value == RESYNC else text.CODE.format(**_when_and_cause(value))
