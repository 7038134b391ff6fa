"""先生を呼ぶ (issue 26, item 3): the room's help desk (sandbox/help_desk.py), the button (help_button.py)
and the instructor's view of a call (watch.py, room_view.py).

The desk talks to a small HTTP server that keeps shares as JupyterHub's share API does (grant, revoke
by PATCH, the instructor's list with ``created_at``); tests/test_hub.py runs the same desk under real
JupyterHub 5.x and 6.x, where the instructor opens the participant's server through the share.
"""

import contextlib
import datetime
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_sandbox_room import _Hub, as_who, the_room, token_of

from handson_helpers import help_button, hub, room, room_view
from handson_helpers.display import Silent
from handson_helpers.sandbox import help_desk
from handson_helpers.sandbox.room import Caller, Hub, NotAllowed
from handson_helpers.sandbox.watch import Watch
from handson_helpers.settings import Settings

SERVICE_TOKEN = "room-service-token-0123456789"
FIXTURES = (the_room, as_who)  # test_sandbox_room's, used by name: a room of this module's own
T0 = 1_800_000_000.0


def _iso(when: float) -> str:
    """A time as JupyterHub writes it (UTC, with a Z)."""
    return datetime.datetime.fromtimestamp(when, datetime.UTC).isoformat().replace("+00:00", "Z")


class _Shares(BaseHTTPRequestHandler):
    """(owner, server, user) -> created_at; only the room's token may change anything."""

    shares: dict[tuple[str, str, str], float] = {}
    users = {"teacher", "alice", "bob", "squatter"}
    helpers = {"teacher", "bob"}  # HELPER_GROUP's members, as the hub's admin set them
    log: list[tuple[str, str]] = []
    refused_patches = 0  # the next PATCHes the hub refuses (a hub restarting)
    hang: threading.Event | None = None  # set: a share waits for it (a hub that hangs)

    def _answer(self, status: int, body: dict | None = None) -> None:
        data = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the room gave up on a hung hub
            self.wfile.write(data)

    def _route(self):
        if self.headers.get("Authorization") != f"token {SERVICE_TOKEN}":
            return self._answer(403)
        self.log.append((self.command, self.path))
        parts = [urllib.parse.unquote(p) for p in self.path.split("/")[3:]]  # /hub/api/...
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if parts[0] == "shares" and len(parts) == 3 and parts[1] in self.users:
            key = (parts[1], parts[2], body.get("user", ""))
            if key[2] not in self.users:
                return self._answer(400)
            if self.command == "POST":
                if self.hang is not None:
                    self.hang.wait(30)
                self.shares.setdefault(key, _clock.now)
                return self._answer(200, {"server": {"url": f"/user/{parts[1]}/", "name": parts[2]}})
            if self.command == "PATCH":
                if _Shares.refused_patches > 0:
                    _Shares.refused_patches -= 1
                    return self._answer(503)
                self.shares.pop(key, None)
                return self._answer(200)
        if self.command == "GET" and parts[0] == "users" and len(parts) == 2 and parts[1] in self.users:
            return self._answer(
                200, {"name": parts[1], "groups": [room.HELPER_GROUP] if parts[1] in self.helpers else []}
            )
        if self.command == "GET" and parts[0] == "users" and parts[2:] == ["shared"]:
            items = [
                {
                    "server": {"user": {"name": owner}, "name": server},
                    "created_at": _iso(when),
                }
                for (owner, server, user), when in self.shares.items()
                if user == parts[1]
            ]
            return self._answer(200, {"items": items})
        return self._answer(404)

    do_GET = do_POST = do_PATCH = _route  # noqa: N815 - http.server's names

    def log_message(self, *args):
        pass


class _Clock:
    now = T0

    def __call__(self) -> float:
        return self.now


_clock = _Clock()


@pytest.fixture
def desk():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Shares)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Shares.shares, _Shares.log, _Shares.refused_patches, _Shares.hang = {}, [], 0, None
    _clock.now = T0
    hub = Hub(f"http://127.0.0.1:{server.server_port}/hub/api", SERVICE_TOKEN)
    yield help_desk.HelpDesk(hub, ["teacher"], 900, clock=_clock)
    if _Shares.hang is not None:
        _Shares.hang.set()
    server.shutdown()


