"""3.1 and 40 through the kit: idempotent steps, no secret shown anywhere, exact 後始末, and the
requests a real AWS account receives (botocore's Stubber)."""

import asyncio
import dataclasses
import os
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from functools import partial

import pytest
from helpers import DEVICE, PATH, USER, make_user_and_device, outfile, phone_codes, shown, stubbed
from secret_scan import scan_text

import handson_helpers as hh
from handson_helpers import access_cleanup, access_key, credentials, mfa_policy, mfa_session, settings, target, workshop
from handson_helpers.settings import KIT_POLICY_NAME, expand
from handson_helpers.shell import assign


def key_file(home):
    return str(home / "environment" / "tmp-handson-cli-iam-user-basic" / f"{USER}-access-key.txt")


@pytest.fixture
def enabled(ctx, tmp_path):
    """1 → 2.1 → 2.2 done through the kit; yields (serial, qr file)."""
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    assert hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr)) == "enabled"
    return serial, qr


def secrets_in(keys: credentials.Keys) -> list[str]:
    return [s for s in (keys.secret, keys.token) if s]


def test_31_creates_one_private_key_file_and_a_rerun_changes_nothing(ctx, iam, enabled, tmp_path):
    kf = key_file(tmp_path)
    key_id = hh.create_access_key(ctx, USER, kf)
    assert hh.create_access_key(ctx, USER, kf) == key_id
    hh.verify_access_key(ctx, USER, kf)
    hh.key_console_view(ctx, USER)
    out = shown(ctx)
    keys = access_key.read_key_file(expand(kf))
    assert keys.key_id == key_id and stat.S_IMODE(os.lstat(kf).st_mode) == 0o600
    assert stat.S_IMODE(os.lstat(os.path.dirname(kf)).st_mode) == 0o700
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]] == [key_id]
    assert {"Key": "handson-access-key", "Value": key_id} in iam.list_user_tags(UserName=USER)["Tags"]
    assert keys.secret not in out and key_id not in out and scan_text(out) == []
    assert "length(AccessKeyMetadata[])" in out and "既に作成済み" in out and "✔ 完了確認" in out
    assert repr(keys).count("*") == 12 and keys.secret not in repr(keys)


def test_31_refuses_a_third_key_before_calling_aws(ctx, iam, enabled, tmp_path):
    for _ in range(2):
        iam.create_access_key(UserName=USER)  # made in a terminal: not the kit's
    with pytest.raises(hh.HandsonError) as err:
        hh.create_access_key(ctx, USER, key_file(tmp_path))
    assert err.value.code == "LimitExceeded" and "2 個まで" in err.value.message
    assert len(iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]) == 2 and not os.path.lexists(
        key_file(tmp_path)
    )


def test_31_lost_key_file_says_so_and_recreate_replaces_the_key(ctx, iam, enabled, tmp_path):
    kf = key_file(tmp_path)
    old = hh.create_access_key(ctx, USER, kf)
    os.unlink(kf)
    with pytest.raises(hh.HandsonError) as err:
        hh.create_access_key(ctx, USER, kf)
    assert err.value.code == "KeyFileMissing" and "recreate_access_key" in err.value.message
    new = hh.recreate_access_key(ctx, USER, kf)
    assert new != old and [k["AccessKeyId"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]] == [new]
    assert access_key.read_key_file(expand(kf)).key_id == new


@pytest.mark.parametrize("case", ["a link", "a file of other content", "a folder"])
def test_31_never_writes_over_or_through_something_else(ctx, iam, enabled, tmp_path, case):
    kf = expand(key_file(tmp_path))
    kf.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    if case == "a link":
        kf.symlink_to(victim)
    elif case == "a folder":
        kf.mkdir()
    else:
        kf.write_text("my notes")
    with pytest.raises(hh.HandsonError) as err:
        hh.create_access_key(ctx, USER, str(kf))
    assert err.value.code == "UnsafeFile"
    assert iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == [] and victim.read_text() == "precious"


