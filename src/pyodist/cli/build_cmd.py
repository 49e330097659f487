"""``pyodist build``: recipes to wheels in the toolchain, cached by content."""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from pyodist.build.backends import BackendWheelhouse
from pyodist.build.cache import ArtifactCache
from pyodist.build.engine import (
    GUEST_WHEELHOUSE,
    GUEST_WORK,
    BuildEngine,
    BuildOutcome,
    BuildReport,
    driver_script,
    remove_stale_run_folders,
    run_folder,
)
from pyodist.build.planner import BuildPlan, Target, plan_build, recipe_inputs
from pyodist.cli.fetch_cmd import make_fetcher
from pyodist.cli.progress import build_sink
from pyodist.cli.render import emit_json, table
from pyodist.errors import BuildError, ToolchainError
from pyodist.fsutil import remove_stale
from pyodist.graph import RecipeGraph
from pyodist.options import Options
from pyodist.recipe import load_recipe_dirs
from pyodist.runtime.pyodide import RuntimeSpec, ensure_runtime
from pyodist.toolchain import docker_client
from pyodist.toolchain.executor import (
    DockerExecutor,
    Executor,
    HostExecutor,
    Limits,
    Mount,
    remove_stale_containers,
)
from pyodist.toolchain.image import inspect_image

__all__ = ["add_parser", "make_plan", "print_summary", "raise_for_failures", "run_build"]

_COPY_TMP = re.compile(r"^\..+\.(whl|zip)\.(?P<pid>\d+)\.tmp$")  # a killed -o copy


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    build = sub.add_parser(
        "build", help="build wheels and libraries from recipes",
        description="Build SELECTION and everything it needs, in dependency order, inside the "
                    "toolchain container (no network). Results are cached under a key of the "
                    "recipe, its source, patches, the toolchain image and the keys of its "
                    "dependencies: unchanged packages are reused, a changed one rebuilds with "
                    "its dependents. Each wheel's test.imports are imported in Pyodide under "
                    "Node; a wheel that does not import is a failed build.",
    )
    build.add_argument("selection", nargs="*", default=["*"], metavar="SELECTION",
                       help="'*' (default), NAME, tag:TAG, !NAME")
    build.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                       help="packages built at once (default 1)")
    build.add_argument("-k", "--keep-going", action="store_true",
                       help="build everything that does not need a failed package")
    build.add_argument("--force", nargs="?", const="*", default=None, metavar="NAMES",
                       help="rebuild even if cached: all selected (no value) or a comma list, "
                            "with their dependents")
    build.add_argument("-o", "--out", type=Path, metavar="DIR",
                       help="also copy the wheels of the selection and its dependencies here")
    build.add_argument("--no-import-check", action="store_true",
                       help="do not import the wheels in Pyodide after building")
    build.add_argument("--keep-work", action="store_true",
                       help="keep each package's build folder (for debugging)")
    build.add_argument("--json", action="store_true",
                       help="print a JSON report on stdout (for CI)")
    build.set_defaults(handler=_build)


def _toolchain_target(options: Options) -> Target:
    driver = hashlib.sha256(driver_script().encode()).hexdigest()[:16]
    epoch = options.source_date_epoch
    if options.executor == "host":
        return Target(options.pyodide_version, os.environ.get("PYODIDE_ABI_VERSION", "host"),
                      f"host;driver={driver}", epoch)
    info = inspect_image(docker_client(), options.image)
    if info is None:
        raise ToolchainError(f"toolchain image {options.image!r} is not present",
                             hint="build it with 'pyodist toolchain build' (make image)")
    if info.pyodide_version != options.pyodide_version:
        raise ToolchainError(
            f"toolchain image {options.image} is for Pyodide {info.pyodide_version}, "
            f"not {options.pyodide_version}", hint="build the matching image")
    return Target(options.pyodide_version, info.pyodide_abi,
                  f"{info.image_id};driver={driver}", epoch)


def make_plan(options: Options, selection_args: list[str], *,
              force: str | None = None) -> tuple[BuildPlan, ArtifactCache, RecipeGraph]:
    """Load recipes, select, key and look up the cache: no container, no network."""
    loaded = load_recipe_dirs(options.recipe_dirs)
    loaded.raise_errors()
    graph = RecipeGraph(loaded.recipes)
    selection = graph.select(selection_args)
    graph = graph.choosing(selection.variants)
    cache = ArtifactCache(options.cache_dir)
    inputs = {n: recipe_inputs(graph.recipes[n]) for n in selection.closure}
    forced: list[str] = []
    if force == "*":
        forced = list(selection.closure)
    elif force:
        forced = [graph.resolve(n.strip()) for n in force.split(",") if n.strip()]
    plan = plan_build(graph, selection, _toolchain_target(options), inputs=inputs,
                      is_cached=lambda key: cache.get(key) is not None, force=forced)
    return plan, cache, graph


def _executor(options: Options, work: Path, wheelhouse: Path) -> Executor:
    own = options.limits
    limits = Limits(memory=own.memory, pids=own.pids,
                    step_timeout=own.step_timeout, disk=own.disk_quota)
    if options.executor == "host":
        return HostExecutor(base_env=dict(os.environ), limits=limits)
    return DockerExecutor(options.image, [Mount(work, GUEST_WORK, read_only=False),
                                          Mount(wheelhouse, GUEST_WHEELHOUSE)], limits=limits)


