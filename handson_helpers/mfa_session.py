"""Section 40, the session: GetSessionToken with the user's access key and a code of the device.

The session credentials live only in the kernel's memory; what is shown of them is that their key
id starts with ASIA, and their expiry (credentials.py).
"""

from __future__ import annotations

from functools import partial

from . import code_time, credentials
from .credentials import Keys, mask_text
from .display import SHOW, Reporter
from .errors import AWS_ERRORS, HandsonError, aws_call, error_code, explain
from .mfa_policy import SESSION_VARS, as_keys
from .shell import continued, ref
from .target import Context
from .texts import mfa as mfa_texts
from .texts import mfa_protection as texts
from .texts.common import VARIABLES_CHECK, VARIABLES_SET
from .totp import normalize_code

WRONG_CODE = "000000"


def session_command(keys: Keys) -> str:
    fetch = as_keys(
        keys,
        "  aws sts get-session-token",
        "    --serial-number ${MFA_DEVICE_SERIAL}",
        "    --token-code ${MFA_TOKEN_CODE}",
        "    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken,Expiration]'",
        "    --output text",
        indent="  ",
    )
    read = f' \\\n  && read -r {" ".join(SESSION_VARS)} SESSION_EXPIRATION <<< "${{SESSION_CREDENTIALS}}"'
    return continued("SESSION_CREDENTIALS=$(", fetch, ")") + read + " \\\n  && echo ${SESSION_EXPIRATION}"


def _get_session(ctx: Context, keys: Keys, serial: str, code: str) -> Keys:
    client = credentials.client_for(ctx, "sts", keys)
    call = partial(client.get_session_token, SerialNumber=serial, TokenCode=code)
    creds = credentials.settled(ctx, call, ("InvalidClientTokenId",))["Credentials"]
    return Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"], creds["Expiration"])


def mfa_serial(ctx: Context, user_name: str) -> str:
    """The serial of the user's MFA device, from IAM (the device 22 enabled)."""
    with aws_call("iam:ListMFADevices"):
        devices = ctx.iam.list_mfa_devices(UserName=user_name)["MFADevices"]
    ctx.report.command(
        continued(
            "MFA_DEVICE_SERIAL=$(",
            "  aws iam list-mfa-devices",
            f"    --user-name {ref('IAM_USER_NAME', user_name)}",
            "    --query 'MFADevices[0].SerialNumber'",
            "    --output text",
            ")",
        )
        + " \\\n  && echo ${MFA_DEVICE_SERIAL}",
        devices[0]["SerialNumber"] if devices else "None",
    )
    if not devices:
        raise HandsonError(texts.NO_MFA.format(user=user_name), "NoMfa")
    return devices[0]["SerialNumber"]


def wrong_code_refused(ctx: Context, keys: Keys, serial: str) -> str:
    """GetSessionToken with a code that is not the device's: AWS refuses it (AccessDenied)."""
    ctx.report.command(f"MFA_TOKEN_CODE='{WRONG_CODE}'", label=VARIABLES_SET)
    try:
        _get_session(ctx, keys, serial, WRONG_CODE)
    except AWS_ERRORS as exc:
        code = error_code(exc)
        if code != "AccessDenied":
            raise explain(exc, "sts:GetSessionToken") from None
        message = mask_text(exc.response["Error"].get("Message", ""))
        error = f"An error occurred (AccessDenied) when calling the GetSessionToken operation: {message}"
        ctx.report.command(session_command(keys), error, refused=True)
        ctx.report.message("info", texts.WRONG_CODE_REFUSED)
        return code
    ctx.report.message("warning", texts.WRONG_CODE_ACCEPTED.format(code=WRONG_CODE))
    return ""


def validate_code(code: str | None) -> str:
    """The normalised 6-digit code, or a HandsonError saying what to fix; no AWS call is made."""
    text = normalize_code(code)
    if not text:
        raise HandsonError(texts.EMPTY_CODE, "EmptyCode")
    if not text.isascii() or not text.isdigit():
        raise HandsonError(texts.NOT_DIGITS, "NotDigits")
    if len(text) != 6:
        raise HandsonError(texts.WRONG_LENGTH.format(length=len(text)), "WrongLength")
    return text


def get_session_token(ctx: Context, keys: Keys, serial: str, code: str) -> Keys:
    """GetSessionToken with a code of the user's device; a Japanese HandsonError when refused."""
    try:
        return _get_session(ctx, keys, serial, validate_code(code))
    except AWS_ERRORS as exc:
        if error_code(exc) == "AccessDenied":
            message = code_time.explain_code(ctx, exc) or texts.INVALID_CODE + mfa_texts.OUT_OF_SYNC_HINT
            raise HandsonError(message, "InvalidMfaCode") from None
        if error_code(exc) == "Throttling":
            raise HandsonError(mfa_texts.THROTTLED, "Throttling") from None
        raise explain(exc, "sts:GetSessionToken") from None


def show_session(report: Reporter, session: Keys) -> None:
    """What may be shown of a session: that its key id starts with ASIA, and its expiry."""
    expires = session.expiration.isoformat() if session.expiration else texts.UNKNOWN
    report.message("success", texts.SESSION_GOT.format(prefix=session.key_id[:4], expires=expires))


def session_check_lines(serial: str) -> str:
    return (
        f'cat << END\n\n  # MFA_DEVICE_SERIAL:"{serial}"\n    MFA_DEVICE_SERIAL="${{MFA_DEVICE_SERIAL}}"\n'
        f'  # MFA_TOKEN_CODE:"{texts.CODE_PLACEHOLDER}"\n    MFA_TOKEN_CODE="${{MFA_TOKEN_CODE}}"\n\nEND'
    )


def show_session_step(keys: Keys, serial: str) -> None:
    """Before the form: the code's 変数の設定 (a placeholder), the page-style 変数の確認 and the
    command the form runs."""
    SHOW.command(f"MFA_TOKEN_CODE='{texts.CODE_PLACEHOLDER}'", label=VARIABLES_SET)
    SHOW.command(
        session_check_lines(serial),
        f'  # MFA_DEVICE_SERIAL:"{serial}"\n    MFA_DEVICE_SERIAL="{serial}"\n'
        f'  # MFA_TOKEN_CODE:"{texts.CODE_PLACEHOLDER}"\n    MFA_TOKEN_CODE="{texts.CODE_IN_FORM}"',
        label=VARIABLES_CHECK,
    )
    SHOW.command(session_command(keys))
