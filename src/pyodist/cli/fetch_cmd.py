"""``pyodist fetch``: download every selected source into the cache, for offline builds."""

from __future__ import annotations

import argparse

from pyodist.builder.backends import backend_wheelhouse, prefetch_backends
from pyodist.cli.args import add_jobs
from pyodist.cli.progress import event_sink, human_size
from pyodist.cli.render import emit_json, table
from pyodist.errors import PyodistError, RecipeError, SourceError
from pyodist.graph import RecipeGraph, usable_recipes, without_broken
from pyodist.options import Options
from pyodist.recipe import load_recipe_dirs
from pyodist.runtime.pyodide import runtime_facts
from pyodist.sources.fetch import FetchResult, fetch_sources, make_fetcher
from pyodist.urls import redact_url

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fetch = sub.add_parser(
        "fetch", help="download and verify sources into the cache",
        description="Download the sources (and extra archives) of SELECTION and its "
                    "dependencies into the sha256-addressed source cache, so that builds can "
                    "run offline. 'pypi:' sources are resolved through the index pip is "
                    "configured with, 'debian:' sources through the mirror in apt's sources "
                    "(or PYODIST_DEBIAN_MIRROR). With --runtime also the Pyodide core, with "
                    "--backends the build backends' wheels: after 'pyodist fetch --runtime "
                    "--backends', a --offline build needs no network.",
    )
    fetch.add_argument("selection", nargs="*", default=["*"], metavar="SELECTION",
                       help="'*' (default), NAME, tag:TAG, !NAME")
    add_jobs(fetch, default=4, what="downloads")
    fetch.add_argument("--runtime", action="store_true",
                       help="also fetch the Pyodide runtime core (the build's import checks and "
                            "bundles need it) into the cache")
    fetch.add_argument("--backends", action="store_true",
                       help="also prepare each package's source (patches applied) and "
                            "download its build backend's wheels, as its build would")
    fetch.add_argument("--json", action="store_true", help="print a JSON report")
    fetch.set_defaults(handler=_fetch)


def _fetch(args: argparse.Namespace, options: Options) -> int:
    result = load_recipe_dirs(options.recipe_dirs)
    broken = {meta.parent.name: err for meta, err in result.errors.items()}
    if "*" in args.selection:
        # '*' over a folder with bad recipes: fetch what the others need, report the bad ones
        usable, _needs = without_broken(result.recipes, broken)
    else:  # a bad recipe the selection does not reach blocks nothing
        usable = usable_recipes(result.recipes, result.errors, args.selection)
        broken = {}
    graph = RecipeGraph(usable)
    selection = graph.select(args.selection)
    recipes = [graph.recipes[n] for n in selection.order]
    with event_sink(plain=options.plain, quiet=args.json) as sink:
        fetcher = make_fetcher(options, sink)
        report = fetch_sources(fetcher, recipes, jobs=args.jobs)
    # after the sources: a runtime error (npm unreachable, wrong integrity) is raised with its
    # fix, and the sources fetched so far stay in the cache
    runtime = (runtime_facts(options.runtime, options.cache_dir, offline=options.offline)
               if args.runtime else None)
    done, extra, failed = report.done, report.extra, report.failed
    backends: dict[str, dict[str, str]] = {}
    backend_failed: dict[str, PyodistError] = {}
    if args.backends:
        chosen = graph.choosing(selection.variants)
        backends, backend_failed = prefetch_backends(
            fetcher, backend_wheelhouse(options), chosen,
            [n for n in selection.order if n not in failed], tmp=options.cache_dir / "tmp")
    if args.json:
        def entry(r: FetchResult) -> dict[str, object]:
            return {"filename": r.filename, "sha256": r.sha256, "cached": r.cached,
                    "origin": r.origin}

        emit_json({
            "cache": str(fetcher.cache.root),
            **({"runtime": str(runtime.folder)} if runtime else {}),
            "fetched": {
                n: None if r is None else
                {**entry(r), **({"extra": [entry(x) for x in extra[n]]} if extra.get(n) else {})}
                for n, r in sorted(done.items()) if n in extra
            },
            "failed": {n: redact_url(str(e)) for n, e in sorted({**failed, **broken}.items())},
            **({"backends": {n: sorted(w) for n, w in sorted(backends.items())},
                "backends_failed": {n: redact_url(str(e))
                                    for n, e in sorted(backend_failed.items())}}
               if args.backends else {}),
        })
    else:
        rows = []
        for name in selection.order:
            r = done.get(name)
            if name in failed:
                rows.append((name, "-", "FAILED"))
            elif r is None:
                rows.append((name, "-", "local path (nothing to fetch)"))
            else:
                for i, got in enumerate([r, *extra.get(name, [])]):
                    rows.append((name if i == 0 else "  +", got.filename,
                                 f"{'cached' if got.cached else 'downloaded'} "
                                 f"({human_size(got.path.stat().st_size)})"))
        rows += [(name, "-", "RECIPE ERROR") for name in sorted(broken)]
        if runtime:
            rows.append((f"(runtime Pyodide {runtime.spec.version})", runtime.folder.name,
                         "ready"))
        if args.backends:
            wheels = {w for chosen_wheels in backends.values() for w in chosen_wheels}
            rows.append(("(build backends)", f"{len(wheels)} wheel(s)",
                         f"ready for {len(backends)} package(s)"
                         + (f", {len(backend_failed)} FAILED" if backend_failed else "")))
        print(table(("RECIPE", "FILE", "STATUS"), rows))
        for name, exc in sorted(failed.items()):
            print(f"\n{name}: {redact_url(str(exc))}")
        for error in broken.values():
            print(f"\n{error}")
        for name, problem in sorted(backend_failed.items()):
            print(f"\n{name} (build backend): {redact_url(str(problem))}")
        print(f"\n{len(done)} source(s) ready in {fetcher.cache.root}"
              + (f", {len(failed)} failed" if failed else "")
              + (f", {len(broken)} recipe(s) with errors" if broken else ""))
    if broken:
        return RecipeError.exit_code
    if failed:
        return SourceError.exit_code
    # a patch that does not apply is a source error, pip finding no backend wheel a build one
    return next(iter(backend_failed.values())).exit_code if backend_failed else 0
