"""Where the hands-on runs: the local sandbox (default) or real AWS (explicit opt-in only)."""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from . import lite, room, sandbox
from .display import SHOW, Reporter
from .errors import HandsonError, aws_call
from .rules import REGION
from .settings import Settings
from .shell import continued
from .texts import target as texts

# botocore's standard retry mode retries throttling and 5xx errors with backoff.
CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=5, read_timeout=30)


@dataclass(frozen=True)
class Context:
    """The clients of one notebook run, who they act as, and where its steps report."""

    target: str
    iam: Any
    sts: Any
    account_id: str
    caller_arn: str
    endpoint: str | None
    region: str = REGION
    participant: str = ""  # the raw workshop participant id, settled at connect()
    settings: Settings = field(default_factory=Settings)  # the environment's, read once at connect()
    report: Reporter = SHOW  # what the steps show goes here; Silent() keeps it instead
    room: bool = False  # the keys came from a JupyterHub room (room.py), read once at connect()

    def with_report(self, report: Reporter) -> Context:
        """The same clients, reporting elsewhere (e.g. a step whose output a widget replaces)."""
        return replace(self, report=report)

    @property
    def writable(self) -> bool:
        """The sandbox, or the real account the learner named in HANDSON_AWS_ACCOUNT_ID."""
        return self.target == "sandbox" or self.settings.allowed_account == self.account_id

    def require_write(self, action: str) -> None:
        """Refuse a change to a real account unless the learner named that account explicitly."""
        if not self.writable:
            raise HandsonError(texts.ACCOUNT_GUARD.format(account=self.account_id, action=action), "AccountGuard")


def target_name(settings: Settings) -> str:
    """HANDSON_TARGET, refused unless it names one of the two targets."""
    if settings.target_problem:
        raise HandsonError(settings.target_problem, "BadTarget")
    return settings.target


@functools.lru_cache(maxsize=8)
def _sandbox_session(route: Path | None) -> boto3.Session:
    """One session per sandbox for the whole process, since a new one parses botocore's endpoint and
    service models again (~60 ms a connect); the keys are given to each client instead."""
    # The learner's AWS_PROFILE must neither leak into nor break the sandbox's clients.
    isolated = botocore.session.Session(
        session_vars={"profile": (None, None, None, None), "config_file": (None, None, os.devnull, None)}
    )
    if lite.ACTIVE and route is not None:  # in the browser: answered by the sandbox in this kernel
        from .lite import sandbox as in_kernel

        isolated.register("before-send", in_kernel.answer)
    elif route is not None:  # every request goes to the sandbox that proved itself, wherever it listens now
        isolated.register("before-sign", sandbox.route(route))
    return boto3.Session(botocore_session=isolated, region_name=REGION)


_client_lock = threading.Lock()


def sandbox_client(service: str, endpoint: str | None, private: bool = True, **credentials):
    """A client for the sandbox that signs with the given keys (the administrator's, or an IAM user's);
    ``private``: this learner's own sandbox (HANDSON_SANDBOX=private), reached wherever it listens now."""
    session = _sandbox_session(sandbox.home() if private else None)
    with _client_lock:  # a boto3 session is not thread-safe, the clients it makes are
        return session.client(service, endpoint_url=endpoint, config=CLIENT_CONFIG, **credentials)


def _clients(settings: Settings, report: Reporter):
    """The IAM and STS clients for the target, its endpoint and region, and the room's keys if any."""
    if settings.target == "sandbox":
        keys = None
        private = settings.sandbox_mode == "private"
        if private and lite.ACTIVE:
            from .lite import sandbox as in_kernel

            endpoint, credentials = in_kernel.url(), in_kernel.credentials()
            if in_kernel.app().notice:
                report.message("warning", in_kernel.app().notice)
        elif private:
            box = sandbox.ensure_running()
            if box.notice:
                report.message("warning", box.notice)
            endpoint, credentials = box.url, box.credentials
        else:
            keys = room.credentials(settings)
            endpoint = room.url(settings)
            credentials = {"aws_access_key_id": keys["AccessKeyId"], "aws_secret_access_key": keys["SecretAccessKey"]}
        iam = sandbox_client("iam", endpoint, private, **credentials)
        return iam, sandbox_client("sts", endpoint, private, **credentials), endpoint, REGION, keys
    if settings.endpoint_override:
        raise HandsonError(texts.ENDPOINT_OVERRIDE, "EndpointOverride")
    session = boto3.Session()
    if not session.region_name:
        session = boto3.Session(region_name=REGION)
    return (
        session.client("iam", config=CLIENT_CONFIG),
        session.client("sts", config=CLIENT_CONFIG),
        None,
        session.region_name,
        None,
    )


def connect(reporter: Reporter | None = None, participant: str | None = None) -> Context:
    """Clients for the chosen target, after asking STS who we are; reports account and caller first.

    ``reporter`` is where the steps given this Context report; None shows them.
    ``participant`` defaults to HANDSON_PARTICIPANT / JUPYTERHUB_USER; in a JupyterHub room it is
    the hub user the room gave keys to, since those keys reach only that participant's names.
    The environment is read here, once (settings.Settings), and the Context carries it.
    """
    report = reporter if reporter is not None else SHOW
    settings = Settings.read()
    target = target_name(settings)
    iam, sts, endpoint, region, keys = _clients(settings, report)
    with aws_call("sts:GetCallerIdentity"):
        identity = sts.get_caller_identity()
    who = keys["Participant"] if keys else settings.participant_id if participant is None else participant
    ctx = Context(
        target,
        iam,
        sts,
        identity["Account"],
        identity["Arn"],
        endpoint,
        region,
        who,
        settings,
        report,
        room=keys is not None,
    )
    where = {"account": ctx.account_id, "caller": ctx.caller_arn, "region": ctx.region}
    if keys:
        role = texts.INSTRUCTOR if keys["Role"] == "instructor" else texts.PARTICIPANT.format(who=who)
        report.message("info", texts.ROOM.format(role=role, **where))
    elif target == "sandbox":
        report.message("info", texts.SANDBOX.format(**where))
        if lite.ACTIVE:  # what the browser edition cannot do, said where the learner starts
            report.message("info", texts.LITE)
    else:
        report.message("warning", texts.AWS.format(guard=texts.WRITABLE if ctx.writable else texts.READ_ONLY, **where))
    return ctx


def get_account_id(ctx: Context) -> str:
    """The 2.2 step `aws sts get-caller-identity --query 'Account' --output text`."""
    with aws_call("sts:GetCallerIdentity"):
        account = ctx.sts.get_caller_identity()["Account"]
    ctx.report.command(
        continued("AWS_ID=$(", "  aws sts get-caller-identity", "    --query 'Account'", "    --output text", ")")
        + " \\\n  && echo ${AWS_ID}",
        account,
    )
    return account
