"""The sandbox keeps its state, seeds included, across kill -9 and torn writes."""

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from helpers import DEVICE, SERIAL, USER, make_user_and_device, outfile, phone_codes

import handson_helpers as hh
from handson_helpers import sandbox as sb
from handson_helpers.sandbox import paths
from handson_helpers.sandbox.store import Store


def _device(iam, serial):
    return next(d for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"] if d["SerialNumber"] == serial)


def test_kill_9_right_after_enable_loses_nothing(ctx, iam, tmp_path):
    qr = outfile(tmp_path)
    serial = make_user_and_device(ctx, qr)
    assert hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr)) == "enabled"
    before_user = iam.get_user(UserName=USER)["User"]
    before_device = _device(iam, serial)
    old = sb.running()
    os.kill(old.pid, signal.SIGKILL)

    new = sb.start()
    assert new.pid != old.pid and new.port == old.port  # same endpoint: existing clients keep working
    after_user = iam.get_user(UserName=USER)["User"]
    after_device = _device(iam, serial)
    assert (after_user["UserId"], after_user["CreateDate"], after_user["Path"]) == (
        before_user["UserId"],
        before_user["CreateDate"],
        before_user["Path"],
    )
    assert after_device["EnableDate"] == before_device["EnableDate"]
    assert after_device["User"]["UserName"] == USER
    assert iam.list_user_tags(UserName=USER)["Tags"] == [{"Key": "handson-kit", "Value": "iam-mfa"}]
    # The phone still holds the old seed: fresh codes from the old QR must be accepted.
    hh.resync_mfa_device(ctx, USER, serial, *phone_codes(qr))
    code1, code2 = phone_codes(qr)
    iam.resync_mfa_device(UserName=USER, SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)


def test_access_keys_and_unassigned_devices_survive_a_restart(ctx, iam, tmp_path):
    make_user_and_device(ctx, outfile(tmp_path))
    key = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    os.kill(sb.running().pid, signal.SIGKILL)
    sb.start()
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]] == [key]
    try:
        iam.delete_user(UserName=USER)
        raise AssertionError("DeleteUser must still conflict with the restored access key")
    except iam.exceptions.DeleteConflictException:
        pass
    assert [
        d["SerialNumber"] for d in iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    ] == [f"arn:aws:iam::123456789012:mfa/{DEVICE}"]


WRITER = """
import os, sys
from pathlib import Path
from handson_helpers.sandbox.store import Store
store = Store(Path(sys.argv[1]))
for _ in sys.stdin:  # a new writer for each line (forked: the store's imports take half a second)
    pid = os.fork()
    if pid == 0:
        i = 0
        print(os.getpid(), flush=True)
        while True:
            i += 1
            store.save({"format": 1, "users": [{"name": f"user{n}", "pad": "x" * 2000} for n in range(i % 200)], \
"devices": [], "i": i})
    os.waitpid(pid, 0)
    print("killed", flush=True)
"""


def test_a_write_interrupted_at_any_moment_leaves_a_loadable_store(tmp_path):
    path = tmp_path / "iam-state.json"
    seen = set()
    writers = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    for round_ in range(15):
        writers.stdin.write("write\n")
        writers.stdin.flush()
        writer = int(writers.stdout.readline())
        time.sleep(0.01 + (round_ % 5) * 0.013)
        os.kill(writer, signal.SIGKILL)
        assert writers.stdout.readline().strip() == "killed"
        data = Store(path).load()
        if data is not None:
            assert data["format"] == 1 and len(data["users"]) == data["i"] % 200
            seen.add(data["i"])
    writers.stdin.close()
    assert writers.wait(10) == 0
    assert seen, "the writer never completed a save"
    assert not list(tmp_path.glob("*.unreadable-*"))


def test_an_unreadable_store_is_set_aside_and_the_sandbox_still_starts(sandbox, iam):
    iam.create_user(UserName="someone")
    sb.stop()
    store = paths.store_path(paths.home())
    store.write_text('{"format": 1, "users": [')
    sb.start()
    assert iam.list_users()["Users"] == []
    aside = list(store.parent.glob("iam-state.json.unreadable-*"))
    assert aside
    for path in aside:  # the wrong-shape state cases on this worker look for their own file
        path.unlink()


def test_reset_clears_the_store(sandbox, iam):
    iam.create_user(UserName="someone")
    assert json.loads(paths.store_path(paths.home()).read_text())["users"]
    sb.reset()
    assert not paths.store_path(paths.home()).exists()
    os.kill(sb.running().pid, signal.SIGKILL)
    sb.start()
    assert iam.list_users()["Users"] == []


def _client(box, **config):
    return boto3.client(
        "iam", endpoint_url=box.url, region_name="ap-northeast-1", config=Config(**config), **box.credentials
    )


def test_changes_answered_at_the_same_time_are_all_kept_after_kill_9(sandbox, iam):
    """Saves are shared by the changes made meanwhile (store.GroupCommit): each answer still waits for its own."""
    store = paths.store_path(paths.home())

    def create(n: int) -> tuple[str, bool]:
        name = f"learner{n:02d}"
        _client(sandbox).create_user(UserName=name)
        return name, name in {u["name"] for u in json.loads(store.read_text())["users"]}  # on disk when answered

    with ThreadPoolExecutor(20) as pool:
        answered = list(pool.map(create, range(60)))
    os.kill(sandbox.pid, signal.SIGKILL)
    assert [name for name, saved in answered if not saved] == []
    sb.start()
    assert sorted(u["UserName"] for u in iam.list_users()["Users"]) == sorted(name for name, _ in answered)


