"""Split a build across CI runners: waves by dependency level, shards balanced by build time.

Pure. A package's wave is its dependency level (1 + the highest wave of what it needs, 1 for
none), so every runner of a wave finds what it needs in the store, pushed by an earlier wave.
Inside a wave the packages go to N shards by longest-processing-time-first over their costs:
the previous run's measured build seconds when known (a package without a measurement costs
the median of those with one), else 1 each (by package count). Ties go by name, so every
runner computing the split of the same plan and timings gets the same one.

:func:`simulate` is for ``bench/sharding.py``: the wall time of N runners as waves (what a CI
matrix per wave gives) and as free list scheduling (runners starting a package as soon as
its dependencies are done), and the critical path, the lower bound of both.
"""

from __future__ import annotations

import heapq
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyodist.errors import ConfigError

__all__ = ["ShardPlan", "ShardSpec", "Simulation", "levels", "parse_shard", "simulate",
           "split"]

_SHARD_RE = re.compile(r"\s*([0-9]{1,6})\s*/\s*([0-9]{1,6})\s*", re.ASCII)
# more runners than this is a mistake (and a plan of millions of empty shards)
MAX_SHARDS = 1000
Deps = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class ShardSpec:
    """This runner's part: shard ``index`` of ``count`` (from 1), in wave ``wave`` or all."""

    index: int
    count: int
    wave: int | None = None

    def __str__(self) -> str:
        where = f" of wave {self.wave}" if self.wave is not None else ""
        return f"shard {self.index}/{self.count}{where}"


def parse_shard(text: str, wave: int | None = None) -> ShardSpec:
    """``"2/4"`` -> shard 2 of 4; ConfigError naming the flag otherwise."""
    match = _SHARD_RE.fullmatch(text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)) <= MAX_SHARDS:
        raise ConfigError.single(f"--shard {text[:40]!r} is not I/N with 1 <= I <= N <= "
                                 f"{MAX_SHARDS}",
                                 key="--shard", hint="write e.g. --shard 2/4")
    if wave is not None and wave < 1:
        raise ConfigError.single(f"--wave {wave}: waves are numbered from 1", key="--wave",
                                 hint="'pyodist plan --shards N' lists the waves")
    return ShardSpec(int(match.group(1)), int(match.group(2)), wave)


def levels(order: Sequence[str], deps: Deps) -> dict[str, int]:
    """Each package's wave (1 for those needing nothing); ``order`` is dependencies first."""
    found: dict[str, int] = {}
    for name in order:
        found[name] = 1 + max((found[d] for d in deps.get(name, ())), default=0)
    return found


def _costs(order: Sequence[str], timings: Mapping[str, float]) -> tuple[dict[str, float], bool]:
    known = [float(timings[n]) for n in order if n in timings and float(timings[n]) > 0]
    if not known:
        return dict.fromkeys(order, 1.0), False
    default = statistics.median(known)
    return {n: float(timings[n]) if float(timings.get(n, 0)) > 0 else default
            for n in order}, True


