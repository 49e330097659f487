"""A memory snapshot in the bundle: the runtime booted, the profile's modules imported, saved.

With ``snapshot = { imports = [...] }`` a profile ships ``snapshot.bin`` (Pyodide's own
snapshot format, loaded by the stock ``loadPyodide({_loadSnapshot: bytes})``) and
``snapshot.json``, which says what it was made from: the sha256 of the runtime
(``pyodide.asm.wasm``), of the standard library zip and of every wheel unpacked into it, and
of the snapshot itself. A loader that finds those different refuses the snapshot (a
snapshot holds the runtime's memory, including the zip importer's index of the stdlib: used
with other files it would crash or misbehave).

Compiled packages (numpy, pandas ...) can be in it too. A stock Pyodide 314.0.7 snapshot
holds only the linear memory, and a runtime that loaded side modules cannot be restored from
it alone (its grown memory and the modules themselves are gone); ``snapshot.json`` then also
records what ``pyodist-snapshot.mjs`` (shipped in the bundle) needs to instantiate each
module again at its bases: see runtime/make_snapshot.mjs. Packages that keep JavaScript
objects at import (micropip: "Can't serialize object") cannot be in one, nor modules with
live ctypes callbacks: both are refused with that reason.

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

__all__ = ["SNAPSHOT", "SNAPSHOT_INFO", "SNAPSHOT_LOADER", "make_snapshot"]

SNAPSHOT = "snapshot.bin"
SNAPSHOT_INFO = "snapshot.json"
# the loader shipped beside them (runtime/pyodist-snapshot.mjs)
SNAPSHOT_LOADER = "pyodist-snapshot.mjs"
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


def make_snapshot(folder: Path, imports: Sequence[str], *, profile: str,
                  epoch: int) -> dict[str, Any]:
    """Write ``snapshot.bin`` and ``snapshot.json`` into the bundle ``folder`` (whose runtime,
    stdlib and lock are final); the snapshot's description, for the manifest."""
    lock = json.loads((folder / RUNTIME_LOCK).read_text())
    packages = _packages_for(lock, imports)
    wheels = [lock["packages"][p]["file_name"] for p in packages]
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
    dynlibs = data.get("dynlibs")
    if dynlibs:
        owners = {}
        for wheel in wheels:
            with zipfile.ZipFile(folder / wheel) as zf:
                owners.update(dict.fromkeys(zf.namelist(), wheel))
        for lib in dynlibs["libs"]:
            if lib["member"] not in owners:
                raise BundleError(f"profile {profile!r}: the snapshot loaded {lib['member']}, "
                                  "which none of its wheels holds",
                                  hint="report it: a package loaded a library from elsewhere")
            lib["wheel"] = owners[lib["member"]]
    info = {
        "format": 2 if dynlibs else 1, "imports": list(imports), "packages": packages,
        # the files restoring writes back (the file system is not in the snapshot), and
        # where; with compiled packages, what restoring needs beyond memory
        "wheels": wheels, "site": data.get("site"), "dynlibs": dynlibs,
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
