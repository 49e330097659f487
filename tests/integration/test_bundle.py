"""`pyodist bundle` and `pyodist verify` for real: the project's own pyodist.toml profiles,
loaded with the stock loadPyodide({indexURL, lockFileURL}) under Node.

Bundles are built with the user's artifact cache (numpy is built once per machine).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pyodist.runtime.node import load_bundle

ROOT = Path(__file__).resolve().parents[2]


def pyodist(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "CI": "1"},
                          timeout=3600, check=False)


def project_file(folder: Path, name: str, profiles: str) -> Path:
    """A pyodist.toml in ``folder`` for distribution ``name`` over recipes/, with ``profiles``."""
    project = folder / "pyodist.toml"
    project.write_text(
        f'[distribution]\nname = "{name}"\nversion = "1"\n'
        '[runtime]\npyodide = "314.0.7"\n'
        f'[build]\nrecipe-dirs = ["{ROOT / "recipes"}"]\n' + profiles)
    return project


def bundle(profile: str, out: Path, *, cwd: Path = ROOT,
           project: Path | None = None) -> dict[str, Any]:
    extra = ["--project", str(project)] if project else []
    proc = pyodist("bundle", "--profile", profile, "--out", str(out), "--json", *extra, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-4000:]
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


@pytest.fixture(scope="module")
def fullstack(tmp_path_factory: pytest.TempPathFactory, toolchain_image: str) -> dict[str, Any]:
    return bundle("fullstack", tmp_path_factory.mktemp("fullstack"))


@pytest.mark.parametrize("which", ["slim", "fullstack"])
def test_stock_loader_loads_every_package(which: str, request: pytest.FixtureRequest) -> None:
    info = request.getfixturevalue(which)
    folder = Path(info["folder"])
    result = load_bundle(folder)
    assert result["ok"], result
    lock = json.loads((folder / "pyodide-lock.json").read_text())
    expected = {m for p in lock["packages"].values() for m in p["imports"]}
    assert set(result["imports"]) == expected and expected
    if which == "fullstack":
        assert {"numpy", "bottleneck", "lz4", "ujson", "markupsafe", "micropip"} <= expected
        assert "numpy-tests" in lock["packages"]  # tests = true
    else:
        assert set(lock["packages"]) == {"micropip"}  # it vendors packaging


def test_lock_and_manifest_describe_the_files(slim: dict[str, Any]) -> None:
    folder = Path(slim["folder"])
    lock = json.loads((folder / "pyodide-lock.json").read_text())
    assert lock["info"]["abi_version"] == "2026_0"
    for pkg in lock["packages"].values():
        data = (folder / pkg["file_name"]).read_bytes()
        assert pkg["sha256"] == hashlib.sha256(data).hexdigest()
    manifest = json.loads((folder / "manifest.json").read_text())
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*")
               if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    assert {"python_stdlib.zip.br", "pyodide.asm.wasm.gz"} <= on_disk
    assert manifest["runtime"]["emscripten"] == "5.0.3"
    assert manifest["toolchain"]["emscripten-version"] != ""
    assert "emscripten_matches_runtime" in manifest["toolchain"]
    assert manifest["packages"]["micropip"]["source"]["sha256"]
    sbom = json.loads((folder / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    names = {c["name"]: c for c in sbom["components"]}
    assert names["micropip"]["purl"] == "pkg:pypi/micropip@0.11.1"
    assert names["micropip"]["hashes"][0]["alg"] == "SHA-256"
    assert names["pyodide"]["version"] == "314.0.7"


def test_stdlib_is_precompiled_where_start_up_needs_it(slim: dict[str, Any]) -> None:
    import zipfile  # noqa: PLC0415

    folder = Path(slim["folder"])
    with zipfile.ZipFile(folder / "python_stdlib.zip") as zf:
        names = zf.namelist()
        argparse_source = zf.read("argparse.py").decode()
    # imported by loadPyodide() or by `import micropip`: .pyc only
    assert {"asyncio/events.pyc", "typing.pyc", "urllib/parse.pyc"} <= set(names)
    assert "asyncio/events.py" not in names and "typing.py" not in names
    # not imported at start-up: minified source (no docstrings, comments or 4-space indents)
    assert "argparse.pyc" not in names
    assert '"""' not in argparse_source.split("\n", 1)[0]
    assert "\n def __init__(self" in argparse_source  # methods indented by one space
    assert "os.py" in names  # frozen into the runtime: never read from the zip at start-up
    assert not any(n.split("/")[0] in ("pydoc_data", "unittest") for n in names)  # dropped
    with zipfile.ZipFile(next(folder.glob("micropip-*.whl"))) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        assert "micropip/__init__.pyc" in zf.namelist()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["profile"]["pyc_debug_ranges"] is False


