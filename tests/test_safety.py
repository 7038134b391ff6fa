"""Safety under attack and mistakes (issue 11): for each class of defect, the example that broke
it and its neighbours, table-driven. The hostile local user is a real second uid (nobody)."""

import asyncio
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from helpers import PHONE, terminal_env
from helpers import typed as typed_codes

import handson_helpers as hh
from conftest import AWS_CLI
from handson_helpers import access_key, hub, mfa, rules, safefs, settings
from handson_helpers import sandbox as sb
from handson_helpers.sandbox import control, paths
from handson_helpers.sandbox.server import port_free
from handson_helpers.shell import assign

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# A listener run as another user: records every byte it is sent; answers as the sandbox would,
# with a made-up proof; or, given a target port, relays the hello to the real sandbox.
IMPOSTOR = r"""
import json, socket, sys, urllib.request
port, pid, relay = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", port)); s.listen(16)
print("listening", flush=True)
while True:
    c, _ = s.accept(); c.settimeout(2); data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = c.recv(65536)
            if not chunk: break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = c.recv(65536)
            if not chunk: break
            body += chunk
        data = head + b"\r\n\r\n" + body
    except socket.timeout:
        pass
    print(data.hex(), flush=True)
    path = data.split(b" ")[1].decode() if data.count(b" ") > 1 else "/"
    answer = {"pid": pid, "port": port, "proof": "0" * 64}
    if relay and path.startswith("/_handson/hello"):
        answer = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{relay}{path}", timeout=5).read())
    out = json.dumps(answer).encode()
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
    c.close()
"""


class Impostor:
    """Another uid listening on ``port``; ``received`` holds every request it got."""

    def __init__(self, port: int, pid: int, relay: int = 0):
        self.proc = subprocess.Popen([*NOBODY, "/usr/bin/python3", "-c", IMPOSTOR, str(port), str(pid), str(relay)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "listening":
            raise AssertionError(f"the impostor could not take port {port}: {self.proc.communicate(timeout=10)[1][-500:]}\n{_holders(port)}")
        self.received = b""

    def stop(self) -> bytes:
        self.proc.kill()
        self.received = b"".join(bytes.fromhex(line) for line in self.proc.stdout.read().split())
        return self.received


def _holders(port: int) -> str:
    return subprocess.run(["ss", "-tanp", f"sport = :{port}"], capture_output=True, text=True).stdout


def kill_sandbox() -> control.Sandbox:
    box = sb.ensure_running()
    os.kill(box.pid, signal.SIGKILL)
    assert control.wait_gone(box.pid), "the killed sandbox still runs"
    return box


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "handson_helpers.sandbox", *args], capture_output=True, text=True, timeout=120, env=env)


def test_impostor_really_runs_as_another_user(sandbox):
    impostor = Impostor(free_port(), 1)
    try:
        owner = Path(f"/proc/{impostor.proc.pid}/status").read_text()
    finally:
        impostor.stop()
    assert "Uid:\t65534\t65534" in owner
    check = subprocess.run([*NOBODY, "/usr/bin/python3", "-c", f"open({str(paths.credentials_path(paths.home()))!r}).read()"], capture_output=True)
    assert check.returncode != 0, "another user could read the sandbox's credentials"


def free_port() -> int:
    """For an impostor started later: a port outside the ephemeral range (one released there may be
    handed to any process at once), from a stretch of the hub's servers' range no test server uses."""
    return hub.free_port(range(14000, 19000))


# Every way the kit reaches its sandbox, after the sandbox died and another user took its port.
REACHES = [
    ("status", lambda: cli("status")),
    ("start", lambda: cli("start")),
    ("env", lambda: cli("env")),
    ("a kernel's connect", lambda: hh.connect(hh.Silent()).iam.list_users()),
    ("reset", lambda: sb.reset()),
]


@pytest.mark.parametrize("name, reach", REACHES, ids=[r[0] for r in REACHES])
def test_a_listener_of_another_user_on_the_old_port_learns_no_secret(sandbox, name, reach):
    old = kill_sandbox()
    impostor = Impostor(old.port, old.pid)
    try:
        reach()
        now = sb.ensure_running()
    finally:
        received = impostor.stop()
    assert now.port != old.port and now.pid != old.pid  # a new, real sandbox, not the impostor
    key_id, secret = paths.credentials(paths.home())
    for leak in (secret, key_id, "Authorization", "Signature="):
        assert leak.encode() not in received, f"{name}: the impostor received {leak!r}"


def test_a_kernel_keeps_working_when_its_sandbox_died_and_its_port_was_taken(sandbox):
    ctx = hh.connect(hh.Silent())
    ctx.iam.create_user(UserName="before-crash")
    old = kill_sandbox()
    impostor = Impostor(old.port, old.pid)
    try:
        names = [u["UserName"] for u in ctx.iam.list_users()["Users"]]  # the same ctx, unchanged
    finally:
        received = impostor.stop()
    assert names == ["before-crash"] and received == b""


def test_a_relayed_proof_does_not_make_an_impostor_trusted(sandbox):
    real = sb.ensure_running()
    port = free_port()
    impostor = Impostor(port, real.pid, relay=real.port)
    try:
        fake = control.Sandbox(real.pid, real.host, port, real.started_at, real.key_id, real.secret)
        trusted = control.proven(fake)
    finally:
        received = impostor.stop()
    assert trusted is False and b"/_handson/hello" in received


@pytest.mark.parametrize("port_back", [True, False], ids=["new sandbox on the old port", "new sandbox on another port"])
def test_a_request_captured_on_a_stale_port_cannot_be_replayed(sandbox, tmp_path, port_back):
    """The aws CLI in a terminal keeps the old endpoint; what it sends there is useless later."""
    old = kill_sandbox()
    impostor = Impostor(old.port, old.pid)
    env = terminal_env(old, tmp_path, AWS_MAX_ATTEMPTS="1")
    try:
        subprocess.run([AWS_CLI, "iam", "create-user", "--user-name", "victim"], env=env, capture_output=True, timeout=60)
        if not port_back:
            new = sb.ensure_running()
    finally:
        received = impostor.stop()
    if port_back:
        time.sleep(1.1)  # a server can only start after the capture, in a later second
        new = sb.ensure_running()
    assert (new.port == old.port) is port_back
    key_id, secret = paths.credentials(paths.home())
    assert b"Signature=" in received and secret.encode() not in received
    head, _, body = received.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    replay = urllib.request.Request(new.url + "/", data=body, method="POST", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(replay, timeout=5)
    assert refused.value.code in (400, 403)  # addressed to another port, or signed before this server started
    assert boto3.client("iam", endpoint_url=new.url, region_name="ap-northeast-1", **new.credentials).list_users()["Users"] == []


def signed(box, body: bytes, **overrides):
    """A raw IAM request signed with the sandbox's key; ``overrides`` tamper with it afterwards."""
    req = control.signed_request(box, "POST", box.url + "/", body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, service="iam")
    for key, value in overrides.items():
        if key == "data":
            req.data = value
        else:
            req.headers[key] = value
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _old_date():
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 900))


# (case, tamper, expected code): requests that must not count
FORGED = [
    ("body changed after signing", {"data": b"Action=CreateUser&Version=2010-05-08&UserName=evil"}, "SignatureDoesNotMatch"),
    ("signature of another request", {"Authorization": None}, "SignatureDoesNotMatch"),
    ("date fifteen minutes old", {"X-amz-date": "OLD"}, "SignatureDoesNotMatch"),
    ("no signature at all", {"Authorization": ""}, "MissingAuthenticationToken"),
    ("garbage authorization", {"Authorization": "AWS4-HMAC-SHA256 nonsense"}, "IncompleteSignature"),
]


