"""The build scheduler, with the per-package work replaced (pure logic only).

Real builds are covered in tests/integration/test_build.py; here the scheduler's
``produce`` is a function that stores a small file or fails, so keep-going, blocking,
stopping and cache reuse can be checked exhaustively and fast.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from pyodist.builder.planner import BuildPlan, BuildTarget, BuildTask, plan_build, recipe_inputs
from pyodist.builder.report import BuildReport
from pyodist.builder.scheduler import Scheduler
from pyodist.builder.steps import Artifacts, PackageFailed
from pyodist.events import BuildFinished, Event
from pyodist.graph import RecipeGraph
from pyodist.recipe import load_recipe_dirs
from pyodist.store.local import Artifact, ArtifactCache
from tests.conftest import WriteRecipe, simple_recipe

TARGET = BuildTarget("314.0.7", "2026_0", "sha256:image")


class FakeEngine:
    """Schedules ``plan`` with builds that write ``<name>.whl``; names in ``failing`` fail."""

    def __init__(self, plan: BuildPlan, cache: ArtifactCache, tmp: Path, *,
                 failing: set[str] = frozenset(), **kw: Any) -> None:  # type: ignore[assignment]
        self.events: list[Event] = []
        self.artifacts = Artifacts()
        self.scheduler = Scheduler(plan, cache=cache, produce=self.produce,
                                   artifacts=self.artifacts, logs=tmp / "logs",
                                   on_event=self.events.append, **kw)
        self.cache = cache
        self.failing = failing
        self.built: list[str] = []
        self.active = 0
        self.most_active = 0
        self._count_lock = threading.Lock()

    def run(self) -> BuildReport:
        return self.scheduler.run()

    def produce(self, task: BuildTask, log: Path) -> Artifact:
        with self._count_lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            for dep in task.deps:  # everything a package needs is available when it starts
                assert self.artifacts[dep] is not None
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(f"building {task.name}\nerror: {task.name} is broken\n")
            if task.name in self.failing:
                raise PackageFailed(f"{task.name} failed", log)
            out = log.parent / f"{task.name}.whl"
            out.write_text(task.name)
            self.built.append(task.name)
            return self.cache.put(task.key, task.name, [out], {})
        finally:
            with self._count_lock:
                self.active -= 1


@pytest.fixture
def graph(recipe_dir: Path, write_recipe: WriteRecipe) -> RecipeGraph:
    # a <- b <- c ; a <- d ; e alone
    write_recipe("a", simple_recipe("a"))
    write_recipe("b", simple_recipe("b", run=["a"]))
    write_recipe("c", simple_recipe("c", run=["b"]))
    write_recipe("d", simple_recipe("d", host=["a"]))
    write_recipe("e", simple_recipe("e"))
    result = load_recipe_dirs([recipe_dir])
    result.raise_errors()
    return RecipeGraph(result.recipes)


def _plan(graph: RecipeGraph, cache: ArtifactCache) -> BuildPlan:
    sel = graph.select(["*"])
    inputs = {n: recipe_inputs(graph.recipes[n]) for n in sel.closure}
    return plan_build(graph, sel, TARGET, inputs=inputs,
                      is_cached=lambda k: cache.get(k) is not None)


def test_everything_builds_in_dependency_order(graph: RecipeGraph, tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    engine = FakeEngine(_plan(graph, cache), cache, tmp_path, jobs=2)
    report = engine.run()
    assert report.ok
    assert sorted(engine.built) == ["a", "b", "c", "d", "e"]
    assert engine.built.index("a") < engine.built.index("b") < engine.built.index("c")
    assert engine.most_active <= 2


def test_second_run_is_all_cached(graph: RecipeGraph, tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    FakeEngine(_plan(graph, cache), cache, tmp_path).run()
    again = FakeEngine(_plan(graph, cache), cache, tmp_path)
    report = again.run()
    assert again.built == []
    assert {o.status for o in report.outcomes.values()} == {"cached"}


def test_keep_going_blocks_only_dependents(graph: RecipeGraph, tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    engine = FakeEngine(_plan(graph, cache), cache, tmp_path, failing={"a"}, keep_going=True,
                        jobs=2)
    report = engine.run()
    status = {n: o.status for n, o in report.outcomes.items()}
    assert status == {"a": "failed", "b": "blocked", "c": "blocked", "d": "blocked",
                      "e": "built"}
    assert report.outcomes["c"].blocked_by == ("a",)
    assert sorted(report.blocked_by("a")) == ["b", "c", "d"]
    assert "error: a is broken" in report.outcomes["a"].log_tail
    finished = [e.name for e in engine.events if isinstance(e, BuildFinished)]
    assert sorted(finished) == ["a", "b", "c", "d", "e"]


def test_without_keep_going_the_run_stops(graph: RecipeGraph, tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    engine = FakeEngine(_plan(graph, cache), cache, tmp_path, failing={"a"}, jobs=1)
    report = engine.run()
    assert not report.ok
    assert report.outcomes["a"].status == "failed"
    # nothing else may start after the failure; what did not start is skipped or blocked
    assert all(o.status in ("skipped", "blocked", "failed", "built")
               for o in report.outcomes.values())
    assert set(engine.built) <= {"e"}
    assert report.count("skipped") + report.count("blocked") + len(engine.built) == 4


def test_an_entry_another_run_stored_meanwhile_is_used(graph: RecipeGraph,
                                                       tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    plan = _plan(graph, cache)  # nothing cached yet: every task is to build
    FakeEngine(_plan(graph, cache), cache, tmp_path / "other").run()  # the other run
    late = FakeEngine(plan, cache, tmp_path)
    report = late.run()
    assert late.built == []
    assert {o.status for o in report.outcomes.values()} == {"cached"}


def test_forced_tasks_build_even_when_stored(graph: RecipeGraph, tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    FakeEngine(_plan(graph, cache), cache, tmp_path / "first").run()
    sel = graph.select(["*"])
    inputs = {n: recipe_inputs(graph.recipes[n]) for n in sel.closure}
    plan = plan_build(graph, sel, TARGET, inputs=inputs,
                      is_cached=lambda k: cache.get(k) is not None, force=["b"])
    engine = FakeEngine(plan, cache, tmp_path)
    engine.run()
    assert sorted(engine.built) == ["b", "c"]
