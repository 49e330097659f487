"""`pyodist init` and `toolchain files`: what a new project starts with."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
import yaml

from pyodist.cli import build_parser, main
from pyodist.errors import ConfigError, SelectionError
from pyodist.graph import RecipeGraph
from pyodist.options import packaged_docker_dir
from pyodist.project import load_project
from pyodist.project_init import init_project


def test_a_new_project_has_both_profiles_and_loads(tmp_path: Path) -> None:
    result = init_project(tmp_path / "my-dist")
    assert {p.relative_to(tmp_path / "my-dist").as_posix() for p in result.files} == {
        "pyodist.toml", "recipes/README.md", ".gitignore", ".github/workflows/pyodist.yml"}
    project = load_project(tmp_path / "my-dist" / "pyodist.toml")
    assert project.name == "my-dist"
    assert set(project.profiles) == {"slim", "fullstack"}
    assert project.profile(None).name == "slim"
    assert project.profiles["fullstack"].packages == ("*",)
    assert not list(tmp_path.rglob("*.tmp"))


def test_the_workflow_is_valid_yaml_and_runs_real_commands(tmp_path: Path) -> None:
    init_project(tmp_path / "p")
    workflow = yaml.safe_load((tmp_path / "p/.github/workflows/pyodist.yml").read_text())
    job = workflow["jobs"]["bundle"]
    assert job["timeout-minutes"] <= 90
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    commands = re.findall(r"pyodist(?: --cache-dir \S+)? ([a-z]+ [a-z-]+)", runs)
    assert {"toolchain build", "fetch --runtime", "bundle --profile", "test --node"} <= set(
        commands)
    top = _subcommands(build_parser())
    for words in commands:
        first, second = words.split()
        assert first in top, words
        nested = _subcommands(top[first])
        assert not nested or second in nested, words


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_init_writes_over_nothing(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / ".gitignore").write_text("mine\n")
    with pytest.raises(ConfigError, match=r"\.gitignore exists"):
        init_project(tmp_path / "p")
    assert (tmp_path / "p" / ".gitignore").read_text() == "mine\n"
    assert not (tmp_path / "p" / "pyodist.toml").exists()
    with pytest.raises(ConfigError, match="not a distribution name"):
        init_project(tmp_path / "q", name="no spaces")


def test_star_over_no_recipes_selects_nothing_but_a_name_still_fails() -> None:
    empty = RecipeGraph({})
    assert not empty.select(["*"]).order
    with pytest.raises(SelectionError):
        empty.select(["numpy"])


def test_toolchain_files_copies_the_image_definition(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["toolchain", "files", "docker"]) == 0
    names = {p.name for p in packaged_docker_dir().iterdir() if p.name != "__pycache__"}
    assert {p.name for p in (tmp_path / "docker").iterdir()} == names
    assert {"bootstrap.sh", "packages.lock", "wheelhouse.lock", "emcc-fast"} <= names
    assert (tmp_path / "docker/bootstrap.sh").read_bytes() == \
        (packaged_docker_dir() / "bootstrap.sh").read_bytes()
    assert main(["toolchain", "files", "docker"]) != 0  # not over a folder with files
