"""The science stack: numpy built from its sdist in the toolchain, and a package compiled
against numpy's headers, both working in Pyodide under Node.

The builds use the user's artifact cache (like `make dist`), so numpy's cold build (a few
minutes on 2 cores) happens once per machine and later runs reuse it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from pyodist.runtime.node import run_python

ROOT = Path(__file__).resolve().parents[2]

SMOKE = r"""
import json
import numpy as np

a = np.arange(12, dtype=np.float64).reshape(3, 4)
m = np.array([[4.0, 2.0, 0.6], [2.0, 5.0, 1.5], [0.6, 1.5, 3.0]])
u, s, vt = np.linalg.svd(a, full_matrices=False)
chol = np.linalg.cholesky(np.array([[4.0, 2.0], [2.0, 3.0]]))
w, v = np.linalg.eigh(np.array([[2.0, 1.0], [1.0, 2.0]]))
spectrum = np.fft.fft(np.array([1.0, 0.0, 0.0, 0.0]))
signal = np.sin(np.linspace(0, 8 * np.pi, 64))
rng = np.random.default_rng(0)
blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
# matrix products (BLAS dgemm through the 4x4 wasm kernel, with its 2- and 1-wide edges)
# against numpy's own loops, on odd shapes, transposed and strided operands
gemm_ok = []
for rows, inner, cols in [(1, 1, 1), (3, 5, 7), (17, 33, 5), (100, 257, 33), (257, 100, 130)]:
    x, y = rng.random((rows, inner)), rng.random((inner, cols))
    reference = np.einsum("ij,jk->ik", x, y)
    for got in (x @ y, (y.T @ x.T).T, np.asfortranarray(x) @ y,
                x[:, ::1] @ np.ascontiguousarray(y.T).T):
        gemm_ok.append(bool(np.allclose(got, reference, rtol=1e-12, atol=1e-12)))
rng = np.random.default_rng(0)


def linalg_error(call):
    try:
        call()
    except np.linalg.LinAlgError as e:
        return str(e)
    return None


def errstate_raises(call):
    with np.errstate(divide="raise"):
        try:
            call()
        except FloatingPointError as e:
            return str(e)
    return None


