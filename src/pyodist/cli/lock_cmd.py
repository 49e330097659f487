"""``pyodist lock``: pin the index wheels of the project's profiles in pyodist.lock."""

from __future__ import annotations

import argparse
from pathlib import Path

from pyodist.builder.session import BuildSession
from pyodist.bundle.index_lock import ProjectLock, check_no_overlap, update_lock
from pyodist.bundle.make import target_platform
from pyodist.cli.render import emit_json, table
from pyodist.errors import UsageError
from pyodist.options import Options
from pyodist.project import PROJECT_FILE, Project, require_resolved
from pyodist.recipe import canonical_name
from pyodist.sources import configured_index
from pyodist.tree import load_graph

__all__ = ["add_parser", "lock_project"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lock = sub.add_parser(
        "lock", help="pin the index wheels of the profiles (pyodist.lock)",
        description="Resolve the index-packages of each profile of pyodist.toml with pip's "
                    "resolver for the runtime's platform (Python of the runtime, "
                    "pyemscripten_<abi>_wasm32; pure and Pyodide wheels only), through the "
                    "index pip is configured with, and write the pins (name, version, file, "
                    "sha256, URL) to pyodist.lock beside it. Profiles already pinned for "
                    "their current requirements are kept unless --upgrade.",
    )
    lock.add_argument("--project", type=Path, metavar="FILE",
                      help=f"project file, or its folder (default: ./{PROJECT_FILE})")
    lock.add_argument("--profile", action="append", default=[], metavar="NAME",
                      help="only this profile (repeatable; default: all)")
    lock.add_argument("--upgrade", action="store_true",
                      help="resolve again even where the pins are current (newest releases)")
    lock.add_argument("--json", action="store_true", help="print the pins as JSON")
    lock.set_defaults(handler=_lock, project_use="required")


def _lock(args: argparse.Namespace, options: Options) -> int:
    if options.offline:
        raise UsageError("pyodist lock asks the package index; it cannot run --offline",
                         hint="drop --offline (or PYODIST_OFFLINE); bundles read the lock "
                              "offline")
    project = args.loaded_project
    for name in args.profile:
        project.profile(name)  # an unknown name fails here, with the known ones listed
    lock, resolved = lock_project(options, project, upgrade=args.upgrade,
                                  only=tuple(args.profile))
    if args.json:
        emit_json({"lock": str(lock.path), "resolved": resolved, "profiles": {
            name: {"requirements": list(entry.requirements), "platform": entry.platform,
                   "python": entry.python,
                   "packages": [{"name": p.name, "version": p.version, "file": p.filename,
                                 "sha256": p.sha256, "url": p.url, "requested": p.requested}
                                for p in entry.pins]}
            for name, entry in sorted(lock.profiles.items())}})
        return 0
    if not lock.profiles:
        print(f"no profile of {project.path.name} has index-packages; nothing to lock")
        return 0
    for name, entry in sorted(lock.profiles.items()):
        state = "resolved" if name in resolved else "up to date"
        print(f"[{name}] {state}: {', '.join(entry.requirements)} for Python {entry.python}, "
              f"{entry.platform}")
        print(table(("PACKAGE", "VERSION", "FILE"),
                    [(p.name + ("" if p.requested else " (needed)"), p.version, p.filename)
                     for p in entry.pins]))
    print(f"\nwrote {lock.path}" if resolved else f"\n{lock.path} unchanged")
    return 0


def lock_project(options: Options, project: Project, *, upgrade: bool = False,
                 only: tuple[str, ...] = ()) -> tuple[ProjectLock, list[str]]:
    """Resolve and write the pins of ``project``'s index-packages (``only``: those profiles);
    the lock and the profiles resolved now."""
    require_resolved(options, project)
    # what the recipes of each profile provide is held at their versions, not pinned again
    provided: dict[str, dict[str, str]] = {}
    needs_recipes = [p for p in project.profiles.values() if p.index_packages and p.packages]
    if needs_recipes:
        graph = load_graph(options.recipe_dirs, [
            word for profile in needs_recipes for word in profile.packages])
        for profile in needs_recipes:
            chosen = graph.select(list(profile.packages))
            picked = graph.choosing(chosen.variants)
            recipes = [picked.recipes[n] for n in chosen.closure]
            provided[profile.name] = {canonical_name(r.dist_name): r.version for r in recipes
                                      if r.build.type == "package"}
            check_no_overlap(project, profile, provided[profile.name])
    target = target_platform(BuildSession(options).runtime)
    return update_lock(project, target, configured_index(options.index_urls),
                       provided=provided, upgrade=upgrade, only=only)
