"""Shared bits of the tests: the learner's phone, a user+device made through the kit, and what the tests
by module share from the safety battery (the folder kinds a learner might name, the sandbox's CLI)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pyotp
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from jupyter_client.manager import AsyncKernelManager, KernelManager

import handson_helpers as hh
from handson_helpers import totp
from handson_helpers.credentials import Keys, client_for
from handson_helpers.sandbox import client_env
from handson_helpers.shell import assign

USER = "handson-cli-basic-user"
PATH = "/handson-cli/"
DEVICE = "handson-cli-basic-user-mfa"


def outfile(home):
    return str(home / "environment" / "tmp-handson-cli-iam-user-basic" / f"{DEVICE}.png")


def phone_codes(png_path, offset_windows=0):
    """Two consecutive codes read from the QR image: the built-in authenticator's (never a code it
    typed before), or shifted by whole 30-second windows."""
    secret = totp.secret_from_qr(png_path)
    if offset_windows == 0:
        return totp.authenticator_codes(secret, 2)
    return totp.consecutive_codes(secret, time.time() + offset_windows * 30)


def phone_code(secret):
    """One code of the device, as the built-in authenticator types it (never one it typed before)."""
    return totp.authenticator_codes(secret, 1)[0]


def make_user_and_device(ctx, qr_file):
    hh.create_user(ctx, USER, PATH)
    return hh.create_virtual_mfa_device(ctx, DEVICE, qr_file)


def shown(ctx) -> str:
    """The text of every report the steps on ctx made; its reporter is Silent, so nothing was printed."""
    return "\n".join(report.text for report in ctx.report.reports)


def totp_at(secret, when):
    return pyotp.TOTP(secret).at(when)


def stubbed(service):
    """A client for real AWS whose every call must be queued on its Stubber (nothing is sent)."""
    client = boto3.client(
        service, region_name="ap-northeast-1", aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="example"
    )
    stub = Stubber(client)
    stub.activate()
    return client, stub


def signing_with(ctx, service, creds: dict):
    """A client at ctx's target that signs with an AccessKey or STS Credentials dict, as the kit's own are made."""
    return client_for(ctx, service, Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken")))


def terminal_env(box, tmp_path, **extra) -> dict:
    """A learner's terminal after `eval $(... env)`: the sandbox's variables, none of this process's AWS_ ones, no
    config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(client_env(box), AWS_CONFIG_FILE=str(tmp_path / "none"), **extra)
    return env


# The learner's phone for a pasted bash script: `python -c "$PHONE" QR_FILE N` prints N consecutive
# codes (the built-in authenticator's: never one it typed before), as MFA_AUTH_CODE1/2 or MFA_TOKEN_CODE.
PHONE = (
    "import sys; from handson_helpers import totp; "
    "print(*totp.authenticator_codes(totp.secret_from_qr(sys.argv[1]), int(sys.argv[2])))"
)
# What a learner types where a notebook shows the page's placeholder for a code (22's two, 40's one).
TYPED = {
    "MFA_AUTH_CODE1='<": 'read -r MFA_AUTH_CODE1 MFA_AUTH_CODE2 <<< "$(python -c "$PHONE" "${FILE_MFA_OUTFILE}" 2)"',
    "MFA_TOKEN_CODE='<": 'MFA_TOKEN_CODE=$(python -c "$PHONE" "${FILE_MFA_OUTFILE}" 1)',  # the code the phone shows now
}


def typed(shell: str) -> str:
    """A shown block with the learner's codes in place of the page's placeholders (never digits in a notebook)."""
    return next((codes for placeholder, codes in TYPED.items() if placeholder in shell), shell)


class _OverIPC:
    """The tests' kernels talk over IPC files in this process's HOME. Over TCP the client picks free
    ports that the kernel binds a moment later, and kernels started at once by parallel workers can
    pick the same one: the loser dies before it answers."""

    def __init__(self, **kwargs):
        super().__init__(**{"transport": "ipc", "ip": os.path.join(os.environ["HOME"], "kernel"), **kwargs})


class IPCKernelManager(_OverIPC, KernelManager):
    pass


class AsyncIPCKernelManager(_OverIPC, AsyncKernelManager):
    """For nbclient."""


def aws_args(command: str, **variables) -> list[str]:
    """What bash hands `aws` for a command the kit shows, with the page's variables assigned first."""
    script = (
        "".join(assign(k, v) + "\n" for k, v in variables.items())
        + "aws() { printf '%s\\0' \"$@\"; }\n"
        + command
        + "\n"
    )
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, timeout=30).stdout.split(
        "\0"
    )[:-1]


# ----- shared by the safety cases of several modules (mfa, shell, sandbox paths and control) -----


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "handson_helpers.sandbox", *args], capture_output=True, text=True, timeout=120, env=env
    )


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


SERIAL = "arn:aws:iam::123456789012:mfa/handson-cli-basic-user-mfa"


USER_ARN_PREFIX = "arn:aws:iam::123456789012:user/"


NO_RETRY = Config(retries={"total_max_attempts": 1})


def error_of(call, **params):
    try:
        call(**params)
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return None


class Device:
    """A user with an access key and a virtual device, and codes of it by step relative to now."""

    def __init__(self, iam, sandbox, name=USER, device=DEVICE):
        self.iam, self.name = iam, name
        iam.create_user(UserName=name)
        created = iam.create_virtual_mfa_device(VirtualMFADeviceName=device)["VirtualMFADevice"]
        self.seed, self.serial = created["Base32StringSeed"].decode(), created["SerialNumber"]
        key = iam.create_access_key(UserName=name)["AccessKey"]
        self.sts = boto3.client(
            "sts",
            endpoint_url=sandbox.url,
            region_name="ap-northeast-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            config=NO_RETRY,
        )
        self.step = int(time.time() // 30)  # the steps of one case are counted from here

    def answer(self, call, **params):
        return error_of(call, **params)

    def code(self, step):
        return totp_at(self.seed, (self.step + step) * 30)

    def pair(self, second):
        return self.code(second - 1), self.code(second)

    def enable(self, code1, code2):
        return self._two_codes(self.iam.enable_mfa_device, code1, code2)

    def resync(self, code1, code2):
        return self._two_codes(self.iam.resync_mfa_device, code1, code2)

    def _two_codes(self, call, code1, code2):
        return self.answer(
            call, UserName=self.name, SerialNumber=self.serial, AuthenticationCode1=code1, AuthenticationCode2=code2
        )

    def session(self, code, serial=None):
        return self.answer(self.sts.get_session_token, SerialNumber=serial or self.serial, TokenCode=code)

    def enabled(self):
        return [d["SerialNumber"] for d in self.iam.list_mfa_devices(UserName=self.name)["MFADevices"]] == [self.serial]