@pytest.mark.parametrize("case, tamper, code", FORGED, ids=[f[0] for f in FORGED])
def test_forged_or_replayed_requests_are_refused(sandbox, iam, case, tamper, code):
    body = b"Action=CreateUser&Version=2010-05-08&UserName=forged"
    tamper = dict(tamper)
    if tamper.get("Authorization", 1) is None:
        other = control.signed_request(sandbox, "POST", sandbox.url + "/", b"Action=ListUsers&Version=2010-05-08", {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, service="iam")
        tamper["Authorization"] = other.headers["Authorization"]
    if tamper.get("X-amz-date") == "OLD":
        tamper["X-amz-date"] = _old_date()
    status, text = signed(sandbox, body, **tamper)
    assert status in (400, 403) and f"<Code>{code}</Code>" in text
    assert iam.list_users()["Users"] == []
    assert signed(sandbox, body)[0] == 200  # the same request, honestly signed, works


@pytest.mark.parametrize(
    "part, value, status, code",
    [
        ("region", "a" * 64_000, 431, None),  # beyond what a request head may hold: refused before it is parsed
        ("region", "a" * 2_000, 400, "IncompleteSignature"),
        ("region", "ap-northeast-1" + "*" * 40, 400, "IncompleteSignature"),
        ("service", "iam" * 400, 400, "IncompleteSignature"),
        ("key", "AKIA" + "A" * 5_000, 400, "IncompleteSignature"),
    ],
    ids=["64,000-character region", "2,000-character region", "region with wildcards", "long service", "long key id"],
)
def test_a_credential_scope_out_of_aws_shapes_is_refused_before_anything_reads_it(sandbox, iam, part, value, status, code):
    """The region becomes aws:RequestedRegion, which a participant's own policy can match with
    wildcards: a 64,000-character region held the room's lock for 26 s (the adversarial review)."""
    body = b"Action=ListUsers&Version=2010-05-08"
    honest = control.signed_request(sandbox, "POST", sandbox.url + "/", body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, service="iam")
    scope = re.search(r"Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request", honest.headers["Authorization"])
    parts = {"key": scope[1], "region": scope[3], "service": scope[4]}
    parts[part] = value
    forged = honest.headers["Authorization"].replace(scope[0], f"Credential={parts['key']}/{scope[2]}/{parts['region']}/{parts['service']}/aws4_request")
    try:
        answered, text = signed(sandbox, body, Authorization=forged)
    except urllib.error.URLError as exc:  # 431 and close may come while the client still sends its 64 KB head
        assert status == 431 and isinstance(exc.reason, (BrokenPipeError, ConnectionResetError)), exc
        answered, text = status, ""
    assert answered == status and (code is None or f"<Code>{code}</Code>" in text)
    assert iam.list_users()["Users"] == []  # and the sandbox goes on serving


@pytest.mark.parametrize("head", ["X-Pad: " + "a" * 9000, "\r\n".join(f"X-Pad-{n}: a" for n in range(60))], ids=["a long header line", "many header lines"])
def test_a_request_head_beyond_what_sdks_send_is_refused_before_it_is_kept(sandbox, iam, head):
    """32 connections of one participant each holding 100 lines of 64 KB made the room hold 200 MB."""
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as conn:
        conn.sendall(f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{sandbox.port}\r\n{head}\r\n".encode())
        try:  # sent before the head ends: the room answers at the bound, then closes
            answer = conn.recv(200).decode(errors="replace")
        except ConnectionResetError:  # the close (with the rest of the head unread) can overtake the answer
            answer = "HTTP/1.1 431 (connection reset after the answer)"
    assert answer.startswith("HTTP/1.") and " 431 " in answer.split("\r\n")[0], answer
    assert iam.list_users()["Users"] == []  # nothing done, and it goes on serving


# ----- class 2: participant ids never share a name, and 後始末 touches only its own -----

COLLIDING = [
    ("workshop-participant-01", "workshop-participant-02"),  # the example: cut to 20 characters
    ("田中", "佐藤"),  # non-ASCII dropped
    ("alice smith", "alice-smith"),  # replaced
    ("Alice", "alice"),  # IAM names ignore case
    ("alice smith", "alice-smith-" + __import__("hashlib").sha256(b"alice smith").hexdigest()[:8]),  # a crafted look-alike
    ("山田 太郎", "p-" + __import__("hashlib").sha256("山田 太郎".encode()).hexdigest()[:8]),
    ("a" * 30 + "1", "a" * 30 + "2"),
    ("bob@example.com", "bob@example.com "),  # trailing space: stripped by the kit, so the same person
]


@pytest.mark.parametrize("first, second", COLLIDING, ids=[f"{a}|{b}" for a, b in COLLIDING])
def test_distinct_participant_ids_get_distinct_valid_names(first, second):
    a, b = settings.participant(first.strip()), settings.participant(second.strip())
    if first.strip() == second.strip():
        assert a == b
        return
    assert a.lower() != b.lower()
    for suffix in (a, b):
        user, device = settings.scoped("handson-cli-basic-user", suffix), settings.scoped("handson-cli-basic-user-mfa", suffix)
        assert settings.problem("IAM_USER_NAME", user) is None and settings.problem("MFA_DEVICE_NAME", device) is None


def test_one_participants_cleanup_never_touches_another_participants_resources(sandbox, iam, tmp_path):
    """In a shared account: 田中 and 佐藤 each run 1 → 2.1 → 2.2; 佐藤's 後始末 leaves 田中's alone."""
    from helpers import phone_codes

    done = {}
    for who in ("田中", "佐藤"):
        ctx = hh.connect(hh.Silent(), participant=who)
        user, device = settings.scoped("handson-cli-basic-user", who), settings.scoped("handson-cli-basic-user-mfa", who)
        qr = str(tmp_path / who / f"{device}.png")
        hh.create_user(ctx, user, "/handson-cli/")
        serial = hh.create_virtual_mfa_device(ctx, device, qr)
        assert hh.enable_mfa_device(ctx, user, serial, *phone_codes(qr)) == "enabled"
        done[who] = (ctx, user, device, qr)
    ctx, user, device, qr = done["佐藤"]
    hh.run_cleanup(ctx, hh.plan_cleanup(ctx, user, "/handson-cli/", device, qr))
    hh.verify_cleanup(ctx, user, device, qr)
    tanaka = done["田中"][1]
    assert [u["UserName"] for u in iam.list_users()["Users"]] == [tanaka]
    tags = iam.list_user_tags(UserName=tanaka)["Tags"]
    assert {"Key": "handson-participant", "Value": "田中"} in tags
    rows = hh.workshop_status(done["田中"][0])
    assert [(r.participant, r.enabled) for r in rows] == [("田中", True)]


def test_a_cleanup_leaves_a_same_named_user_of_another_participant_alone(sandbox, iam, tmp_path):
    ctx = hh.connect(hh.Silent(), participant="mallory")
    name = settings.scoped("handson-cli-basic-user", "alice")
    iam.create_user(UserName=name, Path="/handson-cli/", Tags=settings.kit_tags("alice"))
    plan = hh.plan_cleanup(ctx, name, "/handson-cli/", settings.scoped("handson-cli-basic-user-mfa", "alice"), str(tmp_path / "x.png"))
    assert plan.empty and plan.refused
    hh.run_cleanup(ctx, plan)
    assert [u["UserName"] for u in iam.list_users()["Users"]] == [name]
    with pytest.raises(hh.HandsonError) as err:
        hh.create_user(ctx, name, "/handson-cli/")
    assert err.value.code == "ForeignUser"


# ----- class 3: only what is missing is created; nothing is chmodded or written through a link -----


def _folder(tmp_path, kind):
    """A folder of each kind a learner might name; returns (folder, refused?)."""
    base = tmp_path / kind
    if kind == "missing, under a private folder":
        return base / "a" / "b", False
    base.mkdir()
    if kind == "private (0700)":
        base.chmod(0o700)
        return base, False
    if kind == "readable by others (0755)":
        base.chmod(0o755)
        return base, False
    if kind == "read-only (0555)":
        base.chmod(0o555)
        return base, os.geteuid() != 0
    if kind == "sticky and open (1777)":
        base.chmod(0o1777)
        return base, True
    if kind == "group-writable (0770)":
        os.chown(base, -1, 65534)  # a group with other members (nobody's)
        base.chmod(0o770)
        return base, True
    if kind == "group-writable, a group of yours alone":  # a Jupyter docker-stacks home
        base.chmod(0o2775)
        return base, False
    if kind == "a link another user planted":
        target = tmp_path / "real-mine"
        target.mkdir(mode=0o700)
        base.rmdir()
        base.symlink_to(target)
        os.lchown(base, 65534, 65534)
        return base, True
    if kind == "another user's":
        os.chown(base, 65534, 65534)
        base.chmod(0o755)
        return base, True
    if kind == "inside another user's folder":
        os.chown(base, 65534, 65534)
        base.chmod(0o777)
        return base / "qr", True
    if kind == "a link to a private folder":
        target = tmp_path / "real-private"
        target.mkdir(mode=0o700)
        base.rmdir()
        base.symlink_to(target)
        return base, False
    if kind == "a link to an open folder":
        target = tmp_path / "real-open"
        target.mkdir()
        target.chmod(0o1777)
        base.rmdir()
        base.symlink_to(target)
        return base, True
    raise AssertionError(kind)


FOLDERS = [
    "missing, under a private folder",
    "private (0700)",
    "readable by others (0755)",
    "read-only (0555)",
    "sticky and open (1777)",
    "group-writable (0770)",
    "group-writable, a group of yours alone",
    "a link another user planted",
    "another user's",
    "inside another user's folder",
    "a link to a private folder",
    "a link to an open folder",
]


def _modes(root: Path) -> dict:
    return {str(p): (os.lstat(p).st_mode, os.lstat(p).st_uid) for p in [root, *root.rglob("*")]}


@pytest.mark.parametrize("kind", FOLDERS)
def test_the_qr_folder_is_created_only_when_missing_and_never_chmodded(ctx, iam, tmp_path, kind):
    folder, refused = _folder(tmp_path, kind)
    before = _modes(tmp_path)
    outfile = str(folder / "handson-cli-basic-user-mfa.png")
    preparation = settings.problem("DIR_MFA_OUTFILE", str(folder))
    if refused:
        with pytest.raises(hh.HandsonError) as err:
            hh.create_virtual_mfa_device(ctx, "handson-cli-basic-user-mfa", outfile)
        assert "ディレクトリ" in err.value.message and "何も変更していません" in err.value.message
        assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
        assert _modes(tmp_path) == before
        assert preparation is not None, "01 準備 said ✔ for a folder 21 refuses"
    else:
        hh.create_virtual_mfa_device(ctx, "handson-cli-basic-user-mfa", outfile)
        after = _modes(tmp_path)
        assert {k: v for k, v in after.items() if k in before} == before  # nothing existing changed
        created = Path(outfile)
        assert stat.S_IMODE(os.lstat(os.path.realpath(created)).st_mode) == 0o600
        for new in set(after) - set(before):
            if stat.S_ISDIR(after[new][0]):
                assert stat.S_IMODE(after[new][0]) == 0o700
        assert preparation is None, "01 準備 said ✘ for a folder 21 accepts"


FILES = [
    ("a link to a file of yours", lambda p, victim: p.symlink_to(victim)),
    ("a link to nowhere", lambda p, victim: p.symlink_to(p.parent / "nowhere")),
    ("a folder", lambda p, victim: p.mkdir()),
    ("another user's file", lambda p, victim: (p.write_bytes(b"\x89PNG\r\n\x1a\nx"), os.chown(p, 65534, 65534))),
    ("a file that is not a PNG", lambda p, victim: p.write_text("notes I keep here")),
]


@pytest.mark.parametrize("case, make", FILES, ids=[f[0] for f in FILES])
def test_the_qr_file_is_never_written_through_a_link_or_over_a_foreign_file(ctx, iam, tmp_path, case, make):
    folder = tmp_path / "qr"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    path = folder / "handson-cli-basic-user-mfa.png"
    make(path, victim)
    before = _modes(tmp_path)
    with pytest.raises(hh.HandsonError):
        hh.create_virtual_mfa_device(ctx, "handson-cli-basic-user-mfa", str(path))
    assert victim.read_text() == "precious" and _modes(tmp_path) == before
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


# The shown folder step refuses a link even to a folder of the learner's own (stricter than the kit).
SHELL_STRICTER = {"a link to a private folder"}


def _folder_steps(folder: Path) -> list[str]:
    """21's and 31's folder steps as shown, with their variables, ready for bash."""
    mkdir_qr, _ = mfa.create_commands("d", "QRCodePNG", str(folder), str(folder / "d.png"))
    mkdir_key = access_key.key_commands(str(folder), "u", str(folder / "u-access-key.txt"))["mkdir"]
    variables = f"{assign('DIR_MFA_OUTFILE', str(folder))}\n{assign('DIR_ACCESS_KEY', str(folder))}\n"
    return [f"set -eu\n{variables}{step}\n" for step in (mkdir_qr, mkdir_key)]


@pytest.mark.parametrize("kind", FOLDERS)
def test_the_shown_folder_step_refuses_what_the_kit_refuses(tmp_path, kind):
    """Issue 21 (10): `ls -d … || mkdir` took any folder that was there; the shown step is as strict as the kit."""
    folder, refused = _folder(tmp_path, kind)
    for script in _folder_steps(folder):
        before = _modes(tmp_path)
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path)
        if refused or kind in SHELL_STRICTER:
            assert proc.returncode != 0 and "自分だけが書き込めるディレクトリではありません" in proc.stderr, proc.stderr
            assert {k: v for k, v in _modes(tmp_path).items() if k in before} == before
        else:
            assert proc.returncode == 0, proc.stderr
            after = _modes(tmp_path)
            assert {k: v for k, v in after.items() if k in before} == before  # nothing existing changed
            assert all(stat.S_IMODE(after[new][0]) == 0o700 for new in set(after) - set(before))


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


@pytest.mark.parametrize("case", ["a level above that anyone may write to, not sticky", "a link of the learner's into another user's folder"])
def test_the_shown_folder_step_checks_the_real_path_and_every_level_of_it(tmp_path, case):
    """The adversarial review: both were accepted by the shown step (the kit refused them), and the
    other user could then swap the folder for one holding a FIFO that 31's `>` wrote the key into."""
    if case.startswith("a level above"):
        shared = tmp_path / "open"
        shared.mkdir()
        shared.chmod(0o777)  # the learner's (root's here), but anyone may rename what is in it
        folder = shared / "keys"
    else:
        others = tmp_path / "others"
        others.mkdir()
        os.chown(others, 65534, 65534)
        others.chmod(0o777)
        (tmp_path / "link").symlink_to(others)
        folder = tmp_path / "link" / "keys"
    assert settings.problem("DIR_ACCESS_KEY", str(folder)) is not None  # the kit refuses it
    for script in _folder_steps(folder):
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path)
        assert proc.returncode != 0 and "自分だけが書き込めるディレクトリではありません" in proc.stderr, proc.stderr


