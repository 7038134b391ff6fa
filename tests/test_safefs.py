"""safefs: the kit's private files are written and removed only as real files of the learner's."""

import pytest

import handson_helpers as hh
from handson_helpers import safefs


def test_cleanup_removes_only_the_kits_file_never_a_link(tmp_path):
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"\x89PNG\r\n\x1a\nmine")
    link = tmp_path / "link.png"
    link.symlink_to(victim)
    with pytest.raises(hh.HandsonError):
        safefs.remove_private(link)
    assert victim.exists() and link.is_symlink()
