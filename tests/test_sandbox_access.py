"""Conformance of what MFA protects (issue 13): IAM users' access keys, an MFA-required policy and
GetSessionToken, through boto3 and the aws CLI, answered as AWS answers."""

import json
import os
import re
import signal
import subprocess
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from helpers import phone_code, signing_with, totp_at

from handson_helpers import sandbox as sb
from handson_helpers import totp
from handson_helpers.mfa_policy import MFA_POLICY
from handson_helpers.sandbox import paths
from handson_helpers.sandbox.evaluation import conditions_met

USER, PATH, DEVICE = "handson-cli-basic-user", "/handson-cli/", "handson-cli-basic-user-mfa"
USER_ARN = f"arn:aws:iam::123456789012:user/handson-cli/{USER}"
VIA = ["boto3", "cli"]
MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code."


class As:
    """One set of credentials, used through boto3 or the aws CLI (as a terminal would)."""

    aws = "aws"  # the aws CLI, run by the tests' fork server (set below)

    def __init__(self, sandbox, tmp_path, key_id, secret, token=None):
        self.sandbox, self.tmp_path = sandbox, tmp_path
        self.creds = {"aws_access_key_id": key_id, "aws_secret_access_key": secret, "aws_session_token": token}

    def call(self, via, service, operation, **params):
        """(error code or None, response or {}, message)."""
        if via == "boto3":
            client = boto3.client(service, endpoint_url=self.sandbox.url, region_name="ap-northeast-1", **self.creds)
            try:
                return None, getattr(client, operation)(**params), ""
            except ClientError as exc:
                return exc.response["Error"]["Code"], exc.response, exc.response["Error"]["Message"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.sandbox.url,
            AWS_DEFAULT_REGION="ap-northeast-1",
            AWS_CONFIG_FILE=str(self.tmp_path / "none"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.tmp_path / "none"),
            AWS_ACCESS_KEY_ID=self.creds["aws_access_key_id"],
            AWS_SECRET_ACCESS_KEY=self.creds["aws_secret_access_key"],
            AWS_MAX_ATTEMPTS="1",
        )
        if self.creds["aws_session_token"]:
            env["AWS_SESSION_TOKEN"] = self.creds["aws_session_token"]
        args = [service, operation.replace("_", "-")]
        for key, value in params.items():
            args += ["--" + re.sub(r"(?<!^)(?=[A-Z])", "-", key).lower(), str(value)]
        proc = subprocess.run(
            [self.aws, *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60
        )
        if proc.returncode == 0:
            return None, json.loads(proc.stdout) if proc.stdout.strip() else {}, ""
        match = re.search(r"An error occurred \((\w+)\) when calling the \w+ operation: (.*)", proc.stderr)
        assert match, proc.stderr
        return match.group(1), {}, match.group(2).strip()


@pytest.fixture(autouse=True)
def _aws_cli(zygote, monkeypatch):
    monkeypatch.setattr(As, "aws", str(zygote.bin / "aws"))


@pytest.fixture
def world(iam, sandbox, tmp_path):
    """The state after 1 → 2.1 → 2.2 → 3.1: a user with an enabled device and an access key."""
    iam.create_user(UserName=USER, Path=PATH)
    created = iam.create_virtual_mfa_device(VirtualMFADeviceName=DEVICE)["VirtualMFADevice"]
    seed, serial = created["Base32StringSeed"].decode(), created["SerialNumber"]
    code1, code2 = totp.authenticator_codes(seed, 2)
    iam.enable_mfa_device(UserName=USER, SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    key = iam.create_access_key(UserName=USER)["AccessKey"]
    user = As(sandbox, tmp_path, key["AccessKeyId"], key["SecretAccessKey"])
    return {
        "seed": seed,
        "serial": serial,
        "key": key,
        "user": user,
        "sandbox": sandbox,
        "tmp_path": tmp_path,
        "enable_codes": (code1, code2),
    }


def protect(iam):
    iam.put_user_policy(UserName=USER, PolicyName="handson-cli-require-mfa", PolicyDocument=json.dumps(MFA_POLICY))


def session_of(world, via="boto3", code=None):
    error, response, message = world["user"].call(
        via, "sts", "get_session_token", SerialNumber=world["serial"], TokenCode=code or phone_code(world["seed"])
    )
    assert error is None, message
    creds = response["Credentials"]
    return As(
        world["sandbox"], world["tmp_path"], creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    ), creds


@pytest.mark.parametrize("via", VIA)
def test_a_users_key_acts_as_the_user(world, via):
    error, identity, _ = world["user"].call(via, "sts", "get_caller_identity")
    assert error is None and identity["Arn"] == USER_ARN and identity["Account"] == "123456789012"
    assert identity["UserId"].startswith("AID")


def admin_of(world):
    return As(world["sandbox"], world["tmp_path"], world["sandbox"].key_id, world["sandbox"].secret)


@pytest.mark.parametrize("via", VIA)
def test_the_learners_own_key_stays_the_administrator(world, iam, via):
    protect(iam)
    admin = admin_of(world)
    error, identity, _ = admin.call(via, "sts", "get_caller_identity")
    assert identity["Arn"] == "arn:aws:sts::123456789012:assumed-role/HandsonSandboxAdmin/learner"
    assert admin.call(via, "iam", "list_users", PathPrefix=PATH)[0] is None  # never evaluated against a policy


@pytest.mark.parametrize("via", VIA)
def test_without_a_policy_the_user_may_do_nothing(world, via):
    error, _, message = world["user"].call(via, "iam", "list_users", PathPrefix=PATH)
    assert error == "AccessDenied"
    assert (
        message == f"User: {USER_ARN} is not authorized to perform: iam:ListUsers on resource: "
        "arn:aws:iam::123456789012:user/handson-cli/ because no identity-based policy allows the iam:ListUsers action"
    )


@pytest.mark.parametrize("via", VIA)
def test_the_users_key_alone_is_refused_the_protected_read(world, iam, via):
    protect(iam)
    error, response, message = world["user"].call(via, "iam", "list_users", PathPrefix=PATH)
    assert error == "AccessDenied" and message.endswith("with an explicit deny in an identity-based policy")
    if via == "boto3":
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # An action in NotAction escapes the Deny, but nothing allows it: an implicit deny, as in AWS.
    error, _, message = world["user"].call(via, "iam", "list_mfa_devices", UserName=USER)
    assert error == "AccessDenied" and message.endswith(
        "because no identity-based policy allows the iam:ListMFADevices action"
    )
    # And what it does not allow at all stays refused, MFA or not.
    assert world["user"].call(via, "iam", "create_user", UserName="intruder")[0] == "AccessDenied"


def _wrong_codes(world, iam):
    now = time.time()
    other = iam.create_virtual_mfa_device(VirtualMFADeviceName="other")["VirtualMFADevice"]
    return {
        "a made-up code": "000000" if totp_at(world["seed"], now) != "000000" else "999999",
        "a stale code (ten minutes old)": totp_at(world["seed"], now - 600),
        "a code from ten minutes ahead": totp_at(world["seed"], now + 600),
        "another device's code": totp_at(other["Base32StringSeed"].decode(), now),
        # RFC 6238 5.2: a code is accepted once; the codes that enabled the device are spent
        "the second code that enabled the device": world["enable_codes"][1],
        "the first code that enabled the device": world["enable_codes"][0],
    }


WRONG = [
    "a made-up code",
    "a stale code (ten minutes old)",
    "a code from ten minutes ahead",
    "another device's code",
    "the second code that enabled the device",
    "the first code that enabled the device",
]
SPENT = {"the second code that enabled the device", "the first code that enabled the device"}


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("case", WRONG)
def test_get_session_token_refuses_a_wrong_code(world, iam, via, case):
    code = _wrong_codes(world, iam)[case]
    if case not in SPENT and code in (totp_at(world["seed"], time.time() + 30 * w) for w in range(-2, 3)):
        pytest.fail("the wrong code built for this case happens to be valid now; rerun")
    error, response, message = world["user"].call(
        via, "sts", "get_session_token", SerialNumber=world["serial"], TokenCode=code
    )
    assert (error, message) == ("AccessDenied", MFA_FAILED)
    if via == "boto3":
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize("via", VIA)
def test_get_session_token_refuses_a_device_of_another_user(world, iam, via):
    iam.create_user(UserName="someone-else")
    other = iam.create_virtual_mfa_device(VirtualMFADeviceName="someone-elses")["VirtualMFADevice"]
    seed, now = other["Base32StringSeed"].decode(), time.time()
    iam.enable_mfa_device(
        UserName="someone-else",
        SerialNumber=other["SerialNumber"],
        AuthenticationCode1=totp_at(seed, now - 30),
        AuthenticationCode2=totp_at(seed, now),
    )
    error, _, message = world["user"].call(
        via, "sts", "get_session_token", SerialNumber=other["SerialNumber"], TokenCode=totp_at(seed, now)
    )
    assert (error, message) == ("AccessDenied", MFA_FAILED)


@pytest.mark.parametrize("via", VIA)
def test_the_right_code_gives_credentials_that_pass_the_same_read(world, iam, via):
    protect(iam)
    session, creds = session_of(world, via)
    assert (
        re.fullmatch(r"ASIA[A-Z2-7]{16}", creds["AccessKeyId"])
        and len(creds["SecretAccessKey"]) == 40
        and len(creds["SessionToken"]) > 300
    )
    error, listed, message = session.call(via, "iam", "list_users", PathPrefix=PATH)
    assert error is None, message
    assert [u["UserName"] for u in listed["Users"]] == [USER]
    error, identity, _ = session.call(via, "sts", "get_caller_identity")
    assert identity["Arn"] == USER_ARN  # GetSessionToken credentials are the user's
    # The policy allows only the read: MFA does not make the user an administrator.
    assert session.call(via, "iam", "create_user", UserName="intruder")[0] == "AccessDenied"
    assert [u["UserName"] for u in iam.list_users()["Users"]] == [USER]


def test_the_session_lasts_twelve_hours_unless_asked_otherwise(world):
    _, creds = session_of(world)
    assert abs(creds["Expiration"].timestamp() - time.time() - 43200) < 60
    error, response, _ = world["user"].call(
        "boto3",
        "sts",
        "get_session_token",
        SerialNumber=world["serial"],
        TokenCode=phone_code(world["seed"]),
        DurationSeconds=900,
    )
    assert error is None and abs(response["Credentials"]["Expiration"].timestamp() - time.time() - 900) < 60


@pytest.mark.parametrize("via", VIA)
def test_session_credentials_and_the_administrator_cannot_call_get_session_token(world, sts, via):
    session, _ = session_of(world)
    error, _, message = session.call(via, "sts", "get_session_token")
    assert (error, message) == ("AccessDenied", "Cannot call GetSessionToken with session credentials")
    with pytest.raises(ClientError) as refused:
        sts.get_session_token()
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize("via", VIA)
def test_a_session_without_mfa_cannot_call_iam(world, via):
    error, response, _ = world["user"].call(via, "sts", "get_session_token")
    assert error is None
    creds = response["Credentials"]
    bare = As(
        world["sandbox"], world["tmp_path"], creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    assert bare.call(via, "iam", "list_users")[0] == "InvalidClientTokenId"
    assert bare.call(via, "sts", "get_caller_identity")[1]["Arn"] == USER_ARN


@pytest.mark.parametrize("via", VIA)
def test_temporary_keys_need_their_token(world, via):
    _, creds = session_of(world)
    without = As(world["sandbox"], world["tmp_path"], creds["AccessKeyId"], creds["SecretAccessKey"])
    assert without.call(via, "sts", "get_caller_identity")[0] == "InvalidClientTokenId"
    forged = As(
        world["sandbox"],
        world["tmp_path"],
        creds["AccessKeyId"],
        creds["SecretAccessKey"],
        creds["SessionToken"][:-4] + "AAAA",
    )
    assert forged.call(via, "sts", "get_caller_identity")[0] == "InvalidClientTokenId"
    wrong_secret = As(world["sandbox"], world["tmp_path"], creds["AccessKeyId"], "x" * 40, creds["SessionToken"])
    assert wrong_secret.call(via, "sts", "get_caller_identity")[0] == "SignatureDoesNotMatch"
    key = world["key"]
    with_token = As(
        world["sandbox"], world["tmp_path"], key["AccessKeyId"], key["SecretAccessKey"], creds["SessionToken"]
    )
    assert with_token.call(via, "sts", "get_caller_identity")[0] == "InvalidClientTokenId"


def _edit_state(change):
    """Stop the sandbox, change its state file, start it again (what a restart would load)."""
    sb.stop()
    store = paths.store_path(paths.home())
    data = json.loads(store.read_text())
    change(data)
    store.write_text(json.dumps(data))
    return sb.start()


@pytest.mark.parametrize("via", VIA)
def test_an_expired_session_is_refused_and_a_live_one_survives_a_restart(world, iam, via):
    protect(iam)
    session, creds = session_of(world)
    os.kill(sb.running().pid, signal.SIGKILL)
    sb.start()  # the state file kept the session (and the policy): it still works after a crash
    error, listed, message = session.call(via, "iam", "list_users", PathPrefix=PATH)
    assert error is None and [u["UserName"] for u in listed["Users"]] == [USER], message

    def expire(data):
        [item] = [s for s in data["sessions"] if s["key_id"] == creds["AccessKeyId"]]
        item["expiration"] = time.time() - 1

    _edit_state(expire)
    error, _, message = session.call(via, "iam", "list_users", PathPrefix=PATH)
    assert (error, message) == ("ExpiredToken", "The security token included in the request is expired")
    assert world["user"].call(via, "iam", "list_users", PathPrefix=PATH)[0] == "AccessDenied"  # the policy survived too


def test_no_secret_or_token_reaches_the_sandboxs_log(world, iam):
    protect(iam)
    session, creds = session_of(world)
    session.call("boto3", "iam", "list_users")
    world["user"].call("boto3", "sts", "get_session_token", SerialNumber=world["serial"], TokenCode="000000")
    log = paths.log_path(paths.home()).read_text()
    for secret in (
        creds["SecretAccessKey"],
        creds["SessionToken"],
        world["key"]["SecretAccessKey"],
        creds["AccessKeyId"],
    ):
        assert secret not in log


def test_a_reset_forgets_sessions(world):
    session, _ = session_of(world)
    sb.reset()
    assert session.call("boto3", "sts", "get_caller_identity")[0] == "InvalidClientTokenId"


@pytest.mark.parametrize("via", VIA)
def test_a_third_access_key_is_limit_exceeded(world, iam, via):
    iam.create_access_key(UserName=USER)
    error, _, message = admin_of(world).call(via, "iam", "create_access_key", UserName=USER)
    assert (error, message) == ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2")
    assert len(iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]) == 2


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("kind", ["inline", "attached"])
def test_delete_user_with_a_policy_is_delete_conflict(world, iam, via, kind):
    admin = admin_of(world)
    iam.deactivate_mfa_device(UserName=USER, SerialNumber=world["serial"])
    iam.delete_access_key(UserName=USER, AccessKeyId=world["key"]["AccessKeyId"])
    if kind == "inline":
        protect(iam)
    else:
        arn = iam.create_policy(
            PolicyName="readonly",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}],
                }
            ),
        )["Policy"]["Arn"]
        iam.attach_user_policy(UserName=USER, PolicyArn=arn)
    error, _, message = admin.call(via, "iam", "delete_user", UserName=USER)
    assert error == "DeleteConflict" and "policies" in message
    if kind == "inline":
        assert (
            admin.call(via, "iam", "delete_user_policy", UserName=USER, PolicyName="handson-cli-require-mfa")[0] is None
        )
        assert (
            admin.call(via, "iam", "delete_user_policy", UserName=USER, PolicyName="handson-cli-require-mfa")[0]
            == "NoSuchEntity"
        )
    else:
        iam.detach_user_policy(UserName=USER, PolicyArn=arn)
    assert admin.call(via, "iam", "delete_user", UserName=USER)[0] is None


