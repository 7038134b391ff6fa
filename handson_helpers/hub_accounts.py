"""The participants' Unix accounts in a hub room (``make hub``): made on first start, home 0700,
filled by the participant's own uid; deleted with everything they run; and the login throttle.

Root never acts on a path a participant can change: what goes into a home is done as the participant.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

# The system's Python: every user can run it (root's own Python may live in a 0700 home).
SYSTEM_PYTHON = "/usr/bin/python3"
# Unix names the hub may create: lower-case ASCII, and never one that exists already (ensure_unix_user).
USERNAME_PATTERN = r"[a-z][a-z0-9]{1,30}"
NAME_MAX = 31


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
            subprocess.run(
                [
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
                ],
                check=True,
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


PASSWORD_MAX_BYTES = 72  # bcrypt's limit: JupyterHub 5.x's bcrypt raises instead of cutting


def login_form_problem(data: object) -> str | None:
    """What is wrong with a login form (a texts.hub key), or None: both fields present, text, not
    empty, and no longer than a hub name or a bcrypt password can be. Checked before the throttle
    counts anything: a malformed form tries no password."""
    if not isinstance(data, dict):
        return "BAD_LOGIN_FORM"
    name, password = data.get("username"), data.get("password")
    if not isinstance(name, str) or not isinstance(password, str) or not name.strip() or not password:
        return "BAD_LOGIN_FORM"
    if len(name) > NAME_MAX:
        return "NAME_TOO_LONG"
    if password_too_long(password):
        return "PASSWORD_TOO_LONG"
    return None


def password_too_long(password: str) -> bool:
    """Longer than bcrypt takes: counted in UTF-8 bytes, as bcrypt counts."""
    return len(password.encode("utf-8", "surrogatepass")) > PASSWORD_MAX_BYTES


class NameLocks:
    """One login at a time per name (in the hub's event loop). FirstUseAuthenticator stores a new name's
    password after reading that it has none, with bcrypt (seconds) in between, in a thread: two people
    claiming one new name at once would both get in, the last one's password kept. Only names being
    logged in to are held, so the table is as small as the logins in flight."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def held(self, name: str):
        lock, users = self._held.get(name, (asyncio.Lock(), 0))
        self._held[name] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._held[name]
            if users == 1:
                del self._held[name]
            else:
                self._held[name] = (lock, users - 1)


class LoginThrottle:
    """Failed logins per name: the first few are free, then each one doubles the wait before the
    next try (2 s, 4 s, ... at most 15 min); a success clears the name. Only names with a password
    count (wrong passwords for existing accounts), so the table is as small as the room.

    ``attempt`` checks and counts in one step under a lock: an attempt counts as a failure from the
    moment it starts (bcrypt takes seconds), so logins sent at once cannot all pass the check before
    any of them is counted. ``succeeded`` clears the name; ``released`` takes back an attempt that
    tried no password of an existing account."""

    FREE, FIRST, LONGEST = 5, 2.0, 900.0

    def __init__(self) -> None:
        self.failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _wait(self, name: str, now: float) -> int:
        """Under the lock: seconds before this name may try again (0: now)."""
        count, last = self.failures.get(name, (0, 0.0))
        if count < self.FREE:
            return 0
        left = last + min(self.LONGEST, self.FIRST * 2 ** min(30, count - self.FREE)) - now
        return int(left + 0.999) if left > 0 else 0

    def attempt(self, name: str, now: float) -> int:
        """0 and the attempt counted as a failure until it ends, or the seconds to wait (nothing counted)."""
        with self._lock:
            wait = self._wait(name, now)
            if not wait:
                self.failures[name] = (self.failures.get(name, (0, 0.0))[0] + 1, now)
            return wait

    def failed(self, name: str, now: float) -> None:
        """An attempt ended wrong: counted already, the wait now runs from ``now`` (the answer)."""
        with self._lock:
            count = self.failures.get(name, (1, 0.0))[0]
            self.failures[name] = (count, now)

    def released(self, name: str) -> None:
        """An attempt that tried no existing account's password is not a failure."""
        with self._lock:
            count, last = self.failures.get(name, (0, 0.0))
            if count <= 1:
                self.failures.pop(name, None)
            else:
                self.failures[name] = (count - 1, last)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self.failures.pop(name, None)
