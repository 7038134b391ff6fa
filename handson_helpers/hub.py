"""A JupyterHub workshop room on one machine (``make hub``); its test's driver is tests/support/hub_driver.py.

``python -m handson_helpers.hub setup``   (root) a venv every user can read, built from /usr/bin/python3
                                          with JupyterHub and the kit (not editable), and the proxy from npm
``python -m handson_helpers.hub serve``   (root) JupyterHub on 127.0.0.1 with the room sandbox as its service
``python -m handson_helpers.hub remove-users``  (root) delete the Unix users the hub created

The room service, its role and the servers' environment are defined once (``room_service``,
``ROOM_ROLE``, ``spawner_environment``): ``jupyterhub_config.py`` uses them and the README shows them.
Participants are real Unix users (LocalProcessSpawner), created on first start, home 0700; a name
that is already a Unix user the hub did not create (root, daemon, ...) is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The system's Python: every user can run it (root's own Python may live in a 0700 home).
SYSTEM_PYTHON = "/usr/bin/python3"
HUB_DIR = Path(os.environ.get("HANDSON_HUB_DIR") or "/opt/handson-hub")
ROOM_SERVICE = "handson-room"
ROOM_ROLE = {"name": ROOM_SERVICE, "scopes": ["read:users"], "services": [ROOM_SERVICE]}
# Unix names the hub may create: lower-case ASCII, and never one that exists already (see ensure_unix_user).
USERNAME_PATTERN = r"[a-z][a-z0-9]{1,30}"
NAME_MAX = 31
INSTRUCTOR = os.environ.get("HANDSON_HUB_INSTRUCTOR") or "instructor"  # the hub admin
# The room listens below 1024, where only root can bind: no participant can hold its port while the
# hub restarts it. Single-user servers get ports from SERVER_PORTS, below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range, 32768-60999 by default), handed out by the hub one at a time.
DEFAULT_PORTS = {"hub": 8000, "api": 8081, "proxy_api": 8001, "room": 1010}
SERVER_PORTS = range(12000, 20000)
# The hub's configuration (the copy setup() installs is the same file)
CONFIG = Path(__file__).with_name("jupyterhub_config.py")


def room_service(python: str, home: str, url: str) -> dict:
    """The room sandbox as a managed JupyterHub service: started, watched and stopped by the hub."""
    return {
        "name": ROOM_SERVICE,
        "url": url,
        "command": [python, "-m", "handson_helpers.sandbox", "room"],
        "environment": {"HANDSON_HOME": home},
    }


# Kernels talk to their server over IPC files in the participant's 0700 home instead of TCP ports:
# no two servers starting together can pick the same port, and no other local user can subscribe
# to a kernel's output (the QR image, the typed codes' widget messages).
SPAWNER_ARGS = ["--KernelManager.transport=ipc"]


def spawner_environment(url: str, room_uid: int = 0) -> dict:
    """What every participant's server needs to find the room, and whose the room's socket must be."""
    return {
        "HANDSON_SANDBOX": "room",
        "HANDSON_ROOM_URL": url,
        "HANDSON_ROOM_UID": str(room_uid),
        "HANDSON_TARGET": "sandbox",
    }


# ----- set-up (root) -----


def _run(*args: str, **kwargs) -> None:
    subprocess.run(args, check=True, **kwargs)


def _learner_requirements() -> str:
    """requirements.txt with the kit's own dependencies and its ``hub`` extra (pyproject.toml) in place of
    ``-e .``: the hub's users get the kit installed, not linked to this tree."""
    import tomllib  # setup and make lock run on the venv's Python (3.11 and later)

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = [
        line
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-e"))
    ]
    return "\n".join([*project["dependencies"], *project["optional-dependencies"]["hub"], *lines]) + "\n"


