"""Durable on-disk copy of the sandbox's IAM state, seeds included.

Why a snapshot of the kit's own model rather than moto's request recorder: replaying
CreateVirtualMFADevice would mint a new seed, and the learner's phone holds the old one.
Why not pickle moto's backend: its internals change between releases, and a pickle from
one moto would not load in the next. The snapshot holds only what the hands-on touches
(users with path, id, date, tags and inline policies; access keys; virtual MFA devices with
seed, enable date, user and code state, see otp.py; unexpired GetSessionToken sessions, see
sessions.py) as JSON, written to a temporary file, fsynced and renamed over the old one, so a kill
at any moment leaves either the old or the new file, never a torn one.

Saves are group commits (GroupCommit): one writer thread saves once for every change made since
its last save, and a request is answered only after a save that covers what it changed or saw.
An fsync takes about 10 ms here; with 50 learners one save per change, under the lock that
serialises moto, was a third of the time that lock was held.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from . import emulator, otp, sessions, texts
from .faithful import otpauth_uri, qr_png

FORMAT = 1


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def snapshot(backend) -> dict:
    """The state of ``backend`` (the emulator's IAM) as the state file holds it."""
    users = []
    for user in backend.users.values():
        users.append(
            {
                "name": user.name,
                "path": user.path,
                "id": user.id,
                "create_date": _dt(user.create_date),
                "tags": backend.tagger.list_tags_for_resource(user.arn)["Tags"],
                "access_keys": [
                    {
                        "id": key.access_key_id,
                        "secret": key.secret_access_key,
                        "status": key.status,
                        "create_date": _dt(key.create_date),
                    }
                    for key in user.access_keys
                ],
                "policies": dict(user.policies),
            }
        )
    devices = [
        {
            "serial": device.serial_number,
            "seed": device.base32_string_seed,
            "tags": backend.tagger.list_tags_for_resource(device.serial_number)["Tags"],
            "enable_date": _dt(device.enable_date),
            "user": device.user.name if device.user else None,
            **otp.snapshot(device),
        }
        for device in backend.virtual_mfa_devices.values()
    ]
    return {"format": FORMAT, "users": users, "devices": devices, "sessions": sessions.snapshot_sessions()}


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(f"unexpected state: {what}")


def _date_or_none(value) -> bool:
    if value is not None and not isinstance(value, str):
        return False
    try:
        _parse(value)
    except ValueError:
        return False
    return True


def _tags(value) -> bool:
    return value is None or (
        isinstance(value, list)
        and all(
            isinstance(t, dict) and isinstance(t.get("Key"), str) and isinstance(t.get("Value"), str) for t in value
        )
    )


def _check_shape(data: dict) -> None:
    """Refuse anything this module did not write, before touching the backend."""
    text = (str,)
    _require(isinstance(data.get("users", []), list) and isinstance(data.get("devices", []), list), "lists")
    names = set()
    for user in data.get("users", []):
        _require(isinstance(user, dict), "user")
        _require(all(isinstance(user.get(k), text) for k in ("name", "path", "id")), "user fields")
        _require(_date_or_none(user.get("create_date")), "user date")
        _require(_tags(user.get("tags")), "user tags")
        for key in user.get("access_keys", []):
            _require(
                isinstance(key, dict)
                and all(isinstance(key.get(k), str) for k in ("id", "secret", "status"))
                and _date_or_none(key.get("create_date")),
                "access key",
            )
        policies = user.get("policies", {})
        _require(
            isinstance(policies, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in policies.items()),
            "user policies",
        )
        names.add(user["name"])
    for device in data.get("devices", []):
        _require(
            isinstance(device, dict) and isinstance(device.get("serial"), str) and isinstance(device.get("seed"), str),
            "device",
        )
        _require(re.fullmatch(r"[A-Z2-7]{16,128}=*", device["seed"]) is not None, "device seed")
        _require(device.get("user") is None or device["user"] in names, "device of a missing user")
        _require(_date_or_none(device.get("enable_date")), "device date")
        _require(_tags(device.get("tags")), "device tags")
        _require(otp.check(device), "device code state")
    sessions.check_sessions(data.get("sessions", []))


class MotoChanged(Exception):
    """A state file of the shape this module writes that the installed moto cannot rebuild: the
    learner's state is fine, the moto is not the one the kit was made for (locks/learner.txt)."""

    def __init__(self, path: Path, error: Exception):
        self.version = emulator.VERSION
        self.path = path
        why = f"{type(error).__name__}: {error}"
        super().__init__(f"moto {self.version} cannot rebuild the state in {path} ({why}); the file is left as it was")
        self.notice = texts.MOTO_CHANGED.format(path=path, version=self.version, error=type(error).__name__)


def restore(backend, data: dict, path: Path) -> list[str]:
    """Load a snapshot item by item; returns what could not be loaded (the rest is kept).
    ValueError for a file of another shape; MotoChanged when moto cannot take a well-formed one."""
    _check_shape(data)
    try:
        return _rebuild(backend, data)
    except (TypeError, AttributeError) as exc:  # the shape was checked: moto's classes or signatures changed
        raise MotoChanged(path, exc) from exc


def _rebuild(backend, data: dict) -> list[str]:
    skipped = []
    for item in data.get("users", []):
        try:
            user = backend.create_user("us-east-1", item["name"], item["path"], item.get("tags") or None)
        except (TypeError, AttributeError):
            raise  # moto changed: restore() says so rather than skipping every user
        except Exception:  # e.g. two names differing only in case, from an older sandbox
            skipped.append(f"user {item['name']}")
            continue
        user.id = item["id"]
        user.create_date = _parse(item["create_date"])
        for k in item.get("access_keys", []):
            emulator.add_access_key(backend, user, k["id"], k["secret"], k["status"], _parse(k["create_date"]))
        for name, document in item.get("policies", {}).items():
            user.put_policy(name, document)
    for item in data.get("devices", []):
        if item.get("user") and item["user"] not in backend.users:
            skipped.append(f"device {item['serial']}")
            continue
        name = item["serial"].rsplit("/", 1)[-1]
        png = qr_png(otpauth_uri(name, backend.account_id, item["seed"]))
        device = emulator.add_device(backend, item["serial"], item["seed"], png)
        otp.restore(device, item)
        backend.tagger.tag_resource(device.serial_number, item.get("tags") or [])
        if item.get("user"):
            emulator.assign_device(backend, backend.get_user(item["user"]), device, _parse(item["enable_date"]))
    sessions.restore_sessions(data.get("sessions", []))
    return skipped


class Store:
    """The sandbox's state file: mode 0600 in a 0700 directory."""

    def __init__(self, path: Path):
        self.path = path
        self.notice = ""  # what the learner should hear about a file that was set aside

    def load(self) -> dict | None:
        """The saved state; a file that cannot be read is set aside, never silently lost."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError, OSError):  # not JSON, not text, a folder, unreadable
            data = None
        if isinstance(data, dict):
            return data
        aside = self.set_aside()
        self.notice = texts.STATE_SET_ASIDE.format(path=self.path, aside=aside)
        print(f"sandbox: {self.path} could not be read; moved to {aside}, starting empty", file=sys.stderr)
        return None

    def set_aside(self, keep: bool = False) -> Path:
        """Move the file out of the way (or, with ``keep``, copy it) under a dated name."""
        aside = self.path.with_name(f"{self.path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
        if keep:
            shutil.copy2(self.path, aside)
        else:
            os.replace(self.path, aside)
        return aside

    def save(self, data: dict) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(json.dumps(data).encode())  # one write: json.dump streams many small ones
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


class CommitFailed(Exception):
    """The save that had to cover a request's change failed; the request must not report success."""


class GroupCommit:
    """Durable saves for a server whose requests change state under one lock.

    A request calls ``changed(snapshot)`` (or ``seen()`` when it only read) while it holds that
    lock, then ``wait(ticket)`` after releasing it. The writer thread writes and fsyncs the latest
    snapshot outside the lock, where the next requests already run; every change made meanwhile
    goes into its next save. The snapshot is taken by the request (about 1% of a request's time
    with 50 learners), so the writer never waits for the busy lock. After a failed save the next
    request that waits makes the writer try again.
    """

    def __init__(self, store: Store):
        self.store = store
        self.writing = threading.Lock()  # held while saving, so clear() cannot be undone by a save in flight
        self.cond = threading.Condition()
        self.latest: dict | None = None  # the snapshot after change number ``last``
        self.last = 0
        self.tried = 0  # the latest change a finished save attempt covered
        self.saved = 0  # the latest change a successful save covered
        self.attempts = 0  # save attempts finished
        self.waiting = 0  # requests in wait()
        self.error: Exception | None = None
        threading.Thread(target=self._write, name="store-writer", daemon=True).start()

    def changed(self, snapshot: dict) -> int:
        """Under the server's lock, after a change: its ticket."""
        with self.cond:
            self.last += 1
            self.latest = snapshot
            self.cond.notify_all()
            return self.last

    def seen(self) -> int:
        """Under the server's lock, after a read: the ticket of the state it saw (maybe not yet saved)."""
        return self.last

    def wait(self, ticket: int) -> None:
        """Return once a save covers ``ticket``; CommitFailed if an attempt that covered it failed
        while this request waited."""
        with self.cond:
            if self.saved >= ticket:
                return
            attempts = self.attempts
            self.waiting += 1
            self.cond.notify_all()
            try:
                self.cond.wait_for(lambda: self.saved >= ticket or (self.attempts > attempts and self.tried >= ticket))
            finally:
                self.waiting -= 1
            if self.saved < ticket:
                raise CommitFailed(str(self.error))

    def clear(self) -> None:
        """Under the server's lock: remove the file; the changes not yet saved are gone with it (a reset)."""
        with self.writing:
            self.store.clear()
            with self.cond:
                self.latest, self.tried, self.saved = None, self.last, self.last
                self.cond.notify_all()

    def _due(self) -> bool:
        return self.last > self.tried or (self.last > self.saved and self.waiting > 0)

    def _write(self) -> None:
        while True:
            with self.cond:
                self.cond.wait_for(self._due)
            with self.writing:
                with self.cond:
                    if not self._due() or self.latest is None:  # cleared meanwhile: the file stays removed
                        continue
                    data, upto = self.latest, self.last
                try:
                    self.store.save(data)
                    error = None
                except Exception as exc:  # noqa: BLE001 - any failure is reported to the requests it covers
                    error = exc
            with self.cond:
                self.attempts += 1
                self.tried = max(self.tried, upto)
                if error is None:
                    self.saved = max(self.saved, upto)
                else:
                    self.error = error
                    print(f"sandbox: could not save the state to {self.store.path}: {error}", file=sys.stderr)
                self.cond.notify_all()
