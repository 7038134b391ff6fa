"""The room sandbox's side of a JupyterHub workshop (the rules are in ``handson_helpers.room``).

Who a kernel is comes from the hub: the kernel's token is passed on to ``GET /hub/api/user``
and the room never keeps it. A hub admin gets the room's administrator key; anyone else gets
their own IAM user's key, made on first use. Imported only by the sandbox server process.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from ..room import (
    IDENTITY_PATH,
    IDENTITY_TAG_KEY,
    SCOPE_POLICY_NAME,
    backup_name,
    device_fits,
    identity_name,
    own_names,
    participant_of,
    scope_policy,
    suffix_of,
)
from ..rules import ACCOUNT_ID, REGION
from ..settings import PARTICIPANT_TAG_KEY, participant, participant_tag
from . import authorization, emulator, evaluation, sessions

HOLDER_TAG_KEY = "handson-room-holder"  # the hub user's creation time: who holds the name now
TAG_KEY_RE = re.compile(r"Tags\.member\.([0-9]+)\.Key|TagKeys\.member\.([0-9]+)", re.ASCII)
DEVICE_ACTIONS = ("EnableMFADevice", "ResyncMFADevice", "DeactivateMFADevice")
TOKEN_RE = re.compile(r"(?:token|bearer) [A-Za-z0-9_.~+/=-]{8,256}", re.ASCII | re.IGNORECASE)
# A token is asked about again after this long: a user the hub deleted or demoted loses the room soon after.
IDENTIFY_CACHE_SECONDS = 10.0
# Every call to the hub waits this long at most: a hub that hangs holds one request, not the room.
HUB_SECONDS = 5.0


class NotAllowed(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Caller:
    name: str
    admin: bool
    since: str = ""  # when the hub made this user: a name deleted and made again is another person


class Hub:
    """The hub's REST API as the room service uses it (its own token: ``read:users``)."""

    def __init__(self, api_url: str, token: str, timeout: float = HUB_SECONDS):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._seen: dict[str, tuple[float, Caller]] = {}
        self._seen_lock = threading.Lock()

    def _get(self, path: str, authorization: str) -> dict:
        request = urllib.request.Request(self.api_url + path, headers={"Authorization": authorization})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read())

    def identify(self, authorization: str, now: float | None = None) -> Caller:
        """The hub user behind a token; NotAllowed for a bad token, a service or a stopped hub."""
        if not TOKEN_RE.fullmatch(authorization or ""):
            raise NotAllowed(401, "Send the server's JUPYTERHUB_API_TOKEN as 'Authorization: token ...'.")
        now = time.monotonic() if now is None else now
        with self._seen_lock:
            seen = self._seen.get(authorization)
        if seen and now - seen[0] < IDENTIFY_CACHE_SECONDS:
            return seen[1]
        try:
            model = self._get("/user", authorization)
            if model.get("kind", "user") != "user" or not isinstance(model.get("name"), str):
                raise NotAllowed(403, "Only a hub user's server gets sandbox keys.")
            name = model["name"]
            # the room's own token sees what a server's token may not: the admin flag and the user's creation
            full = self._get("/users/" + urllib.parse.quote(name, safe=""), f"token {self.token}")
            admin, since = full.get("admin"), full.get("created")
            if not isinstance(admin, bool) or not isinstance(since, str):
                raise NotAllowed(502, "The hub did not say who this user is.")
        except urllib.error.HTTPError as exc:
            raise NotAllowed(
                403 if exc.code in (401, 403) else 502, f"The hub did not accept the token (HTTP {exc.code})."
            ) from None
        except (OSError, ValueError):
            raise NotAllowed(502, "The hub could not be asked who this is.") from None
        caller = Caller(name, admin, since)
        with self._seen_lock:  # requests are served on many threads
            self._seen = {k: v for k, v in self._seen.items() if now - v[0] < IDENTIFY_CACHE_SECONDS}
            self._seen[authorization] = (now, caller)
        return caller

    @classmethod
    def from_environment(cls) -> Hub:
        """The hub that started this service (JupyterHub sets both variables for a managed service)."""
        return cls(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"])


def issue(raw: str, since: str = "") -> dict[str, str]:
    """The participant's IAM user, scope policy and one active key: made once, then read back.

    An existing user of that name is used only if it is the room's own for this participant (its
    path and its tag); anything else (a name two hub users share, a user someone planted) is refused.
    ``since`` is when the hub made the hub user: if it changed, the name was deleted and given to
    someone new, and the keys the last holder's kernels had are deleted before a new one is issued.
    """
    suffix, tag = participant(raw), participant_tag(raw)
    if not suffix or tag is None:
        raise NotAllowed(403, "A participant needs a hub user name.")
    iam = emulator.iam()
    name = identity_name(suffix)
    user = next((u for n, u in iam.users.items() if n.lower() == name.lower()), None)
    mine = {"Key": IDENTITY_TAG_KEY, "Value": tag["Value"]}
    if user is None:
        user = iam.create_user(REGION, name, IDENTITY_PATH, [mine])
    elif (
        user.name != name
        or user.path != IDENTITY_PATH
        or mine not in iam.tagger.list_tags_for_resource(user.arn)["Tags"]
    ):
        raise NotAllowed(
            409, f"The room's name {name} is taken by someone else; ask the instructor to pick another hub user name."
        )
    holder = next(
        (t["Value"] for t in iam.tagger.list_tags_for_resource(user.arn)["Tags"] if t["Key"] == HOLDER_TAG_KEY), None
    )
    if holder != since:
        if holder is not None:  # the name changed hands: nothing of the last holder's may reach the new one
            _clear_participant(suffix)
        for old in list(user.access_keys):
            iam.delete_access_key(old.access_key_id, name)
        sessions.forget_sessions(name)
        iam.tag_user(name, [{"Key": HOLDER_TAG_KEY, "Value": since}])
    document = json.dumps(scope_policy(suffix))
    if user.policies.get(SCOPE_POLICY_NAME) != document:
        iam.put_user_policy(name, SCOPE_POLICY_NAME, document)
    key = next((k for k in user.access_keys if k.status == "Active"), None) or iam.create_access_key(name)
    return {
        "AccessKeyId": key.access_key_id,
        "SecretAccessKey": key.secret_access_key,
        "Role": "participant",
        "Participant": raw,
    }


def _clear_participant(suffix: str) -> None:
    """Delete every user and device named for a participant (the hands-on's user, 2.1's and 45's
    devices), with their keys, sessions, policies and login profile, as the instructor's cleanup
    does: a last holder's 3.1 key with an ``Allow *`` policy could otherwise act on the new one's."""
    iam = emulator.iam()
    for user in [u for u in iam.users.values() if suffix_of(u.name) == suffix]:
        sessions.forget_sessions(user.name)
        for key in list(user.access_keys):
            iam.delete_access_key(key.access_key_id, user.name)
        for policy in list(user.policies):
            iam.delete_user_policy(user.name, policy)
        for arn in list(user.managed_policies):
            iam.detach_user_policy(arn, user.name)
        for group in [g for g in iam.groups.values() if user in g.users]:
            group.users.remove(user)
        if user.password is not None:
            iam.delete_login_profile(user.name)
        for serial in list(user.mfa_devices):
            iam.deactivate_mfa_device(user.name, serial)
        iam.delete_user(user.name)
    for device in (own_names(suffix)[1], backup_name(suffix)):
        serial = f"arn:aws:iam::{ACCOUNT_ID}:mfa/{device}"
        if serial in iam.virtual_mfa_devices:
            iam.delete_virtual_mfa_device(serial)


def boundary(user_name: str) -> str | None:
    """The scope that bounds a user named for a participant (whoever made it, whether or not the
    participant's identity still exists), or None for any other user."""
    suffix = suffix_of(user_name)
    return None if suffix is None else json.dumps(scope_policy(suffix))


def own_tag_value(user_name: str) -> str | None:
    """The participant tag value the room gave the participant whose user this is (on their
    identity, which only the room and the instructor can tag), or None."""
    suffix = participant_of(user_name)
    identity = emulator.iam().users.get(identity_name(suffix)) if suffix is not None else None
    if identity is None:
        return None
    return next(
        (
            t["Value"]
            for t in emulator.iam().tagger.list_tags_for_resource(identity.arn)["Tags"]
            if t["Key"] == IDENTITY_TAG_KEY
        ),
        None,
    )


def rule(who: sessions.Principal, service: str, action: str, params: dict[str, str]) -> tuple[str, str] | None:
    """The room's rules beyond IAM's: (resource, why) for a call that breaks one, else None.

    A user named for a participant holds only that participant's device: EnableMFADevice of any
    other device is refused to everyone, Resync/Deactivate to participants (the instructor may
    deactivate, to repair). A participant's ``handson-participant`` tag, which the instructor's
    view reads, may name only themselves: no text that imitates another's row.
    """
    if service != "iam":
        return None
    if action in DEVICE_ACTIONS and (action == "EnableMFADevice" or who.kind != "admin"):
        serial = params.get("SerialNumber", "")
        if not device_fits(params.get("UserName", ""), serial):
            return serial, "a workshop room assigns a participant's user only that participant's own MFA device"
    if who.kind == "admin":
        return None
    for key, match in ((v, TAG_KEY_RE.fullmatch(k)) for k, v in params.items()):
        if match is None or key.lower() != PARTICIPANT_TAG_KEY:
            continue
        value = params.get(f"Tags.member.{match.group(1)}.Value") if match.group(1) else None
        if value is None or value != own_tag_value(who.user_name):
            return evaluation.resource_of(
                service, action, params, who
            ), f"a workshop room's {PARTICIPANT_TAG_KEY} tag names the participant who acts, and nobody else"
    return None


def install() -> None:
    """Make the access evaluation apply participants' boundaries and the room's own rules."""
    authorization.boundary_of = boundary
    authorization.room_rule = rule
