"""45: a second virtual device, added by the IAM user only through an MFA session; 後始末 removes it."""

import asyncio
import json
import os

import pytest
from helpers import DEVICE, PATH, USER, make_user_and_device, outfile, phone_codes, shown
from test_bad_input import iam_state

import handson_helpers as hh
from handson_helpers import access_key, mfa_session, room, totp, workshop
from handson_helpers.settings import MANAGE_MFA_POLICY_NAME, SEED_BACKUP_DEVICE_NAME, expand, mfa_outfile

BACKUP = SEED_BACKUP_DEVICE_NAME


@pytest.fixture
def learner(ctx, iam, tmp_path):
    """The state after 40: user, enabled device, access key, the MFA-required policy; 45's paths."""
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    assert hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr)) == "enabled"
    key_file = str(tmp_path / "environment" / "tmp-handson-cli-iam-user-basic" / f"{USER}-access-key.txt")
    hh.create_access_key(ctx, USER, key_file)
    hh.put_mfa_policy(ctx, USER)
    backup_qr = mfa_outfile(os.path.dirname(qr), BACKUP)
    return {
        "qr": qr,
        "serial": serial,
        "key_file": key_file,
        "keys": access_key.read_key_file(expand(key_file)),
        "backup_qr": backup_qr,
    }


def add_backup(ctx, learner):
    hh.put_manage_mfa_policy(ctx, USER, PATH)
    session = asyncio.run(hh.session_with_form(ctx, learner["keys"], learner["serial"], learner["qr"], wait=False))
    backup = hh.create_backup_device(ctx, session, USER, BACKUP, learner["backup_qr"])
    code1, code2 = totp.authenticator_codes(totp.secret_from_qr(expand(learner["backup_qr"])), 2)
    assert hh.enable_mfa_device(hh.as_user(ctx, session), USER, backup, code1, code2) == "enabled"
    return session, backup


def test_the_user_adds_a_second_device_only_with_an_mfa_session(ctx, iam, learner, monkeypatch):
    monkeypatch.setenv("HANDSON_AUTO_MFA", "1")
    hh.put_manage_mfa_policy(ctx, USER, PATH)
    before = iam_state(iam)
    assert hh.create_refused_without_mfa(ctx, learner["keys"], USER, BACKUP, learner["backup_qr"]) == "AccessDenied"
    assert iam_state(iam) == before and not expand(learner["backup_qr"]).exists()
    assert "is not authorized to perform: iam:CreateVirtualMFADevice" in shown(ctx)
    user_ctx = hh.as_user(ctx, learner["keys"])  # the same user's other MFA calls: refused without MFA too
    with pytest.raises(hh.HandsonError) as err:
        hh.enable_mfa_device(user_ctx, USER, learner["serial"], "123456", "654321")
    assert err.value.code == "AccessDenied"
    session, backup = add_backup(ctx, learner)
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=USER)["MFADevices"]] == [learner["serial"], backup]
    assert {"Key": "handson-kit", "Value": "iam-mfa"} in iam.list_mfa_device_tags(SerialNumber=backup)["Tags"]
    hh.verify_backup_device(ctx, USER, learner["serial"], backup)
    # either device now gives a session
    code = totp.authenticator_codes(totp.secret_from_qr(expand(learner["backup_qr"])), 1)[0]
    assert mfa_session.get_session_token(ctx, learner["keys"], backup, code).key_id.startswith("ASIA")
    # a rerun changes nothing
    assert hh.create_refused_without_mfa(ctx, learner["keys"], USER, BACKUP, learner["backup_qr"]) == ""
    assert hh.create_backup_device(ctx, session, USER, BACKUP, learner["backup_qr"]) == backup
    assert len(iam.list_mfa_devices(UserName=USER)["MFADevices"]) == 2


def test_without_a_session_the_steps_say_what_to_run(ctx, learner):
    with pytest.raises(hh.HandsonError) as err:
        hh.create_backup_device(ctx, None, USER, BACKUP, learner["backup_qr"])
    assert err.value.code == "NoSession" and "一時的な認証情報の取得" in err.value.message


