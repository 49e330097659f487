"""Structured events the library emits; the CLI decides how to show them.

A long-running operation takes an ``on_event`` callable. On a terminal the CLI draws rich
progress from these, on CI it prints plain lines, and with ``--json`` it stays quiet until the
final report. Library code never prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "BuildFinished",
    "BuildPhase",
    "BuildPlanned",
    "BuildStarted",
    "Event",
    "EventSink",
    "FetchFinished",
    "FetchProgress",
    "FetchStarted",
    "StoreNotice",
    "ignore",
]


@dataclass(frozen=True)
class Event:
    name: str  # the recipe the event is about


@dataclass(frozen=True)
class FetchStarted(Event):
    filename: str
    total: int | None


@dataclass(frozen=True)
class FetchProgress(Event):
    done: int
    total: int | None


@dataclass(frozen=True)
class FetchFinished(Event):
    filename: str
    sha256: str
    size: int
    cached: bool  # True when the cache already had it and nothing was downloaded


@dataclass(frozen=True)
class BuildPlanned(Event):
    """A build run is about to start building: ``total`` packages in the plan (name: "")."""

    total: int
    to_build: int


@dataclass(frozen=True)
class BuildStarted(Event):
    version: str


@dataclass(frozen=True)
class BuildPhase(Event):
    phase: str  # "source", "compile", "check"


@dataclass(frozen=True)
class BuildFinished(Event):
    status: str  # "built", "cached", "failed", "blocked", "skipped"
    seconds: float


@dataclass(frozen=True)
class StoreNotice(Event):
    """What the artifact store did for a run (pulled, pushed), or a warning (name: "")."""

    message: str
    warning: bool = False


EventSink = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """The default sink: drop every event."""
