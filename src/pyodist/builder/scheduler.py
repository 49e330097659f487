"""Run a build plan's packages in dependency order, N at once, cached by content.

The main thread schedules: a package starts when everything it needs is built or cached;
with ``keep_going`` a failure only stops the packages that need it, without it the first
failure stops new builds. The work of one package is a ``produce(task, log)`` callable
(:class:`pyodist.builder.steps.PackageBuilder` in real runs), so the scheduling is tested
on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from pyodist.builder.logs import log_tail
from pyodist.builder.planner import BuildPlan, BuildTask
from pyodist.builder.report import BuildOutcome, BuildReport
from pyodist.builder.steps import Artifacts, PackageFailed
from pyodist.errors import PyodistError, SourceError
from pyodist.events import BuildFinished, BuildStarted, EventSink, ignore
from pyodist.store.local import Artifact, ArtifactCache
from pyodist.urls import redact_url

__all__ = ["Produce", "Scheduler"]

# builds one package and stores it in the cache (steps.PackageBuilder.produce)
Produce = Callable[[BuildTask, Path], Artifact]


@dataclass
class _State:
    pending: list[str]
    running: dict[Future[BuildOutcome], str] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    bad: set[str] = field(default_factory=set)


class Scheduler:
    def __init__(self, plan: BuildPlan, *, cache: ArtifactCache, produce: Produce,
                 artifacts: Artifacts, logs: Path, jobs: int = 1, keep_going: bool = False,
                 on_event: EventSink = ignore) -> None:
        self.plan = plan
        self.cache = cache
        self.produce = produce
        self.artifacts = artifacts
        self.logs = logs
        self.jobs = max(1, jobs)
        self.keep_going = keep_going
        self.on_event = on_event
        self._stop = threading.Event()

    def run(self) -> BuildReport:
        report = BuildReport(self.plan)
        start = time.monotonic()
        state = _State(pending=list(self.plan.order))
        for name, error in self.plan.unloadable.items():
            report.outcomes[name] = BuildOutcome(name, "failed", "", error=error,
                                                 cause="recipe")
        for name, needed in self.plan.needs_unloadable.items():
            report.outcomes[name] = BuildOutcome(name, "blocked", "", blocked_by=needed)
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="build") as pool:
            try:
                while state.pending or state.running:
                    self._start_ready(state, report, pool)
                    if not state.running:
                        continue
                    finished, _ = wait(state.running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        name = state.running.pop(future)
                        outcome = future.result()
                        report.outcomes[name] = outcome
                        if outcome.status in ("built", "cached"):
                            state.done.add(name)
                        else:
                            state.bad.add(name)
                            if not self.keep_going:
                                self._stop.set()
                        self.on_event(BuildFinished(name, outcome.status, outcome.seconds))
            except BaseException:
                self._stop.set()
                for future in state.running:
                    future.cancel()
                raise
        report.seconds = time.monotonic() - start
        return report

    def _start_ready(self, state: _State, report: BuildReport,
                     pool: ThreadPoolExecutor) -> None:
        """Settle blocked and cached packages; submit what can build now."""
        for name in list(state.pending):
            task = self.plan.tasks[name]
            if any(d in state.bad for d in task.deps):
                state.pending.remove(name)
                state.bad.add(name)
                roots = tuple(sorted(self._root_failures(name, report)))
                report.outcomes[name] = BuildOutcome(name, "blocked", task.key,
                                                     blocked_by=roots)
                self.on_event(BuildFinished(name, "blocked", 0.0))
            elif self._stop.is_set():
                state.pending.remove(name)
                report.outcomes[name] = BuildOutcome(name, "skipped", task.key)
            elif all(d in state.done for d in task.deps):
                found = self.cache.get(task.key) if task.cached else None
                if found is not None:
                    state.pending.remove(name)
                    self.artifacts.add(name, found)
                    state.done.add(name)
                    report.outcomes[name] = BuildOutcome(name, "cached", task.key,
                                                         files=tuple(found.paths()))
                    self.on_event(BuildFinished(name, "cached", 0.0))
                elif len(state.running) < self.jobs:
                    state.pending.remove(name)
                    state.running[pool.submit(self._build_one, task)] = name

    def _root_failures(self, name: str, report: BuildReport) -> set[str]:
        roots: set[str] = set()
        for dep in self.plan.tasks[name].deps:
            outcome = report.outcomes.get(dep)
            if outcome is None:
                continue
            if outcome.status == "failed":
                roots.add(dep)
            elif outcome.status == "blocked":
                roots.update(outcome.blocked_by)
        return roots

    def _build_one(self, task: BuildTask) -> BuildOutcome:
        start = time.monotonic()
        self.on_event(BuildStarted(task.name, task.recipe.version))
        log = self.logs / f"{task.name}.log"
        try:
            if self._stop.is_set():
                return BuildOutcome(task.name, "skipped", task.key)
            with self.cache.lock(task.key):
                found = self.cache.get(task.key)
                if found is not None and not task.forced:  # another run stored it meanwhile
                    self.artifacts.add(task.name, found)
                    return BuildOutcome(task.name, "cached", task.key,
                                        files=tuple(found.paths()))
                artifact = self.produce(task, log)
            self.artifacts.add(task.name, artifact)
            return BuildOutcome(task.name, "built", task.key, time.monotonic() - start,
                                tuple(artifact.paths()), log)
        except (PackageFailed, PyodistError) as exc:
            if isinstance(exc, PackageFailed):
                where, cause = exc.log or log, exc.cause
            else:
                where, cause = log, "source" if isinstance(exc, SourceError) else "build"
            return BuildOutcome(task.name, "failed", task.key, time.monotonic() - start,
                                log=where if where.exists() else None,
                                error=redact_url(str(exc)),
                                log_tail=log_tail(where), cause=cause)
