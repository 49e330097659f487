"""Build engine costs, measured side by side in one run.

- cold build of the recipes (numpy excluded unless --numpy) at -j1 and at -j2, each into a
  fresh cache that is pre-seeded with the downloaded sources and build-backend wheels (so the
  figure is build time, not network time), import checks included;
- cold builds of openblas, of numpy against it, and of numpy-noblas (meson cross builds,
  a few minutes each on 2 cores);
- the no-op rebuild against the warm cache of the -j2 run, and of all of recipes/ (numpy
  included) against the user's cache.

Usage: python bench/build.py [--numpy]   (needs the toolchain image and a Docker engine)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyodist.options import default_cache_dir

ROOT = Path(__file__).resolve().parents[1]


def timed(argv: list[str], cache: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pyodist", "--cache-dir", str(cache), *argv],
                          cwd=ROOT, env={**os.environ, "CI": "1"}, capture_output=True,
                          text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"pyodist {' '.join(argv)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds


def seeded_cache(parent: Path, name: str) -> Path:
    """A fresh cache holding only what was downloaded before: sources and backend wheels."""
    cache = parent / name
    user = default_cache_dir(os.environ)
    for part in ("sources", "backends", "runtime"):
        if (user / part).is_dir():
            shutil.copytree(user / part, cache / part, symlinks=True)
    return cache


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numpy", action="store_true", help="include numpy in the cold builds")
    args = parser.parse_args()
    selection = ["*"] if args.numpy else ["*", "!tag:science"]
    what = "recipes/" if args.numpy else "recipes/ without tag:science"
    # one warm-up build fills the user cache with every source and backend wheel
    timed(["build", *selection, "-j", "2"], default_cache_dir(os.environ))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        j1 = timed(["build", *selection, "-j", "1"], seeded_cache(Path(tmp), "j1"))
        rows.append((f"cold build of {what}, -j1", j1, 1.0))
        warm = seeded_cache(Path(tmp), "j2")
        j2 = timed(["build", *selection, "-j", "2"], warm)
        rows.append((f"cold build of {what}, -j2", j2, j1 / j2))
        noop = min(timed(["build", *selection], warm) for _ in range(3))
        rows.append((f"no-op rebuild of {what} (best of 3)", noop, j1 / noop))
        if not args.numpy:
            science = seeded_cache(Path(tmp), "numpy")
            openblas = timed(["build", "openblas"], science)
            rows.append(("cold build of openblas (2 cores)", openblas, j1 / openblas))
            numpy = timed(["build", "numpy"], science)
            rows.append(("cold build of numpy against it (2 cores, import check incl.)", numpy,
                         j1 / numpy))
            noblas = timed(["build", "numpy-noblas"], science)
            rows.append(("cold build of numpy-noblas (2 cores, import check incl.)", noblas,
                         j1 / noblas))
            # the no-op figure that matters: all of recipes/, numpy included, when cached
            user = default_cache_dir(os.environ)
            full = [timed(["build", "*"], user) for _ in range(3)]
            rows.append(("no-op rebuild of all recipes/ (user cache, best of 3)",
                         min(full), j1 / min(full)))
    print("| what | seconds | vs -j1 |")
    print("|---|---|---|")
    for label, seconds, ratio in rows:
        print(f"| {label} | {seconds:.2f} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
