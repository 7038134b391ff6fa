"""Every command the kit shows, pasted into bash with its variables, does exactly what the kit did
(sections 1 to 40, then 後始末), and no value typed into a setting runs as a command."""

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import PHONE, terminal_env
from helpers import typed as typed_codes

import handson_helpers as hh
from handson_helpers import settings


def _values(tmp_path, case):
    home = Path(os.environ["HOME"])
    marker = tmp_path / "pwned"
    if case == "the seed's values":
        return "", "/handson-cli/", "${HOME}/environment/tmp-handson-cli-iam-user-basic", marker
    if case == "a path that runs a command, a folder with a space, $(…) and a quote":
        return "", f"/a;touch${{IFS}}{marker};/", str(home / f"q r $(touch {marker}) it's"), marker
    if case == "a path that globs, a folder with a backtick, a participant tag in JSON":
        return "田中 太郎", "/*/", str(home / f"b`touch {marker}`x"), marker
    raise AssertionError(case)


PASTE_CASES = [
    "the seed's values",
    "a path that runs a command, a folder with a space, $(…) and a quote",
    "a path that globs, a folder with a backtick, a participant tag in JSON",
]


def _kit_run(who, user_path, directory, shown, monkeypatch):
    """Sections 1, 2.1, 2.2, 3.1, 40 and 後始末 through the kit; returns IAM's state before 後始末."""
    from handson_helpers import display

    class Recorder(hh.Reporter):
        def emit(self, report):
            shell = report.shell
            if shell and report.refused:  # shown failing on purpose: it must fail in bash too
                shell = f"if (\n{shell}\n); then echo 'AWS accepted what it must refuse' >&2; exit 97; fi"
            shown.append(shell)

    recorder = Recorder()
    monkeypatch.setattr(display.SHOW, "emit", recorder.emit)  # 設定値の確認 and 40's 変数の確認 have no Context
    monkeypatch.setenv("HANDSON_PARTICIPANT", who)
    user, device = settings.scoped("handson-cli-basic-user"), settings.scoped("handson-cli-basic-user-mfa")
    outfile = settings.mfa_outfile(directory, device)
    # a learner who never ran 45: no backup QR beside 2.1's (nbval's 45 on this worker may have left one)
    settings.expand(settings.mfa_outfile(directory, settings.scoped(settings.SEED_BACKUP_DEVICE_NAME))).unlink(
        missing_ok=True
    )
    ctx = hh.connect(recorder)

    def check(**values):
        try:
            hh.check_settings(**values)
        except hh.HandsonError as exc:  # a value other than the seed's: shown, then Run All would stop
            assert exc.code == "SettingMismatch"

    check(IAM_USER_NAME=user, IAM_USER_PATH=user_path)
    hh.create_user(ctx, user, user_path)
    hh.verify_user(ctx, user, user_path)
    check(MFA_DEVICE_NAME=device, MFA_BOOTSTRAP_METHOD="QRCodePNG", DIR_MFA_OUTFILE=directory, FILE_MFA_OUTFILE=outfile)
    hh.create_virtual_mfa_device(ctx, device, outfile)
    assert (
        hh.set_variables(IAM_USER_NAME=user, IAM_USER_PATH=user_path, MFA_DEVICE_NAME=device, DIR_MFA_OUTFILE=directory)
        == outfile
    )  # 22's 設定値の指定
    check(IAM_USER_NAME=user, IAM_USER_PATH=user_path, MFA_DEVICE_NAME=device, FILE_MFA_OUTFILE=outfile)
    account = hh.get_account_id(ctx)
    serial = hh.find_device_serial(ctx, account, device)
    shown.append(
        "MFA_AUTH_CODE1='<"
    )  # what show_enable_check shows before the form (the form shows the command), typed from the phone
    assert asyncio.run(hh.enable_with_form(ctx, user, serial, outfile, wait=False)) == "enabled"
    hh.verify_mfa_enabled(ctx, user)
    key_file = settings.access_key_file(directory, user)
    check(IAM_USER_NAME=user, DIR_ACCESS_KEY=directory, FILE_ACCESS_KEY=key_file)
    hh.create_access_key(ctx, user, key_file)
    hh.verify_access_key(ctx, user, key_file)
    policy = settings.KIT_POLICY_NAME
    check(
        IAM_USER_NAME=user,
        IAM_USER_PATH=user_path,
        MFA_DEVICE_NAME=device,
        FILE_MFA_OUTFILE=outfile,
        FILE_ACCESS_KEY=key_file,
        POLICY_NAME=policy,
    )
    hh.put_mfa_policy(ctx, user, policy)
    keys = hh.user_keys(ctx, key_file)
    hh.caller_arn(ctx, keys)
    assert not hh.protected_read(ctx, keys, user, user_path).allowed
    mfa_serial = hh.mfa_serial(ctx, user)
    hh.wrong_code_refused(ctx, keys, mfa_serial)
    hh.show_session_step(keys, mfa_serial)
    session = asyncio.run(hh.session_with_form(ctx, keys, mfa_serial, outfile, wait=False))
    assert hh.protected_read(ctx, session, user, user_path).allowed
    hh.verify_mfa_protection(ctx, user, user_path, keys, session)
    state = _state(ctx.iam, settings.expand(outfile))
    shown.append("CLEANUP")
    check(
        IAM_USER_NAME=user,
        IAM_USER_PATH=user_path,
        MFA_DEVICE_NAME=device,
        FILE_MFA_OUTFILE=outfile,
        FILE_ACCESS_KEY=key_file,
        POLICY_NAME=policy,
    )
    hh.get_account_id(ctx)
    hh.run_cleanup(ctx, hh.plan_cleanup(ctx, user, user_path, device, outfile, key_file, policy))
    hh.verify_cleanup(ctx, user, device, outfile, key_file)
    assert not os.path.lexists(settings.expand(key_file))
    return state, settings.expand(outfile)


