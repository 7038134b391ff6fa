"""Reporters: a step shows what it did through its Context's reporter; Silent keeps it unshown."""

from helpers import PATH, USER

import handson_helpers as hh
from handson_helpers import display


def test_a_step_given_a_silent_reporter_prints_nothing_and_keeps_its_command(sandbox, capsys):
    silent = hh.Silent()
    ctx = hh.connect(silent)
    hh.create_user(ctx, USER, PATH)
    assert capsys.readouterr().out == ""
    assert "接続先: ローカルサンドボックス" in silent.reports[0].text  # connect reports first
    [command] = [r for r in silent.reports if r.shell]
    assert command.shell.startswith("aws iam create-user \\\n  --user-name ${IAM_USER_NAME}")
    assert f'"UserName": "{USER}"' in command.text  # with the result IAM gave


def test_the_showing_reporter_prints_the_text_a_silent_one_keeps(capsys):
    silent = hh.Silent()
    for reporter in (display.SHOW, silent):
        reporter.command("aws iam list-users", "")
        reporter.message("warning", "注意")
        reporter.table("表", ["名前"], [["alice"]])
        assert reporter.check("確認", "1", "2", False) is False
    assert len(silent.reports) == 4
    assert capsys.readouterr().out == "".join(r.text + "\n" for r in silent.reports)


def test_invisible_characters_are_shown_escaped():
    from handson_helpers.display import visible

    assert visible("Ünï Code 田中") == "Ünï Code 田中"
    for sneaky in ("\u2028", "\u2029", "\u00a0", "\u3000", "\u200b", "\u202e", "\x1b", "\n", "\ufeff"):
        assert visible(f"alice{sneaky}bob") == f"alice\\u{ord(sneaky):04x}bob"
