"""Where a learner stands (progress.py), read live from IAM and the disk at the hands-on's own names
and paths: each section is ✔ only when what it leaves behind is there, and the next notebook is named."""

import pytest
from helpers import phone_codes

import handson_helpers as hh
from handson_helpers import progress
from handson_helpers.settings import (
    SEED_DEVICE_NAME,
    SEED_DIR_ACCESS_KEY,
    SEED_DIR_MFA_OUTFILE,
    SEED_USER_NAME,
    SEED_USER_PATH,
    access_key_file,
    expand,
    mfa_outfile,
)

SECTIONS = [
    "10_create_iam_user",
    "21_create_virtual_mfa_device",
    "22_enable_virtual_mfa_device",
    "31_create_access_key",
    "40_mfa_protected_access",
    "45_add_backup_mfa_device",
]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """The hands-on's files under a home of this test's own."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def _states(ctx) -> list[str]:
    rows = progress.progress(ctx)
    assert [name for name, _, _ in rows] == SECTIONS
    return [state for _, _, state in rows]


def _next(ctx) -> str:
    silent = hh.Silent()
    name = progress.show_progress(ctx.with_report(silent))
    assert silent.reports[-1].text.count(name) >= 1  # said, not only returned
    return name


def test_each_section_is_done_only_when_iam_and_the_disk_say_so(ctx, iam, home):
    qr = mfa_outfile(SEED_DIR_MFA_OUTFILE, SEED_DEVICE_NAME)
    assert _states(ctx) == ["-"] * 6 and _next(ctx) == "01_preparation"
    hh.create_user(ctx, SEED_USER_NAME, SEED_USER_PATH)
    assert _states(ctx)[:2] == ["✔", "-"] and _next(ctx) == "21_create_virtual_mfa_device"
    serial = hh.create_virtual_mfa_device(ctx, SEED_DEVICE_NAME, qr)
    assert _states(ctx)[:3] == ["✔", "✔", "-"] and _next(ctx) == "22_enable_virtual_mfa_device"
    codes = phone_codes(str(expand(qr)))
    expand(qr).rename(home / "moved.png")  # a device whose QR file is gone, not yet enabled: 21 is not done
    assert _states(ctx)[1] == "-" and _next(ctx) == "21_create_virtual_mfa_device"
    (home / "moved.png").rename(expand(qr))
    hh.enable_mfa_device(ctx, SEED_USER_NAME, serial, *codes)
    assert _states(ctx)[:4] == ["✔", "✔", "✔", "-"] and _next(ctx) == "31_create_access_key"
    hh.create_access_key(ctx, SEED_USER_NAME, access_key_file(SEED_DIR_ACCESS_KEY, SEED_USER_NAME))
    assert _states(ctx) == ["✔", "✔", "✔", "✔", "-", "-"] and _next(ctx) == "40_mfa_protected_access"
    hh.put_mfa_policy(ctx, SEED_USER_NAME)
    assert (
        _states(ctx)[4] == progress.POLICY_ONLY and _next(ctx) == "40_mfa_protected_access"
    )  # 45 is optional: never named


def test_an_enabled_device_counts_for_21_without_its_qr_file(ctx, home):
    """After 2.2 the QR file may be deleted (the phone holds the seed): 21's device is still done."""
    qr = mfa_outfile(SEED_DIR_MFA_OUTFILE, SEED_DEVICE_NAME)
    hh.create_user(ctx, SEED_USER_NAME, SEED_USER_PATH)
    serial = hh.create_virtual_mfa_device(ctx, SEED_DEVICE_NAME, qr)
    hh.enable_mfa_device(ctx, SEED_USER_NAME, serial, *phone_codes(str(expand(qr))))
    expand(qr).unlink()
    assert _states(ctx)[:3] == ["✔", "✔", "✔"]


def test_a_user_of_that_name_elsewhere_is_not_section_1s(ctx, iam, home):
    iam.create_user(UserName=SEED_USER_NAME, Path="/elsewhere/")
    assert _states(ctx) == ["-"] * 6 and _next(ctx) == "01_preparation"


def test_a_key_file_whose_key_iam_does_not_hold_is_not_31s(ctx, iam, home):
    key_file = access_key_file(SEED_DIR_ACCESS_KEY, SEED_USER_NAME)
    hh.create_user(ctx, SEED_USER_NAME, SEED_USER_PATH)
    key_id = hh.create_access_key(ctx, SEED_USER_NAME, key_file)
    assert _states(ctx)[3] == "✔"
    iam.delete_access_key(UserName=SEED_USER_NAME, AccessKeyId=key_id)
    assert expand(key_file).exists() and _states(ctx)[3] == "-"
