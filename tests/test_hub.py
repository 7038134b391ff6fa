"""make hub, proven: a real JupyterHub (PyPI) behind configurable-http-proxy (npm), LocalProcessSpawner
with real Unix users, the room sandbox as the hub's service. Driven only through the hub's REST API
and each user's own server (kernels over their websockets), as JupyterLab would.

Run by ``make test-hub`` (root: it creates and removes Unix users). HANDSON_HUB_USERS sets the
room's size (20). Its wall time and memory per participant go to artifacts/bench/hub.json.
"""

import http.cookiejar
import json
import os
import pwd
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from handson_helpers import hub, room

ROOM = int(os.environ.get("HANDSON_HUB_USERS", "20"))
NAMES = [f"hbt{n:02d}" for n in range(1, ROOM + 1)]
TEACHER = "hbtteacher"
RESULTS = Path(__file__).resolve().parents[1] / "artifacts" / "bench" / "hub.json"
QR_DIR = "environment/tmp-handson-cli-iam-user-basic"


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.fixture(scope="module")
def the_hub(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("the hub test creates Unix users: run `make test-hub` as root (CI does)")
    for name in [*NAMES, TEACHER]:
        try:
            pwd.getpwnam(name)
            pytest.fail(f"a Unix user {name} exists already; the test will not take it over")
        except KeyError:
            pass
    hub.setup()
    state = tmp_path_factory.mktemp("hub")
    os.chmod(state, 0o700)
    ports = dict(zip(("hub", "api", "proxy_api", "room"), _free_ports(4)))
    token = secrets.token_hex(32)
    os.environ["HANDSON_HUB_INSTRUCTOR"] = TEACHER  # the hub's admin, as 'instructor' is for make hub
    proc = hub.serve(hub.HUB_DIR, state, ports, driver_token=token)
    client = hub.HubClient(f"http://127.0.0.1:{ports['hub']}", token)
    try:
        client.wait_up()
        yield {"client": client, "state": state, "ports": ports, "pid": proc.pid}
    finally:
        for name in [*NAMES, TEACHER]:
            try:
                client.call("DELETE", f"/hub/api/users/{name}")
            except Exception:  # noqa: BLE001 - a user that was never made, or a hub that is down
                pass
        proc.terminate()
        proc.wait(60)
        removed = hub.remove_users(state)
        assert set(removed) <= {*NAMES, TEACHER}
        for name in [*NAMES, TEACHER]:
            with pytest.raises(KeyError):
                pwd.getpwnam(name)


def _listener_pid(port: int) -> int | None:
    """The process that listens on 127.0.0.1:port (its socket's inode, found among /proc/*/fd)."""
    inode = next((line.split()[9] for line in Path("/proc/net/tcp").read_text().splitlines()[1:] if line.split()[1] == f"0100007F:{port:04X}" and line.split()[3] == "0A"), None)
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


def _run_notebooks(kernel: hub.Kernel, prefixes: list[str]) -> None:
    for prefix in prefixes:
        for number, code in enumerate(hub.notebook_code(prefix), 1):
            status, out = kernel.execute(code)
            assert status == "ok", f"{kernel.name}: notebook {prefix}, code cell {number} failed:\n{out[-1500:]}"


def _log_in(url: str, name: str, password: str) -> int:
    """The hub's login form, as a browser sends it (xsrf cookie and field)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    opener.open(url + "/hub/login").read()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    try:
        return opener.open(url + "/hub/login", urllib.parse.urlencode({"_xsrf": xsrf, "username": name, "password": password}).encode()).status
    except urllib.error.HTTPError as exc:
        return exc.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.parametrize(("name", "password", "status"), [("root", "rootroot12", 403), ("daemon", "daemon1234", 403), ("Root", "rootroot12", 403), ("hbtnew", "newcomer12", 302)])
def test_the_login_form_takes_new_names_only(the_hub, name, password, status):
    url = the_hub["client"].url
    assert _log_in(url, name, password) == status
    if status == 302:  # first use sets the password; another one is refused from then on
        assert _log_in(url, name, "someone-else-12") == 403
        the_hub["client"].call("DELETE", f"/hub/api/users/{name}")


def test_a_room_of_participants_on_a_real_hub(the_hub):
    client: hub.HubClient = the_hub["client"]
    started = time.monotonic()
    client.call("POST", "/hub/api/users", {"usernames": [*NAMES, TEACHER]})
    with ThreadPoolExecutor(5) as pool:
        list(pool.map(client.start_server, [*NAMES, TEACHER]))
    servers_up = time.monotonic() - started

    kernels = {name: hub.Kernel(client, name, client.user_token(name)) for name in [*NAMES, TEACHER]}
    prepare = "import os; os.environ['HANDSON_AUTO_MFA'] = '1'; os.chdir(os.path.expanduser('~/handson'))"  # the built-in authenticator plays the phone
    for kernel in kernels.values():
        assert kernel.execute(prepare)[0] == "ok"

    # 1 → 2.1 → 2.2, then 3.1 → 40, in every participant's own server, at once
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: _run_notebooks(kernels[n], ["10", "21", "22"]), NAMES))
    after_22 = {n: hub.memory_of(pwd.getpwnam(n).pw_uid) for n in NAMES}
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: _run_notebooks(kernels[n], ["31", "40"]), NAMES))
    after_40 = {n: hub.memory_of(pwd.getpwnam(n).pw_uid) for n in NAMES}
    shared = hub.tree_memory(the_hub["pid"])

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
        "import json, handson_helpers as hh\nfrom handson_helpers import workshop\nctx = hh.connect(hh.Silent())\nprint(json.dumps({r.participant: r.enabled for r in workshop.status(ctx)}))"
    )
    assert status == "ok", out
    assert _last_json(out) == dict.fromkeys(NAMES, True)
    _run_notebooks(teacher, ["95"])

    # participant A against participant B: the room says AccessDenied, Unix says no to B's files
    a, b = NAMES[0], NAMES[1]
    b_uid = pwd.getpwnam(b).pw_uid
    status, out = kernels[a].execute(
        f"""
import json, os, handson_helpers as hh
ctx = hh.connect(hh.Silent())
user, serial = "handson-cli-basic-user-{b}", "arn:aws:iam::123456789012:mfa/handson-cli-basic-user-mfa-{b}"
codes = []
for call in (lambda: ctx.iam.get_user(UserName=user), lambda: ctx.iam.deactivate_mfa_device(UserName=user, SerialNumber=serial),
             lambda: ctx.iam.delete_virtual_mfa_device(SerialNumber=serial), lambda: ctx.iam.delete_user(UserName=user),
             lambda: ctx.iam.list_mfa_devices(UserName=user)):
    try:
        call(); codes.append("allowed")
    except ctx.iam.exceptions.ClientError as exc:
        codes.append(exc.response["Error"]["Code"])
files = []
for path in ("/home/{b}/{QR_DIR}/handson-cli-basic-user-mfa-{b}.png", "/home/{b}/{QR_DIR}", "/home/{b}"):
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
import sys
print(json.dumps({{"codes": codes, "files": files, "procs": len(procs), "tokens_seen": sum(environ), "moto": "moto" in sys.modules}}))
"""
    )
    assert status == "ok", out
    seen = _last_json(out)
    assert seen["codes"] == ["AccessDenied"] * 5, seen
    assert seen["files"] == ["denied"] * 3, seen
    assert seen["procs"] >= 2 and seen["tokens_seen"] == 0, seen  # B's server and kernel, their tokens unreadable
    assert seen["moto"] is False  # after 1 → 2.2, a room kernel has not loaded the emulator

    # 後始末 in every server, then the instructor's cleanup leaves the room empty
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: _run_notebooks(kernels[n], ["90"]), NAMES))
    status, out = teacher.execute(
        "import json\nfrom handson_helpers import workshop\ncode = workshop.cleanup(ctx, yes=True)\n"
        "print(json.dumps({'code': code, 'users': [u['UserName'] for u in ctx.iam.list_users()['Users']], 'devices': ctx.iam.list_virtual_mfa_devices()['VirtualMFADevices']}))"
    )
    assert status == "ok", out
    assert _last_json(out) == {"code": 0, "users": [], "devices": []}
    for name in NAMES:  # 後始末 removed each QR file
        assert not list((Path(pwd.getpwnam(name).pw_dir) / QR_DIR).glob("*.png"))
    wall = time.monotonic() - started

    def summary(memory: dict) -> dict:
        pss, rss = sorted(m["pss_mb"] for m in memory.values()), sorted(m["rss_mb"] for m in memory.values())
        return {"pss_mb_median": pss[len(pss) // 2], "pss_mb_max": pss[-1], "rss_mb_median": rss[len(rss) // 2], "rss_mb_max": rss[-1]}

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "participants": ROOM,
                "wall_s": round(wall, 1),
                "servers_up_s": round(servers_up, 1),
                "memory_per_participant_after_22": summary(after_22),
                "memory_per_participant_after_40": summary(after_40),
                "hub_proxy_room_pss_mb": shared["pss_mb"],
                "participants_per_24_gib": int((24 * 1024 - shared["pss_mb"]) // summary(after_40)["pss_mb_max"]),
            },
            indent=2,
        )
    )
