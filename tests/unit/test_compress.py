"""The .br/.gz siblings of a bundle's files: the same bytes with and without the cache, which
is keyed by content and checked before use."""

from __future__ import annotations

import gzip
from pathlib import Path

import brotli

from pyodist.bundle.compress import compress_folder


def _folder(tmp: Path, name: str, files: dict[str, bytes]) -> Path:
    folder = tmp / name
    folder.mkdir()
    for file, data in files.items():
        (folder / file).write_bytes(data)
    return folder


def _siblings(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.suffix in (".br", ".gz")}


FILES = {"a.wasm": b"\0asm" + bytes(range(256)) * 400, "b.json": b'{"x": 1}\n' * 50,
         "empty.txt": b""}


def test_the_cache_changes_no_byte(tmp_path: Path) -> None:
    plain = _folder(tmp_path, "plain", FILES)
    compress_folder(plain, ["br", "gz"])
    cache = tmp_path / "cache"
    first = _folder(tmp_path, "first", FILES)
    compress_folder(first, ["br", "gz"], cache=cache, jobs=2)
    again = _folder(tmp_path, "again", FILES)
    compress_folder(again, ["gz", "br"], cache=cache)
    assert _siblings(plain) == _siblings(first) == _siblings(again)
    assert sorted(_siblings(plain)) == sorted(f"{n}.{k}" for n in FILES for k in ("br", "gz"))
    for name, data in FILES.items():
        assert brotli.decompress((plain / f"{name}.br").read_bytes()) == data
        assert gzip.decompress((plain / f"{name}.gz").read_bytes()) == data
        # the gzip header names the file, with mtime 0
        header = (plain / f"{name}.gz").read_bytes()[:10 + len(name) + 1]
        assert header[4:8] == b"\0\0\0\0" and header[10:] == name.encode() + b"\0"
    assert len(list(cache.rglob("*.br"))) == len(list(cache.rglob("*.gz"))) == len(FILES)


def test_a_damaged_entry_is_made_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    compress_folder(_folder(tmp_path, "first", FILES), ["br"], cache=cache)
    for entry in cache.rglob("*.br"):
        entry.write_bytes(entry.read_bytes()[:-3] + b"xyz")
    again = _folder(tmp_path, "again", FILES)
    compress_folder(again, ["br"], cache=cache)
    for name, data in FILES.items():
        assert brotli.decompress((again / f"{name}.br").read_bytes()) == data


def test_same_bytes_under_another_name_keep_their_own_gzip_header(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    one = _folder(tmp_path, "one", {"x.txt": b"same"})
    two = _folder(tmp_path, "two", {"y.txt": b"same"})
    compress_folder(one, ["gz", "br"], cache=cache)
    compress_folder(two, ["gz", "br"], cache=cache)
    assert b"y.txt\0" in (two / "y.txt.gz").read_bytes()
    assert (one / "x.txt.br").read_bytes() == (two / "y.txt.br").read_bytes()
