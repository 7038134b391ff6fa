"""Conformance: the sandbox answers the hands-on's calls as AWS does, through boto3 and the aws CLI."""

import base64
import json
import re
import time

import pytest
import zxingcpp
from botocore import xform_name
from botocore.exceptions import ClientError
from helpers import USER_ARN_PREFIX, signing_with, totp_at
from PIL import Image

from conftest import cli_json
from handson_helpers import sandbox as sb

VIA = ["boto3", "cli"]
USER, DEVICE = "handson-cli-basic-user", "handson-cli-basic-user-mfa"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def call(iam, sts, aws_cli, tmp_path):
    """call(via, service, Operation, **params) -> (error code or None, response dict)."""

    def run(via, service, operation, **params):
        if via == "boto3":
            client = {"iam": iam, "sts": sts}[service]
            try:
                return None, getattr(client, xform_name(operation))(**params)
            except ClientError as exc:
                return exc.response["Error"]["Code"], exc.response
        args = [service, xform_name(operation, "-")]
        for key, value in params.items():
            args += [f"--{xform_name(key, '-')}", str(value)]
        if operation == "CreateVirtualMFADevice":  # the CLI requires somewhere to write the QR
            args += ["--bootstrap-method", "QRCodePNG", "--outfile", str(tmp_path / "cli-qr.png")]
        proc = aws_cli(*args)
        if proc.returncode == 0:
            return None, cli_json(proc)
        match = re.search(r"An error occurred \((\w+)\)", proc.stderr)
        assert match, proc.stderr
        return match.group(1), {}

    return run


@pytest.fixture
def device(iam):
    """A user and an unassigned device, made directly through boto3; yields (serial, seed)."""
    iam.create_user(UserName=USER, Path="/handson-cli/")
    created = iam.create_virtual_mfa_device(VirtualMFADeviceName=DEVICE)["VirtualMFADevice"]
    return created["SerialNumber"], created["Base32StringSeed"].decode()


def consecutive(seed, now=None, shift=0):
    now = time.time() if now is None else now
    return totp_at(seed, now - 30 + shift * 30), totp_at(seed, now + shift * 30)


def assigned_user(iam, serial):
    for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]:
        if d["SerialNumber"] == serial:
            return d.get("User", {}).get("UserName")
    return "(device missing)"


def decode_qr(path_or_image):
    image = Image.open(path_or_image) if not isinstance(path_or_image, Image.Image) else path_or_image
    return [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]


def test_create_returns_a_scannable_png_qr_of_the_aws_otpauth_uri(iam, tmp_path):
    created = iam.create_virtual_mfa_device(VirtualMFADeviceName=DEVICE)["VirtualMFADevice"]
    png = created["QRCodePNG"]
    assert png.startswith(PNG_SIGNATURE)
    (tmp_path / "qr.png").write_bytes(png)
    [uri] = decode_qr(tmp_path / "qr.png")
    assert uri.startswith(f"otpauth://totp/Amazon%20Web%20Services%3A{DEVICE}%40123456789012?")
    seed = created["Base32StringSeed"].decode()  # a blob in the API model: boto3 gives bytes
    assert f"secret={seed}&" in uri and uri.endswith("issuer=Amazon%20Web%20Services")
    assert re.fullmatch(r"[A-Z2-7]{64}", seed)


def test_cli_outfile_writes_the_png_and_the_seed(aws_cli, tmp_path, iam):
    aws_cli(
        "iam",
        "create-virtual-mfa-device",
        "--virtual-mfa-device-name",
        DEVICE,
        "--bootstrap-method",
        "QRCodePNG",
        "--outfile",
        str(tmp_path / "qr.png"),
        check=True,
    )
    assert (tmp_path / "qr.png").read_bytes().startswith(PNG_SIGNATURE)
    [uri] = decode_qr(tmp_path / "qr.png")
    assert uri.startswith("otpauth://totp/") and "issuer=Amazon%20Web%20Services" in uri
    aws_cli(
        "iam",
        "create-virtual-mfa-device",
        "--virtual-mfa-device-name",
        "second",
        "--bootstrap-method",
        "Base32StringSeed",
        "--outfile",
        str(tmp_path / "seed.txt"),
        check=True,
    )
    assert re.fullmatch(r"[A-Z2-7]{64}", (tmp_path / "seed.txt").read_text())


@pytest.mark.parametrize("via", VIA)
def test_enable_accepts_two_consecutive_codes(call, device, iam, via):
    serial, seed = device
    code1, code2 = consecutive(seed)
    error, _ = call(
        via,
        "iam",
        "EnableMFADevice",
        UserName=USER,
        SerialNumber=serial,
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )
    assert error is None
    assert assigned_user(iam, serial) == USER


