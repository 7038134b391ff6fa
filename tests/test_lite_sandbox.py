"""The browser edition's sandbox (handson_helpers/lite/sandbox.py), run here on CPython as the kernel runs
it in Pyodide: botocore's requests answered in-process by the server's own app, the kit's rules intact,
its state kept in the state file so that a new kernel (a reloaded page) resumes. Each run is a fresh
Python process, as each page load is a fresh kernel. The browser itself: tests/test_e2e_lite.py."""

import json
import subprocess
import sys
import textwrap
import zipfile

from tests.support import lite_build

# A kernel of the browser edition: lite.ACTIVE as in Pyodide (sys.platform == "emscripten")
KERNEL = """
import json, sys, time
import pyotp
from botocore.exceptions import ClientError
from handson_helpers import lite
lite.ACTIVE = True
import handson_helpers as hh
from handson_helpers.lite import sandbox as in_kernel
from handson_helpers.sandbox import control

def started(*a, **k):
    raise AssertionError("the browser edition must not start a sandbox process")
control.start = started
ctx = hh.connect(hh.Silent())
iam, sts = ctx.iam, ctx.sts
found = {"endpoint": ctx.endpoint, "caller": ctx.caller_arn}

def code(call, **params):
    try:
        call(**params)
        return None
    except ClientError as exc:
        return exc.response["Error"]["Code"]
"""

FIRST = """
found["user"] = code(iam.create_user, UserName="handson-cli-basic-user", Path="/handson-cli/")
found["same name, other case"] = code(iam.create_user, UserName="HANDSON-CLI-BASIC-USER")
found["bad name"] = code(iam.create_user, UserName="bad name!")
device = iam.create_virtual_mfa_device(VirtualMFADeviceName="handson-cli-basic-user-mfa")["VirtualMFADevice"]
found["png"] = device["QRCodePNG"][:8].hex()
serial = device["SerialNumber"]
totp, now = pyotp.TOTP(device["Base32StringSeed"].decode()), time.time()
found["wrong pair"] = code(iam.enable_mfa_device, UserName="handson-cli-basic-user", SerialNumber=serial,
                           AuthenticationCode1="123456", AuthenticationCode2="654321")
found["enable"] = code(iam.enable_mfa_device, UserName="handson-cli-basic-user", SerialNumber=serial,
                       AuthenticationCode1=totp.at(now - 30), AuthenticationCode2=totp.at(now))
found["delete user with a device"] = code(iam.delete_user, UserName="handson-cli-basic-user")
found["seed"] = device["Base32StringSeed"].decode()
print(json.dumps(found))
"""

AFTER_RELOAD = """
devices = iam.list_mfa_devices(UserName="handson-cli-basic-user")["MFADevices"]
found["devices"] = [d["SerialNumber"] for d in devices]
totp = pyotp.TOTP(sys.argv[1])
key = iam.create_access_key(UserName="handson-cli-basic-user")["AccessKey"]
policy = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
    {"Effect": "Deny", "NotAction": ["sts:GetSessionToken"], "Resource": "*",
     "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}
iam.put_user_policy(UserName="handson-cli-basic-user", PolicyName="p", PolicyDocument=json.dumps(policy))
user = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
as_user = hh.target.sandbox_client("iam", ctx.endpoint, **user)
user_sts = hh.target.sandbox_client("sts", ctx.endpoint, **user)
found["key alone"] = code(as_user.list_users)
window = {totp.at(time.time() + 30 * step) for step in range(-2, 3)}
wrong = next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in window)
found["wrong session code"] = code(user_sts.get_session_token, SerialNumber=devices[0]["SerialNumber"], TokenCode=wrong)
# the next step's code: the current one went into the enable pair, and a code is taken once
next_code = totp.at(time.time() + 30)
session = user_sts.get_session_token(SerialNumber=devices[0]["SerialNumber"], TokenCode=next_code)["Credentials"]
with_mfa = hh.target.sandbox_client("iam", ctx.endpoint, aws_access_key_id=session["AccessKeyId"],
    aws_secret_access_key=session["SecretAccessKey"], aws_session_token=session["SessionToken"])
found["session"] = code(with_mfa.list_users)
print(json.dumps(found))
"""


def kernel(home, body: str, *args: str) -> dict:
    env = {"HANDSON_HOME": str(home), "HOME": str(home.parent), "PATH": "/usr/bin:/bin"}
    script = textwrap.dedent(KERNEL) + textwrap.dedent(body)
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_kernels_sandbox_keeps_the_rules_and_resumes_after_a_reload(tmp_path):
    home = tmp_path / ".handson-iam-mfa"
    first = kernel(home, FIRST)
    assert first["endpoint"] == "http://127.0.0.1:8765"
    assert first["caller"].endswith(":assumed-role/HandsonSandboxAdmin/learner")
    assert first["user"] is None
    assert first["same name, other case"] == "EntityAlreadyExists"
    assert first["bad name"] == "ValidationError"
    assert first["png"] == b"\x89PNG\r\n\x1a\n".hex()
    assert first["wrong pair"] == "InvalidAuthenticationCode"
    assert first["enable"] is None
    assert first["delete user with a device"] == "DeleteConflict"
    assert (home / "iam-state.json").stat().st_mode & 0o077 == 0
    # a new kernel on the same storage: the device, its seed and the code state are back
    again = kernel(home, AFTER_RELOAD, first["seed"])
    assert again["devices"] == ["arn:aws:iam::123456789012:mfa/handson-cli-basic-user-mfa"]
    assert again["key alone"] == "AccessDenied"
    assert again["wrong session code"] == "AccessDenied"
    assert again["session"] is None


def test_the_cryptography_standin_imports_and_refuses_any_use(tmp_path):
    wheel = lite_build._wheel_of(lite_build.STANDIN, "cryptography", lite_build.STANDIN_VERSION, tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "site")
    probe = textwrap.dedent(
        """
        import cryptography
        from cryptography import x509
        from cryptography.hazmat.backends import default_backend
        assert cryptography.__file__.startswith(sys.argv[1]), cryptography.__file__
        for use in (lambda: x509.load_pem_x509_certificate(b""), default_backend):
            try:
                use()
            except NotImplementedError as exc:
                print("refused:", exc)
            else:
                raise AssertionError("the stand-in did something")
        """
    )
    site = str(tmp_path / "site")
    proc = subprocess.run(
        [sys.executable, "-c", "import sys\n" + probe, site],
        env={"PYTHONPATH": site},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("refused: ") == 2
    assert "stand-in" in proc.stdout
