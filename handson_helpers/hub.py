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
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .hub_accounts import SYSTEM_PYTHON, remove_users
from .room import HELPER_GROUP

REPO = Path(__file__).resolve().parents[1]
HUB_DIR = Path(os.environ.get("HANDSON_HUB_DIR") or "/opt/handson-hub")
ROOM_SERVICE = "handson-room"
# read:users: whose token a kernel sent, and whether a helper is in the helpers' group. shares: 先生を呼ぶ
# shares a participant's server with the helpers and revokes it (sandbox/help_desk.py); JupyterHub lets
# only a holder of a server's access scope share it, and ``shares`` holds ``access:servers`` (JupyterHub
# 5.x and 6.x scopes.py). A participant's own token keeps JupyterHub's server role.
ROOM_ROLE = {"name": ROOM_SERVICE, "scopes": ["read:users", "shares"], "services": [ROOM_SERVICE]}
INSTRUCTOR = os.environ.get("HANDSON_HUB_INSTRUCTOR") or "instructor"  # the hub admin
# Teaching assistants: hub users (no admin) whom 先生を呼ぶ lets open the server of whoever called. Their
# passwords are claimed before the hub starts (claim_passwords) and the hub puts them, and only them,
# in HELPER_GROUP (help_groups): the room shares with no one outside that group.
ASSISTANTS = (os.environ.get("HANDSON_HUB_ASSISTANTS") or "").split()
# The room listens below 1024, where only root can bind: no participant can hold its port while the
# hub restarts it. Single-user servers get ports from SERVER_PORTS, below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range, 32768-60999 by default), handed out by the hub one at a time.
DEFAULT_PORTS = {"hub": 8000, "api": 8081, "proxy_api": 8001, "room": 1010}
SERVER_PORTS = range(12000, 20000)
# The hub's configuration (the copy setup() installs is the same file)
CONFIG = Path(__file__).with_name("jupyterhub_config.py")
# JupyterHub's major versions the hub is built with (HANDSON_JUPYTERHUB, 6 by default): TLJH 2.x and
# Zero to JupyterHub 4.4 ship 5.x. Each major has its lock (make lock) and its venv under HUB_DIR.
JUPYTERHUB_MAJORS = {"6": "jupyterhub>=6,<7", "5": "jupyterhub>=5.3,<6"}
DEFAULT_MAJOR = "6"


def jupyterhub_major() -> str:
    """The major version this hub is built and run with (HANDSON_JUPYTERHUB)."""
    major = os.environ.get("HANDSON_JUPYTERHUB") or DEFAULT_MAJOR
    if major not in JUPYTERHUB_MAJORS:
        raise SystemExit(
            f"HANDSON_JUPYTERHUB={major}: the kit's hub is built with JupyterHub {' or '.join(JUPYTERHUB_MAJORS)}"
        )
    return major


def lock_of(major: str) -> Path:
    return REPO / "locks" / ("hub.txt" if major == DEFAULT_MAJOR else f"hub{major}.txt")


def venv_of(base: Path, major: str) -> Path:
    return base / ("venv" if major == DEFAULT_MAJOR else f"venv-jupyterhub{major}")


def help_groups(assistants: Sequence[str]) -> dict:
    """``c.JupyterHub.load_groups``: the helpers' group, which only the hub's admin manages."""
    return {HELPER_GROUP: {"users": list(assistants)}}


def help_mode(subdomain_host: str) -> str:
    """HANDSON_HELP (settings.HELP_MODES) for the room and the servers. Without per-user subdomains every
    server's pages run on the hub's own origin, and a helper who opens a participant's server runs that
    participant's JavaScript with the helper's hub session: 先生を呼ぶ is then offered only when the
    operator accepts that risk (HANDSON_HUB_HELP_SAME_ORIGIN=1). "" offers no button."""
    if subdomain_host:
        return "subdomains"
    return "same-origin" if os.environ.get("HANDSON_HUB_HELP_SAME_ORIGIN") == "1" else ""


def room_service(python: str, home: str, url: str, helpers: Sequence[str] = (), help: str = "") -> dict:
    """The room sandbox as a managed JupyterHub service: started, watched and stopped by the hub;
    ``helpers`` (hub users) are whom 先生を呼ぶ shares a participant's server with, if ``help`` offers it."""
    environment = {"HANDSON_HOME": home, "HANDSON_HELPERS": " ".join(helpers)}
    return {
        "name": ROOM_SERVICE,
        "url": url,
        "command": [python, "-m", "handson_helpers.sandbox", "room"],
        "environment": {**environment, "HANDSON_HELP": help} if help else environment,
    }


# Kernels talk to their server over IPC files in the participant's 0700 home instead of TCP ports:
# no two servers starting together can pick the same port, and no other local user can subscribe
# to a kernel's output (the QR image, the typed codes' widget messages).
# A server asks the hub again about a browser's token after 15 s (JupyterHub's default: 300 s), so an
# instructor's revoked share (先生を呼ぶ) stops opening the participant's server within 15 s.
SPAWNER_ARGS = ["--KernelManager.transport=ipc", "--HubOAuth.cache_max_age=15"]
SHARE_REVOKED_WITHIN_SECONDS = 15


