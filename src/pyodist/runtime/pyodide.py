"""The Pyodide core files, fetched with npm and integrity-checked, and what they say of
themselves.

``npm pack pyodide@VERSION`` asks the registry the user's npm is configured with (no host is
written here), and the tarball's sha512 is compared with the pinned SRI integrity before
anything is extracted. The unpacked core lives in the cache under its version and integrity,
and appears there by one rename. :class:`RuntimeFacts` reads the runtime's own lock
(Python version, ABI, platform), so nothing downstream hard-codes them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from pyodist.errors import ConfigError, ToolchainError
from pyodist.fsutil import remove_stale, replace_dir
from pyodist.options import RuntimeSpec
from pyodist.process import run
from pyodist.sources.extract import extract_archive

__all__ = ["CORE_FILES", "RUNTIME_FILES", "RUNTIME_LOCK", "STDLIB_ZIP", "RuntimeFacts",
           "ensure_runtime", "runtime_facts", "sri_sha512"]

# What a page or Node needs to start: the loader (ES module and classic script) and the
# runtime; with the standard library and the runtime's own lock, the files a core must have.
CORE_FILES = ("pyodide.mjs", "pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm")
STDLIB_ZIP = "python_stdlib.zip"
RUNTIME_LOCK = "pyodide-lock.json"
RUNTIME_FILES = (*CORE_FILES, STDLIB_ZIP, RUNTIME_LOCK)
NPM_PACKAGE = "pyodide"


@dataclass(frozen=True)
class RuntimeFacts:
    """A runtime core on disk and what its lock's ``info`` says about it."""

    folder: Path
    spec: RuntimeSpec
    info: Mapping[str, Any]  # python, platform, abi_version, ...

    @property
    def python(self) -> str:
        """The CPython version it runs, e.g. 3.14.2."""
        return str(self.info["python"])

    @property
    def python_xy(self) -> str:
        return ".".join(self.python.split(".")[:2])

    @property
    def abi_version(self) -> str:
        return str(self.info.get("abi_version", ""))

    @property
    def stdlib_prefix(self) -> str:
        """Where the stdlib zip sits in the runtime's file system: /lib/python314.zip/."""
        return f"/lib/python{self.python_xy.replace('.', '')}.zip/"

    @property
    def site_packages(self) -> str:
        """/lib/python3.14/site-packages/, where wheels are unpacked."""
        return f"/lib/python{self.python_xy}/site-packages/"


def runtime_facts(spec: RuntimeSpec, cache_root: Path, *, offline: bool = False) -> RuntimeFacts:
    """The runtime ``spec`` names, fetched if needed (a local ``path`` is used as it is)."""
    if spec.path is not None:
        missing = [f for f in RUNTIME_FILES if not (spec.path / f).is_file()]
        if missing:
            raise ConfigError.single(
                f"the runtime folder {spec.path} lacks {', '.join(missing)}",
                key="runtime.path",
                hint="point it at an unpacked Pyodide core (the npm package's files)")
        folder = spec.path
    else:
        folder = ensure_runtime(spec, cache_root, offline=offline)
    try:
        info = json.loads((folder / RUNTIME_LOCK).read_text())["info"]
        str(info["python"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ToolchainError(f"{folder / RUNTIME_LOCK} has no readable 'info' ({exc})",
                             hint="point the runtime at an unpacked Pyodide core") from None
    return RuntimeFacts(folder, spec, info)


def sri_sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def _folder_name(spec: RuntimeSpec) -> str:
    tag = hashlib.sha256((spec.integrity or "unpinned").encode()).hexdigest()[:12]
    return f"pyodide-{spec.version}-{tag}"


def ensure_runtime(spec: RuntimeSpec, cache_root: Path, *, offline: bool = False) -> Path:
    """The folder holding the Pyodide core files of ``spec``, fetching them if needed."""
    dest = cache_root / "runtime" / _folder_name(spec)
    if all((dest / f).is_file() for f in RUNTIME_FILES):
        return dest
    if offline:
        raise ToolchainError(
            f"the Pyodide {spec.version} runtime is not in the cache ({dest}) and --offline "
            "forbids fetching it",
            hint="run once with network access so npm can fetch it",
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    # one fetch at a time: a second run would replace the folder the first one just returned
    with FileLock(str(dest.parent / f".{dest.name}.lock")):
        if all((dest / f).is_file() for f in RUNTIME_FILES):
            return dest
        remove_stale(dest.parent, re.compile(rf"^\.{re.escape(dest.name)}\.(?P<pid>\d+)\."))
        return _fetch(spec, dest)


def _fetch(spec: RuntimeSpec, dest: Path) -> Path:
    staging = dest.parent / f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    try:
        packed = run(["npm", "pack", f"{NPM_PACKAGE}@{spec.version}", "--json",
                      "--pack-destination", str(staging)], cwd=staging, timeout=600)
        if not packed.ok:
            raise ToolchainError(
                f"npm could not fetch {NPM_PACKAGE}@{spec.version}:\n{packed.tail(8)}",
                hint="check the version and npm's registry (npm config get registry)",
            )
        info = json.loads(packed.stdout)[0]
        tarball = staging / info["filename"]
        actual = sri_sha512(tarball)
        expected = spec.integrity or info.get("integrity")
        if actual != expected:
            raise ToolchainError(
                f"integrity mismatch for {NPM_PACKAGE}@{spec.version}:\n"
                f"  expected {expected}\n  got      {actual}",
                hint="the registry served different bytes than the pinned integrity; "
                     "check the [runtime] integrity in pyodist.toml",
            )
        extract_archive(tarball, staging / "raw")
        package = staging / "raw" / "package"
        missing = [f for f in RUNTIME_FILES if not (package / f).is_file()]
        if missing:
            raise ToolchainError(f"{NPM_PACKAGE}@{spec.version} lacks {', '.join(missing)}",
                                 hint="pick a Pyodide version that ships the core files")
        (package / ".integrity").write_text(actual + "\n")
        return replace_dir(package, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