@pytest.mark.parametrize("via", VIA)
def test_a_deleted_or_inactive_key_no_longer_works(world, iam, via):
    key = world["key"]["AccessKeyId"]
    iam.update_access_key(UserName=USER, AccessKeyId=key, Status="Inactive")
    assert world["user"].call(via, "sts", "get_caller_identity")[0] == "InvalidClientTokenId"
    iam.update_access_key(UserName=USER, AccessKeyId=key, Status="Active")
    assert world["user"].call(via, "sts", "get_caller_identity")[0] is None
    admin = admin_of(world)
    assert admin.call(via, "iam", "delete_access_key", UserName=USER, AccessKeyId=key)[0] is None
    assert admin.call(via, "iam", "delete_access_key", UserName=USER, AccessKeyId=key)[0] == "NoSuchEntity"
    assert world["user"].call(via, "sts", "get_caller_identity")[0] == "InvalidClientTokenId"


def test_a_users_key_cannot_reach_the_sandboxs_control_endpoints(world, iam):
    from handson_helpers.sandbox import control

    box = world["sandbox"]
    impostor = control.Sandbox(
        box.pid, box.host, box.port, box.started_at, world["key"]["AccessKeyId"], world["key"]["SecretAccessKey"]
    )
    with pytest.raises(Exception) as refused:
        control.request(impostor, "/_handson/reset", {})
    assert "403" in str(refused.value)
    assert [u["UserName"] for u in iam.list_users()["Users"]] == [USER]


