"""Faults: throttling and ServiceFailure are retried, then explained; AccessDenied names the action;
a sandbox killed mid-section comes back with its state."""

import os
import signal

import pytest
from helpers import PATH, USER, AsyncIPCKernelManager, make_user_and_device, outfile, phone_codes
from sandbox_faults import inject_fault
from test_bad_input import iam_state

import handson_helpers as hh
from handson_helpers import sandbox as sb

MAX_ATTEMPTS = 5  # handson_helpers.target.CLIENT_CONFIG


@pytest.fixture
def quick_backoff(monkeypatch):
    """botocore waits up to 1+2+4+8 s between throttled attempts; the attempts are what is tested."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.01)


@pytest.mark.parametrize("code, status", [("Throttling", 400), ("ServiceFailure", 500)])
def test_transient_faults_are_retried(ctx, iam, code, status, quick_backoff):
    inject_fault("CreateUser", code, status=status, count=MAX_ATTEMPTS - 1)
    hh.create_user(ctx, USER, PATH)
    assert [u["UserName"] for u in iam.list_users()["Users"]] == [USER]


@pytest.mark.parametrize(
    "code, status, words", [("Throttling", 400, "再試行しても"), ("ServiceFailure", 500, "再試行しても")]
)
def test_faults_that_outlast_the_retries_are_explained_and_change_nothing(ctx, iam, code, status, words, quick_backoff):
    inject_fault("CreateUser", code, status=status, count=MAX_ATTEMPTS)
    with pytest.raises(hh.HandsonError) as err:
        hh.create_user(ctx, USER, PATH)
    assert err.value.code == code and words in err.value.message
    assert iam.list_users()["Users"] == []
    hh.create_user(ctx, USER, PATH)  # the faults are used up: the retry by hand works


def test_access_denied_names_the_missing_action(ctx, iam, tmp_path):
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    inject_fault(
        "EnableMFADevice", "AccessDenied", status=403, message="User is not authorized to perform: iam:EnableMFADevice"
    )
    before = iam_state(iam)
    with pytest.raises(hh.HandsonError) as err:
        hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr))
    assert err.value.code == "AccessDenied" and "iam:EnableMFADevice" in err.value.message
    assert iam_state(iam) == before


def test_sandbox_killed_mid_section_restarts_with_its_state(ctx, iam, tmp_path):
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    old = sb.running()
    os.kill(old.pid, signal.SIGKILL)
    # the same ctx: its next request starts the sandbox again from its saved state
    assert hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr)) == "enabled"
    assert sb.running().pid != old.pid
    hh.verify_mfa_enabled(ctx, USER)


def test_in_a_kernel_a_handson_error_is_its_japanese_message_without_traceback():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import handson_helpers as hh\nhh.setup()"),
        nbformat.v4.new_code_cell("hh.create_user(hh.connect(hh.Silent()), 'bad name', '/handson-cli/')"),
    ]
    NotebookClient(
        nb, timeout=60, kernel_name="python3", allow_errors=True, kernel_manager_class=AsyncIPCKernelManager
    ).execute()
    [error] = nb.cells[1].outputs
    assert error.output_type == "error"  # Run All stops here
    assert error.traceback == [error.traceback[0]] and error.traceback[0].startswith(
        "✘ 設定値 IAM_USER_NAME が正しくありません"
    )
    assert "Traceback" not in "".join(error.traceback)


@pytest.mark.parametrize("action", ["EnableMFADevice", "CreateUser", "CreateVirtualMFADevice"])
def test_a_sandbox_that_dies_after_saving_is_reported_truthfully(ctx, iam, tmp_path, action):
    """The change was saved, the answer never left: the kit must not say nothing changed."""
    from helpers import DEVICE, PATH, USER, phone_codes, shown

    qr = str(tmp_path / "qr" / f"{DEVICE}.png")
    if action != "CreateUser":
        hh.create_user(ctx, USER, PATH)
    if action == "EnableMFADevice":
        serial = hh.create_virtual_mfa_device(ctx, DEVICE, qr)
    inject_fault(action, "DieAfterSave")
    try:
        if action == "EnableMFADevice":
            outcome = hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr))
            assert outcome in ("enabled", "already")
            hh.verify_mfa_enabled(ctx, USER)
        elif action == "CreateUser":
            hh.create_user(ctx, USER, PATH)
            hh.verify_user(ctx, USER, PATH)
        else:
            hh.create_virtual_mfa_device(ctx, DEVICE, qr)
    except hh.HandsonError as exc:  # acceptable only when it says what it knows
        assert "何も変更されていません" not in exc.message and "何も変更していません" not in exc.message
    assert "何も変更されていません" not in shown(ctx)