@dataclass(frozen=True)
class ShardPlan:
    count: int
    # waves[w][s]: the packages shard s+1 builds in wave w+1, dependencies first
    waves: tuple[tuple[tuple[str, ...], ...], ...]
    costs: Mapping[str, float]
    timed: bool  # costs are measured seconds (else 1 per package)

    def place(self, name: str) -> tuple[int, int]:
        """(wave, shard) of ``name``, both from 1."""
        for w, shards in enumerate(self.waves, 1):
            for s, names in enumerate(shards, 1):
                if name in names:
                    return w, s
        raise KeyError(name)

    def own(self, spec: ShardSpec) -> tuple[str, ...]:
        """What ``spec``'s runner builds: its shard of one wave, or of every wave."""
        if spec.count != self.count:
            raise ConfigError.single(
                f"{spec} does not fit a split into {self.count} shards", key="--shard",
                hint=f"use --shard I/{self.count}")
        if spec.wave is not None and spec.wave > len(self.waves):
            raise ConfigError.single(
                f"--wave {spec.wave}: the plan has {len(self.waves)} wave(s)", key="--wave",
                hint="'pyodist plan --shards N' lists the waves")
        chosen = [self.waves[spec.wave - 1]] if spec.wave is not None else self.waves
        return tuple(n for shards in chosen for n in shards[spec.index - 1])

    def to_json(self) -> dict[str, Any]:
        return {
            "shards": self.count,
            "balanced_by": "seconds" if self.timed else "count",
            "waves": [
                {"wave": w, "shards": [
                    {"shard": s, "packages": list(names),
                     "cost": round(sum(self.costs[n] for n in names), 1)}
                    for s, names in enumerate(shards, 1)]}
                for w, shards in enumerate(self.waves, 1)],
            # per wave, the shards that have packages: a CI matrix (fromJSON(...).matrix[0])
            "matrix": [[s for s, names in enumerate(shards, 1) if names]
                       for shards in self.waves],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, file: Path | None = None) -> ShardPlan:
        """A split written by ``pyodist plan --shards N --json`` (for ``--shard-plan``)."""
        try:
            count = int(data["shards"])
            waves = tuple(
                tuple(tuple(str(n) for n in shard["packages"]) for shard in wave["shards"])
                for wave in data["waves"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError.single(
                f"not a shard plan ({exc.__class__.__name__}: {exc})", file=file,
                key="waves", hint="write it with 'pyodist plan --shards N --json'") from None
        if count < 1 or any(len(w) != count for w in waves):
            raise ConfigError.single(
                f"not a shard plan: every wave needs {count} shard(s)", file=file, key="waves",
                hint="write it with 'pyodist plan --shards N --json'")
        names = [n for w in waves for s in w for n in s]
        return cls(count, waves, dict.fromkeys(names, 1.0), data.get("balanced_by") == "seconds")

    def names(self) -> set[str]:
        return {n for w in self.waves for s in w for n in s}


def split(order: Sequence[str], deps: Deps, count: int,
          timings: Mapping[str, float] | None = None) -> ShardPlan:
    """The plan's packages in waves, each wave into ``count`` balanced shards."""
    if count < 1:
        raise ConfigError.single(f"--shards {count}: at least 1", key="--shards",
                                 hint="e.g. --shards 4")
    costs, timed = _costs(order, timings or {})
    level = levels(order, deps)
    position = {n: i for i, n in enumerate(order)}
    waves = []
    for wave in range(1, max(level.values(), default=0) + 1):
        members = sorted((n for n in order if level[n] == wave), key=lambda n: (-costs[n], n))
        loads = [(0.0, s) for s in range(count)]
        shards: list[list[str]] = [[] for _ in range(count)]
        for name in members:
            load, s = heapq.heappop(loads)
            shards[s].append(name)
            heapq.heappush(loads, (load + costs[name], s))
        waves.append(tuple(tuple(sorted(s, key=position.__getitem__)) for s in shards))
    return ShardPlan(count, tuple(waves), costs, timed)


@dataclass(frozen=True)
class Simulation:
    runners: int
    waves: float  # wall seconds with one CI matrix per wave
    free: float  # wall seconds with list scheduling (a runner takes any ready package)
    critical_path: float
    total: float  # the sum of all build times (one runner)


def critical_path(order: Sequence[str], deps: Deps, costs: Mapping[str, float]) -> float:
    finish: dict[str, float] = {}
    for name in order:
        finish[name] = costs[name] + max((finish[d] for d in deps.get(name, ())), default=0.0)
    return max(finish.values(), default=0.0)


def simulate(order: Sequence[str], deps: Deps, costs: Mapping[str, float],
             runners: int) -> Simulation:
    """Wall times of ``runners`` runners for packages costing ``costs`` seconds."""
    plan = split(order, deps, runners, costs)
    by_waves = sum(max(sum(costs[n] for n in shard) for shard in wave) for wave in plan.waves)
    # list scheduling, longest remaining path first
    tail: dict[str, float] = {}
    users: dict[str, list[str]] = {n: [] for n in order}
    for name in order:
        for dep in sorted(set(deps.get(name, ()))):
            users[dep].append(name)
    for name in reversed(order):
        tail[name] = costs[name] + max((tail[u] for u in users[name]), default=0.0)
    waiting = {n: len(set(deps.get(n, ()))) for n in order}
    ready = [(-tail[n], n) for n in order if waiting[n] == 0]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []
    now = 0.0
    free = runners
    while ready or running:
        while ready and free:
            _, name = heapq.heappop(ready)
            heapq.heappush(running, (now + costs[name], name))
            free -= 1
        now, name = heapq.heappop(running)
        free += 1
        for user in users[name]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (-tail[user], user))
    return Simulation(runners, by_waves, now, critical_path(order, deps, costs),
                      sum(costs[n] for n in order))
