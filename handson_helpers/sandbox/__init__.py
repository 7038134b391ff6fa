"""The kit's local IAM/STS sandbox: ``python -m handson_helpers.sandbox start|stop|status|env|reset``."""
from .control import (
    ACCOUNT_ID,
    Sandbox,
    SandboxError,
    client_env,
    ensure_running,
    info,
    inject_fault,
    reset,
    running,
    start,
    stop,
)

__all__ = [
    "ACCOUNT_ID",
    "Sandbox",
    "SandboxError",
    "client_env",
    "ensure_running",
    "info",
    "inject_fault",
    "reset",
    "running",
    "start",
    "stop",
]
