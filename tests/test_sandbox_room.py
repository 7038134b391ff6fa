"""The room sandbox (sandbox/room.py, room.py) as a real server process, asked for keys with hub tokens.

The hub here is a small HTTP server that answers ``GET /hub/api/user`` and ``/hub/api/users/NAME``
as JupyterHub does; tests/test_hub.py runs the same room under a real JupyterHub.
"""

import functools
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from helpers import signing_with, totp_at

import handson_helpers as hh
from handson_helpers import hub, room, room_view, totp, workshop
from handson_helpers.errors import HandsonError
from handson_helpers.sandbox import room as room_server
from handson_helpers.settings import expand

ACCOUNT = "arn:aws:iam::123456789012"
SERVICE_TOKEN = "room-service-token-0123456789"
pytestmark = pytest.mark.xdist_group("room")  # one room per run, its tests in order
PARTICIPANTS = [
    "alice",
    "bob",
    "a.b",
    "axb",
    "x-alice",
    "alicex",
    "Ünï Code",
    "late",
    "carol",
    "dave",
    "eve",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "eve!x",
    "Zoë X",
    "erin",
]


class _Hub(BaseHTTPRequestHandler):
    tokens: dict[str, dict] = {}
    admins: set[str] = set()
    asked: list[str] = []
    created: dict[str, str] = {}

    def do_GET(self):  # noqa: N802 - http.server's name
        auth = self.headers.get("Authorization", "")
        self.asked.append(self.path)
        if self.path == "/hub/api/user" and auth in self.tokens:
            body = self.tokens[auth]  # like a server token's view: no admin field
        elif self.path.startswith("/hub/api/users/") and auth == f"token {SERVICE_TOKEN}":
            name = urllib.request.unquote(self.path.rsplit("/", 1)[1])
            body = {
                "kind": "user",
                "name": name,
                "admin": name in self.admins,
                "created": self.created.get(name, "2026-12-01T09:00:00Z"),
                "groups": [room.HELPER_GROUP] if name in ("teacher", "ta") else [],  # the hub's helpers (help_desk.py)
            }
        else:
            self.send_response(403)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    shares: set[tuple[str, str]] = set()  # (owner, user), as the share API grants and revokes them

    def do_POST(self):  # noqa: N802 - http.server's name
        self._share(self.shares.add)

    def do_PATCH(self):  # noqa: N802 - http.server's name
        self._share(self.shares.discard)

    def _share(self, change):
        mine = self.headers.get("Authorization") == f"token {SERVICE_TOKEN}"
        if not (mine and self.path.startswith("/hub/api/shares/")):
            self.send_response(403)
            self.end_headers()
            return
        owner = urllib.request.unquote(self.path.split("/")[4])
        change((owner, json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))["user"]))
        data = json.dumps({"server": {"url": f"/user/{owner}/", "name": ""}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def token_of(name: str) -> str:
    return "tok-" + name.encode().hex()


def start_room(home: Path, hub_port: int, prelude: str = "") -> tuple[subprocess.Popen, str]:
    """The room service as the hub starts it (``prelude``: code run first, to inject a fault); its URL."""
    port = hub.free_port(range(10000, 12000))  # outside the ephemeral range: no other process is handed it
    env = {
        **os.environ,
        "HANDSON_HOME": str(home / "state"),
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
        "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub_port}/hub/api",
        "JUPYTERHUB_API_TOKEN": SERVICE_TOKEN,
        "HANDSON_HELPERS": "teacher ta",  # 先生を呼ぶ: the instructor and an assistant (test_sandbox_help_desk.py)
        "HANDSON_HELP": "same-origin",  # on the operator's opt-in (hub.help_mode)
    }
    command = ["-m", "handson_helpers.sandbox", "room"]
    if prelude:
        command = [
            "-c",
            prelude + "\nimport sys\nfrom handson_helpers.sandbox.__main__ import main\nsys.exit(main(['room']))",
        ]
    proc = subprocess.Popen([sys.executable, *command], env=env, stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()
    assert "room sandbox: serving" in first, first
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def the_room(tmp_path_factory):
    fake = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    _Hub.tokens = {f"token {token_of(n)}": {"kind": "user", "name": n} for n in [*PARTICIPANTS, "teacher", "ta"]}
    _Hub.tokens["token tok-service-x"] = {"kind": "service", "name": "other-service"}
    _Hub.admins = {"teacher"}
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    home = tmp_path_factory.mktemp("room")
    os.chmod(home, 0o700)
    proc, url = start_room(home, fake.server_port)
    yield {"url": url, "home": home, "proc": proc, "hub": fake}
    proc.terminate()
    assert proc.wait(10) == 0  # SIGTERM: a clean stop, as the hub expects of its services
    fake.shutdown()


@pytest.fixture
def as_who(the_room, monkeypatch, tmp_path):
    """Switch this process's environment to a participant's kernel in the room."""

    def switch(name: str):
        home = tmp_path / name.encode().hex()
        home.mkdir(mode=0o700, exist_ok=True)
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.setenv("HANDSON_ROOM_URL", the_room["url"])
        monkeypatch.setenv("HANDSON_ROOM_UID", str(os.getuid()))
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token_of(name))
        monkeypatch.setenv("JUPYTERHUB_USER", name)
        monkeypatch.delenv("HANDSON_SANDBOX", raising=False)
        return hh.connect(hh.Silent())

    return switch


def _ask(url: str, authorization: str | None, method: str = "GET") -> tuple[int, dict]:
    request = urllib.request.Request(
        url + room.CREDENTIALS_PATH, method=method, headers={"Authorization": authorization} if authorization else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def hands_on(ctx, home) -> str:
    """1 → 2.1 → 2.2 with the participant's own names, unless their user is there already; the user's name."""
    user, device = room.own_names(hh.settings.participant(ctx.participant))
    if user in {u["UserName"] for u in ctx.iam.list_users()["Users"]}:
        return user
    qr = str(home / "qr" / f"{device}.png")
    hh.create_user(ctx, user, "/handson-cli/")
    serial = hh.create_virtual_mfa_device(ctx, device, qr)
    hh.enable_mfa_device(ctx, user, serial, *totp.consecutive_codes(totp.secret_from_qr(expand(qr))))
    return user


EVERYTHING = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def unbounded_key(ctx, home):
    """What 3.1 and 40 allow a participant: their own user with an Allow-everything policy and a key;
    the user's name, the key, and an IAM client signing with it."""
    user = hands_on(ctx, home)
    ctx.iam.put_user_policy(UserName=user, PolicyName="everything", PolicyDocument=EVERYTHING)
    key = ctx.iam.create_access_key(UserName=user)["AccessKey"]
    return user, key, signing_with(ctx, "iam", key)


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("token short", 401),
        ("Basic dXNlcjpwYXNz", 401),
        ("token tok-unknown-user", 403),
        ("token tok-service-x", 403),  # a service, not a participant's server
        ("token " + "x" * 300, 401),
    ],
)
def test_keys_only_for_tokens_the_hub_vouches_for(the_room, authorization, status):
    code, body = _ask(the_room["url"], authorization)
    assert code == status and "SecretAccessKey" not in body


def test_keys_are_the_participants_own_and_stable(the_room):
    _, first = _ask(the_room["url"], f"token {token_of('alice')}")
    _, again = _ask(the_room["url"], f"token {token_of('alice')}")
    _, other = _ask(the_room["url"], f"token {token_of('bob')}")
    assert first["Role"] == "participant" and first["Participant"] == "alice"
    assert first["AccessKeyId"] == again["AccessKeyId"] != other["AccessKeyId"]
    assert _ask(the_room["url"], f"token {token_of('alice')}", method="POST")[0] == 405


def test_the_hub_admin_is_the_instructor(as_who):
    ctx = as_who("teacher")
    assert ctx.caller_arn.endswith(":assumed-role/HandsonSandboxAdmin/learner")
    assert "講師 (ルーム全体を操作できます)" in ctx.report.reports[0].text


def test_a_participant_acts_as_their_own_iam_user(as_who):
    ctx = as_who("bob")
    assert ctx.caller_arn == f"{ACCOUNT}:user/handson-room/handson-room-bob" and ctx.participant == "bob"
    assert ctx.sts.get_caller_identity()["Arn"] == ctx.caller_arn
    assert "参加者 bob (自分のユーザーとMFAデバイスだけを操作できます)" in ctx.report.reports[0].text


def test_the_kit_names_come_from_the_room_not_the_environment(as_who, monkeypatch):
    monkeypatch.setenv("HANDSON_PARTICIPANT", "alice")  # bob pretending: the kit still uses bob's names
    ctx = as_who("bob")
    assert ctx.participant == "bob"


# (attacker, victim): names that differ by a regex metacharacter or a suffix of the other's
PAIRS = [
    ("bob", "alice"),
    ("axb", "a.b"),
    ("alice", "x-alice"),
    ("a.b", "axb"),
    ("alice", "alicex"),
    ("alicex", "alice"),
    ("Ünï Code", "alice"),
]


@pytest.mark.parametrize(("attacker", "victim"), PAIRS)
def test_a_participant_cannot_touch_anothers_user_or_device(as_who, tmp_path, attacker, victim):
    victim_ctx = as_who(victim)
    victim_user, victim_device = room.own_names(hh.settings.participant(victim))
    hands_on(victim_ctx, tmp_path / victim.encode().hex())
    serial = f"{ACCOUNT}:mfa/{victim_device}"
    ctx = as_who(attacker)
    calls = [
        lambda: ctx.iam.get_user(UserName=victim_user),
        lambda: ctx.iam.list_mfa_devices(UserName=victim_user),
        lambda: ctx.iam.deactivate_mfa_device(UserName=victim_user, SerialNumber=serial),
        lambda: ctx.iam.delete_virtual_mfa_device(SerialNumber=serial),
        lambda: ctx.iam.delete_user(UserName=victim_user),
        lambda: ctx.iam.create_access_key(UserName=victim_user),
        lambda: ctx.iam.put_user_policy(UserName=victim_user, PolicyName="p", PolicyDocument="{}"),
        lambda: ctx.iam.tag_user(UserName=victim_user, Tags=[{"Key": "k", "Value": "v"}]),
        lambda: ctx.iam.create_user(UserName=victim_user + "zz"),
        lambda: ctx.iam.update_user(UserName=victim_user, NewUserName=victim_user + "-mine"),
        lambda: ctx.iam.create_user(UserName="handson-room-" + hh.settings.participant(attacker) + "2"),
        lambda: ctx.iam.create_access_key(UserName=room.identity_name(hh.settings.participant(attacker))),
        lambda: ctx.iam.put_user_policy(
            UserName=room.identity_name(hh.settings.participant(attacker)), PolicyName="p", PolicyDocument="{}"
        ),
    ]
    for call in calls:
        with pytest.raises(ctx.iam.exceptions.ClientError) as denied:
            call()
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert victim_user in {u["UserName"] for u in ctx.iam.list_users()["Users"]}  # the account's list stays readable


def test_a_key_made_by_a_participant_stays_within_their_names(as_who, tmp_path):
    """3.1 and 40 let a participant give their own user a key and any policy; the room's boundary
    keeps that user to the participant's names all the same."""
    as_who("alice")
    ctx = as_who("bob")
    bob_user, key, iam = unbounded_key(ctx, tmp_path)
    try:
        assert iam.get_user(UserName=bob_user)["User"]["UserName"] == bob_user
        for call in (
            lambda: iam.get_user(UserName=room.own_names("alice")[0]),
            lambda: iam.create_user(UserName="someone-else"),
        ):
            with pytest.raises(iam.exceptions.ClientError) as denied:
                call()
            assert "because no permissions boundary allows" in denied.value.response["Error"]["Message"]
    finally:
        ctx.iam.delete_access_key(UserName=bob_user, AccessKeyId=key["AccessKeyId"])
        ctx.iam.delete_user_policy(UserName=bob_user, PolicyName="everything")


def test_the_instructor_sees_everyone_and_cleans_up_everything(as_who, tmp_path):
    for name in ("alice", "bob"):
        ctx = as_who(name)
        hands_on(ctx, tmp_path / name)
    as_who("late")  # joined, not started
    teacher = as_who("teacher")
    rows = {r.participant: r for r in workshop.status(teacher)}
    assert rows["alice"].enabled and rows["bob"].enabled and not rows["late"].enabled and rows["late"].user is None
    assert workshop.cleanup(teacher, yes=True) == 0
    assert teacher.iam.list_users()["Users"] == [] and teacher.iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    ctx = as_who("alice")  # a participant coming back after the cleanup gets a new identity
    assert ctx.caller_arn.endswith("user/handson-room/handson-room-alice")


@pytest.mark.parametrize(
    ("env", "code", "says"),
    [
        ({"HANDSON_SANDBOX": "shared"}, "BadSandboxMode", "private か room"),
        (
            {"HANDSON_ROOM_URL": "http://127.0.0.1:109401", "JUPYTERHUB_API_TOKEN": "tok-x-12345678"},
            "RoomNotConfigured",
            "http://ホスト:ポート",
        ),
        (
            {"HANDSON_ROOM_URL": "127.0.0.1:10101", "JUPYTERHUB_API_TOKEN": "tok-x-12345678"},
            "RoomNotConfigured",
            "http://ホスト:ポート",
        ),
        ({"HANDSON_SANDBOX": "room"}, "RoomNotConfigured", "HANDSON_ROOM_URL"),
        (
            {"HANDSON_SANDBOX": "room", "HANDSON_ROOM_URL": "http://127.0.0.1:9"},
            "RoomNotConfigured",
            "JupyterHub の中でだけ",
        ),
        (
            {"HANDSON_ROOM_URL": "http://127.0.0.1:9", "JUPYTERHUB_API_TOKEN": "tok-x-12345678"},
            "RoomUnreachable",
            "講師に連絡",
        ),
    ],
)
def test_a_room_that_is_not_there_says_what_to_do(monkeypatch, env, code, says):
    monkeypatch.setattr(room, "RESTART_GRACE_SECONDS", 1.0)
    for key in ("HANDSON_SANDBOX", "HANDSON_ROOM_URL", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(HandsonError) as refused:
        hh.connect(hh.Silent())
    assert refused.value.code == code and says in refused.value.message


IMPOSTOR = """
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print(s.getsockname()[1], flush=True)
sys.stdin.read()  # until the kernel has had its answer: a connection it made is waiting by then
s.setblocking(False)
try:
    conn, _ = s.accept(); conn.settimeout(2); print("GOT", conn.recv(65536), flush=True)
except OSError:
    print("NOTHING", flush=True)
"""


# However the room's URL spells this machine, the kernel checks the listener it will talk to.
SPELLINGS = [
    "http://127.0.0.1:{port}",
    "http://localhost:{port}",
    "http://127.1:{port}",
    "http://0x7f000001:{port}",
    "http://2130706433:{port}",
    "http://a@127.0.0.1:{port}",
    "http://" + os.uname().nodename + ":{port}",
]


def start_impostor():
    """A participant (uid nobody) listening on a loopback port: the process and its port."""
    impostor = subprocess.Popen(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", IMPOSTOR],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return impostor, int(impostor.stdout.readline())


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_hub_token_goes_to_no_one_but_the_room(monkeypatch, spelling):
    """A participant (here uid nobody) listening where the room should be gets nothing from a kernel."""
    impostor, port = start_impostor()
    monkeypatch.setenv("HANDSON_ROOM_URL", spelling.format(port=port))
    monkeypatch.setenv("HANDSON_ROOM_UID", str(os.getuid()))
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "tok-precious-0123456789")
    with pytest.raises(HandsonError) as refused:
        hh.connect(hh.Silent())
    assert refused.value.code == "RoomUnreachable" and "ユーザーID 65534" in refused.value.message
    assert impostor.communicate(timeout=10)[0].strip() == "NOTHING"


def test_the_instructors_view_asks_no_one_but_the_room():
    """A participant listening on the room's port (while the hub restarts it) gets no request of the
    view's, so they cannot show the instructor rows of their own (a call pointing at their server)."""
    impostor, port = start_impostor()
    with pytest.raises(HandsonError) as refused:
        room_view.read(f"http://127.0.0.1:{port}", "not-a-key-id", "not-a-secret", owner=os.getuid())
    assert refused.value.code == "RoomUnreachable" and "ユーザーID 65534" in refused.value.message
    assert impostor.communicate(timeout=10)[0].strip() == "NOTHING"


def test_the_listener_check_reads_who_listens(the_room):
    port = int(the_room["url"].rsplit(":", 1)[1])
    assert room.listener_uid("127.0.0.1", port) == os.getuid()
    assert room.listener_uid("127.0.0.1", hub.free_port(range(10000, 12000))) is None


def test_a_refused_token_says_what_to_do(the_room, monkeypatch):
    monkeypatch.setenv("HANDSON_ROOM_UID", str(os.getuid()))
    monkeypatch.setenv("HANDSON_ROOM_URL", the_room["url"])
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "tok-not-a-hub-token")
    with pytest.raises(HandsonError) as refused:
        hh.connect(hh.Silent())
    assert refused.value.code == "RoomRefused" and "tok-not-a-hub-token" not in refused.value.message


def test_issued_keys_are_saved_like_the_rest_of_the_room(the_room):
    """The hub restarts its services; a participant's key must survive that (the state file, 0600)."""
    _, issued = _ask(the_room["url"], f"token {token_of('bob')}")
    saved = the_room["home"] / "state" / "iam-state.json"
    assert issued["AccessKeyId"] in {k["id"] for u in json.loads(saved.read_text())["users"] for k in u["access_keys"]}
    assert saved.stat().st_mode & 0o777 == 0o600


def _readme_block(marker: str) -> str:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = text.index(marker)
    return text[start : text.index("```", start)]


def _lazy(value, initial):
    return value.get_value(initial) if hasattr(value, "get_value") else value


def test_the_readme_shows_the_room_make_hub_runs():
    """The TLJH and Zero to JupyterHub snippets say what hub.py defines (one definition, shown twice)."""
    from traitlets.config import Config

    c = Config()
    exec(_readme_block("# /opt/tljh/config/jupyterhub_config.d/handson-room.py"), {"c": c})  # noqa: S102 - the README's own block
    url = "http://127.0.0.1:1010"
    assert _lazy(c.JupyterHub.services, []) == [
        hub.room_service("/opt/tljh/user/bin/python", "/opt/tljh/state/handson-room", url, ["ta1"])
    ]
    assert _lazy(c.Spawner.args, []) == hub.SPAWNER_ARGS
    assert _lazy(c.JupyterHub.load_roles, []) == [hub.ROOM_ROLE]
    assert _lazy(c.JupyterHub.load_groups, {}) == hub.help_groups(["ta1"])  # the helpers, in the admin's group
    assert _lazy(c.Spawner.environment, {}) == hub.spawner_environment(url, 0)

    helm = yaml.safe_load(_readme_block("hub:\n  image:"))
    service = helm["hub"]["services"][hub.ROOM_SERVICE]
    assert service["command"][1:] == hub.room_service("python3", "", "")["command"][1:]
    assert helm["hub"]["loadRoles"][hub.ROOM_SERVICE] == {k: v for k, v in hub.ROOM_ROLE.items() if k != "name"}
    helpers = service["environment"]["HANDSON_HELPERS"].split()
    assert helm["hub"]["config"]["JupyterHub"]["load_groups"] == hub.help_groups(helpers)
    assert set(helm["singleuser"]["extraEnv"]) == set(hub.spawner_environment(service["url"])) - {
        "HANDSON_ROOM_UID"
    }  # not on loopback there


def test_make_hubs_config_is_that_room(tmp_path, monkeypatch):
    from traitlets.config import Config

    c = Config()
    monkeypatch.setenv("HANDSON_HUB_DIR", str(tmp_path))
    monkeypatch.setenv("HANDSON_HUB_STATE", str(tmp_path / "state"))
    monkeypatch.setenv("HANDSON_HUB_PORTS", json.dumps(hub.DEFAULT_PORTS))
    monkeypatch.delenv("HANDSON_HUB_DRIVER_TOKEN", raising=False)
    config = Path(hub.__file__).with_name("jupyterhub_config.py")
    exec(compile(config.read_text(), str(config), "exec"), {"get_config": lambda: c, "__file__": str(config)})  # noqa: S102
    url = f"http://127.0.0.1:{hub.DEFAULT_PORTS['room']}"
    assert c.JupyterHub.services == [
        hub.room_service(
            str(tmp_path / "venv" / "bin" / "python"), str(tmp_path / "state" / "room"), url, hub.ASSISTANTS
        )
    ]
    assert c.JupyterHub.load_roles == [hub.ROOM_ROLE]
    # the room shares only with the assistants, and only as members of the group the hub's admin manages
    assert c.JupyterHub.load_groups == {room.HELPER_GROUP: {"users": hub.ASSISTANTS}}
    assert {k: v for k, v in c.Spawner.environment.items() if k != "PATH"} == hub.spawner_environment(url, os.getuid())
    assert c.JupyterHub.bind_url.startswith("http://127.0.0.1:") and c.Authenticator.admin_users == {hub.INSTRUCTOR}
    assert c.JupyterHub.authenticator_class == "handson_helpers.hub_classes.HandsonAuthenticator"
    assert c.JupyterHub.spawner_class == "handson_helpers.hub_classes.HandsonSpawner"
    assert "--KernelManager.transport=ipc" in c.Spawner.args  # kernels over IPC files in the participant's home
    assert hub.DEFAULT_PORTS["room"] < 1024  # a port only root can bind


@pytest.mark.parametrize(
    "move",
    [
        {"NewUserName": "free-name"},  # out of every boundary's reach (the review's first finding)
        {"NewUserName": "handson-room-carol", "NewPath": "/handson-room/"},  # squatting a room identity
        {"NewPath": "/elsewhere/"},  # out of the instructor's cleanup
    ],
)
def test_a_participant_cannot_move_their_own_user_out_of_reach(as_who, tmp_path, move):
    ctx = as_who("eve")
    user = hands_on(ctx, tmp_path)
    with pytest.raises(ctx.iam.exceptions.ClientError) as denied:
        ctx.iam.update_user(UserName=user, **move)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize("path", ["/elsewhere/", "/handson-room/"])
def test_a_participant_creates_their_user_at_the_hands_ons_path_only(as_who, path):
    ctx = as_who("eve")
    with pytest.raises(ctx.iam.exceptions.ClientError) as denied:
        ctx.iam.create_user(UserName=room.own_names("eve")[0] + "", Path=path)
    assert denied.value.response["Error"]["Code"] in ("AccessDenied", "EntityAlreadyExists")
    assert all(u["Path"] != path for u in ctx.iam.list_users()["Users"] if u["UserName"] == room.own_names("eve")[0])


@pytest.mark.parametrize(("who", "planted"), [("carol", "handson-room-carol"), ("dave", "HANDSON-ROOM-DAVE")])
def test_a_room_identity_someone_else_made_is_never_handed_out(the_room, as_who, who, planted):
    """Whoever made a user of a participant's identity name (here the administrator) does not get
    that participant's key handed to them: the room refuses, clearly, and changes nothing."""
    teacher = as_who("teacher")
    teacher.iam.create_user(UserName=planted, Path="/handson-room/")
    try:
        status, body = _ask(the_room["url"], f"token {token_of(who)}")
        assert status == 409 and "SecretAccessKey" not in body and "instructor" in body["error"]
        assert teacher.iam.list_access_keys(UserName=planted)["AccessKeyMetadata"] == []
    finally:
        teacher.iam.delete_user(UserName=planted)


def test_a_participants_users_stay_bounded_after_their_identity_is_gone(as_who, tmp_path):
    bob_user, key, iam = unbounded_key(as_who("bob"), tmp_path)
    teacher = as_who("teacher")
    identity = room.identity_name("bob")
    for old in teacher.iam.list_access_keys(UserName=identity)["AccessKeyMetadata"]:
        teacher.iam.delete_access_key(UserName=identity, AccessKeyId=old["AccessKeyId"])
    teacher.iam.delete_user_policy(UserName=identity, PolicyName=room.SCOPE_POLICY_NAME)
    teacher.iam.delete_user(UserName=identity)
    with pytest.raises(iam.exceptions.ClientError) as denied:
        iam.create_user(UserName="backdoor")
    assert "because no permissions boundary allows" in denied.value.response["Error"]["Message"]
    teacher.iam.delete_access_key(UserName=bob_user, AccessKeyId=key["AccessKeyId"])
    teacher.iam.delete_user_policy(UserName=bob_user, PolicyName="everything")


def test_the_instructors_cleanup_takes_what_participants_made_by_hand_and_nothing_else(as_who):
    """In a room everything named for a participant is theirs: made in the terminal without the
    kit's tags, with extra policies and keys, it goes too; the instructor's own user stays."""
    ctx = as_who("carol")
    user, device = room.own_names("carol")
    ctx.iam.create_user(UserName=user, Path="/handson-cli/")  # the seed's own command: no tags
    ctx.iam.create_virtual_mfa_device(VirtualMFADeviceName=device)
    ctx.iam.put_user_policy(
        UserName=user,
        PolicyName="mine",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}
        ),
    )
    ctx.iam.create_access_key(UserName=user)
    ctx.iam.create_access_key(UserName=user)
    teacher = as_who("teacher")
    teacher.iam.create_user(UserName="instructor-made", Path="/staff/")
    assert workshop.cleanup(teacher, yes=True) == 0  # teacher's reporter is Silent
    left = {u["UserName"] for u in teacher.iam.list_users()["Users"]}
    assert left == {"instructor-made"} and teacher.iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    teacher.iam.delete_user(UserName="instructor-made")


