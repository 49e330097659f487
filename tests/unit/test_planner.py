"""The build planner: keys, caching decisions and what a change rebuilds."""

from __future__ import annotations

from pathlib import Path

from pyodist.builder.planner import BuildTarget, plan_build, recipe_inputs
from pyodist.graph import RecipeGraph
from pyodist.recipe import load_recipe_dirs
from tests.conftest import WriteRecipe, simple_recipe

TARGET = BuildTarget("314.0.7", "2026_0", "sha256:image")


def _graph(recipe_dir: Path, write_recipe: WriteRecipe) -> RecipeGraph:
    write_recipe("libz", "package: {name: libz, version: 1.3.1}\n"
                 "source: {path: src}\nbuild: {type: static_library, script: make}\n")
    (recipe_dir / "libz" / "src").mkdir()
    (recipe_dir / "libz" / "src" / "z.c").write_text("int z;\n")
    write_recipe("zpy", simple_recipe("zpy", host=["libz"], run=["six"]))
    write_recipe("six", simple_recipe("six"))
    write_recipe("app", simple_recipe("app", run=["zpy"]))
    write_recipe("other", simple_recipe("other"))
    result = load_recipe_dirs([recipe_dir])
    result.raise_errors()
    return RecipeGraph(result.recipes)


def _plan(graph: RecipeGraph, cached: set[str] | None = None, force: tuple[str, ...] = (),
          target: BuildTarget = TARGET):  # type: ignore[no-untyped-def]
    sel = graph.select(["*"])
    inputs = {n: recipe_inputs(graph.recipes[n]) for n in sel.closure}
    return plan_build(graph, sel, target, inputs=inputs,
                      is_cached=lambda k: cached is not None and k in cached, force=force)


def test_plan_order_libraries_and_runtime_deps(recipe_dir: Path,
                                               write_recipe: WriteRecipe) -> None:
    plan = _plan(_graph(recipe_dir, write_recipe))
    assert plan.order.index("libz") < plan.order.index("zpy") < plan.order.index("app")
    assert plan.tasks["zpy"].libraries == ("libz",)
    assert plan.tasks["app"].runtime_deps == ("six", "zpy")
    assert plan.tasks["zpy"].deps == ("libz", "six")
    assert plan.to_build == plan.order
    assert plan.blocked_by(["libz"]) == {"zpy", "app"}


def test_everything_cached_then_one_change_rebuilds_it_and_dependents_only(
    recipe_dir: Path, write_recipe: WriteRecipe,
) -> None:
    graph = _graph(recipe_dir, write_recipe)
    first = _plan(graph)
    all_keys = {t.key for t in first.tasks.values()}
    assert _plan(graph, all_keys).to_build == ()
    (recipe_dir / "libz" / "src" / "z.c").write_text("int z = 1;\n")  # a source edit
    changed = _plan(_graph_reload(recipe_dir), all_keys)
    assert set(changed.to_build) == {"libz", "zpy", "app"}
    assert changed.tasks["six"].key == first.tasks["six"].key


def _graph_reload(recipe_dir: Path) -> RecipeGraph:
    result = load_recipe_dirs([recipe_dir])
    result.raise_errors()
    return RecipeGraph(result.recipes)


def test_keys_cover_toolchain_and_flags(recipe_dir: Path, write_recipe: WriteRecipe) -> None:
    graph = _graph(recipe_dir, write_recipe)
    base = _plan(graph)
    other_image = _plan(graph, target=BuildTarget("314.0.7", "2026_0", "sha256:other"))
    assert all(base.tasks[n].key != other_image.tasks[n].key for n in base.order)
    write_recipe("six", simple_recipe("six") + "build: {cflags: -O3}\n")
    flagged = _plan(_graph_reload(recipe_dir), {t.key for t in base.tasks.values()})
    assert set(flagged.to_build) == {"six", "zpy", "app"}


def test_force_rebuilds_downstream(recipe_dir: Path, write_recipe: WriteRecipe) -> None:
    graph = _graph(recipe_dir, write_recipe)
    keys = {t.key for t in _plan(graph).tasks.values()}
    assert set(_plan(graph, keys, force=("six",)).to_build) == {"six", "zpy", "app"}