@pytest.mark.parametrize("case", ["the folder itself", "a level above it"])
def test_pasted_31_never_writes_the_secret_into_a_folder_made_by_another_user(tmp_path, case):
    folder = _taken_after_the_check(tmp_path, case)
    marker = tmp_path / "aws-ran"
    steps = access_key.key_commands(str(folder), "u", str(folder / "u-access-key.txt"))
    script = (
        f"set -eu\naws() {{ touch {marker}; printf 'id\\tsecret\\n'; }}\n"
        f"{assign('IAM_USER_NAME', 'u')}\n{assign('DIR_ACCESS_KEY', str(folder))}\n{assign('FILE_ACCESS_KEY', str(folder / 'u-access-key.txt'))}\n"
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
        f"{assign('IAM_USER_NAME', 'u')}\n{assign('DIR_ACCESS_KEY', str(folder))}\n{assign('FILE_ACCESS_KEY', str(key_file))}\n"
        f"{steps['mkdir']}\n{steps['create']}\n"
    )
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert proc.returncode != 0 and not marker.exists()
    assert victim.read_text() == "precious" and not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("kind", ["sticky and open (1777)", "group-writable (0770)", "another user's", "a link another user planted"])
def test_handson_home_is_never_chmodded(tmp_path, kind):
    folder, refused = _folder(tmp_path, kind)
    before = _modes(tmp_path)
    env = dict(os.environ, HANDSON_HOME=str(folder))
    proc = cli("status", env=env)
    assert refused and proc.returncode != 0 and "HANDSON_HOME" in proc.stderr and "Traceback" not in proc.stderr
    assert _modes(tmp_path) == before


def test_cleanup_removes_only_the_kits_file_never_a_link(tmp_path):
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"\x89PNG\r\n\x1a\nmine")
    link = tmp_path / "link.png"
    link.symlink_to(victim)
    with pytest.raises(hh.HandsonError):
        safefs.remove_private(link)
    assert victim.exists() and link.is_symlink()


# ----- class 4: every command the kit shows, pasted into bash with its variables, does exactly that -----


def _values(tmp_path, case):
    home = Path(os.environ["HOME"])
    marker = tmp_path / "pwned"
    if case == "the seed's values":
        return "", "/handson-cli/", "${HOME}/environment/tmp-handson-cli-iam-user-basic", marker
    if case == "a path that runs a command, a folder with a space, $(…) and a quote":
        return "", f"/a;touch${{IFS}}{marker};/", str(home / f"q r $(touch {marker}) it's"), marker
    if case == "a path that globs, a folder with a backtick, a participant tag in JSON":
        return "田中 太郎", "/*/", str(home / f"b`touch {marker}`x"), marker
    raise AssertionError(case)


PASTE_CASES = [
    "the seed's values",
    "a path that runs a command, a folder with a space, $(…) and a quote",
    "a path that globs, a folder with a backtick, a participant tag in JSON",
]


