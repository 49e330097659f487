"""Render library events: rich progress bars on a terminal, plain lines elsewhere."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TransferSpeedColumn,
)

from pyodist.events import Event, EventSink, FetchFinished, FetchProgress, FetchStarted

__all__ = ["event_sink", "human_size"]


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
