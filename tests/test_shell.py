"""The shell text the kit shows (shell.py): values passed exactly and never run, and the folder step as
strict as the kit."""

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from helpers import FOLDERS, _folder, _modes

from handson_helpers import access_key, mfa, settings
from handson_helpers.shell import assign, continued, quote, ref, tags_arg

# The shown folder step refuses a link even to a folder of the learner's own (stricter than the kit).
SHELL_STRICTER = {"a link to a private folder"}


def _folder_steps(folder: Path) -> list[str]:
    """21's and 31's folder steps as shown, with their variables, ready for bash."""
    mkdir_qr, _ = mfa.create_commands("d", "QRCodePNG", str(folder), str(folder / "d.png"))
    mkdir_key = access_key.key_commands(str(folder), "u", str(folder / "u-access-key.txt"))["mkdir"]
    variables = f"{assign('DIR_MFA_OUTFILE', str(folder))}\n{assign('DIR_ACCESS_KEY', str(folder))}\n"
    return [f"set -eu\n{variables}{step}\n" for step in (mkdir_qr, mkdir_key)]


@pytest.mark.parametrize("kind", FOLDERS)
def test_the_shown_folder_step_refuses_what_the_kit_refuses(tmp_path, kind):
    """Issue 21 (10): `ls -d … || mkdir` took any folder that was there; the shown step is as strict as the kit."""
    folder, refused = _folder(tmp_path, kind)
    for script in _folder_steps(folder):
        before = _modes(tmp_path)
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path)
        if refused or kind in SHELL_STRICTER:
            assert proc.returncode != 0 and "自分だけが書き込めるディレクトリではありません" in proc.stderr, proc.stderr
            assert {k: v for k, v in _modes(tmp_path).items() if k in before} == before
        else:
            assert proc.returncode == 0, proc.stderr
            after = _modes(tmp_path)
            assert {k: v for k, v in after.items() if k in before} == before  # nothing existing changed
            assert all(stat.S_IMODE(after[new][0]) == 0o700 for new in set(after) - set(before))


@pytest.mark.parametrize(
    "case", ["a level above that anyone may write to, not sticky", "a link of the learner's into another user's folder"]
)
def test_the_shown_folder_step_checks_the_real_path_and_every_level_of_it(tmp_path, case):
    """The adversarial review: both were accepted by the shown step (the kit refused them), and the
    other user could then swap the folder for one holding a FIFO that 31's `>` wrote the key into."""
    if case.startswith("a level above"):
        shared = tmp_path / "open"
        shared.mkdir()
        shared.chmod(0o777)  # the learner's (root's here), but anyone may rename what is in it
        folder = shared / "keys"
    else:
        others = tmp_path / "others"
        others.mkdir()
        os.chown(others, 65534, 65534)
        others.chmod(0o777)
        (tmp_path / "link").symlink_to(others)
        folder = tmp_path / "link" / "keys"
    assert settings.problem("DIR_ACCESS_KEY", str(folder)) is not None  # the kit refuses it
    for script in _folder_steps(folder):
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, cwd=tmp_path)
        assert proc.returncode != 0 and "自分だけが書き込めるディレクトリではありません" in proc.stderr, proc.stderr


NASTY_VALUES = [
    "plain",
    "",
    "a b",
    "it's",
    "$(touch pwned)",
    "`touch pwned`",
    "${IFS}",
    "*",
    "line\nbreak",
    "tab\there",
    "田中 太郎",
    "back\\slash",
    '"quoted"',
    "!event",
    "-n",
]


def _bash(script: str, cwd) -> str:
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("value", NASTY_VALUES)
def test_a_value_assigned_and_referenced_as_shown_reaches_a_command_exactly_and_never_runs(tmp_path, value):
    (tmp_path / "a file that a glob would find").touch()
    script = f"{assign('VALUE', value)}\nprintf '%s\\0' {ref('VALUE', value)}\nprintf '%s\\0' {quote(value)}\n"
    assert _bash(script, tmp_path).split("\0")[:-1] == [value, value]
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    "value, reference",
    [
        ("handson-cli-basic-user", "${V}"),
        ("/handson-cli/", "${V}"),
        ("a b", '"${V}"'),
        ("/*/", '"${V}"'),
        ("", '"${V}"'),
    ],
)
def test_a_reference_is_quoted_only_where_bash_would_split_or_glob(value, reference):
    assert ref("V", value) == reference


def test_a_path_under_home_is_shown_with_home_and_still_means_that_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    inside, odd = f"{tmp_path}/environment/qr", f"{tmp_path}/$(x)"
    assert assign("DIR", inside) == 'DIR="${HOME}/environment/qr"'
    assert assign("DIR", odd) == f"DIR='{odd}'"  # what double quotes would expand is single-quoted instead
    out = _bash(f'{assign("A", inside)}\n{assign("B", odd)}\nprintf \'%s\\0\' "$A" "$B"', tmp_path)
    assert out.split("\0")[:-1] == [inside, odd]


def test_a_continued_command_is_one_command_in_bash(tmp_path):
    command = continued("printf '%s\\0' one", "  two", "  'three four'")
    assert command == "printf '%s\\0' one \\\n  two \\\n  'three four'"
    assert _bash(command, tmp_path).split("\0")[:-1] == ["one", "two", "three four"]


@pytest.mark.parametrize(
    "tags, shorthand",
    [
        ([{"Key": "handson-kit", "Value": "iam-mfa"}], True),
        ([{"Key": "handson-kit", "Value": "iam-mfa"}, {"Key": "handson-participant", "Value": "taro"}], True),
        ([{"Key": "handson-participant", "Value": "田中 太郎"}], False),
        ([{"Key": "handson-participant", "Value": "a,b=c"}], False),  # the shorthand's own separators
        ([{"Key": "handson-participant", "Value": "it's $(x)"}], False),
    ],
)
def test_tags_are_shorthand_where_the_values_allow_it_else_json_the_cli_reads_back(tmp_path, tags, shorthand):
    words = _bash(f"printf '%s\\0' {tags_arg(tags)}", tmp_path).split("\0")[:-1]
    if shorthand:
        assert [dict(part.split("=", 1) for part in word.split(",")) for word in words] == tags
    else:
        assert len(words) == 1 and json.loads(words[0]) == tags