def _kit_run(who, user_path, directory, shown, monkeypatch):
    """Sections 1, 2.1, 2.2, 3.1, 40 and 後始末 through the kit; returns IAM's state before 後始末."""
    from handson_helpers import display

    class Recorder(hh.Reporter):
        def emit(self, report):
            shell = report.shell
            if shell and report.refused:  # shown failing on purpose: it must fail in bash too
                shell = f"if (\n{shell}\n); then echo 'AWS accepted what it must refuse' >&2; exit 97; fi"
            shown.append(shell)

    recorder = Recorder()
    monkeypatch.setattr(display.SHOW, "emit", recorder.emit)  # 設定値の確認 and 40's 変数の確認 have no Context
    monkeypatch.setenv("HANDSON_PARTICIPANT", who)
    user, device = settings.scoped("handson-cli-basic-user"), settings.scoped("handson-cli-basic-user-mfa")
    outfile = settings.mfa_outfile(directory, device)
    # a learner who never ran 45: no backup QR beside 2.1's (nbval's 45 on this worker may have left one)
    settings.expand(settings.mfa_outfile(directory, settings.scoped(settings.SEED_BACKUP_DEVICE_NAME))).unlink(missing_ok=True)
    ctx = hh.connect(recorder)

    def check(**values):
        try:
            hh.check_settings(**values)
        except hh.HandsonError as exc:  # a value other than the seed's: shown, then Run All would stop
            assert exc.code == "SettingMismatch"

    check(IAM_USER_NAME=user, IAM_USER_PATH=user_path)
    hh.create_user(ctx, user, user_path)
    hh.verify_user(ctx, user, user_path)
    check(MFA_DEVICE_NAME=device, MFA_BOOTSTRAP_METHOD="QRCodePNG", DIR_MFA_OUTFILE=directory, FILE_MFA_OUTFILE=outfile)
    hh.create_virtual_mfa_device(ctx, device, outfile)
    assert hh.set_variables(IAM_USER_NAME=user, IAM_USER_PATH=user_path, MFA_DEVICE_NAME=device, DIR_MFA_OUTFILE=directory) == outfile  # 22's 設定値の指定
    check(IAM_USER_NAME=user, IAM_USER_PATH=user_path, MFA_DEVICE_NAME=device, FILE_MFA_OUTFILE=outfile)
    account = hh.get_account_id(ctx)
    serial = hh.find_device_serial(ctx, account, device)
    shown.append("MFA_AUTH_CODE1='<")  # what show_enable_check shows before the form (the form shows the command), typed from the phone
    assert asyncio.run(hh.enable_with_form(ctx, user, serial, outfile, wait=False)) == "enabled"
    hh.verify_mfa_enabled(ctx, user)
    key_file = settings.access_key_file(directory, user)
    check(IAM_USER_NAME=user, DIR_ACCESS_KEY=directory, FILE_ACCESS_KEY=key_file)
    hh.create_access_key(ctx, user, key_file)
    hh.verify_access_key(ctx, user, key_file)
    policy = settings.KIT_POLICY_NAME
    check(IAM_USER_NAME=user, IAM_USER_PATH=user_path, MFA_DEVICE_NAME=device, FILE_MFA_OUTFILE=outfile, FILE_ACCESS_KEY=key_file, POLICY_NAME=policy)
    hh.put_mfa_policy(ctx, user, policy)
    keys = hh.user_keys(ctx, key_file)
    hh.caller_arn(ctx, keys)
    assert not hh.protected_read(ctx, keys, user, user_path).allowed
    mfa_serial = hh.mfa_serial(ctx, user)
    hh.wrong_code_refused(ctx, keys, mfa_serial)
    hh.show_session_step(keys, mfa_serial)
    session = asyncio.run(hh.session_with_form(ctx, keys, mfa_serial, outfile, wait=False))
    assert hh.protected_read(ctx, session, user, user_path).allowed
    hh.verify_mfa_protection(ctx, user, user_path, keys, session)
    state = _state(ctx.iam, settings.expand(outfile))
    shown.append("CLEANUP")
    check(IAM_USER_NAME=user, IAM_USER_PATH=user_path, MFA_DEVICE_NAME=device, FILE_MFA_OUTFILE=outfile, FILE_ACCESS_KEY=key_file, POLICY_NAME=policy)
    hh.get_account_id(ctx)
    hh.run_cleanup(ctx, hh.plan_cleanup(ctx, user, user_path, device, outfile, key_file, policy))
    hh.verify_cleanup(ctx, user, device, outfile, key_file)
    assert not os.path.lexists(settings.expand(key_file))
    return state, settings.expand(outfile)