def test_a_participant_asking_for_everyones_status_is_told_it_is_the_instructors(as_who):
    with pytest.raises(HandsonError) as refused:
        workshop.status(as_who("alice"))
    assert refused.value.code == "InstructorOnly" and "講師" in refused.value.message


def test_the_hub_is_asked_again_once_the_cache_is_stale(the_room):
    asked = []
    caller = room_server.Hub(f"http://127.0.0.1:{the_room['hub'].server_port}/hub/api", SERVICE_TOKEN)
    _Hub.asked = asked
    for now in (0.0, 5.0, room_server.IDENTIFY_CACHE_SECONDS + 1):
        assert caller.identify(f"token {token_of('alice')}", now=now).name == "alice"
    assert asked.count("/hub/api/user") == 2


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("http://localhost:10101", "http://127.0.0.1:10101"),
        ("http://localhost:10101/", "http://127.0.0.1:10101"),
        ("http://127.0.0.1:10101", "http://127.0.0.1:10101"),
    ],
)
def test_localhost_is_pinned_to_the_address_that_is_checked(monkeypatch, given, used):
    monkeypatch.setenv("HANDSON_ROOM_URL", given)
    assert room.url(hh.settings.Settings.read()) == used


def test_the_instructors_own_device_is_not_a_participants(as_who):
    """A device named like a participant's but at another path, or assigned to the instructor's own
    user, is the instructor's: the room's cleanup leaves it."""
    teacher = as_who("teacher")
    teacher.iam.create_user(UserName="demo", Path="/instructor/")
    elsewhere = teacher.iam.create_virtual_mfa_device(
        VirtualMFADeviceName="handson-cli-basic-user-mfa-demo", Path="/instructor/"
    )["VirtualMFADevice"]
    seed = elsewhere["Base32StringSeed"].decode()
    teacher.iam.enable_mfa_device(
        UserName="demo",
        SerialNumber=elsewhere["SerialNumber"],
        AuthenticationCode1=totp_at(seed, time.time() - 30),
        AuthenticationCode2=totp_at(seed, time.time()),
    )
    assert workshop.cleanup(teacher, yes=True) == 0
    assert [d["SerialNumber"] for d in teacher.iam.list_virtual_mfa_devices()["VirtualMFADevices"]] == [
        elsewhere["SerialNumber"]
    ]
    teacher.iam.deactivate_mfa_device(UserName="demo", SerialNumber=elsewhere["SerialNumber"])
    teacher.iam.delete_virtual_mfa_device(SerialNumber=elsewhere["SerialNumber"])
    teacher.iam.delete_user(UserName="demo")


