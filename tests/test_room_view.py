"""The instructor's live view of a room (issue 26, item 1; sandbox/watch.py, room_view.py), from a
real room service process asked by participants' kernels through the kit, as in tests/test_room.py.

Each participant here meets one of the faults a class meets; the view must flag exactly those,
with the right reason, stuck ones first, and hold no code, key or seed.
"""

import json
import time
import urllib.error
import urllib.request

import nbformat
import pytest
from helpers import totp_at
from test_e2e_kernel_wait import REPO, Kernel, value_sent
from test_sandbox_room import PARTICIPANTS, as_who, hands_on, the_room

import handson_helpers as hh
from handson_helpers import mfa, mfa_session, room, room_live, room_view, totp, workshop
from handson_helpers.errors import HandsonError
from handson_helpers.settings import expand
from handson_helpers.texts import room_view as room_view_text

pytestmark = pytest.mark.xdist_group("room")
CLASS = ["alice", "bob", "carol", "dave", "eve", "frank", "grace"]
assert set(CLASS) <= set(PARTICIPANTS)  # the fake hub knows them
FIXTURES = (the_room, as_who)  # test_room's, used by name: a room of this module's own


def at_21(ctx, home):
    """1 and 2.1 with the participant's own names: the user, the serial, the seed (kept by the test only)."""
    user, device = room.own_names(hh.settings.participant(ctx.participant))
    qr = str(home / f"{device}.png")
    hh.create_user(ctx, user, "/handson-cli/")
    serial = hh.create_virtual_mfa_device(ctx, device, qr)
    return user, serial, totp.secret_from_qr(expand(qr))


