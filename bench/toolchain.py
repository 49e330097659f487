"""Toolchain costs, measured side by side in one run.

- image bootstrap: a cached no-op `pyodist toolchain build` (and, with --cold, a forced one)
- per-step overhead: `docker exec` in the long-lived build container vs a fresh container
  per step (`docker run --rm`), running `true`, median of N.

Usage: python bench/toolchain.py [--cold] [--repeats N]   (needs root and a Docker engine)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyodist.options import DEFAULT_IMAGE_REPO, DEFAULT_PYODIDE_VERSION
from pyodist.toolchain import DockerExecutor, Mount, Step, docker_client

IMAGE = os.environ.get("PYODIST_IMAGE") or f"{DEFAULT_IMAGE_REPO}:{DEFAULT_PYODIDE_VERSION}"


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="also time a forced rebuild")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    pyodist = [sys.executable, "-m", "pyodist", "--image", IMAGE, "toolchain", "build"]
    rows = []
    if args.cold:
        rows.append(("image bootstrap, cold (--force)", timed([*pyodist, "--force"])))
    rows.append(("image bootstrap, cached no-op", timed(pyodist)))

    client = docker_client()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        with DockerExecutor(IMAGE, [Mount(out, "/out", False)], client=client) as ex:
            started = time.perf_counter() - start
            execs = [ex.run(Step("true", ("true",), out)).seconds for _ in range(args.repeats)]
        fresh = [timed(["docker", "run", "--rm", "--network", "none", IMAGE, "true"])
                 for _ in range(args.repeats)]
    exec_med, fresh_med = statistics.median(execs), statistics.median(fresh)
    rows += [
        ("build container start (once per run)", started),
        (f"step via docker exec (median of {args.repeats})", exec_med),
        (f"step via fresh container (median of {args.repeats})", fresh_med),
    ]
    print(f"toolchain image {IMAGE}\n")
    print("| what | seconds |")
    print("|---|---|")
    for what, secs in rows:
        print(f"| {what} | {secs:.3f} |")
    print(f"| fresh container / exec | {fresh_med / exec_med:.1f}x |")


if __name__ == "__main__":
    main()
