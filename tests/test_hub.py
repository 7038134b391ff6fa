"""make hub, proven: a real JupyterHub (PyPI) behind configurable-http-proxy (npm), LocalProcessSpawner
with real Unix users, the room sandbox as the hub's service. Driven only through the hub's REST API
and each user's own server (kernels over their websockets), as JupyterLab would.

Run by ``make test-hub`` (root: it creates and removes Unix users). HANDSON_HUB_USERS sets the
room's size (20); every test runs on each JupyterHub major of HANDSON_HUB_MAJORS ("5 6": what TLJH 2.x
and Zero to JupyterHub 4.4 ship, and the newest). Its wall time and memory per participant go to
artifacts/bench/hub.json (the default major, 6.x) and hub-jupyterhub5.json.
"""

import html
import http.cookiejar
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import hub_driver as driver

from handson_helpers import hub, hub_accounts, room
from handson_helpers.sandbox import help_desk
from handson_helpers.texts import help as help_button_texts

ROOM = int(os.environ.get("HANDSON_HUB_USERS", "20"))
MAJORS = os.environ.get("HANDSON_HUB_MAJORS", " ".join(sorted(hub.JUPYTERHUB_MAJORS))).split()
NAMES = [f"hbt{n:02d}" for n in range(1, ROOM + 1)]
TEACHER = "hbtteacher"
HELPER = "hbthelper"  # a teaching assistant: a hub user, no admin, whom 先生を呼ぶ shares servers with
RESULTS = Path(__file__).resolve().parents[1] / "artifacts" / "bench" / "hub.json"
LOGS = Path(__file__).resolve().parents[1] / "artifacts" / "hub"
QR_DIR = "environment/tmp-handson-cli-iam-user-basic"


def _ports() -> dict[str, int]:
    """The hub's ports as make hub picks them: outside the ephemeral range, the room's below 1024."""
    ports: dict[str, int] = {}
    for name in ("hub", "api", "proxy_api"):
        ports[name] = hub.free_port(range(10000, 12000), set(ports.values()))
    ports["room"] = hub.free_port(range(900, 1000))
    return ports


@pytest.fixture(scope="module", params=MAJORS, ids=lambda major: f"jupyterhub{major}")
def the_hub(request, tmp_path_factory):
    major = request.param
    if os.geteuid() != 0:
        pytest.fail("the hub test creates Unix users: run `make test-hub` as root (CI does)")
    for name in [*NAMES, TEACHER, HELPER]:
        try:
            pwd.getpwnam(name)
            pytest.fail(f"a Unix user {name} exists already; the test will not take it over")
        except KeyError:
            pass
    hub.setup(major=major)
    state = tmp_path_factory.mktemp("hub")
    os.chmod(state, 0o700)
    ports = _ports()
    token = secrets.token_hex(32)
    os.environ["HANDSON_HUB_INSTRUCTOR"] = TEACHER  # the hub's admin, as 'instructor' is for make hub
    os.environ["HANDSON_HUB_ASSISTANTS"] = HELPER
    os.environ["HANDSON_HUB_HELP_SAME_ORIGIN"] = "1"  # 先生を呼ぶ on the hub's one origin: the operator's opt-in
    proc = driver.serve(state, ports, token, major)
    client = driver.HubClient(f"http://127.0.0.1:{ports['hub']}", token)
    try:
        client.wait_up()
        assert client.call("GET", "/hub/api/")["version"].split(".")[0] == major
        yield {"client": client, "state": state, "ports": ports, "pid": proc.pid, "major": major}
    finally:
        for name in [*NAMES, TEACHER, HELPER]:
            try:
                client.call("DELETE", f"/hub/api/users/{name}")
            except Exception:  # noqa: BLE001 - a user that was never made, or a hub that is down
                pass
        proc.terminate()
        proc.wait(60)
        LOGS.mkdir(parents=True, exist_ok=True)  # make repeat looks for port races in every run's log
        shutil.copy(
            state / "jupyterhub.log",
            LOGS / f"jupyterhub{major}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log",
        )
        removed = hub_accounts.remove_users(state)
        assert set(removed) <= {*NAMES, TEACHER}
        for name in [*NAMES, TEACHER, HELPER]:
            with pytest.raises(KeyError):
                pwd.getpwnam(name)


