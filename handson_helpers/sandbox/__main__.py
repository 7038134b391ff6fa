"""Command line: python -m handson_helpers.sandbox start|stop|status|env|reset|room."""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import datetime

from ..errors import HandsonError
from . import control
from .paths import home, store_path


def _describe(sandbox: control.Sandbox, details: dict) -> str:
    since = datetime.fromtimestamp(sandbox.started_at).isoformat(timespec="seconds")
    lines = [
        f"sandbox: running at {sandbox.url} (pid {sandbox.pid}, since {since})",
        f"state:   {store_path(home())}",
        f"users:   {len(details['users'])}" + "".join(f"\n  - {u}" for u in details["users"]),
        f"devices: {len(details['devices'])}" + "".join(f"\n  - {d['serial']} ({'assigned to ' + d['user'] if d['user'] else 'unassigned'})" for d in details["devices"]),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m handson_helpers.sandbox", description="Control the kit's local IAM/STS sandbox.")
    parser.add_argument("command", choices=["start", "stop", "status", "env", "reset", "room"], help="room: serve a JupyterHub room (run by the hub as a service)")
    args = parser.parse_args(argv)
    try:
        if args.command == "room":
            from .server import serve_room

            return serve_room(home())
        if args.command == "start":
            sandbox = control.start()
            word = "already running" if sandbox.already_running else "started"
            print(f"sandbox {word} at {sandbox.url} (pid {sandbox.pid})")
            if sandbox.notice:
                print(sandbox.notice, file=sys.stderr)
        elif args.command == "stop":
            print("sandbox stopped" if control.stop() else "sandbox was not running")
        elif args.command == "status":
            found = control.running()
            details = control.info(found) if found else None
            if not found or not details:
                print(f"sandbox: not running (start it with: python -m handson_helpers.sandbox start)\nstate:   {store_path(home())}")
                return 1
            print(_describe(found, details))
        elif args.command == "env":
            sandbox = control.ensure_running()
            print("unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_IAM AWS_ENDPOINT_URL_STS")
            for key, value in control.client_env(sandbox).items():
                print(f"export {key}={shlex.quote(value)}")
        elif args.command == "reset":
            sandbox = control.reset()
            print(f"sandbox at {sandbox.url} is now empty")
    except (control.SandboxError, HandsonError) as exc:
        print(getattr(exc, "message", None) or exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
