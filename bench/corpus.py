"""Real Pyodide recipes, unchanged: how many build and import, why the others fail, how long.

Unpacks the dev corpus (57 recipes of Pyodide's recipe repository, `../shared/corpus/`, or
`--corpus TAR|DIR`; `--corpus wide` is the 289-recipe wide slice) into a temporary folder,
fetches every source once into a corpus cache (`--cache`, default `~/.cache/pyodist-corpus`;
sources and build-backend wheels are kept between runs), with the runtime and every build
backend's wheels (`pyodist fetch --runtime --backends`), then builds the whole folder cold and
offline (`pyodist --offline build -k -j 2 '*'` with an empty artifact cache) and prints:

- a summary table: recipes, built + imported, failed by cause (source unreachable, needs
  Rust, emscripten port, missing tool, no network, compile error, link error, import
  error, other), blocked, and the share built among the recipes within reach (not needing
  Rust, with reachable sources, not blocked by one that is not);
- every failure with its cause and the first line of its error;
- the wall time of the run and the 10 slowest packages.

With `--resume` the artifact cache is kept: packages built by an earlier (perhaps stopped) run
are reported as built then, and only the rest is built. The wide slice takes hours on 2 cores,
so it is built in parts that way. `--table FILE` writes one row per recipe (status, cause, the
one-line reason, seconds).

Usage: python bench/corpus.py [--corpus PATH|wide] [--cache DIR] [--jobs N] [--resume]
                              [--json FILE] [--table FILE]
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
WIDE_CORPUS = DEFAULT_CORPUS.with_name("pyodide-recipes-wide.tar.gz")
CAUSES = {
    "source": "source unreachable",
    "port": "emscripten port (its source is on an unreachable host)",
    "rust": "needs Rust", "tool": "missing tool",
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
    parser.add_argument("--table", type=Path, help="also write the per-recipe table here")
    parser.add_argument("--resume", action="store_true",
                        help="keep the artifacts of earlier runs (a build in parts)")
    args = parser.parse_args()
    if str(args.corpus) == "wide":
        args.corpus = WIDE_CORPUS
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
        if not args.resume:
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
                 jobs=args.jobs, wall=wall, corpus=args.corpus.name.split(".")[0])
    if args.table:
        args.table.write_text(recipe_table(report["packages"]))


# failures that do not count against the share: what this machine cannot build at all
UNBUILDABLE = ("rust", "source", "port")


def _unbuildable(packages: dict[str, dict[str, object]]) -> set[str]:
    """Recipes that fail for a cause outside the toolchain's reach, and those they block."""
    # a source/path into a sibling's build tree (numpy-tests) is pyodist's limit, not the
    # machine's: it counts against the share
    out = {n for n, p in packages.items()
           if p["status"] == "failed" and p["cause"] in UNBUILDABLE
           and "build tree" not in str(p["error"] or "")}
    out |= {n for n, p in packages.items() if p["status"] == "blocked"
            and any(b in out for b in p.get("blocked_by") or ())}  # type: ignore[attr-defined]
    return out


def print_tables(packages: dict[str, dict[str, object]], *, total: int, check_code: int,
                 jobs: int, wall: float, corpus: str = "pyodide-recipes-dev") -> None:
    status = Counter(p["status"] for p in packages.values())
    causes = Counter(p["cause"] or "build" for p in packages.values() if p["status"] == "failed")
    built = status.get("built", 0) + status.get("cached", 0)
    out_of_reach = _unbuildable(packages)
    eligible = len(packages) - len(out_of_reach)
    print(f"Corpus `{corpus}`: {total} recipes of Pyodide's recipe repository, unchanged "
          f"(`recipes check`: exit {check_code}); `pyodist --offline build -k -j {jobs} "
          f"'*'` after `pyodist fetch --runtime --backends`, {os.cpu_count()} cores.\n")
    print("| recipes | built + imported | failed | blocked | out of reach (Rust, unreachable "
          "source or port, or blocked by one) | built, of the rest | wall time |")
    print("|---|---|---|---|---|---|---|")
    share = built / max(1, eligible)
    print(f"| {total} | {built} | {status.get('failed', 0)} | {status.get('blocked', 0)} "
          f"| {len(out_of_reach)} | {built}/{eligible} ({share:.0%}) | {wall / 60:.1f} min |\n")
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
            print(f"| {name} | {CAUSES.get(p['cause'] or 'build', 'other')} | {_first(p)} |")
    slow = sorted(((p["seconds"], n) for n, p in packages.items() if p["seconds"]),
                  reverse=True)[:10]
    print("\nSlowest 10 packages (seconds, import check included):\n")
    print("| package | seconds |")
    print("|---|---|")
    for seconds, name in slow:
        print(f"| {name} | {seconds:.1f} |")


def _first(p: dict[str, object]) -> str:
    return (str(p["error"] or "").splitlines() or [""])[0][:160].replace("|", "\\|")


def recipe_table(packages: dict[str, dict[str, object]]) -> str:
    """One row per recipe: status, cause and the one-line reason of each failure."""
    rows = ["| recipe | status | cause | reason | seconds |", "|---|---|---|---|---|"]
    for name, p in sorted(packages.items(), key=lambda item: item[0].lower()):
        state = str(p["status"])
        if state == "cached":
            state = "built (earlier part)"
        cause, reason = "", ""
        if p["status"] == "failed":
            cause, reason = CAUSES.get(str(p["cause"] or "build"), "other"), _first(p)
        elif p["status"] == "blocked":
            cause = "blocked"
            reason = "by " + ", ".join(p.get("blocked_by") or ())  # type: ignore[arg-type]
        seconds = f"{p['seconds']:.0f}" if p["seconds"] else ""
        rows.append(f"| {name} | {state} | {cause} | {reason} | {seconds} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    main()
