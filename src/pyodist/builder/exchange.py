"""A build run's side of the artifact store: pull what is missing, push what is new.

Order for each package of the plan: the local cache, then the store (pulled into the local
cache, checked), then a local build, pushed once it is stored. A store that does not answer
is an error, or, when the store is optional, one warning and local builds for the rest of
the run. A run that is not a shard also keeps the store's build timings (by package name,
the seconds of each artifact's build) that ``--shard`` balances by.
"""

from __future__ import annotations

from pyodist.builder.planner import BuildPlan
from pyodist.builder.report import BuildReport, StoreSummary
from pyodist.errors import StoreError
from pyodist.events import EventSink, StoreNotice
from pyodist.options import StoreSpec
from pyodist.store.local import ArtifactCache
from pyodist.store.oci import RemoteStore

__all__ = ["TIMINGS_TAG", "StoreExchange"]

TIMINGS_TAG = "pyodist-timings"
_TIMINGS_FORMAT = 1


class StoreExchange:
    def __init__(self, spec: StoreSpec, cache: ArtifactCache, *,
                 on_event: EventSink) -> None:
        self.spec = spec
        self.cache = cache
        self.store = RemoteStore(spec)
        self.on_event = on_event
        self.summary = StoreSummary(spec.url, spec.readonly)

    @property
    def active(self) -> bool:
        return self.summary.available

    def warn(self, message: str) -> None:
        self.summary.warnings.append(message)
        self.on_event(StoreNotice("", message, warning=True))

    def _failed(self, exc: StoreError) -> None:
        """An optional store that fails is left for the rest of the run."""
        if not self.spec.optional:
            raise exc
        self.summary.available = False
        self.warn(f"{exc}; building locally without it (--artifact-store-optional)")

    def open(self) -> None:
        try:
            self.store.probe()
        except StoreError as exc:
            self._failed(exc)

    def pull_missing(self, plan: BuildPlan) -> BuildPlan:
        """``plan`` with every package the store had marked cached (it is now local)."""
        missing = [n for n in plan.to_build if not plan.tasks[n].forced]
        if not self.active or not missing:
            return plan
        pulled = []
        for name in missing:
            key = plan.tasks[name].key
            try:
                found = self.store.pull(key, self.cache)
            except StoreError as exc:
                self._failed(exc)
                break
            if found.artifact is not None:
                pulled.append(name)
            elif found.refused is not None:
                self.summary.refused.append(found.refused)
                self.warn(f"refused {name} from the store: {found.refused}; building it here")
        self.summary.pulled.extend(pulled)
        if pulled:
            self.on_event(StoreNotice("", f"pulled {len(pulled)} of {len(missing)} missing "
                                          f"package(s) from the artifact store"))
        return plan.mark_cached(pulled)

    def push_results(self, report: BuildReport) -> None:
        """Push every artifact of the run the store does not have yet (read-only: none)."""
        if not self.active or self.spec.readonly:
            return
        pulled = set(self.summary.pulled)
        for name in report.plan.order:
            outcome = report.outcomes.get(name)
            if outcome is None or outcome.status not in ("built", "cached") or name in pulled:
                continue
            artifact = self.cache.get(outcome.key)
            if artifact is None:
                continue
            try:
                if self.store.push(artifact):
                    self.summary.pushed.append(name)
            except StoreError as exc:
                self._failed(exc)
                return
        if self.summary.pushed:
            self.on_event(StoreNotice("", f"pushed {len(self.summary.pushed)} package(s) to "
                                          "the artifact store"))

    def timings(self) -> dict[str, float]:
        """The store's build seconds by package name ({} when it has none)."""
        if not self.active:
            return {}
        try:
            data = self.store.get_json(TIMINGS_TAG)
        except StoreError as exc:
            self._failed(exc)
            return {}
        seconds = (data or {}).get("seconds", {})
        if not isinstance(seconds, dict):
            return {}
        return {str(n): float(s) for n, s in seconds.items()
                if isinstance(s, int | float) and s > 0}

    def write_timings(self, plan: BuildPlan) -> None:
        """Merge the build seconds of the plan's artifacts into the store's timings."""
        if not self.active or self.spec.readonly:
            return
        measured = {}
        for name in plan.order:
            artifact = self.cache.get(plan.tasks[name].key)
            seconds = artifact.meta.get("build_seconds") if artifact else None
            if isinstance(seconds, int | float) and seconds > 0:
                measured[name] = round(float(seconds), 1)
        if not measured:
            return
        known = self.timings()
        if all(known.get(n) == s for n, s in measured.items()):
            return
        try:
            self.store.put_json(TIMINGS_TAG, {"format": _TIMINGS_FORMAT,
                                              "seconds": {**known, **measured}})
        except StoreError as exc:
            self._failed(exc)