def test_aws_allows_at_most_eight_mfa_devices_per_user(ctx, iam, learner):
    hh.put_manage_mfa_policy(ctx, USER, PATH)
    session = asyncio.run(hh.session_with_form(ctx, learner["keys"], learner["serial"], learner["qr"], wait=False))

    def enable(name):
        created = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
        code1, code2 = totp.authenticator_codes(created["Base32StringSeed"].decode(), 2)
        iam.enable_mfa_device(
            UserName=USER, SerialNumber=created["SerialNumber"], AuthenticationCode1=code1, AuthenticationCode2=code2
        )

    for n in range(7):  # 1 + 7 = 8
        enable(f"extra-{n}")
    with pytest.raises(iam.exceptions.LimitExceededException) as err:
        enable("ninth")
    assert err.value.response["Error"]["Message"] == "Cannot exceed quota for MFADevicesPerUser: 8"
    before = iam_state(iam)
    with pytest.raises(hh.HandsonError) as err:  # the kit says so before creating anything
        hh.create_backup_device(ctx, session, USER, BACKUP, learner["backup_qr"])
    assert err.value.code == "LimitExceeded" and "8 個まで" in err.value.message
    assert iam_state(iam) == before and not expand(learner["backup_qr"]).exists()


def test_cleanup_removes_the_backup_device_its_qr_and_both_policies(ctx, iam, learner):
    _, backup = add_backup(ctx, learner)
    ctx.report.reports.clear()
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, learner["qr"], learner["key_file"])
    table = shown(ctx)
    assert not plan.refused and plan.backup.deactivate and plan.backup.delete_device and plan.backup.delete_file
    assert set(plan.access.policies) == {"handson-cli-require-mfa", MANAGE_MFA_POLICY_NAME}
    assert table.index("予備のMFAデバイスの無効化") < table.index("IAMユーザーの削除")
    hh.run_cleanup(ctx, plan)
    hh.verify_cleanup(ctx, USER, DEVICE, learner["qr"], learner["key_file"])
    assert iam.list_users()["Users"] == [] and iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    assert not expand(learner["backup_qr"]).exists() and not expand(learner["qr"]).exists()


@pytest.mark.parametrize(
    "case", ["untagged backup device", "backup QR file of other content", "backup assigned to another user"]
)
def test_cleanup_with_a_backup_that_is_not_the_kits_deletes_nothing(ctx, iam, learner, case):
    serial = f"arn:aws:iam::123456789012:mfa/{BACKUP}"
    if case == "untagged backup device":
        created = iam.create_virtual_mfa_device(VirtualMFADeviceName=BACKUP)["VirtualMFADevice"]
        code1, code2 = totp.authenticator_codes(created["Base32StringSeed"].decode(), 2)
        iam.enable_mfa_device(UserName=USER, SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    elif case == "backup QR file of other content":
        expand(learner["backup_qr"]).write_text("my notes")
    else:
        add_backup(ctx, learner)
        iam.deactivate_mfa_device(UserName=USER, SerialNumber=serial)
        iam.create_user(UserName="someone")
        code1, code2 = totp.authenticator_codes(totp.secret_from_qr(expand(learner["backup_qr"])), 2)
        iam.enable_mfa_device(
            UserName="someone", SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2
        )
    before = iam_state(iam), sorted(os.listdir(expand(learner["qr"]).parent))
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, learner["qr"], learner["key_file"])
    assert plan.refused and plan.empty
    hh.run_cleanup(ctx, plan)
    assert (iam_state(iam), sorted(os.listdir(expand(learner["qr"]).parent))) == before


def test_workshop_cleanup_removes_backup_devices_and_45s_policy(ctx, iam, learner):
    add_backup(ctx, learner)
    [row] = workshop.status(ctx)  # one row per participant: the backup is not a participant of its own
    assert row.serial == learner["serial"] and row.enabled
    assert workshop.cleanup(ctx, yes=True) == 0
    assert iam.list_users()["Users"] == [] and iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_workshop_cleanup_removes_a_backup_device_made_but_never_enabled(ctx, iam, tmp_path):
    hh.create_user(ctx, USER, PATH)
    hh.create_virtual_mfa_device(ctx, BACKUP, str(tmp_path / "backup.png"))
    iam.create_virtual_mfa_device(VirtualMFADeviceName=BACKUP + "-not-the-kits")
    assert workshop.cleanup(ctx, yes=True) == 0
    assert [d["SerialNumber"].rsplit("/", 1)[1] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]] == [
        BACKUP + "-not-the-kits"
    ]


def test_the_rooms_scope_reaches_the_participants_backup_device_and_no_others():
    policy = room.scope_policy("alice")
    [own] = [s for s in policy["Statement"] if s["Sid"] == "OwnDevice"]
    assert own["Resource"] == [
        "arn:aws:iam::123456789012:mfa/handson-cli-basic-user-mfa-alice",
        "arn:aws:iam::123456789012:mfa/handson-cli-basic-user-mfa-backup-alice",
    ]
    assert "bob" not in json.dumps(policy)
    assert hh.scoped(SEED_BACKUP_DEVICE_NAME, "alice") == "handson-cli-basic-user-mfa-backup-alice"
