"""`pyodist skeleton pypi` against a package index served by the test (PEP 691 JSON and
PEP 503 HTML), and one round trip against the index pip is configured with.

The round trip writes the recipes of real packages (pure and native) and checks they are the
files committed in recipes/ byte for byte: those recipes are built, imported in Pyodide and
bundled by test_build.py and test_bundle.py, so skeleton → build → test works unchanged.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pyodist.errors import SourceError
from pyodist.sources import PackageIndex, configured_index
from tests.conftest import make_sdist

from .conftest import FileServer

ROOT = Path(__file__).resolve().parents[2]
# Written by `pyodist skeleton pypi` into recipes/ and committed unchanged; tzdata first so
# that python-dateutil's --with-deps finds it pinned rather than taking the newest.
ROUND_TRIP = ["tzdata==2026.6", "toolz==1.2.0", "more-itertools==11.2.1",
              "python-dateutil==4.0.0", "bitarray==3.12.3", "msgpack==1.2.4", "wrapt==2.5.2"]


def pkg_info(name: str, version: str, *requires: str, dynamic: bool = False) -> str:
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}",
             f"Summary: The {name} package", "License-Expression: MIT",
             f"Project-URL: Homepage, https://{name}.example"]
    lines += ["Dynamic: Requires-Dist"] if dynamic else []
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n"


@pytest.fixture
def index(file_server: FileServer) -> FileServer:
    """demo 0.9 / 1.0 / 2.0rc1 (C code, needs depa), depa (pure), wheelonly, legacy."""
    for version in ("0.9", "1.0", "2.0rc1"):
        file_server.add(f"demo-{version}.tar.gz", make_sdist(f"demo-{version}", {
            "PKG-INFO": pkg_info("demo", version, "depa>=1", 'colorama; sys_platform == "win32"',
                                 'pytest; extra == "test"'),
            "pyproject.toml": '[build-system]\nrequires = ["setuptools", "cython"]\n',
            "setup.py": 'Extension("demo._speedups", ["src/demo/_speedups.c"])\n',
            "src/demo/__init__.py": "", "src/demo/_speedups.c": "",
        }), project="demo")
    file_server.add("depa-1.2.tar.gz", make_sdist("depa-1.2", {
        "PKG-INFO": pkg_info("depa", "1.2"), "depa.py": ""}), project="depa")
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("wheelonly/__init__.py", "")
        zf.writestr("wheelonly-3.0.dist-info/METADATA", pkg_info("wheelonly", "3.0"))
    file_server.add("wheelonly-3.0-py3-none-any.whl", wheel.getvalue(), project="wheelonly")
    # setup.py computes its requirements: the index's metadata of its wheel states them
    file_server.add("legacy-5.0.tar.gz", make_sdist("legacy-5.0", {
        "PKG-INFO": pkg_info("legacy", "5.0", dynamic=True), "legacy/__init__.py": "",
        "setup.py": "setup(install_requires=compute())\n"}), project="legacy")
    file_server.add("legacy-5.0-cp314-cp314-manylinux_2_28_x86_64.whl", b"PK", project="legacy")
    file_server.metadata["legacy-5.0-cp314-cp314-manylinux_2_28_x86_64.whl"] = \
        pkg_info("legacy", "5.0", "depa", 'tomli; python_version < "3.11"').encode()
    return file_server


@pytest.fixture
def cache(tmp_path: Path, runtime_dir: Path) -> Path:
    """A fresh cache that shares the already fetched Pyodide core (read-only use)."""
    root = tmp_path / "cache"
    (root / "runtime").mkdir(parents=True)
    (root / "runtime" / runtime_dir.name).symlink_to(runtime_dir)
    return root


def skeleton(*args: str, cache: Path, recipes: Path, index_url: str | None = None,
             ) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pyodist", "--cache-dir", str(cache),
            "--recipe-dir", str(recipes)]
    if index_url:
        argv += ["--index-url", index_url]
    recipes.mkdir(exist_ok=True)
    return subprocess.run([*argv, "skeleton", "pypi", *args], capture_output=True, text=True,
                          env={**os.environ, "CI": "1"}, timeout=300, check=False)


DEMO_1_0 = """\
# Written by pyodist skeleton from demo-1.0.tar.gz; edit freely:
# 'pyodist skeleton pypi demo --update' keeps your edits.
package:
  name: demo
  version: "1.0"
  top-level:
    - demo
source:
  url: pypi:demo/demo-1.0.tar.gz
  sha256: {sha}
# Native code found: C (1 file); compiled with emcc in the toolchain container.
{tools}
requirements:
  run:
    - depa  # >=1
test:
  imports:
    - demo
    - demo._speedups
about:
  home: https://demo.example
  summary: The demo package
  license: MIT