def _wrong_pairs(seed, other_seed):
    now = time.time()
    code1, code2 = consecutive(seed, now)
    return {
        "zeros twice": ("000000", "000000"),
        "same code twice": (code2, code2),
        "swapped": (code2, code1),
        "two windows apart": (totp_at(seed, now - 60), code2),
        "ten minutes ago": consecutive(seed, now - 600),
        "ten minutes ahead": consecutive(seed, now + 600),
        "another device's codes": consecutive(other_seed, now),
    }


WRONG = [
    "zeros twice",
    "same code twice",
    "swapped",
    "two windows apart",
    "ten minutes ago",
    "ten minutes ahead",
    "another device's codes",
]


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize("case", WRONG)
def test_enable_refuses_wrong_codes_and_changes_nothing(call, device, iam, via, case):
    serial, seed = device
    other_seed = iam.create_virtual_mfa_device(VirtualMFADeviceName="other")["VirtualMFADevice"][
        "Base32StringSeed"
    ].decode()
    code1, code2 = _wrong_pairs(seed, other_seed)[case]
    if code1 == code2 and case != "zeros twice" and case != "same code twice":
        pytest.fail("the pair built for this case is degenerate; rerun")
    error, response = call(
        via,
        "iam",
        "EnableMFADevice",
        UserName=USER,
        SerialNumber=serial,
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )
    assert error == "InvalidAuthenticationCode"
    if via == "boto3":
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert assigned_user(iam, serial) is None
    assert iam.list_mfa_devices(UserName=USER)["MFADevices"] == []


@pytest.mark.parametrize("via", VIA)
def test_enable_refuses_codes_that_are_not_digits(call, device, iam, via):
    serial, _ = device  # lengths other than 6 never leave botocore: its model says 6..6
    error, _ = call(
        via,
        "iam",
        "EnableMFADevice",
        UserName=USER,
        SerialNumber=serial,
        AuthenticationCode1="12345a",
        AuthenticationCode2="abcdef",
    )
    assert error == "ValidationError"
    assert assigned_user(iam, serial) is None


@pytest.mark.parametrize("via", VIA)
def test_enable_unknown_serial_or_user_is_no_such_entity(call, device, via):
    serial, seed = device
    code1, code2 = consecutive(seed)
    error, _ = call(
        via,
        "iam",
        "EnableMFADevice",
        UserName=USER,
        SerialNumber=serial + "-nope",
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )
    assert error == "NoSuchEntity"
    error, _ = call(
        via,
        "iam",
        "EnableMFADevice",
        UserName="nobody",
        SerialNumber=serial,
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )
    assert error == "NoSuchEntity"


