"""Turn a fetched source into a ready build tree: extract, pick the root, unpack the extra
archives into it, patch, add extras.

Everything happens in a staging folder beside the destination; the destination only appears,
complete, by one rename. The cache copy is read, never modified.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path

from pyodist.errors import SourceError
from pyodist.fsutil import replace_dir
from pyodist.recipe.spec import Recipe
from pyodist.sources.extract import DEFAULT_SIZE_LIMIT, extract_archive, source_root
from pyodist.sources.fetch import FetchResult
from pyodist.sources.patch import apply_patches, copy_extras

__all__ = ["prepare_source"]

_VCS_DIRS = shutil.ignore_patterns(".git", ".hg", ".svn", "__pycache__")


def prepare_source(recipe: Recipe, fetched: FetchResult | None, dest: Path, *,
                   extra: Sequence[FetchResult] = (),
                   size_limit: int = DEFAULT_SIZE_LIMIT) -> Path:
    """Write the recipe's patched source tree to ``dest`` (replacing it) and return ``dest``.

    ``extra`` are the fetched ``source/extra-archives``, in recipe order.
    """
    src = recipe.source
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.staging"
    try:
        if src.path is not None:
            if not src.path.is_dir():
                raise _missing_source_path(recipe, src.path)
            shutil.copytree(src.path, staging / "tree", symlinks=True, ignore=_VCS_DIRS)
            root = staging / "tree"
        elif fetched is not None:
            extract_archive(fetched.path, staging / "raw", filename=fetched.filename,
                            size_limit=size_limit)
            if fetched.filename.endswith(".whl"):
                # A prebuilt wheel is built as-is: keep the file, not its contents.
                shutil.rmtree(staging / "raw")
                root = staging / "tree"
                root.mkdir()
                shutil.copy2(fetched.path, root / fetched.filename)
            else:
                root = source_root(staging / "raw", src.extract_dir)
            _add_archives(recipe, extra, root, staging, size_limit)
            apply_patches(root, [recipe.folder / p for p in src.patches])
            copy_extras(root, recipe.folder, src.extras)
        else:
            root = staging / "tree"
            root.mkdir(parents=True)
        return replace_dir(root, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _add_archives(recipe: Recipe, fetched: Sequence[FetchResult], root: Path, staging: Path,
                  size_limit: int) -> None:
    archives = recipe.source.extra_archives
    if len(fetched) != len(archives):
        raise SourceError(f"{recipe.name}: {len(archives)} extra archive(s) in the recipe, "
                          f"{len(fetched)} fetched", hint="fetch the recipe's sources again")
    for i, (spec, got) in enumerate(zip(archives, fetched, strict=True)):
        where = f"{recipe.path}: source/extra-archives[{i}] ({got.filename})"
        raw = staging / f"extra-{i}"
        extract_archive(got.path, raw, filename=got.filename, size_limit=size_limit)
        top = source_root(raw, None)
        part = (top / spec.subdir).resolve() if spec.subdir else top
        if not part.is_relative_to(top.resolve()) or not part.is_dir():
            found = sorted(p.name for p in top.iterdir())[:8]
            raise SourceError(f"{where}: the archive has no folder {spec.subdir!r}",
                              hint="set 'subdir' to a folder below the archive's top folder; "
                                   f"the top folder holds: {', '.join(found) or 'nothing'}")
        target = (root / spec.dest).resolve()
        if not target.is_relative_to(root.resolve()):
            raise SourceError(f"{where}: dest {spec.dest!r} leaves the source tree",
                              hint="write 'dest' as a folder relative to the source tree")
        shutil.copytree(part, target, symlinks=True, dirs_exist_ok=True)


def _missing_source_path(recipe: Recipe, path: Path) -> SourceError:
    folder = recipe.folder.resolve()
    if path.is_relative_to(folder):
        return SourceError(f"{recipe.path}: source/path {path} is not a folder",
                           hint="point 'source/path' at the package's source folder")
    sibling = path.relative_to(folder.parent).parts[0]
    return SourceError(
        f"{recipe.path}: source/path {path} is not a folder: it is in the folder of the "
        f"recipe {sibling!r}, where Pyodide's build leaves that package's build tree",
        hint=f"pyodist builds every package in a fresh tree of its own and keeps none in "
             f"the recipe folders, so it cannot build from {sibling}'s; build the package "
             f"from its own source (a url and sha256), or ship the files from {sibling}'s "
             "recipe (for tests: build/unvendor-tests makes NAME-tests.zip)")
