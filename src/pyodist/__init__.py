"""pyodist: reproducible WebAssembly build toolchain for Pyodide distributions."""

from pyodist.errors import PyodistError
from pyodist.graph import RecipeGraph, Selection
from pyodist.options import Options, resolve_options
from pyodist.recipe import Recipe, load_recipe, load_recipe_dirs

__version__ = "0.1.0"

__all__ = [
    "Options",
    "PyodistError",
    "Recipe",
    "RecipeGraph",
    "Selection",
    "__version__",
    "load_recipe",
    "load_recipe_dirs",
    "resolve_options",
]
