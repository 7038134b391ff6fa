"""make hub's login: TLJH's FirstUseAuthenticator, hardened for a room whose participants have shells.

Imported only by the hub (its venv has firstuseauthenticator): jupyterhub_config.py names the class.
- A name the hub would refuse anyway writes nothing (FirstUseAuthenticator stores a password for any
  name before JupyterHub checks it: a 2 MB name was 2 MB more in the password file per request).
- Guessing is slowed down per name and per client (hub.LoginThrottle).
- Deleting a hub user (how FirstUseAuthenticator resets a password) also deletes the Unix account the
  hub made for it, home included: the next person to log in with that name starts from nothing
  instead of finding the last one's QR file, access key file and sessions.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from firstuseauthenticator import FirstUseAuthenticator

from . import hub


class HandsonAuthenticator(FirstUseAuthenticator):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state = Path(os.environ["HANDSON_HUB_STATE"])
        self.throttle = hub.LoginThrottle()

    async def authenticate(self, handler, data):
        name = self.normalize_username(str(data.get("username", ""))[: hub.NAME_MAX + 1])
        keys = [("name", name), ("client", handler.request.remote_ip or "")]
        now = time.monotonic()
        wait = self.throttle.wait(keys, now)
        if wait:
            handler.custom_login_error = f"ログインの失敗が続いたため、{wait} 秒後にもう一度試してください。 (Too many failed logins: try again in {wait} s.)"
            return None
        if not (self.validate_username(name) and hub.may_log_in(name, self.state)):
            self.throttle.failed(keys, now)
            return None
        result = await super().authenticate(handler, data)
        if result is None:
            self.throttle.failed(keys, now)
        else:
            self.throttle.succeeded(keys)
        return result

    def delete_user(self, user):
        super().delete_user(user)
        hub.remove_users(self.state, [user.name])
