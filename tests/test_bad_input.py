"""The bad-input battery: each case gets a clear Japanese message, changes nothing in IAM,
and the correct input right after it succeeds."""

import asyncio
import re
import time

import pytest
from helpers import DEVICE, PATH, USER, make_user_and_device, outfile, totp_at

import handson_helpers as hh
from handson_helpers import totp
from handson_helpers.settings import expand

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def iam_state(iam):
    users = sorted((u["UserName"], u["Path"]) for u in iam.list_users()["Users"])
    devices = sorted(
        (d["SerialNumber"], d.get("User", {}).get("UserName"))
        for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]
    )
    return users, devices


def pair(seed, now, shift=0):
    return totp_at(seed, now - 30 + shift * 30), totp_at(seed, now + shift * 30)


# (case id, codes from (seed, other device's seed, now), expected HandsonError code or None when accepted)
CODE_CASES = [
    ("both empty", lambda s, o, n: ("", ""), "EmptyCode"),
    ("second empty", lambda s, o, n: (pair(s, n)[0], ""), "EmptyCode"),
    ("None", lambda s, o, n: (None, None), "EmptyCode"),
    ("only spaces", lambda s, o, n: ("   ", "\u3000"), "EmptyCode"),
    ("5 digits", lambda s, o, n: (pair(s, n)[0][:5], pair(s, n)[1]), "WrongLength"),
    ("7 digits", lambda s, o, n: (pair(s, n)[0] + "1", pair(s, n)[1]), "WrongLength"),
    ("letters", lambda s, o, n: ("abcdef", pair(s, n)[1]), "NotDigits"),
    ("digits and a letter", lambda s, o, n: ("12a456", pair(s, n)[1]), "NotDigits"),
    ("hyphen inside", lambda s, o, n: ("123-456", pair(s, n)[1]), "NotDigits"),
    ("minus sign", lambda s, o, n: ("-12345", pair(s, n)[1]), "NotDigits"),
    ("arabic-indic digits", lambda s, o, n: ("١٢٣٤٥٦", pair(s, n)[1]), "NotDigits"),
    ("same code twice", lambda s, o, n: (pair(s, n)[1], pair(s, n)[1]), "SameCode"),
    ("same code, one full-width", lambda s, o, n: (pair(s, n)[1].translate(FULL_WIDTH), pair(s, n)[1]), "SameCode"),
    ("swapped", lambda s, o, n: pair(s, n)[::-1], "InvalidAuthenticationCode"),
    ("two windows apart", lambda s, o, n: (totp_at(s, n - 60), totp_at(s, n)), "InvalidAuthenticationCode"),
    ("ten minutes ago", lambda s, o, n: pair(s, n - 600), "InvalidAuthenticationCode"),
    ("an hour ahead", lambda s, o, n: pair(s, n + 3600), "InvalidAuthenticationCode"),
    ("another device's codes", lambda s, o, n: pair(o, n), "InvalidAuthenticationCode"),
    ("made-up codes", lambda s, o, n: ("000000", "111111"), "InvalidAuthenticationCode"),
    ("full-width digits", lambda s, o, n: (pair(s, n)[0].translate(FULL_WIDTH), pair(s, n)[1]), None),
    (
        "spaces inside (as apps show them)",
        lambda s, o, n: (pair(s, n)[0][:3] + " " + pair(s, n)[0][3:], pair(s, n)[1]),
        None,
    ),
    ("surrounding tabs and newlines", lambda s, o, n: ("\t" + pair(s, n)[0] + "\n", " " + pair(s, n)[1]), None),
    (
        "full-width spaces and digits",
        lambda s, o, n: (
            "\u3000" + pair(s, n)[0].translate(FULL_WIDTH),
            pair(s, n)[1].translate(FULL_WIDTH) + "\u3000",
        ),
        None,
    ),
    ("previous pair (a slow learner)", lambda s, o, n: pair(s, n, -1), None),
]


@pytest.fixture
def prepared(ctx, iam, tmp_path):
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    other = iam.create_virtual_mfa_device(VirtualMFADeviceName="another-device")["VirtualMFADevice"][
        "Base32StringSeed"
    ].decode()
    return serial, totp.secret_from_qr(qr), other


@pytest.mark.parametrize("case, make, expected", CODE_CASES, ids=[c[0] for c in CODE_CASES])
def test_code_boxes(ctx, iam, prepared, case, make, expected):
    serial, seed, other = prepared
    code1, code2 = make(seed, other, time.time())
    before = iam_state(iam)
    if expected is None:
        assert hh.enable_mfa_device(ctx, USER, serial, code1, code2) == "enabled"
        return
    with pytest.raises(hh.HandsonError) as err:
        hh.enable_mfa_device(ctx, USER, serial, code1, code2)
    assert err.value.code == expected
    message = err.value.message
    assert JAPANESE.search(message)
    for typed in (code1, code2):
        if typed and len(typed.strip()) >= 4:
            assert typed.strip() not in message, "a typed code leaked into the message"
    assert iam_state(iam) == before
    assert hh.enable_mfa_device(ctx, USER, serial, *pair(seed, time.time())) == "enabled"


