"""Plan a build: which packages, in what order, under which cache keys, and which are cached.

Pure: it is handed the graph, the selection, the inputs of each recipe (digests of files
read elsewhere) and a lookup of the artifact cache, and returns a frozen :class:`BuildPlan`.
Tests check plans without running anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pyodist.graph import RecipeGraph, Selection
from pyodist.recipe.spec import Recipe
from pyodist.reproducible import ZIP_EPOCH
from pyodist.store.local import artifact_key

__all__ = ["BuildPlan", "BuildTarget", "BuildTask", "plan_build", "recipe_inputs", "tree_digest"]


@dataclass(frozen=True)
class BuildTarget:
    """What the wheels are built for, and with what (the runtime, its ABI, the toolchain)."""

    pyodide_version: str
    abi: str
    toolchain_id: str  # the toolchain image id (or a host toolchain fingerprint)
    source_date_epoch: int = ZIP_EPOCH  # stamped into every archive the build writes


@dataclass(frozen=True)
class BuildTask:
    name: str
    recipe: Recipe
    key: str
    deps: tuple[str, ...]  # build-time dependencies inside the plan (host + run)
    libraries: tuple[str, ...]  # library recipes whose installed files this build must see
    runtime_deps: tuple[str, ...]  # wheels to load before this one when testing imports
    cached: bool
    # rebuilt even when the cache holds its key (--force); otherwise an entry that another
    # run stored meanwhile is used instead of building again
    forced: bool = False
    # the digests of what the recipe reads beyond its text (recipe_inputs): part of the key
    inputs: Mapping[str, object] = field(default_factory=dict)

    @property
    def patch_digests(self) -> dict[str, str]:
        """Patch file (relative to the recipe folder) -> sha256 of its bytes."""
        patches = self.inputs.get("patches", {})
        return dict(patches) if isinstance(patches, dict) else {}


@dataclass(frozen=True)
class BuildPlan:
    target: BuildTarget
    order: tuple[str, ...]
    tasks: Mapping[str, BuildTask]
    requested: frozenset[str]
    # selected recipes that cannot be planned (keep-going over a folder with bad recipes):
    # the ones that failed to load -> the error, and those needing them -> which they need
    unloadable: Mapping[str, str] = field(default_factory=dict)
    needs_unloadable: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def to_build(self) -> tuple[str, ...]:
        return tuple(n for n in self.order if not self.tasks[n].cached)

    def all_deps(self, name: str) -> list[str]:
        """Every package ``name`` needs at build time, transitively, sorted."""
        seen: set[str] = set()
        todo = list(self.tasks[name].deps)
        while todo:
            dep = todo.pop()
            if dep not in seen:
                seen.add(dep)
                todo.extend(self.tasks[dep].deps)
        return sorted(seen)

    def restricted(self, names: Iterable[str], *, keep_unplanned: bool = True) -> BuildPlan:
        """The plan of ``names`` and what they need, keys unchanged (a shard's part)."""
        wanted = set(names)
        keep = wanted.union(*(self.all_deps(n) for n in wanted))
        return dataclasses.replace(
            self, order=tuple(n for n in self.order if n in keep),
            tasks={n: t for n, t in self.tasks.items() if n in keep},
            requested=frozenset(wanted),
            unloadable=self.unloadable if keep_unplanned else {},
            needs_unloadable=self.needs_unloadable if keep_unplanned else {})

    def mark_cached(self, names: Iterable[str]) -> BuildPlan:
        """The plan with ``names`` found in the cache (pulled from the store meanwhile)."""
        found = set(names)
        return dataclasses.replace(self, tasks={
            n: dataclasses.replace(t, cached=True) if n in found else t
            for n, t in self.tasks.items()})

    def blocked_by(self, failed: Iterable[str]) -> frozenset[str]:
        """Every task that (transitively) needs one of ``failed``."""
        bad = set(failed)
        for name in self.order:
            if any(d in bad for d in self.tasks[name].deps):
                bad.add(name)
        return frozenset(bad - set(failed))


def tree_digest(root: Path) -> str:
    """sha256 over the relative paths and bytes of every file under ``root`` (sorted)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    if path.is_dir():
        return tree_digest(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recipe_inputs(recipe: Recipe) -> dict[str, object]:
    """The files a recipe's output depends on beyond its own text, as digests."""
    src = recipe.source
    inputs: dict[str, object] = {
        "source": src.sha256 if src.downloaded else
        (tree_digest(src.path) if src.path is not None else None),
        "patches": {p: _file_digest(recipe.folder / p) for p in src.patches},
        "extras": {s: _file_digest(recipe.folder / s) for s, _ in src.extras},
    }
    return inputs


def _libraries(graph: RecipeGraph, name: str) -> tuple[str, ...]:
    """Library recipes reachable from ``name`` through host requirements and libraries."""
    found: list[str] = []
    todo = list(graph.recipes[name].requirements.host)
    seen: set[str] = set()
    while todo:
        dep = graph.resolve_requirement(todo.pop(0))
        if dep in seen:
            continue
        seen.add(dep)
        recipe = graph.recipes[dep]
        if recipe.build.is_library:
            found.append(dep)
            todo.extend(recipe.requirements.host)
            todo.extend(recipe.requirements.run)
    return tuple(sorted(found))


def _runtime_deps(graph: RecipeGraph, name: str, closure: frozenset[str]) -> tuple[str, ...]:
    """Packages (not static libraries) to load before ``name``, dependencies first."""
    needed = graph.closure(
        graph.resolve_requirement(d) for d in graph.recipes[name].requirements.run
    ) & closure
    return tuple(n for n in graph.order(needed)
                 if graph.recipes[n].build.type not in ("static_library",))


def plan_build(
    graph: RecipeGraph,
    selection: Selection,
    target: BuildTarget,
    *,
    inputs: Mapping[str, Mapping[str, object]],
    is_cached: Callable[[str], bool],
    force: Iterable[str] = (),
) -> BuildPlan:
    """Key every package of ``selection`` and mark what the cache already holds.

    A package's key includes its dependencies' keys, so a changed recipe rebuilds itself and
    everything downstream of it, and nothing else. ``force`` names packages to rebuild even
    when cached (their dependents then rebuild too, as their inputs are new builds).
    """
    graph = graph.choosing(selection.variants)
    forced = graph.downstream(force) & selection.closure if force else frozenset()
    keys: dict[str, str] = {}
    tasks: dict[str, BuildTask] = {}
    for name in selection.order:
        recipe = graph.recipes[name]
        deps = tuple(sorted(graph.deps[name] & selection.closure))
        keys[name] = artifact_key({
            "recipe": recipe.build_digest(),
            "inputs": inputs[name],
            "target": {"pyodide": target.pyodide_version, "abi": target.abi,
                       "toolchain": target.toolchain_id, "epoch": target.source_date_epoch},
            "deps": {d: keys[d] for d in deps},
        })
        tasks[name] = BuildTask(
            name=name, recipe=recipe, key=keys[name], deps=deps,
            libraries=_libraries(graph, name),
            runtime_deps=_runtime_deps(graph, name, selection.closure),
            cached=name not in forced and is_cached(keys[name]),
            forced=name in forced,
            inputs=inputs[name],
        )
    return BuildPlan(target, selection.order, tasks, selection.requested)