def test_a_name_given_to_someone_new_gets_a_new_key_and_the_old_one_stops(as_who, the_room):
    """The hub deleted "erin" (how FirstUseAuthenticator resets a password) and someone made a new
    "erin": the keys the last holder's kernels had no longer work, and neither do their sessions."""
    old = as_who("erin")
    old_key = old.iam._request_signer._credentials.access_key  # what the old holder's kernel holds
    old_session = old.sts.get_session_token()["Credentials"]
    user, device = room.own_names("erin")  # the old holder's own user, with a key and an Allow * policy
    old.iam.create_user(UserName=user, Path="/handson-cli/")
    old.iam.create_virtual_mfa_device(VirtualMFADeviceName=device)
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    old.iam.put_user_policy(UserName=user, PolicyName="everything", PolicyDocument=json.dumps(everything))
    planted = old.iam.create_access_key(UserName=user)["AccessKey"]
    _Hub.created["erin"] = "2026-12-02T09:00:00Z"
    try:
        time.sleep(room_server.IDENTIFY_CACHE_SECONDS + 0.5)  # the room asks the hub again
        new = as_who("erin")
        assert new.iam._request_signer._credentials.access_key != old_key
        new.iam.list_users()
        assert [u["UserName"] for u in new.iam.list_users()["Users"] if "erin" in u["UserName"]] == [
            room.identity_name("erin")
        ]
        assert [d for d in new.iam.list_virtual_mfa_devices()["VirtualMFADevices"] if "erin" in d["SerialNumber"]] == []
        for stale in (old.iam, signing_with(new, "iam", old_session), signing_with(new, "iam", planted)):
            with pytest.raises(new.iam.exceptions.ClientError) as refused:
                stale.list_users()
            assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
        again = as_who("erin")  # the same holder asks again: the same key
        assert again.iam._request_signer._credentials.access_key == new.iam._request_signer._credentials.access_key
    finally:
        _Hub.created.pop("erin")


