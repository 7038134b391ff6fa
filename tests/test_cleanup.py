"""後始末: says what it will delete, deletes in IAM's order, touches nothing that is not the kit's."""

from pathlib import Path

import pytest
from helpers import DEVICE, PATH, USER, make_user_and_device, outfile, phone_codes, shown

import handson_helpers as hh
from handson_helpers import settings
from handson_helpers.settings import expand


def test_cleanup_after_the_whole_hands_on(ctx, iam, tmp_path):
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr))
    iam.create_user(UserName="not-the-kits", Path=PATH)
    ctx.report.reports.clear()
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, qr)
    table = shown(ctx)
    assert plan.deactivate and plan.delete_device and plan.delete_user and plan.delete_file
    assert table.index("MFAデバイスの無効化") < table.index("仮想MFAデバイスの削除") < table.index("IAMユーザーの削除")
    hh.run_cleanup(ctx, plan)
    hh.verify_cleanup(ctx, USER, DEVICE, qr)
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["not-the-kits"]
    assert not expand(qr).exists()


def test_cleanup_is_idempotent_and_works_half_way(ctx, iam, tmp_path):
    qr = outfile(tmp_path)
    hh.create_user(ctx, USER, PATH)  # stopped after section 1
    for _ in range(2):
        hh.run_cleanup(ctx, hh.plan_cleanup(ctx, USER, PATH, DEVICE, qr))
        hh.verify_cleanup(ctx, USER, DEVICE, qr)
    assert iam.list_users()["Users"] == []


def test_a_user_of_the_same_name_not_made_by_the_kit_is_left_alone(ctx, iam, tmp_path):
    iam.create_user(UserName=USER, Path=PATH)  # same name and path, but no kit tag
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, outfile(tmp_path))
    assert not plan.delete_user and plan.refused
    hh.run_cleanup(ctx, plan)
    assert [u["UserName"] for u in iam.list_users()["Users"]] == [USER]


def test_a_device_assigned_to_someone_else_is_left_alone(ctx, iam, tmp_path):
    qr = outfile(tmp_path)
    serial = hh.create_virtual_mfa_device(ctx, DEVICE, qr)
    iam.create_user(UserName="someone")
    code1, code2 = phone_codes(qr)
    iam.enable_mfa_device(UserName="someone", SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, qr)
    assert not plan.deactivate and not plan.delete_device and plan.refused
    hh.run_cleanup(ctx, plan)
    assert iam.list_mfa_devices(UserName="someone")["MFADevices"][0]["SerialNumber"] == serial


def test_a_leftover_access_key_stops_cleanup_before_anything_is_deleted(ctx, iam, tmp_path):
    qr = outfile(tmp_path)
    make_user_and_device(ctx, qr)
    iam.create_access_key(UserName=USER)
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, qr)
    hh.run_cleanup(ctx, plan)
    assert plan.empty and any("アクセスキー" in reason for reason in plan.refused)
    assert "何も削除しません" in shown(ctx)
    assert [u["UserName"] for u in iam.list_users()["Users"]] == [USER]
    assert len(iam.list_virtual_mfa_devices()["VirtualMFADevices"]) == 1  # not half-cleaned


def test_one_participants_cleanup_never_touches_another_participants_resources(sandbox, iam, tmp_path):
    """In a shared account: 田中 and 佐藤 each run 1 → 2.1 → 2.2; 佐藤's 後始末 leaves 田中's alone."""
    from helpers import phone_codes

    done = {}
    for who in ("田中", "佐藤"):
        ctx = hh.connect(hh.Silent(), participant=who)
        user, device = (
            settings.scoped("handson-cli-basic-user", who),
            settings.scoped("handson-cli-basic-user-mfa", who),
        )
        qr = str(tmp_path / who / f"{device}.png")
        hh.create_user(ctx, user, "/handson-cli/")
        serial = hh.create_virtual_mfa_device(ctx, device, qr)
        assert hh.enable_mfa_device(ctx, user, serial, *phone_codes(qr)) == "enabled"
        done[who] = (ctx, user, device, qr)
    ctx, user, device, qr = done["佐藤"]
    hh.run_cleanup(ctx, hh.plan_cleanup(ctx, user, "/handson-cli/", device, qr))
    hh.verify_cleanup(ctx, user, device, qr)
    tanaka = done["田中"][1]
    assert [u["UserName"] for u in iam.list_users()["Users"]] == [tanaka]
    tags = iam.list_user_tags(UserName=tanaka)["Tags"]
    assert {"Key": "handson-participant", "Value": "田中"} in tags
    rows = hh.workshop_status(done["田中"][0])
    assert [(r.participant, r.enabled) for r in rows] == [("田中", True)]


