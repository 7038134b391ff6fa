"""Where the sandbox keeps its files (sandbox/paths.py): a HANDSON_HOME that others could change is
refused with a message, and never chmodded."""

import os

import pytest
from helpers import _folder, _modes, cli


@pytest.mark.parametrize(
    "kind", ["sticky and open (1777)", "group-writable (0770)", "another user's", "a link another user planted"]
)
def test_handson_home_is_never_chmodded(tmp_path, kind):
    folder, refused = _folder(tmp_path, kind)
    before = _modes(tmp_path)
    env = dict(os.environ, HANDSON_HOME=str(folder))
    proc = cli("status", env=env)
    assert refused and proc.returncode != 0 and "HANDSON_HOME" in proc.stderr and "Traceback" not in proc.stderr
    assert _modes(tmp_path) == before
