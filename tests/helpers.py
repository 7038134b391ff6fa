"""Shared bits of the tests: the learner's phone, and a user+device made through the kit."""

import os
import time

import boto3
import pyotp
from botocore.stub import Stubber
from jupyter_client.manager import AsyncKernelManager, KernelManager

import handson_helpers as hh
from handson_helpers import totp
from handson_helpers.credentials import Keys, client_for
from handson_helpers.sandbox import client_env

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
    client = boto3.client(service, region_name="ap-northeast-1", aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="example")
    stub = Stubber(client)
    stub.activate()
    return client, stub


def signing_with(ctx, service, creds: dict):
    """A client at ctx's target that signs with an AccessKey or STS Credentials dict, as the kit's own are made."""
    return client_for(ctx, service, Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken")))


def terminal_env(box, tmp_path, **extra) -> dict:
    """A learner's terminal after `eval $(... env)`: the sandbox's variables, none of this process's AWS_ ones, no config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(client_env(box), AWS_CONFIG_FILE=str(tmp_path / "none"), **extra)
    return env


# The learner's phone for a pasted bash script: `python -c "$PHONE" QR_FILE N` prints N consecutive
# codes (the built-in authenticator's: never one it typed before), as MFA_AUTH_CODE1/2 or MFA_TOKEN_CODE.
PHONE = "import sys; from handson_helpers import totp; print(*totp.authenticator_codes(totp.secret_from_qr(sys.argv[1]), int(sys.argv[2])))"
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
