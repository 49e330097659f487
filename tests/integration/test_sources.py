"""Fetching against a real HTTP server on loopback, the cache, and the configured index."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from pyodist.cli import main
from pyodist.errors import SourceError, ToolchainError
from pyodist.recipe import load_recipe
from pyodist.sources import (
    Fetcher,
    IndexSettings,
    PackageIndex,
    SourceCache,
    configured_index,
)
from tests.integration.conftest import FileServer


def _fetcher(tmp_path: Path, **kw: object) -> Fetcher:
    return Fetcher(SourceCache(tmp_path / "cache"), backoff=0.01, **kw)  # type: ignore[arg-type]


def _entries(cache_root: Path) -> list[str]:
    return sorted(p.name for p in cache_root.rglob("*") if p.is_file()
                  and "locks" not in p.parts)


def test_download_verify_and_reuse(tmp_path: Path, file_server: FileServer) -> None:
    sha = file_server.add("a-1.0.tar.gz", b"payload")
    f = _fetcher(tmp_path)
    first = f.fetch_one("a", file_server.url("a-1.0.tar.gz"), sha, "a-1.0.tar.gz")
    second = f.fetch_one("a", file_server.url("a-1.0.tar.gz"), sha, "a-1.0.tar.gz")
    assert (first.cached, second.cached) == (False, True)
    assert first.path.read_bytes() == b"payload" and first.path == second.path
    assert file_server.hits["/files/a-1.0.tar.gz"] == 1
    assert SourceCache(tmp_path / "cache").info(sha)["filename"] == "a-1.0.tar.gz"


def test_sha256_mismatch_is_clear_and_caches_nothing(tmp_path: Path,
                                                     file_server: FileServer) -> None:
    actual = file_server.add("b.tar.gz", b"real bytes")
    wrong = "0" * 64
    with pytest.raises(SourceError) as info:
        _fetcher(tmp_path).fetch_one("b", file_server.url("b.tar.gz"), wrong, "b.tar.gz")
    assert str(info.value) == (
        f"sha256 mismatch for b.tar.gz from {file_server.url('b.tar.gz')}:\n"
        f"  expected {wrong}\n  got      {actual} (10 bytes)\n"
        "  fix: if the recipe's sha256 is out of date, update 'source/sha256' (pyodist "
        "skeleton pypi NAME --update does it); nothing was cached"
    )
    assert _entries(tmp_path / "cache") == []


def test_retry_after_server_errors(tmp_path: Path, file_server: FileServer) -> None:
    sha = file_server.add("c.tar.gz", b"ccc")
    file_server.fail_times["c.tar.gz"] = 2
    got = _fetcher(tmp_path).fetch_one("c", file_server.url("c.tar.gz"), sha, "c.tar.gz")
    assert got.path.read_bytes() == b"ccc"
    assert file_server.hits["/files/c.tar.gz"] == 3


def test_interrupted_download_leaves_no_partial_entry(tmp_path: Path,
                                                      file_server: FileServer) -> None:
    sha = file_server.add("d.tar.gz", b"x" * 100_000)
    file_server.truncate.add("d.tar.gz")
    with pytest.raises(SourceError, match="failed after 3 attempts: connection lost"):
        _fetcher(tmp_path, retries=2).fetch_one("d", file_server.url("d.tar.gz"), sha, "d.tar.gz")
    assert file_server.hits["/files/d.tar.gz"] == 3
    assert _entries(tmp_path / "cache") == []


def test_404_is_not_retried(tmp_path: Path, file_server: FileServer) -> None:
    with pytest.raises(SourceError, match="answered HTTP 404"):
        _fetcher(tmp_path).fetch_one("e", file_server.url("nope.tgz"), "1" * 64, "nope.tgz")
    assert file_server.hits["/files/nope.tgz"] == 1


def test_offline_hit_and_miss(tmp_path: Path, file_server: FileServer) -> None:
    sha = file_server.add("f.tar.gz", b"fff")
    _fetcher(tmp_path).fetch_one("f", file_server.url("f.tar.gz"), sha, "f.tar.gz")
    offline = _fetcher(tmp_path, offline=True)
    assert offline.fetch_one("f", "https://unused.invalid/f.tar.gz", sha, "f.tar.gz").cached
    with pytest.raises(SourceError) as info:
        offline.fetch_one("g", "https://unused.invalid/g.tar.gz", "2" * 64, "g.tar.gz")
    assert "g: g.tar.gz (sha256 222222222222…) is not in the source cache" in str(info.value)
    assert "fix: run 'pyodist fetch g' with network access first" in str(info.value)


def test_corrupted_entry_is_refetched(tmp_path: Path, file_server: FileServer) -> None:
    sha = file_server.add("h.tar.gz", b"good")
    f = _fetcher(tmp_path)
    path = f.fetch_one("h", file_server.url("h.tar.gz"), sha, "h.tar.gz").path
    path.write_bytes(b"rotten")
    again = f.fetch_one("h", file_server.url("h.tar.gz"), sha, "h.tar.gz")
    assert not again.cached and again.path.read_bytes() == b"good"


def test_two_processes_fetch_one_source_once(tmp_path: Path, file_server: FileServer) -> None:
    sha = file_server.add("big.tar.gz", b"z" * 3_000_000)
    script = textwrap.dedent(f"""
        from pathlib import Path
        from pyodist.sources import Fetcher, SourceCache
        r = Fetcher(SourceCache(Path({str(tmp_path / 'cache')!r}))).fetch_one(
            "big", {file_server.url('big.tar.gz')!r}, {sha!r}, "big.tar.gz")
        print(r.cached)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == ["False", "True"]
    assert file_server.hits["/files/big.tar.gz"] == 1


