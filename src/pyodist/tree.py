"""The recipe tree a command works on: the recipe folders loaded and the dependency graph
over what a selection may use (a broken recipe it does not reach blocks nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pyodist.graph import RecipeGraph, usable_recipes
from pyodist.recipe import load_recipe_dirs

__all__ = ["load_graph"]


def load_graph(recipe_dirs: Sequence[Path], selection: Sequence[str]) -> RecipeGraph:
    """The graph of the recipes in ``recipe_dirs`` that ``selection`` may draw on; raises
    the RecipeError or GraphError of each broken recipe the selection reaches."""
    loaded = load_recipe_dirs(recipe_dirs)
    return RecipeGraph(usable_recipes(loaded.recipes, loaded.errors, selection))
