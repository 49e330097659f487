"""A content-addressed store of source archives, keyed by sha256.

Layout under the cache root::

    sha256/ab/abcdef...        the archive itself
    sha256/ab/abcdef....json   where it came from (file name, URL), for people and reports
    tmp/                       files being written: <sha>.<pid>.<random>.part
    locks/<sha>.lock           one lock per entry, shared by every pyodist process

An entry only appears by ``os.replace`` of a fully written, hash-checked temp file, so a
crash or Ctrl-C never leaves a half entry under ``sha256/``. Entries are re-hashed before use;
a corrupted one is removed and fetched again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

from pyodist.errors import SourceError
from pyodist.fsutil import entry_lock, naming
from pyodist.hashing import sha256_file
from pyodist.process import pid_alive
from pyodist.urls import redact_url

__all__ = ["SourceCache"]

_CHUNK = 1 << 20
_PART_RE = re.compile(r"^[0-9a-f]{64}\.(\d+)\.[0-9a-f]+\.part\Z")



_READ_ONLY_HINT = ("the cache is read-only (or full): pass a writable --cache-dir "
                   "(PYODIST_CACHE_DIR), or fill this cache with 'pyodist fetch' where it is "
                   "writable")


class SourceCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = root / "sha256"
        self._tmp = root / "tmp"
        self._locks = root / "locks"

    def _ensure_dirs(self) -> None:
        try:
            for folder in (self._blobs, self._tmp, self._locks):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SourceError(f"cannot write to the source cache at {self.root}: {exc.strerror}",
                              hint=_READ_ONLY_HINT) from None

    def temp_path(self, label: str = "0" * 64) -> Path:
        """A fresh name under ``tmp/`` that :meth:`clean_stale` removes once its writer died."""
        self._ensure_dirs()
        return self._tmp / f"{label}.{os.getpid()}.{secrets.token_hex(4)}.part"

    def path_for(self, sha256: str) -> Path:
        return self._blobs / sha256[:2] / sha256

    @contextlib.contextmanager
    def lock(self, sha256: str) -> Iterator[None]:
        """Serialise work on one entry across processes (two fetches of one source); in a
        read-only cache, reading goes on without a lock."""
        with entry_lock(self._locks / f"{sha256}.lock"):
            yield

    def lookup(self, sha256: str) -> Path | None:
        """The entry's path if present and intact; a corrupted entry is removed."""
        path = self.path_for(sha256)
        if not path.is_file():
            return None
        if sha256_file(path) != sha256:
            with contextlib.suppress(OSError):  # a read-only cache keeps it; it is not used
                path.unlink(missing_ok=True)
            return None
        return path

    def fetched_from(self, sha256: str | None, url: str | None) -> str | None:
        """Where the source with ``sha256`` was downloaded from, when that is not the
        recipe's ``url`` itself (an index file resolved to its address)."""
        origin = self.info(sha256).get("origin") if sha256 else None
        return str(origin) if origin and origin != url else None

    def info(self, sha256: str) -> dict[str, object]:
        meta = self.path_for(sha256).with_suffix(".json")
        try:
            data: dict[str, object] = json.loads(meta.read_text())
        except (OSError, ValueError):
            return {}
        return data

    def store(self, sha256: str, chunks: Iterable[bytes], *, filename: str, origin: str) -> Path:
        """Write ``chunks`` as the entry for ``sha256``; raise SourceError on a mismatch.

        Call inside :meth:`lock`. Nothing is left behind when the hash does not match or the
        iterator raises (the exception propagates after the temp file is removed).
        """
        tmp = self.temp_path(sha256)
        digest = hashlib.sha256()
        size = 0
        try:
            try:
                fh = tmp.open("wb")
            except OSError as exc:
                raise SourceError(
                    f"cannot write {filename} into the source cache {self.root}: "
                    f"{exc.strerror}", hint=_READ_ONLY_HINT) from None
            with fh:
                # only the writes: an error of the download itself keeps its own name
                where = f"{self.root} (writing {filename})"
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    with naming(where):
                        fh.write(chunk)
                with naming(where):
                    fh.flush()
                    os.fsync(fh.fileno())
            actual = digest.hexdigest()
            if actual != sha256:
                raise SourceError(
                    f"sha256 mismatch for {filename} from {redact_url(origin)}:\n"
                    f"  expected {sha256}\n  got      {actual} ({size} bytes)",
                    hint="if the recipe's sha256 is out of date, update 'source/sha256' "
                         "(pyodist skeleton pypi NAME --update does it); nothing was cached",
                )
            target = self.path_for(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            meta = target.with_suffix(".json")
            meta_tmp = tmp.with_suffix(".json.part")
            meta_tmp.write_text(json.dumps(
                {"filename": filename, "origin": redact_url(origin), "size": size},
                sort_keys=True))
            os.replace(meta_tmp, meta)
            os.replace(tmp, target)
            return target
        finally:
            tmp.unlink(missing_ok=True)
            tmp.with_suffix(".json.part").unlink(missing_ok=True)

    def clean_stale(self) -> list[Path]:
        """Remove temp files left by processes that no longer run (after a crash)."""
        removed: list[Path] = []
        if not self._tmp.is_dir():
            return removed
        for part in self._tmp.iterdir():
            match = _PART_RE.match(part.name.removesuffix(".json.part") + ".part"
                                   if part.name.endswith(".json.part") else part.name)
            if match and not pid_alive(int(match.group(1))):
                with contextlib.suppress(OSError):  # read-only: leftovers stay, harmlessly
                    part.unlink(missing_ok=True)
                    removed.append(part)
        return removed