@pytest.mark.parametrize("flavour", ["json", "html"])
def test_pypi_sources_resolve_through_the_index(tmp_path: Path, file_server: FileServer,
                                                flavour: str) -> None:
    sha = file_server.add("Pkg_X-1.0.tar.gz", b"sdist", project="pkg-x")
    index = PackageIndex(IndexSettings((f"{file_server.base}/{flavour}/simple/",)))
    files = index.project_files("Pkg_X")
    assert [(f.filename, f.sha256) for f in files] == [("Pkg_X-1.0.tar.gz", sha)]
    got = _fetcher(tmp_path, index=lambda: index).fetch_one(
        "pkg-x", "pypi:pkg-x/Pkg_X-1.0.tar.gz", sha, "Pkg_X-1.0.tar.gz")
    assert got.origin == file_server.url("Pkg_X-1.0.tar.gz")
    with pytest.raises(SourceError,
                       match=r"'Pkg_X-2\.0\.tar\.gz' is not among the files of 'pkg-x'"):
        index.find_file("pkg-x", "Pkg_X-2.0.tar.gz")
    with pytest.raises(SourceError, match="project 'ghost' was not found on the package index"):
        index.project_files("ghost")


def test_configured_index_comes_from_pip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/mirror/simple")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "file:///srv/extra")
    assert configured_index().urls == ("http://127.0.0.1:9/mirror/simple", "file:///srv/extra")
    assert configured_index(["http://x.invalid/simple"]).urls == ("http://x.invalid/simple",)


def _write_recipe(folder: Path, name: str, url: str, sha: str, extra: str = "") -> Path:
    (folder / name).mkdir(parents=True, exist_ok=True)
    meta = folder / name / "meta.yaml"
    meta.write_text(f"package: {{name: {name}, version: '1.0'}}\n"
                    f"source:\n  url: {url}\n  sha256: {sha}\n{extra}")
    return meta


