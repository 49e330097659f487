"""``pyodist fetch``: download every selected source into the cache, for offline builds."""

from __future__ import annotations

import argparse

from pyodist.cli.progress import event_sink, human_size
from pyodist.cli.render import emit_json, table
from pyodist.errors import RecipeError, SourceError
from pyodist.graph import RecipeGraph, without_broken
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
                    "(or PYODIST_DEBIAN_MIRROR). With --runtime also the Pyodide core. "
                    "Build-backend wheels are resolved by the first online build and reused "
                    "offline.",
    )
    fetch.add_argument("selection", nargs="*", default=["*"], metavar="SELECTION",
                       help="'*' (default), NAME, tag:TAG, !NAME")
    fetch.add_argument("-j", "--jobs", type=int, default=4, metavar="N",
                       help="parallel downloads (default 4)")
    fetch.add_argument("--runtime", action="store_true",
                       help="also fetch the Pyodide runtime core (the build's import checks and "
                            "bundles need it) into the cache")
    fetch.add_argument("--json", action="store_true", help="print a JSON report")
    fetch.set_defaults(handler=_fetch)


def _fetch(args: argparse.Namespace, options: Options) -> int:
    result = load_recipe_dirs(options.recipe_dirs)
    broken = {meta.parent.name: err for meta, err in result.errors.items()}
    if broken and "*" not in args.selection:
        result.raise_errors()
    # '*' over a folder with bad recipes: fetch what the others need, report the bad ones
    usable, _needs = without_broken(result.recipes, broken)
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
        print(table(("RECIPE", "FILE", "STATUS"), rows))
        for name, exc in sorted(failed.items()):
            print(f"\n{name}: {redact_url(str(exc))}")
        for error in broken.values():
            print(f"\n{error}")
        print(f"\n{len(done)} source(s) ready in {fetcher.cache.root}"
              + (f", {len(failed)} failed" if failed else "")
              + (f", {len(broken)} recipe(s) with errors" if broken else ""))
    if broken:
        return RecipeError.exit_code
    return SourceError.exit_code if failed else 0
