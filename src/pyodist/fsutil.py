"""File-system helpers shared by every writer that must never leave a half entry."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

from pyodist.errors import UsageError
from pyodist.process import pid_alive

__all__ = ["READ_ONLY_ERRNOS", "copy_atomic", "entry_lock", "links_leaving", "naming",
           "output_folder", "remove_stale", "replace_dir", "resolve_inside", "write_atomic"]

# what a write into a cache that was handed over read-only fails with
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
# what a write to a full disk fails with: always the written file's fault, not the read one's
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


@contextlib.contextmanager
def entry_lock(lock_file: Path) -> Iterator[bool]:
    """Hold ``lock_file`` (a cross-process lock on one cache entry) while the block runs.

    In a cache that is read-only (restored read-only on CI, a shared NFS copy) no lock can
    be taken; then the block runs unlocked and gets False, and may only read: nobody can
    write there to race it.
    """
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_file))
        lock.acquire()
    except OSError as exc:
        if exc.errno not in READ_ONLY_ERRNOS:
            raise
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def remove_stale(folder: Path, pattern: re.Pattern[str]) -> list[Path]:
    """Remove the entries of ``folder`` whose name matches ``pattern`` and whose writer died.

    Every temp file or folder a writer makes carries its process id (the ``pid`` group of
    ``pattern``), so a later run can tell a killed writer's leftovers from live work.
    """
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:  # no folder yet: nothing left behind
        return removed
    for path in entries:
        match = pattern.match(path.name)
        if match is None or pid_alive(int(match.group("pid"))):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:  # a read-only cache: its leftovers stay, harmlessly
                if exc.errno not in READ_ONLY_ERRNOS:
                    raise
                continue
        removed.append(path)
    return removed


def replace_dir(ready: Path, dest: Path) -> Path:
    """Put the complete folder ``ready`` at ``dest``, replacing what was there.

    The old folder is first renamed aside and only then deleted, so ``dest`` is never
    half-written: it is the old complete folder, the new one, or (killed between the two
    renames) absent. A ``.<name>.old.<pid>.*`` folder a killed run left beside it is removed
    by the next replace of ``dest``.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(dest.parent, re.compile(rf"^\.{re.escape(dest.name)}\.old\.(?P<pid>\d+)\."))
    old = None
    if dest.exists():
        old = dest.parent / f".{dest.name}.old.{os.getpid()}.{secrets.token_hex(4)}"
        os.replace(dest, old)
    os.replace(ready, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return dest


@contextlib.contextmanager
def naming(path: Path | str) -> Iterator[None]:
    """An OSError without a file name (a write that hit a full disk) gets ``path`` as its
    file name, so that the one-line error says which file could not be written."""
    try:
        yield
    except OSError as exc:
        # shutil's copies name the source file for a full destination disk
        if exc.errno is not None and (exc.filename is None or exc.errno in _FULL_ERRNOS):
            raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path)) from None
        raise


def _temp_beside(path: Path) -> Path:
    """A fresh temp name in ``path``'s folder; a dead process's temp files there are removed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path.parent, re.compile(rf"^\.{re.escape(path.name)}\.(?P<pid>\d+)\..*\.tmp$"))
    return path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def write_atomic(path: Path, data: bytes | str, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` through a temp file in the same folder and one rename.

    ``mode`` sets the file's permissions before it appears (an executable script). On
    failure (a full disk) nothing is left and the error names ``path``.
    """
    tmp = _temp_beside(path)
    try:
        with naming(path), tmp.open("wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            tmp.chmod(mode)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def copy_atomic(source: Path, dest: Path, *, keep_existing: bool = False,
                metadata: bool = False) -> Path:
    """Copy ``source`` to ``dest`` through a temp file beside it and one rename.

    ``keep_existing``: a ``dest`` already there is kept (a content-addressed entry);
    ``metadata``: the mode and times are copied too. On failure (a full disk) nothing is
    left and the error names ``dest``.
    """
    if keep_existing and dest.is_file():
        return dest
    tmp = _temp_beside(dest)
    try:
        with naming(dest):
            (shutil.copy2 if metadata else shutil.copyfile)(source, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def links_leaving(folder: Path, root: Path) -> list[str]:
    """The symbolic links under ``folder`` that a copy must not follow: links to a folder
    (a copy that follows one can loop, or take a whole tree along), and links to a file
    outside ``root`` (a host file would be copied in); as paths relative to ``folder``."""
    bad: list[str] = []
    top = root.resolve()
    for base, dirs, files in os.walk(folder):  # links to folders are not descended into
        for name in sorted([*dirs, *files]):
            path = Path(base, name)
            if not path.is_symlink():
                continue
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):  # dangling, or a loop
                bad.append(path.relative_to(folder).as_posix())
                continue
            if target.is_dir() or not target.is_relative_to(top):
                bad.append(path.relative_to(folder).as_posix())
    return bad


def resolve_inside(root: Path, name: str | Path) -> Path | None:
    """The real path of ``root / name`` when it stays inside ``root`` (itself included),
    links resolved; None when it leaves, or cannot be resolved (a NUL, a link loop, a name
    too long). ``root`` must be a real path."""
    try:
        if "\0" in str(name):
            return None
        real = (root / name).resolve()
    except (OSError, ValueError, RuntimeError):
        return None
    return real if real == root or real.is_relative_to(root) else None


def output_folder(path: Path, flag: str) -> Path:
    """``path`` (a folder pyodist writes into) resolved, refusing what would put the output
    elsewhere than the user named: a link to nowhere (it would be made where it points) and
    a path whose existing part is a file."""
    if path.is_symlink() and not path.exists():
        raise UsageError(f"{flag} {path}: a link to {path.readlink()}, which does not exist",
                         hint="remove the link, or name the folder itself")
    resolved = path.resolve()
    existing = next(p for p in [resolved, *resolved.parents] if p.exists())
    if not existing.is_dir():
        raise UsageError(f"{flag} {path}: {existing} is not a folder",
                         hint="name a folder (new or existing)")
    return resolved
