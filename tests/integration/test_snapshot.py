"""Memory snapshots in bundles (the `fast` profile) and `pyodist python`'s load-on-import.

The snapshot is made by the bundle's own runtime under Node, the same bytes every time; it
starts Python in Node and in headless Chromium (`pyodist test` covers both); a changed
snapshot fails `pyodist verify` and is refused by the loaders; a snapshot carried into
another bundle is refused with the file that differs, not a crash.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pyodist.runtime.node import run_harness
from tests.integration.test_bundle import ROOT, bundle, pyodist


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory, toolchain_image: str) -> dict[str, Any]:
    return bundle("fast", tmp_path_factory.mktemp("fast"))


def python(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", "python", *args[:-2], str(folder),
                           *args[-2:]], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)


def test_the_snapshot_is_listed_and_described(fast: dict[str, Any]) -> None:
    folder = Path(fast["folder"])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {"snapshot.bin", "snapshot.json", "snapshot.bin.br"} <= set(manifest["files"])
    info = json.loads((folder / "snapshot.json").read_text())
    assert "json" in info["imports"] and info["packages"] == []
    assert info["made_for"]["python_stdlib.zip"] == \
        manifest["files"]["python_stdlib.zip"]["sha256"]
    assert manifest["snapshot"]["imports"] == info["imports"]


def test_the_snapshot_is_the_same_bytes_when_made_again(fast: dict[str, Any],
                                                        tmp_path: Path) -> None:
    folder = Path(fast["folder"])
    info = json.loads((folder / "snapshot.json").read_text())
    again = run_harness("make_snapshot.mjs", {
        "bundle": str(folder), "wheels": [], "imports": info["imports"],
        "out": str(tmp_path / "again.bin"), "epoch": 315532800}, timeout=600)
    assert again["ok"], again
    assert (tmp_path / "again.bin").read_bytes() == (folder / "snapshot.bin").read_bytes()


def test_python_starts_from_the_snapshot(fast: dict[str, Any]) -> None:
    proc = python(Path(fast["folder"]), "--timing", "-c",
                  "import sys, random, micropip; print('email.parser' in sys.modules, "
                  "micropip.__name__, random.random() != 0.8444218515250481)")
    assert proc.returncode == 0, proc.stderr
    assert "(from snapshot.bin)" in proc.stderr
    # in memory from the snapshot; micropip (not snapshotted) loaded on import; random
    # reseeded (0.844... is random.seed(0)'s first draw)
    assert proc.stdout.split() == ["True", "micropip", "True"]


def test_a_changed_snapshot_fails_verify_and_is_refused(fast: dict[str, Any],
                                                        tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(fast["folder"], copy)
    data = bytearray((copy / "snapshot.bin").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "snapshot.bin").write_bytes(bytes(data))
    checked = pyodist("verify", str(copy))
    assert checked.returncode == 10 and "snapshot.bin: sha256 differs" in checked.stderr
    proc = python(copy, "-c", "pass")
    assert proc.returncode == 1
    assert "snapshot.bin does not match snapshot.json" in proc.stderr and "Traceback" not in \
        proc.stderr
    assert python(copy, "--no-snapshot", "-c", "print('ok')").stdout.strip() == "ok"


def test_a_snapshot_from_another_bundle_is_refused(fast: dict[str, Any], slim: dict[str, Any],
                                                   tmp_path: Path) -> None:
    folder = tmp_path / "slim"  # the same runtime, another stdlib zip
    shutil.copytree(slim["folder"], folder)
    for name in ("snapshot.bin", "snapshot.json"):
        shutil.copy2(Path(fast["folder"]) / name, folder / name)
    proc = python(folder, "-c", "pass")
    assert proc.returncode == 1, proc.stdout
    assert "snapshot.bin was made for another python_stdlib.zip than this bundle's" in \
        proc.stderr
    checked = pyodist("test", str(folder), "--node")
    assert checked.returncode == 11
    assert "start from the memory snapshot" in checked.stdout
    assert "made for another python_stdlib.zip" in checked.stdout


def test_the_snapshot_starts_in_node_and_chromium(fast: dict[str, Any]) -> None:
    proc = pyodist("test", fast["folder"], "--json")
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = json.loads(proc.stdout)
    for env in ("node", "chromium"):
        assert report["environments"][env]["checks"]["start from the memory snapshot"]["ok"]


def test_the_console_page_starts_from_the_snapshot(fast: dict[str, Any], tmp_path: Path) -> None:
    """`pyodist serve`'s page compiles the runtime while the snapshot downloads, then
    restores it: modules the snapshot imported are there, and random is reseeded."""
    from pyodist.bundle.testing import browser_setup, console_screenshot  # noqa: PLC0415

    code = ("import sys, random\n"
            "print('email.parser' in sys.modules, random.random() != 0.8444218515250481)")
    result = console_screenshot(Path(fast["folder"]), browser_setup(ROOT), code,
                                tmp_path / "console.png")
    assert result["ok"], result
    assert "(from snapshot.bin)" in result["status"]
    assert "True True" in result["output"]


def test_python_loads_packages_when_first_imported(slim: dict[str, Any]) -> None:
    """`-c pass` installs nothing; an import installs that package (sha256-checked)."""
    code = ("import importlib.metadata as md\n"
            "before = sorted(d.metadata['Name'] for d in md.distributions())\n"
            "import micropip\n"
            "after = sorted(d.metadata['Name'] for d in md.distributions())\n"
            "print(before, after)\n")
    proc = python(Path(slim["folder"]), "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[] ['micropip']"
    preloaded = python(Path(slim["folder"]), "--preload", "-c", code)
    assert preloaded.stdout.strip() == "['micropip'] ['micropip']"


def test_the_snapshot_is_the_same_wherever_pyodist_is_installed(tmp_path: Path,
                                                                 runtime_dir: Path) -> None:
    # the harness copied to two folders, as two installs of pyodist would hold it: the C
    # runtime keeps the program's name in memory (argv[0], the environment's `_`)
    source = Path(__file__).resolve().parents[2] / "src/pyodist/runtime/make_snapshot.mjs"
    made = []
    for where in ("a", "a-much/longer/install/path"):
        folder = tmp_path / where
        folder.mkdir(parents=True)
        shutil.copy(source, folder / "make_snapshot.mjs")
        # and the loader it takes the table checksum from
        shutil.copy(source.with_name("pyodist-snapshot.mjs"), folder)
        out = tmp_path / f"{len(made)}.bin"
        done = subprocess.run(
            ["node", str(folder / "make_snapshot.mjs")], capture_output=True, text=True,
            check=False, timeout=300, input=json.dumps({
                "bundle": str(runtime_dir), "wheels": [], "imports": ["json"],
                "out": str(out), "epoch": 315532800}))
        assert json.loads(done.stdout.splitlines()[-1])["ok"], done.stdout + done.stderr
        made.append(out.read_bytes())
    assert made[0] == made[1]
    assert str(tmp_path).encode() not in made[0]
