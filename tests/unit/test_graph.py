"""The dependency graph and the selection language."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyodist.errors import GraphError, RecipeError
from pyodist.graph import RecipeGraph, parse_selection, usable_recipes
from pyodist.recipe import LoadResult, load_recipe_dirs
from pyodist.tree import check_tree, load_tree
from tests.conftest import WriteRecipe, simple_recipe


def _graph(recipe_dir: Path, write_recipe: WriteRecipe, specs: dict[str, dict]) -> RecipeGraph:  # type: ignore[type-arg]
    for name, kw in specs.items():
        write_recipe(name, simple_recipe(name, **kw))
    result = load_recipe_dirs([recipe_dir])
    result.raise_errors()
    return RecipeGraph(result.recipes)


@pytest.fixture
def graph(recipe_dir: Path, write_recipe: WriteRecipe) -> RecipeGraph:
    return _graph(recipe_dir, write_recipe, {
        "libz": {"tags": ["library"]},
        "zpy": {"host": ["libz"], "run": ["six"]},
        "six": {},
        "numpy": {"tags": ["science"]},
        "scipy": {"host": ["numpy"], "run": ["numpy"], "tags": ["science"]},
        "micropip": {"run": ["packaging"], "tags": ["always"]},
        "packaging": {},
        "old": {"disabled": True},
        "needs-old": {"run": ["old"]},
    })


def test_edges_both_ways(graph: RecipeGraph) -> None:
    assert graph.deps["zpy"] == {"libz", "six"}
    assert graph.dependents["numpy"] == {"scipy"}
    assert graph.dependents["six"] == {"zpy"}
    assert graph.downstream({"libz"}) == {"libz", "zpy"}
    assert graph.closure({"zpy"}) == {"zpy", "libz", "six"}


def test_order_puts_dependencies_first_and_is_stable(graph: RecipeGraph) -> None:
    order = graph.order(graph.recipes)
    assert order.index("libz") < order.index("zpy")
    assert order.index("numpy") < order.index("scipy")
    assert order == graph.order(reversed(list(graph.recipes)))


def test_select_names_pull_in_dependencies_and_always(graph: RecipeGraph) -> None:
    sel = graph.select(["zpy"])
    assert sel.requested == {"zpy", "micropip"}
    assert sel.closure == {"zpy", "libz", "six", "micropip", "packaging"}
    assert sel.pulled_in == {"libz", "six", "packaging"}
    assert sel.order == ("libz", "packaging", "micropip", "six", "zpy")


def test_select_tags_star_and_exclusions(graph: RecipeGraph) -> None:
    assert graph.select(["tag:science", "!micropip"]).closure == {"numpy", "scipy"}
    everything = graph.select(["*"])
    assert "old" not in everything.closure and "needs-old" not in everything.closure
    assert everything.skipped == {"needs-old"}


def test_star_skips_disabled_but_fails_when_needed(graph: RecipeGraph) -> None:
    with pytest.raises(GraphError, match=r"'old' is disabled .*'needs-old' needs it"):
        graph.select(["needs-old"])
    with pytest.raises(GraphError, match="'old' is disabled"):
        graph.select(["old"])


def test_excluded_dependency_still_comes_back(graph: RecipeGraph) -> None:
    sel = graph.select(["scipy,!numpy", "!micropip"])
    assert sel.requested == {"scipy"} and "numpy" in sel.closure


def test_comma_words_and_canonical_names(graph: RecipeGraph) -> None:
    assert graph.select(["SIX,!micropip"]).closure == {"six"}


@pytest.mark.parametrize(("words", "message"), [
    (["nmupy"], "no recipe named 'nmupy'; did you mean 'numpy'?"),
    (["tag:nope"], "no recipe has tag 'nope' (known tags: always, library, science)"),
    (["!micropip"], "the selection matches no recipes"),
    (["!*"], "'!*' excludes everything"),
    ([""], "empty selection"),
    (["tag:"], "empty tag in 'tag:'"),
])
def test_selection_errors(graph: RecipeGraph, words: list[str], message: str) -> None:
    with pytest.raises(GraphError) as info:
        graph.select(words)
    assert info.value.message == message


def test_parse_selection() -> None:
    assert parse_selection(["a,!b", "tag:x", "!tag:y", "*"]) == [
        (False, "name", "a"), (True, "name", "b"), (False, "tag", "x"), (True, "tag", "y"),
        (False, "all", "*"),
    ]


def test_cycle_message(recipe_dir: Path, write_recipe: WriteRecipe) -> None:
    with pytest.raises(GraphError) as info:
        _graph(recipe_dir, write_recipe, {
            "a": {"run": ["b"]}, "b": {"host": ["c"]}, "c": {"run": ["a"]}, "d": {"run": ["a"]},
        })
    assert str(info.value) == (
        "dependency cycle: a -> b -> c -> a\n"
        "  fix: remove one of these requirements to break the cycle"
    )


def test_unknown_dependency_message(recipe_dir: Path, write_recipe: WriteRecipe) -> None:
    with pytest.raises(GraphError) as info:
        _graph(recipe_dir, write_recipe, {"app": {"run": ["nunpy", "ghost"]}, "numpy": {}})
    meta = recipe_dir / "app" / "meta.yaml"
    assert str(info.value) == (
        f"{meta}: requirements/run: 'nunpy' is not a known recipe; did you mean 'numpy'?\n"
        f"{meta}: requirements/run: 'ghost' is not a known recipe\n"
        "  fix: add a recipe folder with that name (pyodist skeleton pypi NAME writes one), "
        "or remove the requirement"
    )


@pytest.fixture
def variant_graph(recipe_dir: Path, write_recipe: WriteRecipe) -> RecipeGraph:
    return _graph(recipe_dir, write_recipe, {
        "blas": {"tags": ["library"]},
        "numpy": {"host": ["blas"], "tags": ["science"]},
        "numpy-noblas": {"variant_of": "numpy", "tags": ["science"]},
        "bottle": {"host": ["numpy"], "run": ["numpy"], "tags": ["science"]},
        "six": {},
    })


def test_star_and_tags_leave_variants_out(variant_graph: RecipeGraph) -> None:
    assert variant_graph.variant_of == {"numpy-noblas": "numpy"}
    assert "numpy-noblas" not in variant_graph.select(["*"]).closure
    assert variant_graph.select(["tag:science"]).closure == {"blas", "numpy", "bottle"}
    assert variant_graph.select(["bottle"]).variants == {}


def test_a_named_variant_stands_in_for_its_base(variant_graph: RecipeGraph) -> None:
    assert variant_graph.select(["*", "numpy-noblas"]).closure == {
        "blas", "numpy-noblas", "bottle", "six"}
    sel = variant_graph.select(["bottle", "numpy-noblas"])
    assert sel.variants == {"numpy": "numpy-noblas"}
    # the base and what only it needed are gone; its dependents use the variant
    assert sel.closure == {"numpy-noblas", "bottle"}
    assert sel.order.index("numpy-noblas") < sel.order.index("bottle")
    chosen = variant_graph.choosing(sel.variants)
    assert chosen.deps["bottle"] == {"numpy-noblas"}
    assert chosen.resolve_requirement("NumPy") == "numpy-noblas"
    assert variant_graph.resolve_requirement("numpy") == "numpy"
    # naming the base as well changes nothing: the variant answers for it
    assert variant_graph.select(["numpy", "numpy-noblas"]).closure == {"numpy-noblas"}


def test_variant_errors(recipe_dir: Path, write_recipe: WriteRecipe) -> None:
    with pytest.raises(GraphError, match="'nothing' is not a known recipe"):
        _graph(recipe_dir, write_recipe, {"a": {"variant_of": "nothing"}})
    for folder in recipe_dir.iterdir():
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    with pytest.raises(GraphError, match="both variants of 'b'"):
        _graph(recipe_dir, write_recipe, {"b": {}, "b1": {"variant_of": "b"},
                                          "b2": {"variant_of": "b"}}).select(["b1", "b2"])


# -- a recipe that does not load blocks only the selections that reach it --------------------

def _tree_with_a_broken_recipe(write_recipe: WriteRecipe, recipe_dir: Path) -> LoadResult:
    write_recipe("certifi", simple_recipe("certifi"))
    write_recipe("numpy", simple_recipe("numpy", tags=["science"]))
    write_recipe("numpy-tests", "package: {name: numpy-tests, version: '1'}\n"
                 "source: {path: ../../elsewhere}\n")
    write_recipe("uses-tests", simple_recipe("uses-tests", run=["numpy-tests"], tags=["t"]))
    return load_recipe_dirs([recipe_dir])


@pytest.mark.parametrize("selection", [["certifi"], ["numpy", "certifi"], ["tag:science"]])
def test_a_broken_recipe_the_selection_does_not_reach_blocks_nothing(
        write_recipe: WriteRecipe, recipe_dir: Path, selection: list[str]) -> None:
    loaded = _tree_with_a_broken_recipe(write_recipe, recipe_dir)
    usable = usable_recipes(loaded.recipes, loaded.errors, selection)
    assert set(usable) == {"certifi", "numpy"}
    assert RecipeGraph(usable).select(selection).order


@pytest.mark.parametrize("selection", [["numpy-tests"], ["uses-tests"], ["tag:t"], ["*"],
                                       ["*", "!numpy-tests"]])
def test_a_selection_that_reaches_a_broken_recipe_gets_its_error(
        write_recipe: WriteRecipe, recipe_dir: Path, selection: list[str]) -> None:
    loaded = _tree_with_a_broken_recipe(write_recipe, recipe_dir)
    with pytest.raises(RecipeError) as err:
        usable_recipes(loaded.recipes, loaded.errors, selection)
    [problem] = err.value.problems
    assert problem.file == recipe_dir / "numpy-tests" / "meta.yaml"
    assert problem.key == "source/path" and "leads outside the recipes folder" in problem.message


def test_a_missing_recipe_directory_is_always_an_error(recipe_dir: Path) -> None:
    loaded = load_recipe_dirs([recipe_dir / "nowhere"])
    with pytest.raises(RecipeError, match="recipe directory not found"):
        usable_recipes(loaded.recipes, loaded.errors, ["certifi"])


# -- a recipe that requires an unknown one blocks only the selections that reach it ----------

def _tree_with_a_dangling_requirement(write_recipe: WriteRecipe, recipe_dir: Path) -> LoadResult:
    write_recipe("certifi", simple_recipe("certifi"))
    write_recipe("numpy", simple_recipe("numpy", tags=["science"]))
    write_recipe("app", simple_recipe("app", run=["ghost"]))
    write_recipe("uses-app", simple_recipe("uses-app", run=["app"], tags=["t"]))
    return load_recipe_dirs([recipe_dir])


@pytest.mark.parametrize("selection", [["certifi"], ["numpy", "certifi"], ["tag:science"]])
def test_an_unknown_requirement_the_selection_does_not_reach_blocks_nothing(
        write_recipe: WriteRecipe, recipe_dir: Path, selection: list[str]) -> None:
    loaded = _tree_with_a_dangling_requirement(write_recipe, recipe_dir)
    usable = usable_recipes(loaded.recipes, loaded.errors, selection)
    assert set(usable) == {"certifi", "numpy"}
    assert RecipeGraph(usable).select(selection).order


@pytest.mark.parametrize("selection", [["app"], ["uses-app"], ["tag:t"], ["*"]])
def test_a_selection_that_reaches_an_unknown_requirement_gets_its_error(
        write_recipe: WriteRecipe, recipe_dir: Path, selection: list[str]) -> None:
    loaded = _tree_with_a_dangling_requirement(write_recipe, recipe_dir)
    with pytest.raises(GraphError) as err:
        usable_recipes(loaded.recipes, loaded.errors, selection)
    assert str(err.value).startswith(
        f"{recipe_dir / 'app' / 'meta.yaml'}: requirements/run: 'ghost' is not a known recipe")


def test_a_tag_on_the_recipe_with_the_unknown_requirement_reaches_it(
        write_recipe: WriteRecipe, recipe_dir: Path) -> None:
    # the recipe loaded, so its own tags count (not only those of recipes that need it):
    # tag:science must not quietly build the science recipes without it
    write_recipe("numpy", simple_recipe("numpy", tags=["science"]))
    write_recipe("sci", simple_recipe("sci", run=["ghost"], tags=["science"]))
    loaded = load_recipe_dirs([recipe_dir])
    with pytest.raises(GraphError, match="'ghost' is not a known recipe"):
        usable_recipes(loaded.recipes, loaded.errors, ["tag:science"])
    tree = load_tree([recipe_dir], ["tag:science"], keep_going=True)
    assert set(tree.unusable) == {"sci"} and set(tree.graph.recipes) == {"numpy"}


# -- keep-going: what a selection reaches that cannot be used is left out and reported -------

@pytest.mark.parametrize(("selection", "expected"), [
    (["*"], ({"app"}, {"uses-app"}, ["*"], 4)),
    (["uses-app", "certifi"], (set(), {"uses-app"}, ["certifi"], 4)),
    (["tag:t"], (set(), {"uses-app"}, ["tag:t"], 4)),
    (["certifi"], (set(), set(), ["certifi"], 0)),
])
def test_keep_going_leaves_out_an_unknown_requirement_and_what_needs_it(
        write_recipe: WriteRecipe, recipe_dir: Path, selection: list[str],
        expected: tuple[set[str], set[str], list[str], int]) -> None:
    unusable, needing, rest, code = expected
    _tree_with_a_dangling_requirement(write_recipe, recipe_dir)
    tree = load_tree([recipe_dir], selection, keep_going=True)
    assert set(tree.unusable) == unusable and set(tree.needs_unusable) == needing
    assert list(tree.selection) == rest and tree.exit_code == code
    assert "app" not in tree.graph.recipes and "uses-app" not in tree.graph.recipes
    if "app" in unusable:
        assert "'ghost' is not a known recipe" in tree.unusable["app"]
    if rest != ["tag:t"]:
        assert "certifi" in tree.graph.select(rest).order


def test_keep_going_reports_a_recipe_that_does_not_load_as_a_recipe_error(
        write_recipe: WriteRecipe, recipe_dir: Path) -> None:
    _tree_with_a_broken_recipe(write_recipe, recipe_dir)
    tree = load_tree([recipe_dir], ["*"], keep_going=True)
    assert set(tree.unusable) == {"numpy-tests"}
    assert dict(tree.needs_unusable) == {"uses-tests": ("numpy-tests",)}
    assert tree.exit_code == 3 and set(tree.graph.recipes) == {"certifi", "numpy"}


def test_keep_going_still_stops_at_a_missing_recipe_directory(recipe_dir: Path) -> None:
    with pytest.raises(RecipeError, match="recipe directory not found"):
        load_tree([recipe_dir / "nowhere"], ["*"], keep_going=True)


def test_check_tree_counts_load_and_graph_problems(write_recipe: WriteRecipe,
                                                  recipe_dir: Path) -> None:
    _tree_with_a_dangling_requirement(write_recipe, recipe_dir)
    check = check_tree([recipe_dir])
    assert check.problem_count == 1 and check.exit_code == 4
    _tree_with_a_broken_recipe(write_recipe, recipe_dir)
    check = check_tree([recipe_dir])
    assert check.exit_code == 3 and len(check.problems) == 1
