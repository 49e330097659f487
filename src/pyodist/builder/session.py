"""A build run, as the library offers it: plan the selection, then build what is not cached.

:class:`BuildSession` holds what one run of pyodist needs to know about its toolchain and
runtime (the image's identity, the runtime core's folder and facts), looked up once and only
when needed; a bundle or a release builds several times through one session. Everything is
reported through events and the returned :class:`~pyodist.builder.report.BuildReport`;
nothing here prints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyodist.builder.backends import BackendWheelhouse, backend_wheelhouse
from pyodist.builder.exchange import StoreExchange
from pyodist.builder.planner import BuildPlan, BuildTarget, BuildTask, plan_build, recipe_inputs
from pyodist.builder.report import BuildReport
from pyodist.builder.scheduler import Scheduler
from pyodist.builder.shards import ShardPlan, ShardSpec, split
from pyodist.builder.steps import Artifacts, PackageBuilder
from pyodist.builder.workspace import (
    GUEST_WHEELHOUSE,
    GUEST_WORK,
    driver_digest,
    remove_stale_run_folders,
    run_folder,
)
from pyodist.errors import BuildError
from pyodist.events import BuildPlanned, EventSink, StoreNotice, ignore
from pyodist.graph import RecipeGraph
from pyodist.options import Options
from pyodist.runtime.pyodide import RuntimeFacts, runtime_facts
from pyodist.sources.fetch import make_fetcher
from pyodist.store.local import Artifact, ArtifactCache
from pyodist.toolchain.executor import Mount
from pyodist.toolchain.registry import ToolchainIdentity, executor_kind
from pyodist.tree import load_graph, load_tree

__all__ = ["BuildFailed", "BuildRequest", "BuildSession", "build", "plan_shards"]


@dataclass(frozen=True)
class BuildRequest:
    selection: tuple[str, ...] = ("*",)
    jobs: int = 1
    keep_going: bool = False
    # rebuild even if cached: "*" for the whole selection, or a comma list of names
    force: str | None = None
    import_check: bool = True
    keep_work: bool = False
    # build only this runner's part of the plan (the rest is pulled from the store)
    shard: ShardSpec | None = None
    # the split to use (from 'pyodist plan --shards N --json'); None: computed here
    shard_plan: ShardPlan | None = None


class BuildFailed(BuildError):
    """A build run ended with failed (or skipped) packages; ``report`` has the details."""

    def __init__(self, report: BuildReport, message: str, *, hint: str) -> None:
        super().__init__(message, hint=hint, failed=[o.name for o in report.failed()])
        self.report = report


class BuildSession:
    """One pyodist run's builds over one set of options."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.kind = executor_kind(options.executor)
        self.cache = ArtifactCache(options.cache_dir)
        self._toolchain: ToolchainIdentity | None = None
        self._runtime: RuntimeFacts | None = None

    @property
    def toolchain(self) -> ToolchainIdentity:
        """The toolchain's identity (image id, ABI, labels), looked up on first use."""
        if self._toolchain is None:
            self._toolchain = self.kind.identify(self.options)
        return self._toolchain

    @property
    def runtime(self) -> RuntimeFacts:
        """The runtime core (fetched and integrity-checked on first use) and its facts."""
        if self._runtime is None:
            self._runtime = runtime_facts(self.options.runtime, self.options.cache_dir,
                                          offline=self.options.offline)
        return self._runtime

    def target(self) -> BuildTarget:
        identity = self.toolchain
        return BuildTarget(self.options.pyodide_version, identity.abi,
                           f"{identity.toolchain_id};driver={driver_digest()}",
                           self.options.source_date_epoch)

    def plan(self, selection: tuple[str, ...], *, force: str | None = None,
             keep_going: bool = False) -> BuildPlan:
        """Load recipes, select, key and look up the cache: no container, no network.

        A recipe that does not load is an error; with ``keep_going`` the other recipes are
        planned, and the selected ones that failed to load or require an unknown recipe
        (or need one that did) are put in the plan as such, for the report
        (:func:`pyodist.tree.load_tree`).
        """
        tree = load_tree(self.options.recipe_dirs, selection, keep_going=keep_going)
        plan = self._plan(tree.graph, tree.selection, force) if tree.selection else \
            BuildPlan(self.target(), (), {}, frozenset())
        return dataclasses.replace(plan, unloadable=dict(tree.unusable),
                                   needs_unloadable=dict(tree.needs_unusable))

    def _plan(self, graph: RecipeGraph, selection: tuple[str, ...],
              force: str | None) -> BuildPlan:
        chosen = graph.select(list(selection))
        graph = graph.choosing(chosen.variants)
        inputs = {n: recipe_inputs(graph.recipes[n]) for n in chosen.closure}
        forced: list[str] = []
        if force == "*":
            forced = list(chosen.closure)
        elif force:
            forced = [graph.resolve(n.strip()) for n in force.split(",") if n.strip()]
        return plan_build(graph, chosen, self.target(), inputs=inputs,
                          is_cached=lambda key: self.cache.get(key) is not None, force=forced)

    def _wheelhouse(self) -> BackendWheelhouse:
        return backend_wheelhouse(self.options)

    def _remove_leftovers(self) -> None:
        """Clear what killed runs left behind, also when everything is cached this time.

        Their build containers go first: a step still running in one writes into its run
        folder.
        """
        self.kind.clean_leftovers()
        remove_stale_run_folders(self.options.build_dir)
        self.cache.clean_stale()
        self._wheelhouse().clean_stale()

    def build(self, request: BuildRequest, *, check: Callable[[BuildPlan], None] | None = None,
              on_event: EventSink = ignore) -> BuildReport:
        """Plan and run a build; cached packages are reported without starting a container.

        With an artifact store, what the local cache lacks is pulled first and what the run
        built is pushed after. ``check(plan)`` runs before anything is built and may refuse
        the plan by raising.
        """
        if request.jobs < 1:
            raise BuildError(f"-j {request.jobs}: the number of jobs must be at least 1",
                             hint="use -j 1 or more")
        self._remove_leftovers()
        plan = self.plan(request.selection, force=request.force, keep_going=request.keep_going)
        if check is not None:
            check(plan)
        exchange = None
        if self.options.artifact_store is not None:
            exchange = StoreExchange(self.options.artifact_store, self.cache, on_event=on_event)
            exchange.open()
        own: tuple[str, ...] = ()
        if request.shard is not None:
            plan, own = self._shard(plan, request, exchange, on_event)
        if exchange is not None:
            plan = exchange.pull_missing(plan)
            others = [n for n in plan.to_build if own and n not in own]
            if others:
                exchange.summary.built_here.extend(others)
                exchange.warn(f"{', '.join(others)} of other shards were not in the artifact "
                               "store (their wave has not run, or failed): building them here")
        report = self._run(plan, request, on_event)
        report.shard = str(request.shard) if request.shard is not None else None
        if exchange is not None:
            exchange.push_results(report)
            if request.shard is None and report.ok:
                exchange.write_timings(report.plan)
            report.store = exchange.summary
        return report

    def _shard(self, plan: BuildPlan, request: BuildRequest, exchange: StoreExchange | None,
               on_event: EventSink) -> tuple[BuildPlan, tuple[str, ...]]:
        """This runner's part of ``plan``: its own packages and what they need."""
        shard = request.shard
        assert shard is not None  # noqa: S101 - the caller checked
        if exchange is None:
            on_event(StoreNotice("", f"{shard} without an artifact store: the packages of "
                                     "other shards it needs are built here", warning=True))
        split_plan = request.shard_plan
        if split_plan is None:
            timings = exchange.timings() if exchange is not None else {}
            split_plan = split(plan.order, {n: t.deps for n, t in plan.tasks.items()},
                               shard.count, timings)
        elif split_plan.names() != set(plan.order):
            extra = sorted(split_plan.names() - set(plan.order))
            missing = sorted(set(plan.order) - split_plan.names())
            raise BuildError(
                f"the shard plan is not of this selection (not in the plan: "
                f"{', '.join(missing) or '-'}; not selected: {', '.join(extra) or '-'})",
                hint="write the shard plan again with 'pyodist plan --shards N --json' and "
                     "the same SELECTION")
        own = split_plan.own(shard)
        return plan.restricted(own, keep_unplanned=shard.index == 1), own

    def _run(self, plan: BuildPlan, request: BuildRequest,
             on_event: EventSink) -> BuildReport:
        if not plan.to_build:
            return Scheduler(plan, cache=self.cache, produce=_nothing_to_build,
                             artifacts=Artifacts(), logs=self.options.cache_dir / "logs").run()
        options = self.options
        runtime = self.runtime.folder if request.import_check else None
        wheelhouse = self._wheelhouse()
        wheelhouse.wheels.mkdir(parents=True, exist_ok=True)
        on_event(BuildPlanned("", len(plan.order), len(plan.to_build)))
        logs = options.cache_dir / "logs"
        artifacts = Artifacts()
        with run_folder(options.build_dir, keep=request.keep_work) as work, \
                self.kind.open(options, [Mount(work, GUEST_WORK, read_only=False),
                                         Mount(wheelhouse.wheels, GUEST_WHEELHOUSE)],
                               options.limits) as executor:
            builder = PackageBuilder(
                plan, cache=self.cache, fetcher=make_fetcher(options), executor=executor,
                wheelhouse=wheelhouse, work=work, logs=logs, runtime_dir=runtime,
                epoch=options.source_date_epoch, artifacts=artifacts,
                keep_work=request.keep_work, on_event=on_event)
            builder.prepare_run()
            return Scheduler(plan, cache=self.cache, produce=builder.produce,
                             artifacts=artifacts, logs=logs, jobs=request.jobs,
                             keep_going=request.keep_going, on_event=on_event).run()

    def raise_for_failures(self, report: BuildReport) -> None:
        """BuildFailed when a package of ``report`` did not build."""
        if not report.ok:
            failed = [o.name for o in report.failed()]
            raise BuildFailed(report, f"{len(failed)} package(s) failed to build: "
                                      f"{', '.join(failed)}" if failed
                              else "the build stopped early",
                              hint="the log tails are above; full logs are under "
                                   f"{self.options.cache_dir / 'logs'}")


