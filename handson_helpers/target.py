"""Where the hands-on runs: the local sandbox (default) or real AWS (explicit opt-in only)."""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from . import room, sandbox
from .display import SHOW, Reporter
from .errors import HandsonError, aws_call
from .rules import REGION
from .settings import participant_id, sandbox_mode
from .shell import continued

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
    participant: str = ""  # the raw workshop participant id, read once at connect()
    allowed_account: str = ""  # HANDSON_AWS_ACCOUNT_ID, read once at connect()
    report: Reporter = SHOW  # what the steps show goes here; Silent() keeps it instead
    room: bool = False  # the keys came from a JupyterHub room (room.py), read once at connect()

    def with_report(self, report: Reporter) -> Context:
        """The same clients, reporting elsewhere (e.g. a step whose output a widget replaces)."""
        return replace(self, report=report)

    @property
    def writable(self) -> bool:
        """The sandbox, or the real account the learner named in HANDSON_AWS_ACCOUNT_ID."""
        return self.target == "sandbox" or self.allowed_account == self.account_id

    def require_write(self, action: str) -> None:
        """Refuse a change to a real account unless the learner named that account explicitly."""
        if not self.writable:
            raise HandsonError(
                f"実AWSアカウント {self.account_id} への変更 ({action}) を止めました。"
                "このアカウントで実行してよい場合は、HANDSON_AWS_ACCOUNT_ID にこのアカウントIDを設定して"
                "JupyterLabを起動し直してください。何も変更していません。",
                "AccountGuard",
            )


def target_name() -> str:
    name = (os.environ.get("HANDSON_TARGET") or "sandbox").strip().lower()
    if name not in ("sandbox", "aws"):
        raise HandsonError(f"HANDSON_TARGET は sandbox か aws を指定してください(現在: {name})。", "BadTarget")
    return name


@functools.lru_cache(maxsize=8)
def _sandbox_session(route: Path | None) -> boto3.Session:
    """One session per sandbox for the whole process, since a new one parses botocore's endpoint and
    service models again (~60 ms a connect); the keys are given to each client instead."""
    # The learner's AWS_PROFILE must neither leak into nor break the sandbox's clients.
    isolated = botocore.session.Session(session_vars={"profile": (None, None, None, None), "config_file": (None, None, os.devnull, None)})
    if route is not None:  # every request goes to the sandbox that proved itself, wherever it listens now
        isolated.register("before-sign", sandbox.route(route))
    return boto3.Session(botocore_session=isolated, region_name=REGION)


_client_lock = threading.Lock()


def sandbox_client(service: str, endpoint: str | None, **credentials):
    """A client for the sandbox that signs with the given keys (the administrator's, or an IAM user's)."""
    session = _sandbox_session(sandbox.home() if sandbox_mode() == "private" else None)
    with _client_lock:  # a boto3 session is not thread-safe, the clients it makes are
        return session.client(service, endpoint_url=endpoint, config=CLIENT_CONFIG, **credentials)


def _clients(target: str, report: Reporter):
    """The IAM and STS clients for the target, its endpoint and region, and the room's keys if any."""
    if target == "sandbox":
        keys = None
        if sandbox_mode() == "room":
            keys = room.credentials()
            endpoint = room.url()
            credentials = {"aws_access_key_id": keys["AccessKeyId"], "aws_secret_access_key": keys["SecretAccessKey"]}
        else:
            box = sandbox.ensure_running()
            if box.notice:
                report.message("warning", box.notice)
            endpoint, credentials = box.url, box.credentials
        return sandbox_client("iam", endpoint, **credentials), sandbox_client("sts", endpoint, **credentials), endpoint, REGION, keys
    if os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_IAM") or os.environ.get("AWS_ENDPOINT_URL_STS"):
        raise HandsonError(
            "HANDSON_TARGET=aws なのに AWS_ENDPOINT_URL(_IAM/_STS) が設定されています。サンドボックス用の環境変数を外し(unset AWS_ENDPOINT_URL)、JupyterLabを起動し直してください。",
            "EndpointOverride",
        )
    session = boto3.Session()
    if not session.region_name:
        session = boto3.Session(region_name=REGION)
    return session.client("iam", config=CLIENT_CONFIG), session.client("sts", config=CLIENT_CONFIG), None, session.region_name, None


def connect(reporter: Reporter | None = None, participant: str | None = None) -> Context:
    """Clients for the chosen target, after asking STS who we are; reports account and caller first.

    ``reporter`` is where the steps given this Context report; None shows them.
    ``participant`` defaults to HANDSON_PARTICIPANT / JUPYTERHUB_USER; in a JupyterHub room it is
    the hub user the room gave keys to, since those keys reach only that participant's names.
    """
    report = reporter if reporter is not None else SHOW
    target = target_name()
    iam, sts, endpoint, region, keys = _clients(target, report)
    with aws_call("sts:GetCallerIdentity"):
        identity = sts.get_caller_identity()
    who = keys["Participant"] if keys else participant_id() if participant is None else participant
    allowed = os.environ.get("HANDSON_AWS_ACCOUNT_ID", "").strip()
    ctx = Context(target, iam, sts, identity["Account"], identity["Arn"], endpoint, region, who, allowed, report, room=keys is not None)
    if keys:
        role = "講師 (ルーム全体を操作できます)" if keys["Role"] == "instructor" else f"参加者 {who} (自分のユーザーとMFAデバイスだけを操作できます)"
        report.message(
            "info",
            f"接続先: ワークショップのルーム用サンドボックス (オフライン、実AWSには接続しません) / {role} / アカウント: {ctx.account_id} / 呼び出し元: {ctx.caller_arn} / リージョン: {ctx.region}",
        )
    elif target == "sandbox":
        report.message(
            "info",
            f"接続先: ローカルサンドボックス (オフライン、実AWSには接続しません) / アカウント: {ctx.account_id} / 呼び出し元: {ctx.caller_arn} / リージョン: {ctx.region}",
        )
    else:
        guard = "変更可 (HANDSON_AWS_ACCOUNT_ID と一致)" if ctx.writable else "参照のみ (変更するには HANDSON_AWS_ACCOUNT_ID にこのアカウントIDを設定)"
        report.message("warning", f"接続先: 実AWS / アカウント: {ctx.account_id} / 呼び出し元: {ctx.caller_arn} / リージョン: {ctx.region} / {guard}")
    return ctx


def get_account_id(ctx: Context) -> str:
    """The 2.2 step `aws sts get-caller-identity --query 'Account' --output text`."""
    with aws_call("sts:GetCallerIdentity"):
        account = ctx.sts.get_caller_identity()["Account"]
    ctx.report.command(
        continued("AWS_ID=$(", "  aws sts get-caller-identity", "    --query 'Account'", "    --output text", ")") + " \\\n  && echo ${AWS_ID}",
        account,
    )
    return account
