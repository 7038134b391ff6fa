"""AWS's policy wildcards (sandbox/wildcard.py): `*` and `?` and nothing else, in steps linear in the input."""

import pytest
from helpers import USER_ARN_PREFIX

# (pattern, value, matches): AWS's two wildcards and nothing else; the pathological ones first
WILDCARDS = [
    (
        USER_ARN_PREFIX + "*" * 40 + "a",
        USER_ARN_PREFIX + "handson-cli/handson-cli-basic-user-bob",
        False,
    ),  # the review's
    (USER_ARN_PREFIX + "*" * 40 + "b", USER_ARN_PREFIX + "handson-cli/handson-cli-basic-user-bob", True),
    ("*a" * 60 + "b", "a" * 300, False),
    ("?*" * 60 + "b", "a" * 300, False),
    ("*" + "a" * 200 + "b", "a" * 400, False),
    ("*" * 2000, "x" * 600, True),
    ("iam:*", "iam:GetUser", True),
    ("iam:Get*", "iam:ListUsers", False),
    ("iam:???User", "iam:GetUser", True),
    ("iam:??User", "iam:GetUser", False),
    ("*", "", True),
    ("?", "", False),
    ("", "", True),
    ("a.b", "axb", False),  # no regular expression: a '.' is a dot
    ("a+", "aa", False),
    ("(a|b)", "a", False),
    ("[ab]", "a", False),
    ("a\\*", "a\\xyz", True),  # a backslash escapes nothing
    ("a$", "a", False),
    ("a*", "a\nb", True),  # '*' spans any character, a newline included
    ("*/handson-cli-basic-user-bob", USER_ARN_PREFIX + "handson-cli/handson-cli-basic-user-bob", True),
    ("*/handson-cli-basic-user-bob", USER_ARN_PREFIX + "handson-cli/handson-cli-basic-user-bobx", False),
]


@pytest.mark.parametrize(
    "pattern, value, expected", WILDCARDS, ids=[f"{p[:30]}…{len(p)}|{v[:20]}" for p, v, _ in WILDCARDS]
)
def test_wildcard_matching_is_awss_and_takes_steps_linear_in_the_input(pattern, value, expected):
    from handson_helpers.sandbox import wildcard

    matched, steps = wildcard.walk(pattern, value)
    assert matched is expected
    assert steps <= (len(pattern) + 1) * (len(value) + 1)  # the bound for any input
    if pattern.count("*") > 30 or len(pattern) > 1000:  # many stars, which backtracked exponentially: about linear
        assert steps <= 4 * (len(pattern) + len(value))


def test_wildcard_matching_agrees_with_a_regular_expression_on_small_inputs():
    """Every small pattern over a, b, * and ? against every small value: the same verdict as the
    regular expression it replaced (safe at this size)."""
    import itertools
    import re

    from handson_helpers.sandbox import wildcard

    values = ["".join(v) for n in range(5) for v in itertools.product("ab", repeat=n)]
    checked = 0
    for n in range(5):
        for pattern in map("".join, itertools.product("ab*?", repeat=n)):
            regex = re.compile(
                "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL
            )
            for value in values:
                assert wildcard.matches(pattern, value) is (regex.fullmatch(value) is not None), (pattern, value)
                checked += 1
    assert checked == 341 * 31
