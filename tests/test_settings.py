import pytest

from handson_helpers import settings


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("", ""),
        ("taro", "taro"),
        ("bob@example.com", "bob@example.com"),
        ("p07", "p07"),
        ("taro.yamada", "taro.yamada"),
    ],
)
def test_a_plain_participant_id_is_used_as_it_is(monkeypatch, raw, expected):
    monkeypatch.setenv("HANDSON_PARTICIPANT", raw)
    assert settings.participant() == expected


@pytest.mark.parametrize(
    "raw, readable",
    [
        ("山田 太郎", "p"),
        ("alice smith", "alice-smith"),
        ("a" * 40, "a" * 11),
        ("Alice", "alice"),
        ("x-0123abcd", "x-0123abcd"),
    ],
)
def test_any_other_participant_id_gets_a_readable_part_and_a_hash(raw, readable):
    suffix = settings.participant(raw)
    assert suffix.startswith(readable + "-") and len(suffix) <= settings.PARTICIPANT_MAX
    assert settings.HASHED_RE.fullmatch(suffix) and suffix == suffix.lower()


def test_without_a_participant_the_seeds_names_exactly(monkeypatch):
    monkeypatch.delenv("HANDSON_PARTICIPANT", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    assert settings.scoped("handson-cli-basic-user") == "handson-cli-basic-user"
    assert (
        settings.expected()["FILE_MFA_OUTFILE"]
        == "${HOME}/environment/tmp-handson-cli-iam-user-basic/handson-cli-basic-user-mfa.png"
    )


def test_jupyterhub_user_scopes_names_within_iam_limits(monkeypatch):
    monkeypatch.delenv("HANDSON_PARTICIPANT", raising=False)
    monkeypatch.setenv("JUPYTERHUB_USER", "participant-with-a-very-long-name-indeed")
    name = settings.scoped("handson-cli-basic-user")
    assert name.startswith("handson-cli-basic-user-") and len(name) <= 64
    assert settings.problem("IAM_USER_NAME", name) is None
    assert settings.expected()["MFA_DEVICE_NAME"].endswith(settings.participant())


def test_check_marks_mismatch_and_invalid_values(monkeypatch):
    monkeypatch.delenv("HANDSON_PARTICIPANT", raising=False)
    rows = settings.check(
        {"IAM_USER_NAME": "handson-cli-basic-user", "IAM_USER_PATH": "/x", "MFA_DEVICE_NAME": "other"}
    )
    assert [r.ok for r in rows] == [True, False, False]
    assert rows[1].reason.startswith("パスは") and rows[2].reason == "期待値と異なります"
    assert [r.number for r in rows] == [1, 2, 3]


def test_the_kits_own_checks_work_with_a_broken_aws_profile():
    """The rules come from botocore's data files, not from a session that reads the learner's config."""
    import os
    import subprocess
    import sys

    code = "from handson_helpers import settings; print(settings.problem('IAM_USER_NAME', 'a b') is not None)"
    env = dict(os.environ, AWS_PROFILE="no-such-profile", AWS_CONFIG_FILE="/nonexistent")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "True", out.stderr


COLLIDING = [
    ("workshop-participant-01", "workshop-participant-02"),  # the example: cut to 20 characters
    ("田中", "佐藤"),  # non-ASCII dropped
    ("alice smith", "alice-smith"),  # replaced
    ("Alice", "alice"),  # IAM names ignore case
    (
        "alice smith",
        "alice-smith-" + __import__("hashlib").sha256(b"alice smith").hexdigest()[:8],
    ),  # a crafted look-alike
    ("山田 太郎", "p-" + __import__("hashlib").sha256("山田 太郎".encode()).hexdigest()[:8]),
    ("a" * 30 + "1", "a" * 30 + "2"),
    ("bob@example.com", "bob@example.com "),  # trailing space: stripped by the kit, so the same person
]


@pytest.mark.parametrize("first, second", COLLIDING, ids=[f"{a}|{b}" for a, b in COLLIDING])
def test_distinct_participant_ids_get_distinct_valid_names(first, second):
    a, b = settings.participant(first.strip()), settings.participant(second.strip())
    if first.strip() == second.strip():
        assert a == b
        return
    assert a.lower() != b.lower()
    for suffix in (a, b):
        user, device = (
            settings.scoped("handson-cli-basic-user", suffix),
            settings.scoped("handson-cli-basic-user-mfa", suffix),
        )
        assert settings.problem("IAM_USER_NAME", user) is None and settings.problem("MFA_DEVICE_NAME", device) is None
