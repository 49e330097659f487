"""Build steps run directly on the host, for users who have emcc and pyodide-build on PATH."""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from pyodist.errors import ToolchainError
from pyodist.options import StepLimits
from pyodist.toolchain.executor import QuotaWatch, Step, StepResult, killpg, open_log

__all__ = ["HostExecutor"]


class HostExecutor:
    """Runs steps directly on the host, for users who have emcc and pyodide-build on PATH."""

    kind: ClassVar[str] = "host"

    def __init__(self, *, base_env: Mapping[str, str], limits: StepLimits | None = None) -> None:
        self.base_env = dict(base_env)
        self.limits = limits or StepLimits()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def guest_path(self, host: Path) -> str:
        return str(host)

    def lend(self, host: Path, *, private: bool = False) -> str | None:
        return None

    def run(self, step: Step) -> StepResult:
        timeout = step.timeout if step.timeout is not None else self.limits.step_timeout
        start = time.monotonic()
        with open_log(step.log) as log:
            log.write(f"+ {shlex.join(step.argv)}\n".encode())
            log.flush()
            try:
                proc = subprocess.Popen(
                    step.argv, cwd=step.cwd, env={**self.base_env, **step.env},
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
            except FileNotFoundError:
                raise ToolchainError(f"{step.argv[0]!r} was not found on the host",
                                     hint="install the tool, or use the Docker executor") from None
            with QuotaWatch(step.quota_dir, self.limits.disk_quota,
                             lambda: killpg(proc.pid)) as watch:
                try:
                    code = proc.wait(timeout=timeout)
                    timed_out = False
                except subprocess.TimeoutExpired:
                    killpg(proc.pid)
                    code = proc.wait()
                    timed_out = True
                except BaseException:
                    killpg(proc.pid)
                    proc.wait()
                    raise
        return StepResult(step.name, code, time.monotonic() - start, timed_out,
                          watch.exceeded)