def test_a_cleanup_leaves_a_same_named_user_of_another_participant_alone(sandbox, iam, tmp_path):
    ctx = hh.connect(hh.Silent(), participant="mallory")
    name = settings.scoped("handson-cli-basic-user", "alice")
    iam.create_user(UserName=name, Path="/handson-cli/", Tags=settings.kit_tags("alice"))
    plan = hh.plan_cleanup(
        ctx, name, "/handson-cli/", settings.scoped("handson-cli-basic-user-mfa", "alice"), str(tmp_path / "x.png")
    )
    assert plan.empty and plan.refused
    hh.run_cleanup(ctx, plan)
    assert [u["UserName"] for u in iam.list_users()["Users"]] == [name]
    with pytest.raises(hh.HandsonError) as err:
        hh.create_user(ctx, name, "/handson-cli/")
    assert err.value.code == "ForeignUser"


CLI_MADE = [
    ("user and device made in a terminal", True, True),
    ("only the user made in a terminal", True, False),
    ("only the device made in a terminal", False, True),
    ("everything made by the kit", False, False),
]


@pytest.mark.parametrize("case, cli_user, cli_device", CLI_MADE, ids=[c[0] for c in CLI_MADE])
def test_cleanup_of_resources_made_in_a_terminal_is_all_or_nothing(ctx, iam, tmp_path, case, cli_user, cli_device):
    from helpers import DEVICE, PATH, USER, phone_codes, shown
    from test_bad_input import iam_state

    qr = tmp_path / "qr" / f"{DEVICE}.png"
    if cli_user:
        iam.create_user(UserName=USER, Path=PATH)
    else:
        hh.create_user(ctx, USER, PATH)
    if cli_device:
        qr.parent.mkdir(mode=0o700)
        created = iam.create_virtual_mfa_device(VirtualMFADeviceName=DEVICE)["VirtualMFADevice"]
        qr.write_bytes(created["QRCodePNG"])
        qr.chmod(0o600)
        serial = created["SerialNumber"]
    else:
        serial = hh.create_virtual_mfa_device(ctx, DEVICE, str(qr))
    hh.enable_mfa_device(ctx, USER, serial, *phone_codes(str(qr)))
    before = iam_state(iam)
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, str(qr))
    hh.run_cleanup(ctx, plan)
    out = shown(ctx)
    if cli_user or cli_device:  # not the kit's: nothing at all is deleted, and the learner gets the commands
        assert plan.empty and plan.refused and iam_state(iam) == before and qr.exists()
        assert "aws iam deactivate-mfa-device" in out and "aws iam delete-virtual-mfa-device" in out
        with pytest.raises(hh.HandsonError):
            hh.verify_cleanup(ctx, USER, DEVICE, str(qr))
    else:
        hh.verify_cleanup(ctx, USER, DEVICE, str(qr))


ATTACHED = [
    ("an access key made in a terminal", lambda iam: iam.create_access_key(UserName="handson-cli-basic-user")),
    (
        "an inline policy",
        lambda iam: iam.put_user_policy(
            UserName="handson-cli-basic-user",
            PolicyName="p",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}',
        ),
    ),
    (
        "a login profile",
        lambda iam: iam.create_login_profile(UserName="handson-cli-basic-user", Password="Passw0rd!Passw0rd!"),
    ),
    (
        "a group",
        lambda iam: (
            iam.create_group(GroupName="g"),
            iam.add_user_to_group(GroupName="g", UserName="handson-cli-basic-user"),
        ),
    ),
]


@pytest.mark.parametrize("case, attach", ATTACHED, ids=[a[0] for a in ATTACHED])
def test_cleanup_deletes_nothing_when_the_kits_user_holds_something_else(ctx, iam, tmp_path, case, attach):
    from helpers import DEVICE, PATH, USER, make_user_and_device, phone_codes
    from test_bad_input import iam_state

    qr = str(tmp_path / "qr" / f"{DEVICE}.png")
    serial = make_user_and_device(ctx, qr)
    hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr))
    attach(iam)
    before = iam_state(iam)
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, qr)
    hh.run_cleanup(ctx, plan)
    assert plan.empty and plan.refused and iam_state(iam) == before and Path(qr).exists()
