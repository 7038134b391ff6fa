"""Japanese messages for everything a learner can run into, without raw tracebacks."""

from __future__ import annotations

from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from .texts import errors as texts

AWS_ERRORS = (ClientError, BotoCoreError)


class HandsonError(Exception):
    """A problem the learner can fix; its message says what happened and what to do next."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code


@contextmanager
def aws_call(action: str):
    """Around one AWS call (e.g. ``iam:EnableMFADevice``): its boto3/botocore errors become the
    learner's Japanese HandsonError; handlers of expected codes go inside, before it."""
    try:
        yield
    except AWS_ERRORS as exc:
        raise explain(exc, action) from None


def require_passed(ok: bool, hint: str) -> None:
    """完了確認 cells prove the state: a failed check stops Run All with what to do next."""
    if not ok:
        raise HandsonError(texts.CHECK_FAILED.format(hint=hint), "CheckFailed")


def error_code(exc) -> str:
    """AWS's error code of a ClientError ('' for anything else)."""
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def explain(exc: Exception, action: str) -> HandsonError:
    """Turn a boto3/botocore error of ``action`` (e.g. ``iam:EnableMFADevice``) into a HandsonError.

    AWS's own message is never quoted: for EnableMFADevice it could echo what the learner typed.
    """
    if isinstance(exc, HandsonError):
        return exc
    if isinstance(exc, EndpointConnectionError):
        return _endpoint_down(action, exc)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return HandsonError(texts.NO_CREDENTIALS, "NoCredentials")
    if isinstance(exc, NoRegionError):
        return HandsonError(texts.NO_REGION, "NoRegion")
    if not isinstance(exc, ClientError):
        return HandsonError(texts.UNEXPECTED.format(action=action, kind=type(exc).__name__))
    code = error_code(exc)
    text = texts.BY_CODE.get(code, texts.FAILED).format(action=action, code=code)
    return HandsonError(text, code)


def _endpoint_down(action: str, exc: EndpointConnectionError) -> HandsonError:
    """The endpoint did not answer, even after botocore's retries (the sandbox is restarted by
    its clients' request hook, see sandbox.route, so this is rare there)."""
    if "127.0.0.1" in str(exc) or "localhost" in str(exc):
        return HandsonError(texts.SANDBOX_DOWN.format(action=action), "SandboxDown")
    return HandsonError(texts.ENDPOINT_DOWN.format(action=action), "EndpointConnectionError")


def install_notebook_handler() -> None:
    """Show HandsonError in a notebook as its Japanese message alone, without a traceback."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return

    def handler(shell, etype, value, tb, tb_offset=None):
        # IPython ignores what a custom handler returns when a cell raises: publish it here.
        stb = [f"✘ {getattr(value, 'message', None) or value}"]
        shell._showtraceback(etype, value, stb)
        return stb

    shell.set_custom_exc((HandsonError,), handler)  # the sandbox's SandboxError is one too