ALICE, BOB, TEACHER = Caller("alice", False), Caller("bob", False), Caller("teacher", True)


def test_a_call_shares_the_callers_own_server_with_the_instructor_until_the_limit(desk):
    answer = desk.ask(ALICE)
    assert answer["seconds_left"] == 900
    assert set(_Shares.shares) == {("alice", "", "teacher")}
    assert desk.open_calls() == {"alice": {"ago_seconds": 0.0, "seconds_left": 900, "url": "/user/alice/"}}
    _clock.now += 899
    desk.sweep()
    assert set(_Shares.shares) == {("alice", "", "teacher")}
    _clock.now += 1
    desk.sweep()
    assert _Shares.shares == {} and desk.open_calls() == {}


def test_calling_again_moves_nothing_and_a_new_call_waits_for_the_cooldown(desk):
    first = desk.ask(ALICE)
    _clock.now += 30
    assert desk.ask(ALICE)["until"] == first["until"]  # the same call: no later end, no second share
    assert [m for m, _ in _Shares.log].count("POST") == 1
    desk.withdraw(ALICE)
    assert _Shares.shares == {}
    with pytest.raises(NotAllowed) as refused:
        desk.ask(ALICE)
    assert refused.value.status == 429
    _clock.now += help_desk.COOLDOWN_SECONDS
    desk.ask(ALICE)
    assert set(_Shares.shares) == {("alice", "", "teacher")}


def test_a_withdrawal_revokes_only_the_helpers_share_of_the_callers_server(desk):
    desk.ask(ALICE)
    desk.ask(BOB)
    _Shares.shares[("alice", "", "bob")] = T0  # one alice made herself, for bob
    desk.withdraw(ALICE)
    assert set(_Shares.shares) == {("bob", "", "teacher"), ("alice", "", "bob")}
    desk.withdraw(BOB)
    desk.withdraw(BOB)  # nothing open: nothing to do
    assert set(_Shares.shares) == {("alice", "", "bob")}


@pytest.mark.parametrize(
    ("helpers", "caller", "offered", "status"),
    [
        (["teacher"], ALICE, True, None),
        (["teacher"], TEACHER, False, 403),  # the instructor (a hub admin) calls nobody
        (["teacher", "bob"], BOB, False, 403),  # an assistant: not a participant, nothing to share
        (["teacher", "bob"], Caller("teacher", False), False, 403),  # a helper who is no admin
        (["bob"], BOB, False, 403),
        ([], ALICE, False, 503),  # nobody to call
    ],
)
def test_only_a_participant_is_offered_help_and_only_a_participant_may_call(desk, helpers, caller, offered, status):
    desk.helpers = helpers
    assert desk.offered(caller) is offered
    if status is None:
        desk.ask(caller)
        assert {(owner, user) for owner, _, user in _Shares.shares} == {(caller.name, h) for h in helpers}
        return
    with pytest.raises(NotAllowed) as refused:
        desk.ask(caller)
    assert refused.value.status == status and _Shares.shares == {} and desk.open_calls() == {}
    if status == 403:
        assert "参加者" in refused.value.message  # said in Japanese


@pytest.mark.parametrize("second", ["ask", "withdraw", "offered", "open_calls"])
def test_a_hub_that_hangs_holds_one_call_and_freezes_nothing_else(desk, second, monkeypatch):
    """alice's share hangs in the hub; bob's request is answered (a 503 to try again, or at once)
    instead of waiting behind it, and alice's own call ends at the hub call's timeout."""
    monkeypatch.setattr(help_desk, "BUSY_SECONDS", 0.2)
    desk.hub.timeout = 3.0  # longer than bob waits for the lock
    _Shares.hang = threading.Event()
    first: list = []

    def alice():
        try:
            desk.ask(ALICE)
        except NotAllowed as exc:
            first.append(exc.status)

    stuck = threading.Thread(target=alice)
    stuck.start()
    while "POST" not in {method for method, _ in _Shares.log}:  # alice's request holds the lock and waits on the hub
        threading.Event().wait(0.05)
    answered: list = []

    def bob():
        try:
            answered.append(getattr(desk, second)(BOB) if second != "open_calls" else desk.open_calls())
        except NotAllowed as exc:
            answered.append(exc.status)

    other = threading.Thread(target=bob)
    other.start()
    other.join(60)  # a frozen desk would wait on alice's hub call, which the hub never answers
    stuck.join(60)
    assert not other.is_alive() and not stuck.is_alive()
    assert answered == [{"ask": 503, "withdraw": 503, "offered": True, "open_calls": {}}[second]]
    assert first == [502]  # the hub never answered alice's share: no call, the participant is told


