"""The science stack for real: NumPy, pandas and matplotlib (Agg) in the `dataframes` bundle
(marked slow: pandas' and matplotlib's cold builds take about 10 minutes on 2 cores, so make
test-slow runs them, and make test keeps a smaller check, contourpy's build and contours in
test_science.py), SciPy and scikit-learn in the `science` bundle (marked science_profile:
their cold builds take most of an hour, so make science-tests runs them).

make test-slow, on the dataframes bundle:
- pandas reads the example's CSV and matplotlib writes a PNG to the host through NODEFS,
  checked as a PNG with the plot's size and colours;
- a figure drawn on `pyodist serve`'s console page in headless Chromium: the screenshot has
  the plot's pixels (not a blank canvas), and the page shows it as an image;
- a script run on the console page with its files (`--workdir` + `--run`), as a user does;
- a small, real slice of pandas' and matplotlib's own tests through `pyodist python --tests`
  (the stated subsets of every package run in `make science-tests`, see the README).

make science-tests, on the science bundle:
- examples/science (pandas -> scikit-learn -> matplotlib) under Node and in the browser;
- SciPy's compiled layers (LAPACK, sparse, optimize, special, spatial) give right answers
  in Node: a call with a mismatched signature would trap instead.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "science"
# the dataframes bundle's cold build is make test-slow's
DATAFRAMES = pytest.mark.slow


def pyodist(*args: str, cwd: Path = ROOT, timeout: int = 3600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "CI": "1"},
                          timeout=timeout, check=False)


def bundle(profile: str, out: Path) -> Path:
    proc = pyodist("bundle", "--profile", profile, "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return Path(json.loads(proc.stdout)["folder"])


@pytest.fixture(scope="module")
def dataframes(tmp_path_factory: pytest.TempPathFactory, toolchain_image: str) -> Path:
    return bundle("dataframes", tmp_path_factory.mktemp("dataframes"))


@pytest.fixture(scope="module")
def science(tmp_path_factory: pytest.TempPathFactory, toolchain_image: str) -> Path:
    # make science-tests bundles it into dist/ once (assembling it compresses ~100 MB) and
    # names it here; otherwise it is bundled for this run
    given = os.environ.get("PYODIST_SCIENCE_BUNDLE")
    if given:
        assert (Path(given) / "pyodide-lock.json").is_file(), f"no bundle at {given}"
        return Path(given)
    return bundle("science", tmp_path_factory.mktemp("science"))


def read_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and interlace == 0 and color in (2, 6)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = bytes(line)
    return width, height, [bytes(r[i] for i in range(len(r)) if i % bpp < 3) for r in rows]


def coloured_share(rows: list[bytes]) -> float:
    """The share of pixels that are clearly coloured (not white, grey or black)."""
    total = coloured = 0
    for row in rows:
        for i in range(0, len(row), 3):
            r, g, b = row[i], row[i + 1], row[i + 2]
            total += 1
            coloured += max(r, g, b) - min(r, g, b) > 60
    return coloured / max(total, 1)


PLOT = """\
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
data = pd.read_csv("measurements.csv")
print(f"{len(data)} measurements from {data['site'].nunique()} sites")
fig, ax = plt.subplots(figsize=(10, 4))
for site, group in data.groupby("site"):
    ax.scatter(group["temperature_c"], group["yield_kg"], s=12, label=site)
