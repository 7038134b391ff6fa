"""make hub's JupyterHub classes, hardened for a room whose participants have shells.

Imported only by the hub (its venv has JupyterHub and firstuseauthenticator): jupyterhub_config.py
names them. Everything that may wait (useradd, a copy run as the participant, userdel) runs in a
thread, so one participant can never stall the hub's event loop for everyone.
"""

from __future__ import annotations

import asyncio
import dbm
import os
import pwd
import time
from pathlib import Path

from firstuseauthenticator import FirstUseAuthenticator
from jupyterhub.spawner import LocalProcessSpawner

from . import hub_accounts, room
from .texts import hub as texts

RESET_EVERY_SECONDS = 30.0  # a participant's own password changes, at most one per this long


class HandsonAuthenticator(FirstUseAuthenticator):
    """TLJH's FirstUseAuthenticator, with these changes:

    - A name the hub would refuse anyway writes nothing (FirstUseAuthenticator stores a password
      for any name before JupyterHub checks it: a 2 MB name was 2 MB more in the file per request).
    - Guessing a name's password is slowed down (hub_accounts.LoginThrottle), per name only: every
      participant comes through the proxy, and a client address is whatever X-Real-Ip says. A form
      no browser sends is refused before anything is counted, and one login per name runs at a time
      (hub_accounts.NameLocks): two people claiming a new name at once cannot both get in.
    - Changing one's own password (bcrypt on the hub's event loop, in FirstUseAuthenticator's handler)
      is limited per name, so nobody can stall the hub by posting it in a loop.
    - Deleting a hub user (how FirstUseAuthenticator resets a password) also deletes the Unix
      account the hub made for it, home included: the next person to log in with that name starts
      from nothing instead of finding the last one's QR file, access key file and sessions.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = Path(os.environ["HANDSON_HUB_STATE"])
        self.throttle = hub_accounts.LoginThrottle()
        self.logging_in = hub_accounts.NameLocks()
        self.resets: dict[str, float] = {}  # by hub user (logged in: as many as the room)

    def _has_password(self, name: str) -> bool:
        try:
            with dbm.open(self.dbm_path, "r") as db:
                return name.encode() in db
        except dbm.error:
            return False

    async def authenticate(self, handler, data):
        problem = hub_accounts.login_form_problem(data)
        if problem:  # a form no browser sends (a field missing, empty, too long, not text): nothing tried
            handler.custom_login_error = getattr(texts, problem).format(
                name=hub_accounts.NAME_MAX, password=hub_accounts.PASSWORD_MAX_BYTES
            )
            return None
        name = self.normalize_username(data["username"])
        if not (self.validate_username(name) and hub_accounts.may_log_in(name, self.state)):
            return None  # nothing stored, nothing counted: no password was tried
        wait = self.throttle.attempt(name, time.monotonic())  # checked and counted at once (pending until answered)
        if wait:
            handler.custom_login_error = texts.TOO_MANY_LOGINS.format(wait=wait)
            return None
        # FirstUseAuthenticator hashes with bcrypt (a deliberately slow hash) on the hub's event loop: in a thread,
        # one per name (NameLocks). If it raises, the attempt stays counted: an error is no way around the throttle.
        async with self.logging_in.held(name):
            result = await asyncio.to_thread(asyncio.run, FirstUseAuthenticator.authenticate(self, handler, data))
        if result is not None:
            self.throttle.succeeded(name)
        elif self._has_password(name):  # a wrong password for an account that exists
            # the wait counts from the answer, not from the request: bcrypt on a busy hub takes seconds
            self.throttle.failed(name, time.monotonic())
        else:  # no account's password was tried (e.g. a first password too short)
            self.throttle.released(name)
        return result

    def reset_password(self, username, new_password):
        """FirstUseAuthenticator's change of one's own password (/hub/auth/change-password), which its
        handler runs on the hub's event loop, bcrypt and all: a participant posting it in a loop would
        stall every login and page. One change per name every RESET_EVERY_SECONDS, checked before any
        hash, and a password bcrypt can take (JupyterHub 5.x's bcrypt raises beyond 72 bytes)."""
        if hub_accounts.password_too_long(str(new_password)):
            return texts.PASSWORD_TOO_LONG.format(password=hub_accounts.PASSWORD_MAX_BYTES)
        now = time.monotonic()
        last = self.resets.get(username)
        if last is not None and now - last < RESET_EVERY_SECONDS:
            return texts.RESET_TOO_SOON.format(wait=int(RESET_EVERY_SECONDS - (now - last)) + 1)
        self.resets[username] = now
        return super().reset_password(username, new_password)

    async def delete_user(self, user):
        """The account first: while it is still there the hub user is not deleted (the error says
        why) and its password stays, so the name is never given out with the last holder's home."""
        if user.name in hub_accounts.created_users(self.state) and user.name not in await asyncio.to_thread(
            hub_accounts.remove_users, self.state, [user.name]
        ):
            raise RuntimeError(
                f"the Unix account {user.name} could not be deleted (processes that will not end?); try again"
            )
        super().delete_user(user)


class HandsonSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose route goes only to the participant's own server.

    The hub hands out the port (hub.ServerPorts), but any local user can bind it first and answer
    the hub's readiness check: the route, and the participant's cookie with it, would go to them.
    So the server counts as started only once the listener on its port is the participant's.
    """

    async def start(self):
        started = await super().start()
        uid = pwd.getpwnam(self.user.name).pw_uid
        deadline = time.monotonic() + self.start_timeout
        while (owner := await asyncio.to_thread(room.listener_uid, "127.0.0.1", self.port)) is None:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.user.name}'s server did not listen on port {self.port}")
            await asyncio.sleep(0.2)
        if owner != uid:
            await self.stop(now=True)
            raise RuntimeError(
                f"port {self.port} was taken by uid {owner} before {self.user.name}'s server bound it; "
                "start the server again"
            )
        return started
