"""Helpers for the IAM MFA hands-on notebooks: one function per step of the hands-on.

Pass a Context from connect() into each step; nothing creates AWS clients at import time.
Steps report through the Context's reporter: connect(hh.Silent()) keeps their reports unshown.
"""

import importlib

from . import lite

lite.settle()  # in the browser edition: HOME on the kernel's drive, before any setting is read

# Loaded on first use, so that the sandbox server, the workshop CLI and what a pasted script runs
# (handson_helpers.totp) do not import boto3's sessions and the widgets they never use.
_STEPS = {
    "access_key": ("create_access_key", "key_console_view", "recreate_access_key", "verify_access_key"),
    "mfa_policy": (
        "caller_arn",
        "policy_console_view",
        "protected_read",
        "put_mfa_policy",
        "user_keys",
        "verify_mfa_protection",
    ),
    "mfa_session": ("mfa_serial", "show_session_step", "wrong_code_refused"),
    "backup": (
        "as_user",
        "create_backup_device",
        "create_refused_without_mfa",
        "put_manage_mfa_policy",
        "show_backup_enable_check",
        "verify_backup_device",
    ),
    "cleanup": ("plan_cleanup", "run_cleanup", "verify_cleanup"),
    "display": ("Reporter", "Silent"),
    "errors": ("HandsonError",),
    "mfa": (
        "console_view",
        "create_virtual_mfa_device",
        "enable_mfa_device",
        "find_device_serial",
        "recreate_virtual_mfa_device",
        "resync_mfa_device",
        "show_enable_check",
        "show_resync_check",
        "verify_device_created",
        "verify_mfa_enabled",
    ),
    "notebook": ("check_settings", "set_variables", "setup", "verify_environment"),
    "progress": ("show_progress",),
    "room_live": ("watch_room",),
    "session_form": ("session_with_form", "verify_resynced"),
    "settings": ("access_key_file", "expected", "mfa_outfile", "scoped"),
    "target": ("Context", "connect", "get_account_id"),
    "users": ("create_user", "verify_user"),
    "widget": ("enable_with_form", "resync_with_form"),
}
_NAMES = {name: (module, name) for module, names in _STEPS.items() for name in names}
_NAMES.update(
    workshop_status=("workshop", "show_status"),
    workshop_verify_all_enabled=("workshop", "verify_all_enabled"),
)
__all__ = sorted(_NAMES)


# Modules reached as attributes, as `hh.target` was when this file imported every step.
_MODULES = {*_STEPS, "access_cleanup", "credentials", "room", "rules", "sandbox", "shell", "totp", "workshop"}


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
