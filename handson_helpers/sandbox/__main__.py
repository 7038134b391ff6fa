"""Command line: python -m handson_helpers.sandbox start|stop|status|env|reset|room."""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import datetime

from ..errors import HandsonError
from . import control, texts
from .paths import home, store_path


def _describe(sandbox: control.Sandbox, details: dict) -> str:
    since = datetime.fromtimestamp(sandbox.started_at).isoformat(timespec="seconds")
    lines = [
        texts.RUNNING.format(url=sandbox.url, pid=sandbox.pid, since=since),
        texts.STATE.format(state=store_path(home())),
        texts.USERS.format(count=len(details["users"])),
        *(f"  - {u}" for u in details["users"]),
        texts.DEVICES.format(count=len(details["devices"])),
    ]
    for d in details["devices"]:
        lines.append(f"  - {d['serial']} ({texts.ASSIGNED.format(user=d['user']) if d['user'] else texts.UNASSIGNED})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handson_helpers.sandbox", description="Control the kit's local IAM/STS sandbox."
    )
    parser.add_argument(
        "command",
        choices=["start", "stop", "status", "env", "reset", "room"],
        help="room: serve a JupyterHub room (run by the hub as a service)",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "room":
            from .server import serve_room

            return serve_room(home())
        if args.command == "start":
            sandbox = control.start()
            word = texts.ALREADY_RUNNING if sandbox.already_running else texts.JUST_STARTED
            print(texts.STARTED.format(word=word, url=sandbox.url, pid=sandbox.pid))
            if sandbox.notice:
                print(sandbox.notice, file=sys.stderr)
        elif args.command == "stop":
            print(texts.STOPPED if control.stop() else texts.WAS_NOT_RUNNING)
        elif args.command == "status":
            found = control.running()
            details = control.info(found) if found else None
            if not found or not details:
                print(texts.NOT_RUNNING + "\n" + texts.STATE.format(state=store_path(home())))
                return 1
            print(_describe(found, details))
        elif args.command == "env":
            sandbox = control.ensure_running()
            print("unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_IAM AWS_ENDPOINT_URL_STS")
            for key, value in control.client_env(sandbox).items():
                print(f"export {key}={shlex.quote(value)}")
        elif args.command == "reset":
            sandbox = control.reset()
            print(texts.EMPTIED.format(url=sandbox.url))
    except (control.SandboxError, HandsonError) as exc:
        print(getattr(exc, "message", None) or exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