# ----- issue 21: the room under attack -----


def at_21(ctx, home) -> tuple[str, str, str]:
    """1 → 2.1 with the participant's own names, 2.2 not yet done: (user, serial, seed)."""
    user, device = room.own_names(hh.settings.participant(ctx.participant))
    qr = str(home / "qr" / f"{device}.png")
    hh.create_user(ctx, user, "/handson-cli/")
    serial = hh.create_virtual_mfa_device(ctx, device, qr)
    return user, serial, totp.secret_from_qr(expand(qr))


def _denied(client, call, *, code="AccessDenied") -> str:
    with pytest.raises(client.exceptions.ClientError) as refused:
        call()
    assert refused.value.response["Error"]["Code"] == code, refused.value.response["Error"]
    return refused.value.response["Error"]["Message"]


def test_a_participants_device_is_assigned_to_no_one_else(as_who, tmp_path):
    """The review's attack: A has B's seed (from B's kernel) and assigns B's still unassigned device
    to A's own user. The room refuses it to A's identity, to A's user's own key and to the
    instructor, and refuses any device not named for A, too; B's 2.2 then works."""
    victim = as_who("frank")
    _, serial, seed = at_21(victim, tmp_path / "frank")
    attacker = as_who("grace")
    grace_user = hands_on(attacker, tmp_path / "grace")
    _, _, unbounded = unbounded_key(attacker, tmp_path / "grace")
    teacher = as_who("teacher")
    stray = teacher.iam.create_virtual_mfa_device(VirtualMFADeviceName="stray-device")["VirtualMFADevice"]
    stray_seed = stray["Base32StringSeed"].decode()

    def codes(of):
        return {"AuthenticationCode1": totp_at(of, time.time() - 30), "AuthenticationCode2": totp_at(of, time.time())}

    for client in (attacker.iam, unbounded, teacher.iam):
        for target, of in ((serial, seed), (stray["SerialNumber"], stray_seed)):
            message = _denied(
                client,
                functools.partial(client.enable_mfa_device, UserName=grace_user, SerialNumber=target, **codes(of)),
            )
            assert target in message and "workshop room" in message
    for client in (attacker.iam, unbounded):
        _denied(
            client, functools.partial(client.resync_mfa_device, UserName=grace_user, SerialNumber=serial, **codes(seed))
        )
        _denied(client, functools.partial(client.deactivate_mfa_device, UserName=grace_user, SerialNumber=serial))
    assert teacher.iam.list_mfa_devices(UserName=grace_user)["MFADevices"][0]["SerialNumber"] != serial
    victim = as_who("frank")
    frank_user = room.own_names("frank")[0]
    assert (
        hh.enable_mfa_device(victim, frank_user, serial, totp_at(seed, time.time() - 30), totp_at(seed, time.time()))
        == "enabled"
    )
    teacher.iam.delete_virtual_mfa_device(SerialNumber=stray["SerialNumber"])


