"""Real Pyodide recipes, unchanged: how many build and import, why the others fail, how long.

Unpacks the dev corpus (57 recipes of Pyodide's recipe repository, `../shared/corpus/`, or
`--corpus TAR|DIR`) into a temporary folder, fetches every source once into a corpus cache
(`--cache`, default `~/.cache/pyodist-corpus`; sources and build-backend wheels are kept
between runs), with the runtime and every build backend's wheels (`pyodist fetch --runtime
--backends`), then builds the whole folder cold and offline (`pyodist --offline build -k
-j 2 '*'` with an empty artifact cache) and prints:

- a summary table: recipes, built + imported, failed by cause (source unreachable, needs
  Rust, missing tool, no network, compile error, link error, import error, other), blocked,
  and the share built among the recipes that do not need Rust;
- every failure with its cause and the first line of its error;
- the wall time of the run and the 10 slowest packages.

Usage: python bench/corpus.py [--corpus PATH] [--cache DIR] [--jobs N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "pyodide-recipes-dev.tar.gz"
CAUSES = {
    "source": "source unreachable", "rust": "needs Rust", "tool": "missing tool",
    "network": "build reaches for the network", "compile": "compile error",
    "link": "link error", "import": "import error", "recipe": "recipe error",
    "limits": "time/memory/disk limit", "build": "other",
}


def recipes_folder(corpus: Path, tmp: Path) -> Path:
    if corpus.is_dir():
        return corpus
    with tarfile.open(corpus) as tar:
        tar.extractall(tmp, filter="data")
    found = [p.parent for p in tmp.glob("*/*/meta.yaml")]
    return found[0].parent


def pyodist(cache: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", "--cache-dir", str(cache), *argv],
                          cwd=ROOT, env={**os.environ, "CI": "1"}, capture_output=True,
                          text=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--cache", type=Path,
                        default=Path.home() / ".cache" / "pyodist-corpus")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also keep the build's JSON report here")
    args = parser.parse_args()
    if not args.corpus.exists():
        sys.exit(f"no corpus at {args.corpus} (pass --corpus)")
    with tempfile.TemporaryDirectory(prefix="pyodist-corpus-") as tmp:
        folder = recipes_folder(args.corpus, Path(tmp))
        check = pyodist(args.cache, "recipes", "check", str(folder))
        fetch = pyodist(args.cache, "--recipe-dir", str(folder), "fetch", "*", "--runtime",
                        "--backends")
        # 6: a source failed, 8: a build backend has no wheel; those builds fail with it
        if fetch.returncode not in (0, 6, 8):
            sys.exit(f"fetch failed:\n{fetch.stdout[-3000:]}{fetch.stderr[-3000:]}")
        shutil.rmtree(args.cache / "artifacts", ignore_errors=True)  # a cold build
        start = time.perf_counter()
        proc = pyodist(args.cache, "--recipe-dir", str(folder), "--offline", "build", "-k",
                       "-j", str(args.jobs), "*", "--json")
        wall = time.perf_counter() - start
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            sys.exit(f"the build printed no report:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
        total = len(list(folder.glob("*/meta.yaml")))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    print_tables(report["packages"], total=total, check_code=check.returncode,
                 jobs=args.jobs, wall=wall)


def print_tables(packages: dict[str, dict[str, object]], *, total: int, check_code: int,
                 jobs: int, wall: float) -> None:
    status = Counter(p["status"] for p in packages.values())
    causes = Counter(p["cause"] or "build" for p in packages.values() if p["status"] == "failed")
    rust = causes.get("rust", 0)
    built = status.get("built", 0) + status.get("cached", 0)
    print(f"Dev corpus: {total} recipes of Pyodide's recipe repository, unchanged "
          f"(`recipes check`: exit {check_code}); cold `pyodist --offline build -k -j {jobs} "
          f"'*'` after `pyodist fetch --runtime --backends`, {os.cpu_count()} cores.\n")
    print("| recipes | built + imported | failed | blocked | built, of those not needing Rust "
          "| wall time |")
    print("|---|---|---|---|---|---|")
    share = built / max(1, total - rust)
    print(f"| {total} | {built} | {status.get('failed', 0)} | {status.get('blocked', 0)} "
          f"| {built}/{total - rust} ({share:.0%}) | {wall / 60:.1f} min |\n")
    print("| failed because | recipes |")
    print("|---|---|")
    for cause, label in CAUSES.items():
        if causes.get(cause):
            names = sorted(n for n, p in packages.items()
                           if p["status"] == "failed" and (p["cause"] or "build") == cause)
            print(f"| {label} | {causes[cause]}: {', '.join(names)} |")
    blocked = sorted(n for n, p in packages.items() if p["status"] == "blocked")
    if blocked:
        print(f"| (blocked by a failure above) | {len(blocked)}: {', '.join(blocked)} |")
    print("\nEvery failure, with the first line of its error:\n")
    print("| recipe | cause | error |")
    print("|---|---|---|")
    for name, p in sorted(packages.items()):
        if p["status"] == "failed":
            first = (p["error"] or "").splitlines()[0][:160].replace("|", "\\|")
            print(f"| {name} | {CAUSES.get(p['cause'] or 'build', 'other')} | {first} |")
    slow = sorted(((p["seconds"], n) for n, p in packages.items() if p["seconds"]),
                  reverse=True)[:10]
    print("\nSlowest 10 packages (seconds, import check included):\n")
    print("| package | seconds |")
    print("|---|---|")
    for seconds, name in slow:
        print(f"| {name} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
