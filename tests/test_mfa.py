"""2.1 and 2.2 (mfa.py): the QR folder and file are made only where safe, a QR path that is not the kit's
gets a Japanese message, and a section run too early names the one to run first."""

import asyncio
import os
import re
import stat
from pathlib import Path

import pytest
from helpers import DEVICE, FOLDERS, USER, _folder, _modes, aws_args, make_user_and_device, phone_codes

import handson_helpers as hh
from handson_helpers import mfa, settings


@pytest.mark.parametrize("kind", FOLDERS)
def test_the_qr_folder_is_created_only_when_missing_and_never_chmodded(ctx, iam, tmp_path, kind):
    folder, refused = _folder(tmp_path, kind)
    before = _modes(tmp_path)
    outfile = str(folder / "handson-cli-basic-user-mfa.png")
    preparation = settings.problem("DIR_MFA_OUTFILE", str(folder))
    if refused:
        with pytest.raises(hh.HandsonError) as err:
            hh.create_virtual_mfa_device(ctx, "handson-cli-basic-user-mfa", outfile)
        assert "ディレクトリ" in err.value.message and "何も変更していません" in err.value.message
        assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
        assert _modes(tmp_path) == before
        assert preparation is not None, "01 準備 said ✔ for a folder 21 refuses"
    else:
        hh.create_virtual_mfa_device(ctx, "handson-cli-basic-user-mfa", outfile)
        after = _modes(tmp_path)
        assert {k: v for k, v in after.items() if k in before} == before  # nothing existing changed
        created = Path(outfile)
        assert stat.S_IMODE(os.lstat(os.path.realpath(created)).st_mode) == 0o600
        for new in set(after) - set(before):
            if stat.S_ISDIR(after[new][0]):
                assert stat.S_IMODE(after[new][0]) == 0o700
        assert preparation is None, "01 準備 said ✘ for a folder 21 accepts"


FILES = [
    ("a link to a file of yours", lambda p, victim: p.symlink_to(victim)),
    ("a link to nowhere", lambda p, victim: p.symlink_to(p.parent / "nowhere")),
    ("a folder", lambda p, victim: p.mkdir()),
    ("another user's file", lambda p, victim: (p.write_bytes(b"\x89PNG\r\n\x1a\nx"), os.chown(p, 65534, 65534))),
    ("a file that is not a PNG", lambda p, victim: p.write_text("notes I keep here")),
]


@pytest.mark.parametrize("case, make", FILES, ids=[f[0] for f in FILES])
def test_the_qr_file_is_never_written_through_a_link_or_over_a_foreign_file(ctx, iam, tmp_path, case, make):
    folder = tmp_path / "qr"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    path = folder / "handson-cli-basic-user-mfa.png"
    make(path, victim)
    before = _modes(tmp_path)
    with pytest.raises(hh.HandsonError):
        hh.create_virtual_mfa_device(ctx, "handson-cli-basic-user-mfa", str(path))
    assert victim.read_text() == "precious" and _modes(tmp_path) == before
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


QR_FILES = [
    ("a folder", lambda p: p.mkdir()),
    ("an empty file", lambda p: p.write_bytes(b"")),
    ("a text file", lambda p: p.write_text("not a picture")),
    (
        "a link to a real QR elsewhere",
        lambda p: (
            p.with_name("elsewhere.png").write_bytes(b"\x89PNG\r\n\x1a\n"),
            p.symlink_to(p.with_name("elsewhere.png")),
        ),
    ),
]


@pytest.mark.parametrize("case, make", QR_FILES, ids=[q[0] for q in QR_FILES])
def test_a_qr_path_that_is_not_the_kits_png_gets_a_japanese_message(ctx, iam, tmp_path, case, make):
    from helpers import DEVICE, PATH, USER
    from test_bad_input import iam_state

    hh.create_user(ctx, USER, PATH)
    qr = tmp_path / "qr" / f"{DEVICE}.png"
    serial = hh.create_virtual_mfa_device(ctx, DEVICE, str(qr))
    qr.unlink()
    make(qr)
    before = iam_state(iam)
    with pytest.raises(hh.HandsonError) as err:
        asyncio.run(hh.enable_with_form(ctx, USER, serial, str(qr)))
    assert (
        err.value.code == "QrFileMissing" and "QRコード" in err.value.message and "Traceback" not in err.value.message
    )
    assert iam_state(iam) == before and os.path.lexists(qr)


