"""The options cascade: defaults, then pyodist.toml, then the environment, then the command
line; and which commands read the project file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pyodist.cli import main
from pyodist.errors import ConfigError
from pyodist.options import DEFAULT_JOBS, DEFAULT_PYODIDE_VERSION, Options, resolve_options
from pyodist.project import load_project, require_resolved

PROJECT = """
[distribution]
name = "demo"
version = "1.0"

[runtime]
pyodide = "314.0.7"

[build]
recipe-dirs = ["from-project"]
jobs = 3
artifact-store = "oci://127.0.0.1:5000/project"

[profiles.slim]
packages = ["micropip"]
"""


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    for folder in ("from-project", "from-env", "from-flag"):
        (tmp_path / folder).mkdir()
    (tmp_path / "pyodist.toml").write_text(PROJECT)
    return tmp_path


def _resolve(root: Path, environ: dict[str, str], **flags: Any) -> Options:
    project = load_project(root / "pyodist.toml").values()
    return resolve_options(cwd=root, environ=environ, project=project, **flags)


@pytest.mark.parametrize(("environ", "flags", "expected"), [
    ({}, {}, ("from-project", 3, "project")),
    ({"PYODIST_RECIPE_DIRS": "from-env", "PYODIST_JOBS": "4",
      "PYODIST_ARTIFACT_STORE": "oci://127.0.0.1:5000/env"}, {}, ("from-env", 4, "env")),
    ({"PYODIST_RECIPE_DIRS": "from-env", "PYODIST_JOBS": "4",
      "PYODIST_ARTIFACT_STORE": "oci://127.0.0.1:5000/env"},
     {"recipe_dirs": ["from-flag"], "jobs": 5,
      "artifact_store": "oci://127.0.0.1:5000/flag"}, ("from-flag", 5, "flag")),
])
def test_each_step_of_the_cascade_wins_over_the_one_before(
        project_dir: Path, environ: dict[str, str], flags: dict[str, Any],
        expected: tuple[str, int, str]) -> None:
    dirs, jobs, store = expected
    options = _resolve(project_dir, environ, **flags)
    assert options.recipe_dirs == ((project_dir / dirs).resolve(),)
    assert options.jobs == jobs
    assert options.artifact_store is not None and options.artifact_store.repo == store
    assert options.project_file == project_dir / "pyodist.toml"


def test_without_a_project_the_defaults_hold(tmp_path: Path) -> None:
    options = resolve_options(cwd=tmp_path, environ={})
    assert options.recipe_dirs == ((tmp_path / "recipes").resolve(),)
    assert options.jobs == DEFAULT_JOBS and options.artifact_store is None
    assert options.pyodide_version == DEFAULT_PYODIDE_VERSION
    assert options.project_file is None


@pytest.mark.parametrize("value", ["0", "257", "-1", "two", "\u0663", "1.5"])
def test_a_bad_jobs_variable_names_itself(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"PYODIST_JOBS=.* is not a number of jobs") as info:
        resolve_options(cwd=tmp_path, environ={"PYODIST_JOBS": value})
    assert "from 1 to 256" in str(info.value)


@pytest.mark.parametrize("value", ["0", "257", '"2"', "true", "2.0"])
def test_a_bad_jobs_key_names_the_file_and_key(tmp_path: Path, value: str) -> None:
    path = tmp_path / "pyodist.toml"
    path.write_text(PROJECT.replace('recipe-dirs = ["from-project"]\n', "")
                    .replace("jobs = 3", f"jobs = {value}"))
    with pytest.raises(ConfigError) as info:
        load_project(path)
    assert str(info.value).startswith(f"{path}: build.jobs: ")
    assert "from 1 to 256" in str(info.value)


def test_a_run_refuses_options_resolved_without_its_project(project_dir: Path) -> None:
    project = load_project(project_dir / "pyodist.toml")
    with pytest.raises(ValueError, match=r"project=project\.values"):
        require_resolved(resolve_options(cwd=project_dir, environ={}), project)
    require_resolved(_resolve(project_dir, {}), project)


def test_commands_read_the_project_in_the_folder_they_start_in(
        project_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(project_dir)
    for name in ("PYODIST_RECIPE_DIRS", "PYODIST_JOBS", "PYODIST_ARTIFACT_STORE"):
        monkeypatch.delenv(name, raising=False)
    (project_dir / "from-project" / "six").mkdir()
    (project_dir / "from-project" / "six" / "meta.yaml").write_text(
        "package: {name: six, version: 1.17.0}\n"
        "source: {url: 'https://example.invalid/six-1.17.0.tar.gz', sha256: "
        + "'" + "0" * 64 + "'}\n")
    assert main(["recipes", "list"]) == 0
    assert "six" in capsys.readouterr().out
    # a broken project file stops the commands that read it, naming the file and the key ...
    (project_dir / "pyodist.toml").write_text(PROJECT.replace("jobs = 3", "jobs = 0"))
    assert main(["recipes", "list"]) == ConfigError.exit_code
    assert "pyodist.toml: build.jobs:" in capsys.readouterr().err
    # ... and not those that never read one
    assert main(["init", "--no-lock", str(project_dir / "new")]) == 0
    # --project names another file: one that is not there is the same clear error
    assert main(["build", "--project", "missing.toml"]) == ConfigError.exit_code
    assert "missing.toml: project file not found" in capsys.readouterr().err
