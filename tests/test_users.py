"""Section 1 (users.py): the IAM user, read from IAM and shown as the page's command."""

import json

import pytest
from helpers import PATH, USER, aws_args

import handson_helpers as hh
from handson_helpers import settings, users


@pytest.mark.parametrize("participant", ["", "taro", "田中 太郎"])
def test_the_create_user_command_passes_exactly_the_kits_values_and_tags(participant):
    user, path = "handson-cli-basic-user", "/a b/*/"  # a path that would split and glob unquoted
    args = aws_args(users.create_user_command(user, path, participant), IAM_USER_NAME=user, IAM_USER_PATH=path)
    assert args[:6] == ["iam", "create-user", "--user-name", user, "--path", path] and args[6] == "--tags"
    tags = args[7:]
    if len(tags) == 1 and tags[0].startswith("["):
        assert json.loads(tags[0]) == settings.kit_tags(participant)
    else:
        assert [dict(part.split("=", 1) for part in t.split(",")) for t in tags] == settings.kit_tags(participant)


def test_get_user_reads_iam_and_says_none_for_a_missing_user(ctx, iam):
    assert users.get_user(ctx, USER) is None
    iam.create_user(UserName=USER, Path=PATH)
    assert users.get_user(ctx, USER)["Path"] == PATH


def test_listed_follows_every_page_and_reads_a_missing_user_as_empty(ctx, iam):
    for n in range(5):
        iam.create_user(UserName=f"u{n}")
    assert sorted(
        u["UserName"] for u in users.listed(ctx, "list_users", "Users", PaginationConfig={"PageSize": 2})
    ) == [f"u{n}" for n in range(5)]
    assert users.user_tags(ctx, "nobody-here") == []


def test_only_a_user_the_kit_made_for_this_learner_is_the_kits(ctx, iam):
    hh.create_user(ctx, USER, PATH)
    iam.create_user(UserName="same-path-no-tags", Path=PATH)
    iam.create_user(UserName="tags-elsewhere", Path="/", Tags=settings.kit_tags(ctx.participant))
    iam.create_user(UserName="another-participant", Path=PATH, Tags=settings.kit_tags("hanako"))
    assert users.user_tags(ctx, USER) == settings.kit_tags(ctx.participant)
    verdicts = {
        name: users.is_kits_user(ctx, users.get_user(ctx, name), PATH)
        for name in (USER, "same-path-no-tags", "tags-elsewhere", "another-participant")
    }
    assert verdicts == {USER: True, "same-path-no-tags": False, "tags-elsewhere": False, "another-participant": False}


def test_verify_user_passes_only_for_the_user_under_the_hands_on_path(ctx, iam):
    with pytest.raises(hh.HandsonError) as missing:
        users.verify_user(ctx, USER, PATH)
    assert missing.value.code == "CheckFailed"
    iam.create_user(UserName=USER, Path="/elsewhere/")
    with pytest.raises(hh.HandsonError):
        users.verify_user(ctx, USER, PATH)
    iam.delete_user(UserName=USER)
    users.create_user(ctx, USER, PATH)
    users.verify_user(ctx, USER, PATH)
    assert ctx.report.reports[-1].text.count("✔") == 1


def test_create_user_a_second_time_changes_nothing_and_says_so(ctx, iam):
    first = users.create_user(ctx, USER, PATH)
    again = users.create_user(ctx, USER, PATH)
    assert again["UserId"] == first["UserId"] and [u["UserName"] for u in iam.list_users()["Users"]] == [USER]
    assert "既に作成済み" in ctx.report.reports[-1].text and "何も変更していません" in ctx.report.reports[-1].text