def test_22_before_10_says_so_before_showing_the_form(ctx, iam, tmp_path):
    from helpers import DEVICE, USER

    serial = hh.create_virtual_mfa_device(ctx, DEVICE, str(tmp_path / "qr.png"))
    ctx.report.reports.clear()
    with pytest.raises(hh.HandsonError) as err:
        asyncio.run(hh.enable_with_form(ctx, USER, serial, str(tmp_path / "qr.png")))
    assert err.value.code == "NoUser" and "10_create_iam_user" in err.value.message
    assert ctx.report.reports == []


def test_22_before_21_names_the_section_to_run(ctx):
    from helpers import DEVICE

    with pytest.raises(hh.HandsonError) as err:
        hh.find_device_serial(ctx, ctx.account_id, DEVICE)
    assert err.value.code == "NoDevice" and "21_create_virtual_mfa_device" in err.value.message


def test_a_serial_is_the_one_iam_gives_and_names_its_device(ctx, tmp_path):
    serial = hh.create_virtual_mfa_device(ctx, DEVICE, str(tmp_path / "qr.png"))
    assert serial == mfa.serial_for(ctx.account_id, DEVICE) and mfa.device_name_of(serial) == DEVICE
    assert mfa.device_name_of("arn:aws:iam::123456789012:mfa/some/path/phone") == "phone"


def test_qr_problem_says_why_a_file_is_not_the_kits(ctx, tmp_path):
    qr = tmp_path / "qr" / f"{DEVICE}.png"
    assert mfa.qr_problem(str(qr)) == "ありません"
    hh.create_virtual_mfa_device(ctx, DEVICE, str(qr))
    assert mfa.qr_problem(str(qr)) is None
    qr.unlink()
    qr.write_text("not a picture")
    assert "ではありません" in mfa.qr_problem(str(qr))


def test_a_device_is_read_from_iam_before_and_after_it_is_enabled(ctx, iam, tmp_path):
    qr = str(tmp_path / "qr.png")
    serial = make_user_and_device(ctx, qr)
    assert mfa.get_device(ctx, serial)["SerialNumber"] == serial and "User" not in mfa.get_device(ctx, serial)
    assert mfa.get_device(ctx, mfa.serial_for(ctx.account_id, "no-such-device")) is None
    assert mfa.device_tags(ctx, serial) == settings.kit_tags(ctx.participant)
    assert mfa.device_tags(ctx, mfa.serial_for(ctx.account_id, "no-such-device")) == []
    assert mfa.enabled_users(ctx, USER) == []
    with pytest.raises(hh.HandsonError) as not_yet:
        mfa.require_assigned(ctx, USER, serial)
    assert not_yet.value.code == "NotAssigned" and "22_enable_virtual_mfa_device" in not_yet.value.message
    hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr))
    assert mfa.get_device(ctx, serial)["User"]["UserName"] == USER and mfa.enabled_users(ctx, USER) == [USER]
    mfa.require_assigned(ctx, USER, serial)
    iam.create_user(UserName="someone-else")
    with pytest.raises(hh.HandsonError) as elsewhere:
        mfa.require_assigned(ctx, "someone-else", serial)
    assert elsewhere.value.code == "NotAssigned" and USER in elsewhere.value.message
    with pytest.raises(hh.HandsonError) as missing:
        mfa.require_assigned(ctx, USER, mfa.serial_for(ctx.account_id, "no-such-device"))
    assert missing.value.code == "NoDevice" and "21_create_virtual_mfa_device" in missing.value.message


