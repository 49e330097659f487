"""``pyodist fetch``: download every selected source into the cache, for offline builds."""

from __future__ import annotations

import argparse

from pyodist.cli.args import add_jobs
from pyodist.cli.progress import event_sink, human_size
from pyodist.cli.render import emit_json, table
from pyodist.fetching import FetchRun, fetch_selection
from pyodist.options import Options
from pyodist.sources.fetch import FetchResult
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
    add_jobs(fetch, what="downloads")
    fetch.add_argument("--runtime", action="store_true",
                       help="also fetch the Pyodide runtime core (the build's import checks and "
                            "bundles need it) into the cache")
    fetch.add_argument("--backends", action="store_true",
                       help="also prepare each package's source (patches applied) and "
                            "download its build backend's wheels, as its build would")
    fetch.add_argument("--json", action="store_true", help="print a JSON report")
    fetch.set_defaults(handler=_fetch)


def _fetch(args: argparse.Namespace, options: Options) -> int:
    with event_sink(plain=options.plain, quiet=args.json) as sink:
        run = fetch_selection(options, tuple(args.selection), runtime=args.runtime,
                              backends=args.backends, on_event=sink)
    if args.json:
        emit_json(_json(run))
    else:
        _print(run)
    return run.exit_code


def _json(run: FetchRun) -> dict[str, object]:
    done, extra = run.sources.done, run.sources.extra

    def entry(r: FetchResult) -> dict[str, object]:
        return {"filename": r.filename, "sha256": r.sha256, "cached": r.cached,
                "origin": r.origin}

    failed = {**{n: str(e) for n, e in run.sources.failed.items()}, **run.tree.unusable}
    return {
        "cache": str(run.cache),
        **({"runtime": str(run.runtime.folder)} if run.runtime else {}),
        "fetched": {
            n: None if r is None else
            {**entry(r), **({"extra": [entry(x) for x in extra[n]]} if extra.get(n) else {})}
            for n, r in sorted(done.items()) if n in extra
        },
        "failed": {n: redact_url(e) for n, e in sorted(failed.items())},
        "needs_failed": {n: list(roots) for n, roots in sorted(run.tree.needs_unusable.items())},
        **({"backends": {n: sorted(w) for n, w in sorted(run.backends.items())},
            "backends_failed": {n: redact_url(str(e))
                                for n, e in sorted(run.backends_failed.items())}}
           if run.backends is not None else {}),
    }


def _print(run: FetchRun) -> None:
    done, extra, failed = run.sources.done, run.sources.extra, run.sources.failed
    rows = []
    for name in run.order:
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
    rows += [(name, "-", "RECIPE ERROR") for name in sorted(run.tree.unusable)]
    rows += [(name, "-", f"needs {', '.join(roots)}")
             for name, roots in sorted(run.tree.needs_unusable.items())]
    if run.runtime:
        rows.append((f"(runtime Pyodide {run.runtime.spec.version})", run.runtime.folder.name,
                     "ready"))
    if run.backends is not None:
        wheels = {w for chosen in run.backends.values() for w in chosen}
        rows.append(("(build backends)", f"{len(wheels)} wheel(s)",
                     f"ready for {len(run.backends)} package(s)"
                     + (f", {len(run.backends_failed)} FAILED" if run.backends_failed else "")))
    print(table(("RECIPE", "FILE", "STATUS"), rows))
    for name, exc in sorted(failed.items()):
        print(f"\n{name}: {redact_url(str(exc))}")
    for error in run.tree.unusable.values():
        print(f"\n{error}")
    for name, problem in sorted(run.backends_failed.items()):
        print(f"\n{name} (build backend): {redact_url(str(problem))}")
    left_out = len(run.tree.unusable) + len(run.tree.needs_unusable)
    print(f"\n{len(done)} source(s) ready in {run.cache}"
          + (f", {len(failed)} failed" if failed else "")
          + (f", {left_out} recipe(s) with errors or needing one" if left_out else ""))