def _state(iam, qr: Path):
    users = sorted(
        (
            u["UserName"],
            u["Path"],
            tuple(sorted((t["Key"], t["Value"][:4] if t["Key"] == "handson-access-key" else t["Value"]) for t in iam.list_user_tags(UserName=u["UserName"])["Tags"])),
            len(iam.list_access_keys(UserName=u["UserName"])["AccessKeyMetadata"]),
            tuple(iam.list_user_policies(UserName=u["UserName"])["PolicyNames"]),
        )
        for u in iam.list_users()["Users"]
    )
    devices = sorted((d["SerialNumber"], d.get("User", {}).get("UserName")) for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"])
    return users, devices, os.path.lexists(qr) and stat.S_IMODE(os.lstat(qr).st_mode)


@pytest.mark.parametrize("case", PASTE_CASES)
def test_pasting_every_shown_command_into_bash_does_exactly_what_the_kit_did(sandbox, iam, tmp_path, case, monkeypatch, zygote):
    who, user_path, directory, marker = _values(tmp_path, case)
    shown = []
    kit_state, qr = _kit_run(who, user_path, directory, shown, monkeypatch)
    assert iam.list_users()["Users"] == [] and not os.path.lexists(qr)
    texts = [s for s in shown if s]
    cut = texts.index("CLEANUP")
    setup = [typed_codes(t) for t in texts[:cut]]  # 22's and 40's placeholders, typed from the phone
    env = terminal_env(sandbox, tmp_path, PHONE=PHONE, PATH=f"{zygote.bin}:{Path(sys.executable).parent}:{os.environ['PATH']}")
    for part, commands in (("sections 1 to 40", setup), ("後始末", texts[cut + 1 :])):
        script = "set -eu\n" + "\n".join(commands) + "\n"
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
        assert proc.returncode == 0, f"{part}: {proc.stderr[-2000:]}"
        assert not marker.exists(), f"{part}: a pasted command ran a payload"
        if part == "sections 1 to 40":
            assert _state(iam, qr) == kit_state, "the pasted commands did not reproduce what the kit did"
    assert _state(iam, qr) == ([], [], False)
    assert not qr.parent.exists() or not [p for p in qr.parent.iterdir() if p.name.endswith("-access-key.txt")], "the key file was left behind"


# ----- class 5: no request makes the sandbox answer 500 -----


def _raw(box, service: str, params: dict) -> tuple[int, str]:
    from urllib.parse import urlencode

    body = urlencode(params).encode()
    req = control.signed_request(box, "POST", box.url + "/", body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, service=service)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


SERIAL = "arn:aws:iam::123456789012:mfa/handson-cli-basic-user-mfa"
# The hands-on's calls, each with valid values, so that a fuzzed parameter reaches deep logic.
CALLS = [
    ("iam", "CreateUser", {"UserName": "fuzz-user", "Path": "/handson-cli/", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"}),
    ("iam", "GetUser", {"UserName": "handson-cli-basic-user"}),
    ("iam", "ListUsers", {"PathPrefix": "/handson-cli/", "Marker": "m", "MaxItems": "10"}),
    ("iam", "ListUserTags", {"UserName": "handson-cli-basic-user", "MaxItems": "10"}),
    ("iam", "TagUser", {"UserName": "handson-cli-basic-user", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"}),
    ("iam", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "fuzz-device", "Path": "/", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"}),
    ("iam", "ListVirtualMFADevices", {"AssignmentStatus": "Any", "Marker": "m", "MaxItems": "10"}),
    ("iam", "ListMFADeviceTags", {"SerialNumber": SERIAL, "MaxItems": "10"}),
    ("iam", "EnableMFADevice", {"UserName": "handson-cli-basic-user", "SerialNumber": SERIAL, "AuthenticationCode1": "123456", "AuthenticationCode2": "654321"}),
    ("iam", "ResyncMFADevice", {"UserName": "handson-cli-basic-user", "SerialNumber": SERIAL, "AuthenticationCode1": "123456", "AuthenticationCode2": "654321"}),
    ("iam", "ListMFADevices", {"UserName": "handson-cli-basic-user", "MaxItems": "10"}),
    ("iam", "DeactivateMFADevice", {"UserName": "handson-cli-basic-user", "SerialNumber": SERIAL}),
    ("iam", "DeleteVirtualMFADevice", {"SerialNumber": SERIAL}),
    ("iam", "DeleteUser", {"UserName": "fuzz-user"}),
    ("sts", "GetCallerIdentity", {"Extra": "x"}),
    ("iam", "ListAccessKeys", {"UserName": "handson-cli-basic-user", "MaxItems": "10"}),
    ("iam", "CreateAccessKey", {"UserName": "handson-cli-basic-user"}),
    (
        "iam",
        "PutUserPolicy",
        {
            "UserName": "handson-cli-basic-user",
            "PolicyName": "handson-cli-require-mfa",
            "PolicyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}',
        },
    ),
    ("iam", "DeleteUserPolicy", {"UserName": "handson-cli-basic-user", "PolicyName": "handson-cli-require-mfa"}),
    ("sts", "GetSessionToken", {"SerialNumber": SERIAL, "TokenCode": "123456", "DurationSeconds": "900"}),
]
NASTY = [
    "",
    " ",
    "a" * 1000,
    "١٢٣٤٥٦",
    "１２３４５６",
    "12345\n",
    "\x00",
    "<x>&amp;",
    "%",
    "-1",
    "0",
    "99999999999999999999",
    "abc",
    "/",
    "//",
    "/a",
    "a/",
    "ADMIN",
    "arn:aws:iam::123456789012:mfa/x",
    "é",
    "*",
    "'",
    '"',
    "\\",
    "${IFS}",
    "a b",
    "\u202e",
    "NaN",
    "1e3",
]


def test_no_request_makes_the_sandbox_answer_500(sandbox, ctx, tmp_path):
    hh.create_user(ctx, "handson-cli-basic-user", "/handson-cli/")
    hh.create_virtual_mfa_device(ctx, "handson-cli-basic-user-mfa", str(tmp_path / "qr.png"))
    sent, failures = 0, []
    for service, action, valid in CALLS:
        for name in [*valid, "Action", "Version"]:
            for value in NASTY:
                params = {"Action": action, "Version": "2011-06-15" if service == "sts" else "2010-05-08", **valid, name: value}
                status, text = _raw(sandbox, service, params)
                sent += 1
                if status >= 500 or (status >= 400 and "<Code>" not in text):
                    failures.append(f"{action} {name}={value!r}: {status} {text[:200]}")
    print(f"fuzzed {sent} requests")
    assert failures == [], f"{len(failures)} of {sent} requests:\n" + "\n".join(f.splitlines()[0] for f in failures)
    assert sent > 1000 and sb.running() is not None


def _plausible(shape, depth=0) -> dict | str:
    """Form parameters for one input shape: a short valid-looking value for each required member."""
    if shape.type_name == "structure":
        out: dict = {}
        for name in shape.required_members:
            value = _plausible(shape.members[name], depth + 1)
            out.update({f"{name}.{k}": v for k, v in value.items()} if isinstance(value, dict) else {name: value})
        return out
    if shape.type_name == "list":
        value = _plausible(shape.member, depth + 1)
        return {f"member.1.{k}": v for k, v in value.items()} if isinstance(value, dict) else {"member.1": value}
    if shape.type_name in ("integer", "long"):
        return str(max(1, shape.metadata.get("min", 1)))
    if shape.type_name == "boolean":
        return "true"
    if shape.type_name == "map":
        return {"entry.1.key": "k", "entry.1.value": "v"}
    if getattr(shape, "enum", None):
        return shape.enum[0]
    if "arn" in shape.name.lower():
        return "arn:aws:iam::123456789012:user/handson-cli/handson-cli-basic-user"
    return "handson-cli-basic-user"


@pytest.mark.parametrize("service", ["iam", "sts"])
def test_every_operation_of_the_api_answers_without_a_500(sandbox, service):
    """Not only the hands-on's calls: an action moto lacks (GetMFADevice, ...) says so as a 4xx."""
    model = rules._model(service)
    failures = []
    for operation in model.operation_names:
        input_shape = model.operation_model(operation).input_shape
        params = _plausible(input_shape) if input_shape is not None else {}
        status, text = _raw(sandbox, service, {"Action": operation, "Version": model.api_version, **params})
        if status >= 500 or (status >= 400 and "<Code>" not in text):
            failures.append(f"{operation}: {status} {text[:120]}")
    assert failures == [] and len(model.operation_names) > (100 if service == "iam" else 5)


# ----- class 6: the sandbox and the kit answer as AWS does, from one definition of each rule -----

VALIDATION = [
    # (case, action, params, expected error code, fragment of AWS's message, kit setting that must refuse it too)
    ("Japanese user name", "CreateUser", {"UserName": "ユーザー"}, "ValidationError", "regular expression pattern: [\\w+=,.@-]+", "IAM_USER_NAME"),
    ("accented user name", "CreateUser", {"UserName": "josé"}, "ValidationError", "regular expression pattern", "IAM_USER_NAME"),
    ("user name with a trailing newline", "CreateUser", {"UserName": "handson\n"}, "ValidationError", "regular expression pattern", "IAM_USER_NAME"),
    ("user name with a space", "CreateUser", {"UserName": "a b"}, "ValidationError", "regular expression pattern", "IAM_USER_NAME"),
    ("empty user name", "CreateUser", {"UserName": ""}, "ValidationError", "length greater than or equal to 1", "IAM_USER_NAME"),
    ("65-character user name", "CreateUser", {"UserName": "u" * 65}, "ValidationError", "length less than or equal to 64", "IAM_USER_NAME"),
    ("no user name at all", "CreateUser", {}, "ValidationError", "Value null at 'userName'", None),
    ("path without the last slash", "CreateUser", {"UserName": "x", "Path": "/a"}, "ValidationError", "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)", "IAM_USER_PATH"),
    ("path with a trailing newline", "CreateUser", {"UserName": "x", "Path": "/a/\n"}, "ValidationError", "regular expression pattern", "IAM_USER_PATH"),
    ("path with Japanese", "CreateUser", {"UserName": "x", "Path": "/ハンズオン/"}, "ValidationError", "regular expression pattern", "IAM_USER_PATH"),
    ("path with a space", "CreateUser", {"UserName": "x", "Path": "/a b/"}, "ValidationError", "regular expression pattern", "IAM_USER_PATH"),
    ("Japanese device name", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "デバイス"}, "ValidationError", "regular expression pattern", "MFA_DEVICE_NAME"),
    ("device name with a trailing newline", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "d\n"}, "ValidationError", "regular expression pattern", "MFA_DEVICE_NAME"),
    ("227-character device name", "CreateVirtualMFADevice", {"VirtualMFADeviceName": "d" * 227}, "ValidationError", "less than or equal to 226", "MFA_DEVICE_NAME"),
    ("assignment status Bogus", "ListVirtualMFADevices", {"AssignmentStatus": "Bogus"}, "ValidationError", "enum value set: [Assigned, Unassigned, Any]", None),
    ("assignment status in lower case", "ListVirtualMFADevices", {"AssignmentStatus": "assigned"}, "ValidationError", "enum value set", None),
    ("max items 0", "ListUsers", {"MaxItems": "0"}, "ValidationError", "greater than or equal to 1", None),
    ("max items 1001", "ListVirtualMFADevices", {"MaxItems": "1001"}, "ValidationError", "less than or equal to 1000", None),
    (
        "Arabic-Indic digits as a code",
        "EnableMFADevice",
        {"UserName": "u", "SerialNumber": SERIAL, "AuthenticationCode1": "١٢٣٤٥٦", "AuthenticationCode2": "123456"},
        "ValidationError",
        "authenticationCode1",
        None,
    ),
    (
        "full-width digits as a code",
        "EnableMFADevice",
        {"UserName": "u", "SerialNumber": SERIAL, "AuthenticationCode1": "123456", "AuthenticationCode2": "１２３４５６"},
        "ValidationError",
        "authenticationCode2",
        None,
    ),
    ("unknown action", "CreateUserX", {}, "InvalidAction", "Could not find operation", None),
]


@pytest.mark.parametrize("case, action, params, code, fragment, setting", VALIDATION, ids=[v[0] for v in VALIDATION])
def test_invalid_input_is_refused_as_aws_refuses_it(sandbox, iam, case, action, params, code, fragment, setting):
    status, text = _raw(sandbox, "iam", {"Action": action, "Version": "2010-05-08", **params})
    assert status == 400 and f"<Code>{code}</Code>" in text and fragment.replace("&", "&amp;") in text
    for typed in ("١٢٣٤٥٦", "１２３４５６"):
        assert typed not in text, "a typed code was echoed"
    assert iam.list_users()["Users"] == [] and iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    if setting:
        value = next(iter(v for k, v in params.items() if k in ("UserName", "Path", "VirtualMFADeviceName") and (k != "UserName" or setting == "IAM_USER_NAME")))
        assert settings.problem(setting, value) is not None, "the kit's own check said ✔ where IAM refuses"


@pytest.mark.parametrize("first, second", [("ADMIN", "admin"), ("Handson-Cli-Basic-User", "handson-cli-basic-user"), ("bob", "BOB")])
def test_user_names_are_unique_regardless_of_case(iam, first, second):
    iam.create_user(UserName=first)
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=second)
    assert [u["UserName"] for u in iam.list_users()["Users"]] == [first]


def test_the_learner_is_an_administrators_role_session_not_the_emulator(sts, iam):
    identity = sts.get_caller_identity()
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/HandsonSandboxAdmin/learner"
    assert "moto" not in str(identity) and identity["UserId"].startswith("AROA")
    with pytest.raises(iam.exceptions.ClientError) as err:
        iam.get_user()  # AWS: a role session has no user of its own
    assert err.value.response["Error"]["Code"] == "ValidationError" and "default_user" not in str(err.value)
    with pytest.raises(iam.exceptions.ClientError) as err:
        iam.list_mfa_devices()
    assert err.value.response["Error"]["Code"] == "ValidationError" and "None" not in str(err.value)


# ----- class 7: no raw traceback, no false reassurance, no half-done state -----

QR_FILES = [
    ("a folder", lambda p: p.mkdir()),
    ("an empty file", lambda p: p.write_bytes(b"")),
    ("a text file", lambda p: p.write_text("not a picture")),
    ("a link to a real QR elsewhere", lambda p: (p.with_name("elsewhere.png").write_bytes(b"\x89PNG\r\n\x1a\n"), p.symlink_to(p.with_name("elsewhere.png")))),
]


@pytest.mark.parametrize("case, make", QR_FILES, ids=[q[0] for q in QR_FILES])
def test_a_qr_path_that_is_not_the_kits_png_gets_a_japanese_message(ctx, iam, tmp_path, case, make):
    from helpers import DEVICE, PATH, USER
    from test_bad_input import iam_state

    hh.create_user(ctx, USER, PATH)
    qr = tmp_path / "qr" / f"{DEVICE}.png"
    serial = hh.create_virtual_mfa_device(ctx, DEVICE, str(qr))
    qr.unlink()
    make(qr)
    before = iam_state(iam)
    with pytest.raises(hh.HandsonError) as err:
        asyncio.run(hh.enable_with_form(ctx, USER, serial, str(qr)))
    assert err.value.code == "QrFileMissing" and "QRコード" in err.value.message and "Traceback" not in err.value.message
    assert iam_state(iam) == before and os.path.lexists(qr)


@pytest.mark.parametrize("action", ["EnableMFADevice", "CreateUser", "CreateVirtualMFADevice"])
def test_a_sandbox_that_dies_after_saving_is_reported_truthfully(ctx, iam, tmp_path, action):
    """The change was saved, the answer never left: the kit must not say nothing changed."""
    from helpers import DEVICE, PATH, USER, phone_codes, shown

    qr = str(tmp_path / "qr" / f"{DEVICE}.png")
    if action != "CreateUser":
        hh.create_user(ctx, USER, PATH)
    if action == "EnableMFADevice":
        serial = hh.create_virtual_mfa_device(ctx, DEVICE, qr)
    sb.inject_fault(action, "DieAfterSave")
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


BROKEN_STATES = [
    ("a list", []),
    ("users of the wrong type", {"users": "alice"}),
    ("a user without a name", {"users": [{"path": "/"}]}),
    ("a user with a number as name", {"users": [{"name": 1, "path": "/", "id": "x", "create_date": None}]}),
    ("a device of a missing user", {"users": [], "devices": [{"serial": SERIAL, "seed": "JBSWY3DPEHPK3PXP", "user": "ghost", "enable_date": None}]}),
    ("a device without a seed", {"devices": [{"serial": SERIAL}]}),
    # fields the rebuild hands to moto: a wrong type here must not read as a moto change (store.MotoChanged)
    ("device tags of the wrong type", {"devices": [{"serial": SERIAL, "seed": "JBSWY3DPEHPK3PXP", "user": None, "enable_date": None, "tags": 5}]}),
    ("a user date that is a number", {"users": [{"name": "u", "path": "/", "id": "x", "create_date": 5}]}),
    ("a user date that is not a date", {"users": [{"name": "u", "path": "/", "id": "x", "create_date": "yesterday"}]}),
    ("an access key date that is a number", {"users": [{"name": "u", "path": "/", "id": "x", "create_date": None, "access_keys": [{"id": "AKIAX", "secret": "s", "status": "A", "create_date": 1}]}]}),
    ("a device date that is a list", {"devices": [{"serial": SERIAL, "seed": "JBSWY3DPEHPK3PXP", "user": None, "enable_date": ["2024"]}]}),
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


def test_22_before_10_says_so_before_showing_the_form(ctx, iam, tmp_path):
    from helpers import DEVICE, USER

    serial = hh.create_virtual_mfa_device(ctx, DEVICE, str(tmp_path / "qr.png"))
    ctx.report.reports.clear()
    with pytest.raises(hh.HandsonError) as err:
        asyncio.run(hh.enable_with_form(ctx, USER, serial, str(tmp_path / "qr.png")))
    assert err.value.code == "NoUser" and "10_create_iam_user" in err.value.message
    assert ctx.report.reports == []


def test_22_before_21_names_the_section_to_run(ctx):
    from helpers import DEVICE

    with pytest.raises(hh.HandsonError) as err:
        hh.find_device_serial(ctx, ctx.account_id, DEVICE)
    assert err.value.code == "NoDevice" and "21_create_virtual_mfa_device" in err.value.message


CLI_MADE = [
    ("user and device made in a terminal", True, True),
    ("only the user made in a terminal", True, False),
    ("only the device made in a terminal", False, True),
    ("everything made by the kit", False, False),
]


@pytest.mark.parametrize("case, cli_user, cli_device", CLI_MADE, ids=[c[0] for c in CLI_MADE])
def test_cleanup_of_resources_made_in_a_terminal_is_all_or_nothing(ctx, iam, tmp_path, case, cli_user, cli_device):
    from helpers import DEVICE, PATH, USER, phone_codes, shown
    from test_bad_input import iam_state

    qr = tmp_path / "qr" / f"{DEVICE}.png"
    if cli_user:
        iam.create_user(UserName=USER, Path=PATH)
    else:
        hh.create_user(ctx, USER, PATH)
    if cli_device:
        qr.parent.mkdir(mode=0o700)
        created = iam.create_virtual_mfa_device(VirtualMFADeviceName=DEVICE)["VirtualMFADevice"]
        qr.write_bytes(created["QRCodePNG"])
        qr.chmod(0o600)
        serial = created["SerialNumber"]
    else:
        serial = hh.create_virtual_mfa_device(ctx, DEVICE, str(qr))
    hh.enable_mfa_device(ctx, USER, serial, *phone_codes(str(qr)))
    before = iam_state(iam)
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, str(qr))
    hh.run_cleanup(ctx, plan)
    out = shown(ctx)
    if cli_user or cli_device:  # not the kit's: nothing at all is deleted, and the learner gets the commands
        assert plan.empty and plan.refused and iam_state(iam) == before and qr.exists()
        assert "aws iam deactivate-mfa-device" in out and "aws iam delete-virtual-mfa-device" in out
        with pytest.raises(hh.HandsonError):
            hh.verify_cleanup(ctx, USER, DEVICE, str(qr))
    else:
        hh.verify_cleanup(ctx, USER, DEVICE, str(qr))


ATTACHED = [
    ("an access key made in a terminal", lambda iam: iam.create_access_key(UserName="handson-cli-basic-user")),
    (
        "an inline policy",
        lambda iam: iam.put_user_policy(
            UserName="handson-cli-basic-user", PolicyName="p", PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}'
        ),
    ),
    ("a login profile", lambda iam: iam.create_login_profile(UserName="handson-cli-basic-user", Password="Passw0rd!Passw0rd!")),
    ("a group", lambda iam: (iam.create_group(GroupName="g"), iam.add_user_to_group(GroupName="g", UserName="handson-cli-basic-user"))),
]


@pytest.mark.parametrize("case, attach", ATTACHED, ids=[a[0] for a in ATTACHED])
def test_cleanup_deletes_nothing_when_the_kits_user_holds_something_else(ctx, iam, tmp_path, case, attach):
    from helpers import DEVICE, PATH, USER, make_user_and_device, phone_codes
    from test_bad_input import iam_state

    qr = str(tmp_path / "qr" / f"{DEVICE}.png")
    serial = make_user_and_device(ctx, qr)
    hh.enable_mfa_device(ctx, USER, serial, *phone_codes(qr))
    attach(iam)
    before = iam_state(iam)
    plan = hh.plan_cleanup(ctx, USER, PATH, DEVICE, qr)
    hh.run_cleanup(ctx, plan)
    assert plan.empty and plan.refused and iam_state(iam) == before and Path(qr).exists()


# ----- neighbours found by the review: what reaches moto is exactly what was checked -----


def _send(box, method="POST", path="/", body=b"", headers=None, sign=True, query=""):
    """A hand-built request (http.client, so nothing is normalised); signed over what is sent."""
    import http.client

    headers = dict(headers or {})
    url = box.url + path + (f"?{query}" if query else "")
    if sign:
        req = control.signed_request(box, method, url, body, {k: v for k, v in headers.items() if k.lower() in ("content-type", "content-encoding")}, service="iam")
        headers = {**dict(req.headers), **headers}
    conn = http.client.HTTPConnection("127.0.0.1", box.port, timeout=10)
    conn.putrequest(method, path + (f"?{query}" if query else ""), skip_host=True, skip_accept_encoding=True)
    headers.setdefault("Host", f"127.0.0.1:{box.port}")
    for key, value in headers.items():
        conn.putheader(key, value)
    conn.endheaders()
    if body:
        conn.send(body)
    resp = conn.getresponse()
    return resp.status, resp.read().decode("utf-8", "replace")


FORM_CT = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
MALFORMED = [
    ("a body larger than any IAM request", dict(sign=False, headers={"Content-Length": str(10**12)}), 413),
    ("a JSON body", dict(body=b'{"Action": "CreateUser"}', headers={"Content-Type": "application/x-amz-json-1.0"}), 400),
    ("a gzip body", dict(body=b"\x1f\x8b\x08\x00", headers={**FORM_CT, "Content-Encoding": "gzip"}), 400),
    ("a Host header of '['", dict(sign=False, headers={"Host": "["}), 400),
    ("a Host header of another port", dict(sign=False, headers={"Host": "127.0.0.1:1"}), 400),
    ("parameters in the body and the query", dict(body=b"Action=CreateUser&Version=2010-05-08&UserName=ok", headers=FORM_CT, query="UserName=%E3%83%A6%0A"), 400),
    ("a parameter given twice", dict(body=b"Action=CreateUser&Version=2010-05-08&UserName=ok&UserName=%E3%83%A6", headers=FORM_CT), 400),
    ("a bad name in the query string of a GET", dict(method="GET", query="Action=CreateUser&Version=2010-05-08&UserName=%E3%83%A6%0A"), 400),
    ("a bad status in a GET", dict(method="GET", query="Action=ListVirtualMFADevices&Version=2010-05-08&AssignmentStatus=Bogus"), 400),
    ("MaxItems in another script's digits", dict(method="GET", query="Action=ListUsers&Version=2010-05-08&MaxItems=%D9%A1"), 400),
]


@pytest.mark.parametrize("case, request_args, status", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_requests_are_refused_before_moto_sees_them(sandbox, iam, case, request_args, status):
    got, text = _send(sandbox, **request_args)
    assert got == status and "<Code>" in text
    assert iam.list_users()["Users"] == []
    assert sb.running() is not None  # and the sandbox lives on


def _wire(box, body: bytes, headers: dict | None = None) -> bytes:
    """A signed POST as the bytes on the wire, so that one connection can carry several."""
    req = control.signed_request(box, "POST", box.url + "/", body, dict(FORM_CT), service="iam")
    headers = {**dict(req.headers), "Host": f"127.0.0.1:{box.port}", "Content-Length": str(len(body)), **(headers or {})}
    return b"POST / HTTP/1.1\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items()) + b"\r\n" + body


def _answer(conn: socket.socket):
    import http.client

    resp = http.client.HTTPResponse(conn)
    resp.begin()
    return resp.status, resp.getheader("Connection"), resp.read()


def test_a_connection_serves_the_next_request_once_a_body_was_read_to_its_end(sandbox, iam):
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as conn:
        for name in ("first", "second"):
            conn.sendall(_wire(sandbox, f"Action=CreateUser&Version=2010-05-08&UserName={name}".encode()))
            status, connection, _ = _answer(conn)
            assert (status, connection) == (200, None)
    assert sorted(u["UserName"] for u in iam.list_users()["Users"]) == ["first", "second"]


UNREAD_BODIES = [
    ("a body over the cap", lambda smuggled: {"Content-Length": "70000"}, lambda smuggled: smuggled, 413),
    ("a chunked body", lambda smuggled: {"Transfer-Encoding": "chunked"}, lambda smuggled: b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled), smuggled), 403),
    ("a request for another port", lambda smuggled: {"Host": "127.0.0.1:1", "Content-Length": str(len(smuggled))}, lambda smuggled: smuggled, 400),
]


@pytest.mark.parametrize("case, headers, body, status", UNREAD_BODIES, ids=[u[0] for u in UNREAD_BODIES])
def test_a_body_the_sandbox_did_not_read_closes_the_connection(sandbox, iam, case, headers, body, status):
    """Otherwise the unread body, here a whole signed request, would be read as the next request."""
    smuggled = _wire(sandbox, b"Action=CreateUser&Version=2010-05-08&UserName=smuggled")
    request = b"POST / HTTP/1.1\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in {"Host": f"127.0.0.1:{sandbox.port}", **FORM_CT, **headers(smuggled)}.items())
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as conn:
        conn.sendall(request + b"\r\n" + body(smuggled))
        got, connection, _ = _answer(conn)
        assert (got, connection) == (status, "close")
        assert conn.recv(1) == b""
    assert iam.list_users()["Users"] == []


def test_a_rename_cannot_make_names_that_differ_only_in_case_and_state_survives_a_restart(sandbox, iam):
    iam.create_user(UserName="t1")
    iam.create_user(UserName="t2")
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):
        iam.update_user(UserName="t2", NewUserName="T1")
    sb.stop()
    box = sb.start()
    assert not box.notice and sorted(sb.info(box)["users"]) == ["/t1", "/t2"]


