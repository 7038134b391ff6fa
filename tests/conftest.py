import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from helpers import IPCKernelManager, terminal_env

import handson_helpers as hh
from handson_helpers import sandbox as sb
from handson_helpers.sandbox import control

AWS_CLI = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


def pytest_configure(config):
    """nbval's kernels too; and Ctrl+C reaches the programs the tests interrupt even when the suite
    was started in the background (a shell without job control starts it with SIGINT ignored, and
    every child would inherit that: the interrupt cases would wait for an `aws` that cannot end)."""
    import nbval.kernel

    nbval.kernel.KernelManager = IPCKernelManager
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def zygote(tmp_path_factory):
    """This test process's fork server (zygote.py): a fast `aws` in zygote.bin, forked kernels through
    zygote.kernel_manager_class.

    HANDSON_TEST_FORK=0 (make test-nofork): the same fixture with real processes behind it instead.
    """
    from zygote import RealProcesses, Server

    fork = os.environ.get("HANDSON_TEST_FORK", "1")
    if fork not in ("0", "1"):
        pytest.fail(f"HANDSON_TEST_FORK={fork!r}: 1 (the fork server, the default) or 0 (real processes)")
    server = (
        Server(tmp_path_factory.mktemp("zygote"))
        if fork == "1"
        else RealProcesses(tmp_path_factory.mktemp("real"), AWS_CLI)
    )
    yield server
    server.stop()


@pytest.fixture
def sandbox():
    """The running sandbox, emptied, on its home's own port: a case that took that port from it (an
    impostor on the old port) moved it elsewhere, and a stop and start in a later case would move it
    back under that case's clients."""
    box = sb.reset()
    if box.port != control.preferred_port(sb.home()):
        sb.stop()
        box = sb.start()
    return box


@pytest.fixture
def iam(sandbox):
    return boto3.client("iam", endpoint_url=sandbox.url, region_name="ap-northeast-1", **sandbox.credentials)


@pytest.fixture
def sts(sandbox):
    return boto3.client("sts", endpoint_url=sandbox.url, region_name="ap-northeast-1", **sandbox.credentials)


@pytest.fixture
def ctx(sandbox):
    return hh.connect(hh.Silent())


@pytest.fixture
def aws_cli(sandbox, tmp_path, zygote):
    """Run the aws CLI against the sandbox, as a learner's terminal after `eval $(... env)`."""
    env = terminal_env(sandbox, tmp_path, AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))

    def run(*args, check=False):
        proc = subprocess.run(
            [zygote.bin / "aws", *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60
        )
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def cli_json(proc):
    return json.loads(proc.stdout) if proc.stdout.strip() else {}
