"""The bundle's step cache: an entry is used only for the same key and intact files."""

from __future__ import annotations

from pathlib import Path

from pyodist.bundle.stepcache import StepCache, code_digest


def test_store_restore_miss_and_damage(tmp_path: Path) -> None:
    steps = StepCache(tmp_path / "steps")
    made = tmp_path / "made"
    made.mkdir()
    (made / "a.zip").write_bytes(b"compiled")
    (made / "b.whl").write_bytes(b"wheel")
    key = steps.key("pyc", {"wheels": [["b.whl", "1" * 64]]})
    assert key == steps.key("pyc", {"wheels": [["b.whl", "1" * 64]]})
    assert key != steps.key("pyc", {"wheels": [["b.whl", "2" * 64]]})
    assert key != steps.key("snapshot", {"wheels": [["b.whl", "1" * 64]]})
    dest = tmp_path / "dest"
    dest.mkdir()
    assert steps.restore("pyc", key, dest) is None  # nothing yet
    steps.store("pyc", key, made, ["a.zip", "b.whl"], {"info": {"x": 1}})
    assert steps.restore("pyc", key, dest) == {"info": {"x": 1}}
    assert (dest / "a.zip").read_bytes() == b"compiled"
    assert (dest / "b.whl").read_bytes() == b"wheel"
    assert not list((tmp_path / "steps" / "pyc").glob(".*"))  # no temp folder left
    [stored] = (tmp_path / "steps" / "pyc" / key / "files").glob("a.zip")
    stored.write_bytes(b"damaged")
    assert steps.restore("pyc", key, tmp_path) is None


def test_no_root_keeps_nothing(tmp_path: Path) -> None:
    steps = StepCache(None)
    assert steps.key("pyc", {}) is None
    steps.store("pyc", None, tmp_path, [])
    assert steps.restore("pyc", None, tmp_path) is None


def test_the_code_is_part_of_the_key(tmp_path: Path) -> None:
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "assemble.py").write_text("x = 1\n")
    (tmp_path / "fsutil.py").write_text("")
    before = code_digest(tmp_path)
    (tmp_path / "bundle" / "assemble.py").write_text("x = 2\n")
    assert code_digest(tmp_path) != before
