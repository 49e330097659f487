"""One root error type for everything pyodist reports to a user.

Each subclass has its own exit code, so CI scripts can tell a bad recipe (3) from a failed
build (8) without parsing text. ``cli.main`` catches :class:`PyodistError` once and prints
``str(error)``; a traceback is shown only with ``--debug``. Third-party exceptions are
wrapped where they enter our code, never allowed to reach the user raw.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

__all__ = [
    "EXIT_CODES",
    "HOST_ERRNOS",
    "INTERNAL_ERROR_EXIT",
    "INTERRUPTED_EXIT",
    "PATH_ERRNOS",
    "BuildError",
    "BundleError",
    "ConfigError",
    "GraphError",
    "HostError",
    "Problem",
    "PyodistError",
    "RecipeError",
    "RuntimeCheckError",
    "SelectionError",
    "SourceError",
    "StoreError",
    "ToolchainError",
    "UsageError",
    "VerifyError",
    "exit_code_summary",
]

# Not errors of a kind: Ctrl-C / SIGTERM, and a bug in pyodist (a traceback is printed).
INTERRUPTED_EXIT = 130
INTERNAL_ERROR_EXIT = 70


class PyodistError(Exception):
    """Root of every error pyodist raises on purpose.

    ``message`` says what is wrong; ``hint`` says what to do about it.
    """

    exit_code: ClassVar[int] = 1
    kind: ClassVar[str] = "error"  # how the exit-code table names it

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  fix: {self.hint}"
        return self.message


class UsageError(PyodistError):
    """The command line itself is wrong (unknown option, bad selection syntax)."""

    exit_code = 2
    kind = "usage"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input file, located as precisely as we can.

    Rendered as ``recipes/six/meta.yaml:7:3: source/url: <message>`` followed by an
    indented ``fix:`` line when a hint is known.
    """

    file: Path | None
    key: str | None
    message: str
    hint: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def location(self) -> str:
        parts = [str(self.file) if self.file is not None else "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        # a problem with no file (an environment variable, a command-line value) is named by
        # its key alone
        head = f"{self.location}: " if self.file is not None else ""
        if self.key:
            head += f"{self.key}: "
        text = head + self.message
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class _ProblemsError(PyodistError):
    """An error made of one or more located :class:`Problem` entries."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("an error needs at least one problem")
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return self.message


class RecipeError(_ProblemsError):
    """A ``meta.yaml`` is unreadable or invalid."""

    exit_code = 3
    kind = "recipe"


class GraphError(PyodistError):
    """The recipes do not form a buildable graph (unknown dependency, cycle, bad selection)."""

    exit_code = 4
    kind = "graph"


class SelectionError(GraphError):
    """A selection (``*``, ``NAME``, ``tag:TAG``) that names nothing buildable."""


class ConfigError(_ProblemsError):
    """A configuration file (``pyodist.toml``, environment) is invalid."""

    exit_code = 5
    kind = "config"

    @classmethod
    def single(
        cls, message: str, *, file: Path | None = None, key: str | None = None,
        hint: str | None = None,
    ) -> ConfigError:
        return cls([Problem(file=file, key=key, message=message, hint=hint)])


class SourceError(PyodistError):
    """A source could not be fetched, verified, extracted or patched."""

    exit_code = 6
    kind = "source"


class ToolchainError(PyodistError):
    """The Docker engine, the toolchain image or a host tool is missing or broken."""

    exit_code = 7
    kind = "toolchain"


class BuildError(PyodistError):
    """One or more packages failed to build."""

    exit_code = 8
    kind = "build"

    def __init__(
        self, message: str, *, hint: str | None = None, failed: Sequence[str] = ()
    ) -> None:
        super().__init__(message, hint=hint)
        self.failed = tuple(failed)


class BundleError(PyodistError):
    """A bundle could not be assembled (size budget, missing wheel, bad profile)."""

    exit_code = 9
    kind = "bundle"


class VerifyError(PyodistError):
    """A bundle does not match its manifest, or a rebuild is not byte-identical."""

    exit_code = 10
    kind = "verify"


class StoreError(PyodistError):
    """The remote artifact store (an OCI registry) cannot be used."""

    exit_code = 12
    kind = "artifact store"


class HostError(PyodistError):
    """The host refused a read or write: a full disk, a read-only folder, a closed output."""

    exit_code = 13
    kind = "host files"


# the errors of the host's file system that are the user's to fix, not pyodist's bugs
HOST_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                         errno.EIO, errno.EFBIG})
# a path given (or made from what was given) that cannot be used as it is: also exit 13
PATH_ERRNOS = frozenset({errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG,
                         errno.ELOOP, errno.ENOENT, errno.ENXIO, errno.ENOTEMPTY})


class RuntimeCheckError(PyodistError):
    """A package failed to load or pass its tests inside the Pyodide runtime."""

    exit_code = 11
    kind = "runtime check"


def _kinds() -> list[type[PyodistError]]:
    found: list[type[PyodistError]] = []
    todo = [PyodistError]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls is not PyodistError and not cls.__name__.startswith("_"):
            found.append(cls)
    return found


# The one table of exit codes: every command exits with one of these.
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, "ok"),
    *sorted({(cls.exit_code, cls.kind) for cls in _kinds()}),
    (INTERNAL_ERROR_EXIT, "internal error"),
    (INTERRUPTED_EXIT, "interrupted"),
)


def exit_code_summary(codes: Iterable[tuple[int, str]] = EXIT_CODES) -> str:
    """``0 ok, 2 usage, 3 recipe, ...``: the table in one line, for --help texts."""
    return ", ".join(f"{code} {what}" for code, what in codes)
