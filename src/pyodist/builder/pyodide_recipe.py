"""The recipe pyodide-build is given: written from the frozen :class:`Recipe`, not re-read.

pyodide-build's ``build-recipes-no-deps`` reads a ``meta.yaml`` of its own format. pyodist
hands it one whose values are exactly what the loader validated: every key the recipe set
(defaults left out, so pyodide-build applies its own), its ``source`` pointing at the tree
pyodist fetched, verified and patched, and none of pyodist's own extensions (which
pyodide-build would reject).
"""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

from pyodist.recipe.schema import SCHEMA
from pyodist.recipe.spec import Recipe

__all__ = ["pyodide_build_recipe"]

# pyodist extensions: the loader knows them, pyodide-build does not
_PYODIST_ONLY = {("package", "variant-of"), ("source", "extra-archives")}


def _section(spec: Any, section: str) -> dict[str, Any]:
    """The keys of one section whose value differs from the spec's default, as YAML values."""
    # PackageSpec has required fields and no default instance; its optional ones are empty
    defaults = None if section == "package" else type(spec)()
    data: dict[str, Any] = {}
    for key, (attr, _convert) in SCHEMA[section].items():
        if (section, key) in _PYODIST_ONLY:
            continue
        value = getattr(spec, attr)
        if defaults is not None and value == getattr(defaults, attr):
            continue
        if section == "package" and value in (None, (), False):
            continue
        data[key] = [list(v) for v in value] if key == "extras" else \
            list(value) if isinstance(value, tuple) else value
    return data


def _library_flags(recipe: Recipe, build: dict[str, Any]) -> dict[str, Any]:
    """A library script's flags moved into the variables its compiler calls read.

    pyodide-build applies ``build/cflags`` only to packages; a library script compiles with
    ``$SIDE_MODULE_CFLAGS`` etc., so the recipe's flags go there, last (they win).
    """
    spec = recipe.build
    if not (spec.is_library and spec.script and (spec.cflags or spec.cxxflags or spec.ldflags)):
        return build
    prelude = "".join(
        f'export {var}="${{{var}:-}} "{shlex.quote(flags)}\n'
        for var, flags in (("SIDE_MODULE_CFLAGS", spec.cflags),
                           ("SIDE_MODULE_CXXFLAGS", spec.cxxflags),
                           ("SIDE_MODULE_LDFLAGS", spec.ldflags)) if flags)
    moved = {k: v for k, v in build.items() if k not in ("cflags", "cxxflags", "ldflags")}
    moved["script"] = prelude + spec.script
    return moved


def pyodide_build_recipe(recipe: Recipe, source_path: str) -> dict[str, Any]:
    """The ``meta.yaml`` mapping for pyodide-build, its source the prepared tree at
    ``source_path`` (as the toolchain sees it)."""
    sections = {name: getattr(recipe, name) for name in SCHEMA if name != "source"}
    data: dict[str, Any] = {}
    for name, spec in sections.items():
        if dataclasses.is_dataclass(spec):
            values = _section(spec, name)
            if name == "build":
                values = _library_flags(recipe, values)
            if values or name == "package":
                data[name] = values
    data["source"] = {"path": source_path}
    order = ("package", "source", "build", "requirements", "test", "about")
    return {name: data[name] for name in order if name in data}