def test_a_call_naming_no_user_acts_on_the_signing_keys_user(the_room, as_who, tmp_path):
    """DeleteAccessKey (and every call whose omitted UserName means the caller) with another's key
    id acts on the caller's own user, as AWS does: NoSuchEntity, and the other's key stays."""
    _, bob_identity = _ask(the_room["url"], f"token {token_of('heidi')}")
    heidi = as_who("heidi")
    heidi_user, heidi_key, _ = unbounded_key(heidi, tmp_path / "heidi")
    ivan = as_who("ivan")
    ivan_user, key, iam = unbounded_key(ivan, tmp_path / "ivan")
    ivan_arn = f"{ACCOUNT}:user/handson-cli/{ivan_user}"
    theirs = [bob_identity["AccessKeyId"], heidi_key["AccessKeyId"]]
    for victim_key in theirs:
        _denied(iam, functools.partial(iam.delete_access_key, AccessKeyId=victim_key), code="NoSuchEntity")
        # not in the room's scope: refused, on ivan's own user, not the key's owner
        assert f"on resource: {ivan_arn} " in _denied(
            iam, functools.partial(iam.update_access_key, AccessKeyId=victim_key, Status="Inactive")
        )
        for call in (
            ivan.iam.delete_access_key,
            functools.partial(ivan.iam.update_access_key, Status="Inactive"),
        ):  # ivan's room identity
            assert f"on resource: {ACCOUNT}:user/handson-room/{room.identity_name('ivan')} " in _denied(
                ivan.iam, functools.partial(call, AccessKeyId=victim_key)
            )
        _denied(iam, functools.partial(iam.get_access_key_last_used, AccessKeyId=victim_key))
    teacher = as_who("teacher")
    assert {
        k["Status"]
        for name in (heidi_user, room.identity_name("heidi"))
        for k in teacher.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    } == {"Active"}
    assert {k["AccessKeyId"] for k in teacher.iam.list_access_keys(UserName=heidi_user)["AccessKeyMetadata"]} >= {
        heidi_key["AccessKeyId"]
    }
    assert iam.get_user()["User"]["UserName"] == ivan_user
    assert {k["UserName"] for k in iam.list_access_keys()["AccessKeyMetadata"]} == {ivan_user}
    assert {d["UserName"] for d in iam.list_mfa_devices()["MFADevices"]} == {ivan_user}
    for call in (
        iam.list_ssh_public_keys,
        iam.list_signing_certificates,
        iam.list_service_specific_credentials,
        lambda: iam.change_password(OldPassword="x" * 8, NewPassword="y" * 8),
    ):
        assert f"on resource: {ivan_arn} " in _denied(
            iam, call
        )  # authorised on ivan's own user, the one it would act on
    teacher.iam.delete_access_key(UserName=ivan_user, AccessKeyId=key["AccessKeyId"])


