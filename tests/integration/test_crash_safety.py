"""Crash safety and concurrency of the writers: SIGKILL at random points, then run again.

Each phase (`pyodist fetch` of slowly served sources, `pyodist build` of two quick recipes,
`pyodist bundle` of a one-package profile) first runs uninterrupted for a reference and its
duration; then, ROUNDS times, the same command is started and its process group SIGKILLed
after a delay drawn from a seeded RNG within that duration, and run again uninterrupted. The
good run must succeed, give byte-identical outputs, remove the killed run's build container,
and leave no temp file, staging or ``.old`` folder and no half cache entry behind.

Two processes started together on one cache must both succeed and agree (builds), and store
one entry (fetches).

PYODIST_CRASH_ROUNDS (default 3) sets the kills per phase; PYODIST_CRASH_SEED the RNG seed.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pyodist.hashing import sha256_file
from pyodist.store.local import META
from pyodist.toolchain import docker_client
from pyodist.toolchain.docker import PID_LABEL
from tests.integration.conftest import FileServer, fresh_cache

ROOT = Path(__file__).resolve().parents[2]
BUILDSET = ROOT / "tests" / "data" / "buildset"
ROUNDS = int(os.environ.get("PYODIST_CRASH_ROUNDS") or "3")
SEED = int(os.environ.get("PYODIST_CRASH_SEED") or "1337")
# Names pyodist gives to files and folders that only exist while a writer runs.
_TRANSIENT = re.compile(r"\.part$|\.tmp$|\.staging|\.old\.|^\.download\.|\.unpack\.")

Hardening = Callable[[str, int], None]


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def json(self) -> dict[str, Any]:
        assert self.returncode == 0, f"exit {self.returncode}:\n{self.stderr[-3000:]}"
        data: dict[str, Any] = json.loads(self.stdout)
        return data


def _argv(args: Sequence[str], cache: Path) -> list[str]:
    return [sys.executable, "-m", "pyodist", "--cache-dir", str(cache), *args]


def _env() -> dict[str, str]:
    return {**os.environ, "CI": "1"}


def run(args: Sequence[str], cache: Path, *, cwd: Path = ROOT) -> Finished:
    start = time.monotonic()
    proc = subprocess.run(_argv(args, cache), cwd=cwd, capture_output=True, text=True,
                          env=_env(), timeout=900, check=False)
    return Finished(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def run_killed(args: Sequence[str], cache: Path, delay: float, logs: Path, *,
               cwd: Path = ROOT) -> int | None:
    """Start pyodist, SIGKILL its process group after ``delay`` s; its pid, None if it ended."""
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "stdout").open("wb") as out, (logs / "stderr").open("wb") as err:
        proc = subprocess.Popen(_argv(args, cache), cwd=cwd, stdout=out, stderr=err,
                                env=_env(), start_new_session=True)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            # the whole group, as a killed terminal or CI job would: pyodist, pip, npm, node
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return proc.pid
    return None


def leftovers(*roots: Path) -> list[str]:
    """Temp files, staging folders and old copies under ``roots`` (links not followed)."""
    found = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            found += [str(Path(folder, n)) for n in (*dirs, *files) if _TRANSIENT.search(n)]
        work = root / "work"
        if work.is_dir():
            found += [str(p) for p in work.iterdir()]  # run folders of finished runs
    return sorted(found)


def half_entries(cache: Path) -> list[str]:
    """Cache entries that are not complete and intact."""
    bad = []
    blobs = cache / "sources" / "sha256"
    if blobs.is_dir():
        for path in blobs.rglob("*"):
            if path.is_file() and path.suffix != ".json" and sha256_file(path) != path.name:
                bad.append(str(path))
    artifacts = cache / "artifacts"
    if artifacts.is_dir():
        for entry in artifacts.glob("*/*"):
            try:
                meta = json.loads((entry / META).read_text())
            except (OSError, ValueError):
                bad.append(str(entry))
                continue
            if any(sha256_file(entry / f) != meta["sha256"][f] for f in meta["files"]):
                bad.append(str(entry))
    return bad


def containers_of(pid: int) -> list[str]:
    client = docker_client()
    return [c.name for c in client.containers.list(
        all=True, filters={"label": f"{PID_LABEL}={pid}"})]


def _count_left(hardening: Hardening, pid: int | None, *roots: Path) -> None:
    """Count what a kill left for the next run to clear (the checks are not vacuous)."""
    hardening("crash: leftovers a kill made, for the next run", len(leftovers(*roots)))
    if pid is not None:
        hardening("crash: containers a kill left, for the next run", len(containers_of(pid)))


def wheel_hashes(report: dict[str, Any]) -> dict[str, str]:
    return {Path(f).name: sha256_file(Path(f)) for pkg in report["packages"].values()
            for f in pkg["files"] if f.endswith(".whl")}


def crash_rounds(phase: str, reference_seconds: float, hardening: Hardening,
                 one_round: Callable[[int, float], int | None]) -> None:
    """ROUNDS kills at seeded random points within a reference run's duration."""
    rng = random.Random(f"{SEED}:{phase}")  # noqa: S311 - seeded so a round replays
    for i in range(ROUNDS):
        delay = rng.uniform(0.05, 0.95) * reference_seconds
        pid = one_round(i, delay)
        hardening(f"crash: SIGKILL injected ({phase})", 1 if pid else 0)
        hardening("crash: pyodist runs", 2)


