"""Render library events: rich progress bars on a terminal, plain lines elsewhere."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from pyodist.events import (
    BuildFinished,
    BuildPhase,
    BuildPlanned,
    BuildStarted,
    Event,
    EventSink,
    FetchFinished,
    FetchProgress,
    FetchStarted,
    StoreNotice,
)

__all__ = ["build_sink", "event_sink", "human_size", "print_line"]

_STATUS_MARK = {"built": "[green]✓[/]", "cached": "[blue]=[/]", "failed": "[red]✗[/]",
                "blocked": "[yellow]-[/]", "skipped": "[dim]-[/]"}


def print_line(line: str) -> None:
    """One plain progress line to stderr."""
    print(line, file=sys.stderr, flush=True)


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


class _Plain:
    """One line per finished step, to stderr: what CI logs should show."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if isinstance(event, FetchFinished):
            how = "cached" if event.cached else "downloaded"
            with self._lock:
                print(f"fetch {event.name}: {event.filename} {how} ({human_size(event.size)})",
                      file=sys.stderr, flush=True)


class _Rich:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, FetchStarted):
            self.tasks[event.name] = self.progress.add_task(event.filename, total=event.total)
        elif isinstance(event, FetchProgress) and event.name in self.tasks:
            self.progress.update(self.tasks[event.name], completed=event.done)
        elif isinstance(event, FetchFinished):
            task = self.tasks.pop(event.name, None)
            if task is not None:
                self.progress.remove_task(task)
            how = "cached" if event.cached else "downloaded"
            self.progress.console.print(
                f"[green]✓[/] {event.name}: {event.filename} {how} ({human_size(event.size)})")


@contextlib.contextmanager
def event_sink(*, plain: bool, quiet: bool = False) -> Iterator[EventSink]:
    if quiet:
        yield lambda _e: None
        return
    if plain:
        yield _Plain()
        return
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=Console(stderr=True), transient=True,
    )
    with progress:
        yield _Rich(progress)


def _store_line(event: StoreNotice) -> str:
    return f"{'warning: ' if event.warning else ''}artifact store: {event.message}"


def _warnings_only(event: Event) -> None:
    """With --json, stdout is the report; store warnings still go to stderr."""
    if isinstance(event, StoreNotice) and event.warning:
        print_line(_store_line(event))


class _PlainBuild:
    """Build progress as lines: a start and an end line per package."""

    def __init__(self) -> None:
        self.total = 0
        self.finished = 0
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, BuildPlanned):
                self.total = event.total
            elif isinstance(event, StoreNotice):
                print_line(_store_line(event))
            elif isinstance(event, BuildStarted):
                print_line(f"build {event.name} {event.version}: started")
            elif isinstance(event, BuildFinished):
                self.finished += 1
                took = f" in {event.seconds:.1f} s" if event.seconds else ""
                print_line(f"build {event.name}: {event.status}{took} "
                           f"[{self.finished}/{self.total}]")


class _RichBuild:
    """A live view: one spinner line per package building now, and an overall bar."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.overall: TaskID | None = None  # the bar appears once the run has a plan
        self.tasks: dict[str, TaskID] = {}
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, BuildPlanned):
                self.overall = self.progress.add_task("packages", total=event.total)
            elif isinstance(event, StoreNotice):
                mark = "[yellow]![/]" if event.warning else "[blue]⇅[/]"
                self.progress.console.print(f"{mark} {escape(_store_line(event))}",
                                            highlight=False)
            elif isinstance(event, BuildStarted):
                self.tasks[event.name] = self.progress.add_task(
                    f"{event.name} {event.version}", total=None)
            elif isinstance(event, BuildPhase) and event.name in self.tasks:
                self.progress.update(self.tasks[event.name],
                                     description=f"{event.name}: {event.phase}")
            elif isinstance(event, BuildFinished):
                task = self.tasks.pop(event.name, None)
                if task is not None:
                    self.progress.remove_task(task)
                self.counts[event.status] = self.counts.get(event.status, 0) + 1
                took = f" ({event.seconds:.1f} s)" if event.seconds else ""
                self.progress.console.print(
                    f"{_STATUS_MARK.get(event.status, '?')} {event.name}: {event.status}{took}")
                summary = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items()))
                if self.overall is not None:
                    self.progress.update(self.overall, advance=1, description=summary)


@contextlib.contextmanager
def build_sink(*, plain: bool, quiet: bool) -> Iterator[EventSink]:
    """Build events drawn as a live view on a terminal, as lines elsewhere (with ``quiet``,
    only warnings)."""
    if quiet:
        yield _warnings_only
        return
    if plain:
        yield _PlainBuild()
        return
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=Console(stderr=True), transient=True,
    )
    with progress:
        yield _RichBuild(progress)