def _state(iam, qr: Path):
    users = sorted(
        (
            u["UserName"],
            u["Path"],
            tuple(
                sorted(
                    (t["Key"], t["Value"][:4] if t["Key"] == "handson-access-key" else t["Value"])
                    for t in iam.list_user_tags(UserName=u["UserName"])["Tags"]
                )
            ),
            len(iam.list_access_keys(UserName=u["UserName"])["AccessKeyMetadata"]),
            tuple(iam.list_user_policies(UserName=u["UserName"])["PolicyNames"]),
        )
        for u in iam.list_users()["Users"]
    )
    devices = sorted(
        (d["SerialNumber"], d.get("User", {}).get("UserName"))
        for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]
    )
    return users, devices, os.path.lexists(qr) and stat.S_IMODE(os.lstat(qr).st_mode)


@pytest.mark.parametrize("case", PASTE_CASES)
def test_pasting_every_shown_command_into_bash_does_exactly_what_the_kit_did(
    sandbox, iam, tmp_path, case, monkeypatch, zygote
):
    who, user_path, directory, marker = _values(tmp_path, case)
    shown = []
    kit_state, qr = _kit_run(who, user_path, directory, shown, monkeypatch)
    assert iam.list_users()["Users"] == [] and not os.path.lexists(qr)
    texts = [s for s in shown if s]
    cut = texts.index("CLEANUP")
    setup = [typed_codes(t) for t in texts[:cut]]  # 22's and 40's placeholders, typed from the phone
    env = terminal_env(
        sandbox, tmp_path, PHONE=PHONE, PATH=f"{zygote.bin}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    )
    for part, commands in (("sections 1 to 40", setup), ("後始末", texts[cut + 1 :])):
        script = "set -eu\n" + "\n".join(commands) + "\n"
        proc = subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path
        )
        assert proc.returncode == 0, f"{part}: {proc.stderr[-2000:]}"
        assert not marker.exists(), f"{part}: a pasted command ran a payload"
        if part == "sections 1 to 40":
            assert _state(iam, qr) == kit_state, "the pasted commands did not reproduce what the kit did"
    assert _state(iam, qr) == ([], [], False)
    assert not qr.parent.exists() or not [p for p in qr.parent.iterdir() if p.name.endswith("-access-key.txt")], (
        "the key file was left behind"
    )
