"""Dense factorisations in Pyodide under Node vs native SciPy, side by side in one run, and
where the wasm time goes.

Rows: solve, lu_factor, cholesky, qr, eigh, svd and lstsq of random n x n matrices (SPD for
cholesky) at n = 500, 1000, 2000, plus the n x n matrix product for reference. Both sides run
the same program (`scipy_kernels.py`'s timer: each result checked once, untimed, then a
warm-up and the best of --repeats); native SciPy runs with every BLAS pool at one thread.

--profile adds the kernels: the LAPACK routine each row calls, linked against the openblas
recipe's own static library (the artifact SciPy's modules link) in a C program built in the
toolchain image with function names kept, run under `node --cpu-prof`; the row shows the
three wasm functions with the most self time and their share (of the wasm time, the
program's own set-up left out).

Goal (issue 43): solve 1000 within 3x native, every row within 3.5x, the product not slower.

Usage: python bench/dense_linalg.py [--repeats N] [--sizes 500,1000,2000] [--profile]
                                    [--native-python PY] [--wheels WHL ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import scipy_kernels as sk

from pyodist.options import DEFAULT_IMAGE_REPO

ROOT = Path(__file__).resolve().parents[1]
SOLVE_GOAL, ROW_GOAL = 3.0, 3.5

# (name, setup with {n}, expression, check) — `a` random, `s` SPD, `b` a right-hand side
ROWS = [
    ("solve", "a = rng.random(({n}, {n})); b = rng.random({n})", "linalg.solve(a, b)",
     "np.linalg.norm(a @ out - b) / (np.linalg.norm(a) * np.linalg.norm(out)) < 1e-11"),
    ("lu_factor", "a = rng.random(({n}, {n}))", "linalg.lu_factor(a)",
     "np.isfinite(out[0]).all() and out[1].shape == ({n},)"),
    ("cholesky", "g = rng.random(({n}, {n})); s = g @ g.T + {n} * np.eye({n})",
     "linalg.cholesky(s, lower=True)", "np.allclose(out @ out.T, s)"),
    ("qr", "a = rng.random(({n}, {n}))", "linalg.qr(a)", "np.allclose(out[0] @ out[1], a)"),
    ("eigh", "g = rng.random(({n}, {n})); h = (g + g.T) / 2", "linalg.eigh(h)",
     "np.allclose(h @ out[1], out[1] * out[0], atol=1e-7)"),
    ("svd", "a = rng.random(({n}, {n}))", "linalg.svd(a)",
     "np.allclose((out[0] * out[1]) @ out[2], a)"),
    ("lstsq", "a = rng.random(({n}, {n} // 2)); b = rng.random({n})", "linalg.lstsq(a, b)",
     "np.allclose(a.T @ (a @ out[0] - b), 0, atol=1e-6)"),
    ("matmul", "a = rng.random(({n}, {n})); c = rng.random(({n}, {n}))", "a @ c",
     "np.allclose(out[:3, :3], a[:3] @ c[:, :3])"),
]

# what each row calls in LAPACK (SciPy 1.18's defaults), for the profile program
CALLS = {"solve": "getrf+getrs", "lu_factor": "getrf", "cholesky": "potrf",
         "qr": "geqrf+orgqr", "eigh": "syevr", "svd": "gesdd", "lstsq": "gelsd",
         "matmul": "gemm"}

PROFILE_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void dgetrf_(int*, int*, double*, int*, int*, int*);
void dgetrs_(char*, int*, int*, double*, int*, int*, double*, int*, int*);
void dpotrf_(char*, int*, double*, int*, int*);
void dgeqrf_(int*, int*, double*, int*, double*, double*, int*, int*);
void dorgqr_(int*, int*, int*, double*, int*, double*, double*, int*, int*);
void dsyevr_(char*, char*, char*, int*, double*, int*, double*, double*, int*, int*, double*,
             int*, double*, double*, int*, int*, double*, int*, int*, int*, int*);
void dgesdd_(char*, int*, int*, double*, int*, double*, double*, int*, double*, int*,
             double*, int*, int*, int*);
void dgelsd_(int*, int*, int*, double*, int*, double*, int*, double*, double*, int*, double*,
             int*, int*, int*);
void dgemm_(char*, char*, int*, int*, int*, double*, double*, int*, double*, int*, double*,
            double*, int*);
static unsigned long long s = 88172645463325252ULL;
static double rnd(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                          return (double)(s >> 11) / 9007199254740992.0; }
int main(int argc, char **argv) {
  const char *what = argv[1]; int n = atoi(argv[2]), reps = atoi(argv[3]);
  int nn = n * n, one = 1, info = 0, lw = -1, liw = -1, m = 0, half = n / 2;
  double *a0 = malloc(8.0 * nn), *a = malloc(8.0 * nn), *z = malloc(8.0 * nn),
         *u = malloc(8.0 * nn), *vt = malloc(8.0 * nn), *b = malloc(8.0 * n),
         *w = malloc(8.0 * n), *tau = malloc(8.0 * n), q, al = 1, be = 0, rc = -1, vl, vu;
  int *ipiv = malloc(4.0 * n * 64), *isup = malloc(8.0 * n), qi;  /* gelsd: iwork 3n log n */
  for (int i = 0; i < nn; i++) a0[i] = rnd();
  if (!strcmp(what, "cholesky") || !strcmp(what, "eigh")) {
    for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) {
      double v = a0[i * n + j] + a0[j * n + i] + (strcmp(what, "eigh") && i == j ? n : 0);
      a0[i * n + j] = a0[j * n + i] = v; }
  }
  for (int r = 0; r < reps; r++) {
    memcpy(a, a0, 8.0 * nn);
    for (int i = 0; i < n; i++) b[i] = rnd();
    if (!strcmp(what, "solve")) { dgetrf_(&n, &n, a, &n, ipiv, &info);
      dgetrs_("N", &n, &one, a, &n, ipiv, b, &n, &info); }
    else if (!strcmp(what, "lu_factor")) dgetrf_(&n, &n, a, &n, ipiv, &info);
    else if (!strcmp(what, "cholesky")) dpotrf_("L", &n, a, &n, &info);
    else if (!strcmp(what, "qr")) { lw = -1; dgeqrf_(&n, &n, a, &n, tau, &q, &lw, &info);
      lw = (int)q; double *wk = malloc(8.0 * lw); dgeqrf_(&n, &n, a, &n, tau, wk, &lw, &info);
      lw = -1; dorgqr_(&n, &n, &n, a, &n, tau, &q, &lw, &info); lw = (int)q > lw ? (int)q : lw;
      wk = realloc(wk, 8.0 * lw); dorgqr_(&n, &n, &n, a, &n, tau, wk, &lw, &info); free(wk); }
    else if (!strcmp(what, "eigh")) { lw = -1; liw = -1;
      dsyevr_("V", "A", "L", &n, a, &n, &vl, &vu, &one, &n, &rc, &m, w, z, &n, isup, &q, &lw,
              &qi, &liw, &info);
      lw = (int)q; liw = qi; double *wk = malloc(8.0 * lw); int *iw = malloc(4.0 * liw);
      dsyevr_("V", "A", "L", &n, a, &n, &vl, &vu, &one, &n, &rc, &m, w, z, &n, isup, wk, &lw,
              iw, &liw, &info); free(wk); free(iw); }
    else if (!strcmp(what, "svd")) { lw = -1;
      dgesdd_("A", &n, &n, a, &n, w, u, &n, vt, &n, &q, &lw, ipiv, &info);
      lw = (int)q; double *wk = malloc(8.0 * lw);
      dgesdd_("A", &n, &n, a, &n, w, u, &n, vt, &n, wk, &lw, ipiv, &info); free(wk); }
    else if (!strcmp(what, "lstsq")) { lw = -1;
      dgelsd_(&n, &half, &one, a, &n, b, &n, w, &rc, &m, &q, &lw, ipiv, &info);
      lw = (int)q; double *wk = malloc(8.0 * lw);
      dgelsd_(&n, &half, &one, a, &n, b, &n, w, &rc, &m, wk, &lw, ipiv, &info); free(wk); }
    else if (!strcmp(what, "matmul"))
      dgemm_("N", "N", &n, &n, &n, &al, a0, &n, a, &n, &be, z, &n);
    if (info != 0) { fprintf(stderr, "%s: info %d\n", what, info); return 1; }
  }
  return 0;
}
"""