def test_no_share_with_an_instructor_outlives_the_limit_a_restarted_room_included(desk):
    _Shares.shares[("bob", "", "teacher")] = T0 - 100  # made before the room restarted, or by hand
    _Shares.shares[("alice", "", "teacher")] = T0 - 900
    desk.sweep()
    assert set(_Shares.shares) == {("bob", "", "teacher")}
    _clock.now += 800
    desk.sweep()
    assert _Shares.shares == {}


@pytest.mark.parametrize("refused", [1, 2, 3])
def test_a_withdrawal_the_hub_refuses_is_said_and_retried_each_sweep(desk, refused):
    desk.ask(ALICE)
    desk.ask(BOB)
    _Shares.refused_patches = refused
    assert desk.withdraw(ALICE) == {"open": False, "revoked": False}  # the participant is told
    assert ("alice", "", "teacher") in _Shares.shares and "alice" not in desk.open_calls()
    for _ in range(refused):
        desk.sweep()
    assert set(_Shares.shares) == {("bob", "", "teacher")} and desk.pending == set()
    assert desk.withdraw(ALICE) == {"open": False, "revoked": True}  # nothing left open


def test_one_refused_revoke_does_not_stop_the_sweep(desk):
    _Shares.shares.update({("alice", "", "teacher"): T0 - 900, ("bob", "", "teacher"): T0 - 900})  # before a restart
    _Shares.refused_patches = 1
    desk.sweep()
    assert len(_Shares.shares) == 1  # the one the hub refused; the other revoked all the same
    desk.sweep()
    assert _Shares.shares == {}


def test_a_new_call_is_not_revoked_by_the_last_ones_pending_revoke(desk):
    desk.ask(ALICE)
    _Shares.refused_patches = 1
    assert desk.withdraw(ALICE)["revoked"] is False
    _clock.now += help_desk.COOLDOWN_SECONDS
    desk.ask(ALICE)
    desk.sweep()
    assert set(_Shares.shares) == {("alice", "", "teacher")} and desk.open_calls()["alice"]["seconds_left"] == 900


@pytest.mark.parametrize(
    ("helpers", "shared_with"),
    [
        (["teacher"], {"teacher"}),
        (["squatter", "teacher"], {"teacher"}),  # a hub user who signed up under a helper's name: not in the group
        (["nobody-of-that-name", "teacher"], {"teacher"}),  # not (yet) a hub user
        (["squatter"], set()),
        (["nobody-of-that-name"], set()),
    ],
)
def test_only_a_member_of_the_hubs_helper_group_is_shared_with(desk, helpers, shared_with):
    desk.helpers = helpers
    if shared_with:
        desk.ask(ALICE)
    else:
        with pytest.raises(NotAllowed) as refused:
            desk.ask(ALICE)
        assert refused.value.status == 502 and desk.open_calls() == {}  # a hub that shares with nobody: no call
    assert {user for (_, _, user) in _Shares.shares} == shared_with


def test_the_view_puts_callers_on_top_with_the_servers_path():
    watch = Watch()
    calls = {"carol": {"ago_seconds": 12.0, "seconds_left": 888, "url": "/user/carol/"}}
    rows = watch.view(now=T0, help=calls)
    assert [(r["participant"], r["help"]) for r in rows] == [("carol", calls["carol"])]
    report = Silent()
    room_view.show(report, rows)
    assert "/user/carol/" in report.reports[-1].text and "12秒前" in report.reports[-1].text


HUB = {
    "JUPYTERHUB_USER": "alice",
    "JUPYTERHUB_API_TOKEN": "t" * 32,
    "HANDSON_ROOM_URL": "http://127.0.0.1:1010",
    "HANDSON_HELP": "same-origin",
}


