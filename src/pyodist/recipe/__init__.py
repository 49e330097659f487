"""Pyodide ``meta.yaml`` recipes: the frozen model and its loader."""

from pyodist.recipe.loader import LoadResult, load_recipe, load_recipe_dirs, parse_recipe
from pyodist.recipe.spec import (
    AboutSpec,
    BuildSpec,
    PackageSpec,
    Recipe,
    RequirementsSpec,
    SourceSpec,
    TestSpec,
    canonical_name,
)

__all__ = [
    "AboutSpec",
    "BuildSpec",
    "LoadResult",
    "PackageSpec",
    "Recipe",
    "RequirementsSpec",
    "SourceSpec",
    "TestSpec",
    "canonical_name",
    "load_recipe",
    "load_recipe_dirs",
    "parse_recipe",
]
