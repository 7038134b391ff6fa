"""Helpers for the IAM MFA hands-on notebooks: one function per step of the hands-on.

Pass a Context from connect() into each step; nothing creates AWS clients at import time.
Steps report through the Context's reporter: connect(hh.Silent()) keeps their reports unshown.
"""

import importlib

# Loaded on first use, so that the sandbox server, the workshop CLI and what a pasted script runs
# (handson_helpers.totp) do not import boto3's sessions and the widgets they never use.
_NAMES = {
    "caller_arn": ("access", "caller_arn"),
    "create_access_key": ("access", "create_access_key"),
    "key_console_view": ("access", "key_console_view"),
    "mfa_serial": ("access", "mfa_serial"),
    "policy_console_view": ("access", "policy_console_view"),
    "protected_read": ("access", "protected_read"),
    "put_mfa_policy": ("access", "put_mfa_policy"),
    "recreate_access_key": ("access", "recreate_access_key"),
    "show_session_step": ("access", "show_session_step"),
    "user_keys": ("access", "user_keys"),
    "verify_access_key": ("access", "verify_access_key"),
    "verify_mfa_protection": ("access", "verify_mfa_protection"),
    "wrong_code_refused": ("access", "wrong_code_refused"),
    "plan_cleanup": ("cleanup", "plan_cleanup"),
    "run_cleanup": ("cleanup", "run_cleanup"),
    "verify_cleanup": ("cleanup", "verify_cleanup"),
    "Reporter": ("display", "Reporter"),
    "Silent": ("display", "Silent"),
    "HandsonError": ("errors", "HandsonError"),
    "console_view": ("mfa", "console_view"),
    "create_virtual_mfa_device": ("mfa", "create_virtual_mfa_device"),
    "enable_mfa_device": ("mfa", "enable_mfa_device"),
    "find_device_serial": ("mfa", "find_device_serial"),
    "recreate_virtual_mfa_device": ("mfa", "recreate_virtual_mfa_device"),
    "resync_mfa_device": ("mfa", "resync_mfa_device"),
    "show_enable_check": ("mfa", "show_enable_check"),
    "verify_device_created": ("mfa", "verify_device_created"),
    "verify_mfa_enabled": ("mfa", "verify_mfa_enabled"),
    "check_settings": ("notebook", "check_settings"),
    "setup": ("notebook", "setup"),
    "verify_environment": ("notebook", "verify_environment"),
    "show_progress": ("progress", "show_progress"),
    "session_with_form": ("session_form", "session_with_form"),
    "access_key_file": ("settings", "access_key_file"),
    "expected": ("settings", "expected"),
    "mfa_outfile": ("settings", "mfa_outfile"),
    "scoped": ("settings", "scoped"),
    "Context": ("target", "Context"),
    "connect": ("target", "connect"),
    "get_account_id": ("target", "get_account_id"),
    "create_user": ("users", "create_user"),
    "verify_user": ("users", "verify_user"),
    "enable_with_form": ("widget", "enable_with_form"),
    "workshop_status": ("workshop", "show_status"),
    "workshop_verify_all_enabled": ("workshop", "verify_all_enabled"),
}
__all__ = sorted(_NAMES)


# Modules reached as attributes, as `hh.target` was when this file imported every step.
_MODULES = {module for module, _ in _NAMES.values()} | {"room", "rules", "sandbox", "shell", "totp"}


def __getattr__(name: str):
    """A public name from its module, or one of the kit's modules (``hh.settings``)."""
    if name in _NAMES:
        module, attribute = _NAMES[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attribute)
        globals()[name] = value
        return value
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
