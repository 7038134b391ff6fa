"""The kit's local IAM/STS sandbox: ``python -m handson_helpers.sandbox start|stop|status|env|reset``."""

from .control import (
    ACCOUNT_ID,
    Sandbox,
    SandboxError,
    client_env,
    current,
    ensure_running,
    info,
    reset,
    route,
    running,
    start,
    stop,
)
from .paths import home

__all__ = [
    "ACCOUNT_ID",
    "Sandbox",
    "SandboxError",
    "client_env",
    "current",
    "ensure_running",
    "info",
    "reset",
    "route",
    "running",
    "start",
    "home",
    "stop",
]
