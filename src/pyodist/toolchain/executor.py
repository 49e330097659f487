"""Where build steps run: the one protocol every executor satisfies, and what they share.

A build opens one executor for the whole run and runs each step with :meth:`Executor.run`.
Steps name host paths; the executor maps them to what its processes see
(:meth:`Executor.guest_path`). The executors are :class:`pyodist.toolchain.docker.DockerExecutor`
(one long-lived, network-less container) and :class:`pyodist.toolchain.host.HostExecutor`;
:mod:`pyodist.toolchain.registry` is where a run picks one by name.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self

from pyodist.options import StepLimits

__all__ = ["Executor", "Mount", "QuotaWatch", "Step", "StepResult", "folder_size", "killpg",
           "open_log"]


@dataclass(frozen=True)
class Mount:
    host: Path
    guest: str
    read_only: bool = True


@dataclass(frozen=True)
class Step:
    """One command of a build. Paths are host paths; the executor maps them."""

    name: str
    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    log: Path | None = None
    timeout: float | None = None  # overrides StepLimits.step_timeout
    # the folder the step writes to: its size is held to StepLimits.disk_quota while it runs
    quota_dir: Path | None = None
    user: str | None = None  # run as this "uid:gid" (from Executor.lend); None: the default

    @classmethod
    def script(cls, name: str, script: str, cwd: Path, **kw: Any) -> Step:
        """A bash script step (recipe `script`/`post` blocks): fails on the first error."""
        return cls(name, ("bash", "-eo", "pipefail", "-c", script), cwd, **kw)

    def with_args(self, *args: str) -> Step:
        """The same step with ``args`` appended (a script's ``$0 $1 ...``)."""
        return dataclasses.replace(self, argv=(*self.argv, *args))


@dataclass(frozen=True)
class StepResult:
    name: str
    returncode: int
    seconds: float
    timed_out: bool
    quota_exceeded: bool = False

    @property
    def killed(self) -> bool:
        """Ended by SIGKILL without a time or disk limit being the reason (memory, usually)."""
        return self.returncode in (137, -9) and not self.timed_out and not self.quota_exceeded

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Executor(Protocol):
    """Runs build steps; used as a context manager for one pyodist run."""

    kind: ClassVar[str]
    limits: StepLimits

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def guest_path(self, host: Path) -> str: ...

    def lend(self, host: Path, *, private: bool = False) -> str | None:
        """Make a folder created after start-up writable for the steps that work in it.

        ``private``: the folder gets a user of its own where the executor can arrange that
        (a root caller in Docker), so that steps working in it cannot write anywhere else.
        Returns the user those steps should run as (``Step.user``), or None for the default.
        """

    def run(self, step: Step) -> StepResult: ...


def folder_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (links not followed; vanishing files skipped)."""
    total = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        continue
        except OSError:
            continue
    return total


class QuotaWatch:
    """Polls a folder's size while a step runs; calls ``kill`` once it passes ``limit``."""

    def __init__(self, folder: Path | None, limit: int | None, kill: Callable[[], None],
                 interval: float = 0.5) -> None:
        self.folder, self.limit, self.kill, self.interval = folder, limit, kill, interval
        self.exceeded = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        if self.folder is not None and self.limit is not None:
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()
        return self

    def _watch(self) -> None:
        folder, limit = self.folder, self.limit
        if folder is None or limit is None:
            return
        while not self._stop.wait(self.interval):
            if folder_size(folder) > limit:
                self.exceeded = True
                self.kill()
                return

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def open_log(path: Path | None) -> Any:
    if path is None:
        return Path(os.devnull).open("ab")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("ab")


def killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
