"""AWS's input rules, read from botocore's model (rules.py): the one definition the kit's checks and the
sandbox's ValidationError share, worded as AWS words it."""

import pytest

from handson_helpers import rules

# (operation, wire parameters, AWS's ValidationError text)
REFUSED = [
    (
        "CreateUser",
        {},
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null",
    ),
    (
        "CreateUser",
        {"UserName": "a b"},
        "1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
    ),
    (
        "CreateUser",
        {"UserName": "u" * 65},
        f"1 validation error detected: Value '{'u' * 65}' at 'userName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64",
    ),
    (
        "ListVirtualMFADevices",
        {"AssignmentStatus": "assigned"},
        "1 validation error detected: Value 'assigned' at 'assignmentStatus' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Assigned, Unassigned, Any]",
    ),
    (
        "ListUsers",
        {"MaxItems": "0"},
        "1 validation error detected: Value '0' at 'maxItems' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1",
    ),
    (
        "ListUsers",
        {"MaxItems": "ten"},
        "1 validation error detected: Value 'ten' at 'maxItems' failed to satisfy constraint: Member must be a number",
    ),
    (
        "CreateUser",
        {"UserName": "", "Path": "a"},
        # in the model's order of members
        "2 validation errors detected: Value 'a' at 'path' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F); "
        "Value '' at 'userName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    ),
    (
        "TagUser",
        {"UserName": "u", "Tags.member.1.Key": "k"},
        "1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy constraint: "
        "Member must not be null",
    ),
]


@pytest.mark.parametrize("operation, params, text", REFUSED, ids=[f"{o} {sorted(p)}" for o, p, _ in REFUSED])
def test_validate_refuses_as_aws_words_it(operation, params, text):
    assert rules.summary(rules.validate("iam", operation, params)) == text


@pytest.mark.parametrize(
    "operation, params",
    [
        ("CreateUser", {"UserName": "handson-cli-basic-user", "Path": "/handson-cli/"}),
        (
            "TagUser",
            {"UserName": "u", "Tags.member.1.Key": "handson-participant", "Tags.member.1.Value": "田中 太郎"},
        ),  # tags take any letter
        ("ListVirtualMFADevices", {"AssignmentStatus": "Any", "MaxItems": "1000"}),
        ("ListUsers", {}),
    ],
)
def test_validate_accepts_what_aws_accepts(operation, params):
    assert rules.validate("iam", operation, params) == []


def test_a_typed_code_is_never_echoed_in_the_message():
    (violation,) = rules.validate(
        "iam",
        "EnableMFADevice",
        {
            "UserName": "u",
            "SerialNumber": "arn:aws:iam::123456789012:mfa/d",
            "AuthenticationCode1": "１２３４５６",
            "AuthenticationCode2": "123456",
        },
    )
    assert violation.sensitive and violation.field == "authenticationCode1" and violation.kind == "pattern"
    assert "１２３４５６" not in violation.message and violation.message.startswith(
        "Value at 'authenticationCode1' failed"
    )


def test_more_tags_than_aws_allows_are_refused():
    params = {"UserName": "u", **{f"Tags.member.{n}.{part}": "x" for n in range(1, 52) for part in ("Key", "Value")}}
    assert [(v.field, v.kind, v.limit) for v in rules.validate("iam", "TagUser", params)] == [
        ("tags", "max", rules.MAX_TAGS_PER_RESOURCE)
    ]


def test_a_device_name_is_capped_where_its_serial_would_outgrow_iams_limit():
    """The model allows 226 characters; a longer name would make a serial of more than 256."""
    longest = "d" * (256 - rules.SERIAL_PREFIX_LEN)
    assert rules.problem("CreateVirtualMFADevice", "VirtualMFADeviceName", longest) is None
    refused = rules.problem("CreateVirtualMFADevice", "VirtualMFADeviceName", longest + "d")
    assert refused is not None and (refused.kind, refused.limit) == ("max", 256 - rules.SERIAL_PREFIX_LEN)


@pytest.mark.parametrize(
    "operation, acts",
    [
        ("GetUser", True),
        ("ListAccessKeys", True),
        ("DeleteAccessKey", True),
        ("ListMFADevices", True),
        ("CreateUser", False),
        ("ListUsers", False),
        ("EnableMFADevice", False),
    ],
)
def test_acts_on_caller_names_the_operations_whose_user_name_may_be_left_out(operation, acts):
    assert rules.acts_on_caller(operation) is acts


def test_the_services_operations_come_from_botocores_model():
    assert {"GetCallerIdentity", "GetSessionToken"} <= set(rules.operations("sts"))
    assert {"CreateUser", "EnableMFADevice", "ResyncMFADevice"} <= set(rules.operations("iam"))
    assert rules.member_shape("iam", "EnableMFADevice", "AuthenticationCode1").name in rules.SENSITIVE_SHAPES
