"""The artifact cache: built wheels and library trees, stored under their content key.

A key (see :func:`artifact_key`) is a sha256 over everything that can change a build's
output: the recipe's meaning, the source sha256, the bytes of its patches and extras, the
toolchain image id, the target runtime and the keys of its build-time dependencies. Never a
file time. An entry is a folder ``artifacts/<k[:2]>/<key>/`` with the files and an
``artifact.json`` listing their sha256; it appears by one rename of a complete staging
folder, and is checked against that list before use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyodist.errors import BuildError
from pyodist.fsutil import entry_lock, remove_stale, replace_dir
from pyodist.hashing import sha256_file

__all__ = ["Artifact", "ArtifactCache", "artifact_key"]

META = "artifact.json"
# Bump when a change in pyodist itself changes what a build produces.
BUILD_LOGIC_VERSION = "2"
_STAGING = re.compile(r"^[0-9a-f]{64}\.(?P<pid>\d+)\.[0-9a-f]+\Z")


def artifact_key(parts: Mapping[str, Any]) -> str:
    """sha256 of canonical JSON of ``parts`` (plus the build-logic version)."""
    payload = {"pyodist-build-logic": BUILD_LOGIC_VERSION, **parts}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Artifact:
    key: str
    name: str
    folder: Path
    files: tuple[str, ...]  # file names inside ``folder``
    meta: Mapping[str, Any]

    def paths(self) -> list[Path]:
        return [self.folder / f for f in self.files]

    def sha256(self, filename: str) -> str:
        value: str = self.meta["sha256"][filename]
        return value


class ArtifactCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, key: str) -> Path:
        return self.root / "artifacts" / key[:2] / key

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Serialise building one key across processes; in a read-only cache, reading goes
        on without a lock."""
        with entry_lock(self.root / "locks" / f"{key}.lock"):
            yield

    def get(self, key: str) -> Artifact | None:
        """The entry for ``key`` if complete and intact; a damaged entry is removed."""
        folder = self.folder(key)
        try:
            meta = json.loads((folder / META).read_text())
        except (OSError, ValueError):
            return None
        files = tuple(meta.get("files", ()))
        for name in files:
            path = folder / name
            if not path.is_file() or sha256_file(path) != meta["sha256"].get(name):
                shutil.rmtree(folder, ignore_errors=True)
                return None
        return Artifact(key, meta["name"], folder, files, meta)

    def clean_stale(self) -> list[Path]:
        """Remove staging folders (``tmp/<key>.<pid>.<random>``) of runs that were killed."""
        return remove_stale(self.root / "tmp", _STAGING)

    def put(self, key: str, name: str, files: Sequence[Path],
            meta: Mapping[str, Any]) -> Artifact:
        """Store copies of ``files`` under ``key``; returns the stored artifact."""
        staging = self.root / "tmp" / f"{key}.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            staging.mkdir(parents=True)
        except OSError as exc:
            raise BuildError(f"cannot store {name} in the artifact cache {self.root}: "
                             f"{exc.strerror}", hint="the cache is read-only (or full): pass a "
                             "writable --cache-dir (PYODIST_CACHE_DIR)") from None
        try:
            names = []
            digests = {}
            for src in files:
                shutil.copy2(src, staging / src.name)
                names.append(src.name)
                digests[src.name] = sha256_file(staging / src.name)
            record = {**meta, "name": name, "key": key, "files": sorted(names),
                      "sha256": digests}
            (staging / META).write_text(json.dumps(record, indent=2, sort_keys=True))
            target = self.folder(key)
            replace_dir(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        found = self.get(key)
        if found is None:  # pragma: no cover - only if the disk lies to us
            raise OSError(f"artifact {key} vanished right after it was stored")
        return found
