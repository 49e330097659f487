"""A memory snapshot in the bundle: the runtime booted, the profile's modules imported, saved.

With ``snapshot = { imports = [...] }`` a profile ships ``snapshot.bin`` (Pyodide's own
snapshot format, loaded by the stock ``loadPyodide({_loadSnapshot: bytes})``) and
``snapshot.json``, which says what it was made from: the sha256 of the runtime
(``pyodide.asm.wasm``), of the standard library zip and of every wheel unpacked into it, and
of the snapshot itself. A loader that finds those different refuses the snapshot (a
snapshot holds the runtime's memory, including the zip importer's index of the stdlib: used
with other files it would crash or misbehave).

What the stock Pyodide 314.0.7 runtime allows, measured: the standard library and pure-Python
packages (their wheels unpacked into the file system, then imported). Not: packages with
compiled extensions (restoring a runtime that loaded a side module fails, "offset is out of
bounds", since the memory it grew and the side module itself are not restored), and
packages that keep JavaScript objects at import (micropip: "Can't serialize object"), which
only a change to Pyodide's JavaScript could allow. Both are refused here with that reason.

The bytes are the same on every rebuild (see runtime/make_snapshot.mjs for how); restored
runtimes share the snapshot's str hash seed (0) and must reseed ``random``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pyodist.errors import BundleError
from pyodist.hashing import sha256_file
from pyodist.runtime.node import run_harness
from pyodist.runtime.pyodide import RUNTIME_LOCK, STDLIB_ZIP

__all__ = ["SNAPSHOT", "SNAPSHOT_INFO", "make_snapshot"]

SNAPSHOT = "snapshot.bin"
SNAPSHOT_INFO = "snapshot.json"
RUNTIME_WASM = "pyodide.asm.wasm"


def _closure(lock: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    packages = lock["packages"]
    seen: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop(0)
        if name not in seen and name in packages:
            seen.append(name)
            todo.extend(packages[name].get("depends", []))
    return seen


def _packages_for(lock: Mapping[str, Any], imports: Sequence[str]) -> list[str]:
    """The lock entries whose modules ``imports`` reach, with what they depend on."""
    provides = {mod: key for key, pkg in lock["packages"].items()
                for mod in pkg.get("imports", [])}
    wanted = [provides[m.split(".")[0]] for m in imports if m.split(".")[0] in provides]
    return _closure(lock, wanted)


def _native(wheel: Path) -> bool:
    with zipfile.ZipFile(wheel) as zf:
        return any(n.endswith(".so") or ".so." in n for n in zf.namelist())


def make_snapshot(folder: Path, imports: Sequence[str], *, profile: str,
                  epoch: int) -> dict[str, Any]:
    """Write ``snapshot.bin`` and ``snapshot.json`` into the bundle ``folder`` (whose runtime,
    stdlib and lock are final); the snapshot's description, for the manifest."""
    lock = json.loads((folder / RUNTIME_LOCK).read_text())
    packages = _packages_for(lock, imports)
    wheels = [lock["packages"][p]["file_name"] for p in packages]
    native = [p for p, w in zip(packages, wheels, strict=True) if _native(folder / w)]
    if native:
        raise BundleError(
            f"profile {profile!r}: the snapshot would hold {', '.join(native)}, which has "
            "compiled extensions; Pyodide 314.0.7 cannot restore a runtime that loaded a side "
            "module (its grown memory and the module are not in the snapshot)",
            hint="list only the standard library and pure-Python packages under snapshot "
                 "imports; the others load on import after the snapshot starts")
    data = run_harness("make_snapshot.mjs", {
        "bundle": str(folder), "wheels": wheels, "imports": list(imports),
        "out": str(folder / SNAPSHOT), "epoch": epoch}, timeout=900)
    if not data.get("ok"):
        error = str(data.get("error"))
        why = (" (a module kept a JavaScript object, which a snapshot cannot hold: micropip "
               "and other packages that use the js module at import cannot be in one)"
               if "serialize" in error else "")
        raise BundleError(f"profile {profile!r}: making the memory snapshot failed: "
                          f"{error}{why}",
                          hint="remove the module that fails from snapshot imports")
    info = {
        "format": 1, "imports": list(imports), "packages": packages,
        "made_for": {RUNTIME_WASM: sha256_file(folder / RUNTIME_WASM),
                     STDLIB_ZIP: sha256_file(folder / STDLIB_ZIP),
                     **{w: lock["packages"][p]["sha256"] for p, w in
                        zip(packages, wheels, strict=True)}},
        SNAPSHOT: {"sha256": sha256_file(folder / SNAPSHOT),
                   "size": (folder / SNAPSHOT).stat().st_size},
        "hash_seed": 0,
        "reseed_random_after_restore": True,
    }
    (folder / SNAPSHOT_INFO).write_text(json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info
