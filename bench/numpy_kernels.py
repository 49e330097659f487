"""numpy kernels in Pyodide under Node vs native numpy on the same machine, in one run.

Three builds side by side: the numpy wheel `pyodist build numpy` makes (OpenBLAS for wasm,
WebAssembly SIMD kernels), the one `pyodist build numpy-noblas` makes (numpy's own loops and
its bundled lapack-lite), both loaded into the pinned Pyodide runtime under Node, and native
numpy of the same version from the index (its wheels ship OpenBLAS) on the host Python with
OpenBLAS pinned to one thread. Native runs twice: with the environment as it is (this
machine sets OPENBLAS_CORETYPE=Haswell: AVX2 kernels) and with OpenBLAS choosing its kernels
for the CPU itself (AVX-512 here). Each kernel runs once to warm up, then REPEATS times; the
best time is kept.

Usage: python bench/numpy_kernels.py [--repeats N] [--quick]
(`make bench` installs the native numpy into .venv first.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from pyodist.options import (
    DEFAULT_PYODIDE_INTEGRITY,
    DEFAULT_PYODIDE_VERSION,
    RuntimeSpec,
    default_cache_dir,
)
from pyodist.runtime.node import node_binary, run_python
from pyodist.runtime.pyodide import ensure_runtime

ROOT = Path(__file__).resolve().parents[1]

# (label, setup, statement); sizes follow the table
KERNELS = [
    ("matmul 1024x1024", "a = rng.random((1024, 1024)); b = rng.random((1024, 1024))",
     "a @ b"),
    ("matmul 2048x2048", "a = rng.random((2048, 2048)); b = rng.random((2048, 2048))",
     "a @ b"),
    ("dot 524288", "x = rng.random(524288); y = rng.random(524288)", "x @ y"),
    ("svd 1024x512", "a = rng.random((1024, 512))", "np.linalg.svd(a, full_matrices=False)"),
    ("cholesky 1024", "g = rng.random((1024, 1024)); s = g @ g.T + 1024 * np.eye(1024)",
     "np.linalg.cholesky(s)"),
    ("eigh 1024", "g = rng.random((1024, 1024)); h = (g + g.T) / 2", "np.linalg.eigh(h)"),
]

TIMER = """
import json, time
import numpy as np
rng = np.random.default_rng(0)
kernels = json.loads(KERNELS_JSON)
results = {}
for label, setup, stmt in kernels:
    scope = {"np": np, "rng": rng}
    exec(setup, scope)
    exec(stmt, scope)  # warm-up
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        exec(stmt, scope)
        best = min(best, time.perf_counter() - start)
    results[label] = best
try:
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    found = blas.get("found") in (True, "True", "true")
    blas = f"{blas.get('name')} {blas.get('version', '')}".strip() if found else "none"
except Exception:
    blas = "none"
json.dumps({"numpy": np.__version__, "blas": blas, "results": results})
"""


def program(kernels: list[tuple[str, str, str]], repeats: int) -> str:
    return (TIMER.replace("KERNELS_JSON", repr(json.dumps(kernels)))
            .replace("REPEATS", str(repeats)))


def native(code: str, *, own_kernels: bool = False) -> dict[str, Any]:
    """Run on the host; ``own_kernels`` drops OPENBLAS_CORETYPE so OpenBLAS picks for the CPU."""
    wrapped = code.rstrip().rsplit("\n", 1)
    script = wrapped[0] + "\nprint(" + wrapped[1] + ")\n"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    if own_kernels:
        env.pop("OPENBLAS_CORETYPE", None)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, check=False)
    if proc.returncode != 0:
        sys.exit(f"native numpy failed (is numpy installed in this venv?):\n{proc.stderr}")
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def wasm_wheels(recipe: str) -> list[Path]:
    proc = subprocess.run([sys.executable, "-m", "pyodist", "build", recipe, "--json"],
                          cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "CI": "1"})
    if proc.returncode != 0:
        sys.exit(f"pyodist build {recipe} failed:\n{proc.stdout[-2000:]}\n"
                 f"{proc.stderr[-2000:]}")
    files = json.loads(proc.stdout)["packages"][recipe]["files"]
    return [Path(f) for f in files if f.endswith(".whl")]


def in_pyodide(runtime: Path, recipe: str, code: str) -> dict[str, Any]:
    result = run_python(runtime, wasm_wheels(recipe), code, timeout=3600)
    if not result.get("ok"):
        sys.exit(f"{recipe}: the wasm run failed: {result.get('error')}")
    data: dict[str, Any] = result["result"]
    return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="skip the 2048 matmul")
    args = parser.parse_args()
    kernels = [k for k in KERNELS if not (args.quick and "2048" in k[0])]
    code = program(kernels, args.repeats)
    runtime = ensure_runtime(RuntimeSpec(DEFAULT_PYODIDE_VERSION, DEFAULT_PYODIDE_INTEGRITY),
                             default_cache_dir(os.environ))
    blas = in_pyodide(runtime, "numpy", code)
    noblas = in_pyodide(runtime, "numpy-noblas", code)
    host = native(code)
    host_own = native(code, own_kernels=True)
    node = subprocess.run([node_binary(), "--version"], capture_output=True, text=True,
                          check=False).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.machine())
    coretype = os.environ.get("OPENBLAS_CORETYPE", "unset")
    print(f"{cpu}, {os.cpu_count()} cores; best of {args.repeats}. wasm: numpy "
          f"{blas['numpy']} in Pyodide {DEFAULT_PYODIDE_VERSION} under Node {node}, with "
          f"BLAS: {blas['blas']} / without: {noblas['blas']}; native: numpy {host['numpy']} "
          f"(BLAS: {host['blas']}, 1 thread) on Python {platform.python_version()}, "
          f"OPENBLAS_CORETYPE={coretype} (\"native\") and unset (\"native, own kernels\").\n")
    print("| kernel | native s | wasm BLAS s | BLAS / native | wasm no-BLAS s "
          "| no-BLAS / native | native, own kernels s | BLAS / own kernels |")
    print("|---|---|---|---|---|---|---|---|")
    for label, _setup, _stmt in kernels:
        n, n2 = host["results"][label], host_own["results"][label]
        b, z = blas["results"][label], noblas["results"][label]
        print(f"| {label} | {n:.4f} | {b:.4f} | {b / n:.1f}x | {z:.4f} | {z / n:.1f}x "
              f"| {n2:.4f} | {b / n2:.1f}x |")


if __name__ == "__main__":
    main()