# A process whose main thread has ended while another thread still holds its listening socket, as a
# killed sandbox is while its store's writer thread waits in fsync for the disk.
HALF_DEAD = r"""
import ctypes, socket, sys, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True)
threading.Thread(target=sys.stdin.read).start()
ctypes.CDLL(None).pthread_exit(None)
"""


def test_a_process_is_gone_only_when_its_last_thread_has_ended():
    """What stop() and the tests' kill wait for: the port is free when wait_gone returns."""
    with subprocess.Popen([sys.executable, "-c", HALF_DEAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc:
        port = int(proc.stdout.readline())
        try:
            deadline = time.monotonic() + 10
            while control.state(f"/proc/{proc.pid}/stat") != "Z":
                assert time.monotonic() < deadline, "the main thread did not end"
                time.sleep(0.01)
            assert not control.wait_gone(proc.pid, timeout=0.3) and not port_free("127.0.0.1", port)
        finally:
            proc.stdin.close()
        assert control.wait_gone(proc.pid) and port_free("127.0.0.1", port)


def test_a_sandbox_whose_credentials_were_lost_is_retired_not_orphaned(sandbox):
    old = sb.ensure_running()
    paths.credentials_path(paths.home()).unlink()
    new = sb.start()
    assert new.pid != old.pid and not control._alive(old.pid)
    assert sb.stop() and not control._alive(new.pid)


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


@pytest.mark.parametrize("payload", [b"{}", b"not json", b'{"action": "X"}', b"[1]"])
def test_a_bad_fault_request_is_refused_not_a_500(sandbox, payload):
    req = control.signed_request(sandbox, "POST", sandbox.url + "/_handson/faults", payload, {"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400


# ----- issue 21: the room under attack (the room's own cases are in tests/test_room.py) -----

USER_ARN_PREFIX = "arn:aws:iam::123456789012:user/"
# (pattern, value, matches): AWS's two wildcards and nothing else; the pathological ones first
WILDCARDS = [
    (USER_ARN_PREFIX + "*" * 40 + "a", USER_ARN_PREFIX + "handson-cli/handson-cli-basic-user-bob", False),  # the review's
    (USER_ARN_PREFIX + "*" * 40 + "b", USER_ARN_PREFIX + "handson-cli/handson-cli-basic-user-bob", True),
    ("*a" * 60 + "b", "a" * 300, False),
    ("?*" * 60 + "b", "a" * 300, False),
    ("*" + "a" * 200 + "b", "a" * 400, False),
    ("*" * 2000, "x" * 600, True),
    ("iam:*", "iam:GetUser", True),
    ("iam:Get*", "iam:ListUsers", False),
    ("iam:???User", "iam:GetUser", True),
    ("iam:??User", "iam:GetUser", False),
    ("*", "", True),
    ("?", "", False),
    ("", "", True),
    ("a.b", "axb", False),  # no regular expression: a '.' is a dot
    ("a+", "aa", False),
    ("(a|b)", "a", False),
    ("[ab]", "a", False),
    ("a\\*", "a\\xyz", True),  # a backslash escapes nothing
    ("a$", "a", False),
    ("a*", "a\nb", True),  # '*' spans any character, a newline included
    ("*/handson-cli-basic-user-bob", USER_ARN_PREFIX + "handson-cli/handson-cli-basic-user-bob", True),
    ("*/handson-cli-basic-user-bob", USER_ARN_PREFIX + "handson-cli/handson-cli-basic-user-bobx", False),
]


@pytest.mark.parametrize("pattern, value, expected", WILDCARDS, ids=[f"{p[:30]}…{len(p)}|{v[:20]}" for p, v, _ in WILDCARDS])
def test_wildcard_matching_is_awss_and_takes_steps_linear_in_the_input(pattern, value, expected):
    from handson_helpers.sandbox import wildcard

    matched, steps = wildcard.walk(pattern, value)
    assert matched is expected
    assert steps <= (len(pattern) + 1) * (len(value) + 1)  # the bound for any input
    if pattern.count("*") > 30 or len(pattern) > 1000:  # many stars, which backtracked exponentially: about linear
        assert steps <= 4 * (len(pattern) + len(value))


def test_wildcard_matching_agrees_with_a_regular_expression_on_small_inputs():
    """Every small pattern over a, b, * and ? against every small value: the same verdict as the
    regular expression it replaced (safe at this size)."""
    import itertools
    import re

    from handson_helpers.sandbox import wildcard

    values = ["".join(v) for n in range(5) for v in itertools.product("ab", repeat=n)]
    checked = 0
    for n in range(5):
        for pattern in map("".join, itertools.product("ab*?", repeat=n)):
            regex = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)
            for value in values:
                assert wildcard.matches(pattern, value) is (regex.fullmatch(value) is not None), (pattern, value)
                checked += 1
    assert checked == 341 * 31


def _document(size: int, spaces: int = 0) -> str:
    """An identity policy of exactly ``size`` characters as IAM counts them, plus ``spaces`` that do not count."""
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": USER_ARN_PREFIX}]}
    pad = size - len(json.dumps(doc, separators=(",", ":")))
    doc["Statement"][0]["Resource"] += "x" * pad
    return json.dumps(doc, separators=(",", ":")).replace(",", "," + " " * spaces, 1)


def _trust(size: int, spaces: int = 0) -> str:
    doc = {"Version": "2012-10-17", "Statement": [{"Sid": "", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}
    doc["Statement"][0]["Sid"] = "S" * (size - len(json.dumps(doc, separators=(",", ":"))))
    return json.dumps(doc, separators=(",", ":")).replace(",", "," + " " * spaces, 1)


def _managed(iam, n: int) -> list[str]:
    return [iam.create_policy(PolicyName=f"p{i}", PolicyDocument=_document(100))["Policy"]["Arn"] for i in range(n)]


def _attach(operation: str, **entity):
    """Attach the first n local managed policies to the entity."""

    def call(iam, n):
        for arn in sorted(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])[:n]:
            getattr(iam, operation)(PolicyArn=arn, **entity)

    return call


def _inline(operation: str, **entity):
    """An inline policy of n characters (and 500 spaces, which do not count) on the entity."""
    return lambda iam, n: getattr(iam, operation)(PolicyName="p", PolicyDocument=_document(n, 500), **entity)


def _made(*steps):
    return lambda iam: [step(iam) for step in steps]


USER_U = lambda iam: iam.create_user(UserName="u")  # noqa: E731 - table cells
GROUP_G = lambda iam: iam.create_group(GroupName="g")  # noqa: E731
ROLE_R = lambda iam: iam.create_role(RoleName="r", AssumeRolePolicyDocument=_trust(200))  # noqa: E731
ELEVEN = lambda iam: _managed(iam, 11)  # noqa: E731
POLICY_M = "arn:aws:iam::123456789012:policy/m"
# (case, setup, call with a size or a count, the largest accepted, AWS's message): IAM's quotas on what is evaluated on every call
QUOTAS = [
    ("a user's inline policies", USER_U, _inline("put_user_policy", UserName="u"), 2048, "Maximum policy size of 2048 bytes exceeded for user u"),
    ("a group's inline policies", GROUP_G, _inline("put_group_policy", GroupName="g"), 5120, "Maximum policy size of 5120 bytes exceeded for group g"),
    ("a role's inline policies", ROLE_R, _inline("put_role_policy", RoleName="r"), 10240, "Maximum policy size of 10240 bytes exceeded for role r"),
    ("a managed policy", _made(), lambda iam, n: iam.create_policy(PolicyName=f"m{n}", PolicyDocument=_document(n, 500)), 6144, "Cannot exceed quota for PolicySize: 6144"),
    (
        "a managed policy's new version",
        lambda iam: iam.create_policy(PolicyName="m", PolicyDocument=_document(100)),
        lambda iam, n: iam.create_policy_version(PolicyArn=POLICY_M, PolicyDocument=_document(n, 500)),
        6144,
        "Cannot exceed quota for PolicySize: 6144",
    ),
    ("a role's trust policy", _made(), lambda iam, n: iam.create_role(RoleName=f"r{n}", AssumeRolePolicyDocument=_trust(n, 500)), 2048, "Cannot exceed quota for ACLSizePerRole: 2048"),
    ("a role's new trust policy", ROLE_R, lambda iam, n: iam.update_assume_role_policy(RoleName="r", PolicyDocument=_trust(n, 500)), 2048, "Cannot exceed quota for ACLSizePerRole: 2048"),
    ("policies attached to a user", _made(USER_U, ELEVEN), _attach("attach_user_policy", UserName="u"), 10, "Cannot exceed quota for PoliciesPerUser: 10"),
    ("policies attached to a group", _made(GROUP_G, ELEVEN), _attach("attach_group_policy", GroupName="g"), 10, "Cannot exceed quota for PoliciesPerGroup: 10"),
    ("policies attached to a role", _made(ROLE_R, ELEVEN), _attach("attach_role_policy", RoleName="r"), 10, "Cannot exceed quota for PoliciesPerRole: 10"),
    (
        "groups of a user",
        _made(USER_U, *[lambda iam, i=i: iam.create_group(GroupName=f"g{i}") for i in range(11)]),
        lambda iam, n: [iam.add_user_to_group(GroupName=f"g{i}", UserName="u") for i in range(n)],
        10,
        "Cannot exceed quota for GroupsPerUser: 10",
    ),
]


@pytest.mark.parametrize("case, setup, call, limit, message", QUOTAS, ids=[q[0] for q in QUOTAS])
def test_iams_quotas_on_policies_are_enforced_with_awss_error(iam, case, setup, call, limit, message):
    setup(iam)
    call(iam, limit)  # at the quota (white space not counted): accepted
    with pytest.raises(iam.exceptions.LimitExceededException) as refused:
        call(iam, limit + 1)
    assert refused.value.response["Error"]["Message"] == message


def test_list_operations_return_no_tags_or_boundaries(iam):
    """AWS's listing operations leave tags out ("this operation does not return tags"): the kit's
    tag on a user holds its access key id, which another participant must not read from a list."""
    tags = [{"Key": "handson-access-key", "Value": "key-id-marker-7f3a9c"}]
    iam.create_user(UserName="u", Tags=tags)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="d", Tags=tags)["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    iam.enable_mfa_device(UserName="u", SerialNumber=device["SerialNumber"], AuthenticationCode1=_code(seed, -30), AuthenticationCode2=_code(seed, 0))
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=_trust(200), Tags=tags)
    iam.create_policy(PolicyName="p", PolicyDocument=_document(100), Tags=tags)
    iam.create_group(GroupName="g")
    iam.add_user_to_group(GroupName="g", UserName="u")
    iam.create_instance_profile(InstanceProfileName="ip", Tags=tags)
    iam.add_role_to_instance_profile(InstanceProfileName="ip", RoleName="r")
    listings = [
        iam.list_users(),
        iam.list_virtual_mfa_devices(),
        iam.list_virtual_mfa_devices(AssignmentStatus="Assigned"),
        iam.list_roles(),
        iam.list_policies(Scope="Local"),
        iam.get_group(GroupName="g"),
        iam.list_instance_profiles(),
        iam.list_instance_profiles_for_role(RoleName="r"),
    ]
    for listing in listings:
        text = json.dumps(listing, default=str)
        assert "key-id-marker-7f3a9c" not in text and '"Tags"' not in text and 'PermissionsBoundary"' not in text, text[:300]
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"][0]["User"]["UserName"] == "u"  # the rest is there
    assert iam.list_user_tags(UserName="u")["Tags"] == tags  # and the tags where AWS gives them


def _code(seed: str, offset: float) -> str:
    from helpers import totp_at

    return totp_at(seed, time.time() + offset)


# Calls that name no user: AWS's answer to a role session (the learner's administrator) is a
# ValidationError, never an act on whoever owns the key id given.
NO_USER = [
    ("get_user", {}),
    ("list_mfa_devices", {}),
    ("list_access_keys", {}),
    ("create_access_key", {}),
    ("delete_access_key", {"AccessKeyId": "KEY"}),
    ("update_access_key", {"AccessKeyId": "KEY", "Status": "Inactive"}),
    ("list_ssh_public_keys", {}),
    ("list_signing_certificates", {}),
    ("list_service_specific_credentials", {}),
    ("deactivate_mfa_device", {"SerialNumber": "arn:aws:iam::123456789012:mfa/d"}),
    ("get_login_profile", {}),
]


@pytest.mark.parametrize("operation, params", NO_USER, ids=[n[0] for n in NO_USER])
def test_a_role_session_naming_no_user_acts_on_nobody(iam, operation, params):
    iam.create_user(UserName="victim")
    key = iam.create_access_key(UserName="victim")["AccessKey"]["AccessKeyId"]
    with pytest.raises(iam.exceptions.ClientError) as refused:
        getattr(iam, operation)(**{k: key if v == "KEY" else v for k, v in params.items()})
    assert refused.value.response["Error"]["Code"] == "ValidationError" and "non-User credentials" in refused.value.response["Error"]["Message"]
    assert [(k["AccessKeyId"], k["Status"]) for k in iam.list_access_keys(UserName="victim")["AccessKeyMetadata"]] == [(key, "Active")]


def test_invisible_characters_are_shown_escaped():
    from handson_helpers.display import visible

    assert visible("Ünï Code 田中") == "Ünï Code 田中"
    for sneaky in ("\u2028", "\u2029", "\u00a0", "\u3000", "\u200b", "\u202e", "\x1b", "\n", "\ufeff"):
        assert visible(f"alice{sneaky}bob") == f"alice\\u{ord(sneaky):04x}bob"