def test_list_operations_show_a_participant_no_ones_tags(as_who, tmp_path):
    """The kit's tag on a user holds its 3.1 access key id: no list shows it to another participant."""
    heidi = as_who("heidi")
    hands_on(heidi, tmp_path / "heidi")
    key = heidi.iam.create_access_key(UserName=room.own_names("heidi")[0])["AccessKey"]["AccessKeyId"]
    heidi.iam.tag_user(UserName=room.own_names("heidi")[0], Tags=[{"Key": "handson-access-key", "Value": key}])
    ivan = as_who("ivan")
    for listing in (
        ivan.iam.list_users(),
        ivan.iam.list_virtual_mfa_devices(),
        ivan.iam.list_virtual_mfa_devices(AssignmentStatus="Assigned"),
    ):
        assert key not in json.dumps(listing, default=str) and '"Tags"' not in json.dumps(listing, default=str)
    as_who("teacher").iam.delete_access_key(UserName=room.own_names("heidi")[0], AccessKeyId=key)


def _own_tag(name: str) -> str:
    return hh.settings.participant_tag(name)["Value"]


@pytest.mark.parametrize("who", ["eve", "Zoë X", "eve!x"])
def test_a_participant_cannot_retag_themselves_as_someone_else(as_who, tmp_path, who):
    """The instructor's view reads the handson-participant tag: a participant may write only their own."""
    import hashlib

    ctx = as_who(who)
    user = hands_on(ctx, tmp_path / who.encode().hex())
    serial = f"{ACCOUNT}:mfa/{room.own_names(hh.settings.participant(who))[1]}"
    own = _own_tag(who)
    short = hh.settings.participant(who)[-8:]
    spoofs = [
        "bob",
        "bob\u2028",
        "alice\u00a0",
        " " + own,
        own + "\u3000",
        own.upper(),
        "sha256:" + hashlib.sha256(b"bob").hexdigest(),
        f"sha256:{short}\u2028bob",
        f"sha256:{short}" + "0" * 56,
    ]
    for value in [v for v in spoofs if v != own]:
        tag = [{"Key": "handson-participant", "Value": value}]
        _denied(ctx.iam, functools.partial(ctx.iam.tag_user, UserName=user, Tags=tag))
        _denied(ctx.iam, functools.partial(ctx.iam.tag_mfa_device, SerialNumber=serial, Tags=tag))
        _denied(
            ctx.iam,
            functools.partial(ctx.iam.tag_user, UserName=user, Tags=[{"Key": "HANDSON-PARTICIPANT", "Value": value}]),
        )
    _denied(ctx.iam, lambda: ctx.iam.untag_user(UserName=user, TagKeys=["handson-participant"]))
    ctx.iam.tag_user(
        UserName=user, Tags=[{"Key": "handson-participant", "Value": own}]
    )  # their own: as the kit writes it
    teacher = as_who("teacher")
    rows = {r.user: r.participant for r in workshop.status(teacher)}
    assert rows[user] == own