def test_31_for_a_user_the_kit_did_not_create_changes_nothing(ctx, iam, tmp_path):
    iam.create_user(UserName=USER, Path=PATH)
    with pytest.raises(hh.HandsonError) as err:
        hh.create_access_key(ctx, USER, key_file(tmp_path))
    assert err.value.code == "ForeignUser" and iam.list_access_keys(UserName=USER)["AccessKeyMetadata"] == []


def run_40(ctx, kf, qr):
    hh.put_mfa_policy(ctx, USER, KIT_POLICY_NAME)
    keys = hh.user_keys(ctx, kf)
    arn = hh.caller_arn(ctx, keys)
    denied = hh.protected_read(ctx, keys, USER, PATH)
    serial = hh.mfa_serial(ctx, USER)
    assert hh.wrong_code_refused(ctx, keys, serial) == "AccessDenied"
    hh.show_session_step(keys, serial)
    session = asyncio.run(hh.session_with_form(ctx, keys, serial, qr, wait=False))
    allowed = hh.protected_read(ctx, session, USER, PATH)
    hh.verify_mfa_protection(ctx, USER, PATH, keys, session)
    return keys, session, arn, denied, allowed


def test_40_the_same_read_is_refused_with_the_key_and_allowed_with_mfa(ctx, iam, enabled, tmp_path, capsys):
    _, qr = enabled
    kf = key_file(tmp_path)
    hh.create_access_key(ctx, USER, kf)
    keys, session, arn, denied, allowed = run_40(ctx, kf, qr)
    out = shown(ctx) + capsys.readouterr().out  # show_session_step has no Context: it prints
    assert arn == f"arn:aws:iam::123456789012:user/handson-cli/{USER}"
    assert (denied.allowed, denied.code) == (False, "AccessDenied") and (allowed.allowed, allowed.text) == (True, USER)
    assert session.key_id.startswith("ASIA") and session.expiration > datetime.now(timezone.utc) + timedelta(hours=11)
    assert "MultiFactorAuthentication failed with invalid MFA one time pass code." in out
    assert "with an explicit deny in an identity-based policy" in out and "✔ 完了確認" in out
    for secret in secrets_in(keys) + secrets_in(session) + [keys.key_id, session.key_id]:
        assert secret not in out
    assert scan_text(out) == []
    assert iam.list_user_policies(UserName=USER)["PolicyNames"] == [KIT_POLICY_NAME]


def test_40_without_a_session_the_check_fails_and_says_what_to_do(ctx, iam, enabled, tmp_path):
    kf = key_file(tmp_path)
    hh.create_access_key(ctx, USER, kf)
    hh.put_mfa_policy(ctx, USER)
    keys = hh.user_keys(ctx, kf)
    with pytest.raises(hh.HandsonError) as err:
        hh.verify_mfa_protection(ctx, USER, PATH, keys, None)
    assert err.value.code == "CheckFailed" and "認証コード" in err.value.message


def test_40_before_31_or_22_names_the_section_to_run(ctx, iam, tmp_path):
    hh.create_user(ctx, USER, PATH)
    with pytest.raises(hh.HandsonError) as err:
        hh.user_keys(ctx, key_file(tmp_path))
    assert err.value.code == "NoKeyFile" and "31_create_access_key" in err.value.message
    with pytest.raises(hh.HandsonError) as err:
        hh.mfa_serial(ctx, USER)
    assert err.value.code == "NoMfa" and "22_enable_virtual_mfa_device" in err.value.message


@pytest.mark.parametrize(
    "typed, code", [("", "EmptyCode"), ("12a456", "NotDigits"), ("12345", "WrongLength"), ("000000", "InvalidMfaCode")]
)
def test_40_form_refuses_bad_codes_in_japanese_and_accepts_full_width_digits(ctx, iam, enabled, tmp_path, typed, code):
    from handson_helpers.session_form import MfaCodeForm
    from handson_helpers.totp import authenticator_codes, secret_from_qr

    serial, qr = enabled
    kf = key_file(tmp_path)
    hh.create_access_key(ctx, USER, kf)
    keys = access_key.read_key_file(expand(kf))
    form = MfaCodeForm(partial(mfa_session.get_session_token, ctx, keys, serial))
    form.code.value = typed
    form.submit()
    assert form.session is None and not form.finished and form.code.value == ""
    assert "✘" in form.status.value or "認証コード" in form.status.value
    with pytest.raises(hh.HandsonError) as err:
        mfa_session.get_session_token(ctx, keys, serial, typed)
    assert err.value.code == code
    form.code.value = authenticator_codes(secret_from_qr(expand(qr)), 1)[0].translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    form.submit()
    assert form.finished and form.session.key_id.startswith("ASIA") and form.code.value == ""
    form.submit()  # a second click only says it is done
    assert "取得済み" in form.status.value