def test_cli_fetch_end_to_end(tmp_path: Path, file_server: FileServer,
                              monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    sha_a = file_server.add("alpha-1.0.tar.gz", b"A", project="alpha")
    sha_b = file_server.add("beta-1.0.tar.gz", b"B")
    _write_recipe(tmp_path / "recipes", "alpha", "pypi:alpha/alpha-1.0.tar.gz", sha_a)
    _write_recipe(tmp_path / "recipes", "beta", file_server.url("beta-1.0.tar.gz"), sha_b,
                  "requirements: {run: [alpha]}\n")
    _write_recipe(tmp_path / "recipes", "broken", file_server.url("beta-1.0.tar.gz"), "3" * 64)
    argv = ["--cache-dir", "c", "--index-url", f"{file_server.base}/json/simple", "fetch"]
    assert main([*argv, "beta", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {n: v["cached"] for n, v in report["fetched"].items()} == {"alpha": False,
                                                                      "beta": False}
    assert main([*argv, "*"]) == 6
    out = capsys.readouterr().out
    assert "alpha   alpha-1.0.tar.gz  cached (1 B)" in out
    assert "broken: sha256 mismatch for beta-1.0.tar.gz" in out
    assert main(["--cache-dir", "c", "--offline", "fetch", "alpha"]) == 0


def test_fetch_runtime_offline_names_the_fix_and_keeps_the_sources(
        tmp_path: Path, file_server: FileServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    sha = file_server.add("gamma-1.0.tar.gz", b"G")
    _write_recipe(tmp_path / "recipes", "gamma", file_server.url("gamma-1.0.tar.gz"), sha)
    assert main(["--cache-dir", "c", "fetch", "gamma"]) == 0
    capsys.readouterr()
    # the source is cached, the runtime is not: --offline cannot complete --runtime
    code = main(["--cache-dir", "c", "--offline", "fetch", "gamma", "--runtime"])
    assert code == ToolchainError.exit_code
    err = capsys.readouterr().err
    assert "runtime is not in the cache" in err and "network access" in err
    assert (tmp_path / "c" / "sources").is_dir()
    assert main(["--cache-dir", "c", "--offline", "fetch", "gamma"]) == 0


@pytest.mark.network
def test_real_fetch_from_the_configured_index(tmp_path: Path) -> None:
    """One real round trip through the index pip is configured with (skipped when offline)."""
    recipe = load_recipe(Path(__file__).resolve().parents[2] / "recipes" / "six")
    try:
        got = _fetcher(tmp_path, index=lambda: PackageIndex(configured_index())).fetch(recipe)
    except SourceError as exc:
        if "cannot reach the package index" in str(exc):
            pytest.skip(f"the configured package index is unreachable: {exc.message}")
        raise
    assert got is not None
    assert hashlib.sha256(got.path.read_bytes()).hexdigest() == recipe.source.sha256


def test_requests_is_what_downloads() -> None:
    # Guard: the fetcher speaks HTTP through requests (retries, timeouts, proxies, certs).
    assert isinstance(Fetcher(SourceCache(Path("/nonexistent"))).session, requests.Session)


@pytest.mark.parametrize("form", ["source/m/mirrored/mirrored-1.0.tar.gz",
                                  "ab/cd/" + "e" * 60 + "/mirrored-1.0.tar.gz"])
def test_index_file_urls_resolve_through_the_configured_index(
        tmp_path: Path, file_server: FileServer, form: str) -> None:
    """A recipe naming the index's file host (here: the loopback server's /packages/...,
    which answers 404 as a mirror that serves only its own file URLs would) is fetched
    through the configured index by project and file name, and checked by its sha256."""
    sha = file_server.add("mirrored-1.0.tar.gz", b"the same bytes", project="mirrored")
    url = f"{file_server.base}/packages/{form}"
    index = PackageIndex(IndexSettings((f"{file_server.base}/json/simple/",)))
    got = _fetcher(tmp_path, index=lambda: index).fetch_one(
        "mirrored", url, sha, "mirrored-1.0.tar.gz")
    assert got.origin == file_server.url("mirrored-1.0.tar.gz")
    assert got.path.read_bytes() == b"the same bytes"
    assert file_server.hits[f"/packages/{form}"] == 0
    # the index lists other bytes under the name: refused, nothing downloaded or cached
    file_server.files["other-1.0.tar.gz"] = b"not the recipe's bytes"
    file_server.projects["other"] = ["other-1.0.tar.gz"]
    with pytest.raises(SourceError,
                       match=r"the package index lists other-1\.0\.tar\.gz with sha256"):
        _fetcher(tmp_path / "2", index=lambda: index).fetch_one(
            "other", f"{file_server.base}/packages/source/o/other/other-1.0.tar.gz", sha,
            "other-1.0.tar.gz")
    assert _entries(tmp_path / "2" / "cache") == []


def test_an_index_file_the_index_does_not_list_is_tried_at_its_own_url(
        tmp_path: Path, file_server: FileServer) -> None:
    sha = file_server.add("direct-1.0.tar.gz", b"direct")
    url = file_server.url("direct-1.0.tar.gz").replace("/files/", "/packages/source/d/direct/")
    index = PackageIndex(IndexSettings((f"{file_server.base}/json/simple/",)))
    with pytest.raises(SourceError, match="answered HTTP 404"):
        _fetcher(tmp_path, index=lambda: index).fetch_one("direct", url, sha,
                                                          "direct-1.0.tar.gz")
    assert file_server.hits["/packages/source/d/direct/direct-1.0.tar.gz"] == 1


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """read_only(folder) -> the same folder mounted read-only (a real bind mount)."""
    mounts: list[Path] = []

    def mount(folder: Path) -> Path:
        view = tmp_path / f"ro-{len(mounts)}"
        view.mkdir()
        for argv in (["mount", "--bind", str(folder), str(view)],
                     ["mount", "-o", "remount,ro,bind", str(view)]):
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                pytest.skip(f"a read-only bind mount needs root here: {done.stderr.strip()}")
        mounts.append(view)
        return view

    yield mount
    for view in reversed(mounts):
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_a_read_only_cache_serves_what_it_holds(tmp_path: Path, file_server: FileServer,
                                                read_only: Callable[[Path], Path],
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache restored read-only (CI) or shared over NFS: what it holds is read without
    write access; what it lacks is a clear error, not a traceback about its lock file."""
    sha = file_server.add("ro-1.0.tar.gz", b"held")
    cache = tmp_path / "c"  # a --cache-dir: sources/ inside
    Fetcher(SourceCache(cache / "sources")).fetch_one("ro", file_server.url("ro-1.0.tar.gz"),
                                                      sha, "ro-1.0.tar.gz")
    (cache / "sources" / "locks").rename(tmp_path / "old-locks")  # never locked here
    view = read_only(cache)
    ro = Fetcher(SourceCache(view / "sources"), offline=True).fetch_one(
        "ro", "unused", sha, "ro-1.0.tar.gz")
    assert ro.cached and ro.path.read_bytes() == b"held"
    other = file_server.add("new-1.0.tar.gz", b"new")
    with pytest.raises(SourceError, match=r"(?s)cannot write .*the source cache .*read-only"):
        Fetcher(SourceCache(view / "sources")).fetch_one(
            "new", file_server.url("new-1.0.tar.gz"), other, "new-1.0.tar.gz")
    monkeypatch.chdir(tmp_path)
    _write_recipe(tmp_path / "recipes", "ro", file_server.url("ro-1.0.tar.gz"), sha)
    assert main(["--cache-dir", str(view), "--offline", "fetch", "ro"]) == 0
    assert "ro-1.0.tar.gz  cached" in capsys.readouterr().out


def test_one_ctrl_c_stops_every_download_at_once(tmp_path: Path,
                                                 file_server: FileServer) -> None:
    """Two downloads from a server that trickles (64 KiB every 2 s, 10 MB each): one SIGINT
    ends pyodist within a second or two, with exit 130 and no partial file in the cache."""
    recipes = tmp_path / "recipes"
    for name in ("trickle-a", "trickle-b"):
        sha = file_server.add(f"{name}-1.0.tar.gz", os.urandom(10 * 1024 * 1024))
        file_server.chunk_delay[f"{name}-1.0.tar.gz"] = 2.0
        _write_recipe(recipes, name, file_server.url(f"{name}-1.0.tar.gz"), sha)
    cache = tmp_path / "cache"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyodist", "--cache-dir", str(cache), "--recipe-dir",
         str(recipes), "fetch", "-j", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "CI": "1"})
    deadline = time.monotonic() + 60
    while sum(file_server.hits[f"/files/{n}-1.0.tar.gz"] for n in ("trickle-a", "trickle-b")) \
            < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # both are reading now, each waiting for its next chunk
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 130, (out, err)
    assert took < 3.0, f"took {took:.1f} s after Ctrl-C"
    assert "interrupted" in err
    leftovers = [p for p in cache.rglob("*") if p.is_file() and "locks" not in p.parts]
    assert leftovers == []


def test_a_body_larger_than_a_download_may_be_is_stopped(tmp_path: Path,
                                                         file_server: FileServer) -> None:
    sha = file_server.add("big.tar.gz", b"x" * (3 << 20))
    with pytest.raises(SourceError, match="is 3,145,728 bytes, more than the 1,048,576 a download"):
        _fetcher(tmp_path, max_bytes=1 << 20).fetch_one(
            "big", file_server.url("big.tar.gz"), sha, "big.tar.gz")
    assert _entries(tmp_path / "cache") == []
    # the same from a file:// URL (a link to an endless device would never end otherwise)
    local = tmp_path / "big.tar.gz"
    local.write_bytes(b"x" * (3 << 20))
    with pytest.raises(SourceError, match="more than the 1,048,576 bytes"):
        _fetcher(tmp_path, max_bytes=1 << 20).fetch_one("big", local.as_uri(), sha, "big.tar.gz")
    assert _entries(tmp_path / "cache") == []


def test_a_server_that_trickles_is_stopped_when_the_time_is_up(tmp_path: Path,
                                                              file_server: FileServer) -> None:
    # 64 KiB every 0.5 s: every read returns within the read timeout, the whole never would
    sha = file_server.add("slow.tar.gz", b"y" * (2 << 20))
    file_server.chunk_delay["slow.tar.gz"] = 0.5
    start = time.monotonic()
    with pytest.raises(SourceError, match="took more than 1 s; stopped"):
        _fetcher(tmp_path, max_seconds=1.0).fetch_one(
            "slow", file_server.url("slow.tar.gz"), sha, "slow.tar.gz")
    assert time.monotonic() - start < 10
    assert _entries(tmp_path / "cache") == []
