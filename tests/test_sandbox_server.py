"""The sandbox's HTTP server (sandbox/server.py): what reaches moto is exactly what was checked, no request
makes it answer 500, and bad input is refused as AWS refuses it (from the one definition in rules.py)."""

import socket
import urllib.error
import urllib.request

import pytest
from helpers import SERIAL

import handson_helpers as hh
from handson_helpers import rules, settings
from handson_helpers import sandbox as sb
from handson_helpers.sandbox import control


@pytest.mark.parametrize(
    "head",
    ["X-Pad: " + "a" * 9000, "\r\n".join(f"X-Pad-{n}: a" for n in range(60))],
    ids=["a long header line", "many header lines"],
)
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


def _raw(box, service: str, params: dict) -> tuple[int, str]:
    from urllib.parse import urlencode

    body = urlencode(params).encode()
    req = control.signed_request(
        box,
        "POST",
        box.url + "/",
        body,
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        service=service,
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


# The hands-on's calls, each with valid values, so that a fuzzed parameter reaches deep logic.
CALLS = [
    (
        "iam",
        "CreateUser",
        {"UserName": "fuzz-user", "Path": "/handson-cli/", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"},
    ),
    ("iam", "GetUser", {"UserName": "handson-cli-basic-user"}),
    ("iam", "ListUsers", {"PathPrefix": "/handson-cli/", "Marker": "m", "MaxItems": "10"}),
    ("iam", "ListUserTags", {"UserName": "handson-cli-basic-user", "MaxItems": "10"}),
    ("iam", "TagUser", {"UserName": "handson-cli-basic-user", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"}),
    (
        "iam",
        "CreateVirtualMFADevice",
        {"VirtualMFADeviceName": "fuzz-device", "Path": "/", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"},
    ),
    ("iam", "ListVirtualMFADevices", {"AssignmentStatus": "Any", "Marker": "m", "MaxItems": "10"}),
    ("iam", "ListMFADeviceTags", {"SerialNumber": SERIAL, "MaxItems": "10"}),
    (
        "iam",
        "EnableMFADevice",
        {
            "UserName": "handson-cli-basic-user",
            "SerialNumber": SERIAL,
            "AuthenticationCode1": "123456",
            "AuthenticationCode2": "654321",
        },
    ),
    (
        "iam",
        "ResyncMFADevice",
        {
            "UserName": "handson-cli-basic-user",
            "SerialNumber": SERIAL,
            "AuthenticationCode1": "123456",
            "AuthenticationCode2": "654321",
        },
    ),
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
            "PolicyDocument": '{"Version":"2012-10-17",'
            '"Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}',
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
                params = {
                    "Action": action,
                    "Version": "2011-06-15" if service == "sts" else "2010-05-08",
                    **valid,
                    name: value,
                }
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


VALIDATION = [
    # (case, action, params, expected error code, fragment of AWS's message, kit setting that must refuse it too)
    (
        "Japanese user name",
        "CreateUser",
        {"UserName": "ユーザー"},
        "ValidationError",
        "regular expression pattern: [\\w+=,.@-]+",
        "IAM_USER_NAME",
    ),
    (
        "accented user name",
        "CreateUser",
        {"UserName": "josé"},
        "ValidationError",
        "regular expression pattern",
        "IAM_USER_NAME",
    ),
    (
        "user name with a trailing newline",
        "CreateUser",
        {"UserName": "handson\n"},
        "ValidationError",
        "regular expression pattern",
        "IAM_USER_NAME",
    ),
    (
        "user name with a space",
        "CreateUser",
        {"UserName": "a b"},
        "ValidationError",
        "regular expression pattern",
        "IAM_USER_NAME",
    ),
    (
        "empty user name",
        "CreateUser",
        {"UserName": ""},
        "ValidationError",
        "length greater than or equal to 1",
        "IAM_USER_NAME",
    ),
    (
        "65-character user name",
        "CreateUser",
        {"UserName": "u" * 65},
        "ValidationError",
        "length less than or equal to 64",
        "IAM_USER_NAME",
    ),
    ("no user name at all", "CreateUser", {}, "ValidationError", "Value null at 'userName'", None),
    (
        "path without the last slash",
        "CreateUser",
        {"UserName": "x", "Path": "/a"},
        "ValidationError",
        "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        "IAM_USER_PATH",
    ),
    (
        "path with a trailing newline",
        "CreateUser",
        {"UserName": "x", "Path": "/a/\n"},
        "ValidationError",
        "regular expression pattern",
        "IAM_USER_PATH",
    ),
    (
        "path with Japanese",
        "CreateUser",
        {"UserName": "x", "Path": "/ハンズオン/"},
        "ValidationError",
        "regular expression pattern",
        "IAM_USER_PATH",
    ),
    (
        "path with a space",
        "CreateUser",
        {"UserName": "x", "Path": "/a b/"},
        "ValidationError",
        "regular expression pattern",
        "IAM_USER_PATH",
    ),
    (
        "Japanese device name",
        "CreateVirtualMFADevice",
        {"VirtualMFADeviceName": "デバイス"},
        "ValidationError",
        "regular expression pattern",
        "MFA_DEVICE_NAME",
    ),
    (
        "device name with a trailing newline",
        "CreateVirtualMFADevice",
        {"VirtualMFADeviceName": "d\n"},
        "ValidationError",
        "regular expression pattern",
        "MFA_DEVICE_NAME",
    ),
    (
        "227-character device name",
        "CreateVirtualMFADevice",
        {"VirtualMFADeviceName": "d" * 227},
        "ValidationError",
        "less than or equal to 226",
        "MFA_DEVICE_NAME",
    ),
    (
        "assignment status Bogus",
        "ListVirtualMFADevices",
        {"AssignmentStatus": "Bogus"},
        "ValidationError",
        "enum value set: [Assigned, Unassigned, Any]",
        None,
    ),
    (
        "assignment status in lower case",
        "ListVirtualMFADevices",
        {"AssignmentStatus": "assigned"},
        "ValidationError",
        "enum value set",
        None,
    ),
    ("max items 0", "ListUsers", {"MaxItems": "0"}, "ValidationError", "greater than or equal to 1", None),
    (
        "max items 1001",
        "ListVirtualMFADevices",
        {"MaxItems": "1001"},
        "ValidationError",
        "less than or equal to 1000",
        None,
    ),
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
        {
            "UserName": "u",
            "SerialNumber": SERIAL,
            "AuthenticationCode1": "123456",
            "AuthenticationCode2": "１２３４５６",
        },
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
        value = next(
            iter(
                v
                for k, v in params.items()
                if k in ("UserName", "Path", "VirtualMFADeviceName") and (k != "UserName" or setting == "IAM_USER_NAME")
            )
        )
        assert settings.problem(setting, value) is not None, "the kit's own check said ✔ where IAM refuses"


def _send(box, method="POST", path="/", body=b"", headers=None, sign=True, query=""):
    """A hand-built request (http.client, so nothing is normalised); signed over what is sent."""
    import http.client

    headers = dict(headers or {})
    url = box.url + path + (f"?{query}" if query else "")
    if sign:
        req = control.signed_request(
            box,
            method,
            url,
            body,
            {k: v for k, v in headers.items() if k.lower() in ("content-type", "content-encoding")},
            service="iam",
        )
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
    (
        "a JSON body",
        dict(body=b'{"Action": "CreateUser"}', headers={"Content-Type": "application/x-amz-json-1.0"}),
        400,
    ),
    ("a gzip body", dict(body=b"\x1f\x8b\x08\x00", headers={**FORM_CT, "Content-Encoding": "gzip"}), 400),
    ("a Host header of '['", dict(sign=False, headers={"Host": "["}), 400),
    ("a Host header of another port", dict(sign=False, headers={"Host": "127.0.0.1:1"}), 400),
    (
        "parameters in the body and the query",
        dict(body=b"Action=CreateUser&Version=2010-05-08&UserName=ok", headers=FORM_CT, query="UserName=%E3%83%A6%0A"),
        400,
    ),
    (
        "a parameter given twice",
        dict(body=b"Action=CreateUser&Version=2010-05-08&UserName=ok&UserName=%E3%83%A6", headers=FORM_CT),
        400,
    ),
    (
        "a bad name in the query string of a GET",
        dict(method="GET", query="Action=CreateUser&Version=2010-05-08&UserName=%E3%83%A6%0A"),
        400,
    ),
    (
        "a bad status in a GET",
        dict(method="GET", query="Action=ListVirtualMFADevices&Version=2010-05-08&AssignmentStatus=Bogus"),
        400,
    ),
    (
        "MaxItems in another script's digits",
        dict(method="GET", query="Action=ListUsers&Version=2010-05-08&MaxItems=%D9%A1"),
        400,
    ),
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
    headers = {
        **dict(req.headers),
        "Host": f"127.0.0.1:{box.port}",
        "Content-Length": str(len(body)),
        **(headers or {}),
    }
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
    (
        "a chunked body",
        lambda smuggled: {"Transfer-Encoding": "chunked"},
        lambda smuggled: b"%x\r\n%s\r\n0\r\n\r\n" % (len(smuggled), smuggled),
        403,
    ),
    (
        "a request for another port",
        lambda smuggled: {"Host": "127.0.0.1:1", "Content-Length": str(len(smuggled))},
        lambda smuggled: smuggled,
        400,
    ),
]


@pytest.mark.parametrize("case, headers, body, status", UNREAD_BODIES, ids=[u[0] for u in UNREAD_BODIES])
def test_a_body_the_sandbox_did_not_read_closes_the_connection(sandbox, iam, case, headers, body, status):
    """Otherwise the unread body, here a whole signed request, would be read as the next request."""
    smuggled = _wire(sandbox, b"Action=CreateUser&Version=2010-05-08&UserName=smuggled")
    request = b"POST / HTTP/1.1\r\n" + b"".join(
        f"{k}: {v}\r\n".encode()
        for k, v in {"Host": f"127.0.0.1:{sandbox.port}", **FORM_CT, **headers(smuggled)}.items()
    )
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=10) as conn:
        conn.sendall(request + b"\r\n" + body(smuggled))
        got, connection, _ = _answer(conn)
        assert (got, connection) == (status, "close")
        assert conn.recv(1) == b""
    assert iam.list_users()["Users"] == []


@pytest.mark.parametrize("payload", [b"{}", b"not json", b'{"action": "X"}', b"[1]"])
def test_a_bad_fault_request_is_refused_not_a_500(sandbox, payload):
    req = control.signed_request(
        sandbox, "POST", sandbox.url + "/_handson/faults", payload, {"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 400
