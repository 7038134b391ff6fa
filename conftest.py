"""Every pytest run (unit tests and nbval) gets its own HOME and sandbox, never the learner's.

Under pytest-xdist (make test) each worker process imports this file itself, so each worker
has its own HOME and sandbox; the controller checks at the end that no two workers shared a
HOME and that every worker stopped its sandbox.
"""

import os
import shutil
import tempfile
import time

import pytest

_home = tempfile.mkdtemp(prefix="handson-test-")
_workers: list[dict] = []  # in the controller: what each worker reported
_nbval_started = False


def pytest_configure(config):
    for key in [k for k in os.environ if k.startswith("AWS_")] + [
        "HANDSON_PARTICIPANT",
        "JUPYTERHUB_USER",
        "HANDSON_AWS_ACCOUNT_ID",
    ]:
        os.environ.pop(key, None)
    os.environ.update(
        HOME=_home,
        HANDSON_HOME=os.path.join(_home, ".handson-iam-mfa"),
        HANDSON_TARGET="sandbox",
        HANDSON_AUTO_MFA="1",
        HANDSON_SANDBOX_SERVER="tests.sandbox_faults",
    )


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    """nbval runs the notebooks one after another, each building on the one before: one worker (--dist loadgroup)."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.xdist_group("nbval"))


def pytest_runtest_setup(item):
    """The notebooks start, as a learner's would, from an empty sandbox and no QR file, whatever ran before on this
    worker."""
    global _nbval_started
    if item.path.suffix == ".ipynb" and not _nbval_started:
        from handson_helpers import sandbox

        _nbval_started = True
        sandbox.reset()
        shutil.rmtree(os.path.join(_home, "environment"), ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _workers.append(getattr(node, "workeroutput", {}).get("handson"))


@pytest.hookimpl(trylast=True)  # after the fixtures' teardown
def pytest_sessionfinish(session):
    from handson_helpers import sandbox

    running = sandbox.running()
    sandbox.stop()
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["handson"] = {"home": _home, "sandbox": running and running.pid}
    reports = [r for r in _workers if r]
    homes = [r["home"] for r in reports]
    alive = [r["sandbox"] for r in reports if r["sandbox"] and _still_alive(r["sandbox"])]
    problems = ([f"workers shared a HOME: {homes}"] if len(set(homes)) != len(homes) else []) + (
        [f"sandboxes still running after the workers stopped them: {alive}"] if alive else []
    )
    for problem in problems:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(problem, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _still_alive(pid: int, grace: float = 10.0) -> bool:
    """Whether a sandbox outlived its worker: a stopped server may take a moment to go, and one whose
    parent exited stays a zombie until the machine's init reaps it; neither is running."""
    from handson_helpers.sandbox.control import _alive

    deadline = time.monotonic() + grace
    while _alive(pid):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)
    return False


def pytest_unconfigure(config):
    shutil.rmtree(_home, ignore_errors=True)
