"""SigV4 verification in the sandbox: a request counts only if it was signed with a known secret.

botocore computes the signature (the same code that signed the request in the client), as
moto's own ``IAMRequestBase.check_signature`` does; this adds the clock check AWS makes.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW_SECONDS = 300  # AWS allows 15 minutes; the sandbox shares the client's clock, so 5 is ample
AUTH_RE = re.compile(
    # bounded parts: the region becomes aws:RequestedRegion, which policies match with wildcards
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]{1,128})/(?P<date>\d{8})/"
    r"(?P<region>[a-z0-9-]{1,32})/(?P<service>[a-z0-9-]{1,32})/aws4_request,\s*"
    r"SignedHeaders=(?P<signed>[a-z0-9;\-]+),\s*Signature=(?P<signature>[0-9a-f]{64})",
    re.ASCII,
)


@dataclass(frozen=True)
class Denied(Exception):
    status: int
    code: str
    message: str


@dataclass(frozen=True)
class Caller:
    key_id: str
    service: str
    region: str


# A known key's secret: a dict, or a function of (key id, X-Amz-Security-Token or None) that
# returns None for an unknown key and may raise Denied (an expired session).
Secrets = dict[str, str] | Callable[[str, str | None], str | None]


def _headers(environ) -> dict[str, str]:
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def verify(environ, body: bytes, secrets: Secrets, now: float, not_before: float = 0.0) -> Caller:
    """The caller of a signed request, or Denied with AWS's error for it.

    A request signed before ``not_before`` (the server's start, to the second) is refused: it
    can only be one captured while another process held the port, replayed now.
    """
    header = environ.get("HTTP_AUTHORIZATION", "")
    if not header:
        raise Denied(403, "MissingAuthenticationToken", "Request is missing Authentication Token")
    match = AUTH_RE.fullmatch(header.strip())
    if not match:
        raise Denied(
            400,
            "IncompleteSignature",
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
        )
    headers = _headers(environ)
    secret = (
        secrets(match["key"], headers.get("x-amz-security-token")) if callable(secrets) else secrets.get(match["key"])
    )
    if secret is None:
        raise Denied(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    stamp = headers.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        raise Denied(
            400, "IncompleteSignature", "Date must be in ISO-8601 'basic format' in the X-Amz-Date header."
        ) from None
    if abs(now - signed_at) > MAX_SKEW_SECONDS or signed_at < int(not_before):
        raise Denied(
            403, "SignatureDoesNotMatch", f"Signature expired: {stamp} is now earlier or later than the allowed window."
        )
    signed = match["signed"].split(";")
    if "host" not in signed or any(name not in headers for name in signed):
        raise Denied(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    query = environ.get("QUERY_STRING", "")
    url = f"http://{headers['host']}{environ.get('PATH_INFO', '/')}" + (f"?{query}" if query else "")
    request = AWSRequest(method=environ["REQUEST_METHOD"], url=url, data=body, headers={n: headers[n] for n in signed})
    request.context["timestamp"] = stamp
    auth = SigV4Auth(Credentials(match["key"], secret), match["service"], match["region"])
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    if match["date"] != stamp[:8] or not hmac.compare_digest(expected, match["signature"]):
        raise Denied(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        )
    return Caller(match["key"], match["service"], match["region"])
