"""replace_dir: the destination is always a complete folder; a killed writer's leftovers go."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pyodist.errors import SourceError
from pyodist.fsutil import links_leaving, remove_stale, replace_dir, write_atomic
from pyodist.sources.patch import copy_extras


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


DEAD_PID = 99_999_999  # above any pid_max: no such process


def test_remove_stale_spares_live_writers_and_other_names(tmp_path: Path) -> None:
    pattern = re.compile(r"^\.x\.(?P<pid>\d+)\.staging$")
    dead = tmp_path / f".x.{DEAD_PID}.staging"
    (dead / "sub").mkdir(parents=True)
    live = tmp_path / f".x.{os.getpid()}.staging"
    live.mkdir()
    other = tmp_path / f".y.{DEAD_PID}.staging"
    other.write_text("")
    assert remove_stale(tmp_path, pattern) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])
    assert remove_stale(tmp_path / "missing", pattern) == []


def test_replace_dir_removes_what_a_killed_replace_left(tmp_path: Path) -> None:
    left = tmp_path / f".entry.old.{DEAD_PID}.abcd1234"
    left.mkdir()
    (left / "a").write_text("old")
    ready = tmp_path / "ready"
    ready.mkdir()
    replace_dir(ready, tmp_path / "entry")
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]


def test_write_atomic_removes_a_killed_writers_temp_file(tmp_path: Path) -> None:
    (tmp_path / f".f.json.{DEAD_PID}.abcd1234.tmp").write_text("{")
    write_atomic(tmp_path / "f.json", "{}")
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_a_kept_run_folder_survives_later_runs(tmp_path: Path) -> None:
    """--keep-work: the folder is renamed out of the stale-run pattern when its run ends,
    so the next run sharing the cache (which finds the run's process gone) leaves it."""
    from pyodist.builder.workspace import kept_folder, run_folder  # noqa: PLC0415

    with run_folder(tmp_path, keep=True) as work:
        (work / "build.log").write_text("kept")
    kept = kept_folder(work)
    assert not work.exists() and (kept / "build.log").read_text() == "kept"
    assert kept.name.startswith("kept-")
    dead = tmp_path / f"run-{DEAD_PID}-1"  # a killed run's folder still goes
    dead.mkdir()
    with run_folder(tmp_path) as other:
        assert other.exists()
    assert not other.exists() and not dead.exists() and kept.exists()


def test_links_leaving_names_links_out_of_the_root_and_to_folders(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe"
    extras = recipe / "extras" / "d"
    extras.mkdir(parents=True)
    (recipe / "extras" / "mine.txt").write_text("ok")
    (extras / "inside").symlink_to(recipe / "extras" / "mine.txt")
    assert links_leaving(recipe / "extras", recipe) == []
    (extras / "leak").symlink_to("/etc/hostname")
    (extras / "loop").symlink_to("..")
    (extras / "dangling").symlink_to(tmp_path / "nowhere")
    assert links_leaving(recipe / "extras", recipe) == ["d/dangling", "d/leak", "d/loop"]
    tree = tmp_path / "tree"
    tree.mkdir()
    with pytest.raises(SourceError, match="symbolic links that lead out"):
        copy_extras(tree, recipe, [("extras/d", "sub")])
    assert not (tree / "sub").exists()
