"""pyodist: reproducible WebAssembly build toolchain for Pyodide distributions."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyodist.errors import PyodistError
    from pyodist.graph import RecipeGraph, Selection
    from pyodist.options import Options, resolve_options
    from pyodist.recipe import Recipe, load_recipe, load_recipe_dirs

__version__ = "0.1.0"

# The public names, imported when first used: every command starts by importing this
# package, and the recipe loader and graph it does not run would cost it ~0.1 s.
_EXPORTS = {
    "Options": "pyodist.options",
    "PyodistError": "pyodist.errors",
    "Recipe": "pyodist.recipe",
    "RecipeGraph": "pyodist.graph",
    "Selection": "pyodist.graph",
    "load_recipe": "pyodist.recipe",
    "load_recipe_dirs": "pyodist.recipe",
    "resolve_options": "pyodist.options",
}

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pyodist' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
