"""The science stack's own test suites, run in the bundle: passed / failed / skipped per suite.

Runs each package's stated subset through `pyodist python --tests BUNDLE -m pytest` (the
bundle's NAME-tests archives, pytest and hypothesis added with --with), one suite at a
time, with a JUnit XML report written to the host through NODEFS; prints a table and every
failure with the first line of its message, grouped by the message's kind.

Usage: python bench/science_tests.py [--bundle DIR] [--suite NAME ...] [--timeout S]
`make science-tests` runs it on dist/pyodist-demo-0.1.0-science (bundled first when it is
not there); `bench/run_all science_tests` puts the table in the README.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = "/lib/python3.14/site-packages/"
# the subsets the SciPy and science-stack issues name; paths inside the bundle's site-packages
SUITES: dict[str, list[str]] = {
    # each folder with the test folders below it (sparse without sparse.linalg's: its own row)
    **{f"scipy {sub}": ["scipy/sparse/tests" if sub == "sparse" else
                        "scipy/" + sub.replace(".", "/")]
       for sub in ("linalg", "optimize", "sparse", "sparse.linalg", "special", "stats",
                   "integrate", "interpolate", "signal", "fft", "spatial", "ndimage")},
    "pandas frame": ["pandas/tests/frame"],
    "pandas groupby": ["pandas/tests/groupby"],
    "pandas io/parser (CSV)": ["pandas/tests/io/parser"],
    "pandas tseries": ["pandas/tests/tseries"],
    "matplotlib test_figure": ["matplotlib/tests/test_figure.py"],
    "matplotlib test_axes (no image comparison)": ["matplotlib/tests/test_axes.py"],
    "matplotlib test_agg": ["matplotlib/tests/test_agg.py"],
    "scikit-learn linear_model": ["sklearn/linear_model"],
    "scikit-learn cluster": ["sklearn/cluster"],
    "scikit-learn tree": ["sklearn/tree"],
    "scikit-learn ensemble": ["sklearn/ensemble"],
    "scikit-learn model_selection": ["sklearn/model_selection"],
    "scikit-learn preprocessing": ["sklearn/preprocessing"],
}
# test_axes without its image comparisons: @image_comparison and @check_figures_equal
# parametrize each test by file format, so their ids carry [png], [pdf-...], ... (no other
# test_axes name has those words); the comparisons also expect matplotlib's own FreeType 2.6.1
DESELECT = {"matplotlib test_axes (no image comparison)":
            "not png and not pdf and not svg and not eps"}


def pyodist(*argv: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", *argv], cwd=cwd,
                          env={**os.environ, "CI": "1"}, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_wheels(folder: Path) -> list[str]:
    proc = pyodist("build", "pytest", "hypothesis", "-o", str(folder), cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        sys.exit(f"building pytest failed:\n{proc.stderr[-3000:]}")
    return [a for w in sorted(folder.glob("*.whl")) for a in ("--with", str(w))]


@dataclass
class SuiteResult:
    name: str
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""


def run_suite(bundle: Path, name: str, paths: list[str], *, extra: list[str], work: Path,
              timeout: float) -> SuiteResult:
    junit = work / f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}.xml"
    select = ["-k", DESELECT[name]] if name in DESELECT else []
    start = time.perf_counter()
    try:
        proc = pyodist("python", "--tests", *extra, str(bundle), "-m", "pytest", "-q",
                       "-p", "no:cacheprovider", f"--junitxml={junit}", "-W", "ignore",
                       *select, *[SITE + p for p in paths], cwd=work, timeout=timeout)
        note = "" if junit.is_file() else (proc.stderr or proc.stdout)[-300:]
    except subprocess.TimeoutExpired:
        note = f"timed out after {timeout:.0f} s"
    result = SuiteResult(name, seconds=time.perf_counter() - start, note=note)
    counts, failures = result.counts, result.failures
    if junit.is_file():
        for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - our file
            kinds = [c.tag for c in case]
            if "failure" in kinds or "error" in kinds:
                counts["failed"] += 1
                detail = next(c for c in case if c.tag in ("failure", "error"))
                first = (detail.get("message") or detail.text or "").strip().splitlines()
                failures.append((f"{case.get('classname')}::{case.get('name')}",
                                 first[0][:140] if first else ""))
            elif "skipped" in kinds:
                counts["skipped"] += 1
            else:
                counts["passed"] += 1
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", type=Path,
                        default=ROOT / "dist" / "pyodist-demo-0.1.0-science")
    parser.add_argument("--suite", action="append", help="run only these (name prefix)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per suite")
    args = parser.parse_args()
    if not (args.bundle / "pyodide-lock.json").is_file():
        # the default place: build it (cached packages make this quick after make dist)
        made = pyodist("bundle", "--profile", "science", "--out", str(args.bundle.parent),
                       cwd=ROOT, timeout=4 * 3600)
        if made.returncode != 0 or not (args.bundle / "pyodide-lock.json").is_file():
            sys.exit(f"no bundle at {args.bundle} and 'pyodist bundle --profile science' "
                     f"failed:\n{made.stderr[-3000:]}")
    suites = {n: p for n, p in SUITES.items()
              if not args.suite or any(n.startswith(s) for s in args.suite)}
    results = []
    with tempfile.TemporaryDirectory(prefix="pyodist-science-tests-") as tmp:
        work = Path(tmp)
        extra = test_wheels(work / "wheels")
        for name, paths in suites.items():
            results.append(run_suite(args.bundle, name, paths, extra=extra, work=work,
                                     timeout=args.timeout))
            print(f"{name}: {dict(results[-1].counts)}", file=sys.stderr)
    print(f"The packages' own tests in the `science` bundle (`pyodist python --tests`), one "
          f"suite at a time under Node, {os.cpu_count()} cores:\n")
    print("| suite | passed | failed | skipped | time |")
    print("|---|---|---|---|---|")
    for r in results:
        c = r.counts
        extra_note = f" ({r.note})" if r.note else ""
        print(f"| {r.name}{extra_note} | {c['passed']} | {c['failed']} | {c['skipped']} | "
              f"{r.seconds / 60:.1f} min |")
    failed = [(r.name, t, m) for r in results for t, m in r.failures]
    if failed:
        print("\nEvery failure, with the first line of its message:\n")
        print("| suite | test | message |")
        print("|---|---|---|")
        for suite, test, message in failed:
            print(f"| {suite} | {test} | {message.replace('|', '/')} |")


if __name__ == "__main__":
    main()
