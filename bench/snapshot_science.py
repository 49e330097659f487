"""Start-up with the science stack imported: stock Pyodide vs a bundle vs its memory snapshot.

For numpy and for pandas (on numpy), side by side in one run, in Node, each row the wall time
of a fresh process from start to the first result (median of --runs, default 5):

- stock: the Pyodide core of the pinned runtime, `loadPyodide()` then `loadPackage()` of the
  same wheels (file URLs), then the import and a first operation;
- bundle: the `numpy-fast` / `pandas-fast` bundle with `pyodist python --no-snapshot` (its
  packages installed when first imported, the start-up modules precompiled);
- snapshot: the same bundle from its memory snapshot, where the packages are imported
  already and their compiled modules are instantiated again by the bundle's
  `pyodist-snapshot.mjs`: through `pyodist python` (which adds its own Python start-up), and
  from a bare `node` script that calls the loader as a program embedding the bundle would.

Also: the snapshot's size, raw and brotli'd. Usage: python bench/snapshot_science.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "numpy": ("numpy-fast",
              "import numpy as np; print(float((np.arange(1000.0) @ np.arange(1000.0))))"),
    "pandas": ("pandas-fast",
               "import pandas as pd, numpy as np; "
               "df = pd.DataFrame({'a': np.arange(6), 'b': list('xyzxyz')}); "
               "print(df.groupby('b')['a'].sum().to_dict())"),
}
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
    args = parser.parse_args()
    rows = []
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


def _runtime() -> Path:
    found = sorted((Path.home() / ".cache" / "pyodist" / "runtime").glob("pyodide-314.0.7-*"))
    found = [p for p in found if (p / "pyodide.mjs").is_file()]
    if not found:
        sys.exit("no Pyodide runtime in the cache: run 'pyodist fetch --runtime' first")
    return found[0]


if __name__ == "__main__":
    main()