def test_the_instructors_view_names_a_participant_by_their_room_identity(as_who, tmp_path):
    """Even a participant tag the room did not write (the instructor's, or from before this rule)
    does not rename a row: the view takes who it is from the room's identity, and shows invisible
    characters escaped."""
    ctx = as_who("eve!x")
    user = hands_on(ctx, tmp_path)
    real = _own_tag("eve!x")
    teacher = as_who("teacher")
    forged = real[:15] + "0" * 56  # the participant's own 8 hex digits, a hash of something else
    teacher.iam.tag_user(UserName=user, Tags=[{"Key": "handson-participant", "Value": forged}])
    try:
        assert {r.user: r.participant for r in workshop.status(teacher)}[user] == real
    finally:
        teacher.iam.tag_user(UserName=user, Tags=[{"Key": "handson-participant", "Value": real}])
    assert (
        workshop._participant(
            [hh.settings.KIT_TAG, {"Key": "handson-participant", "Value": real + "\u2028bob"}],
            hh.settings.participant("eve!x"),
        )
        is None
    )


SLOW_CLIENT = r"""
import socket, sys, time
port, count, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
conns = []
for _ in range(count):
    c = socket.create_connection(("127.0.0.1", port), timeout=10)
    c.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port)
    conns.append(c)
time.sleep(1)
refused, kept = 0, []
for c in conns:
    c.setblocking(False)
    try:
        data = c.recv(4096)
        refused += data.startswith(b"HTTP/1.1 503") or data == b""
    except BlockingIOError:
        kept.append(c)
    except OSError:
        refused += 1
print(f"refused {refused} kept {len(kept)}", flush=True)
closed, deadline = set(), time.monotonic() + seconds
while len(closed) < len(kept) and time.monotonic() < deadline:  # a byte a second, as a slow client sends
    for i, c in enumerate(kept):
        if i in closed:
            continue
        try:
            if c.recv(1) == b"":
                closed.add(i)
        except BlockingIOError:
            try:
                c.send(b"X")
            except OSError:
                closed.add(i)
        except OSError:
            closed.add(i)
    time.sleep(1)
print(f"closed {len(closed)}", flush=True)
"""


