"""Build engine costs, measured side by side in one run.

- cold build of the recipes (numpy excluded unless --numpy) at -j1 and at -j2, each into a
  fresh cache that is pre-seeded with the downloaded sources and build-backend wheels (so the
  figure is build time, not network time), import checks included;
- cold builds of openblas, of numpy against it, and of numpy-noblas (meson cross builds,
  a few minutes each on 2 cores);
- the no-op rebuild against the warm cache of the -j2 run, and of all of recipes/ (numpy
  included) against the user's cache;
- with --science instead: the cold build of the science profile's whole closure (openblas,
  numpy, SciPy, pandas, matplotlib, scikit-learn and their libraries) at -j2, and its no-op.

Usage: python bench/build.py [--numpy | --science]   (needs the toolchain image and Docker)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
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
    parser.add_argument("--science", action="store_true",
                        help="only the science profile's closure, cold at -j2 and no-op")
    args = parser.parse_args()
    if args.science:
        science_rows()
        return
    # the science stack needs numpy: leaving out tag:science alone would bring it back
    selection = ["*", "!tag:science-stack"] if args.numpy else \
        ["*", "!tag:science", "!tag:science-stack"]
    what = "recipes/ without the science stack" if args.numpy else \
        "recipes/ without tag:science and the science stack"
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
            # the no-op figure that matters: all of recipes/ when cached
            user = default_cache_dir(os.environ)
            full = [timed(["build", "*"], user) for _ in range(3)]
            rows.append(("no-op rebuild of all recipes/ (user cache, best of 3)",
                         min(full), j1 / min(full)))
    print("| what | seconds | vs -j1 |")
    print("|---|---|---|")
    for label, seconds, ratio in rows:
        print(f"| {label} | {seconds:.2f} | {ratio:.1f}x |")


def science_rows() -> None:
    """The science profile's closure: one cold -j2 build (about an hour on 2 cores), its no-op,
    and each package's own build time from the build's JSON report."""
    profile = tomllib.loads((ROOT / "pyodist.toml").read_text())["profiles"]["science"]
    selection = list(profile["packages"])
    timed(["fetch", *selection], default_cache_dir(os.environ))  # sources, not build time
    with tempfile.TemporaryDirectory() as tmp:
        cache = seeded_cache(Path(tmp), "science")
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pyodist", "--cache-dir", str(cache),
                               "build", *selection, "-j", "2", "--json"], cwd=ROOT,
                              env={**os.environ, "CI": "1"}, capture_output=True, text=True,
                              check=False)
        cold = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"the science build failed:\n{proc.stderr[-3000:]}")
        report = json.loads(proc.stdout)
        noop = min(timed(["build", *selection], cache) for _ in range(3))
    built = {n: p.get("seconds") or 0.0 for n, p in report["packages"].items()}
    print(f"The science profile ({', '.join(selection)}) with everything it needs: "
          f"{len(built)} packages.\n")
    print("| what | seconds | minutes |")
    print("|---|---|---|")
    print(f"| cold build of the whole closure, -j2 (2 cores) | {cold:.0f} | {cold / 60:.1f} |")
    print(f"| no-op rebuild (best of 3) | {noop:.2f} | |")
    for name, seconds in sorted(built.items(), key=lambda kv: -kv[1])[:8]:
        print(f"| {name} alone, in that build | {seconds:.0f} | {seconds / 60:.1f} |")


if __name__ == "__main__":
    main()