def _listener_pid(port: int) -> int | None:
    """The process that listens on 127.0.0.1:port (its socket's inode, found among /proc/*/fd)."""
    inode = next(
        (
            line.split()[9]
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
            if line.split()[1] == f"0100007F:{port:04X}" and line.split()[3] == "0A"
        ),
        None,
    )
    if inode is None:
        return None
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) == f"socket:[{inode}]":
                return int(fd.parts[2])
        except OSError:
            continue
    return None


def _last_json(out: str):
    """The JSON a driver cell printed last (the kit's own tables and messages come before it)."""
    found = [line for line in out.strip().splitlines() if line.startswith(("{", "["))]
    assert found, f"no JSON in the cell's output:\n{out[-2000:]}"
    return json.loads(found[-1])


def _run_notebooks(kernel: driver.Kernel, prefixes: list[str], log: Path) -> None:
    for prefix in prefixes:
        for number, code in enumerate(driver.notebook_code(prefix), 1):
            try:
                status, out = kernel.execute(code)
            except (OSError, TimeoutError) as exc:  # a kernel that died: say why, from the kernel and its server
                raise AssertionError(
                    f"{kernel.name}: notebook {prefix}, code cell {number}: {exc}\n{_why_dead(kernel, log)}"
                ) from exc
            assert status == "ok", f"{kernel.name}: notebook {prefix}, code cell {number} failed:\n{out[-1500:]}"


def _why_dead(kernel: driver.Kernel, log: Path) -> str:
    """The kernel's state as its server sees it, and what the server and the kernel wrote to the hub's log."""
    try:
        state = kernel.hub.call("GET", f"/user/{kernel.name}/api/kernels/{kernel.id}", token=kernel.token).get(
            "execution_state"
        )
    except (OSError, ValueError) as exc:
        state = f"unknown ({exc})"
    lines = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if kernel.name in line or "Error" in line or "Traceback" in line
    ]
    return f"kernel {kernel.id} is {state}; the hub's log ({log}) says:\n" + "\n".join(lines[-40:])


def _tcp_listeners(uid: int) -> list[int]:
    """The TCP ports on which a process of this uid listens (IPv4 and IPv6)."""
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[7]) == uid:
                ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _login_form(url: str):
    """A browser's session with the hub's login page open: its opener and xsrf field."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    opener.open(url + "/hub/login").read()
    return opener, next(c.value for c in jar if c.name == "_xsrf")


def _submit(url: str, form, fields: dict) -> tuple[int, str]:
    """The login form sent with ``fields`` (and the xsrf field): the status and the page."""
    opener, xsrf = form
    try:
        with opener.open(url + "/hub/login", urllib.parse.urlencode({"_xsrf": xsrf, **fields}).encode()) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _log_in(url: str, name: str, password: str) -> int:
    """The hub's login form, as a browser sends it (xsrf cookie and field)."""
    return _submit(url, _login_form(url), {"username": name, "password": password})[0]


def _at_once(url: str, logins: list[dict]) -> list[tuple[int, str]]:
    """Login forms opened first, then all sent together (one thread each)."""
    forms = [_login_form(url) for _ in logins]
    with ThreadPoolExecutor(len(logins)) as pool:
        return list(pool.map(lambda pair: _submit(url, *pair), zip(forms, logins, strict=True)))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.parametrize(
    ("name", "password", "status"),
    [
        ("root", "rootroot12", 403),
        ("daemon", "daemon1234", 403),
        ("Root", "rootroot12", 403),
        ("hbtnew", "newcomer12", 302),
    ],
)
def test_the_login_form_takes_new_names_only(the_hub, name, password, status):
    url = the_hub["client"].url
    assert _log_in(url, name, password) == status
    if status == 302:  # first use sets the password; another one is refused from then on
        assert _log_in(url, name, "someone-else-12") == 403
        the_hub["client"].call("DELETE", f"/hub/api/users/{name}")