def test_a_change_that_could_not_be_saved_is_answered_with_an_error(sandbox, iam):
    store = paths.store_path(paths.home())
    blocker = store.with_name(store.name + ".tmp")
    blocker.mkdir()  # Store.save removes its temporary file first, and cannot remove a folder
    try:
        with pytest.raises(ClientError) as err:
            _client(sandbox, retries={"total_max_attempts": 1}).create_user(UserName="unsaved")
        assert err.value.response["Error"]["Code"] == "ServiceFailure"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert not store.exists()
    finally:
        blocker.rmdir()
    # the next request has the save tried again; what it shows is then on disk
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["unsaved"]
    assert [u["name"] for u in json.loads(store.read_text())["users"]] == ["unsaved"]


# A moto whose AccessKey renamed a parameter store.py passes: the state file is as the kit wrote it
MOTO_CHANGED = """
import moto.iam.models as models
_original = models.AccessKey.__init__
def __init__(self, user_name, key_prefix, account_id, status="Active"):
    _original(self, user_name, key_prefix, account_id, status)
models.AccessKey.__init__ = __init__
"""


def test_a_state_file_this_moto_cannot_rebuild_stops_the_sandbox_and_is_left_in_place(
    sandbox, iam, tmp_path, monkeypatch
):
    iam.create_user(UserName=USER)
    key = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    sb.stop()
    store = paths.store_path(paths.home())
    saved = store.read_bytes()
    (tmp_path / "sitecustomize.py").write_text(MOTO_CHANGED)  # imported by the sandbox's Python at start
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with pytest.raises(sb.SandboxError) as refused:
        sb.start()
    message = refused.value.message
    assert f"moto {importlib.metadata.version('moto')} では復元できません" in message and str(store) in message
    assert "locks/learner.txt" in message and "TypeError" in message
    assert store.read_bytes() == saved and not list(store.parent.glob("iam-state.json.unreadable-*"))
    assert sb.running() is None
    monkeypatch.delenv("PYTHONPATH")
    box = sb.start()  # the moto the kit was made for reads the same file
    assert not box.notice
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]] == [key]


BROKEN_STATES = [
    ("a list", []),
    ("users of the wrong type", {"users": "alice"}),
    ("a user without a name", {"users": [{"path": "/"}]}),
    ("a user with a number as name", {"users": [{"name": 1, "path": "/", "id": "x", "create_date": None}]}),
    (
        "a device of a missing user",
        {
            "users": [],
            "devices": [{"serial": SERIAL, "seed": "JBSWY3DPEHPK3PXP", "user": "ghost", "enable_date": None}],
        },
    ),
    ("a device without a seed", {"devices": [{"serial": SERIAL}]}),
    # fields the rebuild hands to moto: a wrong type here must not read as a moto change (store.MotoChanged)
    (
        "device tags of the wrong type",
        {"devices": [{"serial": SERIAL, "seed": "JBSWY3DPEHPK3PXP", "user": None, "enable_date": None, "tags": 5}]},
    ),
    ("a user date that is a number", {"users": [{"name": "u", "path": "/", "id": "x", "create_date": 5}]}),
    ("a user date that is not a date", {"users": [{"name": "u", "path": "/", "id": "x", "create_date": "yesterday"}]}),
    (
        "an access key date that is a number",
        {
            "users": [
                {
                    "name": "u",
                    "path": "/",
                    "id": "x",
                    "create_date": None,
                    "access_keys": [{"id": "AKIAX", "secret": "s", "status": "A", "create_date": 1}],
                }
            ]
        },
    ),
    (
        "a device date that is a list",
        {"devices": [{"serial": SERIAL, "seed": "JBSWY3DPEHPK3PXP", "user": None, "enable_date": ["2024"]}]},
    ),
    ("a string", "hello"),
    ("not JSON at all", None),
]


@pytest.mark.parametrize("case, data", BROKEN_STATES, ids=[b[0] for b in BROKEN_STATES])
def test_a_state_file_of_the_wrong_shape_is_set_aside_and_the_sandbox_starts(sandbox, case, data):
    sb.stop()
    store = paths.store_path(paths.home())
    store.write_text("{broken" if data is None else json.dumps(data))
    box = sb.start()
    assert box.notice and "空の状態で起動しました" in box.notice
    aside = [p for p in store.parent.iterdir() if p.name.startswith("iam-state.json.unreadable-")]
    assert aside and str(aside[-1]) in box.notice
    assert sb.info(box)["users"] == [] and sb.info(box)["devices"] == []
    for p in aside:
        p.unlink()


def test_a_state_file_that_is_a_folder_is_set_aside(sandbox):
    sb.stop()
    store = paths.store_path(paths.home())
    store.unlink(missing_ok=True)
    store.mkdir()
    box = sb.start()
    assert "空の状態で起動しました" in box.notice and store.exists() is False
    for p in store.parent.iterdir():
        if p.name.startswith("iam-state.json.unreadable-"):
            p.rmdir() if p.is_dir() else p.unlink()
