"""The command line: exact output, exit codes, no tracebacks for user errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pyodist.cli import main
from pyodist.cli.python_cmd import _pytest_addopts
from tests.conftest import WriteRecipe, simple_recipe

REPO_RECIPES = Path(__file__).resolve().parents[2] / "recipes"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYODIST_RECIPE_DIRS", raising=False)
    monkeypatch.delenv("PYODIST_DEBUG", raising=False)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_ok_table(capsys: pytest.CaptureFixture[str], write_recipe: WriteRecipe,
                        recipe_dir: Path) -> None:
    write_recipe("six", simple_recipe("six", "1.17.0"))
    write_recipe("micropip", simple_recipe("micropip", "0.10.1", run=["six"]))
    code, out, err = _run(capsys, "recipes", "check")
    assert (code, err) == (0, "")
    assert out == (
        "RECIPE    VERSION  TYPE     SOURCE          STATUS\n"
        "--------  -------  -------  --------------  ------\n"
        "micropip  0.10.1   package  index:micropip  ok\n"
        "six       1.17.0   package  index:six       ok\n"
        f"\n2 recipe(s) checked in {recipe_dir}: all valid\n"
    )


def test_check_reports_every_broken_file_and_exits_3(
    capsys: pytest.CaptureFixture[str], write_recipe: WriteRecipe,
) -> None:
    write_recipe("good", simple_recipe("good"))
    bad1 = write_recipe("bad1",
                        "package: {name: bad1, version: '1'}\nsource: {url: pypi:a/b.tgz}\n")
    bad2 = write_recipe("bad2", simple_recipe("bad2") + "tests: {}\n")
    code, out, _ = _run(capsys, "recipes", "check")
    assert code == 3
    assert "bad1    ?        ?        ?           1 error(s)" in out
    assert f"{bad1}:2:10: source/url: a downloaded source needs 'source/sha256'" in out
    assert f"{bad2}:7:1: tests: unknown section\n  fix: did you mean 'test'?" in out
    assert out.endswith("3 recipe(s) checked in " + str(bad1.parents[1]) + ": 2 problem(s)\n")


def test_check_graph_error_exits_4(capsys: pytest.CaptureFixture[str],
                                   write_recipe: WriteRecipe) -> None:
    write_recipe("a", simple_recipe("a", run=["b"]))
    write_recipe("b", simple_recipe("b", run=["a"]))
    code, out, _ = _run(capsys, "recipes", "check")
    assert code == 4
    assert "dependency cycle: a -> b -> a" in out


def test_check_json(capsys: pytest.CaptureFixture[str], write_recipe: WriteRecipe) -> None:
    write_recipe("x", "package: {name: x, version: '1', colour: red}\nsource: {path: .}\n")
    code, out, _ = _run(capsys, "recipes", "check", "--json")
    data = json.loads(out)
    assert code == 3 and data["ok"] is False
    assert data["errors"][0] | {"file": None} == {
        "file": None, "line": 1, "column": 34, "key": "package/colour",
        "message": "unknown key", "hint": "remove it (allowed: _disabled, name, pinned, tag, "
        "top-level, variant-of, version)",
    }


def test_graph_tree_and_json(capsys: pytest.CaptureFixture[str],
                             write_recipe: WriteRecipe) -> None:
    write_recipe("lib", simple_recipe("lib"))
    write_recipe("mid", simple_recipe("mid", host=["lib"]))
    write_recipe("app", simple_recipe("app", run=["mid", "lib"]))
    code, out, _ = _run(capsys, "recipes", "graph", "app")
    assert code == 0
    assert out == (
        "app 1.0\n├── lib 1.0\n└── mid 1.0\n    └── lib 1.0\n"
        "\n3 package(s); build order: lib mid app\n"
    )
    code, out, _ = _run(capsys, "recipes", "graph", "app", "--json")
    data = json.loads(out)
    assert data["order"] == ["lib", "mid", "app"]
    assert data["packages"]["lib"]["dependents"] == ["app", "mid"]
    assert data["pulled_in"] == ["lib", "mid"]


def test_list(capsys: pytest.CaptureFixture[str], write_recipe: WriteRecipe) -> None:
    write_recipe("lib", simple_recipe("lib", tags=["library"]))
    write_recipe("app", simple_recipe("app", run=["lib"]))
    code, out, _ = _run(capsys, "recipes", "list")
    assert code == 0
    assert out.splitlines()[2:] == [
        "app     1.0      package  -        lib",
        "lib     1.0      package  library  -",
    ]


def test_user_error_has_no_traceback_unless_debug(
    capsys: pytest.CaptureFixture[str], write_recipe: WriteRecipe,
) -> None:
    write_recipe("six", simple_recipe("six"))
    code, out, err = _run(capsys, "recipes", "graph", "sx")
    assert (code, out) == (4, "")
    assert err == (
        "error: no recipe named 'sx'; did you mean 'six'?\n"
        "  fix: run 'pyodist recipes list' to see what is available\n"
    )
    code, _, err = _run(capsys, "--debug", "recipes", "graph", "sx")
    assert code == 4 and "Traceback" in err


def test_recipe_dir_flag_and_env_layering(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          write_recipe: WriteRecipe,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    write_recipe("six", simple_recipe("six", "1.0"), base=tmp_path / "a")
    write_recipe("six", simple_recipe("six", "2.0"), base=tmp_path / "b")
    _, out, _ = _run(capsys, "--recipe-dir", "a", "--recipe-dir", "b", "recipes", "list")
    assert "six     2.0" in out
    monkeypatch.setenv("PYODIST_RECIPE_DIRS", "b:a")
    _, out, _ = _run(capsys, "recipes", "list")
    assert "six     1.0" in out


def test_missing_recipe_dir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "recipes", "check")
    assert code == 3
    assert f"{tmp_path / 'recipes'}: recipe directory not found" in out


def test_repo_recipes_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "recipes", "check", str(REPO_RECIPES))
    assert code == 0, out
    code, out, _ = _run(capsys, "--recipe-dir", str(REPO_RECIPES), "recipes", "graph", "*",
                        "--json")
    order = json.loads(out)["order"]
    assert order.index("liblz4") < order.index("lz4")
    assert {"numpy", "micropip", "markupsafe", "ujson"} <= set(order)


def test_python_tests_roots_pytest_at_the_bundles_site_packages(tmp_path: Path) -> None:
    (tmp_path / "pyodide-lock.json").write_text('{"info": {"python": "3.14.2"}}')
    opts = _pytest_addopts(tmp_path).split()
    assert opts[:3] == ["--import-mode=importlib", "-o", "consider_namespace_packages=true"]
    assert opts[3] == "--rootdir=/lib/python3.14/site-packages"
    # an unreadable lock: no guessed rootdir
    (tmp_path / "pyodide-lock.json").write_text("{")
    assert "--rootdir" not in _pytest_addopts(tmp_path)


def test_a_broken_recipe_outside_the_selection_blocks_no_command(
        capsys: pytest.CaptureFixture[str], write_recipe: WriteRecipe) -> None:
    write_recipe("certifi", simple_recipe("certifi"))
    bad = write_recipe("numpy-tests", "package: {name: numpy-tests, version: '1'}\n"
                       "source: {path: /etc}\n")
    code, out, err = _run(capsys, "plan", "certifi", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["selection"] == ["certifi"]
    code, _out, err = _run(capsys, "plan", "numpy-tests")
    assert code == 3
    assert f"{bad}:2:" in err and "leads outside the recipes folder" in err


@pytest.mark.parametrize(("argv", "message"), [
    (["build", "six", "--profile", "slim"], "give a SELECTION or --profile, not both"),
])
def test_build_profile_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str],
                                    message: str) -> None:
    code, _out, err = _run(capsys, *argv)
    assert code == 2 and err.startswith(f"error: {message}")


def test_build_of_a_profile_with_no_recipe_package(capsys: pytest.CaptureFixture[str],
                                                   tmp_path: Path) -> None:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "pyodist.toml").write_text(
        '[distribution]\nname = "d"\nversion = "1"\n[runtime]\npyodide = "314.0.7"\n'
        '[profiles.web]\nindex-packages = ["attrs"]\n')
    code, _out, err = _run(capsys, "build", "--profile", "web")
    assert (code, err) == (0, "profile 'web' takes no package from a recipe: nothing to build\n")


def test_an_output_that_takes_nothing_is_exit_13(capsys: pytest.CaptureFixture[str],
                                                 write_recipe: WriteRecipe,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import errno  # noqa: PLC0415

    write_recipe("six", simple_recipe("six"))

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pyodist.cli.recipes_cmd.table", full)
    code, _out, err = _run(capsys, "recipes", "list")
    assert code == 13 and "No space left on device" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["fetch", "build", "bundle", "release"])
@pytest.mark.parametrize("jobs", ["0", "-3", "257", "99999", "\u0663", "two"])
def test_jobs_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str], command: str,
                                           jobs: str) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, f"--jobs={jobs}"])
    assert done.value.code == 2
    assert "give a whole number from 1 to 256" in capsys.readouterr().err
