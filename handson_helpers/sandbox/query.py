"""A query API request as AWS checks it before anything acts on it, and AWS's error answer.

The body is refused before it is read when too large or encoded; parameters come from a form
body or a query string, never both, each name once; the action must be one the service has and
its parameters must pass rules.py's validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from .. import rules
from .connections import BODY_READ, XMLNS, error_xml

MAX_BODY = 64 * 1024  # IAM's largest document (a policy) is 10 KB
FORM = "application/x-www-form-urlencoded"
REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}


def error_parts(status: int, code: str, message: str, service: str = "iam") -> tuple[str, list, bytes]:
    return f"{status} {REASONS.get(status, 'Error')}", [("Content-Type", "text/xml")], error_xml(code, message, service)


@dataclass
class Refused(Exception):
    """A request answered with AWS's error before it reaches the emulator."""

    status: int
    code: str
    message: str
    service: str = "iam"
    action: str = ""  # set once the action is known (for the room's live view)


def _params(environ, body: bytes) -> dict[str, str]:
    """The query API's parameters: a form body, or a query string, never both, each name once."""
    query = environ.get("QUERY_STRING", "")
    if body and environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != FORM:
        raise ValueError(f"The sandbox takes the query protocol only (Content-Type: {FORM}).")
    if body and query:
        raise ValueError("Parameters must be sent in the body or in the query string, not both.")
    try:
        pairs = parse_qsl((body.decode("utf-8") if body else query), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise ValueError("The request body is not UTF-8.") from None
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise ValueError(f"Parameter {key} is given more than once.")
        params[key] = value
    return params


def body_of(environ) -> bytes:
    """The request's body, refused before reading when it is too large or encoded."""
    try:
        size = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refused(400, "MalformedInput", "Invalid Content-Length.") from None
    if size > MAX_BODY or size < 0:  # checked before reading: nobody can make the sandbox hold a huge body
        raise Refused(413, "RequestEntityTooLarge", f"Request bodies are limited to {MAX_BODY} bytes.")
    if environ.get("HTTP_CONTENT_ENCODING", "identity").lower() not in ("", "identity"):
        raise Refused(400, "MalformedInput", "Content-Encoding is not supported.")
    body = environ["wsgi.input"].read(size) if size else b""
    if len(body) == size and "HTTP_TRANSFER_ENCODING" not in environ:
        environ[BODY_READ] = True  # the connection may serve another request (connections.Handler)
    return body


def checked(service: str, environ, body: bytes) -> tuple[str, dict[str, str]]:
    """The action and its parameters, validated as AWS does before anything acts on them."""
    if service not in XMLNS:
        raise Refused(400, "InvalidAction", f"The sandbox serves IAM and STS only, not {service}.")
    try:
        params = _params(environ, body)
    except ValueError as exc:
        raise Refused(400, "MalformedInput", str(exc), service) from None
    action = params.get("Action", "")
    if action not in rules.operations(service):
        message = f"Could not find operation {action} for version {params.get('Version', '')}"
        raise Refused(400, "InvalidAction", message, service)
    violations = rules.validate(service, action, params)
    if violations:
        raise Refused(400, "ValidationError", rules.summary(violations), service, action)
    return action, params
