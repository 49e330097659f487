"""WebAssembly features a bundle needs, and the engines a profile promises to run on.

A package needs a feature when its recipe, or a library recipe linked into it, compiles with
the flag that turns it on (``-msimd128``: fixed-width SIMD). A profile lists its target
engines (``targets = ["node>=20", "safari>=16.4"]``); a bundle whose packages need a feature
one of those engines lacks is refused, naming the package, the engine and the ways out.
Engines without such a list are not checked (the manifest still records what is needed).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from pyodist.recipe.spec import Recipe

__all__ = ["ENGINES", "FEATURE_FLAGS", "FEATURE_SUPPORT", "EngineTarget", "check_targets",
           "optimization", "parse_target", "recipe_features"]

# compiler flag -> feature name (as LLVM names it)
FEATURE_FLAGS = {"-msimd128": "simd128"}
# first release of each engine that runs the feature (Chrome numbers cover Edge and Chromium)
FEATURE_SUPPORT: Mapping[str, Mapping[str, str]] = {
    "simd128": {"chrome": "91", "firefox": "89", "safari": "16.4", "node": "16.4"},
}
ENGINES = ("chrome", "firefox", "safari", "node")
_ALIASES = {"chromium": "chrome", "edge": "chrome"}
_TARGET_RE = re.compile(r"^\s*([A-Za-z]+)\s*>=\s*([0-9]+(?:\.[0-9]+)*)\s*$")
# what pyodide-build compiles and links with when a recipe sets no -O flag
DEFAULT_OPTIMIZATION = "-Oz"


@dataclass(frozen=True)
class EngineTarget:
    engine: str
    version: Version

    def __str__(self) -> str:
        return f"{self.engine}>={self.version}"


def parse_target(text: str) -> EngineTarget | None:
    """``"safari>=16.4"`` -> EngineTarget; None when it is not of that form or names no engine."""
    match = _TARGET_RE.match(text) if len(text) <= 100 else None
    if not match:
        return None
    engine = _ALIASES.get(match.group(1).lower(), match.group(1).lower())
    if engine not in ENGINES:
        return None
    try:
        return EngineTarget(engine, Version(match.group(2)))
    except (InvalidVersion, ValueError):  # ValueError: a number of thousands of digits
        return None


def _flags(recipe: Recipe) -> list[str]:
    build = recipe.build
    try:
        return shlex.split(" ".join((build.cflags, build.cxxflags, build.ldflags)))
    except ValueError:  # an unbalanced quote: the build would have failed on it too
        return " ".join((build.cflags, build.cxxflags, build.ldflags)).split()


def recipe_features(recipe: Recipe, libraries: Iterable[Recipe] = ()) -> tuple[str, ...]:
    """Features the package's code needs: from its own flags and its libraries' flags."""
    found = {FEATURE_FLAGS[f] for r in (recipe, *libraries) for f in _flags(r)
             if f in FEATURE_FLAGS}
    return tuple(sorted(found))


def optimization(recipe: Recipe) -> dict[str, str]:
    """The -O level the recipe compiles and links its own code with (the last one wins)."""
    build = recipe.build

    def last(flags: str) -> str:
        levels = [f for f in flags.split() if re.fullmatch(r"-O[0-3sz]|-Og", f)]
        return levels[-1] if levels else DEFAULT_OPTIMIZATION

    return {"compile": last(build.cflags), "link": last(build.ldflags)}


def check_targets(needs: Mapping[str, tuple[str, ...]],
                  targets: Iterable[EngineTarget]) -> list[str]:
    """One line per (package, feature, target) that cannot work; empty when all can."""
    problems = []
    for package, features in sorted(needs.items()):
        for feature in features:
            support = FEATURE_SUPPORT.get(feature, {})
            for target in targets:
                first = support.get(target.engine)
                if first is None or target.version < Version(first):
                    since = f"from {first} on" if first else "in no release"
                    problems.append(
                        f"{package} needs WebAssembly {feature}, which {target} does not "
                        f"promise ({target.engine} has it {since})")
    return problems