def dense_kernels(sizes: list[int]) -> list[sk.Kernel]:
    return [(f"{name} {n}", setup.format(n=n), expr, check.format(n=n))
            for n in sizes for name, setup, expr, check in ROWS]


def openblas_library() -> Path:
    """The openblas recipe's libs tarball (`pyodist build openblas --json`: cached)."""
    proc = subprocess.run([sys.executable, "-m", "pyodist", "build", "openblas", "--json"],
                          cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "CI": "1"})
    if proc.returncode != 0:
        sys.exit(f"pyodist build openblas failed:\n{proc.stderr[-2000:]}")
    files = json.loads(proc.stdout)["packages"]["openblas"]["files"]
    return Path(next(f for f in files if f.endswith(".tar")))


def profile(sizes: list[int], image: str) -> dict[str, list[tuple[str, float]]]:
    """Per row, the functions with the most self time in the wasm program's profile."""
    found: dict[str, list[tuple[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="pyodist-dense-") as tmp:
        work = Path(tmp)
        work.chmod(0o777)
        shutil.unpack_archive(openblas_library(), work / "blas")
        (work / "prof.c").write_text(PROFILE_C)
        subprocess.run(
            ["docker", "run", "--rm", "--network", "none", "-v", f"{work}:/w", "-w", "/w",
             image, "emcc", "-O3", "-msimd128", "prof.c", "blas/lib/libopenblas.a", "-o",
             "prof.js", "-sALLOW_MEMORY_GROWTH=1", "-sINITIAL_MEMORY=512MB",
             "--profiling-funcs", "-sENVIRONMENT=node"], check=True, capture_output=True)
        for n in sizes:
            for name, *_ in ROWS:
                out = work / f"{name}-{n}"
                out.mkdir()
                subprocess.run([sk.node_binary(), "--cpu-prof", f"--cpu-prof-dir={out}",
                                str(work / "prof.js"), name, str(n), "2"], check=True)
                found[f"{name} {n}"] = _top(next(out.glob("*.cpuprofile")))
    return found


def _top(path: Path, count: int = 3) -> list[tuple[str, float]]:
    """The functions with the most self time in a V8 CPU profile, and their share."""
    data = json.loads(path.read_text())
    # wasm functions only (Node's start-up is JavaScript), and not the program's own set-up
    names = {node["id"]: node["callFrame"]["functionName"] for node in data["nodes"]
             if node["callFrame"].get("url", "").startswith("wasm://")
             and node["callFrame"]["functionName"] not in ("main", "rnd")}
    ticks = Counter(names[s] for s in data["samples"] if s in names)
    total = sum(ticks.values()) or 1
    return [(name, hits / total) for name, hits in ticks.most_common(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="500,1000,2000")
    parser.add_argument("--profile", action="store_true",
                        help="also profile each row's LAPACK call in wasm (needs Docker)")
    parser.add_argument("--image", default=f"{DEFAULT_IMAGE_REPO}:{sk.DEFAULT_PYODIDE_VERSION}")
    parser.add_argument("--native-python", type=Path, default=ROOT / ".venv" / "bin" / "python")
    parser.add_argument("--wheels", type=Path, nargs="+")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    kernels = dense_kernels(sizes)
    code = sk.program(kernels, args.repeats)
    wasm = sk.in_pyodide(args.wheels or sk.wasm_wheels(), code)
    host = sk.native(args.native_python, code)
    kernels_of = profile(sizes, args.image) if args.profile else {}
    print(f"best of {args.repeats}; wasm: scipy {wasm['scipy']} (BLAS: {wasm['blas']}) in "
          f"Pyodide {sk.DEFAULT_PYODIDE_VERSION} under Node; native: scipy {host['scipy']} "
          f"(BLAS: {host['blas']}, 1 thread) on Python {host['python']}. Goal: solve 1000 "
          f"within {SOLVE_GOAL:g}x native, every row within {ROW_GOAL:g}x.\n")
    head = "| row | LAPACK | wasm s | native s | wasm / native |"
    rule = "|---|---|---|---|---|"
    if kernels_of:
        head, rule = head + " wasm time by function (self) |", rule + "---|"
    print(head)
    print(rule)
    missed = []
    for label, *_ in kernels:
        w, n = wasm["results"][label], host["results"][label]
        name = label.split()[0]
        line = f"| {label} | {CALLS[name]} | {w:.4f} | {n:.4f} | {w / n:.1f}x |"
        if kernels_of:
            line += " " + ", ".join(f"{f} {share:.0%}" for f, share in kernels_of[label]) + " |"
        print(line)
        goal = SOLVE_GOAL if label == "solve 1000" else ROW_GOAL
        if name != "matmul" and w / n > goal:
            missed.append(f"{label} ({w / n:.1f}x)")
    print("\n" + ("Every row meets its goal." if not missed else
                  "Over goal: " + ", ".join(missed) + "."))


if __name__ == "__main__":
    main()
