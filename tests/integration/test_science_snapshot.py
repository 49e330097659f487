"""Memory snapshots that hold compiled packages: numpy imported, restored by the bundle's
loader (pyodist-snapshot.mjs) with the stock Pyodide 314.0.7 runtime, in Node and Chromium.

Stock Pyodide cannot restore such a snapshot (its side modules and grown memory are not in
it); the loader instantiates numpy's modules again at their recorded addresses. These tests
check that the restored runtime computes what a normally loaded one does, that its random
numbers are fresh, that a module outside the snapshot still imports, and that a snapshot
record that does not fit is refused instead of running.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pyodist.bundle.serve import running_server
from pyodist.bundle.testing import browser_setup
from pyodist.runtime.node import run_harness
from tests.integration.test_bundle import ROOT, bundle, pyodist

# the same results both ways: linear algebra (OpenBLAS), ufuncs, strings, seeded random
# numbers, errors; numpy.fft is not in the snapshot, so it is loaded after the restore
CHECK = """
import json, numpy as np
a = np.arange(12, dtype=float).reshape(3, 4)
m = np.array([[4.0, 1.0, 2.0], [1.0, 5.0, 3.0], [2.0, 3.0, 6.0]])
out = {
    "sum": float(a.sum()), "matmul": (a @ a.T).tolist(), "det": float(np.linalg.det(m)),
    "inv": np.linalg.inv(m).round(12).tolist(), "eig": sorted(np.linalg.eigvalsh(m).round(10)),
    "sin": np.sin(np.linspace(0, 1, 5)).tolist(), "str": np.char.upper(["ab", "c"]).tolist(),
    "seeded": np.random.default_rng(7).random(3).tolist(),
    "fft": np.abs(np.fft.fft([1.0, 2.0, 3.0, 4.0])).round(12).tolist(),
}
try:
    np.linalg.inv(np.zeros((2, 2)))
except np.linalg.LinAlgError as e:
    out["error"] = str(e)
print(json.dumps(out, sort_keys=True))
"""


@pytest.fixture(scope="module")
def numpy_fast(tmp_path_factory: pytest.TempPathFactory, toolchain_image: str) -> dict[str, Any]:
    return bundle("numpy-fast", tmp_path_factory.mktemp("numpy-fast"))


def python(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", "python", *args[:-2], str(folder),
                           *args[-2:]], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)


def test_the_snapshot_records_numpys_compiled_modules(numpy_fast: dict[str, Any]) -> None:
    folder = Path(numpy_fast["folder"])
    info = json.loads((folder / "snapshot.json").read_text())
    assert info["format"] == 2 and info["packages"] == ["numpy"]
    libs = info["dynlibs"]["libs"]
    assert any(lib["member"].startswith("numpy/_core/_multiarray_umath") for lib in libs)
    assert all(lib["wheel"].startswith("numpy-2.4.6-") for lib in libs)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "pyodist-snapshot.mjs" in manifest["files"]
    assert (folder / "pyodist-snapshot.mjs").read_bytes() == (
        ROOT / "src/pyodist/runtime/pyodist-snapshot.mjs").read_bytes()


def test_numpy_from_the_snapshot_computes_what_a_normal_load_does(
        numpy_fast: dict[str, Any]) -> None:
    folder = Path(numpy_fast["folder"])
    restored = python(folder, "--timing", "-c", CHECK)
    assert restored.returncode == 0, restored.stderr[-3000:]
    assert "(from snapshot.bin)" in restored.stderr
    loaded = python(folder, "--no-snapshot", "-c", CHECK)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert json.loads(restored.stdout) == json.loads(loaded.stdout)
    assert "Singular matrix" in json.loads(restored.stdout)["error"]


def test_every_start_from_the_snapshot_draws_fresh_random_numbers(
        numpy_fast: dict[str, Any]) -> None:
    folder = Path(numpy_fast["folder"])
    code = ("import random, numpy as np; "
            "print(random.random(), np.random.default_rng().random(), np.random.random())")
    runs = [python(folder, "-c", code) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr[-2000:]
    assert runs[0].stdout != runs[1].stdout


def test_the_numpy_snapshot_starts_in_node_and_chromium(numpy_fast: dict[str, Any]) -> None:
    # Node: the snapshot check; Chromium: the console page computes with numpy at once
    done = pyodist("test", numpy_fast["folder"])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert done.stdout.count("start from the memory snapshot  ok") == 2, done.stdout


def test_chromium_from_the_snapshot_computes_what_a_normal_load_does(
        numpy_fast: dict[str, Any]) -> None:
    # in a browser the loader has Python unpack the wheels after the restore (numpy.fft,
    # not in the snapshot, is imported from those files)
    folder = Path(numpy_fast["folder"])
    setup = browser_setup(ROOT)
    with running_server(folder) as server:
        data = run_harness("browser_check.mjs", {
            "bundleURL": server.url, "packages": ["numpy"], "worker": False,
            "screenshot": None, "snapshot": True, "code": CHECK}, timeout=600,
            extra_env=setup.env)
    assert data["ok"], data
    assert "numpy already loaded from snapshot" in data["load_messages"]
    loaded = python(folder, "--no-snapshot", "-c", CHECK)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert json.loads(data["code_output"]) == json.loads(loaded.stdout)


def test_a_snapshot_record_that_does_not_fit_is_refused(numpy_fast: dict[str, Any],
                                                        tmp_path: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(numpy_fast["folder"], copy)
    info = json.loads((copy / "snapshot.json").read_text())
    info["dynlibs"]["table_checksum"] ^= 1
    (copy / "snapshot.json").write_text(json.dumps(info))
    done = python(copy, "-c", "import numpy; print(numpy.arange(3).sum())")
    assert done.returncode != 0
    assert "function table restored differs from the snapshot's" in done.stderr, \
        done.stderr[-2000:]


PLOT = """
import io, json, numpy as np
from matplotlib.figure import Figure
from matplotlib.backends.backend_agg import FigureCanvasAgg
fig = Figure(figsize=(2, 2), dpi=50)
FigureCanvasAgg(fig)
ax = fig.add_subplot()
ax.plot(np.arange(10), np.arange(10) ** 2)
buf = io.BytesIO()
fig.savefig(buf, format="png")
import matplotlib.pyplot as plt  # not in the snapshot: imported from the wheel's files
print(json.dumps({"png": buf.getvalue()[:8].hex(), "ticks": ax.get_yticks().tolist(),
                  "backend": plt.get_backend(), "size": fig.canvas.get_width_height()}))