@pytest.mark.parametrize(
    ("environ", "shown"),
    [
        ({}, False),  # a laptop
        ({"JUPYTERHUB_USER": "alice", "JUPYTERHUB_API_TOKEN": "t" * 32}, False),  # a hub without the room
        ({**HUB, "HANDSON_SANDBOX": "private"}, False),  # a hub whose participants keep private sandboxes
        ({k: v for k, v in HUB.items() if k != "HANDSON_HELP"}, False),  # one origin, no operator's opt-in
        ({**HUB, "HANDSON_HELP": "yes"}, False),  # not a mode the kit knows
        (HUB, True),
        ({**HUB, "HANDSON_HELP": "subdomains"}, True),
    ],
)
def test_the_button_is_shown_only_in_a_hub_room(environ, shown):
    settings = Settings.read(environ)
    assert help_button.available(settings) is shown
    if not shown:  # asks no room (a shown one also asks the room: test_a_kernel_calls_through_the_room...)
        assert help_button.widgets(settings) == []


def test_a_room_that_cannot_be_asked_is_said_in_japanese():
    settings = Settings.read({**HUB, "HANDSON_ROOM_URL": "ftp://127.0.0.1:1010"})  # a room set up wrong
    assert "先生に知らせられませんでした" in help_button.call(settings, "POST")


def test_a_room_that_is_down_costs_a_form_one_look_and_a_click_a_short_grace(monkeypatch):
    """The button's questions to a room nobody listens on: the form asks once (no button), a click
    waits the click's grace (the room restarting), not the credentials' longer one."""
    port = hub.free_port(range(hub.SERVER_PORTS.stop - 10, hub.SERVER_PORTS.stop))
    looks: list[int] = []
    real = room.listener_uid
    monkeypatch.setattr(room, "listener_uid", lambda host, at: looks.append(at) or real(host, at))
    settings = Settings.read({**HUB, "HANDSON_ROOM_URL": f"http://127.0.0.1:{port}", "HANDSON_ROOM_UID": "0"})
    assert help_button.widgets(settings) == [] and looks == [port]
    looks.clear()
    assert "先生に知らせられませんでした" in help_button.call(settings, "POST")
    assert 1 < len(looks) <= help_button.CALL_GRACE_SECONDS / 0.5 + 1 < room.RESTART_GRACE_SECONDS / 0.5


