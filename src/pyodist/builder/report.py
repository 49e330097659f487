"""What a build run reports: one outcome per package, and the whole run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pyodist.builder.planner import BuildPlan
from pyodist.fsutil import copy_atomic, remove_stale

__all__ = ["STATUSES", "BuildOutcome", "BuildReport", "Status", "StoreSummary"]

_COPY_TMP = re.compile(r"^\..+\.(whl|zip)\.(?P<pid>\d+)\.tmp\Z")  # a killed copy's file
Status = Literal["built", "cached", "failed", "blocked", "skipped"]
STATUSES: tuple[Status, ...] = ("built", "cached", "failed", "blocked", "skipped")


@dataclass
class StoreSummary:
    """A run's traffic with the artifact store (builder/exchange.py fills it in)."""

    url: str
    readonly: bool
    pulled: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    # remote artifacts whose bytes did not match their key or digests (built here instead)
    refused: list[str] = field(default_factory=list)
    # a shard's packages of other shards that were not in the store, built here
    built_here: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    available: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "readonly": self.readonly, "available": self.available,
                "pulled": self.pulled, "pushed": self.pushed, "refused": self.refused,
                "built_here": self.built_here, "warnings": self.warnings}


@dataclass(frozen=True)
class BuildOutcome:
    name: str
    status: Status
    key: str
    seconds: float = 0.0
    files: tuple[Path, ...] = ()
    log: Path | None = None
    error: str | None = None
    log_tail: str = ""
    blocked_by: tuple[str, ...] = ()
    # for a failure: source, port, rust, tool, network, compile, link, import, limits or build
    cause: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status, "key": self.key, "seconds": round(self.seconds, 2),
            "files": [str(f) for f in self.files],
            "log": str(self.log) if self.log else None,
            "error": self.error, "log_tail": self.log_tail or None,
            "blocked_by": list(self.blocked_by), "cause": self.cause,
        }


@dataclass
class BuildReport:
    plan: BuildPlan
    outcomes: dict[str, BuildOutcome] = field(default_factory=dict)
    seconds: float = 0.0
    # what the artifact store did for the run (None: no store)
    store: StoreSummary | None = None
    shard: str | None = None  # "shard 2/4 of wave 1" for a --shard run

    @property
    def ok(self) -> bool:
        return all(o.status in ("built", "cached") for o in self.outcomes.values())

    @property
    def names(self) -> list[str]:
        """Every package reported: the plan's order, then those that could not be planned."""
        planned = set(self.plan.order)
        return [*(n for n in self.plan.order if n in self.outcomes),
                *sorted(n for n in self.outcomes if n not in planned)]

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes.values() if o.status == status)

    def failed(self) -> list[BuildOutcome]:
        return [o for o in self.outcomes.values() if o.status == "failed"]

    def blocked_by(self, name: str) -> list[str]:
        return [o.name for o in self.outcomes.values()
                if o.status == "blocked" and name in o.blocked_by]

    def copy_wheels(self, out: Path) -> list[Path]:
        """Copy the wheels (and library archives) of the run into ``out`` (``build --out``),
        each by one rename; what a killed copy left there is removed first."""
        out.mkdir(parents=True, exist_ok=True)
        remove_stale(out, _COPY_TMP)
        return [copy_atomic(path, out / path.name, metadata=True)
                for outcome in self.outcomes.values() for path in outcome.files
                if path.suffix in (".whl", ".zip")]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "seconds": round(self.seconds, 2),
            "counts": {s: self.count(s) for s in STATUSES},
            "target": {"pyodide": self.plan.target.pyodide_version,
                       "abi": self.plan.target.abi,
                       "toolchain": self.plan.target.toolchain_id},
            "packages": {n: self.outcomes[n].to_json() for n in self.names},
            "store": self.store.to_json() if self.store is not None else None,
            "shard": self.shard,
        }

