"""Shell text the kit shows: the hands-on's own `${VAR}` form, safe to paste into bash.

Commands refer to variables the way the hands-on page does (``--user-name ${IAM_USER_NAME}``),
and the variables are shown as single-quoted assignments, so a value is passed exactly as the
kit used it and never runs: bash does not re-parse an expanded value for ``;`` or ``$(…)``. Two
things still happen to an unquoted expansion, word splitting and globbing, so a value with a
space or a ``*?[`` gets the reference in double quotes (``"${IAM_USER_PATH}"``).
"""

from __future__ import annotations

import json
import os
import re

from .texts.display import NOT_PRIVATE_FOLDER

PLAIN = re.compile(r"[A-Za-z0-9_+=,.@/:%-]+", re.ASCII)
# What may stand inside double quotes after ${HOME} without being expanded or breaking out.
DOUBLE_QUOTE_SAFE = re.compile(r"[^\"$`\\!\x00-\x1f\x7f]*", re.ASCII)


def quote(value: str) -> str:
    """A single-quoted bash word for ``value``, whatever it holds."""
    return "'" + value.replace("'", "'\\''") + "'"


def ref(name: str, value: str) -> str:
    """The reference to variable ``name`` as the hands-on writes it, quoted only where needed."""
    return f"${{{name}}}" if PLAIN.fullmatch(value) else f'"${{{name}}}"'


def assign(name: str, value: str) -> str:
    """``NAME='value'`` as on the page; a path under the home folder keeps ``"${HOME}/…"``."""
    home = os.path.expanduser("~").rstrip("/")
    if home and value.startswith(home + "/") and DOUBLE_QUOTE_SAFE.fullmatch(value[len(home) :]):
        return f'{name}="${{HOME}}{value[len(home) :]}"'
    return f"{name}={quote(value)}"


def continued(*lines: str) -> str:
    """Lines joined with `` \\`` continuations, as the page breaks long commands."""
    return " \\\n".join(lines)


def private_dir(folder: str) -> str:
    """The folder step as bash: create what is missing 0700, then refuse a folder that is not
    the learner's alone, as the kit does (safefs.folder_problem).

    ``folder`` is a reference from ``ref``. 設定値の確認 checked the folders that existed then; what
    could change since is a missing level made by another user (in a shared sticky folder such as
    /tmp) or a link put in its place, so every level of the real path (links resolved) must belong
    to the learner or root and be writable by nobody else unless sticky, and the folder itself must
    be a real folder of the learner's that others cannot write to (group write only for the
    learner's own group, as in a Jupyter docker-stacks home). A bare ``ls -d … || mkdir`` took any
    folder that was there.
    """
    mine = '-type d -user "$(id -u)" ! -perm -002 \\( ! -perm -020 -o -group "$(id -g)" \\)'
    return (
        f"(umask 077 && mkdir -p {folder}) \\\n"
        f"  && find {folder} -maxdepth 0 {mine} | grep -q . \\\n"
        "  && (\n"
        f"    D=$(cd -P {folder} && pwd -P) || exit 1\n"
        f'    find "${{D}}" -maxdepth 0 {mine} | grep -q . || exit 1\n'
        '    until [ "${D}" = / ]; do\n'
        '      D=$(dirname "${D}")\n'
        '      find "${D}" -maxdepth 0 \\( -user "$(id -u)" -o -user 0 \\) \\( ! -perm -002 -o -perm -1000 \\)'
        " | grep -q . || exit 1\n"
        "    done\n"
        "  ) \\\n"
        f'  || {{ echo "{NOT_PRIVATE_FOLDER.format(folder=folder.strip(chr(34)))}" >&2; false; }}'
    )


def tags_arg(tags: list[dict]) -> str:
    """``--tags`` in the CLI's shorthand where the values allow it, else as quoted JSON."""
    shorthand = re.compile(r"[A-Za-z0-9_.:/+@-]+", re.ASCII)
    if all(shorthand.fullmatch(t["Key"]) and shorthand.fullmatch(t["Value"]) for t in tags):
        return " ".join(f"Key={t['Key']},Value={t['Value']}" for t in tags)
    return quote(json.dumps(tags, ensure_ascii=False, separators=(",", ":")))