# -- fetch ------------------------------------------------------------------------------------

def _slow_sources(file_server: FileServer, recipes: Path) -> dict[str, str]:
    """Two 3 MB sources served at ~1.5 MB/s; returns file name -> sha256."""
    rng = random.Random(SEED)  # noqa: S311 - test payloads
    digests = {}
    for name in ("slow-a", "slow-b"):
        filename = f"{name}-1.0.tar.gz"
        digests[filename] = file_server.add(filename, rng.randbytes(3 * 1024 * 1024))
        file_server.chunk_delay[filename] = 0.04
        (recipes / name).mkdir(parents=True)
        (recipes / name / "meta.yaml").write_text(
            f"package:\n  name: {name}\n  version: '1.0'\nsource:\n"
            f"  url: {file_server.url(filename)}\n  sha256: {digests[filename]}\n")
    return digests


def _source_entries(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "sources" / "sha256").rglob("*") if p.is_file())


def test_fetch_survives_sigkill(tmp_path: Path, file_server: FileServer,
                                hardening: Hardening) -> None:
    recipes = tmp_path / "recipes"
    digests = _slow_sources(file_server, recipes)
    args = ["--recipe-dir", str(recipes), "fetch", "--json"]
    expected = sorted([*digests.values(), *(f"{d}.json" for d in digests.values())])
    reference = run(args, tmp_path / "reference")
    reference.json()
    assert _source_entries(tmp_path / "reference") == expected

    def one_round(i: int, delay: float) -> int | None:
        cache = tmp_path / f"cache-{i}"
        pid = run_killed(args, cache, delay, tmp_path / f"killed-{i}")
        hardening("crash: leftovers a kill made, for the next run", len(leftovers(cache)))
        again = run(args, cache)
        fetched = again.json()["fetched"]
        assert {r["filename"]: r["sha256"] for r in fetched.values()} == digests
        assert _source_entries(cache) == expected
        assert leftovers(cache) == [], f"round {i}, killed after {delay:.2f} s"
        assert half_entries(cache) == []
        return pid

    crash_rounds("fetch", reference.seconds, hardening, one_round)


# -- build ------------------------------------------------------------------------------------

BUILD_ARGS = ["--recipe-dir", str(BUILDSET), "build", "fine", "uses-fine", "--json"]
FINE_ARGS = ["--recipe-dir", str(BUILDSET), "build", "fine", "--json"]


def _together(argvs: Sequence[Sequence[str]], cache: Path) -> list[Finished]:
    """Start the commands at the same instant on one cache; wait for all of them."""
    start = time.monotonic()
    procs = [subprocess.Popen(_argv(a, cache), cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env()) for a in argvs]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        done.append(Finished(proc.returncode, out, err, time.monotonic() - start))
    return done


@dataclass(frozen=True)
class SharedBuild:
    """Two builds run together on one cache: the reference for the crash rounds too."""

    cache: Path
    both: Finished  # fine + uses-fine
    one: Finished  # fine


@pytest.fixture(scope="module")
def shared_build(tmp_path_factory: pytest.TempPathFactory, toolchain_image: str,
                 runtime_dir: Path) -> SharedBuild:
    cache = fresh_cache(tmp_path_factory.mktemp("shared") / "cache", runtime_dir)
    both, one = _together([BUILD_ARGS, FINE_ARGS], cache)
    return SharedBuild(cache, both, one)


def test_concurrent_builds_share_one_cache(shared_build: SharedBuild,
                                           hardening: Hardening) -> None:
    hardening("crash: concurrent pairs", 1)
    hardening("crash: pyodist runs", 2)
    both, one = shared_build.both.json(), shared_build.one.json()
    a, b = wheel_hashes(both), wheel_hashes(one)
    fine = next(n for n in a if n.startswith("fine-"))
    assert set(b) == {fine} and len(a) == 2
    assert a[fine] == b[fine]
    assert both["packages"]["fine"]["key"] == one["packages"]["fine"]["key"]
    # built once: the other run waited for the entry's lock and took it from the cache
    assert sorted([both["packages"]["fine"]["status"], one["packages"]["fine"]["status"]]) \
        == ["built", "cached"]
    cache = shared_build.cache
    assert sorted(p.name for p in (cache / "artifacts").glob("*/*")) == sorted(
        p["key"] for p in both["packages"].values())
    assert leftovers(cache) == [] and half_entries(cache) == []


