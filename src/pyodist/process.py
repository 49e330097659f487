"""Every subprocess pyodist starts goes through :func:`run`.

It logs ``+ cmd`` (to the package's log file when one is given), captures output, enforces an
optional time limit, and turns "tool not found" into a :class:`ToolchainError` that says which
tool and how to get it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pyodist.errors import ToolchainError

__all__ = ["CommandResult", "child_env", "pid_alive", "run"]

# Where to get the tools pyodist calls, for the "not found" message.
_INSTALL_HINTS = {
    "patch": "apt-get install patch",
    "docker": "apt-get install docker.io",
    "node": "apt-get install nodejs",
    "npm": "apt-get install npm",
    "tar": "apt-get install tar",
    "debootstrap": "apt-get install debootstrap",
}


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a child process starts with: pyodist's own, plus ``extra``.

    The one place (with :mod:`pyodist.options`) that touches ``os.environ``: children inherit
    it (PATH, HOME, proxies), settings are never read from it here.
    """
    return {**os.environ, **(extra or {})}


@dataclass(frozen=True)
class CommandResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 20) -> str:
        """The last lines of combined output, for error messages."""
        text = (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr)
        return "\n".join(text.rstrip().splitlines()[-lines:])


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
    log: TextIO | None = None,
    timeout: float | None = None,
    input_text: str | None = None,
) -> CommandResult:
    """Run ``args`` and return its output; never raises for a non-zero exit code.

    The child inherits pyodist's environment, with ``extra_env`` on top.

    Raises ToolchainError when the program does not exist or the time limit passes.
    """
    argv = tuple(str(a) for a in args)
    if log is not None:
        log.write(f"+ {shlex.join(argv)}\n")
        log.flush()
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=child_env(extra_env) if extra_env else None, input=input_text,
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except FileNotFoundError:
        tool = argv[0]
        hint = _INSTALL_HINTS.get(Path(tool).name, f"install {tool!r} and make sure it is on PATH")
        raise ToolchainError(f"{tool!r} was not found", hint=hint) from None
    except subprocess.TimeoutExpired:
        raise ToolchainError(
            f"{shlex.join(argv)} did not finish within {timeout:.0f} s",
            hint="look for a hung process, or raise the time limit",
        ) from None
    if log is not None:
        log.write(proc.stdout)
        log.write(proc.stderr)
        log.flush()
    return CommandResult(argv, proc.returncode, proc.stdout, proc.stderr)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (used to spot crashed runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
