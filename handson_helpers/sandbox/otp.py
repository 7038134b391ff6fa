"""How the sandbox checks a device's TOTP codes: AWS's documented behaviour, in a bounded model.

AWS documents three things and leaves the numbers out:
- EnableMFADevice with codes generated and then submitted too late still associates the device,
  but the device is then out of sync; ResyncMFADevice with two consecutive codes fixes that.
- A code is accepted once (RFC 6238 section 5.2), and repeated wrong codes are throttled.

The model (README, "Sandbox differences"): each device keeps a clock offset in 30-second steps
(``offset``), the last step whose code it accepted (``last_step``) and the times of its recent
wrong codes (``failures``). A pair of consecutive codes (EnableMFADevice, ResyncMFADevice) is
looked for up to DRIFT_STEPS steps either side of now and sets the offset to where it was found;
a single code (GetSessionToken) is accepted from SYNC_PAST_STEPS before to SYNC_FUTURE_STEPS after
now + offset. So a pair typed in time leaves the offset near 0, a pair typed minutes late still
enables the device with an offset that puts the phone's current codes out of reach, and a resync
with two current codes brings it back. Every accepted code must come after ``last_step``.

Imported only by the sandbox server process.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from typing import Any

import pyotp

from ..code_time import OTHER_DEVICE, RESYNC

STEP_SECONDS = 30
# A single code (GetSessionToken): from two steps behind the device's learned clock (reading and
# typing take a minute) to two steps ahead (a phone whose clock runs a little fast).
SYNC_PAST_STEPS = 2
SYNC_FUTURE_STEPS = 2
# A pair (EnableMFADevice, ResyncMFADevice) is searched this far either side of now: 5 minutes.
# Found further than SYNC_PAST_STEPS behind, it still enables the device, out of sync.
DRIFT_STEPS = 10
# Wrong codes per device before every attempt on it is refused for a while (Throttling).
MAX_WRONG_CODES = 10
WRONG_CODE_SECONDS = 600
THROTTLED = ("Throttling", "Rate exceeded")
# A refused code is also looked for this far either side of now (15 minutes), only to explain the
# refusal (right codes of another time: a phone's clock, or codes typed long after they appeared).
ELSEWHERE_STEPS = 30
# The explanation travels as code_time.HEADER on the error (real AWS never sends it): signed minutes
# from now to the codes' time, or RESYNC. Never a code or a step number.
_refusal = threading.local()  # this request's explanation, for the server to send (one thread, one request)


def _six_digits(code: Any) -> bool:
    return isinstance(code, str) and re.fullmatch(r"[0-9]{6}", code, re.ASCII) is not None


def now_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def state(device) -> tuple[int, int | None]:
    """(offset, last_step) of a device; devices from older state files have neither."""
    return getattr(device, "handson_offset", 0), getattr(device, "handson_last_step", None)


def _recent_failures(device, now: float) -> list[float]:
    return [t for t in getattr(device, "handson_failures", []) if now - t < WRONG_CODE_SECONDS]


def throttled(device, now: float | None = None) -> bool:
    """Too many wrong codes lately: AWS throttles, so every attempt is refused until they age."""
    return len(_recent_failures(device, time.time() if now is None else now)) >= MAX_WRONG_CODES


def failed(device, now: float | None = None) -> None:
    now = time.time() if now is None else now
    device.handson_failures = [*_recent_failures(device, now), now][-MAX_WRONG_CODES:]


def _accept(device, step: int, offset: int) -> None:
    device.handson_offset, device.handson_last_step, device.handson_failures = offset, step, []


def pair_step(seed: str, code1: str, code2: str, after: int | None, now: float | None = None) -> int | None:
    """The step of code2 when code1, code2 are the codes of two consecutive steps within DRIFT_STEPS
    of now, both after ``after``; the one nearest now if several match."""
    if not (_six_digits(code1) and _six_digits(code2)):
        return None
    totp = pyotp.TOTP(seed)
    current = now_step(now)
    for distance in range(DRIFT_STEPS + 1):
        for second in sorted({current - distance, current + distance}):
            if after is not None and second - 1 <= after:
                continue
            first_code, second_code = totp.at((second - 1) * STEP_SECONDS), totp.at(second * STEP_SECONDS)
            if first_code == second_code:
                continue  # a repeated code proves nothing
            if secrets.compare_digest(first_code, code1) and secrets.compare_digest(second_code, code2):
                return second
    return None


def _minutes(distance: int) -> str:
    """Signed whole minutes of a step distance (half minutes away from zero)."""
    return f"{'-' if distance < 0 else '+'}{(abs(distance) + 1) // 2}"


def pair_elsewhere(seed: str, code1: str, code2: str, now: float | None = None) -> str | None:
    """Where a refused pair belongs, when it is two consecutive codes of the device further than
    DRIFT_STEPS from now (beyond what pair_step searched) and within ELSEWHERE_STEPS: signed minutes.
    Two codes are twelve digits, so telling where they belong helps no guesser."""
    if not (_six_digits(code1) and _six_digits(code2)):
        return None
    totp = pyotp.TOTP(seed)
    current = now_step(now)
    for distance in range(DRIFT_STEPS + 1, ELSEWHERE_STEPS + 1):
        for second in (current - distance, current + distance):
            first_code, second_code = totp.at((second - 1) * STEP_SECONDS), totp.at(second * STEP_SECONDS)
            if (
                first_code != second_code
                and secrets.compare_digest(first_code, code1)
                and secrets.compare_digest(second_code, code2)
            ):
                return _minutes(second - current)
    return None


def code_elsewhere(seed: str, code: str, offset: int, after: int | None, now: float | None = None) -> str | None:
    """Where a refused single code belongs, outside the window code_step searched and within
    ELSEWHERE_STEPS of now, said only when that cannot help a guesser: a step the model never
    accepts later (behind the window, which only moves forward until a resync with two codes, or
    not after the last accepted step): signed minutes; or the phone's current code (within the
    window's width of now) refused because the device learned another clock: RESYNC. That last
    one may become valid later, as the window would: it at most doubles a guesser's window.
    Other steps ahead of the window stay unexplained, since they become valid later."""
    if not _six_digits(code):
        return None
    totp = pyotp.TOTP(seed)
    current = now_step(now)
    low, high = current + offset - SYNC_PAST_STEPS, current + offset + SYNC_FUTURE_STEPS
    for distance in range(ELSEWHERE_STEPS + 1):
        for step in sorted({current - distance, current + distance}):
            if low <= step <= high:
                continue  # what code_step searched: right now, or used
            phone_on_time = -SYNC_PAST_STEPS <= step - current <= SYNC_FUTURE_STEPS
            never_later = step < low or (after is not None and step <= after)
            if (phone_on_time or never_later) and secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
                if phone_on_time:
                    return RESYNC
                # the same six digits may come round at a step the window reaches later: then say nothing
                first = max(low, after + 1) if after is not None else low
                later = range(first, high + ELSEWHERE_STEPS + 1)
                comes_again = any(secrets.compare_digest(totp.at(s * STEP_SECONDS), code) for s in later)
                return None if comes_again else _minutes(step - current)
    return None


def take_refusal() -> str | None:
    """This request's explanation of refused codes (code_time.HEADER's value), once."""
    value, _refusal.value = getattr(_refusal, "value", None), None
    return value


def other_device(others, code1: str, code2: str, now: float | None = None) -> str | None:
    """OTHER_DEVICE when a refused pair is two consecutive codes that one of ``others`` shows about
    now (a phone on time, as code_step's window): the app's other entry, or someone else's QR."""
    if not (_six_digits(code1) and _six_digits(code2)):
        return None
    current = now_step(now)
    for other in others:
        totp = pyotp.TOTP(other.base32_string_seed)
        for second in range(current - SYNC_PAST_STEPS, current + SYNC_FUTURE_STEPS + 1):
            if secrets.compare_digest(totp.at(second * STEP_SECONDS), code2) and secrets.compare_digest(
                totp.at((second - 1) * STEP_SECONDS), code1
            ):
                return OTHER_DEVICE
    return None


def accept_pair(device, code1: str, code2: str, now: float | None = None, others=()) -> bool:
    """EnableMFADevice / ResyncMFADevice: on a match, learn the offset (late codes: out of sync).
    Refused codes that are the device's at another time, or another device's (``others``), are
    explained (take_refusal)."""
    _, last = state(device)
    step = pair_step(device.base32_string_seed, code1, code2, last, now)
    if step is None:
        failed(device, now)
        _refusal.value = pair_elsewhere(device.base32_string_seed, code1, code2, now) or other_device(
            others, code1, code2, now
        )
        return False
    _accept(device, step, step - now_step(now))
    return True


def code_step(seed: str, code: str, offset: int, after: int | None, now: float | None = None) -> int | None:
    """The step of one code near now + offset, after ``after``; None when it matches none."""
    if not _six_digits(code):
        return None
    totp = pyotp.TOTP(seed)
    expected = now_step(now) + offset
    for step in range(expected - SYNC_PAST_STEPS, expected + SYNC_FUTURE_STEPS + 1):
        if (after is None or step > after) and secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def accept_code(device, code: str, now: float | None = None) -> bool:
    """GetSessionToken: a code the device shows now, by its learned clock, not used before."""
    offset, last = state(device)
    step = code_step(device.base32_string_seed, code, offset, last, now)
    if step is None:
        failed(device, now)
        _refusal.value = code_elsewhere(device.base32_string_seed, code, offset, last, now)
        return False
    _accept(device, step, offset)
    return True


def snapshot(device) -> dict:
    offset, last = state(device)
    return {"offset": offset, "last_step": last, "failures": list(getattr(device, "handson_failures", []))}


def check(item: dict) -> bool:
    """A saved device's code state is well formed (absent in files written before it existed)."""
    offset, last, failures = item.get("offset", 0), item.get("last_step"), item.get("failures", [])
    return (
        type(offset) is int
        and abs(offset) <= DRIFT_STEPS
        and (last is None or type(last) is int)
        and isinstance(failures, list)
        and all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in failures)
    )


def restore(device, item: dict) -> None:
    device.handson_offset = item.get("offset", 0)
    device.handson_last_step = item.get("last_step")
    device.handson_failures = [float(t) for t in item.get("failures", [])][-MAX_WRONG_CODES:]