def test_build_survives_sigkill(shared_build: SharedBuild, tmp_path: Path,
                                runtime_dir: Path, hardening: Hardening) -> None:
    """Round 0 starts from an empty cache; later rounds rebuild (--force) over entries."""
    expected = wheel_hashes(shared_build.both.json())
    cache = fresh_cache(tmp_path / "cache", runtime_dir)
    out = tmp_path / "wheels"
    args = [*BUILD_ARGS, "-o", str(out)]

    def one_round(i: int, delay: float) -> int | None:
        killed = args if i == 0 else [*args, "--force"]
        pid = run_killed(killed, cache, delay, tmp_path / f"killed-{i}")
        _count_left(hardening, pid, cache, out)
        again = run(args, cache)
        where = f"round {i}, killed after {delay:.2f} s"
        assert wheel_hashes(again.json()) == expected, where
        assert {p.name: sha256_file(p) for p in out.iterdir()} == expected, where
        if pid is not None:
            assert containers_of(pid) == [], where
        assert leftovers(cache, out) == [], where
        assert half_entries(cache) == [], where
        return pid

    crash_rounds("build", shared_build.both.seconds, hardening, one_round)


# -- bundle -----------------------------------------------------------------------------------

def _project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    project = folder / "pyodist.toml"
    project.write_text(
        '[distribution]\nname = "crash"\nversion = "1"\ndefault-profile = "tiny"\n'
        '[runtime]\npyodide = "314.0.7"\n'
        f'[build]\nrecipe-dirs = ["{BUILDSET}"]\n'
        '[profiles.tiny]\npackages = ["fine"]\nstdlib = "py"\ncompress = ["gz"]\n')
    return project


def test_bundle_survives_sigkill(shared_build: SharedBuild, tmp_path: Path,
                                 hardening: Hardening) -> None:
    """The build is cached (a copy of the shared cache): the kills land in the assembly."""
    project = _project(tmp_path / "project")
    cache = tmp_path / "cache"
    shutil.copytree(shared_build.cache, cache, symlinks=True)
    out = tmp_path / "out"

    def bundle_args(where: Path) -> list[str]:
        return ["bundle", "--project", str(project), "--out", str(where), "--json"]

    reference = run(bundle_args(tmp_path / "reference"), cache, cwd=project.parent).json()
    # a warm run (everything built) into the folder the rounds overwrite, for the timing
    warm = run(bundle_args(out), cache, cwd=project.parent)
    assert warm.json()["tarball_sha256"] == reference["tarball_sha256"]

    def one_round(i: int, delay: float) -> int | None:
        pid = run_killed(bundle_args(out), cache, delay, tmp_path / f"killed-{i}",
                         cwd=project.parent)
        _count_left(hardening, pid, cache, out)
        again = run(bundle_args(out), cache, cwd=project.parent).json()
        tarball = Path(again["tarball"])
        assert sha256_file(tarball) == again["tarball_sha256"] == reference["tarball_sha256"], \
            f"round {i}, killed after {delay:.2f} s"
        if pid is not None:
            assert containers_of(pid) == []
        assert leftovers(cache, out) == [], f"round {i}, killed after {delay:.2f} s"
        assert sorted(p.name for p in out.iterdir()) == ["crash-1-tiny", "crash-1-tiny.tar.gz"]
        assert half_entries(cache) == []
        return pid

    crash_rounds("bundle", warm.seconds, hardening, one_round)


# -- concurrent fetches -----------------------------------------------------------------------

def test_concurrent_fetches_store_one_entry(tmp_path: Path, file_server: FileServer,
                                            hardening: Hardening) -> None:
    recipes = tmp_path / "recipes"
    digests = _slow_sources(file_server, recipes)
    args = ["--recipe-dir", str(recipes), "fetch", "slow-a", "--json"]
    cache = tmp_path / "cache"
    first, second = _together([args, args], cache)
    sha = digests["slow-a-1.0.tar.gz"]
    assert first.json()["fetched"]["slow-a"]["sha256"] == sha
    assert second.json()["fetched"]["slow-a"]["sha256"] == sha
    assert sorted(r["fetched"]["slow-a"]["cached"] for r in (first.json(), second.json())) \
        == [False, True]
    assert _source_entries(cache) == [sha, f"{sha}.json"]
    assert file_server.hits["/files/slow-a-1.0.tar.gz"] == 1
    assert leftovers(cache) == [] and half_entries(cache) == []
    hardening("crash: concurrent pairs", 1)
    hardening("crash: pyodist runs", 2)
