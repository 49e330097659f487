"""Sharded builds: simulated wall time for N runners, and a measured 2-shard run against 1.

For the repo's recipes (SELECTION, default '*'):

1. one cold run: `pyodist build -j 1 SELECTION` with an empty artifact cache (sources and
   build backends linked in from the user's cache), which gives each package's build seconds
   and the 1-shard wall time;
2. a cold 2-shard run: a CNCF registry (`docker-registry`) on a free loopback port, two
   processes with caches of their own building `--shard 1/2` and `--shard 2/2` wave by wave
   (the shards of a wave at once), `-j 1` each;
3. the simulation over the dependency graph and the measured seconds, for N = 1, 2, 4, 8:
   waves (one CI matrix per wave, each wave as long as its slowest shard), free list
   scheduling (a runner takes any package whose dependencies are done), and the critical
   path (the bound for any N).

For the dev corpus, the same simulation over the per-package seconds of the report
`bench/corpus.py --json FILE` wrote (`--corpus-report`, default bench/results/corpus.json;
failed builds count with the time they took, blocked ones with none).

Usage: python bench/sharding.py [--selection S ...] [--corpus-report FILE] [--no-measure]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pyodist.builder.shards import simulate  # noqa: E402
from pyodist.graph import RecipeGraph, without_broken  # noqa: E402
from pyodist.options import default_cache_dir  # noqa: E402
from pyodist.recipe import load_recipe_dirs  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "pyodide-recipes-dev.tar.gz"
RUNNERS = (1, 2, 4, 8)


def pyodist(cache: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", "--cache-dir", str(cache), *argv],
                          cwd=ROOT, env={**os.environ, "CI": "1"}, capture_output=True,
                          text=True, check=False)


def fresh_cache(folder: Path) -> Path:
    """An empty artifact cache; the runtime, sources and build backends linked in."""
    user = default_cache_dir(os.environ)
    for kind in ("runtime", "sources", "backends"):
        if (user / kind).is_dir():
            shutil.copytree(user / kind, folder / kind, copy_function=os.link)
    return folder


def graph_of(folders: Sequence[Path], selection: Sequence[str]) -> tuple[list[str],
                                                                         dict[str, tuple]]:
    loaded = load_recipe_dirs(list(folders))
    broken = {meta.parent.name: err for meta, err in loaded.errors.items()}
    recipes, _ = without_broken(loaded.recipes, broken)
    graph = RecipeGraph(recipes)
    chosen = graph.select(list(selection))
    graph = graph.choosing(chosen.variants)
    return list(chosen.order), {n: tuple(sorted(graph.deps[n] & chosen.closure))
                                for n in chosen.order}


def simulation_table(title: str, order: list[str], deps: Mapping[str, tuple],
                     costs: Mapping[str, float]) -> None:
    print(f"{title}: {len(order)} packages, {sum(costs.values()) / 60:.1f} min of builds in "
          f"all.\n")
    print("| runners | waves (CI matrix per wave) | free list scheduling | critical path | "
          "speed-up (waves) |")
    print("|---|---|---|---|---|")
    one = simulate(order, deps, costs, 1).waves
    for n in RUNNERS:
        sim = simulate(order, deps, costs, n)
        print(f"| {n} | {sim.waves / 60:.1f} min | {sim.free / 60:.1f} min | "
              f"{sim.critical_path / 60:.1f} min | {one / max(sim.waves, 1e-9):.2f}x |")
    print()


def start_registry(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = folder / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: "
                      f"{folder / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\nlog:\n"
                      "  level: error\n")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    return proc, f"oci://127.0.0.1:{port}/bench/cache"


def measure(selection: Sequence[str], tmp: Path) -> tuple[dict[str, float], float, float,
                                                          list[float]]:
    """Per-package seconds and wall time of 1 shard; wall time of 2 shards, and per wave."""
    start = time.perf_counter()
    proc = pyodist(fresh_cache(tmp / "one"), "build", "-j", "1", "--json", *selection)
    one_wall = time.perf_counter() - start
    report = json.loads(proc.stdout)
    if not report["ok"]:
        sys.exit(f"the 1-shard build failed:\n{proc.stderr[-3000:]}")
    seconds = {n: p["seconds"] for n, p in report["packages"].items()}
    registry, store = start_registry(tmp)
    try:
        plan = pyodist(tmp, "--artifact-store", store, "plan", "--shards", "2", "--json",
                       *selection)
        (tmp / "plan.json").write_text(plan.stdout)
        waves = len(json.loads(plan.stdout)["waves"])
        caches = [fresh_cache(tmp / f"shard{i}") for i in (1, 2)]
        wave_walls = []
        start = time.perf_counter()
        for wave in range(1, waves + 1):
            begin = time.perf_counter()
            procs = [subprocess.Popen(
                [sys.executable, "-m", "pyodist", "--cache-dir", str(caches[i - 1]),
                 "--artifact-store", store, "build", "-j", "1", "--shard", f"{i}/2", "--wave",
                 str(wave), "--shard-plan", str(tmp / "plan.json"), "--json", *selection],
                cwd=ROOT, env={**os.environ, "CI": "1"}, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True) for i in (1, 2)]
            for p in procs:
                out, err = p.communicate()
                if p.returncode != 0:
                    sys.exit(f"a shard of wave {wave} failed:\n{out[-2000:]}{err[-2000:]}")
            wave_walls.append(time.perf_counter() - begin)
        two_wall = time.perf_counter() - start
    finally:
        registry.terminate()
        registry.wait()
    return seconds, one_wall, two_wall, wave_walls


def corpus_costs(report_file: Path, tmp: Path) -> tuple[list[str], dict[str, tuple],
                                                        dict[str, float]] | None:
    if not report_file.is_file() or not CORPUS.is_file():
        return None
    packages: dict[str, Any] = json.loads(report_file.read_text())["packages"]
    with tarfile.open(CORPUS) as tar:
        tar.extractall(tmp / "corpus", filter="data")
    folder = next((tmp / "corpus").glob("*/*/meta.yaml")).parent.parent
    order, deps = graph_of([folder], ["*"])
    costs = {n: float(packages.get(n, {}).get("seconds") or 0.0) for n in order}
    return order, deps, costs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--selection", nargs="+", default=["*"])
    parser.add_argument("--corpus-report", type=Path,
                        default=ROOT / "bench" / "results" / "corpus.json")
    parser.add_argument("--no-measure", action="store_true",
                        help="simulate from the corpus report only (no builds)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pyodist-shard-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if not args.no_measure:
            seconds, one_wall, two_wall, wave_walls = measure(args.selection, tmp)
            order, deps = graph_of([ROOT / "recipes"], args.selection)
            shown = " ".join(f"'{s}'" for s in args.selection)
            simulation_table(f"The repo's recipes (`recipes/`, selection {shown}: "
                             f"{len(order)} packages; seconds measured in a cold "
                             "`pyodist build -j 1`)", order, deps,
                             {n: seconds.get(n, 0.0) for n in order})
            sim = simulate(order, deps, {n: seconds.get(n, 0.0) for n in order}, 2)
            print(f"Measured on this machine ({os.cpu_count()} cores), cold, `-j 1` per "
                  "shard, the two shards of a wave at once, through a local "
                  "`docker-registry`:\n")
            print("| run | wall time | against 1 shard |")
            print("|---|---|---|")
            print(f"| 1 shard | {one_wall / 60:.1f} min | 1.00x |")
            print(f"| 2 shards ({len(wave_walls)} waves: "
                  f"{', '.join(f'{w / 60:.1f}' for w in wave_walls)} min) | "
                  f"{two_wall / 60:.1f} min | {one_wall / two_wall:.2f}x |")
            print(f"| 2 runners, simulated (waves) | {sim.waves / 60:.1f} min | "
                  f"{one_wall / max(sim.waves, 1e-9):.2f}x |")
            print()
        corpus = corpus_costs(args.corpus_report, tmp)
        if corpus is None:
            print(f"Dev corpus: no build report at {args.corpus_report} (written by "
                  "`bench/corpus.py --json`), so no simulation.")
        else:
            simulation_table("The dev corpus (57 Pyodide recipes; seconds from the cold "
                             "`bench/corpus.py` build, failures with the time they took)",
                             *corpus)


if __name__ == "__main__":
    main()
