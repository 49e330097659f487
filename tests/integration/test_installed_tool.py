"""pyodist as a tool: installed from its wheel into a fresh venv, run outside this checkout.

What a maintainer does: pip install the wheel, then in their own folder build the toolchain
image (found here by its input hash: the packaged image files are this checkout's), build
their package without a recipe, run its tests in Pyodide, and start a distribution project.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from pyodist.outoftree import pack_tree

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "maintainer-package"


def _run(argv: list[str], cwd: Path, *, check: bool = True,
         timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYODIST_", "VIRTUAL_ENV"))}
    env["CI"] = "1"
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    if check and proc.returncode != 0:
        pytest.fail(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, toolchain_image: str) -> Path:
    """bin/pyodist of a fresh venv holding only pyodist's wheel and its dependencies."""
    tmp = tmp_path_factory.mktemp("installed")
    # from a copy of the checkout: the build writes egg-info and build/ beside the sources
    source = tmp / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "dist", "build", "*.egg-info", "__pycache__",
        ".*_cache", ".hypothesis"))
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "wheel"),
          str(source)], cwd=tmp)
    (wheel,) = (tmp / "wheel").glob("pyodist-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    for part in ("bootstrap.sh", "packages.lock", "wheelhouse.lock", "emcc-fast",
                 "xbuildenv.lock", "hostcfg.py", "make_xbuildenv.py", "Dockerfile"):
        assert f"pyodist/toolchain/docker/{part}" in names, part
    assert "pyodist/builder/guest_build.sh" in names
    _run([sys.executable, "-m", "venv", str(tmp / "venv")], cwd=tmp)
    _run([str(tmp / "venv/bin/pip"), "install", "-q", str(wheel)], cwd=tmp)
    return tmp / "venv" / "bin" / "pyodist"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder far from this checkout, with a copy of the example package."""
    shutil.copytree(EXAMPLE, tmp_path / "cstats")
    assert not (tmp_path / "cstats").is_relative_to(ROOT)
    return tmp_path


def test_the_installed_tool_finds_its_toolchain_image_by_the_packaged_files(
        installed: Path, work: Path, toolchain_image: str) -> None:
    done = _run([str(installed), "toolchain", "build"], cwd=work)
    assert "already here" in done.stdout, done.stdout
    _run([str(installed), "toolchain", "files", "docker-copy"], cwd=work)
    for name in ("bootstrap.sh", "packages.lock", "wheelhouse.lock", "emcc-fast"):
        assert (work / "docker-copy" / name).read_bytes() == (ROOT / "docker" / name).read_bytes()


def test_a_maintainers_package_builds_without_a_recipe_the_same_twice_and_passes_its_tests(
        installed: Path, work: Path) -> None:
    package = work / "cstats"
    first = _run([str(installed), "wheel", ".", "--json"], cwd=package)
    (wheel,) = (package / "dist").glob("cstats-1.0.0-cp314-cp314-pyemscripten_*_wasm32.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert digest in first.stdout
    with zipfile.ZipFile(wheel) as zf:
        assert any(n.startswith("cstats/_core.") and n.endswith(".so") for n in zf.namelist())
    # built again from nothing cached: the same bytes
    _run([str(installed), "wheel", ".", "--force", "-o", "again"], cwd=package)
    assert hashlib.sha256((package / "again" / wheel.name).read_bytes()).hexdigest() == digest

    # in Node, and in Chromium (playwright-core from the maintainer's node_modules)
    (package / "node_modules").symlink_to(ROOT / "node_modules")
    tested = _run([str(installed), "test-wheel", str(wheel), "--browser", "--junit",
                   "out/junit.xml", "--", "-q"], cwd=package)
    assert tested.stdout.count("4 passed") == 2 and "--- Chromium ---" in tested.stdout, \
        tested.stdout
    for name in ("junit.xml", "junit-chromium.xml"):
        junit = (package / "out" / name).read_text()
        assert 'tests="4"' in junit and 'failures="0"' in junit and "emscripten" in junit

    # a failing test fails the run, with pytest's exit code
    (package / "tests" / "test_broken.py").write_text(
        "import cstats\n\ndef test_wrong():\n    assert cstats.mean([1.0, 3.0]) == 3.0\n")
    broken = _run([str(installed), "test-wheel", str(wheel), "--", "-q"], cwd=package,
                  check=False)
    assert broken.returncode == 11 and "1 failed" in broken.stdout, broken.stdout
    assert "pytest exited 1 (tests failed)" in broken.stderr


def test_what_cannot_build_is_refused_before_anything_runs(installed: Path, work: Path) -> None:
    rust = work / "rusty"
    rust.mkdir()
    (rust / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["maturin>=1.0"]\nbuild-backend = "maturin"\n\n'
        '[project]\nname = "rusty"\nversion = "0.1.0"\n')
    (rust / "src").mkdir()
    (rust / "src" / "lib.rs").write_text("fn main() {}\n")
    done = _run([str(installed), "wheel", "."], cwd=rust, check=False)
    assert done.returncode == 2 and "Rust" in done.stderr and "fix:" in done.stderr, done.stderr
    empty = work / "nothing"
    empty.mkdir()
    done = _run([str(installed), "wheel", "."], cwd=empty, check=False)
    assert done.returncode == 2 and "not a Python project" in done.stderr, done.stderr
    (work / "bad").mkdir()
    (work / "bad" / "pyproject.toml").write_text(
        '[project]\nname = "bad"\nversion = "1"\n\n[tool.pyodist]\ncflag = "-O3"\n')
    done = _run([str(installed), "wheel", "bad"], cwd=work, check=False)
    assert done.returncode == 5 and "tool.pyodist.cflag" in done.stderr, done.stderr


def test_an_index_sdist_builds_without_its_recipe_and_imports_like_the_recipe_build(
        installed: Path, work: Path) -> None:
    # markupsafe 3.0.2, the version of recipes/markupsafe, from the index, no recipe
    _run([str(installed), "wheel", "markupsafe==3.0.2"], cwd=work)
    (wheel,) = (work / "dist").glob("markupsafe-3.0.2-cp314-cp314-pyemscripten_*_wasm32.whl")
    recipe = _run([sys.executable, "-m", "pyodist", "build", "markupsafe", "-o",
                   str(work / "recipe-built")], cwd=ROOT)
    assert recipe.returncode == 0
    (built,) = (work / "recipe-built").glob("markupsafe-*.whl")
    with zipfile.ZipFile(wheel) as a, zipfile.ZipFile(built) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
    (work / "tests").mkdir()
    (work / "tests" / "test_escape.py").write_text(
        "import markupsafe\nimport markupsafe._speedups as speedups\n\n"
        "def test_the_c_speedups_escape():\n"
        "    assert speedups.__file__.endswith('.so')\n"
        "    assert markupsafe.escape('<a href=\"x\">&</a>') == "
        "'&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;'\n")
    for built_wheel in (wheel, built):
        done = _run([str(installed), "test-wheel", str(built_wheel), "--no-deps", "--", "-q"],
                    cwd=work)
        assert "1 passed" in done.stdout, done.stdout


def test_a_new_project_bundles_as_it_is_and_loads_in_node(installed: Path, work: Path) -> None:
    _run([str(installed), "init", "my-dist"], cwd=work)
    project = work / "my-dist"
    assert (project / "pyodist.lock").is_file()
    _run([str(installed), "bundle"], cwd=project)
    (bundle,) = [p for p in (project / "dist").iterdir() if p.is_dir()]
    assert bundle.name == "my-dist-0.1.0-slim"
    tested = _run([str(installed), "test", "--node", str(bundle)], cwd=project)
    assert "micropip" in tested.stdout and "ok" in tested.stdout


def test_in_a_git_tree_the_files_git_would_track_are_packed(tmp_path: Path) -> None:
    tree = tmp_path / "g"
    (tree / "src" / "my_pkg").mkdir(parents=True)
    (tree / "src" / "my_pkg" / "_c.c").write_text("int x;\n")
    (tree / "build").mkdir()
    (tree / "build" / "x.py").write_text("")
    (tree / ".gitignore").write_text("secret.txt\n")
    (tree / "secret.txt").write_text("no")
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    packed = pack_tree(tree, tmp_path / "out", name="my_pkg", version="1.2", epoch=0)
    with tarfile.open(packed) as tar:
        names = tar.getnames()
    assert "my_pkg-1.2/.gitignore" in names and "my_pkg-1.2/secret.txt" not in names
    # git does not ignore build/ here, so it is packed like any untracked file
    assert "my_pkg-1.2/src/my_pkg/_c.c" in names


def test_a_package_on_numpys_c_api_builds_against_the_projects_numpy_recipe(
        installed: Path, work: Path) -> None:
    # bottleneck's build-system requires numpy: its headers come from the numpy recipe of the
    # recipe folder given (its wheel from the cache when that recipe was built before)
    done = _run([str(installed), "--recipe-dir", str(ROOT / "recipes"), "wheel",
                 "bottleneck==1.6.0", "--json"], cwd=work)
    (wheel,) = (work / "dist").glob("bottleneck-1.6.0-cp314-cp314-pyemscripten_*_wasm32.whl")
    assert wheel.name in done.stdout
