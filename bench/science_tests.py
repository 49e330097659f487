"""The science stack's own test suites, run in the bundle: passed / failed / skipped per suite.

Runs each package's stated subset through `pyodist python --tests BUNDLE -m pytest` (the
bundle's NAME-tests archives, pytest and hypothesis added with --with), one suite at a
time, with a JUnit XML report written to the host through NODEFS; prints a table and every
failure with the first line of its message, grouped by the message's kind.

Usage: python bench/science_tests.py [--bundle DIR] [--suite NAME ...] [--timeout S]
`make science-tests` runs it on dist/pyodist-demo-0.1.0-science (bundled first when it is
not there); `bench/run_all science_tests` puts the table in docs/benchmarks.md.
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
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = "/lib/python3.14/site-packages/"
# the subsets the SciPy and science-stack issues name; paths inside the bundle's site-packages
SUITES: dict[str, list[str]] = {
    # numpy's linear algebra: its LAPACK failures reach Python through floating-point flags,
    # which wasm keeps in software only with numpy's patch 0002
    "numpy linalg": ["numpy/linalg/tests"],
    # each folder with the test folders below it (sparse without sparse.linalg's: its own row)
    **{f"scipy {sub}": ["scipy/sparse/tests" if sub == "sparse" else
                        "scipy/" + sub.replace(".", "/")]
       for sub in ("linalg", "optimize", "sparse", "sparse.linalg", "special", "stats",
                   "integrate", "interpolate", "signal", "fft", "spatial", "ndimage",
                   "odr", "cluster", "io", "fftpack", "constants", "differentiate")},
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
#
# pandas publishes no test data: neither its sdist nor its wheels carry pandas/tests/**/data
# (only its git repository does, which is not reachable here), so the tests that read those
# files are skips (pandas' own --no-strict-data-files), and the ones that need a network
# (its `network` mark, as pandas' CI runs them without one) are deselected
PANDAS = ["--no-strict-data-files", "-m", "not network"]
OPTIONS: dict[str, list[str]] = {
    "matplotlib test_axes (no image comparison)":
        ["-k", "not png and not pdf and not svg and not eps"],
    **{name: PANDAS for name in SUITES if name.startswith("pandas ")},
}


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
    skips: Counter[str] = field(default_factory=Counter)  # reason -> tests
    seconds: float = 0.0
    note: str = ""


TRAP = "the runtime trapped"


def run_pytest(bundle: Path, targets: list[str], junit: Path, *, select: list[str],
               extra: list[str], work: Path, timeout: float) -> str:
    """Run pytest on ``targets`` in the bundle; "" when it wrote its report, else why not."""
    try:
        proc = pyodist("python", "--tests", *extra, str(bundle), "-m", "pytest", "-q",
                       "-p", "no:cacheprovider", f"--junitxml={junit}", "-W", "ignore",
                       "--tb=line", *select, *[SITE + t for t in targets], cwd=work,
                       timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if junit.is_file():
        return ""
    output = proc.stderr + proc.stdout
    if "pyodide_fatal_error" in output or "Pyodide has suffered a fatal error" in output:
        cause = re.search(r"The cause of the fatal error was:\n(.+)", output)
        return f"{TRAP}: {cause.group(1).strip() if cause else 'fatal error'}"
    return output[-300:]


def test_files(bundle: Path, paths: list[str]) -> list[str]:
    """The test modules under ``paths`` in the bundle's NAME-tests archives."""
    found = []
    for archive in sorted(bundle.glob("*-tests.zip")):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                if re.search(r"(^|/)test_[^/]*\.py$", member) and any(
                        member == p or member.startswith(p.rstrip("/") + "/") for p in paths):
                    found.append(member)
    return sorted(found)


def skip_reason(message: str) -> str:
    """A skip message without what varies from test to test (paths, numbers, quotes)."""
    first = message.strip().splitlines()[0] if message.strip() else "(no reason given)"
    first = re.sub(r"\S*/\S*", "PATH", first)
    first = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", first)
    return re.sub(r"\d+", "N", first)[:110]


def count(junit: Path, result: SuiteResult) -> None:
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - our file
        kinds = [c.tag for c in case]
        if "failure" in kinds or "error" in kinds:
            result.counts["failed"] += 1
            detail = next(c for c in case if c.tag in ("failure", "error"))
            first = (detail.get("message") or detail.text or "").strip().splitlines()
            result.failures.append((f"{case.get('classname')}::{case.get('name')}",
                                    first[0][:140] if first else ""))
        elif "skipped" in kinds:
            result.counts["skipped"] += 1
            detail = next(c for c in case if c.tag == "skipped")
            result.skips[skip_reason(detail.get("message") or "")] += 1
        else:
            result.counts["passed"] += 1


