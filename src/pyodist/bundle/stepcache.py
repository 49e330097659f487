"""Outputs of the bundle's slow, deterministic steps, kept in the user's cache by content.

Precompiling the standard library and wheels in the runtime (two Node runs) and making a
memory snapshot (a third) give the same bytes for the same inputs, and most bundles are made
again from the same inputs (a test, a release after `make dist`, a no-op rebuild). A step's
output files are kept under a key of everything it reads: the digests of its input files,
its settings, and pyodist's own code that does the step; an entry is used only if every file
still has the digest recorded when it was written, and a damaged one is made again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pyodist.fsutil import replace_dir
from pyodist.hashing import sha256_file

__all__ = ["StepCache", "code_digest"]

_PACKAGE = Path(__file__).resolve().parents[1]
# what turns a step's inputs into its outputs: the bundle modules, the runtime's harnesses,
# and the zip and wheel writers
_CODE = ("bundle", "runtime", "builder/wheel.py", "builder/archive.py", "fsutil.py")
_MANIFEST = "entry.json"


def code_digest(root: Path = _PACKAGE) -> str:
    """sha256 over pyodist's own files that bundle steps run (paths and bytes)."""
    digest = hashlib.sha256()
    for part in _CODE:
        base = root / part
        files = (sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir()
                 else [base] if base.is_file() else [])
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class StepCache:
    """``root/<step>/<key>/`` holds one output; ``root`` None keeps nothing."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._code: str | None = None

    def key(self, step: str, inputs: Mapping[str, Any]) -> str | None:
        if self.root is None:
            return None
        if self._code is None:
            self._code = code_digest()
        text = json.dumps({"step": step, "code": self._code, **inputs}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def restore(self, step: str, key: str | None, dest: Path) -> dict[str, Any] | None:
        """Copy the entry's files into ``dest``; its extra data, or None on a miss."""
        if self.root is None or key is None:
            return None
        entry = self.root / step / key
        try:
            manifest = json.loads((entry / _MANIFEST).read_text())
            files: dict[str, str] = manifest["files"]
            if any(sha256_file(entry / "files" / name) != digest
                   for name, digest in files.items()):
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        for name in files:
            shutil.copyfile(entry / "files" / name, dest / name)
        extra: dict[str, Any] = manifest.get("extra") or {}
        return extra

    def store(self, step: str, key: str | None, src: Path, names: Iterable[str],
              extra: Mapping[str, Any] | None = None) -> None:
        """Keep ``src``'s files ``names`` (and ``extra``) as the entry; a cache that cannot
        be written only costs the next bundle the time."""
        if self.root is None or key is None:
            return
        folder = self.root / step
        ready = folder / f".{key}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            (ready / "files").mkdir(parents=True)
            files = {}
            for name in names:
                shutil.copyfile(src / name, ready / "files" / name)
                files[name] = sha256_file(ready / "files" / name)
            (ready / _MANIFEST).write_text(json.dumps({"files": files, "extra": extra or {}},
                                                      sort_keys=True))
            replace_dir(ready, folder / key)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(ready)
