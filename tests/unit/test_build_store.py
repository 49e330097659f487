"""Reproducible wheel rewriting and the content-keyed artifact cache."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pyodist.builder.wheel import normalize_wheel, parse_wheel_name
from pyodist.errors import BuildError
from pyodist.store.local import ArtifactCache, artifact_key


def _wheel(path: Path, order: list[str], when: tuple[int, ...], mode: int = 0o664) -> Path:
    contents = {
        "pkg/__init__.py": b"x = 1\n",
        "pkg/_ext.cpython-314-wasm32-emscripten.so": b"\0asm\1\0\0\0",
        "pkg-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n",
        "pkg-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\n",
        "pkg-1.0.dist-info/RECORD": b"stale,,\n",
    }
    with zipfile.ZipFile(path, "w") as zf:
        for name in order:
            info = zipfile.ZipInfo(name, when)  # type: ignore[arg-type]
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, contents[name])
    return path


NAMES = ["pkg-1.0.dist-info/RECORD", "pkg/__init__.py", "pkg-1.0.dist-info/WHEEL",
         "pkg/_ext.cpython-314-wasm32-emscripten.so", "pkg-1.0.dist-info/METADATA"]


def test_normalized_wheels_are_byte_identical(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _wheel(tmp_path / "a" / "pkg-1.0-py3-none-any.whl", NAMES, (2026, 11, 25, 10, 0, 0))
    b = _wheel(tmp_path / "b" / "pkg-1.0-py3-none-any.whl", list(reversed(NAMES)),
               (2027, 1, 2, 3, 4, 6), mode=0o600)  # another umask
    assert a.read_bytes() != b.read_bytes()
    normalize_wheel(a, epoch=1_700_000_000)
    normalize_wheel(b, epoch=1_700_000_000)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        names = zf.namelist()
        assert names[-1] == "pkg-1.0.dist-info/RECORD"
        assert names[:2] == ["pkg/__init__.py", "pkg/_ext.cpython-314-wasm32-emscripten.so"]
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}
        record = zf.read("pkg-1.0.dist-info/RECORD").decode().splitlines()
    assert record[0].startswith("pkg/__init__.py,sha256=")
    assert record[-1] == "pkg-1.0.dist-info/RECORD,,"


def test_normalize_rejects_broken_wheels(tmp_path: Path) -> None:
    bad = tmp_path / "x-1-py3-none-any.whl"
    bad.write_bytes(b"nope")
    with pytest.raises(BuildError, match="is not a readable wheel"):
        normalize_wheel(bad)
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("x/__init__.py", "")
    with pytest.raises(BuildError, match="has 0 RECORD files"):
        normalize_wheel(bad)


def test_parse_wheel_name() -> None:
    w = parse_wheel_name("numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32.whl")
    assert (w.name, w.version, w.python, w.platform, w.is_pure) == (
        "numpy", "2.4.6", "cp314", "pyemscripten_2026_0_wasm32", False)
    assert parse_wheel_name("six-1.17.0-py2.py3-none-any.whl").is_pure
    assert w.filename == "numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
    with pytest.raises(BuildError):
        parse_wheel_name("numpy.tar.gz")


def test_artifact_key_is_canonical() -> None:
    assert artifact_key({"a": 1, "b": [1, 2]}) == artifact_key({"b": [1, 2], "a": 1})
    assert artifact_key({"a": 1}) != artifact_key({"a": 2})


def test_artifact_cache_roundtrip_and_damage(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    wheel = tmp_path / "w-1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel bytes")
    key = artifact_key({"name": "w"})
    assert cache.get(key) is None
    with cache.lock(key):
        art = cache.put(key, "w", [wheel], {"seconds": 1.5})
    assert art.files == ("w-1.0-py3-none-any.whl",)
    assert cache.get(key) == art
    assert art.meta["seconds"] == 1.5 and len(art.sha256(art.files[0])) == 64
    art.paths()[0].write_bytes(b"tampered")
    assert cache.get(key) is None  # a damaged entry is dropped, to be rebuilt
    assert not cache.folder(key).exists()
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


def test_artifact_cache_removes_staging_of_killed_runs(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    key = artifact_key({"x": 1})
    dead = tmp_path / "cache" / "tmp" / f"{key}.99999999.abcd1234"  # no such pid
    dead.mkdir(parents=True)
    (dead / "half.whl").write_text("")
    assert cache.clean_stale() == [dead]
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []
