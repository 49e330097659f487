"""Safe extraction of source archives into a fresh directory.

Every member is checked before anything is written: no absolute paths, no ``..``, links only
to places inside the tree, no devices or FIFOs, and a cap on the total unpacked size (counted
while writing, so a lying header does not help a zip bomb). Members are written by this module,
never by ``tarfile.extractall``; modes are reduced to rwx bits (no setuid), owners ignored.
"""

from __future__ import annotations

import functools
import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pyodist.errors import HOST_ERRNOS, SourceError
from pyodist.fsutil import naming

__all__ = [
    "ARCHIVE_SUFFIXES", "DEFAULT_SIZE_LIMIT", "ArchiveListing", "extract_archive", "list_archive",
    "source_root",
]

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar", ".zip",
                    ".whl")
DEFAULT_SIZE_LIMIT = 2 * 1024**3  # 2 GiB unpacked; the numpy sdist is ~100 MB
_CHUNK = 1 << 20
_MAX_LINK_TARGET = 4096  # PATH_MAX on Linux; a zip stores a symlink's target as its content

# What a damaged or hostile archive raises from the standard library while it is read:
# zlib.error / LZMAError for corrupt compressed data (not OSError subclasses),
# NotImplementedError for an unknown zip compression method, RuntimeError for an encrypted
# zip member, UnicodeDecodeError for a zip name flagged UTF-8 that is not.
_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError,
                zlib.error, lzma.LZMAError, NotImplementedError, RuntimeError,
                UnicodeDecodeError)


@dataclass(frozen=True)
class _Member:
    name: str  # normalised relative POSIX path
    kind: str  # file | dir | symlink | hardlink
    mode: int
    size: int
    link: str | None
    open: Callable[[], IO[bytes] | None] | None  # files only


def _fail(label: str, member: str, why: str) -> SourceError:
    return SourceError(
        f"refusing to extract {label}: member {member!r} {why}",
        hint="the archive is malformed or hostile; check 'source/url' and 'source/sha256'",
    )


def _clean_name(label: str, raw: str) -> str:
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise _fail(label, raw, "has an absolute path")
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../") or "/../" in f"/{name}/":
        raise _fail(label, raw, "escapes the extraction folder with '..'")
    if "\0" in name:
        raise _fail(label, raw, "has a NUL byte in its name")
    return "" if norm == "." else norm


def _check_link(label: str, member: str, target: str, *, hard: bool) -> str:
    if target.startswith("/") or "\0" in target:
        raise _fail(label, member, f"links to an absolute path {target!r}")
    # A symlink is relative to its own folder; a tar hard link names a member from the root.
    base = "" if hard else posixpath.dirname(member)
    resolved = posixpath.normpath(posixpath.join(base, target))
    if resolved == ".." or resolved.startswith("../"):
        raise _fail(label, member, f"links outside the extraction folder ({target!r})")
    return resolved


def _tar_members(label: str, tf: tarfile.TarFile) -> Iterator[_Member]:
    for info in tf:
        name = _clean_name(label, info.name)
        if info.isdir():
            yield _Member(name, "dir", info.mode, 0, None, None)
        elif info.isreg():
            yield _Member(name, "file", info.mode, info.size, None,
                          functools.partial(tf.extractfile, info))
        elif info.issym():
            _check_link(label, name, info.linkname, hard=False)
            yield _Member(name, "symlink", info.mode, 0, info.linkname, None)
        elif info.islnk():
            target = _check_link(label, name, info.linkname, hard=True)
            yield _Member(name, "hardlink", info.mode, 0, target, None)
        elif info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME,
                           tarfile.GNUTYPE_LONGLINK):
            continue
        else:
            raise _fail(label, info.name, "is a device, FIFO or other special file")