@pytest.mark.parametrize("participant", ["", "田中 太郎"])
def test_the_shown_2_1_steps_pass_exactly_the_kits_values(tmp_path, participant):
    folder, outfile = str(tmp_path / "q r"), str(tmp_path / "q r" / "d.png")
    mkdir, create = mfa.create_commands("d", "QRCodePNG", folder, outfile, participant)
    values = {
        "DIR_MFA_OUTFILE": folder,
        "MFA_DEVICE_NAME": "d",
        "MFA_BOOTSTRAP_METHOD": "QRCodePNG",
        "FILE_MFA_OUTFILE": outfile,
    }
    args = aws_args(f"{mkdir}\n{create}", **values)
    assert args[:8] == [
        "iam",
        "create-virtual-mfa-device",
        "--virtual-mfa-device-name",
        "d",
        "--bootstrap-method",
        "QRCodePNG",
        "--outfile",
        outfile,
    ]
    assert args[8] == "--tags" and stat.S_IMODE(os.stat(folder).st_mode) == 0o700


@pytest.mark.parametrize(
    "command, verb", [(mfa.enable_command, "enable-mfa-device"), (mfa.resync_command, "resync-mfa-device")]
)
def test_the_shown_pair_step_takes_the_two_codes_from_their_variables(command, verb):
    serial = "arn:aws:iam::123456789012:mfa/d"
    args = aws_args(
        command(USER, serial),
        IAM_USER_NAME=USER,
        MFA_DEVICE_SERIAL=serial,
        MFA_AUTH_CODE1="111111",
        MFA_AUTH_CODE2="222222",
    )
    assert args == [
        "iam",
        verb,
        "--user-name",
        USER,
        "--serial-number",
        serial,
        "--authentication-code1",
        "111111",
        "--authentication-code2",
        "222222",
    ]


@pytest.mark.parametrize(
    "show, verb", [(mfa.show_enable_check, "enable-mfa-device"), (mfa.show_resync_check, "resync-mfa-device")]
)
def test_the_check_before_the_form_shows_placeholders_never_codes_or_the_account(monkeypatch, show, verb):
    from handson_helpers import display

    shown = []
    monkeypatch.setattr(display.SHOW, "emit", lambda report: shown.append(report.text))
    show(USER, "arn:aws:iam::123456789012:mfa/d")
    text = "\n".join(shown)
    assert "MFA_AUTH_CODE1='<連続した認証コードの1回目>'" in text and "(下のフォームに入力します)" in text
    assert "arn:aws:iam::XXXXXXXXXXXX:mfa/d" in text and f"aws iam {verb}" in text
    assert not re.search(r"\b[0-9]{6}\b", text)
    assert mfa.enable_check_lines(USER, "arn:aws:iam::123456789012:mfa/d")[:2] == [
        ("IAM_USER_NAME", USER),
        ("MFA_DEVICE_SERIAL", "arn:aws:iam::XXXXXXXXXXXX:mfa/d"),
    ]


def test_verify_device_created_wants_the_device_and_a_private_qr_file(ctx, iam, tmp_path):
    qr = tmp_path / "qr" / f"{DEVICE}.png"
    serial = hh.create_virtual_mfa_device(ctx, DEVICE, str(qr))
    mfa.verify_device_created(ctx, DEVICE, str(qr))
    qr.chmod(0o644)
    with pytest.raises(hh.HandsonError) as readable:
        mfa.verify_device_created(ctx, DEVICE, str(qr))
    assert readable.value.code == "CheckFailed"
    qr.chmod(0o600)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with pytest.raises(hh.HandsonError):
        mfa.verify_device_created(ctx, DEVICE, str(qr))


def test_the_console_view_lists_the_users_devices_as_the_console_does(ctx, iam, tmp_path):
    qr = str(tmp_path / "qr.png")
    serial = make_user_and_device(ctx, qr)
    mfa.console_view(ctx, USER)
    assert "(なし)" in ctx.report.reports[-1].text and serial not in ctx.report.reports[-1].text
    hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr))
    mfa.console_view(ctx, USER)
    enabled = iam.list_mfa_devices(UserName=USER)["MFADevices"][0]["EnableDate"].strftime("%Y-%m-%d")
    assert serial in ctx.report.reports[-1].text and enabled in ctx.report.reports[-1].text
    mfa.console_view(ctx, "nobody-here")
    assert "(なし)" in ctx.report.reports[-1].text
