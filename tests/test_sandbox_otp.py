"""The sandbox's model of AWS's MFA code checks (otp.py): late codes, resync, each code once, throttling.

Codes are built for whole 30-second steps around now, so no case waits for a step to pass.
"""

import json
import os
import signal

import pytest
from helpers import Device, error_of

from handson_helpers import sandbox as sb
from handson_helpers.sandbox import otp, paths


@pytest.fixture
def device(iam, sandbox):
    return Device(iam, sandbox)


# (case, the pair, EnableMFADevice's answer, then: the step of the phone's next code, accepted?).
# Each pair is named by the step of its second code from now, chosen so that a step passing during
# the case (one less) gives the same answers: no case waits for a step.
ENABLE_CASES = [
    ("in time", lambda d: d.pair(0), None, 1, True),
    ("a slow learner (the pair half a minute old)", lambda d: d.pair(-1), None, 1, True),
    ("a phone a minute fast", lambda d: d.pair(2), None, 3, True),
    ("late: 90 seconds (enabled, out of sync)", lambda d: d.pair(-3), None, 1, False),
    ("late: 4.5 minutes, near the bound (enabled, out of sync)", lambda d: d.pair(-9), None, 1, False),
    ("too old: 5.5 minutes", lambda d: d.pair(-11), "InvalidAuthenticationCode", None, None),
    ("ten minutes ago", lambda d: d.pair(-20), "InvalidAuthenticationCode", None, None),
    ("a phone 4 minutes fast (its offset is learned)", lambda d: d.pair(8), None, 9, True),
    ("codes 4 minutes ahead, then a phone on time (out of sync)", lambda d: d.pair(8), None, 1, False),
    ("ten minutes ahead", lambda d: d.pair(20), "InvalidAuthenticationCode", None, None),
    ("swapped", lambda d: d.pair(0)[::-1], "InvalidAuthenticationCode", None, None),
    ("the same code twice", lambda d: (d.code(0), d.code(0)), "InvalidAuthenticationCode", None, None),
    ("two steps apart", lambda d: (d.code(-2), d.code(0)), "InvalidAuthenticationCode", None, None),
    ("made-up codes", lambda d: ("000000", "111111"), "InvalidAuthenticationCode", None, None),
]


@pytest.mark.parametrize("case, make, answer, next_step, in_sync", ENABLE_CASES, ids=[c[0] for c in ENABLE_CASES])
def test_enable_follows_aws_late_code_rule(device, case, make, answer, next_step, in_sync):
    code1, code2 = make(device)
    if code1 == code2 and case != "the same code twice":
        pytest.skip("the two steps happen to share a code (one in a million)")
    assert device.enable(code1, code2) == answer
    assert device.enabled() == (answer is None)
    if answer is None:
        assert (device.session(device.code(next_step)) is None) == in_sync


def test_an_out_of_sync_device_is_fixed_by_a_resync_with_two_current_codes(device):
    assert device.enable(*device.pair(-6)) is None  # typed three minutes late: enabled, out of sync
    assert device.session(device.code(0)) == "AccessDenied"  # the phone's code: refused, as by AWS
    assert device.resync("000000", "111111") == "InvalidAuthenticationCode"
    assert device.resync(*device.pair(-6)) == "InvalidAuthenticationCode"  # the late codes again: spent
    assert device.resync(*device.pair(1)) is None  # the phone's next two codes
    assert device.session(device.code(2)) is None


def test_each_code_is_accepted_once(device):
    assert device.enable(*device.pair(0)) is None
    assert device.session(device.code(0)) == "AccessDenied"  # the enable's second code
    assert device.session(device.code(1)) is None
    assert device.session(device.code(1)) == "AccessDenied"  # the same code again
    assert device.session(device.code(-1)) == "AccessDenied"  # an older one
    assert device.resync(*device.pair(1)) == "InvalidAuthenticationCode"  # a pair reaching back to a used code
    assert device.resync(*device.pair(3)) is None
    assert device.session(device.code(4)) is None


def test_wrong_codes_are_throttled_per_device_and_another_user_cannot_throttle_mine(device, iam, sandbox):
    assert device.enable(*device.pair(0)) is None
    other = Device(iam, sandbox, "someone-else", "someone-elses-device")
    for _ in range(otp.MAX_WRONG_CODES + 5):  # another user naming my device: refused, and never counted
        assert error_of(other.sts.get_session_token, SerialNumber=device.serial, TokenCode="000000") == "AccessDenied"
    assert device.session(device.code(1)) is None
    wrong = "000000" if "000000" not in {device.code(s) for s in range(-2, 6)} else "999999"
    for _ in range(otp.MAX_WRONG_CODES):
        assert device.session(wrong) == "AccessDenied"
    assert device.session(device.code(2)) == "Throttling"  # even the right code, while throttled
    assert device.resync(*device.pair(3)) == "Throttling"
    assert other.enable(*other.pair(0)) is None  # other devices are not affected


def _edit_state(change):
    path = paths.store_path(paths.home())
    data = json.loads(path.read_text())
    change(data)
    os.kill(sb.running().pid, signal.SIGKILL)
    path.write_text(json.dumps(data))
    sb.start()


def test_a_restart_keeps_the_offset_and_the_spent_codes(device):
    assert device.enable(*device.pair(-6)) is None
    _edit_state(lambda data: None)
    assert device.session(device.code(0)) == "AccessDenied"  # still out of sync
    assert device.resync(*device.pair(1)) is None
    os.kill(sb.running().pid, signal.SIGKILL)
    sb.start()
    assert device.session(device.code(1)) == "AccessDenied"  # spent before the restart
    assert device.session(device.code(2)) is None


def test_a_state_file_from_before_the_code_state_still_loads(device):
    assert device.enable(*device.pair(0)) is None

    def forget(data):
        for item in data["devices"]:
            for key in ("offset", "last_step", "failures"):
                item.pop(key, None)

    _edit_state(forget)
    assert device.enabled() and device.session(device.code(1)) is None


@pytest.mark.parametrize(
    "bad", [{"offset": "3"}, {"offset": 99}, {"last_step": 1.5}, {"failures": "many"}, {"failures": [True]}]
)
def test_a_state_file_with_a_malformed_code_state_is_set_aside(device, bad):
    def spoil(data):
        data["devices"][0].update(bad)

    _edit_state(spoil)
    assert device.iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    aside = [p for p in paths.home().iterdir() if p.name.startswith("iam-state.json.unreadable-")]
    assert aside
    for path in aside:  # later cases on this worker look for the file they set aside
        path.unlink()
