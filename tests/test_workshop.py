"""Workshop mode: 20 participants at once, the instructor's status table, and an exact cleanup."""

import subprocess
import sys
import threading

import handson_helpers as hh
from handson_helpers import totp, workshop
from handson_helpers.settings import SEED_DEVICE_NAME, SEED_USER_NAME, expand, scoped

PARTICIPANTS = [f"p{n:02d}" for n in range(20)]


def participant_run(who, home, errors):
    try:
        ctx = hh.connect(hh.Silent(), participant=who)
        user, device = scoped(SEED_USER_NAME, who), scoped(SEED_DEVICE_NAME, who)
        qr = str(home / who / f"{device}.png")
        hh.create_user(ctx, user, "/handson-cli/")
        serial = hh.create_virtual_mfa_device(ctx, device, qr)
        assert (
            hh.enable_mfa_device(ctx, user, serial, *totp.consecutive_codes(totp.secret_from_qr(expand(qr))))
            == "enabled"
        )
        hh.verify_mfa_enabled(ctx, user)
    except Exception as exc:  # noqa: BLE001 - collected and asserted below
        errors.append(f"{who}: {exc!r}")


def workshop_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "handson_helpers.workshop", *args], capture_output=True, text=True, timeout=120
    )


def test_twenty_participants_then_status_then_exact_cleanup(ctx, iam, tmp_path):
    iam.create_user(UserName="alice")  # someone else's user in the same account
    iam.create_user(UserName=f"{SEED_USER_NAME}-intruder", Path="/handson-cli/")  # the kit's name, not the kit's tag
    foreign = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{SEED_DEVICE_NAME}-foreign")["VirtualMFADevice"][
        "SerialNumber"
    ]
    errors = []
    threads = [threading.Thread(target=participant_run, args=(who, tmp_path, errors)) for who in PARTICIPANTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    rows = workshop.status(ctx)
    assert [r.participant for r in rows] == PARTICIPANTS
    assert all(r.enabled and r.since and r.serial.endswith(f"-{r.participant}") for r in rows)
    printed = workshop_cli("status")
    assert (
        printed.returncode == 0
        and "ワークショップの状況 (20 名分)" in printed.stdout
        and "handson-cli-basic-user-p07" in printed.stdout
    )

    dry = workshop_cli("cleanup")
    assert dry.returncode == 0 and "--yes" in dry.stdout
    assert dry.stdout.count("delete-user") == 20 and "intruder" not in dry.stdout and "foreign" not in dry.stdout
    assert len(workshop.status(ctx)) == 20  # nothing deleted without --yes

    done = workshop_cli("cleanup", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert workshop.status(ctx) == []
    assert sorted(u["UserName"] for u in iam.list_users()["Users"]) == ["alice", f"{SEED_USER_NAME}-intruder"]
    assert [d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]] == [foreign]


def test_an_unassigned_device_of_a_participant_is_listed_and_cleaned(iam, tmp_path):
    ctx = hh.connect(hh.Silent(), participant="late")
    hh.create_user(ctx, scoped(SEED_USER_NAME, "late"), "/handson-cli/")
    hh.create_virtual_mfa_device(ctx, scoped(SEED_DEVICE_NAME, "late"), str(tmp_path / "qr.png"))
    [row] = workshop.status(ctx)
    assert row.participant == "late" and row.serial and not row.enabled
    assert workshop.cleanup(ctx, yes=True) == 0
    assert iam.list_users()["Users"] == [] and iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_participant_names_flow_into_the_notebooks_expected_values(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "taro.yamada")
    expected = hh.expected()
    assert expected["IAM_USER_NAME"] == "handson-cli-basic-user-taro.yamada"
    assert expected["FILE_MFA_OUTFILE"].endswith("handson-cli-basic-user-mfa-taro.yamada.png")
