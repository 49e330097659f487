"""``pyodist init``: a new distribution project that ``pyodist bundle`` builds as it is.

The project holds a ``pyodist.toml`` with two profiles (``slim``: the runtime and micropip
from the package index; ``fullstack``: every recipe of ``recipes/`` as well), an empty
``recipes/`` folder with a note on how to fill it, a ``.gitignore`` and a CI workflow. Every
file is written to a temporary name and renamed, and nothing is written over: a folder that
already holds one of the files is an error naming it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pyodist import __version__
from pyodist.errors import ConfigError
from pyodist.options import DEFAULT_PYODIDE_VERSION

__all__ = ["InitResult", "init_project"]

_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?\Z")
# the micropip Pyodide's own lock pins for the default runtime
_MICROPIP = "micropip==0.11.1"


@dataclass(frozen=True)
class InitResult:
    folder: Path
    files: tuple[Path, ...]


def _project_file(name: str) -> str:
    return f"""\
# The distribution `pyodist bundle` builds (`--profile NAME` for another profile). Every key is
# explained in pyodist's docs/concepts.md ("Distributions").
[distribution]
name = "{name}"
version = "0.1.0"
default-profile = "slim"

[runtime]
# the Pyodide core, fetched with npm (the registry npm is configured with) and checked against
# the integrity pyodist pins for this version
pyodide = "{DEFAULT_PYODIDE_VERSION}"

[build]
recipe-dirs = ["recipes"]
# jobs = 2                     # packages built at once (PYODIST_JOBS and -j win over it)

# The interpreter, a precompiled standard library and micropip, taken from the package index.
[profiles.slim]
packages = []
index-packages = ["{_MICROPIP}"]
stdlib = "startup-pyc"
wheels = "startup-pyc"
compress = ["br", "gz"]
targets = ["node>=20", "chrome>=91", "firefox>=89", "safari>=16.4"]

# Every recipe in recipes/ as well (built in the pinned toolchain), with their test files.
[profiles.fullstack]
packages = ["*"]
index-packages = ["{_MICROPIP}"]
stdlib = "pyc"
wheels = "py"
compress = ["br", "gz"]
tests = true
targets = ["node>=20", "chrome>=91", "firefox>=89", "safari>=16.4"]
"""


_RECIPES_README = """\
# Recipes

One folder per package, each with a `meta.yaml` in Pyodide's recipe format (the format of
Pyodide's own recipe repository; its folders work here unchanged).

- `pyodist skeleton NAME` writes a recipe for a package of the index (a pure-Python wheel, or
  an sdist to compile), with its sha256 and requirements.
- `pyodist recipes check` checks every recipe and names the file, key and fix of a problem.
- `pyodist build NAME` builds one (and what it needs) into the cache; `pyodist bundle
  --profile fullstack` builds them all into the bundle.
"""

_GITIGNORE = """\
# pyodist's output (bundles, releases) and scratch space
/dist/
/.pyodist-work/
node_modules/
__pycache__/
"""


def _workflow() -> str:
    return f"""\
# Builds the distribution's bundles with pyodist, tests them in Node, and keeps them as the
# run's artifacts. The toolchain image is bootstrapped from Debian packages (root, debootstrap)
# on the first run; the cache keeps it, the sources and the built packages for the next ones.
name: pyodist
on:
  push:
  pull_request:
  workflow_dispatch:
jobs:
  bundle:
    runs-on: ubuntu-24.04
    timeout-minutes: 90
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - uses: actions/setup-node@v4
        with:
          node-version: "22"
      - uses: actions/cache@v4
        with:
          path: ~/.cache/pyodist
          key: pyodist-${{{{ hashFiles('pyodist.toml', 'recipes/**') }}}}
          restore-keys: pyodist-
      # the pyodist this project was made with; install it from wherever you keep its wheel
      - run: python -m pip install "pyodist=={__version__}"
      - name: toolchain image
        run: |
          sudo apt-get install -y debootstrap
          sudo -E env "PATH=$PATH" pyodist --cache-dir ~/.cache/pyodist toolchain build
          sudo chown -R "$(id -u):$(id -g)" ~/.cache/pyodist
      - run: pyodist fetch --runtime --backends
      - run: pyodist bundle --profile slim
      - run: pyodist bundle --profile fullstack
      - run: for b in dist/*/; do pyodist test --node --junit "$b/junit.xml" "$b"; done
      - uses: actions/upload-artifact@v4
        with:
          name: bundles
          path: dist/
"""


def _files(name: str) -> dict[str, str]:
    return {
        "pyodist.toml": _project_file(name),
        "recipes/README.md": _RECIPES_README,
        ".gitignore": _GITIGNORE,
        ".github/workflows/pyodist.yml": _workflow(),
    }


def init_project(folder: Path, *, name: str | None = None) -> InitResult:
    """Write a new distribution project into ``folder`` (made if missing)."""
    chosen = name or folder.resolve().name
    if not _NAME.match(chosen):
        raise ConfigError.single(
            f"{chosen!r} is not a distribution name: letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit, at most 64 characters",
            key="--name", hint="pass --name NAME")
    files = _files(chosen)
    taken = [rel for rel in files if (folder / rel).exists() or (folder / rel).is_symlink()]
    if taken:
        raise ConfigError.single(
            f"{folder / taken[0]} exists: pyodist init writes only into a folder without a "
            "project", key=taken[0],
            hint="choose a new folder, or remove the file if the project is to be replaced")
    written = []
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return InitResult(folder, tuple(written))
