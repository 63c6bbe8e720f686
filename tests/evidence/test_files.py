"""Evidence files are written whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewatch.evidence.files import PARTIAL_FILES, atomic_file, write_atomic


def test_a_file_appears_whole_or_the_old_one_stays(tmp_path: Path) -> None:
    path = tmp_path / "day" / "snapshot.jpg"
    write_atomic(path, b"first")
    assert path.read_bytes() == b"first" and path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(RuntimeError), atomic_file(path) as handle:
        handle.write(b"half a snaps")
        raise RuntimeError("the writer died")
    assert path.read_bytes() == b"first"
    assert list(tmp_path.glob(PARTIAL_FILES)) == []


def test_a_file_in_the_making_has_a_partial_name_beside_its_own(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    with atomic_file(path, mode=0o644) as handle:
        [partial] = tmp_path.glob(PARTIAL_FILES)
        assert partial.name.startswith(".clip.mp4.") and not path.exists()
        handle.write(b"data")
    assert path.read_bytes() == b"data" and path.stat().st_mode & 0o777 == 0o644
