"""Preparing a build tree: extract, patch with GNU patch (-p1), copy extras, all-or-nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import textwrap
from pathlib import Path

import pytest

from pyodist.errors import RecipeError, SourceError
from pyodist.options import resolve_options
from pyodist.recipe import load_recipe
from pyodist.sources import Fetcher, SourceCache, debian, prepare_source
from pyodist.sources.fetch import make_fetcher

ORIGINAL = "line 1\nline 2\nline 3\nline 4\nline 5\n"


def _sdist(tmp_path: Path) -> tuple[Path, str]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for rel, text in {"pkg-1.0/src/a.txt": ORIGINAL, "pkg-1.0/setup.py": "pass\n"}.items():
            data = text.encode()
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    path = tmp_path / "pkg-1.0.tar.gz"
    path.write_bytes(buf.getvalue())
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


PATCH_1 = """\
From: someone
Subject: change line 2

--- a/src/a.txt
+++ b/src/a.txt
@@ -1,3 +1,3 @@
 line 1
-line 2
+line two
 line 3
"""

# Applies only after PATCH_1: order matters.
PATCH_2 = """\
--- a/src/a.txt
+++ b/src/a.txt
@@ -1,4 +1,4 @@
 line 1
 line two
-line 3
+line three
 line 4
"""

BAD_PATCH = """\
--- a/src/a.txt
+++ b/src/a.txt
@@ -3,3 +3,3 @@
 line 3
-line 4
+line four
 line 5
@@ -1,3 +1,3 @@
 no such line
-line 2
+line 2!
 line 3