def test_cleanup_removes_policy_keys_and_file_first_in_awss_order(ctx, iam, enabled, tmp_path):
    _, qr = enabled
    kf = key_file(tmp_path)
    hh.create_access_key(ctx, USER, kf)
    run_40(ctx, kf, qr)
    iam.create_user(UserName="not-the-kits", Path=PATH)
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, qr, kf)
    assert (
        plan.access.delete_policy and len(plan.access.keys) == 1 and plan.access.delete_file and not plan.access.foreign
    )
    ctx.report.reports.clear()
    hh.run_cleanup(ctx, plan)
    out = shown(ctx)
    order = [
        "unset ",
        "delete-user-policy",
        "delete-access-key",
        "rm ${FILE_ACCESS_KEY}",
        "deactivate-mfa-device",
        "delete-virtual-mfa-device",
        "delete-user \\\n",
        "rm ${FILE_MFA_OUTFILE}",
    ]
    positions = [out.index(step) for step in order]
    assert positions == sorted(positions), out
    hh.verify_cleanup(ctx, USER, DEVICE, qr, kf)
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["not-the-kits"] and not os.path.lexists(kf)


def test_cleanup_deletes_nothing_when_a_key_was_made_in_a_terminal_and_names_it(ctx, iam, enabled, tmp_path):
    _, qr = enabled
    kf = key_file(tmp_path)
    kit_key = hh.create_access_key(ctx, USER, kf)
    foreign = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, qr, kf)
    assert plan.empty and any(credentials.mask(foreign) in reason for reason in plan.refused)
    assert not any(credentials.mask(kit_key) in reason for reason in plan.refused)  # the kit's own key is not a reason
    hh.run_cleanup(ctx, plan)  # all or nothing: not half-cleaned
    assert sorted(k["AccessKeyId"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]) == sorted(
        [kit_key, foreign]
    )
    assert len(iam.list_virtual_mfa_devices()["VirtualMFADevices"]) == 1 and expand(kf).exists()


def test_cleanup_after_a_restart_sees_the_policy_kept_by_the_sandbox(ctx, iam, enabled, tmp_path):
    import signal

    from handson_helpers import sandbox as sb

    _, qr = enabled
    kf = key_file(tmp_path)
    hh.create_access_key(ctx, USER, kf)
    hh.put_mfa_policy(ctx, USER)
    os.kill(sb.running().pid, signal.SIGKILL)
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, qr, kf)
    assert plan.access.delete_policy and plan.access.keys
    hh.run_cleanup(ctx, plan)
    hh.verify_cleanup(ctx, USER, DEVICE, qr, kf)


def test_progress_and_workshop_show_31_and_40(ctx, iam, enabled, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # progress reads the hands-on's own paths
    _, qr = enabled
    kf = key_file(tmp_path)
    assert hh.show_progress(ctx) == "31_create_access_key"
    hh.create_access_key(ctx, USER, kf)
    assert hh.show_progress(ctx) == "40_mfa_protected_access"
    hh.put_mfa_policy(ctx, USER)
    # The policy shows in IAM, the session step of 40 does not: 00 says so instead of ✔ (issue 24)
    silent = hh.Silent()
    assert hh.show_progress(ctx.with_report(silent)) == "40_mfa_protected_access"
    assert "ポリシーのみ設定済み" in silent.reports[0].text and "✔" not in silent.reports[0].text.splitlines()[-1]
    assert "90_cleanup" in silent.reports[-1].text
    [row] = workshop.status(ctx)
    assert row.access_key and row.policy
    assert workshop.cleanup(ctx, yes=True) == 0
    assert iam.list_users()["Users"] == [] and iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_workshop_cleanup_deletes_only_the_kits_key_and_policy(ctx, iam, enabled, tmp_path):
    kf = key_file(tmp_path)
    kits = hh.create_access_key(ctx, USER, kf)
    hh.put_mfa_policy(ctx, USER)
    foreign = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    iam.put_user_policy(
        UserName=USER,
        PolicyName="someone-elses",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}',
    )
    assert workshop.cleanup(ctx, yes=True) == 1  # DeleteUser conflicts with what is not the kit's
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]] == [foreign]
    assert iam.list_user_policies(UserName=USER)["PolicyNames"] == ["someone-elses"]
    assert kits != foreign


