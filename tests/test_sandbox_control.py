"""The sandbox process: start/stop/status/env/reset, one server per home, loopback only; a listener of another
uid (nobody, a real second user) on its old port learns nothing and is never trusted."""

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from helpers import cli, terminal_env

import handson_helpers as hh
from conftest import AWS_CLI
from handson_helpers import hub
from handson_helpers import sandbox as sb
from handson_helpers.sandbox import control, paths
from handson_helpers.sandbox.connections import port_free

REPO = Path(__file__).resolve().parents[1]


def test_start_is_idempotent_and_status_tells_what_it_holds(sandbox, iam):
    iam.create_user(UserName="someone", Path="/handson-cli/")
    again = cli("start")
    assert again.returncode == 0 and f"already running at {sandbox.url} (pid {sandbox.pid})" in again.stdout
    status = cli("status")
    assert status.returncode == 0
    assert sandbox.url in status.stdout and "users:   1" in status.stdout and "/handson-cli/someone" in status.stdout


def test_two_processes_starting_at_once_share_one_server():
    sb.stop()
    code = "from handson_helpers import sandbox; print(sandbox.start().pid)"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    pids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(pids) == 1 and pids.pop() == str(sb.running().pid)


def test_status_fails_after_the_process_died_and_start_recovers_on_the_same_port(sandbox):
    os.kill(sandbox.pid, signal.SIGKILL)
    status = cli("status")
    assert status.returncode == 1 and "not running" in status.stdout
    restarted = sb.start()
    assert restarted.pid != sandbox.pid and restarted.port == sandbox.port


def test_a_running_sandbox_is_found_whichever_server_module_this_process_would_start(sandbox, monkeypatch):
    """The tests' server (HANDSON_SANDBOX_SERVER) or the kit's: either is this home's sandbox, and a
    process that would start the other one still finds it, stops it, and leaves no server behind."""
    assert os.environ.get("HANDSON_SANDBOX_SERVER") == "tests.sandbox_faults"
    monkeypatch.delenv("HANDSON_SANDBOX_SERVER")
    found = sb.running()
    assert found is not None and found.pid == sandbox.pid
    assert control.stop() and control.wait_gone(sandbox.pid)


def test_stop_removes_the_state_file(sandbox):
    assert cli("stop").stdout.strip() == "sandbox stopped"
    assert not paths.state_path(paths.home()).exists()
    assert cli("stop").stdout.strip() == "sandbox was not running"
    assert cli("status").returncode == 1


def test_reset_empties_it(sandbox, iam):
    iam.create_user(UserName="someone")
    assert cli("reset").returncode == 0
    assert iam.list_users()["Users"] == []


