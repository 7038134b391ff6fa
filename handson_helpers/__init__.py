"""Helpers for the IAM MFA hands-on notebooks: one function per step of the hands-on.

Pass a Context from connect() into each step; nothing creates AWS clients at import time.
Steps report through the Context's reporter: connect(hh.Silent()) keeps their reports unshown.
"""

from .access import (
    caller_arn,
    create_access_key,
    key_console_view,
    mfa_serial,
    policy_console_view,
    protected_read,
    put_mfa_policy,
    recreate_access_key,
    show_session_step,
    user_keys,
    verify_access_key,
    verify_mfa_protection,
    wrong_code_refused,
)
from .cleanup import plan_cleanup, run_cleanup, verify_cleanup
from .display import Reporter, Silent
from .errors import HandsonError
from .mfa import (
    console_view,
    create_virtual_mfa_device,
    enable_mfa_device,
    find_device_serial,
    recreate_virtual_mfa_device,
    resync_mfa_device,
    show_enable_check,
    verify_device_created,
    verify_mfa_enabled,
)
from .notebook import check_settings, setup, verify_environment
from .progress import show_progress
from .session_form import session_with_form
from .settings import access_key_file, expected, mfa_outfile, scoped
from .target import Context, connect, get_account_id
from .users import create_user, verify_user
from .widget import enable_with_form
from .workshop import show_status as workshop_status
from .workshop import verify_all_enabled as workshop_verify_all_enabled

__all__ = [
    "access_key_file",
    "caller_arn",
    "create_access_key",
    "key_console_view",
    "mfa_serial",
    "policy_console_view",
    "protected_read",
    "put_mfa_policy",
    "recreate_access_key",
    "session_with_form",
    "show_session_step",
    "user_keys",
    "verify_access_key",
    "verify_mfa_protection",
    "wrong_code_refused",
    "Context",
    "HandsonError",
    "Reporter",
    "Silent",
    "check_settings",
    "connect",
    "console_view",
    "create_user",
    "create_virtual_mfa_device",
    "enable_mfa_device",
    "enable_with_form",
    "expected",
    "find_device_serial",
    "get_account_id",
    "mfa_outfile",
    "plan_cleanup",
    "recreate_virtual_mfa_device",
    "resync_mfa_device",
    "run_cleanup",
    "scoped",
    "setup",
    "show_enable_check",
    "show_progress",
    "verify_cleanup",
    "verify_device_created",
    "verify_mfa_enabled",
    "verify_environment",
    "verify_user",
    "workshop_status",
    "workshop_verify_all_enabled",
]
