"""Safe extraction: normal archives work, hostile ones are refused and write nothing outside."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from pyodist.errors import SourceError
from pyodist.sources.extract import extract_archive, source_root


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]],
         mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    return path


def _file(name: str, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = mode
    return info


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize("suffix,mode", [
    (".tar.gz", "w:gz"), (".tgz", "w:gz"), (".tar.bz2", "w:bz2"), (".tar.xz", "w:xz"),
])
def test_tar_formats_extract_and_strip_top_folder(tmp_path: Path, suffix: str, mode: str) -> None:
    archive = _tar(tmp_path / f"pkg-1.0{suffix}", [
        (_file("pkg-1.0/setup.py"), b"print('hi')\n"),
        (_file("pkg-1.0/bin/run", 0o4755), b"#!/bin/sh\n"),
        (_link("pkg-1.0/link.py", "setup.py"), None),
        (_link("pkg-1.0/hard.py", "pkg-1.0/setup.py", tarfile.LNKTYPE), None),
    ], mode)
    out = tmp_path / "out"
    extract_archive(archive, out)
    root = source_root(out, None)
    assert root == out / "pkg-1.0"
    assert (root / "setup.py").read_text() == "print('hi')\n"
    assert (root / "link.py").is_symlink() and (root / "link.py").read_text() == "print('hi')\n"
    assert (root / "hard.py").read_text() == "print('hi')\n"
    run_mode = stat.S_IMODE((root / "bin" / "run").stat().st_mode)
    assert run_mode == 0o755  # setuid dropped


def test_zip_and_wheel(tmp_path: Path) -> None:
    for name in ("pkg-1.0.zip", "pkg-1.0-py3-none-any.whl"):
        archive = tmp_path / name
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("pkg/__init__.py", "x = 1\n")
            zf.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\n")
        out = tmp_path / f"out-{name}"
        extract_archive(archive, out)
        assert (out / "pkg" / "__init__.py").read_text() == "x = 1\n"
        assert source_root(out, None, is_wheel=name.endswith(".whl")) == out


def test_extract_dir_override_and_its_error(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "a.tar.gz", [(_file("one/a"), b""), (_file("two/b"), b"")])
    out = tmp_path / "out"
    extract_archive(archive, out)
    assert source_root(out, None) == out  # two top-level folders: nothing stripped
    assert source_root(out, "two") == (out / "two").resolve()
    with pytest.raises(SourceError) as info:
        source_root(out, "three")
    assert str(info.value) == (
        "'source/extract_dir' is 'three', but the archive holds: one, two\n"
        "  fix: set 'extract_dir' to one of those folders, or remove it"
    )


def _hostile_tars() -> dict[str, tuple[list[tuple[tarfile.TarInfo, bytes | None]], str]]:
    dev = tarfile.TarInfo("pkg/null")
    dev.type = tarfile.CHRTYPE
    fifo = tarfile.TarInfo("pkg/fifo")
    fifo.type = tarfile.FIFOTYPE
    return {
        "absolute": ([(_file("/tmp/evil"), b"x")], "has an absolute path"),
        "dotdot": ([(_file("pkg/../../evil"), b"x")], "escapes the extraction folder with '..'"),
        "symlink-escape": ([(_link("pkg/esc", "../../outside"), None)],
                           "links outside the extraction folder ('../../outside')"),
        "symlink-absolute": ([(_link("pkg/esc", "/etc/passwd"), None)],
                             "links to an absolute path '/etc/passwd'"),
        "hardlink-escape": ([(_link("pkg/esc", "../outside", tarfile.LNKTYPE), None)],
                            "links outside the extraction folder ('../outside')"),
        "hardlink-absolute": ([(_link("pkg/esc", "/etc/passwd", tarfile.LNKTYPE), None)],
                              "links to an absolute path '/etc/passwd'"),
        "device": ([(dev, None)], "is a device, FIFO or other special file"),
        "fifo": ([(fifo, None)], "is a device, FIFO or other special file"),
    }


@pytest.mark.parametrize("case", sorted(_hostile_tars()))
def test_hostile_tar_is_refused_and_writes_nothing_outside(tmp_path: Path, case: str) -> None:
    members, why = _hostile_tars()[case]
    archive = _tar(tmp_path / "evil.tar.gz", members)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(SourceError) as info:
        extract_archive(archive, tmp_path / "box" / "out")
    assert why in str(info.value)
    assert "refusing to extract evil.tar.gz" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "box"])
    assert not (tmp_path / "evil").exists() and not (tmp_path / "outside").exists()


def test_symlink_then_file_through_it_is_refused(tmp_path: Path) -> None:
    # A link, then a file "through" it: links are created last, so the file made a real
    # folder first and the link may not replace it.
    archive = _tar(tmp_path / "t.tar.gz", [
        (_link("pkg/dir", "../.."), None), (_file("pkg/dir/x"), b"data"),
    ])
    with pytest.raises(SourceError, match="links outside"):
        extract_archive(archive, tmp_path / "out")
    archive = _tar(tmp_path / "u.tar.gz", [
        (_link("pkg/dir", "."), None), (_file("pkg/dir/x"), b"data"),
    ])
    with pytest.raises(SourceError, match="is a link over another member of the archive"):
        extract_archive(archive, tmp_path / "out2")
    assert not (tmp_path / "x").exists()


def test_zip_hostile_members(tmp_path: Path) -> None:
    cases = {
        "../evil": "escapes the extraction folder",
        "/abs/evil": "has an absolute path",
        "C:/evil": "has an absolute path",
    }
    for name, why in cases.items():
        archive = tmp_path / "evil.zip"
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr(name, "x")
        with pytest.raises(SourceError, match=why):
            extract_archive(archive, tmp_path / f"out{len(why)}{len(name)}")
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("pkg/esc")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "../../etc/passwd")
    with pytest.raises(SourceError, match="links outside the extraction folder"):
        extract_archive(archive, tmp_path / "out-link")


def test_zip_bomb_is_stopped_by_the_size_limit(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb/zeros", b"\0" * (8 * 1024 * 1024))
    assert archive.stat().st_size < 100_000
    with pytest.raises(SourceError) as info:
        extract_archive(archive, tmp_path / "out", size_limit=1024 * 1024)
    assert "expands past the size limit of 1048576 bytes" in str(info.value)


def test_tar_bomb_with_lying_header_is_stopped(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "bomb.tar.gz", [(_file("b/zeros"), b"\0" * (4 * 1024 * 1024))])
    with pytest.raises(SourceError, match="expands past the size limit"):
        extract_archive(archive, tmp_path / "out", size_limit=1024 * 1024)


def test_not_an_archive(tmp_path: Path) -> None:
    bad = tmp_path / "x.tar.gz"
    bad.write_bytes(b"not really")
    with pytest.raises(SourceError, match=r"x\.tar\.gz is not a readable archive"):
        extract_archive(bad, tmp_path / "out")
    with pytest.raises(SourceError, match="unknown archive type"):
        extract_archive(tmp_path / "x.rar", tmp_path / "out2")