PARAM_CASES = [
    ("user name with a space", "create_user", {"user_name": "handson cli", "user_path": PATH}),
    ("user name with a slash", "create_user", {"user_name": "handson/cli", "user_path": PATH}),
    ("user name of 65 characters", "create_user", {"user_name": "u" * 65, "user_path": PATH}),
    ("empty user name", "create_user", {"user_name": "", "user_path": PATH}),
    ("japanese user name", "create_user", {"user_name": "ハンズオン", "user_path": PATH}),
    ("path without leading slash", "create_user", {"user_name": USER, "user_path": "handson-cli/"}),
    ("path without trailing slash", "create_user", {"user_name": USER, "user_path": "/handson-cli"}),
    ("path with a space", "create_user", {"user_name": USER, "user_path": "/hands on/"}),
    ("device name with a space", "create_virtual_mfa_device", {"device_name": "handson mfa"}),
    ("empty device name", "create_virtual_mfa_device", {"device_name": ""}),
    ("device name with a colon", "create_virtual_mfa_device", {"device_name": "mfa:1"}),
]


@pytest.mark.parametrize("case, step, params", PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
def test_parameters(ctx, iam, tmp_path, case, step, params):
    before = iam_state(iam)
    if step == "create_virtual_mfa_device":
        params = {**params, "outfile": outfile(tmp_path)}
    with pytest.raises(hh.HandsonError) as err:
        getattr(hh, step)(ctx, **params)
    assert err.value.code == "InvalidSetting" and JAPANESE.search(err.value.message)
    assert iam_state(iam) == before
    assert not expand(outfile(tmp_path)).exists()
    if step == "create_user":
        hh.create_user(ctx, USER, PATH)
    else:
        hh.create_virtual_mfa_device(ctx, DEVICE, outfile(tmp_path))
    assert iam_state(iam) != before


def test_check_settings_names_the_item_to_go_back_to(capsys):
    with pytest.raises(hh.HandsonError):
        hh.check_settings(IAM_USER_NAME="bad name", IAM_USER_PATH=PATH)
    out = capsys.readouterr().out
    assert 'IAM_USER_NAME="bad name"   ✘' in out and "手順 1 に戻って" in out
    with pytest.raises(hh.HandsonError) as mismatch:  # valid but not the seed's: Run All stops too
        hh.check_settings(IAM_USER_NAME="someone-else", IAM_USER_PATH=PATH)
    assert mismatch.value.code == "SettingMismatch"
    out = capsys.readouterr().out
    assert "期待値と異なります" in out and "手順 1 に戻って" in out


def test_device_exists_unassigned_but_qr_file_lost(ctx, iam, tmp_path):
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    expand(qr).unlink()
    before = iam_state(iam)
    for attempt in (
        lambda: hh.create_virtual_mfa_device(ctx, DEVICE, qr),
        lambda: asyncio.run(hh.enable_with_form(ctx, USER, serial, qr)),
    ):
        with pytest.raises(hh.HandsonError) as err:
            attempt()
        assert err.value.code == "QrFileMissing" and "一度しか返さない" in err.value.message
    assert iam_state(iam) == before
    new_serial = hh.recreate_virtual_mfa_device(ctx, DEVICE, qr)
    assert new_serial == serial and expand(qr).exists() and "作り直し" in ctx.report.reports[-1].text
    assert hh.enable_mfa_device(ctx, USER, serial, *totp.consecutive_codes(totp.secret_from_qr(qr))) == "enabled"


def test_user_missing_device_missing_and_device_of_another_user(ctx, iam, tmp_path):
    qr = outfile(tmp_path)
    hh.create_virtual_mfa_device(ctx, DEVICE, qr)
    serial = f"arn:aws:iam::123456789012:mfa/{DEVICE}"
    codes = totp.consecutive_codes(totp.secret_from_qr(qr))
    before = iam_state(iam)
    with pytest.raises(hh.HandsonError) as err:
        hh.enable_mfa_device(ctx, USER, serial, *codes)
    assert err.value.code == "NoUser" and "10_create_iam_user" in err.value.message
    with pytest.raises(hh.HandsonError) as err:
        hh.enable_mfa_device(ctx, USER, serial + "-missing", *codes)
    assert err.value.code == "NoDevice" and "21_create_virtual_mfa_device" in err.value.message
    assert iam_state(iam) == before
    iam.create_user(UserName="someone-else")
    iam.enable_mfa_device(
        UserName="someone-else", SerialNumber=serial, AuthenticationCode1=codes[0], AuthenticationCode2=codes[1]
    )
    hh.create_user(ctx, USER, PATH)
    before = iam_state(iam)
    with pytest.raises(hh.HandsonError) as err:
        hh.enable_mfa_device(ctx, USER, serial, *codes)
    assert err.value.code == "AssignedElsewhere"
    assert iam_state(iam) == before


def test_user_exists_under_another_path_is_not_the_kits(ctx, iam):
    iam.create_user(UserName=USER, Path="/someone/")
    before = iam_state(iam)
    with pytest.raises(hh.HandsonError) as err:
        hh.create_user(ctx, USER, PATH)
    assert err.value.code == "ForeignUser"
    assert iam_state(iam) == before


# 23's resync takes its two codes through the same checks as 22's enable; (case, codes from
# (seed, the codes that enabled the device, now), expected HandsonError code or None when resynced)
RESYNC_CASES = [
    *[
        (case, make, expected)
        for case, make, expected in CODE_CASES
        if expected in ("EmptyCode", "WrongLength", "NotDigits", "SameCode")
    ],
    ("the codes that enabled it (spent)", lambda s, used, n: used, "InvalidAuthenticationCode"),
    (
        "a pair reaching back to a spent code",
        lambda s, used, n: (used[1], totp_at(s, n + 30)),
        "InvalidAuthenticationCode",
    ),
    ("made-up codes", lambda s, used, n: ("000000", "111111"), "InvalidAuthenticationCode"),
    ("ten minutes ago", lambda s, used, n: pair(s, n - 600), "InvalidAuthenticationCode"),
    ("the next two codes, full-width", lambda s, used, n: tuple(c.translate(FULL_WIDTH) for c in pair(s, n, 2)), None),
]


@pytest.mark.parametrize("case, make, expected", RESYNC_CASES, ids=[c[0] for c in RESYNC_CASES])
def test_resync_code_boxes(ctx, iam, prepared, case, make, expected):
    serial, seed, _ = prepared
    used = totp.authenticator_codes(seed, 2)
    assert hh.enable_mfa_device(ctx, USER, serial, *used) == "enabled"
    code1, code2 = make(seed, used, time.time())
    if expected is None:
        assert hh.resync_mfa_device(ctx, USER, serial, code1, code2) == "resynced"
        return
    with pytest.raises(hh.HandsonError) as err:
        hh.resync_mfa_device(ctx, USER, serial, code1, code2)
    assert err.value.code == expected and JAPANESE.search(err.value.message)
    for typed in (code1, code2):
        if typed and len(typed.strip()) >= 4:
            assert typed.strip() not in err.value.message


def test_resync_before_22_or_for_another_users_device_names_what_to_do(ctx, iam, prepared):
    serial, seed, _ = prepared
    codes = totp.authenticator_codes(seed, 2)
    with pytest.raises(hh.HandsonError) as err:
        hh.resync_mfa_device(ctx, USER, serial, *codes)
    assert err.value.code == "NotAssigned" and "22_enable_virtual_mfa_device" in err.value.message
    iam.create_user(UserName="someone-else")
    iam.enable_mfa_device(
        UserName="someone-else", SerialNumber=serial, AuthenticationCode1=codes[0], AuthenticationCode2=codes[1]
    )
    with pytest.raises(hh.HandsonError) as err:
        hh.resync_mfa_device(ctx, USER, serial, *totp.authenticator_codes(seed, 2))
    assert err.value.code == "NotAssigned" and "someone-else" in err.value.message
    with pytest.raises(hh.HandsonError) as err:
        hh.resync_mfa_device(ctx, USER, serial + "-missing", *codes)
    assert err.value.code == "NoDevice"


def test_too_many_wrong_codes_say_to_wait_and_change_nothing(ctx, iam, prepared):
    from handson_helpers.sandbox import otp

    serial, seed, _ = prepared
    assert hh.enable_mfa_device(ctx, USER, serial, *totp.authenticator_codes(seed, 2)) == "enabled"
    for _ in range(otp.MAX_WRONG_CODES):
        with pytest.raises(hh.HandsonError) as err:
            hh.resync_mfa_device(ctx, USER, serial, "000000", "111111")
        assert err.value.code == "InvalidAuthenticationCode"
    with pytest.raises(hh.HandsonError) as err:
        hh.resync_mfa_device(ctx, USER, serial, *totp.authenticator_codes(seed, 2))
    assert err.value.code == "Throttling" and "10分ほど待って" in err.value.message
