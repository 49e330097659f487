"""The precompressed siblings of a bundle's files (``NAME.br``, ``NAME.gz``), made in parallel
and kept in the user's cache by content.

A bundle's largest files (the runtime's wasm, the standard library, the memory snapshot, most
wheels) are the same bytes from one bundle to the next, and brotli at quality 11 spends seconds
on each. A compressed file is kept under the sha256 of what it compresses and of how (kind,
level, compressor version), so it is reused only for exactly that input; an entry is checked by
decompressing it before use, and one that does not give the input back is made again.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pyodist.errors import BundleError
from pyodist.fsutil import write_atomic

__all__ = ["KINDS", "compress_folder"]

KINDS = ("br", "gz")


def _gzip(data: bytes, name: str) -> bytes:
    buf = io.BytesIO()
    # mtime 0: the same bytes every time; the header names the file (``name``)
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0,
                       filename=f"{name}.gz") as gz:
        gz.write(data)
    return buf.getvalue()


Codec = tuple[Callable[[bytes, str], bytes], Callable[[bytes], bytes], str]


def _brotli() -> Codec:
    try:
        import brotli  # noqa: PLC0415 - optional, only for profiles asking for .br
    except ImportError:
        raise BundleError("the profile asks for .br files but the brotli module is missing",
                          hint="pip install brotli") from None
    # quality 11 even for a 31 MB memory snapshot: about 60 s, and 16% smaller than 9
    return (lambda data, _name: bytes(brotli.compress(data, quality=11)),
            lambda data: bytes(brotli.decompress(data)),
            f"brotli {getattr(brotli, '__version__', '?')} q11")


def _codecs(kinds: Sequence[str]) -> dict[str, Codec]:
    codecs: dict[str, Codec] = {}
    if "gz" in kinds:
        codecs["gz"] = (_gzip, gzip.decompress, f"gzip zlib {zlib.ZLIB_RUNTIME_VERSION} l9")
    if "br" in kinds:
        codecs["br"] = _brotli()
    return codecs


def compress_folder(folder: Path, kinds: Sequence[str], *, cache: Path | None = None,
                    jobs: int | None = None) -> None:
    """Write ``NAME.br`` and/or ``NAME.gz`` beside every file directly in ``folder``.

    ``cache`` (a folder) keeps what was made, by content; ``jobs`` threads compress at once
    (the compressors release the GIL), default one per core.
    """
    codecs = _codecs(kinds)
    work = [(path, kind) for path in sorted(p for p in folder.iterdir() if p.is_file())
            for kind in KINDS if kind in codecs]

    def one(item: tuple[Path, str]) -> None:
        path, kind = item
        compress, decompress, how = codecs[kind]
        data = path.read_bytes()
        entry = None
        if cache is not None:
            # gzip's header holds the file's name, so the name is part of its key
            label = f"{how} {path.name}" if kind == "gz" else how
            key = hashlib.sha256(hashlib.sha256(data).digest() + label.encode()).hexdigest()
            entry = cache / key[:2] / f"{key}.{kind}"
            made = _cached(entry, data, decompress)
            if made is not None:
                path.with_name(f"{path.name}.{kind}").write_bytes(made)
                return
        made = compress(data, path.name)
        path.with_name(f"{path.name}.{kind}").write_bytes(made)
        if entry is not None:
            # a read-only or full cache only costs the next bundle the time
            with contextlib.suppress(OSError):
                write_atomic(entry, made)

    # the largest first, so that the last one running is a small one
    work.sort(key=lambda item: -item[0].stat().st_size)
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        for _ in pool.map(one, work):
            pass


def _cached(entry: Path, data: bytes, decompress: Callable[[bytes], bytes]) -> bytes | None:
    try:
        made = entry.read_bytes()
    except OSError:
        return None
    try:
        if decompress(made) == data:
            return made
    except Exception:  # noqa: BLE001, S110 - a damaged entry of any kind is made again
        pass
    return None
