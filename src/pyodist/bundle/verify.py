"""Check a bundle against its own manifest (and its lock against its files)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyodist.errors import VerifyError
from pyodist.sources.cache import sha256_file
from pyodist.sources.extract import extract_archive

__all__ = ["bundle_folder", "compare_folders", "verify_bundle"]

MANIFEST = "manifest.json"


@contextmanager
def bundle_folder(path: Path) -> Iterator[Path]:
    """The bundle folder of ``path`` (a folder, or a ``.tar.gz`` unpacked to a temp folder)."""
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise VerifyError(f"{path} does not exist", hint="pass a bundle folder or its .tar.gz")
    tmp = Path(tempfile.mkdtemp(prefix="pyodist-verify-"))
    try:
        extract_archive(path, tmp / "x", filename=path.name)
        inner = [p for p in (tmp / "x").iterdir() if p.is_dir()]
        if len(inner) != 1:
            raise VerifyError(f"{path.name} does not hold exactly one bundle folder",
                              hint="pass a tarball written by 'pyodist bundle'")
        yield inner[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def verify_bundle(folder: Path) -> list[str]:
    """Problems found (empty when every file matches the manifest and the lock)."""
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        files: dict[str, dict[str, object]] = manifest["files"]
    except (OSError, ValueError, KeyError) as exc:
        return [f"{manifest_path}: unreadable manifest ({exc.__class__.__name__}: {exc})"]
    problems = []
    present = {p.name for p in folder.iterdir() if p.is_file()} - {MANIFEST}
    for name in sorted(set(files) - present):
        problems.append(f"{name}: listed in the manifest but missing")
    for name in sorted(present - set(files)):
        problems.append(f"{name}: not listed in the manifest (added after the build?)")
    for name in sorted(set(files) & present):
        path = folder / name
        want = files[name]
        size = path.stat().st_size
        if size != want.get("size"):
            problems.append(f"{name}: size {size} differs from the manifest's {want.get('size')}")
        elif sha256_file(path) != want.get("sha256"):
            problems.append(f"{name}: sha256 differs from the manifest (file was modified)")
    lock_path = folder / "pyodide-lock.json"
    if lock_path.is_file():
        try:
            lock = json.loads(lock_path.read_text())
            for key, pkg in lock.get("packages", {}).items():
                path = folder / pkg["file_name"]
                if not path.is_file():
                    problems.append(f"pyodide-lock.json: {key}: {pkg['file_name']} is missing")
                elif sha256_file(path) != pkg.get("sha256"):
                    problems.append(f"pyodide-lock.json: {key}: sha256 of {pkg['file_name']} "
                                    "does not match the lock")
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"pyodide-lock.json: unreadable ({exc})")
    return problems


def compare_folders(first: Path, second: Path) -> list[str]:
    """Files that differ between two bundle folders, byte for byte."""
    a = {p.name: p for p in first.iterdir() if p.is_file()}
    b = {p.name: p for p in second.iterdir() if p.is_file()}
    diffs = [f"{n}: only in {first}" for n in sorted(set(a) - set(b))]
    diffs += [f"{n}: only in {second}" for n in sorted(set(b) - set(a))]
    diffs += [f"{n}: bytes differ" for n in sorted(set(a) & set(b))
              if sha256_file(a[n]) != sha256_file(b[n])]
    return diffs
