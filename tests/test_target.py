"""Targets: the sandbox by default (nothing leaves the machine), real AWS only behind the account guard."""

from dataclasses import replace
from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import Stubber
from helpers import DEVICE, PATH, USER, make_user_and_device, outfile, phone_codes, signing_with, stubbed

import handson_helpers as hh
from handson_helpers import target

ACCOUNT = "111122223333"
CALLER = f"arn:aws:iam::{ACCOUNT}:user/instructor"


@pytest.fixture
def aws_ctx(monkeypatch):
    """A real-AWS context whose clients are stubbed: any call not queued fails the test."""
    monkeypatch.setenv("HANDSON_TARGET", "aws")
    monkeypatch.delenv("HANDSON_AWS_ACCOUNT_ID", raising=False)
    iam, iam_stub = stubbed("iam")
    sts, _ = stubbed("sts")
    return target.Context("aws", iam, sts, ACCOUNT, CALLER, None), iam_stub


def test_sandbox_is_the_default_and_every_request_stays_on_loopback(monkeypatch, sandbox, tmp_path):
    monkeypatch.delenv("HANDSON_TARGET", raising=False)
    monkeypatch.setenv("AWS_PROFILE", "some-real-profile")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://iam.amazonaws.com")
    ctx = hh.connect(hh.Silent())
    sent = []
    for client in (ctx.iam, ctx.sts):
        client.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr))
    hh.verify_mfa_enabled(ctx, USER)
    assert ctx.target == "sandbox" and ctx.account_id == "123456789012"
    assert sent and all(url.startswith(sandbox.url) for url in sent), sent


def test_connect_to_aws_shows_account_and_caller_first(monkeypatch):
    monkeypatch.setenv("HANDSON_TARGET", "aws")
    monkeypatch.delenv("HANDSON_AWS_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example")
    real_client = boto3.Session.client

    def client(self, service, **kwargs):
        made = real_client(self, service, **kwargs)
        stub = Stubber(made)
        if service == "sts":
            stub.add_response("get_caller_identity", {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT, "Arn": CALLER})
        stub.activate()
        return made

    monkeypatch.setattr(boto3.Session, "client", client)
    ctx = hh.connect(hh.Silent())
    first = ctx.report.reports[0].text
    assert ctx.target == "aws" and ctx.endpoint is None
    assert f"アカウント: {ACCOUNT}" in first and CALLER in first and "参照のみ" in first


def test_with_report_changes_only_where_the_steps_report(ctx):
    silent = hh.Silent()
    quiet = ctx.with_report(silent)
    assert hh.get_account_id(quiet) == ctx.account_id and (quiet.iam, quiet.participant) == (ctx.iam, ctx.participant)
    assert [r.shell.split("\n")[1] for r in silent.reports] == ["  aws sts get-caller-identity \\"]
    assert len(ctx.report.reports) == 1  # only connect's own report: nothing of the step went to ctx's reporter


def test_aws_target_refuses_a_leftover_sandbox_endpoint(monkeypatch):
    monkeypatch.setenv("HANDSON_TARGET", "aws")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9999")
    with pytest.raises(hh.HandsonError) as err:
        hh.connect()
    assert err.value.code == "EndpointOverride"


def test_unknown_target_is_refused(monkeypatch):
    monkeypatch.setenv("HANDSON_TARGET", "prod")
    with pytest.raises(hh.HandsonError) as err:
        hh.connect()
    assert err.value.code == "BadTarget"


def test_no_mutation_before_the_account_guard_passes(aws_ctx, tmp_path):
    ctx, iam_stub = aws_ctx
    iam_stub.add_client_error("get_user", "NoSuchEntity", http_status_code=404)
    with pytest.raises(hh.HandsonError) as err:
        hh.create_user(ctx, USER, PATH)
    assert err.value.code == "AccountGuard" and ACCOUNT in err.value.message
    iam_stub.add_response("list_virtual_mfa_devices", {"VirtualMFADevices": [], "IsTruncated": False})
    with pytest.raises(hh.HandsonError) as err:
        hh.create_virtual_mfa_device(ctx, DEVICE, outfile(tmp_path))
    assert err.value.code == "AccountGuard"
    iam_stub.assert_no_pending_responses()
    assert not (tmp_path / "environment").exists()


def test_enable_on_aws_is_guarded_too(aws_ctx):
    ctx, iam_stub = aws_ctx
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/{DEVICE}"
    iam_stub.add_response(
        "list_virtual_mfa_devices", {"VirtualMFADevices": [{"SerialNumber": serial}], "IsTruncated": False}
    )
    iam_stub.add_response(
        "get_user",
        {
            "User": {
                "Path": PATH,
                "UserName": USER,
                "UserId": "AIDAEXAMPLEUSER00000",
                "Arn": f"arn:aws:iam::{ACCOUNT}:user{PATH}{USER}",
                "CreateDate": datetime.now(timezone.utc),
            }
        },
    )
    with pytest.raises(hh.HandsonError) as err:
        hh.enable_mfa_device(ctx, USER, serial, "123456", "654321")
    assert err.value.code == "AccountGuard"
    iam_stub.assert_no_pending_responses()


def test_with_the_right_account_id_aws_calls_go_through(aws_ctx):
    ctx, iam_stub = aws_ctx
    ctx = replace(
        ctx, settings=replace(ctx.settings, allowed_account=ACCOUNT)
    )  # as connect() reads HANDSON_AWS_ACCOUNT_ID
    iam_stub.add_client_error("get_user", "NoSuchEntity", http_status_code=404)
    created = {
        "Path": PATH,
        "UserName": USER,
        "UserId": "AIDAEXAMPLEUSER00000",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user{PATH}{USER}",
        "CreateDate": datetime.now(timezone.utc),
    }
    iam_stub.add_response(
        "create_user",
        {"User": created},
        {"UserName": USER, "Path": PATH, "Tags": [{"Key": "handson-kit", "Value": "iam-mfa"}]},
    )
    assert hh.create_user(ctx, USER, PATH)["UserName"] == USER
    iam_stub.assert_no_pending_responses()


def test_cleanup_on_aws_leaves_a_user_the_kit_did_not_create(aws_ctx, tmp_path):
    ctx, iam_stub = aws_ctx
    ctx = replace(ctx, settings=replace(ctx.settings, allowed_account=ACCOUNT))
    user = {
        "Path": PATH,
        "UserName": USER,
        "UserId": "AIDAEXAMPLEUSER00000",
        "Arn": f"arn:aws:iam::{ACCOUNT}:user{PATH}{USER}",
        "CreateDate": datetime.now(timezone.utc),
    }
    iam_stub.add_response("get_user", {"User": user})
    iam_stub.add_response("list_virtual_mfa_devices", {"VirtualMFADevices": [], "IsTruncated": False})
    iam_stub.add_response("list_user_tags", {"Tags": [{"Key": "team", "Value": "ops"}], "IsTruncated": False})
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, outfile(tmp_path))
    assert not plan.delete_user and plan.refused
    hh.run_cleanup(ctx, plan)  # nothing queued: any delete call would fail the test
    iam_stub.assert_no_pending_responses()


def test_a_kernel_never_imports_moto():
    """The emulator lives in the sandbox process; a learner's kernel stays light."""
    code = (
        "import sys, handson_helpers as hh; hh.connect(hh.Silent()); "
        "print('moto' in sys.modules, 'flask' in sys.modules)"
    )
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert out == ["False", "False"]


def test_connects_share_botocores_models_and_each_client_signs_with_its_own_key(ctx, iam):
    """One boto3 session per sandbox and process (a new one parses botocore's JSON again, ~60 ms):
    the keys still belong to each client."""
    made = target._sandbox_session.cache_info().misses
    again = hh.connect(hh.Silent())
    assert target._sandbox_session.cache_info().misses == made
    iam.create_user(UserName="someone")
    key = iam.create_access_key(UserName="someone")["AccessKey"]
    own = signing_with(ctx, "sts", key)
    assert own.get_caller_identity()["Arn"].endswith(":user/someone")
    assert (
        ctx.sts.get_caller_identity()["Arn"]
        == again.sts.get_caller_identity()["Arn"]
        != own.get_caller_identity()["Arn"]
    )


def test_the_package_loads_a_step_only_when_it_is_used():
    """`import handson_helpers` is cheap for the sandbox server, the workshop CLI and a pasted
    script's `from handson_helpers import totp`; every public name still resolves."""
    import subprocess
    import sys

    code = (
        "import sys, handson_helpers as hh, handson_helpers.sandbox.server, handson_helpers.totp\n"
        "print(sorted(m for m in ('ipywidgets', 'handson_helpers.access_key', 'handson_helpers.target', "
        "'handson_helpers.widget') if m in sys.modules))\n"
        "print(all(callable(getattr(hh, name)) for name in hh.__all__), hh.target.CLIENT_CONFIG is not None, "
        "'connect' in dir(hh))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout.splitlines()
    assert out == ["[]", "True True True"]
    with pytest.raises(AttributeError):
        hh.no_such_step  # noqa: B018
    assert not hasattr(hh, "sandbox.server") and not hasattr(
        hh, "jupyterhub_config"
    )  # only the package's own steps and modules
