"""Files the kit writes: only what is missing is created, nothing existing is chmodded or followed.

The QR PNG carries the TOTP seed, and the sandbox's folder holds its credentials, so both live in
folders that only their owner can change. A folder that others can write to (they could swap
the file for a link), or that belongs to someone else, is refused with what to choose instead;
a path that is a link is never written through.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from . import lite
from .errors import HandsonError
from .texts import safefs as texts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BASE32_KEY = re.compile(rb"[A-Z2-7]{16,128}=*\n?")


def _me() -> int:
    """This process's user (Pyodide, one user, has getuid only)."""
    return os.geteuid() if hasattr(os, "geteuid") else os.getuid()


def _group_is_only_me(gid: int) -> bool:
    """A group no one else is in (a user's private group, or `users` in a single-user container)."""
    import grp
    import pwd

    try:
        me = pwd.getpwuid(_me()).pw_name
        members = set(grp.getgrgid(gid).gr_mem)
    except KeyError:
        return False
    members |= {p.pw_name for p in pwd.getpwall() if p.pw_gid == gid}
    return members <= {me}


def _others_can_write(st: os.stat_result) -> bool:
    if lite.ACTIVE:  # a browser tab's files have one user, and its drive reports every file 0666
        return False
    return bool(st.st_mode & stat.S_IWOTH or (st.st_mode & stat.S_IWGRP and not _group_is_only_me(st.st_gid)))


def only_mine(path: Path) -> bool:
    """The file's mode is 0600. In the browser every file is the one learner's, and the kernel's
    drive keeps no mode across a page reload (it reports 0666 then): nothing to check there."""
    return lite.ACTIVE or stat.S_IMODE(os.lstat(path).st_mode) == 0o600


def folder_problem(folder: Path) -> str | None:
    """Why the kit must not keep a private file in ``folder`` (Japanese), or None.

    No part of the path may be a link someone else could repoint. An existing folder must be
    yours and writable by nobody else. A missing one will be created 0700 in its nearest existing
    parent, which, like every folder above, must belong to you or root and may be writable by
    others only when sticky (as /tmp, where nobody can rename another user's entries).
    """
    folder = Path(os.path.abspath(folder))
    me = _me()
    for component in reversed([folder, *folder.parents]):
        if os.path.islink(component) and os.lstat(component).st_uid not in (me, 0):
            return texts.FOREIGN_LINK.format(path=component)
    existing = next(p for p in [folder, *folder.parents] if os.path.lexists(p))
    if not existing.is_dir():
        return texts.NOT_A_FOLDER.format(path=existing)
    real = Path(os.path.realpath(existing))
    for current in [real, *real.parents]:
        st = current.stat()
        holds_the_file = existing == folder and current == real
        if st.st_uid != me and (holds_the_file or st.st_uid != 0):
            return texts.FOREIGN_FOLDER.format(path=current)
        if _others_can_write(st) and (holds_the_file or not st.st_mode & stat.S_ISVTX):
            return texts.SHARED_FOLDER.format(path=current)
    if not os.access(real, os.W_OK | os.X_OK):
        return texts.NO_WRITE.format(path=real)
    return None


def private_folder(folder: Path, label: str) -> Path:
    """``folder``, creating each missing level 0700; an existing one is checked, never chmodded."""
    problem = folder_problem(folder)
    if problem:
        raise HandsonError(texts.UNSAFE_FOLDER.format(label=label, problem=problem), "UnsafeFolder")
    folder = Path(os.path.abspath(folder))
    missing = []
    for current in [folder, *folder.parents]:
        if os.path.lexists(current):
            break
        missing.append(current)
    for current in reversed(missing):
        try:
            os.mkdir(current, 0o700)
        except FileExistsError:
            pass  # created a moment ago by a concurrent run; checked below
    problem = folder_problem(folder)
    if problem:  # something appeared in the meantime
        raise HandsonError(texts.RACED_FOLDER.format(label=label, problem=problem), "UnsafeFolder")
    return Path(os.path.realpath(folder))  # resolved once: later opens cannot be redirected


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be (re)written as the kit's private file, or None."""
    if not os.path.lexists(path):
        return folder_problem(path.parent)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return texts.LINK.format(path=path)
    if not stat.S_ISREG(st.st_mode):
        return texts.NOT_A_FILE.format(path=path)
    if st.st_uid != _me():
        return texts.FOREIGN_FILE.format(path=path)
    if st.st_size and read_bootstrap(path) is None:
        return texts.OTHER_CONTENT.format(path=path)
    return folder_problem(path.parent)


def write_private(path: Path, data: bytes, label: str) -> Path:
    """Write ``data`` as a new file only its owner can read (0600), never through a link.

    An earlier file of ours at the same path is replaced (a re-created device's new QR).
    """
    problem = file_problem(path)
    if problem:
        raise HandsonError(texts.UNSAFE_FILE.format(label=label, path=path, problem=problem), "UnsafeFile")
    folder = private_folder(path.parent, label)
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            os.unlink(path.name, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        fd = os.open(path.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    finally:
        os.close(dir_fd)
    return folder / path.name


def own_file(path: Path) -> os.stat_result | None:
    """``path``'s lstat when it is a regular file of ours (a link is not followed), else None."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st if stat.S_ISREG(st.st_mode) and st.st_uid == _me() else None


def read_own(path: Path, limit: int | None = None) -> bytes | None:
    """The bytes of ``path`` when it is a regular file of ours (of at most ``limit`` bytes), read
    without following a link put there since; else None. The one way the kit reads its files back."""
    st = own_file(path)
    if st is None or (limit is not None and st.st_size > limit):
        return None
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as f:
        return f.read()


def read_bootstrap(path: Path) -> bytes | None:
    """The MFA bootstrap file at ``path`` if it is the kit's: a regular file of ours holding a PNG
    (QRCodePNG) or a base32 key (Base32StringSeed); else None."""
    data = read_own(path)
    return data if data is not None and (data.startswith(PNG_SIGNATURE) or BASE32_KEY.fullmatch(data)) else None


def remove_private(path: Path) -> bool:
    """Delete the kit's file at ``path``; a link, a folder or someone else's file is left alone."""
    if own_file(path) is None:
        if not os.path.lexists(path):
            return False
        raise HandsonError(texts.NOT_KITS_FILE.format(path=path), "ForeignFile")
    os.unlink(path)
    return True
