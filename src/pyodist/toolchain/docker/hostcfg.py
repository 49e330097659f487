#!/usr/bin/env python3
"""Resolve package-registry locations from the host's own configuration.

No registry host name is written in this file: every URL comes from
the host's apt sources, pip's configuration (or pip's built-in default)
and npm's configuration.

Usage: hostcfg.py debian-mirror | pip-index | npm-registry
Python 3.11 standard library only.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path


def debian_mirror() -> str:
    """First non-security 'deb' URI of the host's apt sources (pyodist's own resolver)."""
    # pyodist names its own copy when it runs the bootstrap (a project's docker/ may be a copy
    # of these files); else the package's, next to this folder (pyodist/toolchain/docker/)
    given = os.environ.get("PYODIST_DEBIAN_MODULE")
    path = Path(given) if given else Path(__file__).resolve().parents[2] / "sources" / "debian.py"
    spec = importlib.util.spec_from_file_location("_pyodist_debian", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        return str(module.debian_mirror(override=os.environ.get("PYODIST_DEBIAN_MIRROR")))
    except module.MirrorNotFound as exc:
        raise SystemExit(f"hostcfg: {exc}") from None


def pip_index() -> str:
    """pip's index URL: env, then pip config, then pip's built-in default."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    for key in ("global.index-url", "download.index-url", "install.index-url"):
        r = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", key],
            capture_output=True, text=True, check=False,
        )
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip()
    r = subprocess.run(
        [sys.executable, "-c",
         "from pip._internal.models.index import PyPI; print(PyPI.simple_url)"],
        capture_output=True, text=True, check=True,
    )
    return r.stdout.strip()


def npm_registry() -> str:
    r = subprocess.run(["npm", "config", "get", "registry"],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip()


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    fn = {"debian-mirror": debian_mirror, "pip-index": pip_index,
          "npm-registry": npm_registry}.get(what)
    if fn is None:
        raise SystemExit(__doc__)
    print(fn())


if __name__ == "__main__":
    main()