"""


def _recipe(tmp_path: Path, patches: dict[str, str], extras: bool = True) -> Path:
    archive, sha = _sdist(tmp_path)
    folder = tmp_path / "recipes" / "pkg"
    (folder / "patches").mkdir(parents=True)
    for name, text in patches.items():
        (folder / "patches" / name).write_text(text)
    (folder / "extra.cfg").write_text("[extra]\n")
    plist = "".join(f"    - patches/{n}\n" for n in patches)
    (folder / "meta.yaml").write_text(textwrap.dedent(f"""\
        package: {{name: pkg, version: '1.0'}}
        source:
          url: file://{archive}
          sha256: {sha}
        """) + ("  patches:\n" + plist if patches else "")
        + ("  extras:\n    - [extra.cfg, src/site.cfg]\n" if extras else ""))
    return folder


def _prepare(tmp_path: Path, folder: Path) -> Path:
    recipe = load_recipe(folder)
    fetched = Fetcher(SourceCache(tmp_path / "cache")).fetch(recipe)
    return prepare_source(recipe, fetched, tmp_path / "work" / "pkg")


def test_patches_in_order_then_extras(tmp_path: Path) -> None:
    folder = _recipe(tmp_path, {"0001-two.patch": PATCH_1, "0002-three.patch": PATCH_2})
    tree = _prepare(tmp_path, folder)
    assert (tree / "src" / "a.txt").read_text() == (
        "line 1\nline two\nline three\nline 4\nline 5\n")
    assert (tree / "src" / "site.cfg").read_text() == "[extra]\n"
    assert (tree / "setup.py").is_file()
    assert sorted(p.name for p in tree.parent.iterdir()) == ["pkg"]  # no staging left


def test_failing_hunk_names_patch_file_and_hunk_and_changes_nothing(tmp_path: Path) -> None:
    folder = _recipe(tmp_path, {"0001-two.patch": PATCH_1, "0002-bad.patch": BAD_PATCH})
    previous = tmp_path / "work" / "pkg"
    previous.mkdir(parents=True)
    (previous / "marker").write_text("old tree")
    with pytest.raises(SourceError) as info:
        _prepare(tmp_path, folder)
    msg = str(info.value)
    assert msg.startswith(
        f"patch {folder / 'patches' / '0002-bad.patch'} does not apply to src/a.txt: "
        "hunk #2 (at line 1) does not match:\n@@ -1,3 +1,3 @@\n no such line\n-line 2"
    )
    assert msg.endswith("fix: refresh the patch against this source version (the source "
                        "tree was left untouched)")
    # the previous tree is intact, and no staging folder survives
    assert (previous / "marker").read_text() == "old tree"
    assert sorted(p.name for p in previous.parent.iterdir()) == ["pkg"]
    # the cached archive is untouched
    cached = next((tmp_path / "cache" / "sha256").rglob("*.json"))
    assert cached.is_file()


def test_patch_for_a_missing_file(tmp_path: Path) -> None:
    patch = PATCH_1.replace("src/a.txt", "src/missing.txt")
    folder = _recipe(tmp_path, {"0001.patch": patch}, extras=False)
    with pytest.raises(SourceError, match=r"does not apply to src/missing\.txt"):
        _prepare(tmp_path, folder)


def test_path_source_is_copied_not_used_in_place(tmp_path: Path) -> None:
    src = tmp_path / "recipes" / "local" / "src"
    src.mkdir(parents=True)
    (src / "mod.py").write_text("x = 1\n")
    (src / ".git").mkdir()
    (src.parent / "meta.yaml").write_text("package: {name: local, version: '1'}\n"
                                          "source: {path: src}\n")
    recipe = load_recipe(src.parent)
    tree = prepare_source(recipe, None, tmp_path / "work" / "local")
    (tree / "mod.py").write_text("changed\n")
    assert (src / "mod.py").read_text() == "x = 1\n"
    assert not (tree / ".git").exists()


def test_a_siblings_build_tree_that_is_not_there_says_why(tmp_path: Path) -> None:
    """Pyodide's numpy-tests builds from ../numpy/build/numpy-2.4.6, numpy's in-place build
    tree; pyodist keeps no build tree in recipe folders, and says so."""
    folder = tmp_path / "recipes" / "numpy-tests"
    folder.mkdir(parents=True)
    (folder / "meta.yaml").write_text("package: {name: numpy-tests, version: '1'}\n"
                                      "source: {path: ../numpy/build/numpy-1}\n")
    with pytest.raises(SourceError) as err:
        prepare_source(load_recipe(folder), None, tmp_path / "work" / "numpy-tests")
    assert "in the folder of the recipe 'numpy'" in str(err.value)
    assert "fresh tree" in (err.value.hint or "")


def test_extras_cannot_escape_the_tree(tmp_path: Path) -> None:
    folder = _recipe(tmp_path, {}, extras=False)
    meta = folder / "meta.yaml"
    text = meta.read_text()
    meta.write_text(text + "  extras:\n    - [extra.cfg, ../../escape.cfg]\n")
    with pytest.raises(RecipeError, match=r"source/extras: the destination "
                                          r"'\.\./\.\./escape\.cfg' leaves the source tree"):
        load_recipe(folder)
    # and if a recipe got past the loader, preparing it would still refuse
    meta.write_text(text + "  extras:\n    - [extra.cfg, escape.cfg]\n")
    sneaky = load_recipe(folder)
    sneaky = dataclasses.replace(sneaky, source=dataclasses.replace(
        sneaky.source, extras=(("extra.cfg", "../../escape.cfg"),)))
    fetched = Fetcher(SourceCache(tmp_path / "cache")).fetch(sneaky)
    with pytest.raises(SourceError, match="would be copied outside the source tree"):
        prepare_source(sneaky, fetched, tmp_path / "work" / "pkg")
    assert not (tmp_path / "work" / "escape.cfg").exists()


def _debian_mirror(tmp_path: Path) -> Path:
    """A file:// Debian mirror with one source package's orig tarball in its pool."""
    mirror = tmp_path / "mirror"
    pool = mirror / "pool" / "main" / "libf" / "libfoo"
    pool.mkdir(parents=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tf:
        for rel, text in {"libfoo-2.0/Makefile": "all:\n", "libfoo-2.0/src/foo.c": "int x;\n"}\
                .items():
            info = tarfile.TarInfo(rel)
            info.size = len(text)
            tf.addfile(info, io.BytesIO(text.encode()))
    (pool / "libfoo_2.0.orig.tar.xz").write_bytes(buf.getvalue())
    return mirror


def test_debian_source_and_extra_archives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = _debian_mirror(tmp_path)
    orig = (mirror / "pool/main/libf/libfoo/libfoo_2.0.orig.tar.xz").read_bytes()
    extra, extra_sha = _sdist(tmp_path)  # pkg-1.0/src/a.txt, pkg-1.0/setup.py
    folder = tmp_path / "recipes" / "libfoo"
    folder.mkdir(parents=True)
    (folder / "meta.yaml").write_text(textwrap.dedent(f"""\
        package: {{name: libfoo, version: "2.0"}}
        source:
          url: debian:libfoo/libfoo_2.0.orig.tar.xz
          sha256: {hashlib.sha256(orig).hexdigest()}
          extra-archives:
            - url: file://{extra}
              sha256: {extra_sha}
              subdir: src
              dest: third_party/pkg
            - url: file://{extra}
              sha256: {extra_sha}
              dest: whole
        build: {{type: static_library, script: make}}
        """))
    recipe = load_recipe(folder / "meta.yaml")
    # PYODIST_DEBIAN_MIRROR, read by the options layer, reaches the fetcher
    options = resolve_options(cwd=tmp_path, environ={
        "PYODIST_DEBIAN_MIRROR": f"file://{mirror}/", "HOME": str(tmp_path)})
    fetcher = make_fetcher(dataclasses.replace(options, cache_dir=tmp_path / "cache"))
    main = fetcher.fetch(recipe)
    assert main is not None and main.origin == \
        f"file://{mirror}/pool/main/libf/libfoo/libfoo_2.0.orig.tar.xz"
    extras = fetcher.fetch_extra(recipe)
    assert [x.sha256 for x in extras] == [extra_sha, extra_sha]
    tree = prepare_source(recipe, main, tmp_path / "tree", extra=extras)
    assert sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()) == [
        "Makefile", "src/foo.c", "third_party/pkg/a.txt", "whole/setup.py", "whole/src/a.txt"]

    # a subdir the archive lacks: named, with what the archive does hold
    text = (folder / "meta.yaml").read_text().replace("subdir: src", "subdir: nope")
    (folder / "meta.yaml").write_text(text)
    with pytest.raises(SourceError, match=r"extra-archives\[0\].*no folder 'nope'") as err:
        prepare_source(load_recipe(folder / "meta.yaml"), main, tmp_path / "tree2", extra=extras)
    assert "setup.py, src" in (err.value.hint or "")
    assert not (tmp_path / "tree2").exists()


def test_debian_source_without_a_mirror_says_how_to_set_one(tmp_path: Path) -> None:
    def nowhere() -> str:
        raise debian.MirrorNotFound("no usable Debian mirror in /etc/apt")

    fetcher = Fetcher(SourceCache(tmp_path / "cache"), debian_mirror=nowhere)
    with pytest.raises(SourceError, match="no usable Debian mirror") as err:
        fetcher.fetch_one("x", "debian:zlib/zlib_1.3.orig.tar.gz", "0" * 64,
                          "zlib_1.3.orig.tar.gz")
    assert "PYODIST_DEBIAN_MIRROR" in (err.value.hint or "")
