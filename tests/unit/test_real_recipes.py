"""What real recipe folders bring: bad recipes beside good ones, scripts that reach for the
network, failures told apart by cause (pure logic; real builds are in tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyodist.builder.logs import failure_cause, first_error, network_reach, port_download
from pyodist.builder.session import BuildSession
from pyodist.builder.steps import PackageFailed, _refuse_rust_backend
from pyodist.errors import RecipeError
from pyodist.graph import without_broken
from pyodist.options import Options
from pyodist.recipe import load_recipe_dirs
from tests.conftest import WriteRecipe, simple_recipe


@pytest.fixture
def folder(write_recipe: WriteRecipe, recipe_dir: Path) -> Path:
    # bad <- needs-bad <- needs-needs-bad ; good ; good-user -> good
    write_recipe("bad", "package: {name: bad, version: '1.0'}\nsource: {url: nope}\n")
    write_recipe("needs-bad", simple_recipe("needs-bad", run=["bad"]))
    write_recipe("needs-needs-bad", simple_recipe("needs-needs-bad", host=["needs-bad"],
                                                  tags=["core"]))
    write_recipe("good", simple_recipe("good"))
    write_recipe("good-user", simple_recipe("good-user", run=["good"], tags=["core"]))
    return recipe_dir


def test_recipes_needing_a_bad_one_are_set_aside(folder: Path) -> None:
    loaded = load_recipe_dirs([folder])
    assert [p.parent.name for p in loaded.errors] == ["bad"]
    kept, left_out = without_broken(loaded.recipes, ["bad"])
    assert sorted(kept) == ["good", "good-user"]
    assert left_out == {"needs-bad": ("bad",), "needs-needs-bad": ("bad",)}


def _session(folder: Path, tmp_path: Path) -> BuildSession:
    return BuildSession(Options(project_root=tmp_path, recipe_dirs=(folder,),
                                cache_dir=tmp_path / "cache", executor="host"))


def test_keep_going_plans_past_recipes_that_do_not_load(folder: Path, tmp_path: Path) -> None:
    session = _session(folder, tmp_path)
    plan = session.plan(("*",), keep_going=True)
    assert set(plan.order) == {"good", "good-user"}
    assert list(plan.unloadable) == ["bad"] and "source/url" in plan.unloadable["bad"]
    assert plan.needs_unloadable == {"needs-bad": ("bad",), "needs-needs-bad": ("bad",)}
    # named and tagged selections report only what they touch
    tagged = session.plan(("tag:core",), keep_going=True)
    assert tagged.order == ("good", "good-user")
    assert tagged.unloadable == {} and tagged.needs_unloadable == {
        "needs-needs-bad": ("bad",)}
    named = session.plan(("good",), keep_going=True)
    assert named.order == ("good",) and not named.unloadable and not named.needs_unloadable


@pytest.mark.parametrize("selection", [("*",), ("bad",), ("needs-needs-bad",), ("tag:core",)])
def test_without_keep_going_a_bad_recipe_the_selection_reaches_is_an_error(
        folder: Path, tmp_path: Path, selection: tuple[str, ...]) -> None:
    with pytest.raises(RecipeError, match="source/url"):
        _session(folder, tmp_path).plan(selection)


def test_a_bad_recipe_the_selection_does_not_reach_blocks_nothing(folder: Path,
                                                                  tmp_path: Path) -> None:
    plan = _session(folder, tmp_path).plan(("good-user",))
    assert plan.order == ("good", "good-user") and not plan.unloadable


def test_a_script_reaching_for_the_network_is_named(tmp_path: Path) -> None:
    log = tmp_path / "b.log"
    log.write_text("Cloning into 'vendor'...\nfatal: unable to access 'https://x.example/r/': "
                   "Could not resolve host: x.example\n")
    script = "set -e\n# git clone is mentioned in a comment\ngit clone https://x.example/r vendor\n"
    assert network_reach(log, {"build/script": script}) == \
        "build/script line 3: git clone https://x.example/r vendor"
    # a network error from a tool the script does not name: the log line is quoted
    log.write_text("pip: ERROR: Could not find a version that satisfies the requirement foo\n")
    assert network_reach(log, {"build/script": "make\n"}) == (
        "the log says: pip: ERROR: Could not find a version that satisfies the requirement foo")
    log.write_text("error: expected ';' after expression\n")
    assert network_reach(log, {"build/script": "wget x\n"}) is None


def test_a_download_tool_the_toolchain_lacks_is_a_reach_for_the_network(tmp_path: Path) -> None:
    log = tmp_path / "b.log"
    log.write_text("+ wget https://x.example/Python-3.14.2.tgz -O Python.tgz\n"
                   "/tmp/build.sh: line 1: wget: command not found\n")
    assert network_reach(log, {"build/script": "wget ${URL} -O Python.tgz\n"}) == \
        "build/script line 1: wget ${URL} -O Python.tgz"


def test_an_emscripten_port_download_is_named_with_its_host(tmp_path: Path) -> None:
    log = tmp_path / "b.log"
    log.write_text("embuilder:INFO: building zlib\n"
                   "ports:INFO: retrieving port: zlib from https://git.example/madler/zlib/v1.tgz\n"
                   "urllib.error.URLError: <urlopen error [Errno -3] Temporary failure>\n")
    assert port_download(log) == ("zlib", "https://git.example")
    log.write_text("a.c:3:1: error: unknown type name 'x'\n")
    assert port_download(log) is None


def test_link_failures_are_told_from_compile_failures(tmp_path: Path) -> None:
    log = tmp_path / "b.log"
    log.write_text("cc -c a.c\nwasm-ld: error: duplicate symbol: foo\n")
    assert failure_cause(log) == "link"
    log.write_text("a.c:3:1: error: unknown type name 'x'\n")
    assert failure_cause(log) == "compile"


def test_a_failed_build_names_its_first_real_error(tmp_path: Path) -> None:
    log = tmp_path / "b.log"
    # pip's summaries come last and say only that a subprocess failed: the compiler's line wins
    log.write_text("\x1b[1mbuilding 'x' extension\x1b[0m\n"
                   "src/x.c:12:5: warning: unused variable 'y'\n"
                   "src/x.c:40:3: error: call to undeclared function 'f'\n"
                   "error: subprocess-exited-with-error\n"
                   "ERROR: Failed building wheel for x\n")
    assert first_error(log) == "src/x.c:40:3: error: call to undeclared function 'f'"
    log.write_text("-- Configuring incomplete\nCMake Error at CMakeLists.txt:9 (find_package):\n"
                   "error: subprocess-exited-with-error\n")
    assert first_error(log) == "CMake Error at CMakeLists.txt:9 (find_package):"
    log.write_text("Traceback (most recent call last):\n  File \"setup.py\", line 3\n"
                   "ModuleNotFoundError: No module named 'Cython'\n")
    assert first_error(log) == "ModuleNotFoundError: No module named 'Cython'"
    # pyodide-build's own summary of a failed script says nothing either
    log.write_text("urllib.error.URLError: <urlopen error [Errno -3]>\n"
                   "ERROR: build script failed\n")
    assert first_error(log) == "urllib.error.URLError: <urlopen error [Errno -3]>"
    log.write_text("error: subprocess-exited-with-error\n")
    assert first_error(log) is None
    assert first_error(tmp_path / "missing.log") is None


@pytest.mark.parametrize("requires", [["setuptools", "setuptools-rust>=1.7"], ["maturin>=1,<2"],
                                      ["Setuptools_Rust[toml]; python_version >= '3.8'"]])
def test_a_rust_build_backend_is_refused_before_the_build(requires: list[str]) -> None:
    with pytest.raises(PackageFailed) as err:
        _refuse_rust_backend(requires)
    assert err.value.cause == "rust" and "index-packages" in str(err.value)


@pytest.mark.parametrize("requires", [["setuptools", "cython"], ["maturin; python_version < '3'"],
                                      ["not a requirement ((("]])
def test_other_build_backends_pass(requires: list[str]) -> None:
    _refuse_rust_backend(requires)


def test_a_script_that_downloads_is_found_before_any_build(tmp_path: Path) -> None:
    from pyodist.recipe.loader import parse_recipe  # noqa: PLC0415
    from pyodist.recipe.scripts import script_downloads  # noqa: PLC0415

    text = ("package:\n  name: d\n  version: '1'\nsource:\n  path: src\nbuild:\n  script: |\n"
            "    # wget in a comment is not a download\n    echo curl is a word here\n"
            "    cd x && wget ${URL} -O a.tgz\n    git clone https://x.example/r\n")
    recipe = parse_recipe(tmp_path / "d" / "meta.yaml", text)
    assert script_downloads(recipe) == ["build/script line 3: cd x && wget ${URL} -O a.tgz",
                                        "build/script line 4: git clone https://x.example/r"]