@pytest.mark.parametrize("via", VIA)
def test_enable_twice_is_entity_already_exists(call, device, iam, via):
    serial, seed = device
    code1, code2 = consecutive(seed)
    iam.enable_mfa_device(UserName=USER, SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    error, _ = call(
        via,
        "iam",
        "EnableMFADevice",
        UserName=USER,
        SerialNumber=serial,
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )
    assert error == "EntityAlreadyExists"


@pytest.mark.parametrize("via", VIA)
def test_resync_needs_consecutive_codes_of_an_assigned_device(call, device, iam, via):
    serial, seed = device
    code1, code2 = consecutive(seed)
    error, _ = call(
        via,
        "iam",
        "ResyncMFADevice",
        UserName=USER,
        SerialNumber=serial,
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )
    assert error == "NoSuchEntity"  # not assigned yet
    iam.enable_mfa_device(UserName=USER, SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    error, _ = call(
        via,
        "iam",
        "ResyncMFADevice",
        UserName=USER,
        SerialNumber=serial,
        AuthenticationCode1="111111",
        AuthenticationCode2="222222",
    )
    assert error == "InvalidAuthenticationCode"
    error, _ = call(
        via,
        "iam",
        "ResyncMFADevice",
        UserName=USER,
        SerialNumber=serial,
        AuthenticationCode1=code1,
        AuthenticationCode2=code2,
    )
    assert error == "InvalidAuthenticationCode"  # the codes that enabled it are spent (RFC 6238, 5.2)
    error, _ = call(
        via,
        "iam",
        "ResyncMFADevice",
        UserName=USER,
        SerialNumber=serial,
        AuthenticationCode1=code2,
        AuthenticationCode2=totp_at(seed, time.time() + 30),
    )
    assert error == "InvalidAuthenticationCode"  # a pair reaching back to a spent code
    error, _ = call(
        via,
        "iam",
        "ResyncMFADevice",
        UserName=USER,
        SerialNumber=serial,
        AuthenticationCode1=totp_at(seed, time.time() + 30),
        AuthenticationCode2=totp_at(seed, time.time() + 60),
    )
    assert error is None  # the phone's next two codes


@pytest.mark.parametrize("via", VIA)
def test_delete_conflicts_while_resources_remain(call, device, iam, via):
    serial, seed = device
    code1, code2 = consecutive(seed)
    iam.enable_mfa_device(UserName=USER, SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    assert call(via, "iam", "DeleteUser", UserName=USER)[0] == "DeleteConflict"
    assert call(via, "iam", "DeleteVirtualMFADevice", SerialNumber=serial)[0] == "DeleteConflict"
    iam.deactivate_mfa_device(UserName=USER, SerialNumber=serial)
    key = iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    assert call(via, "iam", "DeleteUser", UserName=USER)[0] == "DeleteConflict"
    iam.delete_access_key(UserName=USER, AccessKeyId=key)
    assert call(via, "iam", "DeleteVirtualMFADevice", SerialNumber=serial)[0] is None
    assert call(via, "iam", "DeleteUser", UserName=USER)[0] is None


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize(
    "operation, params",
    [
        ("CreateUser", {"UserName": "with space"}),
        ("CreateUser", {"UserName": "with/slash"}),
        ("CreateUser", {"UserName": "u" * 65}),
        ("CreateUser", {"UserName": "ok-user", "Path": "/no-trailing"}),
        ("CreateUser", {"UserName": "ok-user", "Path": "no-leading/"}),
        ("CreateVirtualMFADevice", {"VirtualMFADeviceName": "bad name"}),
        ("CreateVirtualMFADevice", {"VirtualMFADeviceName": "ok-device", "Path": "/a"}),
    ],
)
def test_names_and_paths_are_validated_as_aws_does(call, iam, via, operation, params):
    error, _ = call(via, "iam", operation, **params)
    assert error == "ValidationError"
    assert iam.list_users()["Users"] == [] and iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


@pytest.mark.parametrize("via", VIA)
def test_list_never_returns_the_seed_or_the_qr(call, device, via):
    error, listed = call(via, "iam", "ListVirtualMFADevices")
    assert error is None
    [entry] = listed["VirtualMFADevices"]
    assert set(entry) == {"SerialNumber"}


@pytest.mark.parametrize("via", VIA)
def test_sts_answers_with_the_fixed_sandbox_account(call, via):
    error, identity = call(via, "sts", "GetCallerIdentity")
    assert error is None and identity["Account"] == "123456789012"


def test_seed_is_fresh_random_base32_per_device(iam):
    seeds = {
        iam.create_virtual_mfa_device(VirtualMFADeviceName=f"d{i}")["VirtualMFADevice"]["Base32StringSeed"]
        for i in range(5)
    }
    assert len(seeds) == 5
    assert all(len(base64.b32decode(s)) == 40 for s in seeds)


def test_device_tags_are_kept_listed_and_dropped_with_the_device(iam):
    tag = [{"Key": "handson-kit", "Value": "iam-mfa"}]
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=DEVICE, Tags=tag)["VirtualMFADevice"]["SerialNumber"]
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == tag
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.list_mfa_device_tags(SerialNumber=serial)


def test_a_renamed_user_keeps_its_keys_tags_and_sessions(iam, sts, ctx):
    """AWS ties keys, tags and sessions to the user, not to its name (moto left them on the old name)."""
    iam.create_user(UserName="before", Path="/p/", Tags=[{"Key": "k", "Value": "v"}])
    iam.put_user_policy(
        UserName="before",
        PolicyName="read",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}',
    )
    key = iam.create_access_key(UserName="before")["AccessKey"]
    own = signing_with(ctx, "sts", key)
    token = own.get_session_token()["Credentials"]
    iam.update_user(UserName="before", NewUserName="after", NewPath="/q/")
    assert iam.list_user_tags(UserName="after")["Tags"] == [{"Key": "k", "Value": "v"}]
    assert own.get_caller_identity()["Arn"] == "arn:aws:iam::123456789012:user/q/after"
    assert signing_with(ctx, "sts", token).get_caller_identity()["Arn"].endswith(":user/q/after")
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="after")["AccessKeyMetadata"]] == [
        key["AccessKeyId"]
    ]


