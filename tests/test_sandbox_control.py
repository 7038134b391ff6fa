"""The sandbox process: start/stop/status/env/reset, one server per home, loopback only."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import terminal_env

from conftest import AWS_CLI
from handson_helpers import sandbox as sb
from handson_helpers.sandbox import paths

REPO = Path(__file__).resolve().parents[1]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "handson_helpers.sandbox", *args], capture_output=True, text=True, timeout=60)


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
    fast = subprocess.run([zygote.bin / "aws", *args], env=terminal, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert (fast.returncode, fast.stdout, fast.stderr) == (real.returncode, real.stdout, real.stderr)


@pytest.mark.parametrize("how, wanted", [(signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)], ids=["interrupted", "killed"])
def test_the_tests_fast_aws_ends_as_the_real_aws(iam, terminal, zygote, how, wanted):
    """Interrupted or killed while it waits, the forked `aws` ends as the real one, and nothing of it runs on."""
    blocked = ["iam", "create-user", "--cli-input-json", "file:///dev/stdin"]  # waits for input that never comes
    ends = []
    for aws in (AWS_CLI, zygote.bin / "aws"):
        never, held = os.pipe()
        proc = subprocess.Popen([aws, *blocked], env=terminal, stdin=never, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        stranger = boto3.client("iam", endpoint_url=sandbox.url, region_name="ap-northeast-1", aws_access_key_id=key_id, aws_secret_access_key=secret)
        with pytest.raises(stranger.exceptions.ClientError) as err:
            stranger.create_user(UserName="intruder")
        assert err.value.response["Error"]["Code"] == code
    assert iam.list_users()["Users"] == []
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(urllib.request.Request(sandbox.url + "/_handson/reset", data=b"{}", method="POST"), timeout=5)
    assert denied.value.code == 403
