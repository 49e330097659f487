"""``pyodist skeleton pypi NAME``: write or bump recipes from the configured package index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pyodist.bundle.lock import runtime_environment
from pyodist.cli.render import emit_json
from pyodist.errors import PyodistError, UsageError
from pyodist.options import Options
from pyodist.recipe import load_recipe_dirs
from pyodist.runtime.pyodide import runtime_facts
from pyodist.skeleton import Outcome, Skeleton, SkeletonRequest, parse_request
from pyodist.sources import PackageIndex, configured_index
from pyodist.sources.fetch import make_fetcher
from pyodist.sources.resolve import TargetPlatform

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    skeleton = sub.add_parser(
        "skeleton", help="write recipes from a package index",
        description="Write meta.yaml recipes from published packages.")
    ssub = skeleton.add_subparsers(dest="skeleton_command", required=True, metavar="SOURCE")
    pypi = ssub.add_parser(
        "pypi", help="write or update recipes for projects on the configured package index",
        description="Write recipes/<name>/meta.yaml for each NAME[==VERSION] from the index pip "
                    "is configured with (or --index-url): the release's sdist (or pure "
                    "wheel) is downloaded once into the source cache and inspected for import "
                    "names, run requirements (markers evaluated for the runtime), native code "
                    "and build needs. Nothing in the package is executed.",
        epilog="Examples: pyodist skeleton pypi toolz | pyodist skeleton pypi "
               "msgpack==1.1.2 --with-deps | pyodist skeleton pypi six --update",
    )
    pypi.add_argument("names", nargs="+", metavar="NAME[==VERSION]",
                      help="project name, optionally with a version or range")
    pypi.add_argument("--recipe-dir", dest="skeleton_dir", type=Path, metavar="DIR",
                      help="write recipes here (default: the last configured recipe folder)")
    mode = pypi.add_mutually_exclusive_group()
    mode.add_argument("--update", action="store_true",
                      help="move an existing recipe to the newest (or given) release: only "
                           "version, url and sha256 change; comments, patches and flags stay")
    mode.add_argument("--force", action="store_true",
                      help="write the recipe again from scratch even if it exists")
    pypi.add_argument("--source", choices=("sdist", "wheel", "pyodide-wheel"),
                      help="build from the sdist (default for new recipes), ship the pure "
                           "py3-none-any wheel, or ship the project's published Pyodide wheel "
                           "(PEP 783: cp314-cp314-pyemscripten_<abi>_wasm32)")
    pypi.add_argument("--url-style", choices=("pypi", "full"), default="pypi",
                      help="'pypi:NAME/FILE' resolved through the configured index (default), "
                           "or the file's full URL")
    pypi.add_argument("--with-deps", action="store_true",
                      help="also write recipes for run requirements that have none")
    pypi.add_argument("--json", action="store_true", help="print a JSON report")
    pypi.set_defaults(handler=_pypi)


def _runtime(options: Options) -> tuple[dict[str, str], str]:
    """The runtime's marker environment and its wheel platform tag."""
    runtime = runtime_facts(options.runtime, options.cache_dir, offline=options.offline)
    return (runtime_environment(runtime.info),
            TargetPlatform(runtime.python, runtime.abi_version).platform_tag)


def _pypi(args: argparse.Namespace, options: Options) -> int:
    if options.offline:
        raise UsageError("pyodist skeleton reads the package index; it cannot run --offline",
                         hint="drop --offline (or PYODIST_OFFLINE)")
    for name in args.names:  # every name is checked before anything is downloaded
        parse_request(name)
    target: Path = args.skeleton_dir or options.recipe_dirs[-1]
    known = load_recipe_dirs([d for d in (*options.recipe_dirs, target) if d.is_dir()])
    environment, platform_tag = _runtime(options)
    skeleton = Skeleton(PackageIndex(configured_index(options.index_urls)),
                        make_fetcher(options), environment, existing=known.recipes,
                        platform_tag=platform_tag)
    outcomes: list[Outcome] = []
    failures: dict[str, PyodistError] = {}
    for name in args.names:
        request = SkeletonRequest(name, target, update=args.update, force=args.force,
                                  source=args.source, url_style=args.url_style,
                                  with_deps=args.with_deps)
        try:
            done, failed = skeleton.run(request)
        except PyodistError as exc:
            if len(args.names) == 1:
                raise
            failures[name] = exc
            continue
        outcomes += done
        failures.update(failed)
        skeleton.existing.update(o.name for o in done)
    if args.json:
        emit_json({
            "recipe_dir": str(target),
            "recipes": [{"name": o.name, "version": o.version, "path": str(o.path),
                         "action": o.action, "file": o.filename, "native": dict(o.native),
                         "warnings": list(o.warnings), "notes": list(o.notes)}
                        for o in outcomes],
            "failed": {n: str(e) for n, e in sorted(failures.items())},
        })
    else:
        for o in outcomes:
            _print(o)
        for name, error in sorted(failures.items()):
            print(f"error: {name}: {error}", file=sys.stderr)
        if any(o.action in ("created", "replaced", "updated") for o in outcomes):
            names = " ".join(o.name for o in outcomes if o.action != "unchanged")
            print(f"next: pyodist build {names}  (then pyodist bundle / pyodist test)")
    if failures:
        return max(e.exit_code for e in failures.values())
    return 0


def _print(o: Outcome) -> None:
    native = ", ".join(o.native) if o.native else (
        "published Pyodide wheel" if o.filename.endswith(".whl")
        and not o.filename.endswith("-none-any.whl") else "pure Python")
    print(f"{o.action} {o.path} ({o.name} {o.version}, {o.filename}, {native})")
    for note in o.notes:
        print(f"  note: {note}")
    for warning in o.warnings:
        print(f"  warning: {warning}", file=sys.stderr)
