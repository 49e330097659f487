"""Bundle size and cold start, stock Pyodide core vs our profiles, side by side in one run.

For each of: the stock Pyodide 314.0.7 core (npm package: loader, runtime, stdlib), our
`slim`, `fullstack` and `science` bundles (built first with `pyodist bundle`, cached):
- bytes of what a page must fetch to start Python (loader + asm.mjs + wasm + stdlib) plus,
  for our bundles, all their packages; raw, gzip -9 and brotli -q 11;
- cold start in Node: a fresh `node` process runs the stock `loadPyodide({indexURL,
  lockFileURL})` until Python is ready; median of 5 (and of `import micropip` for slim, of
  loading and importing pandas, scikit-learn and matplotlib for science);
- time to ready in headless Chromium (Debian's, a fresh browser per run, the bundle served
  by `pyodist serve`'s server with its .br siblings), median of 5, for stock core, slim
  and science (and science with the stack loaded and imported).

- with --fast-start instead (`bench/run_all bundle_fast`): the memory snapshot. Stock core,
  slim and `fast` (slim with a snapshot): sizes, cold start in Node, and in Chromium, where
  fast is started the way "Using a bundle" shows (the runtime compiles while the snapshot,
  fetched at low priority, downloads), with the snapshot handed over as a plain promise
  (the loader waits for it before compiling), and served without its .br/.gz siblings (what
  decoding costs; the stock core has none); then the same over an emulated 50 Mbit/s link
  with a 20 ms round trip, the stock core served with brotli siblings too. The Chromium
  runs take turns, one run of each row per round, so a busy spell of the machine falls on
  every row alike.

- with --python-only instead (`bench/run_all bundle_python`): `pyodist python` on fullstack,
  `-c pass` and `-c "import numpy"`, loading packages on import (the default) and all at start
  (`--preload`), next to a bare node process running the stock loader on the same bundle.

Usage: python bench/bundle.py [--runs N] [--python-only | --fast-start]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import brotli

from pyodist.bundle.serve import running_server
from pyodist.bundle.testing import browser_setup
from pyodist.options import (
    DEFAULT_PYODIDE_INTEGRITY,
    DEFAULT_PYODIDE_VERSION,
    RuntimeSpec,
    default_cache_dir,
)
from pyodist.runtime.node import load_bundle, run_harness
from pyodist.runtime.pyodide import ensure_runtime

ROOT = Path(__file__).resolve().parents[1]
START_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
               "pyodide-lock.json")


def sizes(paths: list[Path]) -> tuple[int, int, int]:
    raw = gz = br = 0
    for path in paths:
        data = path.read_bytes()
        raw += len(data)
        gz += len(gzip.compress(data, compresslevel=9, mtime=0))
        br += len(brotli.compress(data, quality=11))
    return raw, gz, br


# the science rows: these packages loaded and their modules imported (pandas, sklearn,
# matplotlib: the lock's imports for them) after Python is ready
STACK = ["pandas", "scikit-learn", "matplotlib"]
STACK_LABEL = "load and import pandas, sklearn, matplotlib"

# the --fast-start rows over a network: Chromium's emulation of a link of this bandwidth and
# round-trip time (a good home connection)
LINK = {"mbps": 50.0, "rtt_ms": 20.0}


def build(profile: str, out: Path, project: Path | None = None) -> Path:
    proc = subprocess.run([sys.executable, "-m", "pyodist", "bundle", "--profile", profile,
                           "--out", str(out), "--json",
                           *(["--project", str(project)] if project else [])],
                          cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "CI": "1"}, check=False)
    if proc.returncode != 0:
        sys.exit(f"pyodist bundle --profile {profile} failed:\n{proc.stderr[-3000:]}")
    return Path(json.loads(proc.stdout)["folder"])


def cold_start(folder: Path, packages: list[str], snapshot: bool) -> float:
    """One fresh Node process: seconds to Python ready, or with ``packages`` to those
    loaded and imported."""
    result = load_bundle(folder, packages, snapshot=snapshot)
    if not result.get("ok"):
        sys.exit(f"loading {folder} failed: {result}")
    return float(result["seconds"] if packages else result["ready_seconds"])


def chromium_ready(folder: Path, runs: int, packages: list[str] | None = None) -> float:
    """Median seconds to Python ready; with ``packages``, to those loaded and imported."""
    setup = browser_setup(ROOT, os.environ.get("PYODIST_CHROMIUM"))
    times = []
    with running_server(folder) as server:
        for _ in range(runs):
            data = run_harness("browser_check.mjs", {"bundleURL": server.url,
                                                     "packages": packages or [],
                                                     "worker": False, "screenshot": None},
                               timeout=600, extra_env=setup.env)
            if data.get("ready_seconds") is None or (packages and not data.get("ok")):
                sys.exit(f"Chromium could not start Python from {folder}: {data}")
            times.append(float(data["ready_seconds"]) + (
                float(data["packages_seconds"]) + float(data["imports_seconds"])
                if packages else 0.0))
    return statistics.median(times)


def python_seconds(folder: Path, runs: int, code: str, *flags: str) -> float:
    """`pyodist python` wall time, a fresh process each run (median)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pyodist", "python", *flags, str(folder),
                               "-c", code], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.exit(f"pyodist python {' '.join(flags)} -c {code!r} failed: {proc.stderr}")
    return statistics.median(times)


