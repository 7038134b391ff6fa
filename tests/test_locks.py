"""The environments hold exactly the locked versions, and the locks agree with the ranges they come from.

locks/*.txt are written by ``make lock`` (uv pip compile, with hashes) from requirements.txt (whose
``-e .`` brings the dependencies pyproject.toml declares), requirements-dev.txt, hub.py's
_learner_requirements(), tests/requirements-ipykernel6.txt and tests/requirements-colab.txt;
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
import tomllib
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
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
IPYKERNEL6_PYTHON = Path(os.environ.get("HANDSON_IPYKERNEL6_PYTHON", REPO / ".venv-ipykernel6" / "bin" / "python"))
COLAB_PYTHON = Path(os.environ.get("HANDSON_COLAB_PYTHON", REPO / ".venv-colab" / "bin" / "python"))


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
    """The requirements of a requirements file's text, following ``-r``; ``-e .`` is the kit, with the
    dependencies its pyproject.toml declares."""
    found = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r"):
            found += ranges((REPO / line[2:].strip()).read_text())
        elif line == "-e .":
            found += [Requirement(r) for r in PROJECT["dependencies"]]
        elif line and not line.startswith("-"):
            found.append(Requirement(line))
    return found


def differences(installed: dict[str, str], locked: dict[str, str]) -> list[str]:
    names = (set(installed) | set(locked)) - OUTSIDE_THE_LOCK
    return [
        f"{n}: installed {installed.get(n, '-')}, locked {locked.get(n, '-')}"
        for n in sorted(names)
        if installed.get(n) != locked.get(n)
    ]


def _installed_here() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}


def test_this_environment_is_exactly_the_dev_lock():
    """make dev installs locks/dev.txt and nothing else (make clean dev after a lock dropped a package)."""
    assert differences(_installed_here(), pins("dev.txt")) == [], (
        f"{sys.prefix} differs from locks/dev.txt: make clean dev"
    )


@pytest.mark.parametrize("python, lock", [(IPYKERNEL6_PYTHON, "ipykernel6.txt"), (COLAB_PYTHON, "colab.txt")])
def test_each_kernel_environment_is_exactly_its_lock(python, lock):
    if not python.exists():
        pytest.fail(f"{python} is missing: `make dev` builds it (locks/{lock})")
    code = (
        "import importlib.metadata as m, json, platform; print(json.dumps([platform.python_version(), "
        "[(d.metadata['Name'], d.version) for d in m.distributions()]]))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout
    version, dists = json.loads(out)
    installed = {canonicalize_name(name): v for name, v in dists}
    # the lock's markers as that Python reads them (Colab's lock is for 3.12)
    environment = {"python_full_version": version, "python_version": ".".join(version.split(".")[:2])}
    assert differences(installed, pins(lock, environment)) == []


@pytest.mark.parametrize(
    "lock, source",
    [
        ("learner.txt", lambda: (REPO / "requirements.txt").read_text()),
        ("dev.txt", lambda: (REPO / "requirements-dev.txt").read_text()),
        ("hub.txt", hub._learner_requirements),
        ("hub5.txt", lambda: hub._learner_requirements("5")),
        ("ipykernel6.txt", lambda: (REPO / "tests" / "requirements-ipykernel6.txt").read_text()),
        ("colab.txt", lambda: (REPO / "tests" / "requirements-colab.txt").read_text()),
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


@pytest.mark.parametrize("lock", ["dev.txt", "hub.txt", "hub5.txt"])
def test_the_dev_and_hub_locks_hold_the_learners_versions(lock):
    """What make test tests is what a learner and the hub's participants get."""
    learner, other = all_pins("learner.txt"), all_pins(lock)
    assert {n: v for n, v in learner.items() if other.get(n) != v} == {}


@pytest.mark.parametrize("lock", ["learner.txt", "dev.txt", "hub.txt", "hub5.txt", "ipykernel6.txt", "colab.txt"])
def test_every_pin_has_hashes_and_the_unused_iri_grammar_is_left_out(lock):
    text = (LOCKS / lock).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 3)[-1])
    unhashed = [e.split()[0] for e in entries if PIN.match(e.splitlines()[0]) and "--hash=sha256:" not in e]
    assert unhashed == []
    assert not UNUSED & set(all_pins(lock))


@pytest.mark.parametrize("python_full_version", ["3.11.2", "3.11.7"])  # /usr/bin/python3 (the hub) and this one
def test_the_locks_resolve_on_both_pythons_here(python_full_version):
    """A universal lock may fork by Python version: each lock still names one version per package on each."""
    environment = {
        "python_full_version": python_full_version,
        "python_version": "3.11",
        "sys_platform": "linux",
        "os_name": "posix",
    }
    for lock in ("learner.txt", "hub.txt", "hub5.txt"):
        found: dict[str, list[str]] = {}
        for line in (LOCKS / lock).read_text().splitlines():
            m = PIN.match(line)
            if m and (not m.group(3) or Marker(m.group(3)).evaluate(environment)):
                found.setdefault(canonicalize_name(m.group(1)), []).append(m.group(2))
        assert {n: v for n, v in found.items() if len(v) != 1} == {}
        assert {"moto", "jupyterlab", "ipykernel", "boto3"} <= set(found)


# Imported by the package and installed with a declared dependency of the same project
WITH = {"botocore": "boto3", "ipython": "ipykernel", "werkzeug": "flask"}
# The hub's own venv only (not in make dev's): the module and the distribution of the hub extra
HUB_MODULES = {"jupyterhub": "jupyterhub", "firstuseauthenticator": "jupyterhub-firstuseauthenticator"}


def test_the_package_declares_what_it_imports():
    """Every third-party module handson_helpers imports comes from a distribution pyproject.toml declares
    (JupyterHub's only in its ``hub`` extra, for hub_classes.py and the hub's config)."""
    import ast

    declared = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    hub_extra = {canonicalize_name(Requirement(r).name) for r in PROJECT["optional-dependencies"]["hub"]}
    providers = importlib.metadata.packages_distributions()
    imported: dict[str, set[str]] = {}
    for path in (REPO / "handson_helpers").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "handson_helpers":
                    imported.setdefault(top, set()).add(path.name)
    assert {"boto3", "moto", "ipywidgets", "qrcode", "pyotp"} <= set(imported)
    undeclared = []
    for module, where in sorted(imported.items()):
        if module in HUB_MODULES:
            if HUB_MODULES[module] not in hub_extra or where != {"hub_classes.py"}:
                undeclared.append(
                    f"{module}: not in the hub extra, or imported outside hub_classes.py ({', '.join(sorted(where))})"
                )
            continue
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not (dists | {canonicalize_name(WITH.get(d, "")) for d in dists}) & declared:
            undeclared.append(
                f"{module} ({', '.join(sorted(dists)) or 'not installed'}), imported in {', '.join(sorted(where))}"
            )
    assert undeclared == []
