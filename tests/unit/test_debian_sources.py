"""Where 'debian:' sources come from: the mirror in apt's sources, and the pool layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyodist.options import resolve_options
from pyodist.sources import debian


def test_pool_layout() -> None:
    assert debian.pool_url("http://m.example/debian/", "openblas", "o_1.orig.tar.xz") == \
        "http://m.example/debian/pool/main/o/openblas/o_1.orig.tar.xz"
    assert debian.pool_url("file:///srv/m", "libffi", "f.tar.gz") == \
        "file:///srv/m/pool/main/libf/libffi/f.tar.gz"


def test_mirror_from_apt_sources(tmp_path: Path) -> None:
    etc = tmp_path / "apt"
    (etc / "sources.list.d").mkdir(parents=True)
    with pytest.raises(debian.MirrorNotFound):
        debian.debian_mirror(etc)
    (etc / "sources.list").write_text(
        "# comment\ndeb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64] http://one-line.example/debian/ bookworm main\n")
    assert debian.debian_mirror(etc) == "http://one-line.example/debian"
    # deb822 files come first; security and disabled stanzas are skipped
    (etc / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n"
        "Types: deb deb-src\nURIs: http://deb822.example/debian\nSuites: bookworm\n")
    assert debian.debian_mirror(etc) == "http://deb822.example/debian"
    # PYODIST_DEBIAN_MIRROR, which the options layer reads, wins
    assert debian.debian_mirror(etc, override="http://override.example/d/") == \
        "http://override.example/d"
    assert resolve_options(cwd=tmp_path, environ={
        "PYODIST_DEBIAN_MIRROR": " http://override.example/d/ "}).debian_mirror == \
        "http://override.example/d/"


def test_index_file_urls_are_told_by_their_path() -> None:
    from pyodist.sources.fetch import index_file_project  # noqa: PLC0415

    assert index_file_project("https://files.example/packages/source/s/six/six-1.17.0.tar.gz") \
        == "six"
    assert index_file_project("https://m.example/packages/py3/p/pkg/pkg-1.0-py3-none-any.whl") \
        == "pkg"
    assert index_file_project("https://m.example/packages/py2.py3/s/six/six-1.0-py2.py3-none"
                              "-any.whl") == "six"
    hashed = "https://m.example/packages/71/39/" + "6" * 60 + "/pyerfa-2.0.1.5.tar.gz"
    assert index_file_project(hashed) == "pyerfa"
    assert index_file_project("https://m.example/packages/ab/cd/" + "0" * 60
                              + "/ruamel.yaml-0.19.1-py3-none-any.whl") == "ruamel-yaml"
    for other in ("https://example.org/downloads/six-1.17.0.tar.gz",
                  "pypi:six/six-1.17.0.tar.gz", "file:///packages/source/s/six/six.tar.gz",
                  "https://m.example/packages/ab/cd/short/six-1.17.0.tar.gz"):
        assert index_file_project(other) is None


def test_credentials_in_urls_are_never_shown() -> None:
    from pyodist.urls import redact_url  # noqa: PLC0415

    assert redact_url("https://me:s3cr%40t@mirror.example/simple/six/") == \
        "https://***@mirror.example/simple/six/"
    assert redact_url("cannot reach http://token@h.example/x and ftp://a:b@c/d") == \
        "cannot reach http://***@h.example/x and ftp://***@c/d"
    assert redact_url("user@example.org and https://h.example/a@b") == \
        "user@example.org and https://h.example/a@b"


def test_an_index_that_is_not_there_is_not_a_missing_project(tmp_path: Path) -> None:
    from pyodist.errors import SourceError  # noqa: PLC0415
    from pyodist.sources import IndexSettings, PackageIndex  # noqa: PLC0415

    (tmp_path / "simple" / "other").mkdir(parents=True)
    gone = PackageIndex(IndexSettings((f"file://{tmp_path}/nowhere/simple/",)))
    with pytest.raises(SourceError, match="no package index answers at file://"):
        gone.project_files("six")
    there = PackageIndex(IndexSettings((f"file://{tmp_path}/simple/",)))
    with pytest.raises(SourceError, match="project 'six' was not found on the package index"):
        there.project_files("six")