ax.legend()
fig.savefig("fit.png", dpi=100)
print("wrote fit.png")
"""


def copy_example(work: Path) -> None:
    work.mkdir()
    for name in ("analysis.py", "measurements.csv"):
        (work / name).write_bytes((EXAMPLE / name).read_bytes())


def check_plot(path: Path) -> None:
    width, height, rows = read_png(path.read_bytes())
    assert (width, height) == (1000, 400)
    assert coloured_share(rows) > 0.005  # the scatter points, not a blank canvas


@DATAFRAMES
def test_pandas_and_matplotlib_write_a_plot_under_node(dataframes: Path, tmp_path: Path) -> None:
    work = tmp_path / "example"
    copy_example(work)
    (work / "plot.py").write_text(PLOT)
    proc = pyodist("python", str(dataframes), "plot.py", cwd=work, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "240 measurements from 3 sites" in proc.stdout
    check_plot(work / "fit.png")


@pytest.mark.science_profile
def test_example_under_node_writes_the_plot(science: Path, tmp_path: Path) -> None:
    work = tmp_path / "example"
    copy_example(work)
    proc = pyodist("python", str(science), "analysis.py", cwd=work, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "240 measurements from 3 sites" in proc.stdout
    r2 = float(proc.stdout.split("R² on held-out days:")[1].split()[0])
    assert r2 > 0.8, proc.stdout  # the data has a strong linear signal
    check_plot(work / "fit.png")


SCIPY = r"""
import io
import json
import numpy as np
from scipy import fft, linalg, odr, optimize, sparse, special, spatial, stats
from scipy import io as sio
from scipy.sparse.linalg import spsolve
rng = np.random.default_rng(0)
a = rng.random((60, 60)) + 60 * np.eye(60)
b = rng.random(60)
lu, piv = linalg.lu_factor(a)
n = 50
lap = sparse.diags([-1, 2, -1], [-1, 0, 1], shape=(n, n), format="csc")
x = spsolve(lap, np.ones(n))
res = optimize.minimize(optimize.rosen, np.zeros(5), jac=optimize.rosen_der, method="BFGS")
tree = spatial.cKDTree(rng.random((200, 3)))
q = rng.random((500, 3))
# scipy.odr is ODRPACK translated by f2c (patch 0006): a line through exact points
xs = np.linspace(0.0, 5.0, 20)
line = odr.ODR(odr.Data(xs, 2.0 * xs + 1.0), odr.unilinear, beta0=[1.0, 0.0]).run()
# mmwrite/mmread run in one thread (patch 0008), set_backend without get_native_id (0007)
buf = io.BytesIO()
sio.mmwrite(buf, lap)
buf.seek(0)
back = sio.mmread(buf)
with fft.set_backend("scipy"):
    spectrum = fft.fft(np.ones(8))
