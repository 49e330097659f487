"""File-system helpers shared by every writer that must never leave a half entry."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

__all__ = ["replace_dir", "write_atomic"]


def replace_dir(ready: Path, dest: Path) -> Path:
    """Put the complete folder ``ready`` at ``dest``, replacing what was there.

    The old folder is first renamed aside and only then deleted, so at every instant
    ``dest`` is either the old complete folder or the new one (a crash in between leaves
    a ``.<name>.old.*`` folder beside it, never a half-written ``dest``).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if dest.exists():
        old = dest.parent / f".{dest.name}.old.{os.getpid()}.{secrets.token_hex(4)}"
        os.replace(dest, old)
    os.replace(ready, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return dest


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temp file in the same folder and one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with tmp.open("wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