def pair_at(seed, steps):
    now = int(time.time() // 30) + steps
    return totp_at(seed, (now - 1) * 30), totp_at(seed, now * 30)


def test_the_view_flags_exactly_the_participants_in_trouble_with_the_reason(as_who, tmp_path, capsys):
    seeds, codes = [], []
    hands_on(as_who("alice"), tmp_path / "alice")  # all well
    ctx = as_who("grace")  # all well, and 40's lesson: the access key alone is refused
    user = hands_on(ctx, tmp_path / "grace")
    key_file = str(tmp_path / "grace" / "key.txt")
    hh.create_access_key(ctx, user, key_file)
    hh.put_mfa_policy(ctx, user)
    keys = hh.user_keys(ctx, key_file)
    assert not hh.protected_read(ctx, keys, user, "/handson-cli/").allowed
    # and 45, done right: the backup refused with the access key alone (on purpose), then made and
    # enabled with an MFA session: a second device, not a lost QR, and no problem
    suffix = hh.settings.participant("grace")
    device, backup = room.own_names(suffix)[1], room.backup_name(suffix)
    seed = totp.secret_from_qr(expand(str(tmp_path / "grace" / "qr" / f"{device}.png")))
    backup_qr = str(tmp_path / "grace" / "qr" / f"{backup}.png")
    hh.put_manage_mfa_policy(ctx, user, "/handson-cli/")
    assert hh.create_refused_without_mfa(ctx, keys, user, backup, backup_qr) == "AccessDenied"
    serial = mfa.serial_for(ctx.account_id, device)
    session = mfa_session.get_session_token(ctx, keys, serial, totp_at(seed, (int(time.time() // 30) + 1) * 30))
    backup_serial = hh.create_backup_device(ctx, session, user, backup, backup_qr)
    backup_codes = totp.consecutive_codes(totp.secret_from_qr(expand(backup_qr)))
    assert hh.enable_mfa_device(hh.as_user(ctx, session), user, backup_serial, *backup_codes) == "enabled"

    ctx = as_who("bob")  # a phone 10 minutes behind
    user, serial, seed = at_21(ctx, tmp_path)
    seeds.append(seed)
    codes += pair_at(seed, -20)
    with pytest.raises(HandsonError):
        hh.enable_mfa_device(ctx, user, serial, *pair_at(seed, -20))

    ctx = as_who("carol")  # three wrong codes in a row
    user, serial, seed = at_21(ctx, tmp_path)
    seeds.append(seed)
    right = {totp_at(seed, (int(time.time() // 30) + s) * 30) for s in range(-35, 36)}
    wrong = [c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in right][:4]
    for first, second in (wrong[0:2], wrong[1:3], wrong[2:4]):
        with pytest.raises(HandsonError):
            hh.enable_mfa_device(ctx, user, serial, first, second)

    ctx = as_who("dave")  # a lost QR: the device deleted and made again
    user, serial, seed = at_21(ctx, tmp_path)
    ctx.iam.delete_virtual_mfa_device(SerialNumber=serial)
    hh.create_virtual_mfa_device(ctx, room.own_names(hh.settings.participant("dave"))[1], str(tmp_path / "dave.png"))

    ctx = as_who("eve")  # AccessDenied: a name outside her own
    with pytest.raises(Exception):  # noqa: B017 - the kit's or botocore's refusal, either way AccessDenied
        ctx.iam.create_user(UserName="someone-elses-user")

    ctx = as_who("frank")  # ValidationError, refused before the room evaluates anything
    with pytest.raises(Exception):  # noqa: B017
        ctx.iam.create_user(UserName="bad name!")

    as_who("teacher")
    rows = room_view.ordered(room_view.fetch(hh.settings.Settings.read()))
    by_name = {row["participant"]: row for row in rows}
    assert set(by_name) == set(CLASS)  # the instructor's own calls are nobody's
    flagged = {name for name, row in by_name.items() if row["flagged"]}
    assert flagged == {"bob", "carol", "dave", "eve", "frank"}
    reasons = {name: {p["what"].split(":")[0] for p in row["problems"]} for name, row in by_name.items()}
    assert (
        by_name["bob"]["wrong_time"] in ("-10", "-11")
        and "wrong-time" in reasons["bob"]
        and by_name["bob"]["section"] == "22"
    )
    assert by_name["carol"]["wrong_codes_in_a_row"] == 3 and reasons["carol"] == {"wrong-code"}
    assert reasons["dave"] == {"re-created-device"} and not by_name["dave"]["stuck"]
    assert reasons["eve"] == {"access-denied"} and reasons["frank"] == {"validation-error"}
    assert by_name["grace"]["section"] == "45" and not by_name["grace"]["problems"]
    stuck = [row["stuck"] for row in rows]
    assert stuck == sorted(stuck, reverse=True) and {r["participant"] for r in rows if r["stuck"]} == {
        "bob",
        "carol",
        "eve",
        "frank",
    }
    everything = json.dumps(rows)
    assert not any(secret in everything for secret in [*seeds, *codes, *wrong])

    assert workshop.main(["status"]) == 0  # the IAM table, then the view
    out = capsys.readouterr().out
    assert (
        "ルームの今 (7 名、要対応が上)" in out
        and "スマートフォンの時計が約1" in out
        and "MFAデバイスを作り直した" in out
    )
    assert out.index("bob") < out.index("grace", out.index("ルームの今"))
    report = hh.Silent()
    room_view.watch(report, hh.settings.Settings.read(), 0.1, times=2)
    assert len(report.reports) == 2


def test_a_participant_cannot_see_the_view(as_who):
    as_who("alice")
    with pytest.raises(HandsonError) as refused:
        room_view.fetch(hh.settings.Settings.read())
    assert refused.value.code == "InstructorOnly"


def test_95s_live_view_to_a_participant_says_it_is_the_instructors(as_who):
    ctx = as_who("alice")
    assert room_live.watch_room(ctx) is None and room_live._current is None
    assert ctx.report.reports[-1].text == f"⚠ {room_view_text.INSTRUCTOR_ONLY}"


def test_the_rooms_view_is_refused_to_a_participants_own_keys(as_who):
    """Not only the kit's check: the room itself refuses /_handson/watch signed with a participant's key."""
    from handson_helpers.sandbox.control import sign

    settings = as_who("alice").settings
    keys = room.credentials(settings)
    assert keys["Role"] != "instructor"
    request = sign(keys["AccessKeyId"], keys["SecretAccessKey"], "GET", room.url(settings) + room_view.PATH)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403 and b"participants" not in refused.value.read()


LIVE_CELL = next(
    c.source
    for c in nbformat.read(REPO / "notebooks" / "95_workshop_status.ipynb", as_version=4).cells
    if c.cell_type == "code" and "watch_room" in c.source
)


def refreshers(k: Kernel) -> int:
    """The live views' threads running in the kernel."""
    reply = k.run(f"import threading\nprint(sum(t.name == {room_live.THREAD_NAME!r} for t in threading.enumerate()))")
    return int(k.text(reply["parent_header"]["msg_id"]).strip())


def updates(k: Kernel, comm_id: str, after: int = 0) -> list[str]:
    return [value_sent(m) for m in k.iopub[after:] if m["content"].get("comm_id") == comm_id and value_sent(m)]


def showing(k: Kernel, text: str, after: int = 0) -> str:
    """The comm id of the first widget (opened or updated after message ``after``) whose value shows ``text``."""

    def value(m) -> str:
        if m["msg_type"] == "comm_open":
            return m["content"]["data"].get("state", {}).get("value", "")
        return value_sent(m)

    k.wait_for(lambda m: m in k.iopub[after:] and text in value(m))
    return next(m for m in k.iopub[after:] if text in value(m))["content"]["comm_id"]


@pytest.mark.parametrize("version, who", [("7.4", "heidi"), ("6.31", "ivan")])
def test_95s_view_refreshes_itself_and_stops(as_who, tmp_path, version, who):
    """95's cell in a real kernel (both ipykernel majors) against the real room: a new fault shows
    in the widget without the cell run again; running it again leaves one refresher; the stop
    button stops it; the kernel ends by itself; the notebook keeps no table in the text output."""
    as_who("teacher")
    k = Kernel(version, tmp_path)
    try:
        k.run("import handson_helpers as hh\nctx = hh.connect(hh.Silent())")
        cell = k.run(LIVE_CELL)["parent_header"]["msg_id"]
        assert k.text(cell).strip() == room_view_text.LIVE  # what a saved notebook compares: never the table
        table, status = showing(k, "ルームの今"), showing(k, "自動で更新中")
        assert refreshers(k) == 1
        assert who not in updates(k, table)[0]

        ctx = as_who(who)  # a participant's fault, while the cell is not run again
        with pytest.raises(Exception):  # noqa: B017 - AccessDenied, by the kit or botocore
            ctx.iam.create_user(UserName=f"not-{who}s-user")
        faulted, seen = time.monotonic(), len(k.iopub)
        shown = k.wait_for(
            lambda m: m["content"].get("comm_id") == table and who in value_sent(m) and "AccessDenied" in value_sent(m),
            timeout=10,
        )
        assert time.monotonic() - faulted < 10
        row = value_sent(shown).split(who, 1)[0].rsplit("<tr>", 1)[1]
        assert room_view_text.STUCK in row  # the refused step is their last: on top, as stuck
        assert not [m for m in k.iopub[seen:] if m["msg_type"] == "execute_input"]

        mark = len(k.iopub)
        k.run(LIVE_CELL)  # run again: the first view stops, one refresher is left
        assert refreshers(k) == 1
        assert any(room_view_text.STOPPED in v for v in updates(k, status, mark))
        stopped_at = len(k.iopub)
        new_table = showing(k, "ルームの今", mark)
        assert new_table != table
        k.wait_for(lambda m: m["content"].get("comm_id") == new_table and value_sent(m), timeout=10)  # refreshing
        assert not updates(k, table, stopped_at)  # the first one no longer

        new_button = [
            m["content"]["comm_id"]
            for m in k.iopub
            if m["msg_type"] == "comm_open" and m["content"]["data"]["state"].get("description") == room_view_text.STOP
        ][-1]
        k.comm_msg(new_button, {"method": "custom", "content": {"event": "click"}}, None)
        k.wait_for(lambda m: room_view_text.STOPPED in value_sent(m) and m["content"]["comm_id"] != status, timeout=10)
        gone_by = time.monotonic() + 10  # "stopped" is the thread's last word; its end follows at once
        while refreshers(k) and time.monotonic() < gone_by:
            time.sleep(0.1)
        assert refreshers(k) == 0

        k.run(LIVE_CELL)
        assert refreshers(k) == 1
        k.kc.shutdown()  # the kernel ends with a refresher running: by itself, at once, exit status 0
        deadline = time.monotonic() + 10
        while k.km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not k.km.is_alive() and k.km.provisioner.process.returncode == 0
        everything = json.dumps(k.iopub, default=str)
        assert "AccessKeyId" not in everything and "SecretAccessKey" not in everything
    finally:
        k.close()


@pytest.mark.xdist_group("room-view-fifty")  # its own room: free to run beside the module's
def test_fifty_learners_five_faults_the_view_flags_exactly_those_within_10_s(tmp_path, monkeypatch):
    """Issue 26's done-when, at a fast pace (the benchmark runs it at classroom pace, with and
    without the view: python -m tests.support.bench --room-view): a real room, 50 learners doing
    1 → 2.1 → 2.2 → 後始末 with the kit in 4 client processes, five of them meeting one fault each, the
    instructor's view read every 2 s. About 50 s on 2 shared cores."""
    from support import bench

    monkeypatch.setenv("HOME", str(tmp_path))  # the learners' QR files
    result = bench.room_view_round(50, 2.0, pace=(2.0, 0.2, 0.6), processes=4)
    assert result["failures"] == 0 and result["cross_learner_leaks"] == 0, result["first_failures"]
    plan = bench.fault_plan(50)
    assert len(plan) == 5 and set(result["faulted"]) == set(plan)  # every fault happened
    flagged = result["flagged"]
    assert set(flagged) == {f"p{n:02d}" for n in plan}, flagged  # exactly those five, none of the 45 others
    for n, fault in plan.items():
        seen = flagged[f"p{n:02d}"]
        assert seen["fault"] == fault and seen["right_reason"], (fault, seen)
        # flagged by the first answered read sent after the refusal reached the learner; a read the room
        # answered too late (HandsonError) is counted, not fatal, and the time bound holds for the rest
        assert seen["seen_after_the_fault_was_sent"] and seen["reads_missed_it"] == 0, (fault, seen)
    assert result["view_reads_missed"] <= result["view_reads"] // 10, result  # the view kept up with the room
    times = [flagged[f"p{n:02d}"]["seconds_after_fault"] for n in plan]
    assert result["view_reads_missed"] or max(times) <= 10, times  # 2 s polls and fast reads: within 10 s


def _view_row(name: str, call_ago=None, stuck=False, flagged=False, problem_ago=None, idle=0.0) -> dict:
    """A row as watch.view gives it, with only what ordered() reads."""
    return {
        "participant": name,
        "help": None if call_ago is None else {"ago_seconds": call_ago, "seconds_left": 900 - call_ago, "url": "/"},
        "stuck": stuck,
        "flagged": flagged or stuck,
        "problems": [] if problem_ago is None else [{"ago_seconds": problem_ago}],
        "idle_seconds": idle,
    }


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # a caller whose name sorts last is still on top, above the stuck and the flagged
        (
            [
                _view_row("amy", stuck=True, problem_ago=5),
                _view_row("bea", flagged=True, problem_ago=1),
                _view_row("zoe", call_ago=30),
            ],
            ["zoe", "amy", "bea"],
        ),
        # several callers: the oldest call first, whatever else they are
        (
            [
                _view_row("yan", call_ago=10, stuck=True, problem_ago=2),
                _view_row("zed", call_ago=300),
                _view_row("abe", call_ago=60, flagged=True, problem_ago=1),
                _view_row("cid"),
            ],
            ["zed", "abe", "yan", "cid"],
        ),
        # no caller: stuck, then flagged, each by the newest problem, then the rest by their last call
        (
            [
                _view_row("old", idle=50),
                _view_row("new", idle=5),
                _view_row("f1", flagged=True, problem_ago=40),
                _view_row("s1", stuck=True, problem_ago=90),
                _view_row("s2", stuck=True, problem_ago=3),
            ],
            ["s2", "s1", "f1", "new", "old"],
        ),
        # a call that ended (help None) is no caller
        ([_view_row("ann", idle=1), _view_row("zak", call_ago=None, stuck=True, problem_ago=9)], ["zak", "ann"]),
    ],
)
def test_the_view_puts_callers_on_top_oldest_call_first_then_the_stuck_and_the_flagged(rows, expected):
    assert [r["participant"] for r in room_view.ordered(rows)] == expected
    assert [r["participant"] for r in room_view.ordered(list(reversed(rows)))] == expected  # not the input's order


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (HandsonError("ルームに接続できません", "RoomUnreachable"), "ルームに接続できません"),
        (KeyError("participants"), "予期しないエラー (KeyError)"),  # an answer the view did not expect
        (ValueError("bad json"), "予期しないエラー (ValueError)"),
    ],
)
def test_a_failed_refresh_is_said_and_the_next_one_still_runs(fault, said):
    answers = [fault, [{"participant": "amy"}]]

    def fetch():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    view = room_live.LiveView(fetch, seconds=2)
    view.show = lambda rows: setattr(view.status, "value", f"shown {len(rows)}")
    view.refresh()
    assert said in view.status.value and "更新できませんでした" in view.status.value
    view.refresh()
    assert view.status.value == "shown 1"
