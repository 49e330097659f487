"""Toolchain costs, measured side by side in one run.

- image bootstrap: a cached no-op `pyodist toolchain build` (and, with --cold, a forced one)
- per-step overhead: `docker exec` in the long-lived build container vs a fresh container
  per step (`docker run --rm`), running `true`, median of N.
- the compile shortcut (`docker/emcc-fast`, the image's /usr/local/bin/emcc): the same C files
  (the first N of OpenBLAS's C LAPACK, from the openblas recipe's cached source, `pyodist fetch
  openblas` puts it there; the XBLAS `*_extended.c` files are left out, as OpenBLAS's own build
  does) compiled one call at a time with OpenBLAS's flags, through Debian's
  /usr/bin/emcc and through the shortcut, in one container; the objects are compared byte for
  byte and the bench fails if any differs.

Usage: python bench/toolchain.py [--cold] [--repeats N] [--files N]
(needs root and a Docker engine)
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

import yaml

from pyodist.options import DEFAULT_IMAGE_REPO, DEFAULT_PYODIDE_VERSION, default_cache_dir
from pyodist.toolchain import DockerExecutor, Mount, Step, docker_client

IMAGE = os.environ.get("PYODIST_IMAGE") or f"{DEFAULT_IMAGE_REPO}:{DEFAULT_PYODIDE_VERSION}"
ROOT = Path(__file__).resolve().parents[1]
# the openblas recipe's LAPACK tree (its extra archive) and the flags its build compiles with
LAPACK_ARCHIVE = "cmeel_openblas-0.3.31.tar.gz"
LAPACK_FLAGS = "-O3 -msimd128 -fPIC -sSIDE_MODULE=1 -DNDEBUG -w"

# In the container: compile each file with one compiler, then the other, one call at a time
# (as make's jobs do), each into its own folder; print the two times and how many differ.
SHORTCUT_SCRIPT = r"""
set -eu
cd "$(mktemp -d)" && mkdir src emcc fast
tar -xzf /in/lapack.tar.gz --wildcards --strip-components=4 -C src '*/lapack-netlib/SRC/*.c'
ls src/*.c | grep -v '_extended\.c$' | LC_ALL=C sort | head -n "$1" > files
n=$(wc -l < files)
t0=$(date +%s%N)
while read -r f; do /usr/bin/emcc $2 -c "$f" -o "emcc/${f##*/}.o"; done < files
t1=$(date +%s%N)
while read -r f; do /usr/local/bin/emcc $2 -c "$f" -o "fast/${f##*/}.o"; done < files
t2=$(date +%s%N)
differ=0
while read -r f; do
  cmp -s "emcc/${f##*/}.o" "fast/${f##*/}.o" || differ=$((differ + 1))
done < files
echo "$n $(( (t1 - t0) / 1000000 )) $(( (t2 - t1) / 1000000 )) $differ"
"""


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def lapack_archive() -> Path:
    """The cached LAPACK tree of the openblas recipe (fetched by `pyodist fetch openblas`)."""
    recipe = yaml.safe_load((ROOT / "recipes/openblas/meta.yaml").read_text())
    sha = next(a["sha256"] for a in recipe["source"]["extra-archives"]
               if a["url"].endswith(LAPACK_ARCHIVE))
    path = default_cache_dir(os.environ) / "sources" / "sha256" / sha[:2] / sha
    if not path.is_file():
        subprocess.run([sys.executable, "-m", "pyodist", "fetch", "openblas"], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
    return path


def shortcut(files: int) -> tuple[int, float, float, int]:
    """(files, seconds through emcc, seconds through the shortcut, objects that differ)."""
    proc = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "-v",
         f"{lapack_archive()}:/in/lapack.tar.gz:ro", IMAGE, "bash", "-c", SHORTCUT_SCRIPT,
         "bench", str(files), LAPACK_FLAGS],
        capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"the compile-shortcut run failed:\n{proc.stderr[-3000:]}")
    n, slow, fast, differ = proc.stdout.split()
    return int(n), int(slow) / 1000, int(fast) / 1000, int(differ)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="also time a forced rebuild")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--files", type=int, default=200,
                        help="C files compiled each way for the shortcut rows")
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
    n, slow, fast, differ = shortcut(args.files)
    if differ:
        sys.exit(f"the compile shortcut made {differ} of {n} objects differ from emcc's")
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
    print(f"\nThe compile shortcut: {n} of OpenBLAS's C LAPACK files, one call at a time, "
          f"`{LAPACK_FLAGS}`; all {n} objects byte-identical:\n")
    print("| compiler | seconds | per file | vs emcc |")
    print("|---|---|---|---|")
    print(f"| /usr/bin/emcc (Debian's) | {slow:.1f} | {slow / n:.3f} | 1.00x |")
    print(f"| /usr/local/bin/emcc (the shortcut) | {fast:.1f} | {fast / n:.3f} | "
          f"{fast / slow:.2f}x |")


if __name__ == "__main__":
    main()
