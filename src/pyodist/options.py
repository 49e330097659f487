"""Options resolved in one place: command line, then environment, then defaults.

Nothing below the CLI reads ``os.environ`` or ``Path.cwd()``; it is handed an
:class:`Options`. Tests build one directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENV_PREFIX", "Options", "resolve_options"]

ENV_PREFIX = "PYODIST_"
DEFAULT_RECIPE_DIR = "recipes"


@dataclass(frozen=True)
class Options:
    project_root: Path
    recipe_dirs: tuple[Path, ...]
    debug: bool = False
    # plain line output instead of live terminal widgets (set on CI and when not a tty)
    plain: bool = False


def _split_dirs(value: str, base: Path) -> tuple[Path, ...]:
    return tuple((base / part).resolve() for part in value.split(os.pathsep) if part)


def resolve_options(
    *,
    cwd: Path,
    environ: Mapping[str, str],
    recipe_dirs: Sequence[str] = (),
    debug: bool = False,
    is_tty: bool = False,
) -> Options:
    """Merge flag values with ``PYODIST_*`` variables and defaults.

    ``--recipe-dir`` (repeatable) wins over ``PYODIST_RECIPE_DIRS`` (``os.pathsep``-separated),
    which wins over ``./recipes``. Directories later in the list override earlier ones.
    """
    root = cwd.resolve()
    if recipe_dirs:
        dirs = tuple((root / d).resolve() for d in recipe_dirs)
    elif environ.get(f"{ENV_PREFIX}RECIPE_DIRS"):
        dirs = _split_dirs(environ[f"{ENV_PREFIX}RECIPE_DIRS"], root)
    else:
        dirs = ((root / DEFAULT_RECIPE_DIR).resolve(),)
    plain = bool(environ.get("CI")) or not is_tty
    return Options(
        project_root=root,
        recipe_dirs=dirs,
        debug=debug or environ.get(f"{ENV_PREFIX}DEBUG", "") not in ("", "0"),
        plain=plain,
    )
