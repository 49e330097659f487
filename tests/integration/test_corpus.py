"""Real Pyodide recipes, unchanged, from the dev corpus: a handful built and imported.

The corpus (57 recipes of Pyodide's recipe repository, packed in ../shared/corpus/, or
PYODIST_CORPUS) is data beside the checkout, not part of it: these tests are skipped, with
that reason, where it is not there. The whole corpus runs in `make bench` (bench/corpus.py).

The handful: a pure wheel whose URL is the index file host's content-addressed form (six), a
C extension (crc32c), a C++ one (ujson), and Cython against a host library (ewah_bool_utils
needs numpy at build time: pyodist's own numpy recipe is layered under the corpus). The
corpus has no library recipe of its own; pyodist's (openblas, liblz4) are built in
test_build.py and test_science.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from pyodist.runtime.node import run_python

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("PYODIST_CORPUS")
              or ROOT.parent / "shared" / "corpus" / "pyodide-recipes-dev.tar.gz")
HANDFUL = ("six", "crc32c", "ujson", "ewah_bool_utils")

pytestmark = pytest.mark.skipif(not CORPUS.exists(),
                                reason=f"the dev corpus is not beside the checkout ({CORPUS})")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("corpus")
    with tarfile.open(CORPUS) as tar:
        tar.extractall(tmp, filter="data")
    return next(p.parent.parent for p in tmp.glob("*/*/meta.yaml"))


def pyodist(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", *args], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, "CI": "1"}, timeout=3600,
                          check=False)


def test_every_corpus_recipe_is_accepted(corpus: Path) -> None:
    proc = pyodist("recipes", "check", str(corpus), "--json")
    data: dict[str, Any] = json.loads(proc.stdout)
    assert proc.returncode == 0 and data["ok"], data["errors"]
    assert len(data["recipes"]) == len(list(corpus.glob("*/meta.yaml"))) == 57


def test_a_handful_builds_and_imports(corpus: Path, tmp_path: Path,
                                      toolchain_image: str) -> None:
    handful = tmp_path / "handful"
    for name in HANDFUL:
        shutil.copytree(corpus / name, handful / name)
    # the user's cache, where numpy (pyodist's recipe, built by test_science) already is
    proc = pyodist("--recipe-dir", str(ROOT / "recipes"), "--recipe-dir", str(handful),
                   "--image", toolchain_image, "build", *HANDFUL, "-j", "2", "--json")
    data: dict[str, Any] = json.loads(proc.stdout)
    packages = data["packages"]
    assert proc.returncode == 0, {n: (p["status"], p["error"]) for n, p in packages.items()}
    assert {n: p["status"] in ("built", "cached") for n, p in packages.items()
            if n in HANDFUL} == dict.fromkeys(HANDFUL, True)
    assert "numpy" in packages  # the host library ewah_bool_utils compiles against
    for name in HANDFUL:
        log = packages[name]["log"]
        if packages[name]["status"] == "built":  # imported: the recipes' top-level names
            assert "all imports ok" in Path(log).read_text(), log
    wheels = {Path(f).name for n in HANDFUL for f in packages[n]["files"]}
    assert any(w.startswith("ujson-5.12.0-cp314") for w in wheels)
    assert any(w.startswith("six-1.17.0-py2.py3-none-any") for w in wheels)


def build_from_corpus(corpus: Path, tmp_path: Path, image: str,
                      names: tuple[str, ...]) -> dict[str, Any]:
    """Copy ``names`` out of the corpus into a recipe folder of their own and build them
    all; the build's per-package report, after asserting that every one succeeded."""
    chosen = tmp_path / "chosen"
    for name in names:
        shutil.copytree(corpus / name, chosen / name)
    proc = pyodist("--recipe-dir", str(chosen), "--image", image, "build", *names,
                   "-j", "2", "--json")
    packages: dict[str, Any] = json.loads(proc.stdout)["packages"]
    assert proc.returncode == 0, {n: (p["status"], p["error"]) for n, p in packages.items()}
    return packages


def test_cmake_through_findpython_and_an_import_cycle(corpus: Path, tmp_path: Path,
                                                     toolchain_image: str) -> None:
    """pyrodigal: scikit-build-core, whose CMake FindPython needs CPython's headers in the
    image (the compiler wrapper swaps them for the runtime's). soupsieve imports bs4, and
    beautifulsoup4 needs soupsieve: with no test/imports in its recipe (pyodide-build then
    imports nothing), soupsieve's own check is not failed for the module it cannot have."""
    names = ("pyrodigal", "soupsieve", "beautifulsoup4", "typing-extensions")
    packages = build_from_corpus(corpus, tmp_path, toolchain_image, names)
    if packages["soupsieve"]["status"] == "built":
        assert "not a failure: importing soupsieve needs bs4" in Path(
            packages["soupsieve"]["log"]).read_text()
    if packages["beautifulsoup4"]["status"] == "built":
        assert "all imports ok" in Path(packages["beautifulsoup4"]["log"]).read_text()


def test_cffi_on_the_runtimes_libffi(corpus: Path, tmp_path: Path, toolchain_image: str,
                                     runtime_dir: Path) -> None:
    """cffi compiles against the wasm32 libffi headers of the image's cross-build environment
    and calls into the runtime's own libffi (callbacks, ABI-mode calls into libc); zstandard
    builds its cffi backend with it (its python_version-marked build requirements)."""
    names = ("cffi", "pycparser", "zstandard", "setuptools", "pyparsing")
    packages = build_from_corpus(corpus, tmp_path, toolchain_image, names)
    wheels = [Path(f) for n in ("pycparser", "cffi", "zstandard")
              for f in packages[n]["files"] if f.endswith(".whl")]
    result = run_python(runtime_dir, wheels, "\n".join([
        "import json, zstandard",
        "from cffi import FFI",
        "ffi = FFI()",
        "ffi.cdef('int abs(int); size_t strlen(const char *);')",
        "C = ffi.dlopen(None)",
        "mul = ffi.callback('int(int, int)', lambda x, y: x * y)",
        "packed = zstandard.ZstdCompressor().compress(b'x' * 1000)",
        "json.dumps([C.abs(-5), C.strlen(b'hello'), mul(6, 7), sum(ffi.new('int[3]', [1, 2, 3])),"
        " len(zstandard.ZstdDecompressor().decompress(packed))])",
    ]))
    assert result.get("ok"), result
    assert result["result"] == [5, 5, 42, 6, 1000]
