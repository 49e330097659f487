"""replace_dir: the destination is always a complete folder."""

from __future__ import annotations

from pathlib import Path

from pyodist.fsutil import replace_dir


def test_replace_dir_new_and_existing(tmp_path: Path) -> None:
    first = tmp_path / "staging1"
    first.mkdir()
    (first / "a").write_text("1")
    dest = replace_dir(first, tmp_path / "out" / "entry")
    assert (dest / "a").read_text() == "1" and not first.exists()
    second = tmp_path / "staging2"
    second.mkdir()
    (second / "b").write_text("2")
    replace_dir(second, dest)
    assert sorted(p.name for p in dest.iterdir()) == ["b"]
    assert [p.name for p in dest.parent.iterdir()] == ["entry"]  # the old copy is gone
