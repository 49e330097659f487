"""The recipe tree a command works on: the recipe folders loaded, checked, and the dependency
graph over what a selection may use (a broken recipe it does not reach blocks nothing).

Every command starts here: :func:`load_graph` (strict: a broken recipe the selection reaches
is an error), :func:`load_tree` (with ``keep_going``, the broken recipes and those that need
them are left out and reported instead), :func:`check_tree` (``pyodist recipes check``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyodist.errors import GraphError, Problem, RecipeError
from pyodist.graph import (
    RecipeGraph,
    selection_reaches,
    unknown_requirements,
    usable_recipes,
    without_broken,
)
from pyodist.recipe import LoadResult, canonical_name, load_recipe_dirs

__all__ = ["RecipeTree", "TreeCheck", "check_tree", "load_graph", "load_tree"]


def load_graph(recipe_dirs: Sequence[Path], selection: Sequence[str]) -> RecipeGraph:
    """The graph of the recipes in ``recipe_dirs`` that ``selection`` may draw on; raises
    the RecipeError or GraphError of each broken recipe the selection reaches."""
    return load_tree(recipe_dirs, selection).graph


@dataclass(frozen=True)
class RecipeTree:
    """A selection's graph, and what ``keep_going`` left out of it."""

    graph: RecipeGraph
    # the selection, less the words that name a recipe left out
    selection: tuple[str, ...]
    # recipes the selection reaches that cannot be used: why (the load error, or the
    # requirement that names no recipe)
    unusable: Mapping[str, str] = field(default_factory=dict)
    # recipes the selection reaches that need an unusable one: which
    needs_unusable: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # the unusable recipes that loaded but require a recipe that does not exist
    unknown_requirement: frozenset[str] = frozenset()

    @property
    def exit_code(self) -> int:
        """0 when nothing was left out; else a recipe error, or a graph error when what was
        left out comes only from requirements that name no recipe."""
        roots = {*self.unusable, *(r for rs in self.needs_unusable.values() for r in rs)}
        if not roots:
            return 0
        return GraphError.exit_code if roots <= self.unknown_requirement \
            else RecipeError.exit_code


def load_tree(recipe_dirs: Sequence[Path], selection: Sequence[str], *,
              keep_going: bool = False) -> RecipeTree:
    """The graph for ``selection`` over ``recipe_dirs``.

    Without ``keep_going`` as :func:`load_graph`. With it, a recipe that does not load or
    requires a recipe that does not exist, and every recipe that needs one, is left out of
    the graph; those the selection reaches (named, by a tag, or all for ``*``) are listed,
    so a run can report them beside what it did. A missing recipe folder stays an error.
    """
    loaded = load_recipe_dirs(recipe_dirs)
    words = tuple(selection)
    if not keep_going:
        return RecipeTree(RecipeGraph(usable_recipes(loaded.recipes, loaded.errors, words)),
                          words)
    folders = [p for path, err in loaded.errors.items() if path.name != "meta.yaml"
               for p in err.problems]
    if folders:
        raise RecipeError(folders)
    why = {meta.parent.name: str(err) for meta, err in loaded.errors.items()}
    recipes, needs = without_broken(loaded.recipes, why)
    dangling = unknown_requirements(recipes)
    if dangling:
        why.update({n: "\n".join(lines) for n, lines in dangling.items()})
        recipes, needs = without_broken(
            {n: r for n, r in loaded.recipes.items() if n not in dangling}, why)
    reached = selection_reaches(words, loaded.recipes)
    unusable = {n: e for n, e in why.items() if reached(n)}
    needing = {n: roots for n, roots in needs.items() if reached(n) and n not in why}
    left_out = {canonical_name(n) for n in (*unusable, *needing)}
    rest = tuple(w for w in words if canonical_name(w) not in left_out)
    return RecipeTree(RecipeGraph(recipes), rest, unusable, needing, frozenset(dangling))


@dataclass(frozen=True)
class TreeCheck:
    """``pyodist recipes check``: every recipe file read, and the graph of those that load."""

    dirs: tuple[Path, ...]
    loaded: LoadResult
    # the graph's error over the recipes that loaded (requirements on a failed one are not
    # its fault)
    graph_error: GraphError | None

    @property
    def problems(self) -> list[Problem]:
        return [p for err in self.loaded.errors.values() for p in err.problems]

    @property
    def problem_count(self) -> int:
        return len(self.problems) + (1 if self.graph_error else 0)

    @property
    def exit_code(self) -> int:
        if self.loaded.errors:
            return RecipeError.exit_code
        return GraphError.exit_code if self.graph_error else 0


def check_tree(recipe_dirs: Sequence[Path]) -> TreeCheck:
    """Load every recipe in ``recipe_dirs`` and build the graph of those that load."""
    loaded = load_recipe_dirs(recipe_dirs)
    failed = {p.parent.name for p in loaded.errors}
    usable, _needs = without_broken(loaded.recipes, failed)
    graph_error = None
    try:
        RecipeGraph(usable)
    except GraphError as exc:
        graph_error = exc
    return TreeCheck(tuple(recipe_dirs), loaded, graph_error)
