"""``pyodist fetch`` as a library call: what an offline build of a selection needs, into the
caches (the sources, optionally the Pyodide core and the build backends' wheels).

A source that fails is reported and the others go on. With ``*``, recipes that cannot be used
(they do not load, or require a recipe that does not exist) and those needing them are left
out and reported; a named selection that reaches one is an error, as for a build.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pyodist.builder.backends import backend_wheelhouse, prefetch_backends
from pyodist.errors import PyodistError, SourceError
from pyodist.events import EventSink, ignore
from pyodist.options import Options
from pyodist.runtime.pyodide import RuntimeFacts, runtime_facts
from pyodist.sources.fetch import FetchReport, fetch_sources, make_fetcher
from pyodist.tree import RecipeTree, load_tree

__all__ = ["FetchRun", "fetch_selection"]


@dataclass(frozen=True)
class FetchRun:
    """What :func:`fetch_selection` did."""

    cache: Path
    # the recipe tree (with ``*``: what it left out, and why)
    tree: RecipeTree
    # the selected recipes and their dependencies, in build order
    order: tuple[str, ...]
    sources: FetchReport
    runtime: RuntimeFacts | None = None
    # with backends: per package, the wheels its build backend needs (by file name), and
    # the packages whose backend could not be had
    backends: Mapping[str, Mapping[str, str]] | None = None
    backends_failed: Mapping[str, PyodistError] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """A recipe error over a source error over a backend's error; 0 when all is ready."""
        if self.tree.exit_code:
            return self.tree.exit_code
        if self.sources.failed:
            return SourceError.exit_code
        # a patch that does not apply is a source error, pip finding no backend wheel a
        # build one
        return next(iter(self.backends_failed.values())).exit_code \
            if self.backends_failed else 0


def fetch_selection(options: Options, selection: tuple[str, ...], *, runtime: bool = False,
                    backends: bool = False, on_event: EventSink = ignore) -> FetchRun:
    """Fetch the sources of ``selection`` and its dependencies, ``options.jobs`` at a time,
    then (``runtime``) the Pyodide core and (``backends``) each package's build backend."""
    tree = load_tree(options.recipe_dirs, selection, keep_going="*" in selection)
    chosen = tree.graph.select(list(tree.selection)) if tree.selection else None
    order = tuple(chosen.order) if chosen else ()
    fetcher = make_fetcher(options, on_event)
    report = fetch_sources(fetcher, [tree.graph.recipes[n] for n in order], jobs=options.jobs)
    # after the sources: a runtime error (npm unreachable, wrong integrity) is raised with its
    # fix, and the sources fetched so far stay in the cache
    facts = (runtime_facts(options.runtime, options.cache_dir, offline=options.offline)
             if runtime else None)
    wheels: dict[str, dict[str, str]] | None = None
    failed: dict[str, PyodistError] = {}
    if backends:
        wheels = {}
        if chosen is not None:
            wheels, failed = prefetch_backends(
                fetcher, backend_wheelhouse(options), tree.graph.choosing(chosen.variants),
                [n for n in order if n not in report.failed], tmp=options.cache_dir / "tmp")
    return FetchRun(fetcher.cache.root, tree, order, report, facts, wheels, failed)