def _nothing_to_build(task: BuildTask, _log: Path) -> Artifact:
    raise BuildError(f"the cache entry of {task.name} disappeared during the run",
                     hint="run the build again")


def build(options: Options, request: BuildRequest, *,
          on_event: EventSink = ignore) -> BuildReport:
    """Build ``request`` with ``options`` in a session of its own."""
    return BuildSession(options).build(request, on_event=on_event)


def plan_shards(options: Options, selection: tuple[str, ...], shards: int, *,
                on_event: EventSink = ignore) -> tuple[int, ShardPlan]:
    """``pyodist plan``: how ``selection``'s packages split into waves of ``shards`` runners,
    balanced by the artifact store's build timings when a store is configured (else by
    package count). The number of packages and the split; no toolchain, no build."""
    graph = load_graph(options.recipe_dirs, selection)
    chosen = graph.select(list(selection))
    graph = graph.choosing(chosen.variants)
    deps = {n: tuple(sorted(graph.deps[n] & chosen.closure)) for n in chosen.order}
    timings: dict[str, float] = {}
    if options.artifact_store is not None:
        exchange = StoreExchange(options.artifact_store, ArtifactCache(options.cache_dir),
                                 on_event=on_event)
        exchange.open()
        timings = exchange.timings()
    return len(chosen.order), split(chosen.order, deps, shards, timings)
