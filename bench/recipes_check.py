"""How long `pyodist recipes check` takes on a large recipe tree.

Writes N synthetic recipes (a mix of pure, C-extension and static-library recipes with
dependencies between them), then times load + validate + graph + select('*'), in-process
and through the CLI. Usage: python bench/recipes_check.py [N] [REPEATS]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyodist.graph import RecipeGraph
from pyodist.recipe import load_recipe_dirs

SHA = "0" * 64


def write_tree(root: Path, count: int) -> None:
    for i in range(count):
        name = f"pkg{i:04d}"
        deps = [f"pkg{j:04d}" for j in (i - 1, i // 2, i // 3) if 0 <= j < i]
        folder = root / name
        folder.mkdir(parents=True)
        lines = [
            "package:", f"  name: {name}", f"  version: 1.{i}.0", "  top-level:", f"    - {name}",
            "source:", f"  url: pypi:{name}/{name}-1.{i}.0.tar.gz", f"  sha256: {SHA}",
        ]
        if i % 10 == 0:
            lines += ["build:", "  type: static_library", "  script: |", "    make -j2",
                      "    make install"]
        elif i % 3 == 0:
            lines += ["build:", "  cflags: -O2 -Wall", "  ldflags: -lm", "  exports: requested"]
        if deps:
            lines += ["requirements:", "  run:", *[f"    - {d}" for d in sorted(set(deps))]]
        lines += ["test:", "  imports:", f"    - {name}",
                  "about:", "  summary: synthetic benchmark recipe", "  license: MIT"]
        (folder / "meta.yaml").write_text("\n".join(lines) + "\n")


def in_process(root: Path) -> float:
    start = time.perf_counter()
    result = load_recipe_dirs([root])
    result.raise_errors()
    RecipeGraph(result.recipes).select(["*"])
    return time.perf_counter() - start


def via_cli(root: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pyodist", "recipes", "check", str(root)],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "recipes"
        write_tree(root, count)
        lib = statistics.median(in_process(root) for _ in range(repeats))
        cli = statistics.median(via_cli(root) for _ in range(repeats))
    print(f"recipes check, {count} recipes, median of {repeats}\n")
    print("| what | seconds | per recipe |")
    print("|---|---|---|")
    print(f"| load + validate + graph + select('*') (library) | {lib:.3f} | "
          f"{lib / count * 1e3:.2f} ms |")
    print(f"| `pyodist recipes check` (whole process) | {cli:.3f} | {cli / count * 1e3:.2f} ms |")


if __name__ == "__main__":
    main()
