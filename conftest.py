"""Every pytest run (unit tests and nbval) gets its own HOME and sandbox, never the learner's."""
import os
import shutil
import tempfile

_home = tempfile.mkdtemp(prefix="handson-test-")


def pytest_configure(config):
    for key in [k for k in os.environ if k.startswith("AWS_")] + ["HANDSON_PARTICIPANT", "JUPYTERHUB_USER", "HANDSON_AWS_ACCOUNT_ID"]:
        os.environ.pop(key, None)
    os.environ.update(HOME=_home, HANDSON_HOME=os.path.join(_home, ".handson-iam-mfa"), HANDSON_TARGET="sandbox", HANDSON_AUTO_MFA="1")


def pytest_unconfigure(config):
    from handson_helpers import sandbox

    sandbox.stop()
    shutil.rmtree(_home, ignore_errors=True)
