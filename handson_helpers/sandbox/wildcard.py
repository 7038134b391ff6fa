"""AWS's policy wildcards, ``*`` (any run of characters) and ``?`` (one character), and nothing else.

One matcher for everything the sandbox matches: Action, NotAction, Resource and the ``…Like`` and
``Arn…`` condition operators. A regular expression built from a pattern backtracks exponentially
on a pattern of many ``*`` (``user/`` followed by forty ``*`` and a letter held the room's lock
for hours); this greedy two-pointer walk goes back only to the last ``*`` seen, so it takes at
most (len(pattern) + 1) * (len(value) + 1) steps, and about len(pattern) + len(value) for the
patterns policies hold. Moto-free, so tests can count its steps directly.
"""

from __future__ import annotations


def walk(pattern: str, value: str) -> tuple[bool, int]:
    """Whether ``value`` matches ``pattern`` whole, and how many steps that took."""
    p = v = steps = 0
    star, resume = -1, 0  # the last '*' seen, and where in value its run ends so far
    while v < len(value):
        steps += 1
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, v
            p += 1
        elif p < len(pattern) and (pattern[p] == "?" or pattern[p] == value[v]):
            p += 1
            v += 1
        elif star >= 0:  # let the last '*' take one more character, and go on after it
            resume += 1
            p, v = star + 1, resume
        else:
            return False, steps
    while p < len(pattern) and pattern[p] == "*":
        p += 1
        steps += 1
    return p == len(pattern), steps


def matches(pattern: str, value: str) -> bool:
    return walk(pattern, value)[0]