json.dumps({
    "version": np.__version__,
    "blas": blas["name"] if str(blas.get("found")).lower() == "true" else None,
    "gemm_ok": gemm_ok,
    "matmul": (a @ a.T).tolist(),
    "svd_reconstructs": bool(np.allclose(u @ np.diag(s) @ vt, a)),
    "singular_values": s.tolist(),
    "cholesky": chol.ravel().tolist(),
    "eigh": w.tolist(),
    "eigvec_ok": bool(np.allclose(m @ np.linalg.eigh(m)[1],
                                  np.linalg.eigh(m)[1] * np.linalg.eigh(m)[0])),
    "fft": [[z.real, z.imag] for z in spectrum],
    "fft_roundtrip": bool(np.allclose(np.fft.ifft(np.fft.fft(signal)).real, signal)),
    "solve": np.linalg.solve(m, np.array([1.0, 2.0, 3.0])).tolist(),
    "rng": rng.random(3).tolist(),
    "long_size": np.dtype(np.int_).itemsize,
    # numpy reports these through floating-point flags, which wasm does not have (patch 0002)
    "linalg_errors": [linalg_error(lambda: np.linalg.cholesky(np.array([[1.0, 2.0],
                                                                         [2.0, 1.0]]))),
                      linalg_error(lambda: np.linalg.inv(np.zeros((2, 2)))),
                      linalg_error(lambda: np.linalg.solve(np.ones((2, 2)), np.ones(2)))],
    "int_divide": errstate_raises(lambda: np.array([1, 2]) // np.array([1, 0])),
})
"""

BOTTLENECK = r"""
import json
import numpy as np
import bottleneck as bn

x = np.array([1.0, np.nan, 3.0, 4.0])
json.dumps({
    "nanmean": float(bn.nanmean(x)),
    "move_mean": [None if np.isnan(v) else float(v)
                  for v in bn.move_mean(np.arange(5.0), window=2)],
    "rankdata": bn.rankdata([3.0, 1.0, 2.0]).tolist(),
})
"""


def build(*selection: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "pyodist", "build", *selection, "--json"], cwd=ROOT,
        capture_output=True, text=True, env={**os.environ, "CI": "1"}, timeout=3600,
        check=False,
    )
    try:
        data: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        pytest.fail(f"no JSON report (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    assert proc.returncode == 0, json.dumps(data, indent=1)[-4000:]
    return data


def wheels(data: dict[str, Any], *names: str) -> list[Path]:
    return [Path(f) for n in names for f in data["packages"][n]["files"] if f.endswith(".whl")]


@pytest.fixture(scope="module")
def science(toolchain_image: str) -> dict[str, Any]:
    return build("numpy", "bottleneck")


@pytest.fixture(scope="module")
def science_noblas(toolchain_image: str) -> dict[str, Any]:
    return build("numpy-noblas", "bottleneck")


def test_openblas_is_a_relocatable_static_library(science: dict[str, Any]) -> None:
    [tar] = [Path(f) for f in science["packages"]["openblas"]["files"]]
    with tarfile.open(tar) as tf:
        names = set(tf.getnames())
        pc = tf.extractfile("lib/pkgconfig/openblas.pc")
        assert pc is not None
        text = pc.read().decode()
    assert {"lib/libopenblas.a", "include/cblas.h", "include/f77blas.h",
            "include/openblas_config.h"} <= names
    assert not any(n.startswith("lib/cmake") for n in names)
    # relocatable: found wherever a dependent unpacks it
    assert "prefix=${pcfiledir}/../.." in text and "/pyodist/" not in text
    log = science["packages"]["openblas"]["log"]
    if log:  # built in this run: the wasm SIMD kernels and -O3 were used
        text = Path(log).read_text()
        assert "TARGET=WASM128_GENERIC" in text and "-O3 -msimd128" in text


def test_every_lapack_routine_links_with_one_signature(science: dict[str, Any],
                                                       toolchain_image: str,
                                                       tmp_path: Path) -> None:
    """SciPy's smaller check in `make test` (its own build is in `make science-tests`).

    scipy.linalg.cython_lapack reaches nearly all of LAPACK, so a side module linking the
    whole of libopenblas.a must see one signature per symbol: wasm-ld turns a mismatch (a
    routine defined `int`, called as `void`) into a stub that traps, and pyodide-build's
    --fatal-warnings into a failed scipy link. The recipe's patch 0002 makes every LAPACK
    subroutine void, like Fortran and like scipy's and numpy's declarations.
    """
    from pyodist.toolchain import docker_client  # noqa: PLC0415

    [tar] = [Path(f) for f in science["packages"]["openblas"]["files"]]
    payload = io.BytesIO()  # handed to the container as an archive: no host folder shared
    with tarfile.open(tar) as tf, tarfile.open(fileobj=payload, mode="w") as out_tar:
        data = tf.extractfile("lib/libopenblas.a")  # a link to the versioned archive
        assert data is not None
        content = data.read()
        member = tarfile.TarInfo("work/lib/libopenblas.a")
        member.size = len(content)
        out_tar.addfile(member, io.BytesIO(content))
    script = ("emcc -O1 -sSIDE_MODULE=1 -Wl,--experimental-pic -Wl,--fatal-warnings "
              "-o /tmp/all.wasm "
              "-Wl,--whole-archive /work/lib/libopenblas.a -Wl,--no-whole-archive 2>&1; "
              "echo exit=$?")
    container = docker_client().containers.create(
        toolchain_image, ["bash", "-lc", script], network_disabled=True, user="0:0")
    try:
        container.put_archive("/", payload.getvalue())
        container.start()
        container.wait(timeout=900)
        out = container.logs().decode()
    finally:
        container.remove(force=True)
    assert "signature mismatch" not in out, out[-4000:]
    assert "exit=0" in out, out[-4000:]


def test_numpy_wheel_is_a_wasm_wheel_with_split_tests(science: dict[str, Any]) -> None:
    files = [Path(f).name for f in science["packages"]["numpy"]["files"]]
    assert "numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32.whl" in files
    assert "numpy-tests.zip" in files  # unvendor-tests: tests shipped separately


# numpy-noblas is not in what `make dist` builds: its cold build (a few minutes) is make
# test-slow's
NOBLAS = pytest.mark.slow


@pytest.mark.parametrize(("which", "recipe", "blas"), [
    ("science", "numpy", "openblas"),
    pytest.param("science_noblas", "numpy-noblas", None, marks=NOBLAS)])
def test_numpy_smoke_in_node(which: str, recipe: str, blas: str | None,
                             request: pytest.FixtureRequest, runtime_dir: Path) -> None:
    built = request.getfixturevalue(which)
    result = run_python(runtime_dir, wheels(built, recipe), SMOKE)
    assert result["ok"], result.get("error")
    got = result["result"]
    assert got["version"] == "2.4.6"
    assert got["blas"] == blas
    assert got["gemm_ok"] == [True] * 20
    assert got["matmul"] == [[14.0, 38.0, 62.0], [38.0, 126.0, 214.0], [62.0, 214.0, 366.0]]
    assert got["svd_reconstructs"]
    assert got["singular_values"] == pytest.approx([22.409298, 1.955340, 0.0], abs=1e-5)
    assert got["cholesky"] == pytest.approx([2.0, 0.0, 1.0, 2.0 ** 0.5])
    assert got["eigh"] == pytest.approx([1.0, 3.0])
    assert got["eigvec_ok"]
    assert got["fft"] == [[1.0, 0.0]] * 4
    assert got["fft_roundtrip"]
    assert got["solve"] == pytest.approx([1 / 16, 63 / 680, 16 / 17])
    # the same stream as native numpy's default_rng(0)
    assert got["rng"] == pytest.approx([0.6369616873214543, 0.2697867137638703,
                                        0.04097352393619469])
    assert got["long_size"] == 4  # wasm32: C long is 4 bytes
    assert got["linalg_errors"] == ["Matrix is not positive definite", "Singular matrix",
                                    "Singular matrix"]
    assert got["int_divide"] == "divide by zero encountered in floor_divide"


@pytest.mark.parametrize(("which", "recipe"), [
    ("science", "numpy"), pytest.param("science_noblas", "numpy-noblas", marks=NOBLAS)])
def test_package_built_against_numpy_headers(which: str, recipe: str,
                                             request: pytest.FixtureRequest,
                                             runtime_dir: Path) -> None:
    built = request.getfixturevalue(which)
    # the variant stands in for numpy: bottleneck is built against it, under its own key
    assert set(built["packages"]) == {recipe, "bottleneck"} | (
        {"openblas"} if recipe == "numpy" else set())
    log = built["packages"]["bottleneck"]["log"]
    if log:  # built in this run: numpy's wasm headers were put in place for it
        assert "Installing cross-build packages numpy" in Path(log).read_text()
    result = run_python(runtime_dir, wheels(built, recipe, "bottleneck"), BOTTLENECK)
    assert result["ok"], result.get("error")
    got = result["result"]
    assert got["nanmean"] == pytest.approx(8.0 / 3.0)
    assert got["move_mean"] == [None, 0.5, 1.5, 2.5, 3.5]
    assert got["rankdata"] == [3.0, 1.0, 2.0]


CONTOURS = """
import json
import numpy as np
import contourpy
z = np.add.outer(np.arange(5.0), np.arange(5.0))  # z[y, x] = x + y
lines = contourpy.contour_generator(z=z, name="serial").lines(3.0)
filled = contourpy.contour_generator(z=z).filled(1.0, 2.0)
json.dumps({"lines": [line.tolist() for line in lines], "version": contourpy.__version__,
            "filled_parts": len(filled[0])})
"""


def test_meson_python_and_cxx_against_numpy(science: dict[str, Any], runtime_dir: Path) -> None:
    """`make test`'s small check of the stack `make test-slow` bundles (pandas, matplotlib):
    contourpy, one of matplotlib's, built like pandas and SciPy (meson-python's cross build
    against numpy's wasm headers; C++ with pybind11 and wasm exceptions), gives the
    contour a native contourpy gives."""
    built = build("contourpy")
    result = run_python(runtime_dir, wheels(science, "numpy") + wheels(built, "contourpy"),
                        CONTOURS)
    assert result["ok"], result.get("error")
    got = result["result"]
    assert got["version"] == "1.4.0"
    [line] = got["lines"]
    assert sorted([line[0], line[-1]]) == [pytest.approx([0.0, 3.0]), pytest.approx([3.0, 0.0])]
    assert all(x + y == pytest.approx(3.0) for x, y in line)
    assert got["filled_parts"] == 1