def _remove_leftovers(options: Options) -> None:
    """Clear what killed runs left behind, also when everything is cached this time.

    Their build containers go first: a step still running in one writes into its run folder.
    """
    if options.executor == "docker":
        remove_stale_containers(docker_client())
    remove_stale_run_folders(options.build_dir)
    ArtifactCache(options.cache_dir).clean_stale()
    BackendWheelhouse(options.cache_dir / "backends", index_urls=options.index_urls,
                      offline=options.offline).clean_stale()


def run_build(options: Options, selection: list[str], *, jobs: int = 1,
              keep_going: bool = False, force: str | None = None, import_check: bool = True,
              keep_work: bool = False, quiet: bool = False,
              check: Callable[[BuildPlan], None] | None = None) -> BuildReport:
    """Plan and run a build; cached packages are reported without starting a container.

    ``check(plan)`` runs before anything is built and may refuse the plan by raising.
    """
    if jobs < 1:
        raise BuildError(f"-j {jobs}: the number of jobs must be at least 1",
                         hint="use -j 1 or more")
    _remove_leftovers(options)
    plan, cache, _graph = make_plan(options, selection, force=force)
    if check is not None:
        check(plan)
    report = BuildReport(plan)
    if not plan.to_build:
        for name in plan.order:
            found = cache.get(plan.tasks[name].key)
            if found is None:  # vanished since planning
                raise BuildError(f"the cache entry of {name} disappeared during the run",
                                 hint="run the build again")
            report.outcomes[name] = BuildOutcome(name, "cached", found.key,
                                                 files=tuple(found.paths()))
        return report
    runtime = ensure_runtime(
        RuntimeSpec(options.pyodide_version, options.pyodide_integrity), options.cache_dir,
        offline=options.offline) if import_check else None
    wheelhouse = BackendWheelhouse(options.cache_dir / "backends",
                                   index_urls=options.index_urls, offline=options.offline)
    wheelhouse.wheels.mkdir(parents=True, exist_ok=True)
    with (build_sink(plain=options.plain, quiet=quiet, total=len(plan.order)) as sink,
          run_folder(options.build_dir, keep=keep_work) as work,
          _executor(options, work, wheelhouse.wheels) as executor):
        engine = BuildEngine(
            plan, cache=cache, fetcher=make_fetcher(options), executor=executor,
            wheelhouse=wheelhouse, work=work, logs=options.cache_dir / "logs",
            runtime_dir=runtime, epoch=options.source_date_epoch, jobs=jobs,
            keep_going=keep_going, keep_work=keep_work, on_event=sink,
        )
        return engine.run()


def raise_for_failures(report: BuildReport, options: Options) -> None:
    if not report.ok:
        failed = [o.name for o in report.failed()]
        raise BuildError(f"{len(failed)} package(s) failed to build: {', '.join(failed)}"
                         if failed else "the build stopped early",
                         hint="the log tails are above; full logs are under "
                              f"{options.cache_dir / 'logs'}")


def _build(args: argparse.Namespace, options: Options) -> int:
    report = run_build(options, args.selection, jobs=args.jobs, keep_going=args.keep_going,
                       force=args.force, import_check=not args.no_import_check,
                       keep_work=args.keep_work, quiet=args.json)
    if args.out is not None:
        _copy_out(report, args.out)
    if args.json:
        emit_json(report.to_json())
    else:
        print_summary(report)
    raise_for_failures(report, options)
    return 0


def _copy_out(report: BuildReport, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    remove_stale(out, _COPY_TMP)
    for outcome in report.outcomes.values():
        for path in outcome.files:
            if path.suffix in (".whl", ".zip"):
                # the pid keeps two runs copying into one folder from sharing a temp file
                tmp = out / f".{path.name}.{os.getpid()}.tmp"
                try:
                    shutil.copy2(path, tmp)
                    os.replace(tmp, out / path.name)
                finally:
                    tmp.unlink(missing_ok=True)


def print_summary(report: BuildReport) -> None:
    rows = []
    for name in report.plan.order:
        outcome = report.outcomes.get(name)
        if outcome is None:
            continue
        recipe = report.plan.tasks[name].recipe
        names = [f.name for f in outcome.files]
        main = next((n for n in names if not n.endswith("-libs.tar")), names[0] if names else "")
        took = f"{outcome.seconds:.1f}s" if outcome.seconds else ""
        rows.append((name, recipe.version, outcome.status, took, main))
    print(table(("PACKAGE", "VERSION", "STATUS", "TIME", "OUTPUT"), rows))
    for outcome in report.failed():
        print(f"\n✗ {outcome.name} failed: {outcome.error}")
        if outcome.log_tail:
            print("  last lines of the log:")
            print("\n".join(f"  | {line}" for line in outcome.log_tail.splitlines()))
        if outcome.log:
            print(f"  full log: {outcome.log}")
        blocked = report.blocked_by(outcome.name)
        if blocked:
            print(f"  blocked by this failure: {', '.join(blocked)}")
    counts = ", ".join(f"{report.count(s)} {s}" for s in ("built", "cached", "failed",
                                                           "blocked", "skipped")
                       if report.count(s))
    print(f"\n{counts} in {report.seconds:.1f} s")
