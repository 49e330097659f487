"""Wheels from the package index in bundles, every bundle as a package index, pylock.toml.

* Published Pyodide wheels (pydantic-core, jiter: Rust, so never built here) with pure ones
  (pydantic) from the configured index: locked, bundled, imported and used in Node and in
  headless Chromium (skipped, with the reason, when the configured index is unreachable).
* The bundle's own simple/ index: micropip installs from it in Chromium through `pyodist
  serve`, and `pip download --platform` on the host fetches a wheel with a matching sha256.
* A local index (the loopback server): the lock makes an offline bundle byte-identical, and a
  wheel whose bytes changed on the index is refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import FileServer

ROOT = Path(__file__).resolve().parents[2]


def pyodist(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", *args], cwd=cwd, text=True,
                          capture_output=True, env={**os.environ, "CI": "1"}, timeout=1800,
                          check=False)


def project(folder: Path, profiles: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipes").mkdir(exist_ok=True)
    (folder / "pyodist.toml").write_text(textwrap.dedent("""\
        [distribution]
        name = "idx"
        version = "1.0"
        [runtime]
        pyodide = "314.0.7"
        [build]
        recipe-dirs = ["recipes"]
        """) + textwrap.dedent(profiles))
    return folder


def bundled(folder: Path, profile: str, *extra: str) -> dict[str, Any]:
    proc = pyodist(*extra, "bundle", "--profile", profile, "--json", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


# -- the configured index: pydantic with its Rust parts as published Pyodide wheels ---------

@pytest.fixture(scope="module")
def pydantic_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = project(tmp_path_factory.mktemp("pyd"), """\
        [profiles.web]
        # the micropip Pyodide 314.0.7 ships (newer ones need a newer runtime)
        index-packages = ["pydantic>=2.12", "jiter", "micropip==0.11.1"]
        stdlib = "pyc"
        """)
    locked = pyodist("lock", cwd=folder)
    unreachable = ("cannot reach the package index", "Network is unreachable", "Max retries",
                   "Temporary failure in name resolution", "Could not fetch URL")
    if locked.returncode != 0 and any(s in locked.stderr for s in unreachable):
        pytest.skip(f"the configured package index is unreachable: {locked.stderr[-300:]}")
    assert locked.returncode == 0, locked.stdout + locked.stderr
    return Path(bundled(folder, "web")["folder"])


def test_index_wheels_are_locked_and_listed(pydantic_bundle: Path) -> None:
    lock = (pydantic_bundle.parent.parent / "pyodist.lock").read_text()
    assert 'file = "pydantic_core-' in lock and "pyemscripten_2026_0_wasm32.whl" in lock
    runtime_lock = json.loads((pydantic_bundle / "pyodide-lock.json").read_text())
    assert {"pydantic", "pydantic-core", "jiter", "typing-extensions"} <= set(
        runtime_lock["packages"])
    manifest = json.loads((pydantic_bundle / "manifest.json").read_text())
    core = manifest["packages"]["pydantic-core"]
    assert core["from_index"] is True and core["source"]["url"].startswith("pypi:pydantic-core/")
    sbom = json.loads((pydantic_bundle / "sbom.cdx.json").read_text())
    component = next(c for c in sbom["components"] if c["name"] == "jiter")
    assert component["purl"].startswith("pkg:pypi/jiter@")
    assert {"name": "pyodist:source", "value": "index wheel"} in component["properties"]
    assert any(p["name"] == "pyodist:fetched-from" for p in component["properties"])
    assert pyodist("verify", str(pydantic_bundle), cwd=ROOT).returncode == 0


MODEL = ("import pydantic, jiter\n"
         "class Point(pydantic.BaseModel):\n    x: int\n    tags: list[str]\n"
         "p = Point(x='3', tags=['a'])\n"
         "try:\n    Point(x='no', tags=[])\n    bad = 'accepted'\n"
         "except pydantic.ValidationError as e:\n    bad = f'{e.error_count()} error'\n"
         "print('model', p.x, p.tags, bad, jiter.from_json(b'[1, 2]'))\n")


def test_pydantic_validates_a_model_in_node(pydantic_bundle: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pyodist", "python", str(pydantic_bundle),
                           "-c", MODEL], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "model 3 ['a'] 1 error [1, 2]" in proc.stdout


def test_pydantic_validates_a_model_in_chromium(pydantic_bundle: Path, tmp_path: Path) -> None:
    from pyodist.bundle.testing import browser_setup, console_screenshot  # noqa: PLC0415

    result = console_screenshot(pydantic_bundle, browser_setup(ROOT), MODEL,
                                tmp_path / "model.png")
    assert result["ok"], result
    assert "model 3 ['a'] 1 error [1, 2]" in result["output"]


# -- the bundle as an index --------------------------------------------------------------------

def test_micropip_installs_from_the_bundles_own_index(pydantic_bundle: Path,
                                                      tmp_path: Path) -> None:
    """A page asks micropip for a wheel from the bundle's simple/ tree: micropip reads the
    project page, takes the wheel and its hash from there, and the import works."""
    from pyodist.bundle.testing import browser_setup, console_screenshot  # noqa: PLC0415

    # no `import typing_inspection` in the code: the console page would load it from the
    # lock before micropip ran; with index_urls, micropip asks that index first
    code = ("import importlib, micropip, js\n"
            "base = str(js.location.href).split('#')[0].rsplit('/', 1)[0] + '/'\n"
            "await micropip.install('typing-inspection', index_urls=[base + 'simple/'], "
            "deps=False)\n"
            "mod = importlib.import_module('typing_inspection')\n"
            "print('installed', mod.__name__, 'from', micropip.list()"
            "['typing-inspection'].source)\n")
    result = console_screenshot(pydantic_bundle, browser_setup(ROOT), code, tmp_path / "m.png")
    assert result["ok"], result
    # micropip names any package index "pypi" (and the runtime's lock "pyodide"); the only
    # index it was given is the bundle's own
    assert "installed typing_inspection from pypi" in result["output"], result["output"]


def test_pip_downloads_from_the_bundles_own_index(pydantic_bundle: Path,
                                                  tmp_path: Path) -> None:
    from pyodist.bundle.serve import running_server  # noqa: PLC0415

    with running_server(pydantic_bundle) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--isolated", "--no-deps", "--dest",
             str(tmp_path), "--index-url", server.url + "simple/", "--platform",
             "pyemscripten_2026_0_wasm32", "--python-version", "3.14", "--implementation",
             "cp", "--abi", "cp314", "--only-binary=:all:", "jiter"],
            capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [wheel] = list(tmp_path.glob("jiter-*.whl"))
    lock = json.loads((pydantic_bundle / "pyodide-lock.json").read_text())
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == lock["packages"]["jiter"]["sha256"]


def test_pylock_toml_describes_the_wheels(pydantic_bundle: Path) -> None:
    import tomllib  # noqa: PLC0415

    from packaging.pylock import Pylock  # noqa: PLC0415

    data = tomllib.loads((pydantic_bundle / "pylock.toml").read_text())
    lock = Pylock.from_dict(data)
    names = {p.name for p in lock.packages}
    assert {"pydantic", "pydantic-core", "jiter"} <= names
    runtime_lock = json.loads((pydantic_bundle / "pyodide-lock.json").read_text())
    for package in data["packages"]:
        wheel = package["wheels"][0]
        assert wheel["hashes"]["sha256"] == runtime_lock["packages"][package["name"]]["sha256"]


# -- a local index: offline reproducibility, changed bytes refused ----------------------------

def _pure_wheel(name: str, version: str, body: str) -> bytes:
    dist = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": f"VALUE = {body!r}\n",
             f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                                 "Summary: a test wheel\n",
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n"}
    record = "".join(f"{n},,\n" for n in files) + f"{dist}/RECORD,,\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, text in {**files, f"{dist}/RECORD": record}.items():
            zf.writestr(zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)), text)
    return buf.getvalue()


def test_the_lock_makes_offline_bundles_identical_and_refuses_changed_bytes(
        tmp_path: Path, file_server: FileServer) -> None:
    filename = "localpkg-1.0-py3-none-any.whl"
    file_server.add(filename, _pure_wheel("localpkg", "1.0", "first"), project="localpkg")
    folder = project(tmp_path / "p", """\
        [profiles.local]
        index-packages = ["localpkg"]
        stdlib = "pyc"
        """)
    index = ["--index-url", f"{file_server.base}/json/simple/"]
    missing = pyodist("bundle", "--profile", "local", cwd=folder)
    assert missing.returncode == 5 and "run 'pyodist lock'" in missing.stderr
    assert pyodist(*index, "lock", cwd=folder).returncode == 0
    first = bundled(folder, "local", *index)
    offline = bundled(folder, "local", "--offline")
    assert offline["tarball_sha256"] == first["tarball_sha256"]
    # the index now serves other bytes under the same name: a fresh cache refuses them
    file_server.files[filename] = _pure_wheel("localpkg", "1.0", "changed")
    again = pyodist(*index, "--cache-dir", str(tmp_path / "fresh"), "bundle", "--profile",
                    "local", cwd=folder)
    assert again.returncode == 6, again.stdout + again.stderr
    assert "localpkg-1.0-py3-none-any.whl" in again.stderr and "sha256" in again.stderr
    # and a changed requirement makes the lock stale until `pyodist lock` runs
    text = (folder / "pyodist.toml").read_text().replace('["localpkg"]', '["localpkg>=1"]')
    (folder / "pyodist.toml").write_text(text)
    stale = pyodist("--offline", "bundle", "--profile", "local", cwd=folder)
    assert stale.returncode == 5 and "pins other requirements" in stale.stderr