def test_hundreds_of_slow_connections_of_one_user_starve_no_one_else(the_room, as_who):
    """A participant (here uid nobody) opens 300 connections and sends a byte now and then: the room
    keeps at most its share of them, closes those when the request is late, and answers another
    participant all the while."""
    from handson_helpers.sandbox import server

    port = the_room["url"].rsplit(":", 1)[1]
    slow = subprocess.Popen(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "/usr/bin/python3",
            "-c",
            SLOW_CLIENT,
            port,
            "300",
            "40",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        refused, kept = map(int, slow.stdout.readline().split()[1::2])
        ctx = as_who("bob")  # another participant, while those connections are open
        assert ctx.sts.get_caller_identity()["Arn"].endswith("/" + room.identity_name("bob"))
        assert ctx.iam.list_users()["Users"]
        closed = int(slow.stdout.readline().split()[1])
    finally:
        slow.kill()
        slow.wait(10)
    assert refused + kept == 300 and 0 < kept <= server.MAX_CONNECTIONS_PER_CLIENT
    assert closed == kept  # the room closed every late request itself, within the client's bounded wait


def _outcome(call) -> str:
    """What became of a call: "answered", AWS's error code, or the connection's failure."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    except BotoCoreError as exc:
        return type(exc).__name__
    return "answered"


def _hang(kind: str) -> str:
    """A fault for the room process only: ListUsers hangs, holding the lock (and, for "gil", the GIL too)."""
    body = 're.fullmatch("(a*)*b", "a" * 64)' if kind == "gil" else "time.sleep(3600)"
    return f"""
import re, time
from handson_helpers.sandbox import authorization, server
server.HOLD_LIMIT_SECONDS = 5.0 if {kind!r} == "gil" else 3600.0
answer = authorization.answer
def hung(key_id, service, action, params, region):
    if action == "ListUsers":
        {body}
    return answer(key_id, service, action, params, region)
authorization.answer = hung
"""


@pytest.mark.parametrize("kind", ["gil", "sleep"])
def test_a_room_stuck_in_a_request_exits_and_starts_again(the_room, tmp_path, kind):
    """Stuck holding the GIL, the watchdog ends it; stuck otherwise, SIGTERM (the hub's stop) does.
    Either way the service exits for the hub to start again, and the new one serves the old state."""
    import boto3
    from botocore.config import Config

    home = tmp_path / "stuck"
    home.mkdir(mode=0o700)
    proc, url = start_room(home, the_room["hub"].server_port, _hang(kind))
    _, keys = _ask(url, f"token {token_of('alice')}")
    config = Config(retries={"max_attempts": 1}, read_timeout=120)

    def client(at):
        return boto3.client(
            "iam",
            endpoint_url=at,
            region_name="ap-northeast-1",
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            config=config,
        )

    answered: list[str] = []
    hung = threading.Thread(target=lambda: answered.append(_outcome(client(url).list_users)), daemon=True)
    hung.start()
    time.sleep(1)
    if kind == "sleep":
        proc.terminate()
    status = proc.wait(60)
    stderr = proc.stderr.read()
    assert status == (1 if kind == "gil" else 0), stderr[-2000:]
    if kind == "gil":
        assert "Timeout (0:00:05)!" in stderr and "hung" in stderr, stderr[-2000:]  # faulthandler: where it hung
    hung.join(60)
    assert answered and answered[0] != "answered"  # the stuck call got no answer, the connection closed
    again, url = start_room(home, the_room["hub"].server_port)
    try:
        assert room.identity_name("alice") in {u["UserName"] for u in client(url).list_users()["Users"]}
    finally:
        again.terminate()
        assert again.wait(10) == 0


PATHOLOGICAL = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iam:" + "*" * 40 + "Z", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": "iam:GetUser",
                "Resource": [f"{ACCOUNT}:user/" + "*" * 40 + "a", f"{ACCOUNT}:user/" + "?*" * 30 + "q"],
            },
            {
                "Effect": "Deny",
                "NotAction": "iam:" + "*" * 40 + "Q",
                "Resource": "*",
                "Condition": {"StringLike": {"aws:username": "*" * 40 + "a"}},
            },
        ],
    }
)


def test_a_policy_of_many_wildcards_freezes_nothing_even_after_a_restart(the_room, tmp_path):
    """The review's policy on A's own user, then A's call: it answers, and another participant's call
    answers beside it; the room is saved with that policy and, started again, still answers."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from botocore.config import Config

    home = tmp_path / "wild"
    home.mkdir(mode=0o700)
    proc, url = start_room(home, the_room["hub"].server_port)
    config = Config(retries={"max_attempts": 1}, read_timeout=60)

    def client(keys, at):
        return boto3.client(
            "iam",
            endpoint_url=at,
            region_name="ap-northeast-1",
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            config=config,
        )

    _, alice = _ask(url, f"token {token_of('alice')}")
    _, bob = _ask(url, f"token {token_of('bob')}")
    identity = client(alice, url)
    user = room.own_names("alice")[0]
    identity.create_user(UserName=user, Path="/handson-cli/")
    identity.put_user_policy(UserName=user, PolicyName="wild", PolicyDocument=PATHOLOGICAL)
    key = identity.create_access_key(UserName=user)["AccessKey"]
    try:
        for at in (url, None):
            if at is None:  # the hub restarts the service: the saved policy is evaluated again
                proc.terminate()
                assert proc.wait(10) == 0
                proc, url = start_room(home, the_room["hub"].server_port)
                at = url
            with ThreadPoolExecutor(2) as pool:
                wild = pool.submit(_outcome, functools.partial(client(key, at).get_user, UserName=user))
                other = pool.submit(client(bob, at).list_users)
                assert other.result(timeout=60)["Users"]
                # the Deny with many stars does not apply to alice, the Allow's many stars match no user:
                # refused, promptly
                assert wild.result(timeout=60) == "AccessDenied"
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