print(json.dumps({
    "solve": bool(np.allclose(a @ linalg.solve(a, b), b)),
    "lu": bool(np.allclose(a @ linalg.lu_solve((lu, piv), b), b)),
    "inv": bool(np.allclose(linalg.inv(a) @ a, np.eye(60))),
    "eigh": bool(np.allclose(np.sort(linalg.eigh(a + a.T, eigvals_only=True)),
                             np.sort(np.linalg.eigvalsh(a + a.T)))),
    "svd": bool(np.allclose(linalg.svdvals(a), np.linalg.svd(a, compute_uv=False))),
    "lstsq": bool(np.allclose(linalg.lstsq(a, b)[0], np.linalg.solve(a, b))),
    "spsolve": bool(np.allclose(lap @ x, 1.0)),
    "bfgs": bool(res.success and np.allclose(res.x, 1.0, atol=1e-4)),
    "gamma": float(special.gamma(5.0)),
    "kdtree": int(tree.query(tree.data[:1], k=1)[1][0]),
    "ilaver": [int(v) for v in linalg.lapack.ilaver()],
    # ?gees through f2py (a function pointer) and its select callback (patch 0004)
    "schur": int(linalg.schur(a[:4, :4] - 70 * np.eye(4), sort="lhp")[2]),
    "logm": bool(np.allclose(linalg.expm(linalg.logm(a[:4, :4])), a[:4, :4])),
    # qmc's std::thread loops run in one worker here (patch 0005): the same sum for any count
    "qmc": bool(np.isclose(stats.qmc.discrepancy(q, workers=2), stats.qmc.discrepancy(q))),
    "odr": [round(float(v), 6) for v in line.beta],
    "mmio": bool(np.allclose(back.toarray(), lap.toarray())),
    "fft_backend": float(spectrum[0].real),
}))
"""


@pytest.mark.science_profile
def test_scipy_compiled_layers_give_right_answers(science: Path, tmp_path: Path) -> None:
    proc = pyodist("python", str(science), "-c", SCIPY, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {"solve": True, "lu": True, "inv": True, "eigh": True, "svd": True,
                   "lstsq": True, "spsolve": True, "bfgs": True, "gamma": 24.0,
                   "kdtree": 0, "ilaver": [3, 12, 0], "schur": 4, "logm": True,
                   "qmc": True, "odr": [2.0, 1.0], "mmio": True, "fft_backend": 8.0}


FIGURE = """\
import matplotlib.pyplot as plt
import numpy as np
x = np.linspace(0, 4 * np.pi, 400)
fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
ax.plot(x, np.sin(x), color="tab:red", linewidth=4)
ax.fill_between(x, np.sin(x), color="tab:blue", alpha=0.8)
print("figure", fig.get_size_inches().tolist())
"""


@DATAFRAMES
def test_figure_on_the_console_page_in_chromium(dataframes: Path, tmp_path: Path) -> None:
    from pyodist.bundle.testing import browser_setup, console_screenshot  # noqa: PLC0415

    shot = tmp_path / "console.png"
    result = console_screenshot(dataframes, browser_setup(ROOT), FIGURE, shot)
    assert result["ok"], result
    assert "figure [6.0, 3.0]" in result["output"]
    _, _, rows = read_png(shot.read_bytes())
    # a 600x300 plot filled red and blue: a real share of the page is coloured
    assert coloured_share(rows) > 0.02


def run_on_the_console_page(folder: Path, script: Path, shot: Path) -> dict[str, Any]:
    from pyodist.bundle.serve import running_server  # noqa: PLC0415
    from pyodist.bundle.testing import browser_setup  # noqa: PLC0415
    from pyodist.runtime.node import run_harness  # noqa: PLC0415

    setup = browser_setup(ROOT)
    with running_server(folder, workdir=EXAMPLE, script=script) as server:
        result: dict[str, Any] = run_harness(
            "console_shot.mjs", {"url": server.url, "code": None, "screenshot": str(shot),
                                 "chromium": setup.chromium},
            timeout=600, extra_env=setup.env)
    assert result["ok"], result
    assert "240 measurements from 3 sites" in result["output"], result["output"]
    assert "wrote fit.png" in result["output"]
    assert result["images"] == 1  # the figure, shown under the output
    _, _, rows = read_png(shot.read_bytes())
    assert coloured_share(rows) > 0.005
    return result


@DATAFRAMES
def test_a_script_with_its_files_on_the_console_page(dataframes: Path, tmp_path: Path) -> None:
    script = tmp_path / "plot.py"
    script.write_text(PLOT)
    run_on_the_console_page(dataframes, script, tmp_path / "plot.png")


@pytest.mark.science_profile
def test_example_in_the_browser_as_a_user_runs_it(science: Path, tmp_path: Path) -> None:
    result = run_on_the_console_page(science, EXAMPLE / "analysis.py", tmp_path / "example.png")
    assert "R² on held-out days:" in result["output"]


# A real slice of each package's own tests (seconds each); `make science-tests` runs the
# subsets the README reports.
SUITES = {
    "pandas": ["pandas/tests/frame/test_arithmetic.py", "pandas/tests/io/parser/test_header.py"],
    "matplotlib": ["matplotlib/tests/test_figure.py::test_figure_label",
                   "matplotlib/tests/test_agg.py::test_repeated_save_with_alpha"],
}


@DATAFRAMES
@pytest.mark.parametrize("package", sorted(SUITES))
def test_a_slice_of_the_package_tests(dataframes: Path, tmp_path: Path, package: str) -> None:
    wheels = tmp_path / "wheels"
    built = pyodist("build", "pytest", "hypothesis", "-o", str(wheels))
    assert built.returncode == 0, built.stderr[-3000:]
    extra = [a for w in sorted(wheels.glob("*.whl")) for a in ("--with", str(w))]
    site = "/lib/python3.14/site-packages/"
    proc = pyodist("python", "--tests", *extra, str(dataframes), "-m", "pytest", "-q",
                   "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning",
                   *[site + t for t in SUITES[package]], cwd=tmp_path, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout
