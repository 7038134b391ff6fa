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

from .errors import HandsonError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BASE32_KEY = re.compile(rb"[A-Z2-7]{16,128}=*\n?")


def _group_is_only_me(gid: int) -> bool:
    """A group no one else is in (a user's private group, or `users` in a single-user container)."""
    import grp
    import pwd

    try:
        me = pwd.getpwuid(os.geteuid()).pw_name
        members = set(grp.getgrgid(gid).gr_mem)
    except KeyError:
        return False
    members |= {p.pw_name for p in pwd.getpwall() if p.pw_gid == gid}
    return members <= {me}


def _others_can_write(st: os.stat_result) -> bool:
    return bool(st.st_mode & stat.S_IWOTH or (st.st_mode & stat.S_IWGRP and not _group_is_only_me(st.st_gid)))


def folder_problem(folder: Path) -> str | None:
    """Why the kit must not keep a private file in ``folder`` (Japanese), or None.

    No part of the path may be a link someone else could repoint. An existing folder must be
    yours and writable by nobody else. A missing one will be created 0700 in its nearest existing
    parent, which, like every folder above, must belong to you or root and may be writable by
    others only when sticky (as /tmp, where nobody can rename another user's entries).
    """
    folder = Path(os.path.abspath(folder))
    me = os.geteuid()
    for component in reversed([folder, *folder.parents]):
        if os.path.islink(component) and os.lstat(component).st_uid not in (me, 0):
            return f"{component} は別のユーザーのシンボリックリンクです"
    existing = next(p for p in [folder, *folder.parents] if os.path.lexists(p))
    if not existing.is_dir():
        return f"{existing} はディレクトリではありません"
    real = Path(os.path.realpath(existing))
    for current in [real, *real.parents]:
        st = current.stat()
        holds_the_file = existing == folder and current == real
        if st.st_uid != me and (holds_the_file or st.st_uid != 0):
            return f"{current} は別のユーザーのディレクトリです"
        if _others_can_write(st) and (holds_the_file or not st.st_mode & stat.S_ISVTX):
            return f"{current} は他のユーザーも書き込めるディレクトリです"
    if not os.access(real, os.W_OK | os.X_OK):
        return f"{real} に書き込む権限がありません"
    return None


def private_folder(folder: Path, label: str) -> Path:
    """``folder``, creating each missing level 0700; an existing one is checked, never chmodded."""
    problem = folder_problem(folder)
    if problem:
        raise HandsonError(
            f"{label} に指定されたディレクトリは使えません: {problem}。自分だけが書き込めるディレクトリ(例: ホームディレクトリの下)を指定してください。何も変更していません。",
            "UnsafeFolder",
        )
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
        raise HandsonError(f"{label} のディレクトリを安全に作成できませんでした: {problem}。", "UnsafeFolder")
    return Path(os.path.realpath(folder))  # resolved once: later opens cannot be redirected


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be (re)written as the kit's private file, or None."""
    if not os.path.lexists(path):
        return folder_problem(path.parent)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return f"{path} はシンボリックリンクです"
    if not stat.S_ISREG(st.st_mode):
        return f"{path} はファイルではありません(ディレクトリなど)"
    if st.st_uid != os.geteuid():
        return f"{path} は別のユーザーのファイルです"
    if st.st_size and read_bootstrap(path) is None:
        return f"{path} には既に別の内容のファイルがあります"
    return folder_problem(path.parent)


def write_private(path: Path, data: bytes, label: str) -> Path:
    """Write ``data`` as a new file only its owner can read (0600), never through a link.

    An earlier file of ours at the same path is replaced (a re-created device's new QR).
    """
    problem = file_problem(path)
    if problem:
        raise HandsonError(
            f"{label} {path} に書き込めません: {problem}。別の場所を指定するか、そのファイルを確認してください。何も変更していません。",
            "UnsafeFile",
        )
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


def read_bootstrap(path: Path) -> bytes | None:
    """The MFA bootstrap file at ``path`` if it is the kit's: a regular file of ours holding a PNG
    (QRCodePNG) or a base32 key (Base32StringSeed); else None."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        return None
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    return data if data.startswith(PNG_SIGNATURE) or BASE32_KEY.fullmatch(data) else None


def remove_private(path: Path) -> bool:
    """Delete the kit's file at ``path``; a link, a folder or someone else's file is left alone."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
        raise HandsonError(f"{path} はキットが作成したファイルではないため削除しません。中身を確認して、必要なら手で削除してください。", "ForeignFile")
    os.unlink(path)
    return True
