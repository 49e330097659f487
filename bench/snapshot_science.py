"""Start-up with the science stack imported: stock Pyodide vs a bundle vs its memory snapshot.

For numpy, pandas, matplotlib (Agg) and SciPy (each on numpy), side by side in one run, in
Node, each row the wall time of a fresh process from start to the first result (median of
--runs, default 5):

- stock: the Pyodide core of the pinned runtime, `loadPyodide()` then `loadPackage()` of the
  same wheels (file URLs), then the import and a first operation;
- bundle: the `numpy-fast` / `pandas-fast` bundle with `pyodist python --no-snapshot` (its
  packages installed when first imported, the start-up modules precompiled);
- snapshot: the same bundle from its memory snapshot, where the packages are imported
  already and their compiled modules are instantiated again by the bundle's
  `pyodist-snapshot.mjs`: through `pyodist python` (which adds its own Python start-up), and
  from a bare `node` script that calls the loader as a program embedding the bundle would.

And in headless Chromium (the bundle served over http on 127.0.0.1, a fresh page each run,
seconds from the page's start until the packages are loaded and imported):

- stock: the runtime's own files with the same wheels and lock beside them, `loadPyodide()`
  then `loadPackage()` of the stack;
- bundle, no snapshot: the same through the bundle's files;
- snapshot: the bundle started from its snapshot by `pyodist-snapshot.mjs`, then the same
  `loadPackage()` (which finds the stack loaded) and imports.

Also: the snapshot's size, raw and brotli'd.
Usage: python bench/snapshot_science.py [--runs N] [--no-chromium]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyodist.bundle.serve import running_server
from pyodist.bundle.testing import browser_setup
from pyodist.runtime.node import run_harness

ROOT = Path(__file__).resolve().parents[1]
# profile, the code each Node row runs, the packages each Chromium row loads and imports
CASES = {
    "numpy": ("numpy-fast",
              "import numpy as np; print(float((np.arange(1000.0) @ np.arange(1000.0))))"),
    "pandas": ("pandas-fast",
               "import pandas as pd, numpy as np; "
               "df = pd.DataFrame({'a': np.arange(6), 'b': list('xyzxyz')}); "
               "print(df.groupby('b')['a'].sum().to_dict())"),
    "matplotlib": ("plot-fast",
                   "import io, numpy as np; from matplotlib.figure import Figure; "
                   "from matplotlib.backends.backend_agg import FigureCanvasAgg; "
                   "fig = Figure(figsize=(2, 2)); FigureCanvasAgg(fig); "
                   "fig.add_subplot().plot(np.arange(9.0)); b = io.BytesIO(); "
                   "fig.savefig(b, format='png'); print(len(b.getvalue()))"),
    "scipy": ("scipy-fast",
              "import numpy as np; from scipy import linalg, stats; "
              "print(linalg.solve(np.eye(3) * 2.0, np.ones(3)), stats.norm.cdf(1.0))"),
}
PACKAGES = {"numpy": {"numpy"}, "pandas": {"numpy", "pandas"},
            "matplotlib": {"numpy", "matplotlib"}, "scipy": {"numpy", "scipy"}}
STOCK = r"""
import { pathToFileURL } from "node:url";
const [runtime, code, ...wheels] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(runtime + "/pyodide.mjs").href);
const py = await loadPyodide({ indexURL: runtime + "/" });
await py.loadPackage(wheels.map((w) => pathToFileURL(w).href), { messageCallback: () => {} });
py.runPython(code);
"""
# what a page or a Node program embedding the bundle does: loadPyodide with its loader
LOADER = r"""
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { inflateRawSync } from "node:zlib";
const [dir, code] = process.argv.slice(2);
const { snapshotStart } = await import(pathToFileURL(dir + "/pyodist-snapshot.mjs").href);
const info = JSON.parse(readFileSync(dir + "/snapshot.json", "utf8"));
const start = await snapshotStart({
  info, bytes: new Uint8Array(readFileSync(dir + "/snapshot.bin")), inflate: inflateRawSync,
  readFile: async (name) => new Uint8Array(readFileSync(dir + "/" + name)),
  createModule: (await import(pathToFileURL(dir + "/pyodide.asm.mjs").href)).default,
});
const { loadPyodide } = await import(pathToFileURL(dir + "/pyodide.mjs").href);
const py = await loadPyodide({ indexURL: dir + "/", ...start.options });
await start.finish(py);
py.runPython(code);
"""


def _wall(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False,
                          timeout=600)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[:4])} ... failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-chromium", action="store_true", help="Node rows only")
    args = parser.parse_args()
    rows = []
    browser_rows = []
    with tempfile.TemporaryDirectory(prefix="pyodist-snapbench-") as tmp:
        work = Path(tmp)
        (work / "stock.mjs").write_text(STOCK)
        (work / "loader.mjs").write_text(LOADER)
        runtime = _runtime()
        for name, (profile, code) in CASES.items():
            made = subprocess.run([sys.executable, "-m", "pyodist", "bundle", "--profile",
                                   profile, "--out", str(work / profile), "--json"], cwd=ROOT,
                                  capture_output=True, text=True, check=False)
            if made.returncode != 0:
                sys.exit(f"bundle {profile} failed:\n{made.stderr[-3000:]}")
            folder = Path(json.loads(made.stdout)["folder"])
            lock = json.loads((folder / "pyodide-lock.json").read_text())
            wheels = [str(folder / p["file_name"]) for p in lock["packages"].values()]
            py = [sys.executable, "-m", "pyodist", "python"]
            ways = {
                "stock loadPyodide + loadPackage": ["node", str(work / "stock.mjs"),
                                                    str(runtime), code, *wheels],
                "bundle, no snapshot": [*py, "--no-snapshot", str(folder), "-c", code],
                "bundle from its snapshot (pyodist python)": [*py, str(folder), "-c", code],
                "bundle from its snapshot (node + pyodist-snapshot.mjs)": [
                    "node", str(work / "loader.mjs"), str(folder), code],
            }
            times: dict[str, list[float]] = {way: [] for way in ways}
            for _ in range(args.runs):  # interleaved, so that load affects every way alike
                for way, argv in ways.items():
                    times[way].append(_wall(argv, work))
            stock = statistics.median(times["stock loadPyodide + loadPackage"])
            for way, seconds in times.items():
                median = statistics.median(seconds)
                rows.append((name, way, median, median / stock))
            if not args.no_chromium:
                browser_rows += _chromium_rows(
                    name, folder, runtime, work / f"stock-{name}", runs=args.runs,
                    packages=[p["name"] for p in lock["packages"].values()
                              if p["name"] in PACKAGES[name]])
            raw = (folder / "snapshot.bin").stat().st_size
            brotli = (folder / "snapshot.bin.br").stat().st_size
            rows.append((name, f"snapshot.bin: {raw / 1e6:.1f} MB raw, {brotli / 1e6:.1f} MB "
                               "brotli", None, None))
    print(f"Node, a fresh process to the first result, median of {args.runs} runs "
          "(interleaved), 2 cores:\n")
    print("| stack | way | seconds | vs stock |")
    print("|---|---|---|---|")
    for name, way, seconds, ratio in rows:
        if seconds is None:
            print(f"| {name} | {way} | | |")
        else:
            print(f"| {name} | {way} | {seconds:.2f} | {ratio:.2f}x |")
    if browser_rows:
        print(f"\nChromium (headless), a fresh page to the stack loaded and imported, median of "
              f"{args.runs} runs (interleaved):\n")
        print("| stack | way | seconds | vs stock |")
        print("|---|---|---|---|")
        for name, way, seconds, ratio in browser_rows:
            print(f"| {name} | {way} | {seconds:.2f} | {ratio:.2f}x |")


def _chromium_rows(name: str, folder: Path, runtime: Path, stock: Path, *,
                   packages: list[str], runs: int) -> list[tuple[str, str, float, float]]:
    """Chromium rows of one stack: stock files + the bundle's wheels, the bundle without and
    with its snapshot; each the seconds to Python ready + loadPackage + imports."""
    stock.mkdir()
    for item in runtime.iterdir():
        if item.is_file() and item.name != "pyodide-lock.json":
            shutil.copy2(item, stock / item.name)
    shutil.copy2(folder / "pyodide-lock.json", stock / "pyodide-lock.json")
    lock = json.loads((folder / "pyodide-lock.json").read_text())
    for entry in lock["packages"].values():
        shutil.copy2(folder / entry["file_name"], stock / entry["file_name"])
    setup = browser_setup(ROOT, os.environ.get("PYODIST_CHROMIUM"))
    ways = [("stock loadPyodide + loadPackage", stock, False),
            ("bundle, no snapshot", folder, False),
            ("bundle from its snapshot (pyodist-snapshot.mjs)", folder, True)]
    times: dict[str, list[float]] = {way: [] for way, *_ in ways}
    with running_server(stock) as stock_server, running_server(folder) as bundle_server:
        urls = {stock: stock_server.url, folder: bundle_server.url}
        for _ in range(runs):
            for way, where, snapshot in ways:
                data = run_harness("browser_check.mjs", {
                    "bundleURL": urls[where], "packages": packages, "worker": False,
                    "screenshot": None, "snapshot": snapshot}, timeout=600,
                    extra_env=setup.env)
                if not data.get("ok"):
                    sys.exit(f"Chromium, {name}, {way}: {json.dumps(data)[:3000]}")
                times[way].append(float(data["ready_seconds"]) + float(data["packages_seconds"])
                                  + float(data["imports_seconds"]))
    base = statistics.median(times[ways[0][0]])
    return [(name, way, statistics.median(t), statistics.median(t) / base)
            for way, t in times.items()]


def _runtime() -> Path:
    found = sorted((Path.home() / ".cache" / "pyodist" / "runtime").glob("pyodide-314.0.7-*"))
    found = [p for p in found if (p / "pyodide.mjs").is_file()]
    if not found:
        sys.exit("no Pyodide runtime in the cache: run 'pyodist fetch --runtime' first")
    return found[0]


if __name__ == "__main__":
    main()
