"""`pyodist build` for real: the toolchain container, pyodide-build, Node + Pyodide.

The project's recipes (all but the numpy stack) are built twice over. In `make test` they come
from the user's artifact cache (what `make dist` built; the cache key covers every input, so
what it hands back is exactly what a build would make), and one small native package with a
static library (lz4 on liblz4) is built cold into a fresh cache and must give the cached
wheel byte for byte. In `make test-slow` every one of them is built cold, with the import
check of every wheel, and a second cold build into another cache must give byte-identical
wheels. A small recipe set under tests/data/buildset exercises failures: a compile error, a
wheel that does not import, a dependent blocked by a failure, and an unrelated package that
still builds with --keep-going.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pyodist.options import default_cache_dir
from pyodist.recipe import load_recipe_dirs
from pyodist.runtime.node import run_python
from tests.integration.conftest import fresh_cache

ROOT = Path(__file__).resolve().parents[2]
BUILDSET = ROOT / "tests" / "data" / "buildset"
# Everything in recipes/ but numpy and what needs it (slow builds: numpy is built and
# smoke-tested in test_science.py, pandas and matplotlib in test_science_stack.py; SciPy and
# scikit-learn in make science-tests). The stack needs numpy, so both tags go.
SELECTION = ["*", "!tag:science", "!tag:science-stack"]
REPRO_SELECTION = ["six", "attrs", "markupsafe", "ujson", "lz4"]


def pyodist(*args: str, cache: Path, recipe_dir: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pyodist", "--cache-dir", str(cache)]
    if recipe_dir is not None:
        argv += ["--recipe-dir", str(recipe_dir)]
    return subprocess.run([*argv, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "CI": "1", **(env or {})}, timeout=1800,
                          check=False)


def report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"no JSON report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return data


def wheel_hashes(data: dict[str, Any]) -> dict[str, str]:
    found = {}
    for pkg in data["packages"].values():
        for f in pkg["files"]:
            if f.endswith(".whl"):
                found[Path(f).name] = hashlib.sha256(Path(f).read_bytes()).hexdigest()
    return found


@dataclass(frozen=True)
class RecipesBuild:
    """The project's recipes built ``how`` (warm: the user's cache; cold: a fresh one)."""

    how: str
    cache: Path
    data: dict[str, Any]
    # what a second build into a fresh cache must reproduce byte for byte
    again: tuple[str, ...]


@pytest.fixture(scope="module",
                params=["warm", pytest.param("cold", marks=pytest.mark.slow)])
def recipes_build(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  toolchain_image: str, runtime_dir: Path) -> RecipesBuild:
    how: str = request.param
    cache = (default_cache_dir(os.environ) if how == "warm"
             else fresh_cache(tmp_path_factory.mktemp("cache-a"), runtime_dir))
    proc = pyodist("build", *SELECTION, "-j", "2", "--json", cache=cache,
                   env={"PYODIST_IMAGE": toolchain_image})
    data = report(proc)
    assert proc.returncode == 0, json.dumps(data, indent=1)[-4000:]
    return RecipesBuild(how, cache, data, ("lz4",) if how == "warm" else REPRO_SELECTION)


def test_every_recipe_builds_and_imports(recipes_build: RecipesBuild) -> None:
    data = recipes_build.data
    statuses = {n: p["status"] for n, p in data["packages"].items()}
    # warm: whatever the cache lacked is built (and import-checked) now
    assert set(statuses.values()) <= ({"built"} if recipes_build.how == "cold"
                                      else {"built", "cached"}), statuses
    assert "numpy" not in statuses and "bottleneck" not in statuses
    # at least 6 pure packages and 3 compiled extensions, one linking a static library
    wheels = wheel_hashes(data)
    pure = [w for w in wheels if w.endswith("-none-any.whl")]
    native = [w for w in wheels if "wasm32" in w]
    assert len(pure) >= 6, pure
    assert {w.split("-")[0] for w in native} >= {"markupsafe", "ujson", "lz4"}
    abi = data["target"]["abi"]
    assert all(w.endswith(f"-cp314-cp314-pyemscripten_{abi}_wasm32.whl") for w in native)


def test_static_library_is_linked(recipes_build: RecipesBuild) -> None:
    data = recipes_build.data
    libs = data["packages"]["liblz4"]["files"]
    assert [Path(f).name for f in libs] == ["liblz4-1.9.4-libs.tar"]
    if data["packages"]["lz4"]["status"] == "cached":
        # a cached package has no log of this run: test_a_clean_build_gives_the_same_wheels
        # builds lz4 cold and reads its log
        return
    assert_links_liblz4(Path(data["packages"]["lz4"]["log"]).read_text())


def assert_links_liblz4(log: str) -> None:
    assert "-llz4" in log  # found through the library's pkg-config file
    assert "lz4libs/lz4.c" not in log  # and not the copy vendored in the sdist


def test_wheels_are_normalised(recipes_build: RecipesBuild) -> None:
    data = recipes_build.data
    recipes = load_recipe_dirs([ROOT / "recipes"]).recipes
    for name, pkg in data["packages"].items():
        if recipes[name].source.is_wheel:
            continue  # a prebuilt upstream wheel is shipped byte for byte, not rewritten
        for f in pkg["files"]:
            if not f.endswith(".whl"):
                continue
            with zipfile.ZipFile(f) as zf:
                infos = zf.infolist()
                assert infos[-1].filename.endswith(".dist-info/RECORD")
                assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
                assert all((i.external_attr >> 16) in (0o100644, 0o100755) for i in infos)


def test_noop_rebuild_uses_the_cache(recipes_build: RecipesBuild) -> None:
    first = recipes_build.data
    proc = pyodist("build", *SELECTION, "--json", cache=recipes_build.cache)
    data = report(proc)
    assert proc.returncode == 0
    assert {p["status"] for p in data["packages"].values()} == {"cached"}
    assert wheel_hashes(data) == wheel_hashes(first)


def test_a_clean_build_gives_the_same_wheels(recipes_build: RecipesBuild, tmp_path: Path,
                                             runtime_dir: Path) -> None:
    """warm: lz4 (a C extension on liblz4, a static library found through pkg-config) built
    cold gives the wheel the cache holds; cold: five packages built twice give the same."""
    first = recipes_build.data
    again = recipes_build.again
    proc = pyodist("build", *again, "-j", "2", "--json",
                   cache=fresh_cache(tmp_path / "cache-b", runtime_dir))
    data = report(proc)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {n: p["status"] for n, p in data["packages"].items()} == dict.fromkeys(
        {*again, *(["liblz4"] if "lz4" in again else [])}, "built")
    second = wheel_hashes(data)
    assert len(second) == len(again)
    assert second == {n: h for n, h in wheel_hashes(first).items() if n in second}
    lz4_log = Path(data["packages"]["lz4"]["log"]).read_text()
    assert_links_liblz4(lz4_log)
    assert "all imports ok" in lz4_log


def test_keep_going_reports_failures_and_what_they_block(tmp_path: Path,
                                                         toolchain_image: str) -> None:
    proc = pyodist("build", "-k", "-j", "2", "--json", cache=tmp_path / "cache",
                   recipe_dir=BUILDSET)
    data = report(proc)
    assert proc.returncode == 8  # BuildError
    pkgs = data["packages"]
    assert {n: p["status"] for n, p in pkgs.items()} == {
        "fine": "built", "uses-fine": "built", "broken": "failed",
        "needs-broken": "blocked", "bad-import": "failed",
    }
    assert "undeclared_identifier_for_pyodist_test" in pkgs["broken"]["log_tail"]
    assert pkgs["needs-broken"]["blocked_by"] == ["broken"]
    assert "badimport refuses to import" in pkgs["bad-import"]["error"]
    assert Path(pkgs["broken"]["log"]).is_file()
    assert data["counts"] == {"built": 2, "cached": 0, "failed": 2, "blocked": 1,
                              "skipped": 0}


def test_changed_recipe_rebuilds_itself_and_dependents_only(tmp_path: Path,
                                                            toolchain_image: str) -> None:
    recipes = tmp_path / "recipes"
    for name in ("fine", "uses-fine"):
        shutil.copytree(BUILDSET / name, recipes / name)
    other = recipes / "other"
    (other / "src" / "othermod").mkdir(parents=True)
    (other / "src" / "othermod" / "__init__.py").write_text("")
    (other / "src" / "setup.py").write_text(
        "from setuptools import setup\n"
        "setup(name='other', version='1.0', packages=['othermod'])\n")
    (other / "meta.yaml").write_text(
        "package: {name: other, version: '1.0'}\nsource: {path: src}\n"
        "test: {imports: [othermod]}\n")
    cache = tmp_path / "cache"
    first = report(pyodist("build", "--json", cache=cache, recipe_dir=recipes))
    assert {p["status"] for p in first["packages"].values()} == {"built"}, first

    (recipes / "fine" / "src" / "finemod" / "__init__.py").write_text("ANSWER = 43\n")
    again = report(pyodist("build", "--json", cache=cache, recipe_dir=recipes))
    assert {n: p["status"] for n, p in again["packages"].items()} == {
        "fine": "built", "uses-fine": "built", "other": "cached"}


def test_shared_library_is_vendored_into_its_dependent(tmp_path: Path, runtime_dir: Path,
                                                       toolchain_image: str) -> None:
    data = report(pyodist("build", "--json", cache=tmp_path / "cache",
                          recipe_dir=ROOT / "tests" / "data" / "sharedlib"))
    pkgs = data["packages"]
    assert {n: p["status"] for n, p in pkgs.items()} == {"libhello": "built",
                                                         "hellopy": "built"}
    assert sorted(Path(f).name for f in pkgs["libhello"]["files"]) == [
        "libhello-1.0.0-libs.tar", "libhello-1.0.0.zip"]
    wheel = Path(pkgs["hellopy"]["files"][0])
    with zipfile.ZipFile(wheel) as zf:
        assert any(n.startswith("hellopy.libs/libhello") for n in zf.namelist())
    result = run_python(runtime_dir, [wheel], "import json, hellopy\n"
                        "json.dumps([hellopy.greeting(), hellopy.twice(21)])")
    assert result["ok"], result.get("error")
    assert result["result"] == ["hello from a shared library", 42]


def test_prebuilt_wheel_source_is_used_as_is(tmp_path: Path, toolchain_image: str) -> None:
    wheel = tmp_path / "upstream" / "prebuilt-2.0-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("prebuilt/__init__.py", "VALUE = 'from a wheel'\n")
        zf.writestr("prebuilt-2.0.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: prebuilt\nVersion: 2.0\n")
        zf.writestr("prebuilt-2.0.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                    "Tag: py3-none-any\n")
        zf.writestr("prebuilt-2.0.dist-info/RECORD", "")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    recipe = tmp_path / "recipes" / "prebuilt"
    recipe.mkdir(parents=True)
    (recipe / "meta.yaml").write_text(
        f"package: {{name: prebuilt, version: '2.0'}}\n"
        f"source: {{url: '{wheel.as_uri()}', sha256: {digest}}}\n"
        "test: {imports: [prebuilt]}\n")
    data = report(pyodist("build", "--json", cache=tmp_path / "cache",
                          recipe_dir=tmp_path / "recipes"))
    pkg = data["packages"]["prebuilt"]
    assert pkg["status"] == "built", pkg
    assert [hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in pkg["files"]] == [digest]


def test_offline_build_after_fetch_with_runtime_and_backends(tmp_path: Path,
                                                            toolchain_image: str) -> None:
    """`pyodist fetch --runtime --backends` leaves nothing for an --offline build to fetch."""
    cache = tmp_path / "cache"
    fetched = pyodist("fetch", "markupsafe", "--runtime", "--backends", "--json", cache=cache)
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    got = json.loads(fetched.stdout)
    assert any(w.startswith("setuptools-") for w in got["backends"]["markupsafe"]), got
    assert got["backends_failed"] == {} and Path(got["runtime"]).is_dir()
    built = pyodist("--offline", "build", "markupsafe", "--json", cache=cache,
                    env={"PYODIST_IMAGE": toolchain_image})
    data = report(built)
    assert built.returncode == 0, built.stderr[-3000:]
    assert data["packages"]["markupsafe"]["status"] == "built"
