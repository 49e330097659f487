"""Build outputs that must be reproducible, and what the build environment is given."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from pyodist.builder.archive import extract_tar, write_tar
from pyodist.builder.backends import GuestPython, build_requirements
from pyodist.builder.logs import signature_mismatches
from pyodist.builder.pyodide_recipe import pyodide_build_recipe
from pyodist.builder.steps import _undeclared_modules
from pyodist.builder.wheel import (
    is_test_file,
    normalize_wheel,
    normalize_zip,
    scrub_random_paths,
    unvendor_tests,
)
from pyodist.errors import BuildError
from pyodist.recipe import load_recipe
from pyodist.runtime.node import ImportReport
from tests.conftest import WriteRecipe


def _tree(root: Path, mtime: int) -> list[str]:
    (root / "include").mkdir(parents=True)
    (root / "lib" / "pkgconfig").mkdir(parents=True)
    (root / "include" / "z.h").write_text("int z(void);\n")
    (root / "lib" / "libz.a").write_bytes(b"!<arch>\n")
    (root / "lib" / "pkgconfig" / "z.pc").write_text("prefix=${pcfiledir}/../..\n")
    tool = root / "bin-tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o775)
    for path in root.rglob("*"):
        os.utime(path, (mtime, mtime))
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]


def test_tar_is_byte_identical_whatever_the_file_times(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    members_a = _tree(a, 1_000_000)
    members_b = list(reversed(_tree(b, 2_000_000)))
    out_a = write_tar(tmp_path / "a.tar", a, members_a, epoch=315532800)
    out_b = write_tar(tmp_path / "b.tar", b, members_b, epoch=315532800)
    assert out_a.read_bytes() == out_b.read_bytes()
    with tarfile.open(out_a) as tar:
        infos = tar.getmembers()
    assert [i.name for i in infos] == sorted(members_a)
    assert {(i.uid, i.gid, i.uname, i.mtime) for i in infos} == {(0, 0, "", 315532800)}
    assert {i.name: oct(i.mode) for i in infos}["bin-tool"] == "0o755"


def test_gzip_tar_has_no_timestamp(tmp_path: Path) -> None:
    members = _tree(tmp_path / "t", 5)
    one = write_tar(tmp_path / "1.tar.gz", tmp_path / "t", members, epoch=0, compress=True)
    data = one.read_bytes()
    assert data[:2] == b"\x1f\x8b" and data[4:8] == b"\0\0\0\0"  # MTIME field is zero


def test_extract_tar_merges_into_existing_folder(tmp_path: Path) -> None:
    members = _tree(tmp_path / "t", 5)
    archive = write_tar(tmp_path / "libs.tar", tmp_path / "t", members, epoch=0)
    dest = tmp_path / "dest"
    (dest / "include").mkdir(parents=True)
    (dest / "include" / "other.h").write_text("kept\n")
    extract_tar(archive, dest)
    assert (dest / "include" / "other.h").read_text() == "kept\n"
    assert (dest / "lib" / "pkgconfig" / "z.pc").is_file()


def _wheel(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def test_random_build_env_paths_are_scrubbed(tmp_path: Path) -> None:
    config = b"python = '/tmp/build-env-k3j4_x9q/bin/python'\n"
    entries = {"pkg/__config__.py": config, "pkg/_x.so": b"/tmp/build-env-abc\0",
               "pkg-1.0.dist-info/RECORD": b""}
    one = normalize_wheel(_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", entries),
                          epoch=0, rewrite=scrub_random_paths)
    with zipfile.ZipFile(one) as zf:
        assert zf.read("pkg/__config__.py") == b"python = '/tmp/build-env/bin/python'\n"
        assert zf.read("pkg/_x.so") == b"/tmp/build-env-abc\0"  # binaries are left alone
        record = zf.read("pkg-1.0.dist-info/RECORD").decode()
    digest = hashlib.sha256(b"python = '/tmp/build-env/bin/python'\n").digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert f"pkg/__config__.py,sha256={expected}," in record


def test_normalize_zip_sorts_and_fixes_times(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("b/test_b.py", "b")
        zf.writestr("a/test_a.py", "a")
    path = tmp_path / "pkg-tests.zip"
    path.write_bytes(buf.getvalue())
    normalize_zip(path, epoch=315532800)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["a/test_a.py", "b/test_b.py"]
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_zip_sources_first_and_stored_wheels(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in ("a.pyc", "b.py", "c.pyc", "d.py"):
            zf.writestr(name, name * 50)
    path = tmp_path / "lib.zip"
    path.write_bytes(buf.getvalue())
    normalize_zip(path, epoch=315532800, store=True, sources_first=True)
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["b.py", "d.py", "a.pyc", "c.pyc"]
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("demo/__init__.py", "x = 1\n" * 100)
        zf.writestr("demo-1.0.dist-info/RECORD", "")
    normalize_wheel(wheel, epoch=315532800, store=True)
    with zipfile.ZipFile(wheel) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        record = zf.read("demo-1.0.dist-info/RECORD").decode()
        assert record.startswith("demo/__init__.py,sha256=") and zf.testzip() is None


@pytest.mark.parametrize(("text", "expected"), [
    (None, ("setuptools>=40.8.0",)),
    ("[project]\nname='x'\n", ("setuptools>=40.8.0",)),
    ("[build-system]\nrequires=['flit_core>=3.2,<4']\nbuild-backend='flit_core.buildapi'\n",
     ("flit_core>=3.2,<4",)),
    ("[build-system]\nrequires=[]\n", ()),
])
def test_build_requirements(tmp_path: Path, text: str | None,
                            expected: tuple[str, ...]) -> None:
    if text is not None:
        (tmp_path / "pyproject.toml").write_text(text)
    assert build_requirements(tmp_path, where="recipes/x/meta.yaml") == expected


def test_broken_pyproject_names_the_recipe(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[build-system\n")
    with pytest.raises(BuildError, match=r"recipes/x/meta.yaml: the source's pyproject.toml"):
        build_requirements(tmp_path, where="recipes/x/meta.yaml")


def test_guest_platforms_cover_older_manylinux() -> None:
    platforms = GuestPython(glibc="2_31").platforms()
    assert platforms[0] == "manylinux_2_31_x86_64"
    assert "manylinux_2_28_x86_64" in platforms and "manylinux_2_17_x86_64" in platforms
    assert "manylinux2014_x86_64" in platforms


@pytest.mark.parametrize(("name", "retain", "expected"), [
    ("pkg/tests/test_a.py", (), True),
    ("pkg/tests/data/input.csv", (), True),
    ("pkg/test/__init__.py", (), True),
    ("pkg/core/test_core.py", (), True),
    ("pkg/core/core_test.py", (), True),
    ("pkg/conftest.py", (), True),
    ("pkg/testing/helpers.py", (), False),
    ("pkg/contest.py", (), False),
    ("pkg/tests/__pycache__/x.pyc", (), True),
    ("pkg-1.0.dist-info/tests/RECORD", (), False),
    ("pkg/testing/test_utils.py", ("pkg/testing/*",), False),
    ("pkg/tests/conftest.py", ("*conftest.py",), False),
])
def test_is_test_file(name: str, retain: tuple[str, ...], expected: bool) -> None:
    assert is_test_file(name, retain) is expected


def test_unvendor_tests_moves_tests_out(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "My_Pkg-1.0-cp314-cp314-pyemscripten_2026_0_wasm32.whl", {
        "my_pkg/__init__.py": b"", "my_pkg/tests/test_x.py": b"def test(): pass\n",
        "my_pkg/testing.py": b"", "my_pkg-1.0.dist-info/RECORD": b"",
    })
    tests = unvendor_tests(wheel, epoch=0)
    assert tests is not None and tests.name == "my-pkg-tests.zip"
    with zipfile.ZipFile(tests) as zf:
        assert zf.namelist() == ["my_pkg/tests/test_x.py"]
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        record = zf.read("my_pkg-1.0.dist-info/RECORD").decode()
    assert "my_pkg/tests/test_x.py" not in names and "my_pkg/testing.py" in names
    assert "test_x" not in record


def test_unvendor_tests_without_tests_changes_nothing(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "a-1.0-py3-none-any.whl",
                   {"a/__init__.py": b"", "a-1.0.dist-info/RECORD": b""})
    before = wheel.read_bytes()
    assert unvendor_tests(wheel, epoch=0) is None
    assert wheel.read_bytes() == before


def test_signature_mismatches_are_read_from_the_build_log(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    log.write_text(
        "compiling...\n"
        "  | wasm-ld-21: error: function signature mismatch: xerbla_\n"
        "  | >>> defined as (i32, i32) -> i32 in numpy/linalg/umath_linalg.cpp.o\n"
        "wasm-ld: warning: function signature mismatch: dlaed3_\n"
        "wasm-ld: warning: function signature mismatch: xerbla_\n"
        "warning: something else\n")
    assert signature_mismatches(log) == ["xerbla_", "dlaed3_"]
    log.write_text("all fine\n")
    assert signature_mismatches(log) == []


def test_recipe_copy_for_pyodide_build(write_recipe: WriteRecipe) -> None:
    """The copy pyodide-build reads: source replaced, pyodist keys dropped, and a library's
    build/cflags put where its script's compiler calls read them."""
    lib = load_recipe(write_recipe("blas", """\
        package: {name: blas, version: "1.0"}
        source: {url: "pypi:blas/blas-1.0.tar.gz", sha256: %s}
        build:
          type: static_library
          cflags: -O3 -msimd128
          script: make CFLAGS="$SIDE_MODULE_CFLAGS"
        """ % ("0" * 64)))
    data = pyodide_build_recipe(lib, "/pyodist/src")
    assert data["source"] == {"path": "/pyodist/src"}
    assert "cflags" not in data["build"]
    assert data["build"]["script"] == (
        'export SIDE_MODULE_CFLAGS="${SIDE_MODULE_CFLAGS:-} "\'-O3 -msimd128\'\n'
        'make CFLAGS="$SIDE_MODULE_CFLAGS"')
    variant = load_recipe(write_recipe("np-small", """\
        package: {name: np-small, version: "1.0", variant-of: np}
        source: {url: "pypi:np/np-1.0.tar.gz", sha256: %s}
        build: {cflags: -O2}
        """ % ("0" * 64)))
    data = pyodide_build_recipe(variant, "/pyodist/src")
    assert data["package"] == {"name": "np-small", "version": "1.0"}
    assert data["build"] == {"cflags": "-O2"}  # packages: pyodide-build applies cflags itself


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("meta", sorted(
    p for folder in (REPO / "recipes", *(REPO / "tests" / "data").iterdir())
    for p in folder.glob("*/meta.yaml")), ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_pyodide_build_recipe_means_what_the_recipe_means(meta: Path, tmp_path: Path) -> None:
    """Written from the frozen recipe, read back by the loader: the same package, build
    (but for a library's flags, which move into its script), requirements and tests."""
    recipe = load_recipe(meta)
    folder = tmp_path / recipe.name
    (folder / "src").mkdir(parents=True)
    data = pyodide_build_recipe(recipe, str(folder / "src"))
    assert data["source"] == {"path": str(folder / "src")}
    assert "variant-of" not in data["package"] and "extra" not in data
    (folder / "meta.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    again = load_recipe(folder)
    assert again.package == dataclasses.replace(recipe.package, variant_of=None)
    assert again.requirements == recipe.requirements and again.test == recipe.test
    assert again.about == recipe.about
    if not (recipe.build.is_library and recipe.build.script and recipe.build.cflags):
        assert again.build == recipe.build


@pytest.mark.parametrize("member", ["../../x", "/etc/passwd", "a/../../b", "C:/x", "a\\b"])
def test_a_wheel_member_leaving_the_archive_is_refused(tmp_path: Path, member: str) -> None:
    wheel = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("evil/__init__.py", "")
        zf.writestr(member, "x")
        zf.writestr("evil-1.0.dist-info/RECORD", "")
    with pytest.raises(BuildError, match="members whose names leave the archive"):
        normalize_wheel(wheel)


def test_an_import_check_failing_only_on_an_undeclared_module_is_told_apart() -> None:
    def report(errors: dict[str, str], load: tuple[str, ...] = ()) -> ImportReport:
        return ImportReport(False, load, errors, 1.0)

    cycle = report({"soupsieve": "ModuleNotFoundError: No module named 'bs4'"})
    assert _undeclared_modules(cycle, ("soupsieve",)) == {"bs4"}
    # its own module missing is a broken wheel; so is any other error, or a load failure
    own = report({"pkg": "ModuleNotFoundError: No module named 'pkg._core'"})
    assert _undeclared_modules(own, ("pkg",)) is None
    other = report({"pkg": "ImportError: dynamic module does not define module export"})
    assert _undeclared_modules(other, ("pkg",)) is None
    assert _undeclared_modules(report({}, ("wheel failed to load",)), ("pkg",)) is None


def test_build_requirements_markers_are_evaluated_for_the_guest_python() -> None:
    guest = GuestPython(version="3.14")
    zstandard = ["cffi~=1.17; platform_python_implementation != 'PyPy' and "
                 "python_version < '3.14'",
                 "cffi>=2.0.0b; platform_python_implementation != 'PyPy' and "
                 "python_version >= '3.14'", "packaging", "setuptools>=77.0.0"]
    assert guest.applicable(zstandard, where="r") == ["cffi>=2.0.0b", "packaging",
                                                      "setuptools>=77.0.0"]
    assert guest.applicable(["pywin32; sys_platform == 'win32'"], where="r") == []
    with pytest.raises(BuildError, match="not a PEP 508"):
        guest.applicable(["numpy >= = 2"], where="r")