# ----- real AWS: the requests, with botocore's Stubber -----

ACCOUNT = "111122223333"
KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_KEY_ID = "ASIAEXAMPLEsession01"  # not a real key's shape, so no scanner takes it for one


@pytest.fixture
def aws(monkeypatch):
    """A real-AWS context behind the account guard, with every client stubbed."""
    monkeypatch.setenv("HANDSON_TARGET", "aws")
    monkeypatch.setenv("HANDSON_AWS_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setattr(credentials, "AWS_SETTLE_SECONDS", 0)
    iam, iam_stub = stubbed("iam")
    sts, _ = stubbed("sts")
    user_clients = {}

    def client_for(ctx, service, keys):
        user_clients.setdefault((service, keys.key_id), stubbed(service))
        return user_clients[(service, keys.key_id)][0]

    monkeypatch.setattr(credentials, "client_for", client_for)
    ctx = target.Context(
        "aws",
        iam,
        sts,
        ACCOUNT,
        f"arn:aws:iam::{ACCOUNT}:user/instructor",
        None,
        settings=settings.Settings(allowed_account=ACCOUNT),
        report=hh.Silent(),
    )
    return ctx, iam_stub, user_clients


def kit_user(stub, tags=None):
    stub.add_response(
        "get_user",
        {
            "User": {
                "Path": PATH,
                "UserName": USER,
                "UserId": "AIDAEXAMPLE0000000001",
                "Arn": f"arn:aws:iam::{ACCOUNT}:user/handson-cli/{USER}",
                "CreateDate": datetime.now(timezone.utc),
            }
        },
        {"UserName": USER},
    )
    stub.add_response(
        "list_user_tags",
        {"Tags": [{"Key": "handson-kit", "Value": "iam-mfa"}] + (tags or []), "IsTruncated": False},
        {"UserName": USER},
    )


def test_aws_31_sends_list_create_and_tag_and_writes_only_the_file(aws, tmp_path):
    ctx, stub, _ = aws
    kf = key_file(tmp_path)
    kit_user(stub)
    stub.add_response("list_access_keys", {"AccessKeyMetadata": [], "IsTruncated": False}, {"UserName": USER})
    stub.add_response(
        "list_user_tags",
        {"Tags": [{"Key": "handson-kit", "Value": "iam-mfa"}], "IsTruncated": False},
        {"UserName": USER},
    )
    stub.add_response(
        "create_access_key",
        {"AccessKey": {"UserName": USER, "AccessKeyId": KEY_ID, "Status": "Active", "SecretAccessKey": SECRET}},
        {"UserName": USER},
    )
    stub.add_response("tag_user", {}, {"UserName": USER, "Tags": [{"Key": "handson-access-key", "Value": KEY_ID}]})
    assert hh.create_access_key(ctx, USER, kf) == KEY_ID
    stub.assert_no_pending_responses()
    assert open(kf).read() == f"{KEY_ID}\t{SECRET}\n"
    assert "aws iam create-access-key" in shown(ctx) and SECRET not in shown(ctx)


def test_aws_31_is_refused_without_the_account_guard(aws, tmp_path):
    ctx, stub, _ = aws
    ctx = dataclasses.replace(
        ctx, settings=dataclasses.replace(ctx.settings, allowed_account="")
    )  # HANDSON_AWS_ACCOUNT_ID unset at connect()
    kit_user(stub)
    stub.add_response("list_access_keys", {"AccessKeyMetadata": [], "IsTruncated": False}, {"UserName": USER})
    stub.add_response("list_user_tags", {"Tags": [], "IsTruncated": False}, {"UserName": USER})
    with pytest.raises(hh.HandsonError) as err:
        hh.create_access_key(ctx, USER, key_file(tmp_path))
    assert err.value.code == "AccountGuard"
    stub.assert_no_pending_responses()  # and no create_access_key was queued: a call would have failed the stub


def test_aws_40_sends_the_policy_and_uses_the_users_key_then_the_session(aws, tmp_path):
    ctx, stub, clients = aws
    kf = expand(key_file(tmp_path))
    kf.parent.mkdir(parents=True, mode=0o700)
    kf.write_text(f"{KEY_ID}\t{SECRET}\n")
    kf.chmod(0o600)
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/{DEVICE}"
    kit_user(stub)
    stub.add_response(
        "put_user_policy",
        {},
        {"UserName": USER, "PolicyName": KIT_POLICY_NAME, "PolicyDocument": mfa_policy.policy_document()},
    )
    stub.add_response(
        "list_user_policies", {"PolicyNames": [KIT_POLICY_NAME], "IsTruncated": False}, {"UserName": USER}
    )
    hh.put_mfa_policy(ctx, USER)
    keys = hh.user_keys(ctx, str(kf))
    ustub = clients.setdefault(("iam", KEY_ID), stubbed("iam"))[1]
    ustub.add_client_error(
        "list_users",
        "AccessDenied",
        "User: x is not authorized to perform: iam:ListUsers",
        403,
        expected_params={"PathPrefix": PATH},
    )
    assert hh.protected_read(ctx, keys, USER, PATH).code == "AccessDenied"
    stub.add_response(
        "list_mfa_devices",
        {"MFADevices": [{"UserName": USER, "SerialNumber": serial, "EnableDate": datetime.now(timezone.utc)}]},
        {"UserName": USER},
    )
    assert hh.mfa_serial(ctx, USER) == serial
    sstub = clients.setdefault(("sts", KEY_ID), stubbed("sts"))[1]
    sstub.add_client_error(
        "get_session_token",
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code.",
        403,
        expected_params={"SerialNumber": serial, "TokenCode": "000000"},
    )
    assert hh.wrong_code_refused(ctx, keys, serial) == "AccessDenied"
    expires = datetime.now(timezone.utc) + timedelta(hours=12)
    sstub.add_response(
        "get_session_token",
        {
            "Credentials": {
                "AccessKeyId": SESSION_KEY_ID,
                "SecretAccessKey": SECRET,
                "SessionToken": "FwoGZXIvYXdzEXAMPLE",
                "Expiration": expires,
            }
        },
        {"SerialNumber": serial, "TokenCode": "123456"},
    )
    session = mfa_session.get_session_token(ctx, keys, serial, "１２３ ４５６")  # normalised before it is sent
    assert session.key_id == SESSION_KEY_ID and session.token and session.expiration == expires
    sess_stub = clients.setdefault(("iam", session.key_id), stubbed("iam"))[1]
    sess_stub.add_response(
        "list_users",
        {
            "Users": [
                {
                    "Path": PATH,
                    "UserName": USER,
                    "UserId": "AIDAEXAMPLE0000000001",
                    "Arn": "arn:aws:iam::111122223333:user/handson-cli/x",
                    "CreateDate": datetime.now(timezone.utc),
                }
            ],
            "IsTruncated": False,
        },
        {"PathPrefix": PATH},
    )
    assert hh.protected_read(ctx, session, USER, PATH).text == USER
    for s in (stub, ustub, sstub, sess_stub):
        s.assert_no_pending_responses()
    out = shown(ctx)
    assert "aws sts get-session-token" in out and SECRET not in out and "FwoGZXIvYXdzEXAMPLE" not in out


def test_aws_cleanup_deletes_the_policy_then_the_key(aws, tmp_path):
    ctx, stub, _ = aws
    kf = expand(key_file(tmp_path))
    kf.parent.mkdir(parents=True, mode=0o700)
    kf.write_text(f"{KEY_ID}\t{SECRET}\n")
    kf.chmod(0o600)
    plan = access_cleanup.AccessPlan(USER, str(kf), (KIT_POLICY_NAME,), (KIT_POLICY_NAME,), (KEY_ID,), True, ())
    stub.add_response("delete_user_policy", {}, {"UserName": USER, "PolicyName": KIT_POLICY_NAME})
    stub.add_response("delete_access_key", {}, {"UserName": USER, "AccessKeyId": KEY_ID})
    from handson_helpers.cleanup import _call

    access_cleanup.run_access_cleanup(ctx, plan, _call)
    stub.assert_no_pending_responses()
    assert not kf.exists()


def test_aws_a_fresh_key_is_retried_until_aws_knows_it(aws, monkeypatch):
    ctx, _, clients = aws
    monkeypatch.setattr(credentials, "AWS_SETTLE_SECONDS", 5)
    monkeypatch.setattr(credentials.time, "sleep", lambda s: None)
    keys = credentials.Keys(KEY_ID, SECRET)
    sstub = clients.setdefault(("sts", KEY_ID), stubbed("sts"))[1]
    sstub.add_client_error(
        "get_caller_identity", "InvalidClientTokenId", "The security token included in the request is invalid.", 403
    )
    sstub.add_response(
        "get_caller_identity",
        {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/handson-cli/{USER}"},
    )
    assert hh.caller_arn(ctx, keys).endswith(USER)
    sstub.assert_no_pending_responses()


def _taken_after_the_check(tmp_path, case):
    """A folder that passed 設定値の確認 while missing, then made by another user before the paste."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: anyone may add an entry
    folder = shared / "a" / "b"
    assert settings.problem("DIR_ACCESS_KEY", str(folder)) is None
    taken = folder if case == "the folder itself" else folder.parent
    taken.mkdir(parents=True)
    for level in (folder.parent, folder) if case == "the folder itself" else (folder.parent,):
        os.chown(level, 65534, 65534)
        level.chmod(0o777)
    return folder


@pytest.mark.parametrize("case", ["the folder itself", "a level above it"])
def test_pasted_31_never_writes_the_secret_into_a_folder_made_by_another_user(tmp_path, case):
    folder = _taken_after_the_check(tmp_path, case)
    marker = tmp_path / "aws-ran"
    steps = access_key.key_commands(str(folder), "u", str(folder / "u-access-key.txt"))
    script = (
        f"set -eu\naws() {{ touch {marker}; printf 'id\\tsecret\\n'; }}\n"
        f"{assign('IAM_USER_NAME', 'u')}\n{assign('DIR_ACCESS_KEY', str(folder))}\n"
        f"{assign('FILE_ACCESS_KEY', str(folder / 'u-access-key.txt'))}\n"
        f"{steps['mkdir']}\n{steps['create']}\n"
    )
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert proc.returncode != 0 and "自分だけが書き込めるディレクトリではありません" in proc.stderr
    assert not marker.exists() and not list(folder.parent.rglob("*access-key*"))


@pytest.mark.parametrize("make", ["a link to another user's file", "a link to nowhere", "a file already there"])
def test_pasted_31_never_writes_through_a_link_or_over_a_file(tmp_path, make):
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.chown(victim, 65534, 65534)
    key_file = folder / "u-access-key.txt"
    if make == "a link to another user's file":
        key_file.symlink_to(victim)
    elif make == "a link to nowhere":
        key_file.symlink_to(tmp_path / "nowhere")
    else:
        key_file.write_text("mine")
    marker = tmp_path / "aws-ran"
    steps = access_key.key_commands(str(folder), "u", str(key_file))
    script = (
        f"set -eu\naws() {{ touch {marker}; printf 'id\\tsecret\\n'; }}\n"
        f"{assign('IAM_USER_NAME', 'u')}\n{assign('DIR_ACCESS_KEY', str(folder))}\n"
        f"{assign('FILE_ACCESS_KEY', str(key_file))}\n"
        f"{steps['mkdir']}\n{steps['create']}\n"
    )
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert proc.returncode != 0 and not marker.exists()
    assert victim.read_text() == "precious" and not (tmp_path / "nowhere").exists()