def test_mfa_age_and_other_conditions_follow_aws_rules(world, iam):
    """NumericLessThan on aws:MultiFactorAuthAge: absent (key alone) is false; with MFA it holds."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:ListUsers",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
            }
        ],
    }
    iam.put_user_policy(UserName=USER, PolicyName="age", PolicyDocument=json.dumps(document))
    assert world["user"].call("boto3", "iam", "list_users")[0] == "AccessDenied"
    session, _ = session_of(world)
    assert session.call("boto3", "iam", "list_users")[0] is None


def test_policy_variables_name_the_caller(world, iam):
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iam:ListAccessKeys",
                "Resource": "arn:aws:iam::*:user/handson-cli/${aws:username}",
            }
        ],
    }
    iam.put_user_policy(UserName=USER, PolicyName="own-keys", PolicyDocument=json.dumps(document))
    iam.create_user(UserName="other", Path=PATH)
    assert world["user"].call("boto3", "iam", "list_access_keys", UserName=USER)[0] is None
    assert world["user"].call("boto3", "iam", "list_access_keys", UserName="other")[0] == "AccessDenied"


CONDITIONS = [
    # (condition block, request context, expected): AWS's evaluation rules, one case each
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, {}, True),  # absent + IfExists: holds
    ({"Bool": {"aws:MultiFactorAuthPresent": "false"}}, {}, False),  # absent without IfExists: does not
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, {"aws:multifactorauthpresent": "true"}, False),
    ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, {"aws:multifactorauthpresent": "false"}, True),
    ({"Bool": {"aws:MultiFactorAuthPresent": True}}, {"aws:multifactorauthpresent": "true"}, True),  # JSON true
    ({"Null": {"aws:MultiFactorAuthAge": "true"}}, {}, True),
    ({"Null": {"aws:MultiFactorAuthAge": "false"}}, {}, False),
    ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {"aws:multifactorauthage": "30"}, True),
    ({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, {"aws:multifactorauthage": "4000"}, False),
    ({"StringNotEquals": {"aws:username": ["a", "b"]}}, {"aws:username": "c"}, True),
    ({"StringNotEquals": {"aws:username": ["a", "b"]}}, {"aws:username": "b"}, False),
    ({"StringLike": {"aws:username": "handson-*"}}, {"aws:username": "handson-cli-basic-user"}, True),
    ({"StringEquals": {"AWS:UserName": "x"}}, {"aws:username": "x"}, True),  # keys ignore case
    ({"ForAnyValue:StringEquals": {"aws:username": "x"}}, {"aws:username": "x"}, False),  # not supported: fails closed
]


@pytest.mark.parametrize("block, context, expected", CONDITIONS, ids=[json.dumps(c[0]) + str(c[1]) for c in CONDITIONS])
def test_condition_rules(block, context, expected):
    assert conditions_met(block, context) is expected


def _session_of(iam, ctx, user: str) -> tuple[dict, dict]:
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return key, signing_with(ctx, "sts", key).get_session_token()["Credentials"]


def test_a_session_dies_with_its_user_even_if_the_name_comes_back(iam, ctx):
    """AWS ties a session to the user, not its name: a user made again is someone else."""
    iam.create_user(UserName="returning")
    key, token = _session_of(iam, ctx, "returning")
    assert signing_with(ctx, "sts", token).get_caller_identity()["Arn"].endswith(":user/returning")
    iam.delete_access_key(UserName="returning", AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName="returning")
    iam.create_user(UserName="returning")
    with pytest.raises(ClientError) as refused:
        signing_with(ctx, "sts", token).get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_a_user_keeps_only_its_newest_sessions(iam, ctx):
    from handson_helpers.sandbox.sessions import MAX_SESSIONS_PER_USER

    iam.create_user(UserName="busy")
    key = iam.create_access_key(UserName="busy")["AccessKey"]
    sts = signing_with(ctx, "sts", key)
    tokens = [sts.get_session_token()["Credentials"] for _ in range(MAX_SESSIONS_PER_USER + 2)]
    for old in tokens[:2]:
        with pytest.raises(ClientError):
            signing_with(ctx, "sts", old).get_caller_identity()
    assert all(signing_with(ctx, "sts", t).get_caller_identity()["Arn"].endswith(":user/busy") for t in tokens[2:])


@pytest.mark.parametrize("token", ["\xe9", "é" * 40, "\x7f"])
def test_an_odd_session_token_header_is_refused_not_a_500(iam, ctx, sandbox, token):
    """A session key id with a token that is not ASCII: refused like any wrong token."""
    import http.client

    iam.create_user(UserName="odd")
    _, real = _session_of(iam, ctx, "odd")
    conn = http.client.HTTPConnection(sandbox.host, sandbox.port, timeout=10)
    headers = {
        "Host": f"{sandbox.host}:{sandbox.port}",
        "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        "X-Amz-Security-Token": token.encode("utf-8").decode("latin-1"),
        "Authorization": f"AWS4-HMAC-SHA256 Credential={real['AccessKeyId']}/{time.strftime('%Y%m%d', time.gmtime())}"
        "/ap-northeast-1/sts/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={'0' * 64}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    conn.request("POST", "/", body=b"Action=GetCallerIdentity&Version=2011-06-15", headers=headers)
    answer = conn.getresponse()
    assert answer.status == 403 and b"<Code>" in answer.read()


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
    assert (
        refused.value.response["Error"]["Code"] == "ValidationError"
        and "non-User credentials" in refused.value.response["Error"]["Message"]
    )
    assert [(k["AccessKeyId"], k["Status"]) for k in iam.list_access_keys(UserName="victim")["AccessKeyMetadata"]] == [
        (key, "Active")
    ]
