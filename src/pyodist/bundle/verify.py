"""Check a bundle against its own manifest (and its lock against its files).

Every entry under the bundle folder, in subfolders too, must be a regular file the manifest
lists with its size and sha256 (the manifest itself aside); anything else is reported: a
missing, changed or unlisted file, a folder the manifest does not know, and any symbolic link
(even to identical bytes: a link can change what it points at after the check). The lock's
file names must name such files, inside the bundle. A manifest or lock that is not what
pyodist writes is a problem too, never a traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from pyodist.errors import SourceError, UsageError, VerifyError
from pyodist.hashing import sha256_file
from pyodist.sources.extract import extract_archive

__all__ = ["NOT_A_BUNDLE", "bundle_folder", "bundle_listing", "compare_folders",
           "verify_bundle"]

MANIFEST = "manifest.json"
# no bundle nests folders this deep (site-packages trees are under 20); past it the walk stops
_MAX_DEPTH = 64
LOCK = "pyodide-lock.json"
# how a problem list starts when the folder has no usable manifest at all
NOT_A_BUNDLE = f"{MANIFEST}: "


@contextmanager
def bundle_folder(path: Path) -> Iterator[Path]:
    """The bundle folder of ``path`` (a folder, or a ``.tar.gz`` unpacked to a temp folder)."""
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        # the same mistake, the same code in every command that takes a bundle (2)
        raise UsageError(f"{path} does not exist",
                         hint="pass a bundle folder or its .tar.gz (dist/<name>-<version>-"
                              "<profile>)")
    tmp = Path(tempfile.mkdtemp(prefix="pyodist-verify-"))
    try:
        try:
            extract_archive(path, tmp / "x", filename=path.name)
        except SourceError as exc:
            raise VerifyError(f"{path.name} is not a readable bundle tarball: {exc.message}",
                              hint="pass a tarball written by 'pyodist bundle', or build it "
                                   "again") from None
        inner = [p for p in (tmp / "x").iterdir() if p.is_dir()]
        if len(inner) != 1:
            raise VerifyError(f"{path.name} does not hold exactly one bundle folder",
                              hint="pass a tarball written by 'pyodist bundle'")
        yield inner[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bundle_listing(folder: Path) -> tuple[dict[str, Path], list[str], list[str]]:
    """Every regular file under ``folder`` by its relative POSIX path, every subfolder, and
    what is neither (links, devices, sockets), as problem lines."""
    files: dict[str, Path] = {}
    folders: list[str] = []
    odd: list[str] = []
    for root, dirs, names in os.walk(folder):
        if Path(root).relative_to(folder).as_posix().count("/") >= _MAX_DEPTH:
            odd.append(f"{Path(root).relative_to(folder).as_posix()[:200]}/...: folders nested "
                       f"deeper than {_MAX_DEPTH} levels, which no bundle has")
            dirs.clear()
            continue
        for name in sorted([*dirs, *names]):
            path = Path(root, name)
            rel = path.relative_to(folder).as_posix()
            try:
                mode = path.lstat().st_mode
            except OSError as exc:
                odd.append(f"{rel}: unreadable ({exc.strerror})")
                continue
            if stat.S_ISLNK(mode):
                try:
                    to = f" (to {path.readlink()})"
                except OSError:
                    to = ""
                odd.append(f"{rel}: a symbolic link{to}, which the manifest cannot vouch for")
                if name in dirs:
                    dirs.remove(name)
            elif stat.S_ISREG(mode):
                files[rel] = path
            elif stat.S_ISDIR(mode):
                folders.append(rel)
            else:
                odd.append(f"{rel}: not a regular file")
    return files, folders, odd


def _manifest_files(folder: Path) -> tuple[dict[str, Mapping[str, Any]] | None, str | None]:
    path = folder / MANIFEST
    if path.is_symlink() or not path.is_file():
        return None, f"{MANIFEST}: missing (or not a regular file); this is not a bundle"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return None, f"{MANIFEST}: unreadable ({exc.__class__.__name__}: {exc})"
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, dict) for k, v in files.items()):
        return None, (f"{MANIFEST}: not a pyodist manifest (expected an object with a 'files' "
                      "object of name -> {sha256, size})")
    return files, None


def _inside(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def _lock_problems(folder: Path, present: Mapping[str, Path]) -> list[str]:
    path = folder / LOCK
    if LOCK not in present:
        return []
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return [f"{LOCK}: unreadable ({exc.__class__.__name__})"]
    packages = lock.get("packages") if isinstance(lock, dict) else None
    if not isinstance(packages, dict):
        return [f"{LOCK}: not a Pyodide lock (expected a 'packages' object)"]
    problems = []
    for key, pkg in sorted(packages.items()):
        name = pkg.get("file_name") if isinstance(pkg, dict) else None
        if not isinstance(name, str) or not _inside(name):
            problems.append(f"{LOCK}: {key}: file_name {name!r} does not name a file inside "
                            "the bundle")
        elif name not in present:
            problems.append(f"{LOCK}: {key}: {name} is missing")
        elif sha256_file(present[name]) != pkg.get("sha256"):
            problems.append(f"{LOCK}: {key}: sha256 of {name} does not match the lock")
    return problems


def verify_bundle(folder: Path) -> list[str]:
    """Problems found (empty when every file matches the manifest and the lock)."""
    listed, problem = _manifest_files(folder)
    if listed is None and not (folder / MANIFEST).is_file():
        # not a bundle: its tree (`pyodist verify /`) is not walked
        return [problem or f"{MANIFEST}: missing"]
    present, folders, odd = bundle_listing(folder)
    if listed is None:
        return [problem or f"{MANIFEST}: unreadable", *odd]
    present.pop(MANIFEST, None)
    problems = list(odd)
    problems += [f"{d}/: a folder the manifest lists nothing in" for d in folders
                 if not any(name.startswith(f"{d}/") for name in listed)]
    for name in sorted(set(listed) - set(present)):
        problems.append(f"{name}: listed in the manifest but missing")
    for name in sorted(set(present) - set(listed)):
        problems.append(f"{name}: not listed in the manifest (added after the build?)")
    for name in sorted(set(listed) & set(present)):
        path, want = present[name], listed[name]
        size = path.stat().st_size
        if size != want.get("size"):
            problems.append(f"{name}: size {size} differs from the manifest's {want.get('size')}")
        elif sha256_file(path) != want.get("sha256"):
            problems.append(f"{name}: sha256 differs from the manifest (file was modified)")
    return problems + _lock_problems(folder, present)


def compare_folders(first: Path, second: Path) -> list[str]:
    """Files that differ between two bundle folders, byte for byte."""
    a = bundle_listing(first)[0]
    b = bundle_listing(second)[0]
    diffs = [f"{n}: only in {first}" for n in sorted(set(a) - set(b))]
    diffs += [f"{n}: only in {second}" for n in sorted(set(b) - set(a))]
    diffs += [f"{n}: bytes differ" for n in sorted(set(a) & set(b))
              if sha256_file(a[n]) != sha256_file(b[n])]
    return diffs