def run_suite(bundle: Path, name: str, paths: list[str], *, extra: list[str], work: Path,
              timeout: float) -> SuiteResult:
    junit = work / f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}.xml"
    options = {"select": OPTIONS.get(name, []),
               "extra": extra, "work": work, "timeout": timeout}
    start = time.perf_counter()
    note = run_pytest(bundle, paths, junit, **options)  # type: ignore[arg-type]
    result = SuiteResult(name, note=note)
    if junit.is_file():
        count(junit, result)
    elif note.startswith(TRAP):
        # the suite's process died with the runtime, and its report with it: again file by
        # file, so that the other files count and the ones that crash are named
        crashed = []
        for i, module in enumerate(test_files(bundle, paths)):
            part = junit.with_name(f"{junit.stem}.{i}.xml")
            why = run_pytest(bundle, [module], part, **options)  # type: ignore[arg-type]
            if part.is_file():
                count(part, result)
            else:
                crashed.append(f"{module.rsplit('/', 1)[-1]} ({why[:70]})")
        result.counts["crashed files"] = len(crashed)
        result.note = (f"{note}; run file by file, "
                       f"{', '.join(crashed) if crashed else 'no file'} crashed it")
    result.seconds = time.perf_counter() - start
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", type=Path,
                        default=ROOT / "dist" / "pyodist-demo-0.1.0-science")
    parser.add_argument("--suite", action="append", help="run only these (name prefix)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per suite")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="suites at once (each is one single-threaded Node process; "
                             "default: one per core)")
    args = parser.parse_args()
    args.bundle = args.bundle.resolve()  # the suites run in a folder of their own
    if not (args.bundle / "pyodide-lock.json").is_file():
        # the default place: build it (cached packages make this quick after make dist)
        made = pyodist("bundle", "--profile", "science", "--out", str(args.bundle.parent),
                       cwd=ROOT, timeout=4 * 3600)
        if made.returncode != 0 or not (args.bundle / "pyodide-lock.json").is_file():
            sys.exit(f"no bundle at {args.bundle} and 'pyodist bundle --profile science' "
                     f"failed:\n{made.stderr[-3000:]}")
    suites = {n: p for n, p in SUITES.items()
              if not args.suite or any(n.startswith(s) for s in args.suite)}
    with tempfile.TemporaryDirectory(prefix="pyodist-science-tests-") as tmp:
        work = Path(tmp)
        extra = test_wheels(work / "wheels")

        def one(item: tuple[str, list[str]]) -> SuiteResult:
            result = run_suite(args.bundle, item[0], item[1], extra=extra, work=work,
                               timeout=args.timeout)
            print(f"{item[0]}: {dict(result.counts)}{' ' + result.note if result.note else ''}",
                  file=sys.stderr, flush=True)
            return result

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(one, suites.items()))  # in SUITES order
    print(f"The packages' own tests in the `{args.bundle.name}` bundle "
          f"(`pyodist python --tests`), each "
          f"suite in its own Node process, {args.jobs} at a time on {os.cpu_count()} cores:\n")
    print("| suite | passed | failed | skipped | files that crash the runtime | time |")
    print("|---|---|---|---|---|---|")
    for r in results:
        c = r.counts
        extra_note = f" ({r.note.replace('|', '/')})" if r.note else ""
        print(f"| {r.name}{extra_note} | {c['passed']} | {c['failed']} | {c['skipped']} | "
              f"{c['crashed files']} | {r.seconds / 60:.1f} min |")
    print("\nWhy tests were skipped, the three most common reasons per suite (pytest's "
          "skip message, with paths and numbers left out):\n")
    print("| suite | tests | reason |")
    print("|---|---|---|")
    for r in results:
        for reason, n in r.skips.most_common(3):
            print(f"| {r.name} | {n} | {reason.replace('|', '/')} |")
    failed = [(r.name, t, m) for r in results for t, m in r.failures]
    if failed:
        print("\nEvery failure, with the first line of its message:\n")
        print("| suite | test | message |")
        print("|---|---|---|")
        for suite, test, message in failed:
            print(f"| {suite} | {test} | {message.replace('|', '/')} |")


if __name__ == "__main__":
    main()
