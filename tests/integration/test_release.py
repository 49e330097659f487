"""`pyodist release` end to end on the project's own pyodist.toml, and a failing release that
publishes nothing and says why.

`make test` releases the profiles whose packages `make dist` built (fullstack, slim): every
stage runs for real, and no package is compiled again (the artifacts come from the user's
cache). `make test-slow` releases every profile but science and scipy-fast, building what the
cache lacks (on a fresh machine pandas, matplotlib and numpy-noblas: about half an hour)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def release(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", "release", *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "CI": "1"},
                          timeout=3600, check=False)


# what `make dist` built (its default profile, fullstack, holds slim's only package)
MADE_BY_DIST = ["fullstack", "slim"]


@pytest.mark.parametrize("which", ["made-by-dist",
                                   pytest.param("every-profile", marks=pytest.mark.slow)])
def test_release_of_the_default_project(which: str, tmp_path: Path, toolchain_image: str) -> None:
    junit = tmp_path / "junit.xml"
    # every profile of the project file but science and scipy-fast, whose SciPy is a
    # 40-minute cold build (make science-tests tests them); reported in name order
    project = tomllib.loads((ROOT / "pyodist.toml").read_text())
    every = sorted(set(project["profiles"]) - {"science", "scipy-fast"})
    assert {"fullstack", "slim", "dataframes"} <= set(every) and set(MADE_BY_DIST) <= set(every)
    profiles = sorted(MADE_BY_DIST) if which == "made-by-dist" else every
    if which == "made-by-dist":
        # the earlier step (a no-op after `make dist`) that the release must not repeat
        selection = [s for p in MADE_BY_DIST for s in project["profiles"][p]["packages"]]
        built = subprocess.run([sys.executable, "-m", "pyodist", "build", *selection, "-j", "2"],
                               cwd=ROOT, capture_output=True, text=True, timeout=3600,
                               check=False)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    proc = release("--out", str(tmp_path / "out"), "--json", "--junit", str(junit),
                   *[a for p in profiles for a in ("--profile", p)])
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, json.dumps(report, indent=1)[-6000:]
    assert report["ok"] and report["profiles"] == profiles
    stages = [(s["profile"], s["stage"], s["status"]) for s in report["stages"]]
    assert stages == [
        (None, "recipes", "ok"), (None, "fetch", "ok"),
        *[(p, stage, "ok") for p in profiles
          for stage in ("bundle", "test-node", "test-chromium", "verify")],
        (None, "publish", "ok"),
    ]
    folder = tmp_path / "out" / "pyodist-demo-0.1.0"
    assert Path(report["folder"]) == folder
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([
        "SHA256SUMS", "junit.xml", "release.json",
        *[f"pyodist-demo-0.1.0-{p}{suffix}" for p in profiles
          for suffix in (".tar.gz", ".manifest.json", ".sbom.cdx.json")]])
    # the checksums file is what `sha256sum -c` reads
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    bundled = {s["profile"]: s["detail"] for s in report["stages"] if s["stage"] == "bundle"}
    if which == "made-by-dist":  # nothing compiled again: every package from the cache
        assert {p: d["packages"]["built"] for p, d in bundled.items()} == dict.fromkeys(
            profiles, 0), bundled
        assert bundled["fullstack"]["packages"]["cached"] > 20
        # and no source fetched for them: every artifact was in the cache
        fetched = next(s["detail"] for s in report["stages"] if s["stage"] == "fetch")
        assert fetched["sources"] == 0 and fetched["skipped_cached"] > 20, fetched
    tarball = bundled["slim"]
    assert tarball["sha256"] == hashlib.sha256(
        (folder / "pyodist-demo-0.1.0-slim.tar.gz").read_bytes()).hexdigest()
    # JUnit: one suite per profile, every package import a test case, no failures
    suites = ET.parse(junit).getroot().findall("testsuite")  # noqa: S314 - our own file
    assert [s.get("name") for s in suites] == ["release", *profiles]
    assert all(s.get("failures") == "0" for s in suites)
    fullstack = next(s for s in suites if s.get("name") == "fullstack")
    cases = {c.get("name") for c in fullstack.iter("testcase")}
    assert {"numpy", "msgpack", "NODEFS read/write", "WORKERFS read in a Web Worker"} <= cases
    assert (folder / "junit.xml").read_text() == junit.read_text()


def test_failed_release_publishes_nothing(tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    (recipes / "broken").mkdir(parents=True)
    (recipes / "broken" / "meta.yaml").write_text("package:\n  name: broken\n")
    project = tmp_path / "pyodist.toml"
    project.write_text(textwrap.dedent("""\
        [distribution]
        name = "demo"
        version = "1.0"
        default-profile = "all"
        [runtime]
        pyodide = "314.0.7"
        [build]
        recipe-dirs = ["recipes"]
        [profiles.all]
        packages = ["*"]
        """))
    junit = tmp_path / "junit.xml"
    proc = release("--project", str(project), "--out", str(tmp_path / "out"), "--junit",
                   str(junit), cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # the recipe error's exit code
    assert "✗ release recipes:" in proc.stdout and "package/version" in proc.stdout
    assert "nothing published" in proc.stderr
    assert not (tmp_path / "out" / "demo-1.0").exists()
    assert not any((tmp_path / "out").glob(".*staging*")) if (tmp_path / "out").exists() \
        else True
    root = ET.parse(junit).getroot()  # noqa: S314 - our own file
    failures = [c for c in root.iter("testcase") if c.find("failure") is not None]
    skipped = [c for c in root.iter("testcase") if c.find("skipped") is not None]
    assert [c.get("name") for c in failures] == ["recipes"]
    assert {c.get("name") for c in skipped} >= {"fetch", "bundle", "test-node", "verify",
                                                "publish"}


@pytest.mark.parametrize("args", [["--profile", "nosuch"]])
def test_unknown_profile_is_a_config_error(args: list[str], tmp_path: Path) -> None:
    proc = release(*args, "--out", str(tmp_path))
    assert proc.returncode == 5, proc.stderr
    assert "nosuch" in proc.stderr and "Traceback" not in proc.stderr
