"""Where a build run works: its run folder on the host, and the fixed paths the toolchain sees.

In-container locations are fixed (the Docker executor mounts the run folder and the
wheelhouse there), so that no random host path can end up inside a build's output. A run
folder carries the pid of its run, so a later run can tell a killed run's folder from a live
one and remove it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from pyodist.fsutil import remove_stale

__all__ = ["GUEST_WHEELHOUSE", "GUEST_WORK", "IMAGE_WHEELHOUSE", "driver_digest", "driver_path",
           "kept_folder", "remove_stale_run_folders", "run_folder"]

GUEST_WORK = "/pyodist/work"
GUEST_WHEELHOUSE = "/pyodist/wheelhouse"
# the build-backend wheels baked into the toolchain image
IMAGE_WHEELHOUSE = "/opt/wheelhouse"
_RUN_FOLDER = re.compile(r"^run-(?P<pid>\d+)-\d+\Z")  # run-<pid>-<unix time>


def driver_path() -> Path:
    """The in-toolchain build driver, ``guest_build.sh``, shipped inside the package."""
    return Path(str(resources.files("pyodist.builder") / "guest_build.sh"))


def driver_digest() -> str:
    """A short digest of the driver's text: part of every cache key."""
    return hashlib.sha256(driver_path().read_text().encode()).hexdigest()[:16]


def remove_stale_run_folders(root: Path) -> list[Path]:
    """Remove the run folders of killed runs (whose process is gone).

    Stop their build containers first: a step still running there writes into the folder
    while it is being removed.
    """
    return remove_stale(root, _RUN_FOLDER)


def kept_folder(folder: Path) -> Path:
    """Where a run folder kept with ``--keep-work`` ends up (``kept-<pid>-<time>``)."""
    return folder.with_name("kept-" + folder.name.removeprefix("run-"))


@contextlib.contextmanager
def run_folder(root: Path, *, keep: bool = False) -> Iterator[Path]:
    """A fresh work folder for one build run, removed afterwards unless ``keep``.

    A kept folder is renamed to ``kept-<pid>-<time>`` when the run ends: under its
    ``run-`` name the next pyodist run sharing the cache (whose process check finds this
    run gone) would remove it as a killed run's leftover.
    """
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_run_folders(root)
    folder = root / f"run-{os.getpid()}-{int(time.time())}"
    folder.mkdir()
    try:
        yield folder
    finally:
        if keep:
            folder.rename(kept_folder(folder))
        else:
            shutil.rmtree(folder, ignore_errors=True)