def test_iams_quotas_hold_a_users_policies_and_tags(iam):
    """2,048 characters of inline policy per user (white space not counted), 50 tags per user."""
    iam.create_user(UserName="quota")
    statement = {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}
    small = json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=8)  # white space is free
    iam.put_user_policy(UserName="quota", PolicyName="small", PolicyDocument=small)
    large = json.dumps({"Version": "2012-10-17", "Statement": [{**statement, "Sid": f"S{i}"} for i in range(40)]})
    with pytest.raises(ClientError) as refused:
        iam.put_user_policy(UserName="quota", PolicyName="large", PolicyDocument=large)
    assert refused.value.response["Error"]["Code"] == "LimitExceeded" and iam.list_user_policies(UserName="quota")[
        "PolicyNames"
    ] == ["small"]
    iam.tag_user(UserName="quota", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(ClientError) as refused:
        iam.tag_user(UserName="quota", Tags=[{"Key": "one-more", "Value": "v"}])
    assert (
        refused.value.response["Error"]["Code"] == "LimitExceeded"
        and len(iam.list_user_tags(UserName="quota")["Tags"]) == 50
    )


@pytest.mark.parametrize(
    "first, second", [("ADMIN", "admin"), ("Handson-Cli-Basic-User", "handson-cli-basic-user"), ("bob", "BOB")]
)
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


def test_a_rename_cannot_make_names_that_differ_only_in_case_and_state_survives_a_restart(sandbox, iam):
    iam.create_user(UserName="t1")
    iam.create_user(UserName="t2")
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException):
        iam.update_user(UserName="t2", NewUserName="T1")
    sb.stop()
    box = sb.start()
    assert not box.notice and sorted(sb.info(box)["users"]) == ["/t1", "/t2"]


def _document(size: int, spaces: int = 0) -> str:
    """An identity policy of exactly ``size`` characters as IAM counts them, plus ``spaces`` that do not count."""
    doc = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": USER_ARN_PREFIX}],
    }
    pad = size - len(json.dumps(doc, separators=(",", ":")))
    doc["Statement"][0]["Resource"] += "x" * pad
    return json.dumps(doc, separators=(",", ":")).replace(",", "," + " " * spaces, 1)


def _trust(size: int, spaces: int = 0) -> str:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
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


# (case, setup, call with a size or a count, the largest accepted, AWS's message): IAM's quotas on what is evaluated
# on every call
QUOTAS = [
    (
        "a user's inline policies",
        USER_U,
        _inline("put_user_policy", UserName="u"),
        2048,
        "Maximum policy size of 2048 bytes exceeded for user u",
    ),
    (
        "a group's inline policies",
        GROUP_G,
        _inline("put_group_policy", GroupName="g"),
        5120,
        "Maximum policy size of 5120 bytes exceeded for group g",
    ),
    (
        "a role's inline policies",
        ROLE_R,
        _inline("put_role_policy", RoleName="r"),
        10240,
        "Maximum policy size of 10240 bytes exceeded for role r",
    ),
    (
        "a managed policy",
        _made(),
        lambda iam, n: iam.create_policy(PolicyName=f"m{n}", PolicyDocument=_document(n, 500)),
        6144,
        "Cannot exceed quota for PolicySize: 6144",
    ),
    (
        "a managed policy's new version",
        lambda iam: iam.create_policy(PolicyName="m", PolicyDocument=_document(100)),
        lambda iam, n: iam.create_policy_version(PolicyArn=POLICY_M, PolicyDocument=_document(n, 500)),
        6144,
        "Cannot exceed quota for PolicySize: 6144",
    ),
    (
        "a role's trust policy",
        _made(),
        lambda iam, n: iam.create_role(RoleName=f"r{n}", AssumeRolePolicyDocument=_trust(n, 500)),
        2048,
        "Cannot exceed quota for ACLSizePerRole: 2048",
    ),
    (
        "a role's new trust policy",
        ROLE_R,
        lambda iam, n: iam.update_assume_role_policy(RoleName="r", PolicyDocument=_trust(n, 500)),
        2048,
        "Cannot exceed quota for ACLSizePerRole: 2048",
    ),
    (
        "policies attached to a user",
        _made(USER_U, ELEVEN),
        _attach("attach_user_policy", UserName="u"),
        10,
        "Cannot exceed quota for PoliciesPerUser: 10",
    ),
    (
        "policies attached to a group",
        _made(GROUP_G, ELEVEN),
        _attach("attach_group_policy", GroupName="g"),
        10,
        "Cannot exceed quota for PoliciesPerGroup: 10",
    ),
    (
        "policies attached to a role",
        _made(ROLE_R, ELEVEN),
        _attach("attach_role_policy", RoleName="r"),
        10,
        "Cannot exceed quota for PoliciesPerRole: 10",
    ),
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
    iam.enable_mfa_device(
        UserName="u",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=_code(seed, -30),
        AuthenticationCode2=_code(seed, 0),
    )
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
        assert "key-id-marker-7f3a9c" not in text and '"Tags"' not in text and 'PermissionsBoundary"' not in text, text[
            :300
        ]
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"][0]["User"]["UserName"] == "u"  # the rest is there
    assert iam.list_user_tags(UserName="u")["Tags"] == tags  # and the tags where AWS gives them


def _code(seed: str, offset: float) -> str:
    from helpers import totp_at

    return totp_at(seed, time.time() + offset)
