"""The command line against a hostile host: outputs that cannot encode or take nothing."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], *, env: dict[str, str] | None = None,
         stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", *args], cwd=ROOT, text=True,
                          stdout=stdout, stderr=subprocess.PIPE, timeout=120, check=False,
                          env={**os.environ, **(env or {})})


def test_a_name_the_output_cannot_encode_is_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "r" / "péché"
    folder.mkdir(parents=True)
    (folder / "meta.yaml").write_text("package:\n  name: péché\n  version: '1'\n"
                                      "source:\n  path: .\n", encoding="utf-8")
    proc = _run(["--recipe-dir", str(tmp_path / "r"), "recipes", "check"],
                env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 3, proc.stderr
    assert "p\\xe9ch\\xe9" in proc.stdout and "Traceback" not in proc.stderr


def test_an_output_that_takes_nothing_is_one_line_and_exit_13() -> None:
    with open("/dev/full", "w") as full:  # noqa: PTH123 - a device, not a path to build on
        proc = _run(["recipes", "list"], stdout=full.fileno())
    assert proc.returncode == 13, proc.stderr
    assert proc.stderr.strip().splitlines()[0] == "error: the output: No space left on device"
    assert "Traceback" not in proc.stderr


def test_a_lock_file_name_leading_out_of_the_bundle_is_not_loaded(slim: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    # pyodist test and pyodist python load only files of the bundle, as verify checks
    copy = tmp_path / "b"
    shutil.copytree(slim["folder"], copy)
    lock = json.loads((copy / "pyodide-lock.json").read_text())
    key, pkg = next(iter(lock["packages"].items()))
    shutil.move(copy / pkg["file_name"], tmp_path / pkg["file_name"])
    pkg["file_name"] = f"../{pkg['file_name']}"
    (copy / "pyodide-lock.json").write_text(json.dumps(lock))
    run = subprocess.run([sys.executable, "-m", "pyodist", "python", str(copy), "-c",
                          f"import {pkg['imports'][0]}"], capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode != 0 and "does not name a file inside the bundle" in run.stderr, \
        run.stderr[-2000:]
    test = subprocess.run([sys.executable, "-m", "pyodist", "test", "--node", "--package", key,
                           str(copy)], capture_output=True, text=True, timeout=300, check=False)
    assert test.returncode == 11 and "does not name a file inside the bundle" in test.stdout, \
        test.stdout[-2000:]


# -- a full disk: a real, small tmpfs -------------------------------------------------------

@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a 16 KiB tmpfs (needs root, which `make test`'s machine has: the test
    fails rather than skips without it, so a green run always covered a full disk)."""
    folder = tmp_path / "full"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)],
                   check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_copy_onto_a_full_disk_names_the_file_and_leaves_nothing(
        full_disk: Path, tmp_path: Path) -> None:
    from pyodist.fsutil import copy_atomic, write_atomic  # noqa: PLC0415

    big = tmp_path / "big.whl"
    big.write_bytes(os.urandom(1 << 20))
    with pytest.raises(OSError) as err:
        copy_atomic(big, full_disk / "big.whl")
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(full_disk / "big.whl")
    with pytest.raises(OSError) as err:
        write_atomic(full_disk / "x.json", os.urandom(1 << 20))
    assert err.value.filename == str(full_disk / "x.json")
    assert list(full_disk.iterdir()) == []


def test_verify_with_a_full_tmpdir_blames_the_disk_not_the_tarball(
        slim: dict[str, Any], full_disk: Path) -> None:
    proc = _run(["verify", slim["tarball"]], env={"TMPDIR": str(full_disk)})
    assert proc.returncode == 13, proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith(f"error: {full_disk}/") and "No space left on device" in first
    assert "cannot extract" not in proc.stderr and "Traceback" not in proc.stderr


def test_a_fetch_into_a_full_cache_names_the_file_and_leaves_no_part(
        tmp_path: Path, full_disk: Path) -> None:
    recipes = tmp_path / "recipes" / "six"
    recipes.mkdir(parents=True)
    (recipes / "meta.yaml").write_text(
        "package: {name: six, version: 1.17.0}\n"
        "source:\n  url: pypi:six/six-1.17.0.tar.gz\n"
        "  sha256: ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81\n")
    proc = _run(["--recipe-dir", str(tmp_path / "recipes"), "--cache-dir", str(full_disk),
                 "fetch", "six"])
    assert proc.returncode == 13, proc.stdout + proc.stderr
    assert "(writing six-1.17.0.tar.gz): No space left on device" in proc.stderr, proc.stderr
    assert not [p for p in full_disk.rglob("*") if p.name.endswith(".part")]
