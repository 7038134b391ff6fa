"""The environments hold exactly the locked versions, and the locks agree with the ranges they come from.

locks/*.txt are written by ``make lock`` (uv pip compile, with hashes) from requirements.txt,
requirements-dev.txt, hub.py's _learner_requirements() and tests/requirements-ipykernel6.txt;
make setup/dev and the hub's set-up install them with ``--no-deps --require-hashes``.
``make test-latest`` runs the suite without this module (its venvs take the newest versions instead).
"""

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from handson_helpers import hub

REPO = Path(__file__).resolve().parents[1]
LOCKS = REPO / "locks"
PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*(.+?))?\s*\\?$")
# Not in the locks: the kit itself (installed from the work tree) and the venv's own installer
OUTSIDE_THE_LOCK = {"handson-iam-mfa", "pip", "setuptools", "wheel"}
UNUSED = {"rfc3987-syntax", "lark"}  # the Makefile's UNUSED: make lock leaves them out
IPYKERNEL6_PYTHON = Path(os.environ.get("HANDSON_IPYKERNEL6_PYTHON", REPO / ".venv-ipykernel6" / "bin" / "python"))


def pins(lock: str, environment: dict | None = None) -> dict[str, str]:
    """name -> version for every pin of a lock whose marker holds in ``environment`` (default: this Python)."""
    found = {}
    for line in (LOCKS / lock).read_text().splitlines():
        m = PIN.match(line)
        if m and (not m.group(3) or Marker(m.group(3)).evaluate(environment)):
            found[canonicalize_name(m.group(1))] = m.group(2)
    return found


def all_pins(lock: str) -> dict[str, set[str]]:
    """Every version a lock names per package, whatever the markers (a universal lock may fork)."""
    found: dict[str, set[str]] = {}
    for line in (LOCKS / lock).read_text().splitlines():
        if m := PIN.match(line):
            found.setdefault(canonicalize_name(m.group(1)), set()).add(m.group(2))
    return found


def ranges(text: str) -> list[Requirement]:
    """The requirements of a requirements file's text, following ``-r``; ``-e .`` is the kit."""
    found = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            found += ranges((REPO / line[2:].strip()).read_text())
        elif line and not line.startswith("-"):
            found.append(Requirement(line))
    return found


def differences(installed: dict[str, str], locked: dict[str, str]) -> list[str]:
    names = (set(installed) | set(locked)) - OUTSIDE_THE_LOCK
    return [f"{n}: installed {installed.get(n, '-')}, locked {locked.get(n, '-')}" for n in sorted(names) if installed.get(n) != locked.get(n)]


def _installed_here() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def test_this_environment_is_exactly_the_dev_lock():
    """make dev installs locks/dev.txt and nothing else (make clean dev after a lock dropped a package)."""
    assert differences(_installed_here(), pins("dev.txt")) == [], f"{sys.prefix} differs from locks/dev.txt: make clean dev"


def test_the_ipykernel6_environment_is_exactly_its_lock():
    if not IPYKERNEL6_PYTHON.exists():
        pytest.fail(f"{IPYKERNEL6_PYTHON} is missing: `make test` builds it (locks/ipykernel6.txt)")
    code = "import importlib.metadata as m, json; print(json.dumps([(d.metadata['Name'], d.version) for d in m.distributions()]))"
    out = subprocess.run([str(IPYKERNEL6_PYTHON), "-c", code], capture_output=True, text=True, check=True).stdout
    installed = {canonicalize_name(name): version for name, version in json.loads(out)}
    assert differences(installed, pins("ipykernel6.txt")) == []


@pytest.mark.parametrize(
    "lock, source",
    [
        ("learner.txt", lambda: (REPO / "requirements.txt").read_text()),
        ("dev.txt", lambda: (REPO / "requirements-dev.txt").read_text()),
        ("hub.txt", hub._learner_requirements),
        ("ipykernel6.txt", lambda: (REPO / "tests" / "requirements-ipykernel6.txt").read_text()),
    ],
)
def test_each_lock_pins_every_range_within_the_range(lock, source):
    """A range edited without make lock fails here, not on a learner's machine next month."""
    locked = all_pins(lock)
    wrong = []
    for req in ranges(source()):
        if req.marker and not req.marker.evaluate():
            continue
        versions = locked.get(canonicalize_name(req.name), set())
        if not versions or not all(req.specifier.contains(v, prereleases=True) for v in versions):
            wrong.append(f"{req}: locked {sorted(versions) or 'nothing'}")
    assert wrong == [], f"locks/{lock} is out of date: run make lock"


@pytest.mark.parametrize("lock", ["dev.txt", "hub.txt"])
def test_the_dev_and_hub_locks_hold_the_learners_versions(lock):
    """What make test tests is what a learner and the hub's participants get."""
    learner, other = all_pins("learner.txt"), all_pins(lock)
    assert {n: v for n, v in learner.items() if other.get(n) != v} == {}


@pytest.mark.parametrize("lock", ["learner.txt", "dev.txt", "hub.txt", "ipykernel6.txt"])
def test_every_pin_has_hashes_and_the_unused_iri_grammar_is_left_out(lock):
    text = (LOCKS / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 3)[-1])
    unhashed = [e.split()[0] for e in entries if PIN.match(e.splitlines()[0]) and "--hash=sha256:" not in e]
    assert unhashed == []
    assert not UNUSED & set(all_pins(lock))


@pytest.mark.parametrize("python_full_version", ["3.11.2", "3.11.7"])  # /usr/bin/python3 (the hub) and this one
def test_the_locks_resolve_on_both_pythons_here(python_full_version):
    """A universal lock may fork by Python version: each lock still names one version per package on each."""
    environment = {"python_full_version": python_full_version, "python_version": "3.11", "sys_platform": "linux", "os_name": "posix"}
    for lock in ("learner.txt", "hub.txt"):
        found: dict[str, list[str]] = {}
        for line in (LOCKS / lock).read_text().splitlines():
            m = PIN.match(line)
            if m and (not m.group(3) or Marker(m.group(3)).evaluate(environment)):
                found.setdefault(canonicalize_name(m.group(1)), []).append(m.group(2))
        assert {n: v for n, v in found.items() if len(v) != 1} == {}
        assert {"moto", "jupyterlab", "ipykernel", "boto3"} <= set(found)
