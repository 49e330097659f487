"""The README and the example CI workflow stay truthful: the commands they show exist."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import yaml

from pyodist.cli import build_parser
from pyodist.errors import EXIT_CODES, exit_code_summary
from pyodist.graph import RecipeGraph
from pyodist.recipe import load_recipe_dirs

ROOT = Path(__file__).resolve().parents[2]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _documented_commands(text: str) -> set[tuple[str, ...]]:
    """Every `pyodist CMD [SUB]` starting a line (or after `$ `) inside fenced code blocks."""
    found = set()
    blocks = re.findall(r"(?ms)^```[a-z]*\n(.*?)^```", text)
    for block in blocks:
        for match in re.finditer(r"(?m)^(?:\$ )?pyodist ([a-z][a-z-]*(?: [a-z]+)?)", block):
            found.add(tuple(match.group(1).split()))
    return found


def test_every_command_in_the_readme_exists() -> None:
    top = _subcommands(build_parser())
    documented = _documented_commands((ROOT / "README.md").read_text())
    assert len(documented) > 10
    for words in documented:
        assert words[0] in top, f"README shows 'pyodist {words[0]}', which does not exist"
        nested = _subcommands(top[words[0]])
        if nested and len(words) > 1:
            assert words[1] in nested, f"README shows 'pyodist {' '.join(words)}'"


def test_every_command_has_a_readme_line() -> None:
    documented = {w[0] for w in _documented_commands((ROOT / "README.md").read_text())}
    missing = set(_subcommands(build_parser())) - documented
    assert not missing, f"commands the README does not show: {sorted(missing)}"


def test_example_workflow_is_valid_and_runs_the_pipeline() -> None:
    workflow = yaml.safe_load((ROOT / "docs" / "ci" / "release.yml").read_text())
    job = workflow["jobs"]["release"]
    assert job["timeout-minutes"] <= 90
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "make test" in runs and "pyodist release" in runs
    cached = [step["with"]["path"] for step in job["steps"]
              if step.get("uses", "").startswith("actions/cache")]
    assert any("sources" in p for p in cached) and any("artifacts" in p for p in cached)
    assert any("image" in p for p in cached)


def test_the_readme_exit_code_table_is_the_one_in_the_code() -> None:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- exit-codes -->", 1)[1].split("<!-- /exit-codes -->", 1)[0]
    rows = re.findall(r"(?m)^\| (\d+) \| ([a-z ]+) \|$", block)
    assert [(int(code), what) for code, what in rows] == list(EXIT_CODES)
    assert exit_code_summary() in " ".join(build_parser().format_help().split())


def test_sharded_workflow_has_a_job_for_every_wave_of_the_recipes() -> None:
    text = (ROOT / "docs" / "ci" / "sharded.yml").read_text()
    jobs = yaml.safe_load(text)["jobs"]  # safe_load resolves the &shard-steps anchor
    graph = RecipeGraph(load_recipe_dirs([ROOT / "recipes"]).recipes)
    chosen = graph.select(["*"]).closure
    level: dict[str, int] = {}
    for name in graph.order(chosen):  # dependencies first
        level[name] = 1 + max((level[d] for d in graph.deps[name] & chosen), default=0)
    waves = max(level.values())
    assert f"This project's recipes have {waves} waves" in text
    names = [f"wave-{k}" for k in range(1, waves + 1)]
    assert [j for j in jobs if j.startswith("wave-")] == names
    for k, name in enumerate(names, 1):
        job = jobs[name]
        assert job["steps"] == jobs["wave-1"]["steps"]
        assert f"matrix[{k - 1}]" in job["strategy"]["matrix"]["shard"]
        if k > 1:
            assert job["needs"] == ["plan", f"wave-{k - 1}"]
            assert f">= {k}" in job["if"]
    assert jobs["bundle"]["needs"] == ["plan", *names]
    runs = "\n".join(step.get("run", "") for step in jobs["wave-1"]["steps"])
    assert "--shard" in runs and "--wave" in runs and "--shard-plan" in runs

