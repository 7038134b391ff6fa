"""The IAM user's credentials as the kernel holds them (3.1's access key, 40's session), what may be
shown of them, and clients that sign with them.

The secret access key and the session token never appear in an output, a message or a saved
widget: what is shown of a key id is its prefix and last four characters.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime

import boto3

from .errors import AWS_ERRORS, error_code
from .target import CLIENT_CONFIG, Context, sandbox_client
from .texts import credentials as texts

KEY_ID_RE = re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{12}([A-Z0-9]{4})\b", re.ASCII)
# Real AWS: a new key and a new policy take a few seconds to be seen everywhere.
AWS_SETTLE_SECONDS = 30


def mask(key_id: str) -> str:
    """A key id as the kit shows it: prefix and last four characters (AKIA************WXYZ)."""
    return key_id[:4] + "*" * 12 + key_id[-4:] if len(key_id) == 20 else key_id[:4] + "…"


def mask_text(text: str) -> str:
    return KEY_ID_RE.sub(lambda m: m.group(1) + "*" * 12 + m.group(2), text)


@dataclass(frozen=True)
class Keys:
    """Credentials the kernel holds for the learner's IAM user; their repr shows no secret."""

    key_id: str
    secret: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None

    def __repr__(self) -> str:
        return (texts.SESSION if self.token else texts.ACCESS_KEY).format(key=mask(self.key_id))

    @property
    def boto(self) -> dict:
        return {"aws_access_key_id": self.key_id, "aws_secret_access_key": self.secret, "aws_session_token": self.token}


def client_for(ctx: Context, service: str, keys: Keys):
    """A client that signs with ``keys`` at the same target as ``ctx`` (the sandbox, or AWS)."""
    if ctx.target == "sandbox":
        return sandbox_client(service, ctx.endpoint, ctx.settings.sandbox_mode == "private", **keys.boto)
    return boto3.Session(region_name=ctx.region, **keys.boto).client(service, config=CLIENT_CONFIG)


def settled(ctx: Context, call, retry: tuple[str, ...]):
    """Real AWS only: retry codes a fresh key or policy gives for a few seconds, then give up."""
    deadline = time.monotonic() + (AWS_SETTLE_SECONDS if ctx.target == "aws" else 0)
    while True:
        try:
            return call()
        except AWS_ERRORS as exc:
            if error_code(exc) not in retry or time.monotonic() >= deadline:
                raise
            time.sleep(2)
