"""Deterministic tar archives: the same files always give the same bytes.

Used for library artifacts (the headers and archives a static or shared library installs
for its dependents) and, later, for distribution tarballs. Members are sorted, owned by
0:0 with empty names, stamped with one time, and reduced to 0644/0755 modes; symlinks are
kept as links. gzip output carries no file name and no timestamp.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from collections.abc import Iterable
from pathlib import Path

from pyodist.errors import BuildError, SourceError
from pyodist.fsutil import write_atomic
from pyodist.sources.extract import extract_archive

__all__ = ["extract_tar", "write_tar"]


def _normalized(info: tarfile.TarInfo, epoch: int) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = epoch
    if info.isdir() or info.mode & 0o111:
        info.mode = 0o755
    else:
        info.mode = 0o644
    return info


def write_tar(out: Path, root: Path, members: Iterable[str], *, epoch: int,
              compress: bool = False) -> Path:
    """Write ``members`` (paths relative to ``root``) to ``out`` atomically."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in sorted(set(members)):
            path = root / rel
            info = _normalized(tar.gettarinfo(str(path), arcname=rel), epoch)
            if info.isreg():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    data = buf.getvalue()
    if compress:
        packed = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0,
                           compresslevel=9) as gz:
            gz.write(data)
        data = packed.getvalue()
    return write_atomic(out, data)


def extract_tar(archive: Path, dest: Path) -> None:
    """Unpack an artifact tar into ``dest`` (merging), with the safe extractor's checks."""
    staging = dest.parent / f".{dest.name}.unpack.{os.getpid()}"
    try:
        extract_archive(archive, staging, filename=archive.name)
    except SourceError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BuildError(f"cannot unpack library artifact {archive}: {exc}",
                         hint="remove the artifact cache entry and build again") from None
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(staging.rglob("*")):
        rel = path.relative_to(staging)
        target = dest / rel
        if path.is_dir() and not path.is_symlink():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists() or target.is_symlink():
                target.unlink()
            os.replace(path, target)
    shutil.rmtree(staging, ignore_errors=True)