"""


def same_both_ways(profile: str, code: str, out: Path) -> dict[str, Any]:
    """``code``'s JSON output in ``profile``'s bundle from its snapshot, checked equal to
    its output after a normal load."""
    folder = Path(bundle(profile, out)["folder"])
    restored = python(folder, "--timing", "-c", code)
    assert restored.returncode == 0, restored.stderr[-3000:]
    assert "(from snapshot.bin)" in restored.stderr
    loaded = python(folder, "--no-snapshot", "-c", code)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    result: dict[str, Any] = json.loads(restored.stdout)
    assert result == json.loads(loaded.stdout)
    return result


@pytest.mark.slow  # matplotlib is built by make test-slow's dataframes bundle, not make dist
def test_matplotlib_from_the_snapshot_draws_what_a_normal_load_does(
        tmp_path: Path, toolchain_image: str) -> None:
    assert same_both_ways("plot-fast", PLOT, tmp_path)["png"] == "89504e470d0a1a0a"


# SciPy from the snapshot (linalg, special, optimize, stats, sparse imported) and four
# submodules that are not in it, imported from the wheel's files after the restore
SCIPY = """
import json
import numpy as np
from scipy import linalg, optimize, special, stats, sparse
from scipy import integrate, interpolate, signal, fft
a = np.array([[4.0, 1.0, 2.0], [1.0, 5.0, 3.0], [2.0, 3.0, 6.0]])
print(json.dumps({
    "solve": linalg.solve(a, [1.0, 2.0, 3.0]).round(12).tolist(),
    "lu": linalg.lu_factor(a)[0].round(12).tolist(),
    "eigh": linalg.eigh(a)[0].round(10).tolist(),
    "gamma": float(special.gamma(4.5)), "erf": float(special.erf(0.3)),
    "min": float(optimize.minimize_scalar(lambda x: (x - 2.0) ** 2).x.round(6)),
    "norm": float(stats.norm.cdf(1.0)), "rvs": stats.norm.rvs(size=3, random_state=1).tolist(),
    "sparse": sparse.csr_matrix(a).dot(np.ones(3)).tolist(),
    "quad": float(integrate.quad(np.sin, 0, np.pi)[0]),
    "interp": float(interpolate.interp1d([0, 1, 2], [0, 1, 4])(1.5)),
    "fft": np.abs(fft.fft([1.0, 2.0, 3.0, 4.0])).round(12).tolist(),
    "butter": signal.butter(2, 0.3)[0].round(12).tolist(),
}, sort_keys=True))
"""


@pytest.mark.science_profile  # SciPy: a 20-minute cold build (make science-tests)
def test_scipy_from_the_snapshot_computes_what_a_normal_load_does(
        tmp_path: Path, toolchain_image: str) -> None:
    assert same_both_ways("scipy-fast", SCIPY, tmp_path)["quad"] == pytest.approx(2.0)
