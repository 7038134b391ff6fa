"""The sandbox's SigV4 check (sandbox/auth.py): a forged, replayed or out-of-shape signature is refused
before anything reads or acts on the request."""

import re
import time
import urllib.error
import urllib.request

import pytest

from handson_helpers.sandbox import control


def signed(box, body: bytes, **overrides):
    """A raw IAM request signed with the sandbox's key; ``overrides`` tamper with it afterwards."""
    req = control.signed_request(
        box,
        "POST",
        box.url + "/",
        body,
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        service="iam",
    )
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
    (
        "body changed after signing",
        {"data": b"Action=CreateUser&Version=2010-05-08&UserName=evil"},
        "SignatureDoesNotMatch",
    ),
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
        other = control.signed_request(
            sandbox,
            "POST",
            sandbox.url + "/",
            b"Action=ListUsers&Version=2010-05-08",
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
            service="iam",
        )
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
def test_a_credential_scope_out_of_aws_shapes_is_refused_before_anything_reads_it(
    sandbox, iam, part, value, status, code
):
    """The region becomes aws:RequestedRegion, which a participant's own policy can match with
    wildcards: a 64,000-character region held the room's lock for 26 s (the adversarial review)."""
    body = b"Action=ListUsers&Version=2010-05-08"
    honest = control.signed_request(
        sandbox,
        "POST",
        sandbox.url + "/",
        body,
        {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        service="iam",
    )
    scope = re.search(r"Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request", honest.headers["Authorization"])
    parts = {"key": scope[1], "region": scope[3], "service": scope[4]}
    parts[part] = value
    forged = honest.headers["Authorization"].replace(
        scope[0], f"Credential={parts['key']}/{scope[2]}/{parts['region']}/{parts['service']}/aws4_request"
    )
    try:
        answered, text = signed(sandbox, body, Authorization=forged)
    except urllib.error.URLError as exc:  # 431 and close may come while the client still sends its 64 KB head
        assert status == 431 and isinstance(exc.reason, (BrokenPipeError, ConnectionResetError)), exc
        answered, text = status, ""
    assert answered == status and (code is None or f"<Code>{code}</Code>" in text)
    assert iam.list_users()["Users"] == []  # and the sandbox goes on serving