def test_a_room_of_participants_on_a_real_hub(the_hub):
    client: driver.HubClient = the_hub["client"]
    started = time.monotonic()
    client.call("POST", "/hub/api/users", {"usernames": [*NAMES, TEACHER, HELPER]})
    with ThreadPoolExecutor(5) as pool:
        list(pool.map(client.start_server, [*NAMES, TEACHER]))
    servers_up = time.monotonic() - started

    kernels = {name: driver.Kernel(client, name, client.user_token(name)) for name in [*NAMES, TEACHER]}
    # the built-in authenticator plays the phone
    prepare = "import os; os.environ['HANDSON_AUTO_MFA'] = '1'; os.chdir(os.path.expanduser('~/handson'))"
    for kernel in kernels.values():
        assert kernel.execute(prepare)[0] == "ok"

    # 1 → 2.1 → 2.2, then 3.1 → 40, in every participant's own server, at once
    # each participant's server listens on its one port; its kernels talk over IPC files in the 0700 home
    # (over TCP, 21 servers starting together raced for kernel ports, and anyone could read a kernel's output)
    # (its kernel's one TCP listener is ipykernel's pipe for forked subprocesses' output: bound in place,
    # no race, and it takes only pushes signed with the kernel's random key; nothing can be read from it)
    for name in [*NAMES, TEACHER]:
        listeners = _tcp_listeners(pwd.getpwnam(name).pw_uid)
        assert len(listeners) == 2 and len([p for p in listeners if p in hub.SERVER_PORTS]) == 1, (name, listeners)
    log = the_hub["state"] / "jupyterhub.log"
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: _run_notebooks(kernels[n], ["10", "21", "22"], log), NAMES))
    after_22 = {n: driver.memory_of(pwd.getpwnam(n).pw_uid) for n in NAMES}
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: _run_notebooks(kernels[n], ["31", "40"], log), NAMES))
    after_40 = {n: driver.memory_of(pwd.getpwnam(n).pw_uid) for n in NAMES}
    shared = driver.tree_memory(the_hub["pid"])

    _help_through_a_share(client, kernels, NAMES[0], NAMES[1])

    # the room crashes; the hub starts it again and nothing it acknowledged is lost
    port = the_hub["ports"]["room"]
    crashed = _listener_pid(port)
    os.kill(crashed, 9)
    deadline = time.monotonic() + 120
    while _listener_pid(port) in (crashed, None):
        assert time.monotonic() < deadline, "the hub did not restart the room service"
        time.sleep(0.5)
    assert room.listener_uid("127.0.0.1", port) == 0

    # the instructor (hub admin) sees every participant, live: 95 passes only when all have MFA on
    teacher = kernels[TEACHER]
    status, out = teacher.execute(
        "import json, handson_helpers as hh\nfrom handson_helpers import workshop\nctx = hh.connect(hh.Silent())\n"
        "print(json.dumps({r.participant: r.enabled for r in workshop.status(ctx)}))"
    )
    assert status == "ok", out
    assert _last_json(out) == dict.fromkeys(NAMES, True)
    _run_notebooks(teacher, ["95"], log)

    # participant A against participant B: the room says AccessDenied, Unix says no to B's files
    a, b = NAMES[0], NAMES[1]
    b_uid = pwd.getpwnam(b).pw_uid
    status, out = teacher.execute(
        "print(json.dumps([k['AccessKeyId'] for k in "
        f"ctx.iam.list_access_keys(UserName='handson-cli-basic-user-{b}')['AccessKeyMetadata']]))"
    )
    assert status == "ok", out
    (b_key,) = _last_json(out)  # B's 3.1 key id (only an id: the secret is in B's file)
    status, out = kernels[a].execute(
        f"""
import json, os, handson_helpers as hh
ctx = hh.connect(hh.Silent())
user, serial = "handson-cli-basic-user-{b}", "arn:aws:iam::123456789012:mfa/handson-cli-basic-user-mfa-{b}"
codes = []
for call in (lambda: ctx.iam.get_user(UserName=user), \
lambda: ctx.iam.deactivate_mfa_device(UserName=user, SerialNumber=serial),
             lambda: ctx.iam.delete_virtual_mfa_device(SerialNumber=serial), lambda: ctx.iam.delete_user(UserName=user),
             lambda: ctx.iam.list_mfa_devices(UserName=user),
             lambda: ctx.iam.resync_mfa_device(UserName="handson-cli-basic-user-{a}", SerialNumber=serial, \
AuthenticationCode1="123456", AuthenticationCode2="234567"),
             lambda: ctx.iam.delete_access_key(AccessKeyId="{b_key}")):  # no UserName: the caller's own user, \
as AWS reads it
    try:
        call(); codes.append("allowed")
    except ctx.iam.exceptions.ClientError as exc:
        codes.append(exc.response["Error"]["Code"])
files = []
for path in ("/home/{b}/{QR_DIR}/handson-cli-basic-user-mfa-{b}.png", "/home/{b}/{QR_DIR}", "/home/{b}", \
"/home/{b}/.local/share/jupyter/runtime"):
    try:
        open(path, "rb").read() if path.endswith(".png") else os.listdir(path); files.append("read")
    except PermissionError:
        files.append("denied")
def owner(p):
    try:
        return os.stat("/proc/" + p).st_uid
    except FileNotFoundError:
        return None
procs = [p for p in os.listdir("/proc") if p.isdigit() and owner(p) == {b_uid}]
environ = []
for p in procs:
    try:
        environ.append("JUPYTERHUB_API_TOKEN" in open(f"/proc/{{p}}/environ", "rb").read().decode(errors="replace"))
    except (PermissionError, FileNotFoundError, ProcessLookupError):
        environ.append(False)
import socket, sys
try:  # the room's port, below 1024: nobody but root can hold it, not even while the hub restarts the room
    socket.socket().bind(("127.0.0.1", {the_hub["ports"]["room"]}))
    room_port = "bound"
except PermissionError:
    room_port = "denied"
except OSError as exc:
    room_port = str(exc)
listed = ctx.iam.list_virtual_mfa_devices()["VirtualMFADevices"]
list_tags = sum("Tags" in d.get("User", {{}}) or "Tags" in d for d in listed)
print(json.dumps({{"list_tags": list_tags, "codes": codes,
                  "files": files, "procs": len(procs), "tokens_seen": sum(environ), \
"moto": "moto" in sys.modules, "room_port": room_port}}))
"""
    )
    assert status == "ok", out
    seen = _last_json(out)
    assert seen["codes"] == ["AccessDenied"] * 7, (
        seen
    )  # B's device on A's user; B's key by id alone (A's own identity is out of scope)
    status, out = teacher.execute(
        "print(json.dumps([k['AccessKeyId'] for k in "
        f"ctx.iam.list_access_keys(UserName='handson-cli-basic-user-{b}')['AccessKeyMetadata']]))"
    )
    assert status == "ok" and _last_json(out) == [b_key], out  # B's key is still there
    assert seen["list_tags"] == 0, seen  # list operations return no tags (they leaked key ids)
    assert seen["files"] == ["denied"] * 4, seen  # the QR, the folders, B's kernels' IPC files
    assert seen["room_port"] == "denied", seen
    assert seen["procs"] >= 2 and seen["tokens_seen"] == 0, seen  # B's server and kernel, their tokens unreadable
    assert seen["moto"] is False  # after 1 → 2.2, a room kernel has not loaded the emulator

    # 後始末 in every server, then the instructor's cleanup leaves the room empty
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: _run_notebooks(kernels[n], ["90"], log), NAMES))
    status, out = teacher.execute(
        "import json\nfrom handson_helpers import workshop\ncode = workshop.cleanup(ctx, yes=True)\n"
        "print(json.dumps({'code': code, 'users': [u['UserName'] for u in ctx.iam.list_users()['Users']], "
        "'devices': ctx.iam.list_virtual_mfa_devices()['VirtualMFADevices']}))"
    )
    assert status == "ok", out
    assert _last_json(out) == {"code": 0, "users": [], "devices": []}
    for name in NAMES:  # 後始末 removed each QR file
        assert not list((Path(pwd.getpwnam(name).pw_dir) / QR_DIR).glob("*.png"))
    wall = time.monotonic() - started

    def summary(memory: dict) -> dict:
        pss, rss = sorted(m["pss_mb"] for m in memory.values()), sorted(m["rss_mb"] for m in memory.values())
        return {
            "pss_mb_median": pss[len(pss) // 2],
            "pss_mb_max": pss[-1],
            "rss_mb_median": rss[len(rss) // 2],
            "rss_mb_max": rss[-1],
            "cpu_s_median": sorted(m["cpu_s"] for m in memory.values())[len(memory) // 2],  # since the server started
        }

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    major = the_hub["major"]
    results = RESULTS if major == hub.DEFAULT_MAJOR else RESULTS.with_name(f"hub-jupyterhub{major}.json")
    results.write_text(
        json.dumps(
            {
                "jupyterhub": client.call("GET", "/hub/api/")["version"],
                "participants": ROOM,
                "wall_s": round(wall, 1),
                "servers_up_s": round(servers_up, 1),
                "memory_per_participant_after_22": summary(after_22),
                "memory_per_participant_after_40": summary(after_40),
                "hub_proxy_room_pss_mb": shared["pss_mb"],
                "hub_proxy_room_cpu_s": shared["cpu_s"],
                "participants_per_24_gib": int((24 * 1024 - shared["pss_mb"]) // summary(after_40)["pss_mb_max"]),
            },
            indent=2,
        )
    )


def _opens(client: driver.HubClient, name: str, token: str) -> int:
    """What a participant's server answers the instructor's token (through the proxy, as a browser)."""
    try:
        client.call("GET", f"/user/{name}/api/status", token=token, timeout=30)
        return 200
    except urllib.error.HTTPError as exc:
        return exc.code


def _refused_within(client: driver.HubClient, name: str, token: str, seconds: float) -> float:
    """Seconds until the server refuses ``token`` (it asks the hub again after HubOAuth.cache_max_age)."""
    started = time.monotonic()
    while _opens(client, name, token) != 403:
        assert time.monotonic() - started < seconds, f"{name}'s server still opens for the instructor"
        time.sleep(1)
    return time.monotonic() - started


HELP = """
import json, os, urllib.request, urllib.error
from handson_helpers import help_button, settings
s = settings.load()
def hub(method, path):  # the kernel's own hub token, straight to the hub's API
    request = urllib.request.Request(os.environ["JUPYTERHUB_API_URL"] + path, data=b'{{"user": "{helper}"}}',
        method=method, headers={{"Authorization": "token " + os.environ["JUPYTERHUB_API_TOKEN"]}})
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code
"""


def _help_through_a_share(client: driver.HubClient, kernels: dict, a: str, b: str) -> None:
    """先生を呼ぶ: A and B call; the teaching assistant (a hub user, no admin) opens both servers through
    JupyterHub's shares, and no one else's; A's share ends when A says so, B's when its time is up (60 s
    in this hub), each refused afterwards. A participant's token shares nothing, neither its own server
    nor another's, and calling again moves nothing. The instructor sees both calls on top of the view."""
    teacher = kernels[TEACHER]
    assert _opens(client, a, client.user_token(HELPER)) == 403  # before any call
    assert _opens(client, a, client.user_token(TEACHER)) == 200  # JupyterHub's admin role: every server, always
    setup = HELP.format(helper=HELPER)
    status, out = kernels[a].execute(
        setup + f"print(json.dumps({{'shown': len(help_button.widgets(s)), 'own': hub('POST', '/shares/{a}/'), "
        f"'other': hub('POST', '/shares/{b}/'), 'calls': [help_button.call(s, 'POST') for _ in range(5)]}}))"
    )
    assert status == "ok", out
    asked = _last_json(out)
    assert asked["shown"] == 1 and asked["own"] == 403 and asked["other"] == 403, asked
    assert len(set(asked["calls"])) == 1 and "先生に知らせました" in asked["calls"][0], asked  # one call, kept
    status, out = kernels[b].execute(setup + "print(json.dumps([help_button.call(s, 'POST')]))")
    assert status == "ok" and "先生に知らせました" in _last_json(out)[0], out
    status, out = teacher.execute(
        setup + "from handson_helpers import room_view\n"
        "print(json.dumps({'self': help_button.call(s, 'POST'), 'shown': len(help_button.widgets(s)), "
        "'rows': [[r['participant'], r['help']] for r in room_view.fetch(s)]}))"
    )
    assert status == "ok", out
    seen = _last_json(out)
    assert seen["self"] == help_button_texts.NOT_A_PARTICIPANT and seen["shown"] == 0, seen  # no call, no button
    helped = {name: call for name, call in seen["rows"] if call}
    assert set(helped) == {a, b} and {name for name, _ in seen["rows"][:2]} == {a, b}, seen  # on top of the view
    assert helped[a]["url"] == f"/user/{a}/" and 0 < helped[a]["seconds_left"] <= driver.HELP_SECONDS, helped
    token = client.user_token(HELPER)  # one the servers have not cached yet
    assert _opens(client, a, token) == 200 and _opens(client, b, token) == 200
    assert _opens(client, NAMES[2], token) == 403  # only those who called
    status, out = kernels[a].execute(
        setup + "print(json.dumps([help_button.call(s, 'DELETE'), help_button.call(s, 'POST')]))"
    )
    assert status == "ok", out
    ended, again = _last_json(out)
    assert "取り消しました" in ended and "HTTP 429" in again, (ended, again)  # no new share right away
    revoked_a = _refused_within(client, a, token, hub.SHARE_REVOKED_WITHIN_SECONDS + 10)
    assert _opens(client, b, token) == 200  # B's call is still open
    limit = driver.HELP_SECONDS + help_desk.SWEEP_SECONDS + hub.SHARE_REVOKED_WITHIN_SECONDS + 10
    revoked_b = _refused_within(client, b, token, limit)
    status, out = teacher.execute(setup + "print(json.dumps([r['help'] for r in room_view.fetch(s)]))")
    assert status == "ok" and _last_json(out) == [None] * len(_last_json(out)), out
    print(f"help: A's share refused {revoked_a:.0f} s after A ended it, B's {revoked_b:.0f} s after A's")


def _as_unix_user(name: str, code: str, **kwargs) -> subprocess.Popen:
    """Python code run as a participant would run it in their own shell."""
    user = pwd.getpwnam(name)
    env = {"HOME": user.pw_dir, "PATH": "/usr/bin:/bin"}
    return subprocess.Popen(
        ["/usr/bin/python3", "-c", code],
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        env=env,
        cwd=user.pw_dir,
        **kwargs,
    )


def test_root_never_acts_on_a_path_the_participant_can_swap(the_hub, tmp_path):
    """The issue's attack: the participant deletes ~/handson and keeps swapping it for a link to a
    root-owned folder while the hub (root) fills the home again at each server start."""
    name, state = "hbtswap", the_hub["state"]
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "file").write_text("root's")
    os.chmod(tmp_path, 0o755)
    hub_accounts.ensure_unix_user(name, state, hub.HUB_DIR / "notebooks")
    try:
        home = Path(pwd.getpwnam(name).pw_dir)
        assert {p.stat().st_uid for p in (home / "handson").rglob("*")} == {pwd.getpwnam(name).pw_uid}
        swapper = _as_unix_user(
            name,
            f"""
import os, shutil, time
target, end = os.path.expanduser("~/handson"), time.monotonic() + 60
while time.monotonic() < end:
    try:
        if os.path.islink(target):
            os.unlink(target)
        elif os.path.isdir(target):
            os.rename(target, target + ".gone"); shutil.rmtree(target + ".gone", ignore_errors=True)
            os.symlink({str(victim)!r}, target)
    except OSError:
        pass
""",
        )
        try:
            for _ in range(40):  # forty server starts while the swapping goes on
                try:
                    hub_accounts.ensure_unix_user(name, state, hub.HUB_DIR / "notebooks")
                except subprocess.CalledProcessError:
                    pass  # the participant's own copy tripped over their own swapping: their files only
        finally:
            swapper.kill()
            swapper.wait()
        assert victim.stat().st_uid == 0 and (victim / "file").stat().st_uid == 0
        assert (victim / "file").read_text() == "root's" and sorted(p.name for p in victim.iterdir()) == ["file"]
        assert home.stat().st_uid == pwd.getpwnam(name).pw_uid and (home.stat().st_mode & 0o777) == 0o700
    finally:
        hub_accounts.remove_users(state, [name])


def test_a_deleted_hub_user_leaves_nothing_for_the_next_one_of_that_name(the_hub):
    """FirstUseAuthenticator resets a password by deleting the hub user: the Unix account, its home
    (QR file, key file) and processes go with it, so whoever logs in next with that name starts anew."""
    client, name = the_hub["client"], "hbtreset"
    url = client.url
    assert _log_in(url, name, "first-holder-12") == 302
    client.start_server(name)
    home, first_uid = Path(pwd.getpwnam(name).pw_dir), pwd.getpwnam(name).pw_uid
    secret = home / "environment" / "left-behind.png"
    secret.parent.mkdir()
    secret.write_bytes(b"the first holder's QR")
    client.call("DELETE", f"/hub/api/users/{name}/server")
    client.call("DELETE", f"/hub/api/users/{name}")
    with pytest.raises(KeyError):
        pwd.getpwnam(name)
    assert not home.exists()
    assert _log_in(url, name, "second-holder-12") == 302  # a new person, a new password, an empty account
    client.start_server(name)
    assert not (Path(pwd.getpwnam(name).pw_dir) / "environment" / "left-behind.png").exists()
    assert (
        pwd.getpwnam(name).pw_uid != first_uid
    )  # a uid is never given twice: files left outside the home stay the last holder's
    client.call("DELETE", f"/hub/api/users/{name}/server")
    client.call("DELETE", f"/hub/api/users/{name}")


def test_refused_logins_write_nothing_and_guessing_is_slowed(the_hub):
    client = the_hub["client"]
    url, dbm_files = client.url, lambda: sum(p.stat().st_size for p in the_hub["state"].glob("passwords.dbm*"))
    before = dbm_files()
    for name in ("x" * 200_000, "Root", "root", "daemon", "a b", "hbt-dash"):
        assert _log_in(url, name, "whatever-1234") == 403
    assert dbm_files() == before  # a refused name stores no password

    name = "hbtguess"
    assert _log_in(url, name, "the-right-one-12") == 302
    for _ in range(hub_accounts.LoginThrottle.FREE):
        assert _log_in(url, name, "a-wrong-guess-12") == 403
    assert _log_in(url, name, "the-right-one-12") == 403  # even the right password waits now
    assert _log_in(url, "hbtother", "another-user-12") == 302  # others are not locked out
    for other in (name, "hbtother"):
        client.call("DELETE", f"/hub/api/users/{other}")


def test_logins_sent_at_once_get_the_free_tries_only_and_claim_a_new_name_once(the_hub):
    client, url = the_hub["client"], the_hub["client"].url
    name, guesses = "hbtrace", hub_accounts.LoginThrottle.FREE + 4
    assert _log_in(url, name, "the-right-one-12") == 302
    answers = _at_once(url, [{"username": name, "password": f"wrong-guess-{n:04d}"} for n in range(guesses)])
    assert [status for status, _ in answers] == [403] * guesses
    throttled = sum("ログインの失敗が続いた" in page for _, page in answers)
    assert throttled == guesses - hub_accounts.LoginThrottle.FREE  # bcrypt ran for the free tries only
    claims = _at_once(url, [{"username": "hbtclaim", "password": f"claimant-{n:04d}"} for n in range(6)])
    assert sorted(status for status, _ in claims) == [302] + [403] * 5  # one person gets a new name
    for form in ({"username": name}, {"username": name, "password": ""}, {"username": " ", "password": "x" * 12}):
        status, page = _submit(url, _login_form(url), form)
        assert status == 403 and "ユーザー名とパスワードを両方入力してください" in page
    for other in (name, "hbtclaim"):
        client.call("DELETE", f"/hub/api/users/{other}")


def test_changing_ones_password_is_limited_so_nobody_stalls_the_hub_with_it(the_hub):
    """FirstUseAuthenticator's /hub/auth/change-password hashes on the hub's event loop: one change per
    name per RESET_EVERY_SECONDS, and a password bcrypt cannot take is said, not a 500."""
    client, url = the_hub["client"], the_hub["client"].url
    form = _login_form(url)
    assert _submit(url, form, {"username": "hbtreset", "password": "first-one-1234"})[0] == 302
    opener = form[0]
    page = opener.open(url + "/hub/auth/change-password").read().decode()  # the logged-in session's xsrf field
    xsrf = html.unescape(re.search(r'name="_xsrf" value="([^"]+)"', page).group(1))

    def change(password: str) -> str:
        data = urllib.parse.urlencode({"_xsrf": xsrf, "password": password}).encode()
        with opener.open(url + "/hub/auth/change-password", data) as answer:
            return answer.read().decode()

    assert "72バイト以内" in change("x" * 80)
    assert "successfully" in change("second-one-1234")
    assert "変更したばかりです" in change("third-one-12345")  # within the limit: nothing hashed, nothing kept
    assert _log_in(url, "hbtreset", "third-one-12345") == 403
    assert _log_in(url, "hbtreset", "second-one-1234") == 302
    client.call("DELETE", "/hub/api/users/hbtreset")