def _kit_digest() -> str:
    digest = hashlib.sha256(_learner_requirements().encode())
    for path in sorted(
        [REPO / "pyproject.toml", *(REPO / "handson_helpers").rglob("*.py"), *(REPO / "notebooks").glob("*.ipynb")]
    ):
        digest.update(path.relative_to(REPO).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def setup(base: Path = HUB_DIR) -> None:
    """The venv (from SYSTEM_PYTHON, which every user can run), the kit, the proxy."""
    base.mkdir(mode=0o755, parents=True, exist_ok=True)
    venv, stamp = base / "venv", base / "venv" / ".handson-kit"
    # The exact versions make lock wrote from _learner_requirements() (without the Makefile's UNUSED)
    requirements = (REPO / "locks" / "hub.txt").read_text()
    req_stamp = venv / ".handson-requirements"
    if not req_stamp.exists() or req_stamp.read_text() != requirements:
        shutil.rmtree(
            venv, ignore_errors=True
        )  # a new venv: installing over the old one would keep what the lock dropped
        _run(SYSTEM_PYTHON, "-m", "venv", str(venv))
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as req:
            req.write(requirements)
            req.flush()
            _run(str(venv / "bin" / "pip"), "install", "--quiet", "--no-deps", "--require-hashes", "-r", req.name)
        req_stamp.write_text(requirements)
    digest = _kit_digest()
    if not stamp.exists() or stamp.read_text() != digest:
        with tempfile.TemporaryDirectory() as tmp:  # a copy: building in place would write into the source tree
            shutil.copytree(
                REPO / "handson_helpers", Path(tmp) / "handson_helpers", ignore=shutil.ignore_patterns("__pycache__")
            )
            shutil.copy2(REPO / "pyproject.toml", tmp)
            _run(str(venv / "bin" / "pip"), "install", "--quiet", "--no-deps", "--force-reinstall", tmp)
        notebooks = base / "notebooks"
        shutil.rmtree(notebooks, ignore_errors=True)
        shutil.copytree(REPO / "notebooks", notebooks, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        stamp.write_text(digest)
    proxy = base / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
    if not proxy.exists():
        if not shutil.which("npm"):
            raise SystemExit(
                "npm is missing: apt-get install nodejs npm (the hub's proxy is configurable-http-proxy from npm)"
            )
        _run(
            "npm",
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(base / "proxy"),
            "configurable-http-proxy@5",
        )
    for path in (base, venv, base / "notebooks", base / "proxy"):
        path.chmod(0o755)


# ----- ports -----


def free_port(candidates: range, taken: set[int] = frozenset()) -> int:  # type: ignore[assignment]
    """A port of ``candidates`` that nothing listens on and ``taken`` does not hold.

    Picking port 0 and releasing it races: two servers starting together get the same port (the kernel
    hands ephemeral ports to everyone). Ports outside the ephemeral range are handed out only here.
    """
    start = secrets.randbelow(len(candidates))
    for offset in range(len(candidates)):
        port = candidates[(start + offset) % len(candidates)]
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise OSError(f"no free port in {candidates.start}-{candidates.stop - 1}")


class ServerPorts:
    """Ports for the single-user servers, one at a time in the hub's process (pre_spawn_hook)."""

    def __init__(self, candidates: range = SERVER_PORTS):
        self.candidates = candidates
        self.given: dict[str, int] = {}

    def assign(self, spawner) -> None:
        self.given.pop(spawner.user.name, None)  # a restart gets a port free now, not the old one
        spawner.port = self.given[spawner.user.name] = free_port(self.candidates, set(self.given.values()))


# ----- the participants' Unix users -----


def _created_file(state: Path) -> Path:
    return state / "unix-users"


_USERS = threading.Lock()  # the hub adds and removes accounts from threads (hub_classes.py)


def created_users(state: Path) -> list[str]:
    path = _created_file(state)
    return path.read_text().split() if path.exists() else []


def may_log_in(name: str, state: Path) -> bool:
    """A hub name that is (or will be) a Unix account of the hub's own, never root's or a daemon's."""
    if not re.fullmatch(USERNAME_PATTERN, name, re.ASCII):
        return False
    try:
        pwd.getpwnam(name)
    except KeyError:
        return True
    return name in created_users(state)


def ensure_unix_user(name: str, state: Path, notebooks: Path) -> None:
    """The Unix user for a hub user: made by the hub (home 0700), or refused. What goes into the
    home is done by the participant's own uid (``_as_participant``): root never acts on a path the
    participant can change (a link swapped in while root copied and chowned was root for them)."""
    if not may_log_in(name, state):
        raise ValueError(
            f"{name!r} is not a name this hub gives a Unix account, or an account it did not create; pick another name"
        )
    try:
        user = pwd.getpwnam(name)  # may_log_in: then it is one the hub made
    except KeyError:
        if os.path.lexists(
            _home_of_a_new_user(name)
        ):  # useradd would hand an old home (files and all) to the new account
            raise ValueError(
                f"{name!r}: a home of that name is still there; remove it before the name is given out again"
            ) from None
        with _USERS:
            uid = _next_uid(state)
            _run(
                "useradd",
                "--create-home",
                "--key",
                "HOME_MODE=0700",
                "--uid",
                str(uid),
                "--user-group",
                "--shell",
                "/bin/bash",
                "--comment",
                "handson hub participant",
                name,
            )
            if name not in created_users(state):
                with open(_created_file(state), "a") as f:
                    f.write(name + "\n")
        user = pwd.getpwnam(name)
    _as_participant(user, _FILL_HOME, str(notebooks))


# Run as the participant: the home stays theirs alone (the QR file, the kernels' IPC files), and the
# notebooks are copied in once; whatever they did to their home can only touch their own files.
_FILL_HOME = """
import os, shutil, sys
home = os.path.expanduser("~")
os.chmod(home, 0o700)
target = os.path.join(home, "handson")
if not os.path.lexists(target):
    shutil.copytree(sys.argv[1], target, symlinks=True)
"""


def _as_participant(user: pwd.struct_passwd, code: str, *args: str) -> None:
    """``code`` in a child that is the participant (uid, gid, no other groups), isolated from the
    participant's Python settings, with a minimal environment."""
    env = {
        "HOME": user.pw_dir,
        "USER": user.pw_name,
        "LOGNAME": user.pw_name,
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
    }
    subprocess.run(
        [SYSTEM_PYTHON, "-I", "-c", code, *args],
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        env=env,
        cwd="/",
        check=True,
        timeout=30,
        umask=0o077,
    )


def remove_users(state: Path, names: list[str] | None = None) -> list[str]:
    """Delete the Unix users (and homes) the hub created; any other name is left alone. A name stays
    on the hub's list until its account and home are really gone, so a later call finishes the job."""
    gone = []
    for name in names if names is not None else created_users(state):
        if name in created_users(state) and _delete_account(name):
            gone.append(name)
    with _USERS:
        left = [n for n in created_users(state) if n not in gone]
        _created_file(state).write_text("".join(n + "\n" for n in left))
    return gone


def _delete_account(name: str, timeout: float = 15) -> bool:
    """Kill the user's processes, wait until none is left (userdel refuses a user who still runs
    something), then delete the account and its home."""
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        return True
    if shutil.which("crontab"):  # first, so no job starts again while the processes are ended
        subprocess.run(["crontab", "-r", "-u", name], check=False, capture_output=True)
    deadline = time.monotonic() + timeout
    while _processes_of(user.pw_uid):
        subprocess.run(["pkill", "-KILL", "-u", name], check=False)
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
    home = Path(user.pw_dir)
    if home.is_dir() and not home.is_symlink() and home.stat().st_uid == user.pw_uid:
        shutil.rmtree(home)  # nothing of the user's runs any more, and rmtree never follows a link
    try:
        pwd.getpwnam(name)
        return False
    except KeyError:
        return not os.path.lexists(home)


def _processes_of(uid: int) -> list[int]:
    """The live processes of a uid (a zombie is gone already, whether or not its parent reaps it)."""
    found = []
    for pid in _pids():
        try:
            if (
                Path(f"/proc/{pid}").stat().st_uid == uid
                and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
            ):
                found.append(pid)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return found


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _next_uid(state: Path, first: int = 20000) -> int:
    """A uid no account has had since the hub began: a deleted participant's files outside the home
    (/tmp, /dev/shm) would otherwise belong to whoever gets the uid next."""
    mark = state / "last-uid"
    taken = {entry.pw_uid for entry in pwd.getpwall()}
    uid = max([first - 1, *(u for u in taken if u >= first)] + ([int(mark.read_text())] if mark.exists() else [])) + 1
    mark.write_text(str(uid))
    return uid


def _home_of_a_new_user(name: str) -> Path:
    """Where useradd will put the home (its HOME default), to refuse a name whose home is still there."""
    defaults = subprocess.run(["useradd", "-D"], capture_output=True, text=True, check=True).stdout
    base = next((line.split("=", 1)[1] for line in defaults.splitlines() if line.startswith("HOME=")), "/home")
    return Path(base) / name


class LoginThrottle:
    """Failed logins per name: the first few are free, then each one doubles the wait before the
    next try (2 s, 4 s, ... at most 15 min); a success clears the name. Only names with a password
    count (wrong passwords for existing accounts), so the table is as small as the room."""

    FREE, FIRST, LONGEST = 5, 2.0, 900.0

    def __init__(self):
        self.failures: dict[str, tuple[int, float]] = {}

    def wait(self, name: str, now: float) -> int:
        """Seconds before this name may try again (0: now)."""
        count, last = self.failures.get(name, (0, 0.0))
        if count < self.FREE:
            return 0
        left = last + min(self.LONGEST, self.FIRST * 2 ** min(30, count - self.FREE)) - now
        return int(left + 0.999) if left > 0 else 0

    def failed(self, name: str, now: float) -> None:
        self.failures[name] = (self.failures.get(name, (0, 0.0))[0] + 1, now)

    def succeeded(self, name: str) -> None:
        self.failures.pop(name, None)


# ----- serve (root) -----


def serve(
    base: Path, state: Path, ports: dict[str, int], config: Path = CONFIG, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Start JupyterHub with ``config`` (``env`` added to its environment) and return the process."""
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    unprivileged = int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    if ports["room"] >= unprivileged:  # e.g. 0 in Docker's default: then any participant could bind it
        raise SystemExit(
            f"the room's port {ports['room']} must be below net.ipv4.ip_unprivileged_port_start ({unprivileged}), "
            "where only root can bind"
        )
    env = {
        **os.environ,
        **(env or {}),
        "HANDSON_HUB_DIR": str(base),
        "HANDSON_HUB_STATE": str(state),
        "HANDSON_HUB_PORTS": json.dumps(ports),
        "PATH": f"{base / 'venv' / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    }
    log = open(state / "jupyterhub.log", "ab")  # noqa: SIM115 - the hub's log, kept open for its lifetime
    return subprocess.Popen(
        [str(base / "venv" / "bin" / "jupyterhub"), "-f", str(config)],
        cwd=state,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def claim_instructor(base: Path, state: Path) -> str | None:
    """A password for the instructor, set before anyone else can claim the name by logging in first
    (FirstUseAuthenticator keeps whichever password comes first): shown once, stored only as bcrypt.
    None when the instructor has one already."""
    password = secrets.token_urlsafe(12)
    code = (
        "import dbm, sys, bcrypt\n"
        "with dbm.open(sys.argv[1], 'c', 0o600) as db:\n"
        "    if sys.argv[2] in db: sys.exit(3)\n"
        "    db[sys.argv[2]] = bcrypt.hashpw(sys.stdin.read().encode(), bcrypt.gensalt())\n"
    )
    done = subprocess.run(
        [str(base / "venv" / "bin" / "python"), "-c", code, str(state / "passwords.dbm"), INSTRUCTOR],
        input=password,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 3):
        raise SystemExit("could not set the instructor's password")
    return password if done.returncode == 0 else None


# ----- command line -----


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handson_helpers.hub", description="A JupyterHub workshop room on this machine."
    )
    parser.add_argument("command", choices=["setup", "serve", "remove-users"])
    parser.add_argument("--port", type=int, default=DEFAULT_PORTS["hub"])
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("make hub creates Unix users and runs servers as them: run it as root (sudo make hub)", file=sys.stderr)
        return 2
    state = HUB_DIR / "state"
    if args.command == "setup":
        setup()
        return 0
    if args.command == "remove-users":
        print("removed:", " ".join(remove_users(state)) or "(none)")
        return 0
    ports = {**DEFAULT_PORTS, "hub": args.port}
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    password = claim_instructor(HUB_DIR, state)
    proc = serve(HUB_DIR, state, ports)
    url = f"http://127.0.0.1:{args.port}"
    said = f"password {password} (shown only now)" if password else "the password shown when the hub first started"
    print(
        f"JupyterHub: {url}  (this machine only; log: {state / 'jupyterhub.log'})\n"
        f"- instructor: log in as '{INSTRUCTOR}' with {said}.\n"
        "  The instructor is the hub's admin and sees every participant in 95_workshop_status.\n"
        "- participants: any new lower-case name (letters and digits) and a password of their own.\n"
        "- Ctrl-C stops the hub and the room sandbox; `python -m handson_helpers.hub remove-users` deletes\n"
        "  the participants' Unix users afterwards.",
        flush=True,
    )
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
