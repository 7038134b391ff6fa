"""A workshop room on JupyterHub: one sandbox for the whole room, each participant acting as their own IAM user.

The room sandbox is a JupyterHub service (``python -m handson_helpers.sandbox room``). A kernel
sends its server's ``JUPYTERHUB_API_TOKEN`` to the room; the room asks the hub whose token it is
and answers with the administrator's key for a hub admin (the instructor) and, for anyone else,
the access key of that participant's IAM user under ``/handson-room/``. That user's policy
(``scope_policy``) reaches only the participant's own names, and the room applies the same policy
as a boundary to every IAM user the participant creates, so a key made in 3.1 cannot reach further.

This module is the one definition of those names and rules, for the kit and the room alike; it
never imports moto.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .errors import HandsonError
from .rules import ACCOUNT_ID
from .settings import SEED_BACKUP_DEVICE_NAME, SEED_DEVICE_NAME, SEED_USER_NAME, SEED_USER_PATH, Settings
from .texts import room as texts

IDENTITY_PATH = "/handson-room/"
IDENTITY_PREFIX = "handson-room-"
IDENTITY_TAG_KEY = "handson-room-participant"
SCOPE_POLICY_NAME = "handson-room-scope"
CREDENTIALS_PATH = "/_handson/room/credentials"
HELP_PATH = "/_handson/room/help"  # 先生を呼ぶ: POST asks, DELETE ends (sandbox/help_desk.py)
# The hub's group of helpers: only an admin puts a user in it (``load_groups`` in the hub's config), so a
# participant who signed up under a helper's name first is not in it and the room never shares with them.
HELPER_GROUP = "handson-helpers"
# JupyterHub starts a managed service again as soon as it sees it exit
RESTART_GRACE_SECONDS = 10.0
# What the hands-on does with the participant's own user (1, 2.2, 23, 3.1, 40, 45, 後始末) and devices
# (2.1, 45, 後始末); nothing else, so no rename (UpdateUser), untagging or other path can move a name out of reach.
USER_ACTIONS = (
    "iam:CreateUser",
    "iam:GetUser",
    "iam:DeleteUser",
    "iam:TagUser",
    "iam:ListUserTags",
    "iam:CreateAccessKey",
    "iam:DeleteAccessKey",
    "iam:ListAccessKeys",
    "iam:PutUserPolicy",
    "iam:GetUserPolicy",
    "iam:DeleteUserPolicy",
    "iam:ListUserPolicies",
    "iam:ListAttachedUserPolicies",
    "iam:ListGroupsForUser",
    "iam:GetLoginProfile",
    "iam:EnableMFADevice",
    "iam:DeactivateMFADevice",
    "iam:ResyncMFADevice",
    "iam:ListMFADevices",
)
DEVICE_ACTIONS = (
    "iam:CreateVirtualMFADevice",
    "iam:DeleteVirtualMFADevice",
    "iam:TagMFADevice",
    "iam:ListMFADeviceTags",
)
# Only these reach beyond one's own names: the hands-on lists the account's users and devices.
ACCOUNT_LISTS = ("iam:ListUsers", "iam:ListVirtualMFADevices")


def identity_name(suffix: str) -> str:
    """The IAM user a participant (``settings.participant``'s suffix) acts as in the room."""
    return IDENTITY_PREFIX + suffix


def own_names(suffix: str) -> tuple[str, str]:
    """The user and device names a participant may create, use and delete: the seed's, scoped."""
    return f"{SEED_USER_NAME}-{suffix}", f"{SEED_DEVICE_NAME}-{suffix}"


def backup_name(suffix: str) -> str:
    """The second device a participant may add in 45 (settings.scoped's form of its seed name)."""
    return f"{SEED_BACKUP_DEVICE_NAME}-{suffix}"


def suffix_of(user_name: str) -> str | None:
    """Whose own user ``user_name`` is (their suffix), by name alone; None for any other name."""
    prefix = SEED_USER_NAME + "-"
    return user_name.lower()[len(prefix) :] if user_name.lower().startswith(prefix) else None


def participant_of(user_name: str) -> str | None:
    """Whose user ``user_name`` is in the room (their suffix): a participant's own user or identity."""
    if user_name.lower().startswith(IDENTITY_PREFIX):
        return user_name.lower()[len(IDENTITY_PREFIX) :]
    return suffix_of(user_name)


def device_fits(user_name: str, serial: str) -> bool:
    """The room's rule for MFA devices: a user named for a participant holds that participant's own
    devices (2.1's and 45's backup) and no other (AWS would let an administrator assign any device to any user)."""
    owner = participant_of(user_name)
    return owner is None or serial.lower() in {
        f"arn:aws:iam::{ACCOUNT_ID}:mfa/{name}".lower() for name in (own_names(owner)[1], backup_name(owner))
    }


def scope_policy(suffix: str) -> dict:
    """The participant's own user (at the hands-on's path, or "/"), devices (2.1's and 45's), and the
    two account-wide lists.

    The room applies it twice: as the participant's identity policy, and as the permissions
    boundary of every user named for the participant, whoever made it.
    """
    user, device = own_names(suffix)
    arn = f"arn:aws:iam::{ACCOUNT_ID}:"
    return {
        "Version": "2012-10-17",
        "Statement": [
            # the bare name too: a user that does not exist yet has no path (GetUser before 1 creates it)
            {
                "Sid": "OwnUser",
                "Effect": "Allow",
                "Action": list(USER_ACTIONS),
                "Resource": [f"{arn}user{SEED_USER_PATH}{user}", f"{arn}user/{user}"],
            },
            {
                "Sid": "OwnDevice",
                "Effect": "Allow",
                "Action": list(DEVICE_ACTIONS),
                "Resource": [f"{arn}mfa/{device}", f"{arn}mfa/{backup_name(suffix)}"],
            },
            {"Sid": "AccountLists", "Effect": "Allow", "Action": list(ACCOUNT_LISTS), "Resource": "*"},
        ],
    }


def _local_address(host: str) -> str | None:
    """The address of this machine that ``host`` names (127.1, 0x7f000001, localhost, its own
    host name, ...), or None for another machine's name."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for family, _, _, _, sockaddr in infos:
        address = str(sockaddr[0])
        if ipaddress.ip_address(address).is_loopback:
            return address
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((address, 0))  # only this machine's own addresses can be bound
            except OSError:
                continue
            return address
    return None


def url(settings: Settings) -> str:
    """HANDSON_ROOM_URL, with a name of this machine pinned to its address: the address whose
    listener is checked is the one the kernel connects to, however the URL spells it."""
    found = settings.room_url.rstrip("/")
    if not found:
        raise HandsonError(texts.NOT_CONFIGURED, "RoomNotConfigured")
    parts = urlsplit(found)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.scheme != "http":
        raise HandsonError(texts.BAD_URL.format(url=found), "RoomNotConfigured")
    local = _local_address(parts.hostname)
    if local is not None:
        found = urlunsplit(parts._replace(netloc=f"[{local}]:{port}" if ":" in local else f"{local}:{port}"))
    return found


def _proc_words(host: str) -> str:
    """An address as /proc/net/tcp prints it: each 32-bit word in host (little-endian) byte order."""
    packed = socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    return "".join(packed[i : i + 4][::-1].hex().upper() for i in range(0, len(packed), 4))


def socket_uid(host: str, port: int, peer: tuple[str, int] | None = None) -> int | None:
    """Who owns the socket on ``host:port`` of this machine (from /proc/net/tcp or tcp6): the one
    listening there (a wildcard bind included), or the one connected from there to ``peer``; None
    when there is none."""
    words = _proc_words(host)
    wanted = (words, "0" * len(words)) if peer is None else (words,)
    remote = None if peer is None else (_proc_words(peer[0]), peer[1])
    try:
        lines = Path("/proc/net/tcp6" if ":" in host else "/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        address, other = fields[1].rsplit(":", 1), fields[2].rsplit(":", 1)
        if int(address[1], 16) != port or address[0] not in wanted:
            continue
        if (fields[3] == "0A") if remote is None else (other[0] == remote[0] and int(other[1], 16) == remote[1]):
            return int(fields[7])
    return None


def listener_uid(host: str, port: int) -> int | None:
    """Who owns the socket listening on ``host:port`` (an IP address of this machine), or None."""
    return socket_uid(host, port)


def check_listener(where: str, expected: int, grace: float = RESTART_GRACE_SECONDS) -> None:
    """On this machine, the hub's token goes only to a room that runs as the hub's user.

    A participant could otherwise bind the room's port while the room is down and collect the
    tokens of everyone who connects; a socket's owner is something no other user can fake. Nobody
    listening is waited for ``grace`` seconds at most (the hub restarting the room), never longer.
    """
    parts = urlsplit(where)  # url() has pinned any name of this machine to an address
    try:
        host = str(ipaddress.ip_address(parts.hostname or ""))
    except ValueError:
        return  # another machine's name (e.g. the hub's Service on Kubernetes), whose network the hub guards
    if parts.port is None:
        return
    deadline = time.monotonic() + grace
    owner = listener_uid(host, parts.port)
    while owner is None and time.monotonic() < deadline:  # the hub restarts a room that exited
        time.sleep(0.5)
        owner = listener_uid(host, parts.port)
    if owner != expected:
        who = texts.NOBODY_LISTENS if owner is None else texts.WRONG_LISTENER.format(owner=owner, expected=expected)
        raise HandsonError(texts.UNTRUSTED_LISTENER.format(url=where, who=who), "RoomUnreachable")


def ask(
    settings: Settings, path: str, method: str = "GET", timeout: float = 10.0, grace: float = RESTART_GRACE_SECONDS
):
    """The room's answer to ``path``, asked with the server's hub token (never stored) once the
    room's socket is the hub's; urllib's HTTPError for a refusal, HandsonError when there is no room.
    Bounded: ``grace`` for a room that is restarting, ``timeout`` for its answer."""
    where = url(settings)
    token = settings.hub_token
    if not token:
        raise HandsonError(texts.NO_HUB_TOKEN, "RoomNotConfigured")
    check_listener(where, int(settings.room_uid or 0), grace)
    request = urllib.request.Request(where + path, method=method, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError:
        raise
    except (OSError, ValueError):
        raise HandsonError(texts.UNREACHABLE, "RoomUnreachable") from None


def credentials(settings: Settings, timeout: float = 10.0) -> dict[str, str]:
    """This participant's keys from the room."""
    try:
        data = ask(settings, CREDENTIALS_PATH, timeout=timeout)
    except urllib.error.HTTPError as exc:
        reason = texts.HUB_REFUSED if exc.code in (401, 403) else f"HTTP {exc.code}"
        raise HandsonError(texts.REFUSED.format(reason=reason), "RoomRefused") from None
    fields = ("AccessKeyId", "SecretAccessKey", "Role")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data.get(k) for k in fields):
        raise HandsonError(texts.UNREADABLE, "RoomUnreachable")
    return data