def test_slim_transfer_is_under_4_mb_brotli(slim: dict[str, Any]) -> None:
    """Issue goal: runtime + stdlib + micropip under 4 MB as a browser fetches them (.br)."""
    folder = Path(slim["folder"])
    lock = json.loads((folder / "pyodide-lock.json").read_text())
    fetched = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
               "pyodide-lock.json", *(p["file_name"] for p in lock["packages"].values())]
    total = sum((folder / f"{name}.br").stat().st_size for name in fetched)
    assert total < 4_000_000, f"slim is {total:,} bytes brotli"


def test_two_bundle_builds_are_identical(slim: dict[str, Any], tmp_path: Path) -> None:
    again = bundle("slim", tmp_path / "again")
    assert again["tarball_sha256"] == slim["tarball_sha256"]
    assert hashlib.sha256(Path(again["tarball"]).read_bytes()).hexdigest() == \
        again["tarball_sha256"]


def test_verify_passes_then_catches_tampering(slim: dict[str, Any], tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(slim["folder"], copy)
    ok = pyodist("verify", str(copy))
    assert ok.returncode == 0, ok.stderr
    assert pyodist("verify", slim["tarball"]).returncode == 0
    wheel = next(copy.glob("micropip-*.whl"))
    data = bytearray(wheel.read_bytes())
    data[100] ^= 0xFF
    wheel.write_bytes(bytes(data))
    (copy / "extra.js").write_text("// not built by pyodist\n")
    bad = pyodist("verify", str(copy))
    assert bad.returncode == 10  # VerifyError
    assert f"{wheel.name}: sha256 differs from the manifest" in bad.stderr
    assert "extra.js: not listed in the manifest" in bad.stderr
    assert "does not match the lock" in bad.stderr


def test_size_budget_violation_names_what_takes_the_space(tmp_path: Path,
                                                          toolchain_image: str) -> None:
    project = project_file(tmp_path, "tiny",
                           '[profiles.tiny]\npackages = ["micropip"]\nstdlib = "py"\n'
                           'size-budget = "5 MB"\n')
    proc = pyodist("bundle", "--project", str(project), "--out", str(tmp_path / "out"),
                   cwd=tmp_path)
    assert proc.returncode == 9  # BundleError
    assert "over its size budget of 5,000,000 bytes" in proc.stderr
    assert "core: pyodide.asm.wasm" in proc.stderr and "micropip" in proc.stderr
    assert not (tmp_path / "out" / "tiny-1-tiny").exists()  # nothing half-written


def test_a_target_without_wasm_simd_refuses_the_blas_numpy(tmp_path: Path,
                                                           toolchain_image: str) -> None:
    project = project_file(
        tmp_path, "old",
        '[profiles.old]\npackages = ["bottleneck"]\ntargets = ["safari>=15.2", "node>=20"]\n')
    proc = pyodist("bundle", "--project", str(project), "--profile", "old", "--out",
                   str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 9, proc.stderr  # BundleError, before anything is built
    assert ("numpy needs WebAssembly simd128, which safari>=15.2 does not promise (safari has "
            "it from 16.4 on)") in proc.stderr
    assert "bottleneck" not in proc.stderr.split("fix:")[0]  # it needs no SIMD itself
    assert "numpy-noblas" in proc.stderr and str(project) in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # numpy-noblas is not in what `make dist` builds: a cold build of minutes
def test_the_variant_without_blas_runs_without_wasm_simd(tmp_path: Path,
                                                          toolchain_image: str) -> None:
    project = project_file(
        tmp_path, "old", '[profiles.old-noblas]\npackages = ["bottleneck", "numpy-noblas"]\n'
        'targets = ["safari>=15.2"]\n')
    made = bundle("old-noblas", tmp_path / "out", cwd=tmp_path, project=project)
    folder = Path(made["folder"])
    lock = json.loads((folder / "pyodide-lock.json").read_text())
    assert lock["packages"]["numpy"]["name"] == "numpy"
    assert lock["packages"]["bottleneck"]["depends"] == ["numpy"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["packages"]["numpy"]["recipe"] == "numpy-noblas"
    assert manifest["packages"]["numpy"]["optimization"] == {"compile": "-Oz", "link": "-Oz"}
    assert manifest["wasm_features"] == [] and "openblas" not in manifest["packages"]
    result = load_bundle(folder, ["numpy", "bottleneck"])
    assert result["ok"], result


def test_verify_rebuild_from_clean_caches(tmp_path: Path, toolchain_image: str) -> None:
    project = project_file(tmp_path, "tiny",
                           '[profiles.tiny]\npackages = ["six"]\nstdlib = "py"\n')
    made = bundle("tiny", tmp_path / "out", cwd=tmp_path, project=project)
    proc = pyodist("verify", "--rebuild", "--project", str(project), made["folder"],
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "matches its manifest and a clean rebuild" in proc.stdout


def test_pyodist_test_in_node_with_junit(slim: dict[str, Any], tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    proc = pyodist("test", "--node", slim["tarball"], "--junit", str(junit), "--json")
    assert proc.returncode == 0, proc.stderr
    node = json.loads(proc.stdout)["environments"]["node"]
    assert set(node["checks"]) == {"micropip", "NODEFS read/write"}
    assert all(c["ok"] for c in node["checks"].values())
    text = junit.read_text()
    assert '<testsuite name="node" tests="2" failures="0"' in text


def test_wrong_sha256_in_the_lock_fails_in_node_and_chromium(slim: dict[str, Any],
                                                             tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(slim["folder"], copy)
    lock_path = copy / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    lock["packages"]["micropip"]["sha256"] = "0" * 64
    lock_path.write_text(json.dumps(lock))
    proc = pyodist("test", str(copy), "--json")
    assert proc.returncode == 11, proc.stderr  # RuntimeCheckError
    envs = json.loads(proc.stdout)["environments"]
    node, chromium = envs["node"]["checks"], envs["chromium"]["checks"]
    assert "micropip-0.11.1-py3-none-any.whl: sha256 does not match pyodide-lock.json" in \
        node["micropip"]["error"]
    assert node["NODEFS read/write"]["ok"]  # the rest of the check still ran
    assert not chromium["micropip"]["ok"]
    assert "integrity" in chromium["micropip"]["error"]  # the browser's SRI check


def test_pyodist_test_in_chromium_with_workerfs(slim: dict[str, Any], tmp_path: Path) -> None:
    shot = tmp_path / "test-page.png"
    proc = pyodist("test", "--browser", slim["folder"], "--screenshot", str(shot), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    chromium = json.loads(proc.stdout)["environments"]["chromium"]
    assert set(chromium["checks"]) == {"micropip", "WORKERFS read in a Web Worker"}
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_console_page_runs_a_snippet(slim: dict[str, Any], tmp_path: Path) -> None:
    from pyodist.bundle.testing import browser_setup, console_screenshot  # noqa: PLC0415

    shot = tmp_path / "console.png"
    result = console_screenshot(Path(slim["folder"]), browser_setup(ROOT),
                                "import micropip\nprint('hello from', micropip.__name__)\n6 * 7",
                                shot)
    assert result["ok"], result
    assert "hello from micropip" in result["output"] and "42" in result["output"]
    assert shot.stat().st_size > 1000


def test_numpy_with_simd_blas_runs_in_chromium(fullstack: dict[str, Any],
                                              tmp_path: Path) -> None:
    """The fullstack numpy links OpenBLAS's WebAssembly SIMD kernels: Chromium runs them."""
    from pyodist.bundle.testing import browser_setup, console_screenshot  # noqa: PLC0415

    manifest = json.loads((Path(fullstack["folder"]) / "manifest.json").read_text())
    assert manifest["packages"]["numpy"]["wasm_features"] == ["simd128"]
    assert manifest["packages"]["numpy"]["optimization"] == {"compile": "-O3", "link": "-Oz"}
    assert manifest["wasm_features"] == ["simd128"]
    openblas = manifest["packages"]["openblas"]
    assert openblas["type"] == "static_library" and openblas["source"]["url"].startswith(
        "debian:openblas/")
    assert [a["dest"] for a in openblas["source"]["extra_archives"]] == ["lapack-netlib"]
    sbom = json.loads((Path(fullstack["folder"]) / "sbom.cdx.json").read_text())
    component = next(c for c in sbom["components"] if c["name"] == "openblas")
    assert any(p["name"] == "pyodist:extra-archive" and "cmeel_openblas" in p["value"]
               for p in component["properties"])
    edges = {d["ref"]: d["dependsOn"] for d in sbom["dependencies"]}
    assert "openblas" in edges["numpy"]  # linked into numpy's extension modules
    code = ("import numpy as np\n"
            "a = np.random.default_rng(0).random((300, 300)) + 300 * np.eye(300)\n"
            "blas = np.show_config(mode='dicts')['Build Dependencies']['blas']['name']\n"
            "ok = np.allclose(np.linalg.solve(a, a @ np.ones(300)), 1.0)\n"
            "w = np.linalg.eigvalsh(a + a.T)\n"
            "print('numpy', blas, ok, bool((w > 0).all()))\n")
    result = console_screenshot(Path(fullstack["folder"]), browser_setup(ROOT), code,
                                tmp_path / "np.png")
    assert result["ok"], result
    assert "numpy openblas True True" in result["output"]


def test_server_sends_what_browsers_need(slim: dict[str, Any]) -> None:
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    from pyodist.bundle.serve import running_server  # noqa: PLC0415

    folder = Path(slim["folder"])
    with running_server(folder, isolation=True) as server:
        def get(path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
            req = urllib.request.Request(server.url + path, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status, dict(resp.headers), resp.read()
            except urllib.error.HTTPError as exc:
                return exc.code, dict(exc.headers), exc.read()

        status, headers, body = get("pyodide.asm.wasm")
        assert status == 200 and headers["Content-Type"] == "application/wasm"
        assert body == (folder / "pyodide.asm.wasm").read_bytes()
        assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
        status, headers, body = get("pyodide.asm.wasm", **{"Accept-Encoding": "gzip, br"})
        assert headers["Content-Encoding"] == "br"
        assert body == (folder / "pyodide.asm.wasm.br").read_bytes()
        assert get("pyodide.mjs")[1]["Content-Type"] == "text/javascript"
        status, headers, body = get("")
        assert status == 200 and b"pyodist console" in body
        assert get("../../../etc/passwd")[0] == 404
        assert get("%2e%2e/%2e%2e/etc/passwd")[0] == 404


def py(bundle_info: dict[str, Any], *args: str, cwd: Path, stdin: str | None = None,
       env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyodist", "python", bundle_info["folder"], *args], cwd=cwd,
        input=stdin, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, **(env or {})})


def test_python_argv_exit_code_env_and_host_files(slim: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "input.txt").write_text("from the host")
    proc = py(slim, "-c", "import os, sys\n"
              "print(sys.argv, open('input.txt').read(), os.environ['PYODIST_DEMO'])\n"
              "open('written.txt', 'w').write('from wasm')\n"
              "print('to stderr', file=sys.stderr)\n"
              "sys.exit(3)", "a", "b", cwd=tmp_path, env={"PYODIST_DEMO": "passed"})
    assert proc.returncode == 3
    assert proc.stdout == "['-c', 'a', 'b'] from the host passed\n"
    assert proc.stderr == "to stderr\n"
    assert (tmp_path / "written.txt").read_text() == "from wasm"


def test_python_with_a_local_wheel(slim: dict[str, Any], tmp_path: Path) -> None:
    import zipfile  # noqa: PLC0415

    wheel = tmp_path / "extra_mod-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("extra_mod.py", "VALUE = 'loaded with --with'\n")
        zf.writestr("extra_mod-0.1.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: extra-mod\nVersion: 0.1\n")
        zf.writestr("extra_mod-0.1.dist-info/WHEEL",
                    "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        zf.writestr("extra_mod-0.1.dist-info/RECORD", "")
    proc = subprocess.run(
        [sys.executable, "-m", "pyodist", "python", "--with", str(wheel), slim["folder"], "-c",
         "import extra_mod; print(extra_mod.VALUE)"], cwd=tmp_path, capture_output=True,
        text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "loaded with --with\n"


def test_python_script_stdin_and_errors(slim: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text("import sys, micropip\nprint(sys.argv[1:])\n")
    assert py(slim, "script.py", "x", cwd=tmp_path).stdout == "['x']\n"
    echo = py(slim, "-", cwd=tmp_path, stdin="import sys\nprint(sys.stdin.read() or 'read')\n")
    assert echo.returncode == 0 and echo.stdout == "read\n"
    crash = py(slim, "-c", "raise ValueError('boom')", cwd=tmp_path)
    assert crash.returncode == 1
    assert crash.stderr.startswith("Traceback (most recent call last):\n")
    assert crash.stderr.rstrip().endswith("ValueError: boom")
    assert "_pyodist_main" not in crash.stderr
    assert py(slim, "-c", "raise SystemExit('bye')", cwd=tmp_path).returncode == 1
    assert py(slim, "-m", "json.tool", cwd=tmp_path, stdin='{"a": 1}').stdout == \
        '{\n    "a": 1\n}\n'


def test_python_runs_pytest_inside_the_bundle(fullstack: dict[str, Any], tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_demo.py").write_text(
        "import numpy as np\n\n"
        "def test_ok():\n    assert np.arange(3).sum() == 3\n\n"
        "def test_fails():\n    assert 1 == 2\n\n"
        "def test_tmp(tmp_path):\n    (tmp_path / 'x').write_text('y')\n")
    proc = py(fullstack, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "1 failed, 2 passed" in proc.stdout
    (tests / "test_demo.py").write_text("def test_ok():\n    pass\n")
    ok = py(fullstack, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests", cwd=tmp_path)
    assert ok.returncode == 0 and "1 passed" in ok.stdout


def test_venv_python_and_pip(slim: dict[str, Any], tmp_path: Path) -> None:
    import zipfile  # noqa: PLC0415

    venv = tmp_path / "venv"
    assert pyodist("venv", slim["folder"], str(venv)).returncode == 0
    wheel = tmp_path / "hello_venv-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("hello_venv.py", "GREETING = 'installed into the venv'\n")
        zf.writestr("hello_venv-1.0.dist-info/METADATA",
                    "Metadata-Version: 2.1\nName: hello-venv\nVersion: 1.0\n")
        zf.writestr("hello_venv-1.0.dist-info/RECORD", "")
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", str(wheel)],
                         capture_output=True, text=True, check=False)
    assert pip.returncode == 0, pip.stderr
    run = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import sys, hello_venv; print(hello_venv.GREETING, sys.platform)"],
                         cwd=tmp_path, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "installed into the venv emscripten\n"


def test_numpy_own_linalg_fft_random_tests_pass_inside_the_bundle(fullstack: dict[str, Any],
                                                                  tmp_path: Path) -> None:
    """numpy's own test suites for linalg (against OpenBLAS), fft and random, in the runtime."""
    proc = subprocess.run(
        [sys.executable, "-m", "pyodist", "python", "--tests", fullstack["folder"], "-m",
         "pytest", "-q", "-p", "no:cacheprovider", "--pyargs", "numpy.fft", "numpy.linalg",
         "numpy.random"], cwd=tmp_path, capture_output=True, text=True,
        timeout=1800, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    summary = proc.stdout.strip().splitlines()[-1]
    passed = int(summary.split(" passed")[0].split()[-1])
    assert passed > 1900 and not re.search(r"\d+ failed", summary), summary
