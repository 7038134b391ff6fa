"""先生を呼ぶ (issue 26, item 3): a participant's call for help, answered with a share of their server
with the helpers (HANDSON_HELPERS: the instructor and teaching assistants, hub users) through JupyterHub's
own sharing (JupyterHub 5 and later), for HELP_SECONDS at most. A hub admin can open every server
anyway (JupyterHub's admin role holds ``access:servers`` and cannot be narrowed); the share is what lets
a helper who is no admin open the server of the one who called, and nobody else's.

The room is the one that grants and revokes (its role holds ``shares``, which holds ``access:servers``:
JupyterHub lets only a holder of a server's access scope share it). It shares only the caller's own
default server (the name comes from the hub, never from the request), only with the helpers the hub
lists in its group HELPER_GROUP, and
only JupyterHub's default scope (``access:servers!server=<name>/``). One call per participant is
open at a time, and after one ends the next waits COOLDOWN_SECONDS: a participant who clicks in a loop
moves no share and adds no row. The sweep reads the helpers' shares back from the hub and revokes
every one older than HELP_SECONDS, so no share outlives its limit, a restart of the room included.
Imported only by the sandbox server process.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..room import HELPER_GROUP
from ..safefs import read_own
from ..settings import participant
from . import texts
from .paths import shared_with_path
from .room import Caller, Hub, NotAllowed

HELP_SECONDS = 15 * 60  # how long the helpers may open a participant's server after a call
COOLDOWN_SECONDS = 60  # after a call ends, before the same participant's next one
SWEEP_SECONDS = 5.0  # how often the room revokes what is due
# A call or its end waits this long at most for another change of the shares (one stuck on a slow hub):
# then the participant is told to try again, and no request of the room's waits on a hung hub for ever.
BUSY_SECONDS = 3.0
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    hub_user: str
    since: float
    until: float
    url: str  # the participant's server, as the hub names it (a path on the hub's address)


def _hub_time(text: str) -> float:
    """A time as JupyterHub writes it (``...Z``), which fromisoformat reads only from Python 3.11 on."""
    return datetime.datetime.fromisoformat(
        text.removesuffix("Z") + "+00:00" if text.endswith("Z") else text
    ).timestamp()


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


class HelpDesk:
    """Open calls by hub user; the hub's share API with the room's own token."""

    def __init__(
        self, hub: Hub, helpers: list[str], seconds: float = HELP_SECONDS, clock=time.time, state: Path | None = None
    ):
        self.hub, self.helpers, self.seconds, self.clock = hub, helpers, seconds, clock
        # every helper the room ever shared with (a file in the room's state folder when ``state``): a
        # helper dropped from HANDSON_HELPERS across a restart still has their shares revoked by the sweep
        self.state = state
        saved = read_own(shared_with_path(state), 64 * 1024) if state else None
        self.shared_with: set[str] = set(json.loads(saved)) if saved else set()
        # one change of the hub's shares at a time; the view reads ``calls`` without it (a slow hub
        # slows the next call, never the instructor's view)
        self._lock = threading.Lock()
        self.calls: dict[str, Call] = {}
        self.ended: dict[str, float] = {}
        self.pending: set[tuple[str, str]] = set()  # (owner, helper): revokes the hub has not done yet

    def _hub(self, method: str, path: str, body: dict | None = None, gone_ok: bool = False) -> dict:
        """The hub's answer; ``gone_ok``: a 404 (a user or server no longer there) is an empty answer."""
        request = urllib.request.Request(
            self.hub.api_url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"token {self.hub.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.hub.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if gone_ok and exc.code == 404:
                return {}
            raise NotAllowed(502, f"The hub refused the share (HTTP {exc.code}).") from None
        except (OSError, ValueError):
            raise NotAllowed(502, "The hub could not be reached.") from None
        return json.loads(raw) if raw else {}

    def offered(self, caller: Caller) -> bool:
        """先生を呼ぶ is a participant's: not the instructor's (a hub admin) nor a helper's, who would only
        share their server with each other; and only while there is a helper to call."""
        return not caller.admin and caller.name not in self.helpers and bool(self.helpers)

    def ask(self, caller: Caller) -> dict:
        """Share the caller's server with the helpers until the limit; an open call is kept as it is."""
        if caller.admin or caller.name in self.helpers:
            raise NotAllowed(403, texts.HELP_NOT_A_PARTICIPANT)
        if not self.helpers:
            raise NotAllowed(503, "This hub offers no helper to call (HANDSON_HELPERS, HANDSON_HELP).")
        now = self.clock()
        with self._held():
            call = self.calls.get(caller.name)
            if call is None:
                wait = self.ended.get(caller.name, -COOLDOWN_SECONDS) + COOLDOWN_SECONDS - now
                if wait > 0:
                    raise NotAllowed(429, f"wait {int(wait) + 1} s before calling again")
                # a new share replaces one whose revoke is pending: that one is revoked when this call ends
                self.pending = {(o, h) for o, h in self.pending if o != caller.name}
                urls = [self._share(caller.name, helper) for helper in self.helpers]
                if not any(urls):  # a failed call waits as an ended one does: a loop of clicks asks the hub once
                    self.ended[caller.name] = now
                    raise NotAllowed(502, "The hub shared the server with no helper.")
                call = self.calls[caller.name] = Call(caller.name, now, now + self.seconds, next(filter(None, urls)))
        return {"since": call.since, "until": call.until, "seconds_left": round(call.until - now)}

    @contextlib.contextmanager
    def _held(self):
        """The lock for a participant's request: BUSY_SECONDS at most, then 503 (try again)."""
        if not self._lock.acquire(timeout=BUSY_SECONDS):
            raise NotAllowed(503, texts.HELP_BUSY)
        try:
            yield
        finally:
            self._lock.release()

    def _share(self, name: str, helper: str) -> str:
        """The server's path once shared with ``helper``; "" when the hub refused (a helper not yet a hub user)
        or when the hub does not list ``helper`` in HELPER_GROUP (a name anyone could have signed up with)."""
        try:
            if HELPER_GROUP not in self._hub("GET", f"/users/{_quote(helper)}").get("groups", []):
                return ""
            self._remember(self.shared_with | {helper})  # before the share: no share the room forgets
            return self._hub("POST", f"/shares/{_quote(name)}/", {"user": helper}).get("server", {}).get("url", "")
        except NotAllowed:
            return ""

    def _remember(self, shared_with: set[str]) -> None:
        """Under the lock: the helpers with a share of the room's, saved as the room's other state files are."""
        if shared_with != self.shared_with and self.state is not None:
            path = shared_with_path(self.state)
            tmp = path.with_name(path.name + ".tmp")  # as store.Store.save: a new 0600 file, never a link
            tmp.unlink(missing_ok=True)
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "w") as f:
                json.dump(sorted(shared_with), f)
            os.replace(tmp, path)
        self.shared_with = shared_with

    def withdraw(self, caller: Caller) -> dict:
        """The participant's own call ends now (solved): the share is revoked. ``revoked`` is False when
        the hub did not revoke it yet (the sweep tries again every SWEEP_SECONDS)."""
        with self._held():
            revoked = self._revoke(caller.name, self.clock()) if caller.name in self.calls else True
        return {"open": False, "revoked": revoked}

    def _revoke(self, name: str, now: float) -> bool:
        """Under the lock: end the call and revoke its shares; False if one is still pending."""
        self.pending |= {(name, helper) for helper in self.helpers}
        self.calls.pop(name, None)
        self.ended[name] = now
        return self._revoke_pending(name)

    def _revoke_pending(self, owner: str | None = None) -> bool:
        """Under the lock. PATCH without scopes revokes the share with that user only: a share the
        participant made for someone else stays theirs. One the hub refuses now (a hub restarting) stays
        pending for the next sweep; an owner the hub no longer has (404) has no share left to revoke.
        True when nothing of ``owner``'s (everyone's when None) is pending."""
        for name, helper in sorted(self.pending):
            if owner is None or name == owner:
                try:
                    self._hub("PATCH", f"/shares/{_quote(name)}/", {"user": helper}, gone_ok=True)
                except NotAllowed:
                    continue
                self.pending.discard((name, helper))
        return not any(owner is None or name == owner for name, _ in self.pending)

    def sweep(self) -> None:
        """Revoke the calls that are due, and any share with a helper older than the limit
        (one the room made before a restart, or one a participant made by hand)."""
        now = self.clock()
        with self._lock:
            for name in [n for n, call in self.calls.items() if call.until <= now]:
                self._revoke(name, now)
            self._revoke_pending()
            self.ended = {n: t for n, t in self.ended.items() if now - t < COOLDOWN_SECONDS}
            for helper in sorted({*self.helpers, *self.shared_with}):
                former = helper not in self.helpers  # no longer a helper: every share with them ends now
                try:
                    shares = self._hub("GET", f"/users/{_quote(helper)}/shared", gone_ok=True).get("items", [])
                except NotAllowed:  # the hub did not answer: asked again next sweep
                    continue
                if former and not shares:
                    self._remember(self.shared_with - {helper})
                for share in shares:
                    owner = share.get("server", {}).get("user", {}).get("name", "")
                    created = _hub_time(share.get("created_at", ""))
                    if owner and (former or (owner not in self.calls and now - created >= self.seconds)):
                        server = _quote(share.get("server", {}).get("name", ""))
                        try:
                            self._hub("PATCH", f"/shares/{_quote(owner)}/{server}", {"user": helper}, gone_ok=True)
                        except NotAllowed:  # found again by its age next sweep; the others are revoked now
                            continue

    def run(self, stop: threading.Event) -> None:
        """The sweep every SWEEP_SECONDS until ``stop``; a hub that is down is asked again next time, and
        nothing a sweep meets ends the thread (the error's type only: a hub's answer may carry names)."""
        while not stop.wait(SWEEP_SECONDS):
            try:
                self.sweep()
            except Exception as exc:  # noqa: BLE001 - the shares' limit holds only while the sweep runs
                LOG.warning("help desk: the sweep failed (%s); trying again in %s s", type(exc).__name__, SWEEP_SECONDS)

    def open_calls(self) -> dict[str, dict]:
        """The open calls for the room's view, by participant (settings.participant's suffix)."""
        now = self.clock()
        return {
            participant(call.hub_user): {
                "ago_seconds": round(now - call.since, 1),
                "seconds_left": round(call.until - now),
                "url": call.url,
            }
            for call in list(self.calls.values())
            if call.until > now
        }