def _zip_members(label: str, zf: zipfile.ZipFile) -> Iterator[_Member]:
    for info in zf.infolist():
        name = _clean_name(label, info.filename)
        mode = (info.external_attr >> 16) & 0xFFFF
        if stat.S_ISLNK(mode):
            if info.file_size > _MAX_LINK_TARGET:
                raise _fail(label, info.filename, f"is a symlink with a {info.file_size}-byte "
                            "target")
            with zf.open(info) as stream:
                target = stream.read(_MAX_LINK_TARGET + 1).decode("utf-8", "replace")
            _check_link(label, name, target, hard=False)
            yield _Member(name, "symlink", 0o777, 0, target, None)
        elif info.filename.endswith("/"):  # ZipInfo.is_dir() raises IndexError on a "" name
            yield _Member(name, "dir", mode or 0o755, 0, None, None)
        elif stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            raise _fail(label, info.filename, "is a device, FIFO or other special file")
        else:
            yield _Member(name, "file", mode or 0o644, info.file_size, None,
                          functools.partial(zf.open, info))


@contextmanager
def _reading(label: str) -> Iterator[None]:
    """Turn the standard library's archive errors into one SourceError naming the archive."""
    try:
        yield
    except _READ_ERRORS as exc:
        raise SourceError(f"cannot read {label}: {type(exc).__name__}: {exc}",
                          hint="check 'source/sha256'; the archive may be truncated or "
                               "damaged") from None


def _open_archive(archive: Path, display: str) -> tarfile.TarFile | zipfile.ZipFile:
    name = display.lower()
    try:
        if name.endswith((".zip", ".whl")):
            return zipfile.ZipFile(archive)
        if name.endswith(ARCHIVE_SUFFIXES):
            return tarfile.open(archive, "r:*")
    except _READ_ERRORS as exc:
        raise SourceError(f"{display} is not a readable archive: {exc}",
                          hint="check 'source/sha256'; the cached file may be damaged") from None
    raise SourceError(f"{display}: unknown archive type",
                      hint=f"use one of {', '.join(ARCHIVE_SUFFIXES)}")


@dataclass(frozen=True)
class ArchiveListing:
    """The member names of an archive (one leading folder removed) and a few files' bytes."""

    # regular files, relative to the archive's single top folder when it has one
    files: tuple[str, ...]
    contents: dict[str, bytes]


def list_archive(archive: Path, *, filename: str | None = None,
                 read: Callable[[str], bool] = lambda _name: False,
                 max_read: int = 4 * 1024 * 1024) -> ArchiveListing:
    """List ``archive`` without extracting it, reading the small files ``read`` selects.

    Names are checked like :func:`extract_archive` checks them, so a hostile archive fails
    the same way here. ``sdist-1.0/pkg/__init__.py`` is listed as ``pkg/__init__.py``.
    """
    label = filename or archive.name
    with _open_archive(archive, label) as handle, _reading(label):
        members = (_zip_members(label, handle) if isinstance(handle, zipfile.ZipFile)
                   else _tar_members(label, handle))
        raw: list[tuple[str, _Member]] = [(m.name, m) for m in members
                                          if m.kind == "file" and m.name]
        tops = {name.split("/", 1)[0] for name, _ in raw}
        strip = len(tops) == 1 and all("/" in name for name, _ in raw)
        files: list[str] = []
        contents: dict[str, bytes] = {}
        for name, member in raw:
            rel = name.split("/", 1)[1] if strip else name
            files.append(rel)
            if member.open is not None and member.size <= max_read and read(rel):
                stream = member.open()
                if stream is not None:
                    with stream:
                        contents[rel] = stream.read(max_read + 1)[:max_read]
    return ArchiveListing(tuple(sorted(files)), contents)


def _inside(root: Path, rel: str) -> Path:
    """``root/rel`` after checking no existing path component is a symlink (no write-through)."""
    path = root
    for part in rel.split("/"):
        if path.is_symlink():
            raise SourceError(f"refusing to write through the link {path.relative_to(root)}",
                              hint="the archive is malformed or hostile")
        path = path / part
    return path


def _unlink_escaping(dest: Path, links: list[Path]) -> list[Path]:
    """Remove the symlinks that resolve outside ``dest`` now that every link exists.

    Each target was checked on its own, but links combine: with ``sub/l1 -> ..``, the link
    ``l2 -> sub/l1/..`` looks like ``sub`` on paper and is the folder above ``dest`` on disk.
    """
    root = dest.resolve()
    escaping = [link for link in links
                if not Path(os.path.realpath(link)).is_relative_to(root)]
    for link in escaping:
        link.unlink()
    return escaping


