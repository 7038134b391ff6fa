import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

import handson_helpers as hh
from handson_helpers import sandbox as sb

AWS_CLI = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


@pytest.fixture
def sandbox():
    """The running sandbox, emptied."""
    return sb.reset()


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
def aws_cli(sandbox, tmp_path):
    """Run the aws CLI against the sandbox, as a learner's terminal after `eval $(... env)`."""
    assert AWS_CLI, "the aws CLI is missing: run `make setup` (awscli is in requirements.txt)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(sb.client_env(sandbox), AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))

    def run(*args, check=False):
        proc = subprocess.run([AWS_CLI, *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def cli_json(proc):
    return json.loads(proc.stdout) if proc.stdout.strip() else {}
