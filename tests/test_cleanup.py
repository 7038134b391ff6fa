"""後始末: says what it will delete, deletes in IAM's order, touches nothing that is not the kit's."""

from helpers import DEVICE, PATH, USER, make_user_and_device, outfile, phone_codes, shown

import handson_helpers as hh
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