def extract_archive(archive: Path, dest: Path, *, filename: str | None = None,
                    size_limit: int = DEFAULT_SIZE_LIMIT) -> None:
    """Extract ``archive`` into ``dest`` (which must not exist yet).

    ``filename`` is the archive's real name when ``archive`` is a cache entry named by its
    hash; the suffix decides the format and messages use it.
    """
    label = filename or archive.name
    dest.mkdir(parents=True)
    written = 0
    links: list[_Member] = []
    container = _open_archive(archive, label)
    try:
        with container:
            members = (_zip_members(label, container) if isinstance(container, zipfile.ZipFile)
                       else _tar_members(label, container))
            for m in members:
                if not m.name:
                    continue
                target = _inside(dest, m.name)
                if m.kind == "dir":
                    target.mkdir(parents=True, exist_ok=True)
                elif m.kind == "file":
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if target.is_symlink() or target.is_dir():
                        raise _fail(label, m.name, "would replace a link or folder")
                    stream = m.open() if m.open is not None else None
                    if stream is None:
                        continue
                    with stream, target.open("wb") as out:
                        while chunk := stream.read(_CHUNK):
                            written += len(chunk)
                            if written > size_limit:
                                raise SourceError(
                                    f"refusing to extract {label}: it expands past the "
                                    f"size limit of {size_limit} bytes",
                                    hint="the archive may be a zip bomb; check the source",
                                )
                            with naming(target):  # not the archive's read errors
                                out.write(chunk)
                    os.chmod(target, 0o755 if m.mode & 0o111 else 0o644)
                else:
                    links.append(m)  # after all files exist, so hard links have targets
            created: list[Path] = []
            try:
                for m in links:
                    _write_link(label, dest, m, created)
            finally:
                escaping = _unlink_escaping(dest, created)
            if escaping:
                raise _fail(label, str(escaping[0].relative_to(dest)),
                            "links outside the extraction folder through another link")
    except _READ_ERRORS as exc:
        if isinstance(exc, OSError) and exc.errno in HOST_ERRNOS:
            # a full disk or a read-only folder is the host's, not the archive's fault
            raise OSError(exc.errno, exc.strerror, exc.filename or str(dest)) from None
        raise SourceError(f"cannot extract {label}: {type(exc).__name__}: {exc}",
                          hint="check 'source/sha256'; the archive may be truncated") from None


def _write_link(label: str, dest: Path, m: _Member, created: list[Path]) -> None:
    target = _inside(dest, m.name)
    if target.exists() or target.is_symlink():
        raise _fail(label, m.name, "is a link over another member of the archive")
    target.parent.mkdir(parents=True, exist_ok=True)
    link = m.link or ""
    if m.kind == "symlink":
        target.symlink_to(link)
        created.append(target)
    else:
        source = _inside(dest, link)
        if not source.is_file() or source.is_symlink():
            raise _fail(label, m.name, f"hard-links to a missing file {m.link!r}")
        shutil.copy2(source, target)


def source_root(extracted: Path, extract_dir: str | None, *, is_wheel: bool = False) -> Path:
    """The folder that holds the source, as Pyodide picks it.

    ``extract_dir`` names it explicitly; otherwise a single top-level folder is stripped
    (``six-1.17.0/``). A wheel is used as it is.
    """
    if extract_dir:
        chosen = (extracted / extract_dir).resolve()
        if not chosen.is_dir() or not chosen.is_relative_to(extracted.resolve()):
            found = ", ".join(sorted(p.name for p in extracted.iterdir())) or "nothing"
            raise SourceError(
                f"'source/extract_dir' is {extract_dir!r}, but the archive holds: {found}",
                hint="set 'extract_dir' to one of those folders, or remove it",
            )
        return chosen
    if is_wheel:
        return extracted
    entries = list(extracted.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return extracted