def node_seconds(folder: Path, runs: int) -> float:
    """A bare `node` process running the stock loadPyodide on ``folder`` (median)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = load_bundle(folder, [])
        times.append(time.perf_counter() - start)
        if not result.get("ok"):
            sys.exit(f"loading {folder} failed: {result}")
    return statistics.median(times)


NodeRow = tuple[str, int, int, int, float]


def node_rows(cases: list[tuple[str, Path, list[str], bool]], stock: Path,
              runs: int) -> list[NodeRow]:
    """(label, raw, gzip, brotli bytes to start, cold start s) of each (label, folder,
    packages, snapshot) case; sizes are left out (0) for rows that load packages."""
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(runs):  # one run of every case per round
        for i, (_label, folder, packages, snapshot) in enumerate(cases):
            times[i].append(cold_start(folder, packages, snapshot))
    rows = []
    for (label, folder, packages, snapshot), seconds in zip(cases, times, strict=True):
        start = [folder / f for f in START_FILES]
        if folder != stock:
            lock = json.loads((folder / "pyodide-lock.json").read_text())
            start += [folder / p["file_name"] for p in lock["packages"].values()]
        if snapshot:
            start.append(folder / "snapshot.bin")
        raw, gz, br = sizes(start) if not packages else (0, 0, 0)
        rows.append((label, raw, gz, br, statistics.median(seconds)))
    return rows


def chromium_rounds(cases: list[tuple[str, Path, bool, str]], runs: int,
                    link: dict[str, float] | None = None) -> list[tuple[str, float]]:
    """Median seconds to Python ready of each (label, folder, snapshot, snapshotLoad) case,
    one run of every case per round; over an emulated ``link`` ({mbps, rtt_ms}) if given."""
    setup = browser_setup(ROOT, os.environ.get("PYODIST_CHROMIUM"))
    times: dict[str, list[float]] = {label: [] for label, *_ in cases}
    with contextlib.ExitStack() as stack:
        servers = {folder: stack.enter_context(running_server(folder))
                   for folder in {case[1] for case in cases}}
        for _ in range(runs):
            for label, folder, snapshot, how in cases:
                data = run_harness("browser_check.mjs", {
                    "bundleURL": servers[folder].url, "packages": [], "worker": False,
                    "screenshot": None, "snapshot": snapshot, "snapshotLoad": how,
                    "link": link},
                    timeout=600, extra_env=setup.env)
                if data.get("ready_seconds") is None:
                    sys.exit(f"Chromium could not start Python from {folder}: {data}")
                times[label].append(float(data["ready_seconds"]))
    return [(label, statistics.median(times[label])) for label, *_ in cases]


def print_node_rows(rows: list[NodeRow], runs: int) -> None:
    base = rows[0][4]
    node = subprocess.run(["node", "--version"], capture_output=True, text=True,
                          check=False).stdout.strip()
    print(f"Node {node}, {os.cpu_count()} cores; cold start = a fresh process until Python is "
          f"ready, median of {runs} (the rows take turns, one run of each per round):\n")
    print("| bundle | raw MB | gzip MB | brotli MB | cold start s | vs stock |")
    print("|---|---|---|---|---|---|")
    for label, raw, gz, br, seconds in rows:
        size = f"{raw / 1e6:.2f} | {gz / 1e6:.2f} | {br / 1e6:.2f}" if raw else " |  | "
        print(f"| {label} | {size} | {seconds:.2f} | {seconds / base:.2f}x |")


def print_browser_rows(browser: list[tuple[str, float]], runs: int, how: str) -> None:
    print(f"\nHeadless Chromium, from the page's script start to Python ready, median of "
          f"{runs} fresh browsers{how}, served from 127.0.0.1 by `pyodist serve`'s server (a "
          "pyodist bundle with its brotli siblings, so the browser decodes what it fetches; "
          "the stock core has none):\n")
    print_seconds_table(browser)


def print_seconds_table(rows: list[tuple[str, float]]) -> None:
    print("| bundle | seconds | vs stock |")
    print("|---|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} | {seconds / rows[0][1]:.2f}x |")


def fast_start(stock: Path, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        slim = build("slim", Path(tmp))
        fast = build("fast", Path(tmp))
        rows = node_rows([("stock Pyodide 314.0.7 core", stock, [], False),
                          ("pyodist slim", slim, [], False),
                          ("pyodist fast (slim + memory snapshot)", fast, [], True)],
                         stock, runs)
        # the same fast bundle without its .br/.gz siblings: what decoding costs the browser
        fast_raw = Path(tmp) / "fast-uncompressed"
        shutil.copytree(fast, fast_raw, ignore=shutil.ignore_patterns("*.br", "*.gz"))
        browser = chromium_rounds([
            ("stock Pyodide 314.0.7 core", stock, False, ""),
            ("pyodist slim", slim, False, ""),
            ("pyodist fast (slim + memory snapshot)", fast, True, "overlap"),
            ("pyodist fast, the snapshot handed over as a plain promise", fast, True, "promise"),
            ("pyodist fast, served without its .br/.gz siblings", fast_raw, True, "overlap")],
            runs)
        # over a link slower than loopback the transfer counts: the stock core is served
        # with brotli siblings too, as a CDN would serve it
        stock_br = Path(tmp) / "stock-br"
        shutil.copytree(stock, stock_br)
        for name in START_FILES:
            data = (stock_br / name).read_bytes()
            (stock_br / f"{name}.br").write_bytes(brotli.compress(data, quality=11))
        over_link = chromium_rounds([
            ("stock Pyodide 314.0.7 core, with .br siblings", stock_br, False, ""),
            ("pyodist slim", slim, False, ""),
            ("pyodist fast (slim + memory snapshot)", fast, True, "overlap"),
            ("pyodist fast, the snapshot handed over as a plain promise", fast, True, "promise")],
            runs, LINK)
        snap_raw, _, snap_br = sizes([fast / "snapshot.bin"])
    print_node_rows(rows, runs)
    print_browser_rows(browser, runs, " (the rows take turns, one run of each per round)")
    print(f"\nThe same over a link Chromium emulates ({LINK['mbps']:.0f} Mbit/s, "
          f"{LINK['rtt_ms']:.0f} ms round trip), the rows taking turns:\n")
    print_seconds_table(over_link)
    print(f"\nThe memory snapshot of `fast`: {snap_raw / 1e6:.2f} MB raw, {snap_br / 1e6:.2f} MB "
          "brotli (in the fast row's sizes above).")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--python-only", action="store_true",
                      help="only the `pyodist python` rows (fullstack bundle)")
    mode.add_argument("--fast-start", action="store_true",
                      help="only the memory-snapshot rows: stock core, slim and fast")
    args = parser.parse_args()
    if args.python_only:
        with tempfile.TemporaryDirectory() as tmp:
            print_python_rows(python_rows_of(build("fullstack", Path(tmp)), args.runs), args.runs)
        return
    stock = ensure_runtime(RuntimeSpec(DEFAULT_PYODIDE_VERSION, DEFAULT_PYODIDE_INTEGRITY),
                           default_cache_dir(os.environ))
    if args.fast_start:
        fast_start(stock, args.runs)
        return
    with tempfile.TemporaryDirectory() as tmp:
        slim = build("slim", Path(tmp))
        full = build("fullstack", Path(tmp))
        science = build("science", Path(tmp))
        rows = node_rows([("stock Pyodide 314.0.7 core", stock, [], False),
                          ("pyodist slim", slim, [], False),
                          ("pyodist slim + import micropip", slim, ["micropip"], False),
                          ("pyodist fullstack", full, [], False),
                          ("pyodist science", science, [], False),
                          (f"pyodist science + {STACK_LABEL}", science, STACK, False)],
                         stock, args.runs)
        browser = [("stock Pyodide 314.0.7 core", chromium_ready(stock, args.runs)),
                   ("pyodist slim", chromium_ready(slim, args.runs)),
                   ("pyodist science", chromium_ready(science, args.runs)),
                   (f"pyodist science + {STACK_LABEL}",
                    chromium_ready(science, args.runs, packages=STACK))]
    print_node_rows(rows, args.runs)
    print_browser_rows(browser, args.runs, "")


def python_rows_of(full: Path, runs: int) -> list[tuple[str, float]]:
    return [
        ("bare loadPyodide on fullstack (node process)", node_seconds(full, runs)),
        ("pyodist python fullstack -c pass", python_seconds(full, runs, "pass")),
        ("pyodist python --preload fullstack -c pass (all packages at start)",
         python_seconds(full, runs, "pass", "--preload")),
        ("pyodist python fullstack -c 'import numpy'", python_seconds(full, runs, "import numpy")),
        ("pyodist python --preload fullstack -c 'import numpy'",
         python_seconds(full, runs, "import numpy", "--preload")),
    ]


def print_python_rows(python_rows: list[tuple[str, float]], runs: int) -> None:
    print(f"`pyodist python`, wall time of a fresh process (pyodist's own start-up included), "
          f"median of {runs}:\n")
    print("| what | seconds | vs bare loadPyodide |")
    print("|---|---|---|")
    for label, seconds in python_rows:
        print(f"| {label} | {seconds:.2f} | {seconds / python_rows[0][1]:.2f}x |")


if __name__ == "__main__":
    main()
