"""The Pyodide core files, fetched with npm and integrity-checked.

``npm pack pyodide@VERSION`` asks the registry the user's npm is configured with (no host is
written here), and the tarball's sha512 is compared with the pinned SRI integrity before
anything is extracted. The unpacked core lives in the cache under its version and integrity,
and appears there by one rename.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from pyodist.errors import ToolchainError
from pyodist.fsutil import remove_stale, replace_dir
from pyodist.process import run
from pyodist.sources.extract import extract_archive

__all__ = ["CORE_FILES", "RuntimeSpec", "ensure_runtime", "sri_sha512"]

CORE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
              "pyodide-lock.json")
NPM_PACKAGE = "pyodide"


@dataclass(frozen=True)
class RuntimeSpec:
    version: str
    # SRI string as npm records it ("sha512-<base64>"); None trusts what npm reports
    integrity: str | None = None


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
    if all((dest / f).is_file() for f in CORE_FILES):
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
        if all((dest / f).is_file() for f in CORE_FILES):
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
        missing = [f for f in CORE_FILES if not (package / f).is_file()]
        if missing:
            raise ToolchainError(f"{NPM_PACKAGE}@{spec.version} lacks {', '.join(missing)}",
                                 hint="pick a Pyodide version that ships the core files")
        (package / ".integrity").write_text(actual + "\n")
        return replace_dir(package, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