def spawner_environment(url: str, room_uid: int = 0, help: str = "") -> dict:
    """What every participant's server needs to find the room, and whose the room's socket must be;
    ``help`` (help_mode) shows 先生を呼ぶ."""
    environment = {
        "HANDSON_SANDBOX": "room",
        "HANDSON_ROOM_URL": url,
        "HANDSON_ROOM_UID": str(room_uid),
        "HANDSON_TARGET": "sandbox",
    }
    return {**environment, "HANDSON_HELP": help} if help else environment


# ----- set-up (root) -----


def _run(*args: str, **kwargs) -> None:
    subprocess.run(args, check=True, **kwargs)


def _learner_requirements(major: str = DEFAULT_MAJOR) -> str:
    """requirements.txt with the kit's own dependencies and its ``hub`` extra (pyproject.toml) in place of
    ``-e .``, JupyterHub held to ``major``: the hub's users get the kit installed, not linked to this tree."""
    import tomllib  # setup and make lock run on the venv's Python (3.11 and later)

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = [
        line
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-e"))
    ]
    hub = [*project["optional-dependencies"]["hub"], JUPYTERHUB_MAJORS[major]]
    return "\n".join([*project["dependencies"], *hub, *lines]) + "\n"


def _kit_digest(major: str) -> str:
    digest = hashlib.sha256(_learner_requirements(major).encode())
    for path in sorted(
        [REPO / "pyproject.toml", *(REPO / "handson_helpers").rglob("*.py"), *(REPO / "notebooks").glob("*.ipynb")]
    ):
        digest.update(path.relative_to(REPO).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def setup(base: Path = HUB_DIR, major: str | None = None) -> None:
    """The venv of JupyterHub ``major`` (from SYSTEM_PYTHON, which every user can run), the kit, the proxy."""
    major = major or jupyterhub_major()
    base.mkdir(mode=0o755, parents=True, exist_ok=True)
    venv = venv_of(base, major)
    stamp = venv / ".handson-kit"
    # The exact versions make lock wrote from _learner_requirements(major) (without the Makefile's UNUSED)
    requirements = lock_of(major).read_text()
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
    digest = _kit_digest(major)
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


# ----- serve (root) -----


def serve(
    base: Path,
    state: Path,
    ports: dict[str, int],
    config: Path = CONFIG,
    env: dict[str, str] | None = None,
    major: str | None = None,
) -> subprocess.Popen:
    """Start JupyterHub ``major`` with ``config`` (``env`` added to its environment) and return the process."""
    venv = venv_of(base, major or jupyterhub_major())
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
        "HANDSON_HUB_VENV": str(venv),
        "PATH": f"{venv / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    }
    log = open(state / "jupyterhub.log", "ab")  # noqa: SIM115 - the hub's log, kept open for its lifetime
    return subprocess.Popen(
        [str(venv / "bin" / "jupyterhub"), "-f", str(config)],
        cwd=state,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def claim_passwords(venv: Path, state: Path, names: Sequence[str]) -> dict[str, str | None]:
    """A password for each of ``names`` (the instructor, the assistants), set before anyone else can
    claim the name by logging in first (FirstUseAuthenticator keeps whichever password comes first):
    shown once, stored only as bcrypt. None for a name that has one already."""
    code = (
        "import dbm, sys, bcrypt\n"
        "with dbm.open(sys.argv[1], 'c', 0o600) as db:\n"
        "    if sys.argv[2] in db: sys.exit(3)\n"
        "    db[sys.argv[2]] = bcrypt.hashpw(sys.stdin.read().encode(), bcrypt.gensalt())\n"
    )
    claimed: dict[str, str | None] = {}
    for name in names:
        password = secrets.token_urlsafe(12)
        done = subprocess.run(
            [str(venv / "bin" / "python"), "-c", code, str(state / "passwords.dbm"), name],
            input=password,
            text=True,
            check=False,
        )
        if done.returncode not in (0, 3):
            raise SystemExit(f"could not set {name}'s password")
        claimed[name] = password if done.returncode == 0 else None
    return claimed


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
    claimed = claim_passwords(venv_of(HUB_DIR, jupyterhub_major()), state, [INSTRUCTOR, *ASSISTANTS])
    proc = serve(HUB_DIR, state, ports)
    url = f"http://127.0.0.1:{args.port}"
    said = {
        name: f"password {password} (shown only now)" if password else "the password shown when the hub first started"
        for name, password in claimed.items()
    }
    assistants = "".join(f"- assistant: log in as '{name}' with {said[name]}.\n" for name in ASSISTANTS)
    print(
        f"JupyterHub: {url}  (this machine only; log: {state / 'jupyterhub.log'})\n"
        f"- instructor: log in as '{INSTRUCTOR}' with {said[INSTRUCTOR]}.\n"
        "  The instructor is the hub's admin and sees every participant in 95_workshop_status.\n"
        f"{assistants}"
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