def test_it_listens_on_loopback_only():
    with pytest.raises(sb.SandboxError):
        sb.start(host="0.0.0.0")
    proc = subprocess.run(
        [sys.executable, "-m", "handson_helpers.sandbox.server", "--home", str(paths.home()), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "loopback only" in proc.stderr


def test_state_and_files_are_private(sandbox, iam):
    iam.create_user(UserName="someone")
    base = paths.home()
    assert base.stat().st_mode & 0o777 == 0o700
    for path in (paths.state_path(base), paths.store_path(base), paths.log_path(base)):
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_no_request_logs_and_no_seed_in_what_it_prints(sandbox, iam):
    iam.create_user(UserName="someone")
    seed = iam.create_virtual_mfa_device(VirtualMFADeviceName="d")["VirtualMFADevice"]["Base32StringSeed"].decode()
    iam.list_users()
    log = paths.log_path(paths.home()).read_text()
    assert "POST /" not in log and "GET /" not in log and seed not in log
    assert seed not in cli("status").stdout


def test_the_seeds_cli_commands_run_verbatim_in_a_shell(sandbox, tmp_path):
    """Issue #2's 'done when': sections 1, 2.1 and 2.2 of the hands-on, as a learner types them."""
    script = textwrap.dedent(
        f"""
        set -e
        export PATH="{Path(AWS_CLI).parent}:$PATH"
        eval "$({sys.executable} -m handson_helpers.sandbox env)"
        IAM_USER_NAME='handson-cli-basic-user'
        IAM_USER_PATH='/handson-cli/'
        MFA_DEVICE_NAME='handson-cli-basic-user-mfa'
        MFA_BOOTSTRAP_METHOD='QRCodePNG'
        DIR_MFA_OUTFILE="{tmp_path}/environment/tmp-handson-cli-iam-user-basic"
        ls -d ${{DIR_MFA_OUTFILE}} > /dev/null 2>&1 || mkdir -p ${{DIR_MFA_OUTFILE}}
        FILE_MFA_OUTFILE="${{DIR_MFA_OUTFILE}}/${{MFA_DEVICE_NAME}}.png"
        aws iam create-user --user-name ${{IAM_USER_NAME}} --path ${{IAM_USER_PATH}} > /dev/null
        aws iam create-virtual-mfa-device \\
          --virtual-mfa-device-name ${{MFA_DEVICE_NAME}} \\
          --bootstrap-method ${{MFA_BOOTSTRAP_METHOD}} \\
          --outfile ${{FILE_MFA_OUTFILE}} > /dev/null
        AWS_ID=$( \\
          aws sts get-caller-identity \\
            --query 'Account' \\
            --output text \\
        ) \\
          && echo ${{AWS_ID}}
        MFA_DEVICE_SERIAL=$( \\
          aws iam list-virtual-mfa-devices \\
            --query "VirtualMFADevices[?SerialNumber == \\`arn:aws:iam::${{AWS_ID}}:mfa/${{MFA_DEVICE_NAME}}\\`].SerialNumber" \\
            --output text \\
        ) \\
          && echo ${{MFA_DEVICE_SERIAL}}
        read MFA_AUTH_CODE1 MFA_AUTH_CODE2 < <({sys.executable} -c 'import sys; sys.path.insert(0, "{REPO / "tests"}"); from helpers import phone_codes; print(*phone_codes(sys.argv[1]))' ${{FILE_MFA_OUTFILE}})
        aws iam enable-mfa-device \\
          --user-name ${{IAM_USER_NAME}} \\
          --serial-number ${{MFA_DEVICE_SERIAL}} \\
          --authentication-code1 ${{MFA_AUTH_CODE1}} \\
          --authentication-code2 ${{MFA_AUTH_CODE2}}
        aws iam list-virtual-mfa-devices \\
          --query "VirtualMFADevices[?User.UserName == \\`${{IAM_USER_NAME}}\\`].User.UserName" \\
          --output text
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "123456789012",
        "arn:aws:iam::123456789012:mfa/handson-cli-basic-user-mfa",
        "handson-cli-basic-user",
    ]


@pytest.fixture
def terminal(sandbox, tmp_path):
    """The environment of a learner's terminal after `eval $(... env)`."""
    return terminal_env(sandbox, tmp_path, AWS_MAX_ATTEMPTS="1")


@pytest.mark.parametrize(
    "args",
    [
        ["sts", "get-caller-identity", "--query", "Account", "--output", "text"],
        ["iam", "list-users", "--path-prefix", "/handson-cli/", "--query", "Users[].UserName"],
        ["iam", "get-user", "--user-name", "nobody"],  # an AWS error
        ["iam", "create-user", "--user-name", "bad name"],  # refused by the sandbox's validation
        ["iam", "no-such-command"],  # a usage error
        ["iam", "list-users", "--query", "Users[0"],  # a bad query
        ["--version"],
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_the_tests_fast_aws_prints_and_fails_as_the_real_aws(iam, terminal, tmp_path, zygote, args):
    """The paste tests run `aws` through the tests' fork server (zygote.py): the same program must
    print the same, fail the same and exit with the same status as the real command."""
    iam.create_user(UserName="someone", Path="/handson-cli/")
    real = subprocess.run([AWS_CLI, *args], env=terminal, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    fast = subprocess.run(
        [zygote.bin / "aws", *args], env=terminal, capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert (fast.returncode, fast.stdout, fast.stderr) == (real.returncode, real.stdout, real.stderr)


@pytest.mark.parametrize(
    "how, wanted", [(signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)], ids=["interrupted", "killed"]
)
def test_the_tests_fast_aws_ends_as_the_real_aws(iam, terminal, zygote, how, wanted):
    """Interrupted or killed while it waits, the forked `aws` ends as the real one, and nothing of it runs on."""
    blocked = ["iam", "create-user", "--cli-input-json", "file:///dev/stdin"]  # waits for input that never comes
    ends = []
    for aws in (AWS_CLI, zygote.bin / "aws"):
        never, held = os.pipe()
        proc = subprocess.Popen(
            [aws, *blocked], env=terminal, stdin=never, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while not any(_reads_stdin(pid) for pid in [str(proc.pid), *_forked(zygote)]):
            assert time.monotonic() < deadline, f"{aws} never came to wait for its input"
            time.sleep(0.05)
        proc.send_signal(how)
        ends.append(proc.wait(30))
        deadline = time.monotonic() + 10
        while _forked(zygote) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _forked(zygote) == [], f"{how!r} left the program running"
        os.close(never)
        os.close(held)
    assert ends == [wanted, wanted]
    assert iam.list_users()["Users"] == []


def _reads_stdin(pid: str) -> bool:
    """Whether the process waits in a read of a pipe (its stdin: awscli opens /dev/stdin)."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text() in ("pipe_read", "anon_pipe_read", "pipe_wait")
    except OSError:
        return False


def _forked(zygote) -> list[str]:
    """The fork server's live children: watchers and the programs they run (none without a fork server)."""
    if "aws" not in zygote.processes:
        return []
    children = []
    for pid in sorted(filter(str.isdigit, os.listdir("/proc")), key=int):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat[1] == str(zygote.processes["aws"].pid) or (stat[1] in children and stat[0] != "Z"):
            children.append(pid)
    return children


def test_only_the_owner_of_the_credentials_may_use_the_sandbox(sandbox, iam):
    """On a shared machine other users reach the loopback port, but not the 0600 credentials."""
    import urllib.error
    import urllib.request

    import boto3

    assert paths.credentials_path(paths.home()).stat().st_mode & 0o777 == 0o600
    for key_id, secret, code in [
        ("testing", "x", "InvalidClientTokenId"),  # a key the sandbox does not know
        (sandbox.key_id, "x" * 40, "SignatureDoesNotMatch"),  # the right key id, a wrong secret
    ]:
        stranger = boto3.client(
            "iam",
            endpoint_url=sandbox.url,
            region_name="ap-northeast-1",
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )
        with pytest.raises(stranger.exceptions.ClientError) as err:
            stranger.create_user(UserName="intruder")
        assert err.value.response["Error"]["Code"] == code
    assert iam.list_users()["Users"] == []
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(
            urllib.request.Request(sandbox.url + "/_handson/reset", data=b"{}", method="POST"), timeout=5
        )
    assert denied.value.code == 403


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
        self.proc = subprocess.Popen(
            [*NOBODY, "/usr/bin/python3", "-c", IMPOSTOR, str(port), str(pid), str(relay)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        if self.proc.stdout.readline().strip() != "listening":
            raise AssertionError(
                f"the impostor could not take port {port}: {self.proc.communicate(timeout=10)[1][-500:]}\n{_holders(port)}"
            )
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


def test_impostor_really_runs_as_another_user(sandbox):
    impostor = Impostor(free_port(), 1)
    try:
        owner = Path(f"/proc/{impostor.proc.pid}/status").read_text()
    finally:
        impostor.stop()
    assert "Uid:\t65534\t65534" in owner
    check = subprocess.run(
        [*NOBODY, "/usr/bin/python3", "-c", f"open({str(paths.credentials_path(paths.home()))!r}).read()"],
        capture_output=True,
    )
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
        subprocess.run(
            [AWS_CLI, "iam", "create-user", "--user-name", "victim"], env=env, capture_output=True, timeout=60
        )
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
    assert (
        boto3.client("iam", endpoint_url=new.url, region_name="ap-northeast-1", **new.credentials).list_users()["Users"]
        == []
    )


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
    with subprocess.Popen(
        [sys.executable, "-c", HALF_DEAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as proc:
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