"""


@pytest.mark.parametrize("api", ["json", "html"])
def test_writes_the_recipe_and_caches_the_source(index: FileServer, cache: Path,
                                                 tmp_path: Path, api: str) -> None:
    recipes = tmp_path / "recipes"
    proc = skeleton("demo", cache=cache, recipes=recipes,
                    index_url=f"{index.base}/{api}/simple/")
    assert proc.returncode == 0, proc.stderr
    sha = hashlib.sha256(index.files["demo-1.0.tar.gz"]).hexdigest()
    tools = ("# build-system.requires (cython) come from the offline build-backend wheelhouse; "
             "they need no recipe.")
    assert (recipes / "demo" / "meta.yaml").read_text() == DEMO_1_0.format(sha=sha,
                                                                            tools=tools)
    assert "created" in proc.stdout and "next: pyodist build demo" in proc.stdout
    # downloaded once, into the source cache the build will use
    assert (cache / "sources" / "sha256" / sha[:2] / sha).is_file()
    assert index.hits["/files/demo-1.0.tar.gz"] == 1


def test_with_deps_pins_wheels_and_full_urls(index: FileServer, cache: Path,
                                             tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    url = f"{index.base}/json/simple/"
    proc = skeleton("demo==0.9", "--with-deps", "--url-style", "full", cache=cache,
                    recipes=recipes, index_url=url)
    assert proc.returncode == 0, proc.stderr
    demo = (recipes / "demo" / "meta.yaml").read_text()
    assert f"  url: {index.base}/files/demo-0.9.tar.gz\n" in demo
    depa = (recipes / "depa" / "meta.yaml").read_text()
    assert "  top-level:\n    - depa\n" in depa and "requirements" not in depa
    # a pure wheel on request; and the index's metadata when setup.py computes requirements
    proc = skeleton("wheelonly", "legacy", "--source", "wheel", cache=cache, recipes=recipes,
                    index_url=url)
    assert proc.returncode == 6, proc.stdout  # legacy has no pure wheel
    assert "legacy 5.0: no pure Python (py3-none-any) wheel" in proc.stderr
    wheelonly = (recipes / "wheelonly" / "meta.yaml").read_text()
    assert "url: pypi:wheelonly/wheelonly-3.0-py3-none-any.whl" in wheelonly
    proc = skeleton("legacy", cache=cache, recipes=recipes, index_url=url)
    assert proc.returncode == 0, proc.stderr
    legacy = (recipes / "legacy" / "meta.yaml").read_text()
    assert "  run:\n    - depa\n" in legacy and "tomli" not in legacy
    assert "legacy-5.0-cp314-cp314-manylinux_2_28_x86_64.whl" in proc.stdout


def test_update_keeps_the_maintainers_edits(index: FileServer, cache: Path,
                                            tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    url = f"{index.base}/html/simple/"
    assert skeleton("demo==0.9", cache=cache, recipes=recipes, index_url=url).returncode == 0
    meta = recipes / "demo" / "meta.yaml"
    edited = meta.read_text().replace(
        "test:\n", "build:\n  cflags: -O3  # numeric code likes it\ntest:\n")
    edited = "# our fork's notes\n" + edited
    meta.write_text(edited)
    proc = skeleton("demo", "--update", cache=cache, recipes=recipes, index_url=url)
    assert proc.returncode == 0, proc.stderr
    sha_old = hashlib.sha256(index.files["demo-0.9.tar.gz"]).hexdigest()
    sha_new = hashlib.sha256(index.files["demo-1.0.tar.gz"]).hexdigest()
    assert meta.read_text() == edited.replace('version: "0.9"', 'version: "1.0"') \
        .replace("pypi:demo/demo-0.9.tar.gz", "pypi:demo/demo-1.0.tar.gz") \
        .replace(sha_old, sha_new)
    assert "updated" in proc.stdout and "was 0.9" in proc.stdout
    again = skeleton("demo", "--update", cache=cache, recipes=recipes, index_url=url)
    assert again.returncode == 0 and again.stdout.startswith("unchanged")


@pytest.mark.parametrize(("args", "code", "message", "hint"), [
    (["nosuch"], 6, "project 'nosuch' was not found on the package index",
     "check the project name"),
    (["demo==3.0"], 6, "demo: no release matches ==3.0",
     "versions on the index (newest first): 2.0rc1, 1.0, 0.9"),
    (["wheelonly"], 6, "wheelonly 3.0: no sdist usable with Python 3.14",
     "use --source wheel"),
    (["depa", "--update"], 2, "--update: there is no recipe at", "drop --update"),
])
def test_clear_errors(index: FileServer, cache: Path, tmp_path: Path,  # noqa: PLR0917
                      args: list[str], code: int, message: str, hint: str) -> None:
    proc = skeleton(*args, cache=cache, recipes=tmp_path / "recipes",
                    index_url=f"{index.base}/json/simple/")
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr and hint in proc.stderr
    assert "Traceback" not in proc.stderr


def test_existing_recipe_needs_update_or_force(index: FileServer, cache: Path,
                                               tmp_path: Path) -> None:
    recipes = tmp_path / "recipes"
    url = f"{index.base}/json/simple/"
    assert skeleton("depa", cache=cache, recipes=recipes, index_url=url).returncode == 0
    proc = skeleton("depa", cache=cache, recipes=recipes, index_url=url)
    assert proc.returncode == 2
    assert "depa/meta.yaml already exists" in proc.stderr and "--force" in proc.stderr
    forced = skeleton("depa", "--force", cache=cache, recipes=recipes, index_url=url)
    assert forced.returncode == 0 and forced.stdout.startswith("replaced")


@pytest.mark.network
def test_round_trip_recipes_are_the_committed_ones(cache: Path, tmp_path: Path) -> None:
    try:
        PackageIndex(configured_index(), timeout=10).project_files("toolz")
    except SourceError as exc:
        pytest.skip(f"the configured package index is not reachable: {exc}")
    recipes = tmp_path / "recipes"
    proc = skeleton(*ROUND_TRIP, "--with-deps", cache=cache, recipes=recipes)
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.parent.name for p in recipes.glob("*/meta.yaml"))
    assert written == sorted(n.split("==")[0] for n in ROUND_TRIP)
    for name in written:
        assert (recipes / name / "meta.yaml").read_text() == \
            (ROOT / "recipes" / name / "meta.yaml").read_text(), name
    native = [n for n in written if "Native code found" in (recipes / n / "meta.yaml").read_text()]
    assert native == ["bitarray", "msgpack", "wrapt"]