@pytest.mark.xdist_group("room")
def test_a_kernel_calls_through_the_room_and_the_instructor_sees_it(as_who, the_room, monkeypatch):
    """The button's request to a real room process, which asks its hub who the token is."""
    monkeypatch.setenv("HANDSON_HELP", "same-origin")  # as the room's (start_room)
    as_who("carol")
    carol = Settings.read()
    assert "先生に知らせました" in help_button.call(carol, "POST")
    assert ("carol", "teacher") in _Hub.shares
    as_who("dave")
    assert help_button.call(Settings.read(), "DELETE") == help_button.texts.ENDED  # nothing of his open
    assert ("carol", "teacher") in _Hub.shares  # and carol's untouched
    assert len(help_button.widgets(carol)) == 1
    for helper in ("teacher", "ta"):  # the instructor (a hub admin) and an assistant: no button, no call
        as_who(helper)
        assert help_button.widgets(Settings.read()) == []
        assert help_button.call(Settings.read(), "POST") == help_button.texts.NOT_A_PARTICIPANT
        assert not any(owner == helper for owner, _ in _Hub.shares)
    as_who("teacher")
    teacher = Settings.read()
    rows = room_view.fetch(teacher)
    assert rows[0]["participant"] == "carol" and rows[0]["help"]["url"] == "/user/carol/"
    assert [r for r in rows[1:] if r["help"]] == []
    for method, authorization, status in [
        ("PUT", f"token {token_of('carol')}", 405),
        ("POST", "token not-a-token-of-anyone", 403),
        ("POST", None, 401),
    ]:
        request = urllib.request.Request(
            the_room["url"] + room.HELP_PATH,
            method=method,
            headers={"Authorization": authorization} if authorization else {},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == status
    assert help_button.call(carol, "DELETE") == help_button.texts.ENDED
    assert ("carol", "teacher") not in _Hub.shares and [r for r in room_view.fetch(teacher) if r["help"]] == []


@pytest.mark.parametrize(
    ("subdomain_host", "opt_in", "mode"),
    [
        ("", None, ""),  # every server on the hub's origin: a helper's hub session is exposed, so no button
        ("", "0", ""),
        ("", "yes", ""),  # only "1" opts in
        ("", "1", "same-origin"),
        ("https://hub.example.org", None, "subdomains"),
        ("https://hub.example.org", "1", "subdomains"),
    ],
)
def test_the_hub_offers_help_only_on_its_own_origin_per_server_or_by_the_operators_choice(
    monkeypatch, subdomain_host, opt_in, mode
):
    if opt_in is None:
        monkeypatch.delenv("HANDSON_HUB_HELP_SAME_ORIGIN", raising=False)
    else:
        monkeypatch.setenv("HANDSON_HUB_HELP_SAME_ORIGIN", opt_in)
    assert hub.help_mode(subdomain_host) == mode
    server = Settings.read({**HUB, "HANDSON_HELP": "", **hub.spawner_environment("http://127.0.0.1:1010", 0, mode)})
    assert help_button.available(server) is bool(mode)
    assert hub.room_service("python3", "", "", ["ta1"], mode)["environment"].get("HANDSON_HELP", "") == mode


@pytest.mark.parametrize(
    "created_at",
    ["2027-01-15T08:00:00Z", "2027-01-15T08:00:00.123456Z", "2027-01-15T08:00:00+00:00", "2027-01-15T17:00:00+09:00"],
)
def test_the_hubs_times_are_read_as_it_writes_them(created_at):
    assert round(help_desk._hub_time(created_at)) == T0  # Python 3.10 reads no "Z" by itself


def test_the_sweep_thread_outlives_whatever_a_sweep_meets(desk, monkeypatch, caplog):
    """A sweep that raises (an answer the room did not expect) is logged and the next one still runs."""
    runs = []

    def sweep():
        runs.append(1)
        if len(runs) == 1:
            raise KeyError("an answer the room did not expect")
        stop.set()

    stop = threading.Event()
    monkeypatch.setattr(help_desk, "SWEEP_SECONDS", 0.01)
    monkeypatch.setattr(desk, "sweep", sweep)
    thread = threading.Thread(target=desk.run, args=(stop,))
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and len(runs) == 2
    assert "KeyError" in caplog.text and "an answer the room did not expect" not in caplog.text


def test_a_helper_dropped_across_a_restart_loses_the_rooms_shares_at_the_next_sweep(desk, tmp_path):
    """The room keeps whom it shared with in its state folder (0600): a restarted room whose
    HANDSON_HELPERS no longer names teacher still revokes teacher's shares, whatever their age."""
    before = help_desk.HelpDesk(desk.hub, ["teacher"], 900, clock=_clock, state=tmp_path)
    before.ask(ALICE)
    saved = tmp_path / "help-shared-with.json"
    assert json.loads(saved.read_text()) == ["teacher"] and saved.stat().st_mode & 0o777 == 0o600
    after = help_desk.HelpDesk(desk.hub, ["bob"], 900, clock=_clock, state=tmp_path)
    _clock.now += 1
    after.sweep()
    assert _Shares.shares == {}
    after.sweep()  # nothing left with teacher: forgotten
    assert json.loads(saved.read_text()) == []


def test_a_failed_call_waits_for_the_cooldown_too(desk):
    desk.helpers = ["squatter"]  # the hub shares with nobody
    with pytest.raises(NotAllowed) as refused:
        desk.ask(ALICE)
    assert refused.value.status == 502
    asked = len(_Shares.log)
    desk.helpers = ["teacher"]
    with pytest.raises(NotAllowed) as refused:
        desk.ask(ALICE)  # clicked again at once: the hub is not asked again
    assert refused.value.status == 429 and len(_Shares.log) == asked
    _clock.now += help_desk.COOLDOWN_SECONDS
    desk.ask(ALICE)
    assert set(_Shares.shares) == {("alice", "", "teacher")}
