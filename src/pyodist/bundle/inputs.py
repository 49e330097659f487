"""What a bundle is assembled from, and what assembling it returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyodist.project import Profile, Project
from pyodist.recipe.spec import Recipe
from pyodist.runtime.pyodide import RuntimeFacts

__all__ = ["BundleInputs", "BundleResult", "PackageInput"]


@dataclass(frozen=True)
class PackageInput:
    recipe: Recipe
    key: str  # artifact key
    files: tuple[Path, ...]  # artifact files (wheels, -tests.zip, library zips/tars)
    patches: Mapping[str, str]  # patch file -> sha256
    # WebAssembly features its code needs (its own flags and its libraries'), e.g. simd128
    features: tuple[str, ...] = ()
    # the address the source archive was downloaded from (a mirror's, for an index file),
    # when it differs from the recipe's source/url
    fetched_from: str | None = None
    # a published wheel taken from the package index (pyodist.lock), not built here
    from_index: bool = False


@dataclass(frozen=True)
class BundleInputs:
    project: Project
    profile: Profile
    runtime: RuntimeFacts
    toolchain: Mapping[str, str]  # image labels worth recording
    packages: Sequence[PackageInput]  # in build order
    epoch: int


@dataclass(frozen=True)
class BundleResult:
    folder: Path
    tarball: Path
    total_bytes: int
    files: int
    # the build run's report as JSON (counts, packages, artifact store), when it built
    build: Mapping[str, Any] | None = None
