"""``pylock.toml`` (PEP 751) beside ``pyodide-lock.json``: the same wheels, with hashes.

Written for tools that speak the standard lock format (Pyodide is discussing adopting it);
checked by parsing it back with ``packaging.pylock`` where that is installed (packaging
25.1 and later), else against the PEP's required keys.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from pathlib import Path

from pyodist import __version__
from pyodist.bundle.lock import ShippedPackage
from pyodist.errors import BundleError
from pyodist.hashing import sha256_file
from pyodist.recipe.spec import canonical_name

__all__ = ["PYLOCK", "write_pylock"]

PYLOCK = "pylock.toml"


def _string(text: str) -> str:
    return json.dumps(text)  # a TOML basic string


def write_pylock(dest: Path, shipped: Sequence[ShippedPackage], python: str) -> None:
    """``dest``: every wheel of ``shipped`` as a package of the lock (``path`` relative to
    the lock's folder), for the runtime's Python on Emscripten/wasm32."""
    lines = ["# PEP 751 lock of this bundle's wheels, written by pyodist",
             'lock-version = "1.0"',
             "environments = ['sys_platform == \"emscripten\" and platform_machine == "
             "\"wasm32\"']",
             f"requires-python = {_string('==' + python)}",
             f"created-by = {_string('pyodist ' + __version__)}", ""]
    for item in sorted(shipped, key=lambda s: canonical_name(s.recipe.dist_name)):
        wheels = [f for f in item.files if f.suffix == ".whl"]
        if not wheels:
            continue
        lines += ["[[packages]]", f"name = {_string(canonical_name(item.recipe.dist_name))}",
                  f"version = {_string(item.recipe.version)}"]
        for wheel in wheels:
            lines += ["[[packages.wheels]]", f"name = {_string(wheel.name)}",
                      f"path = {_string(wheel.name)}", f"size = {wheel.stat().st_size}",
                      f"hashes = {{sha256 = {_string(sha256_file(wheel))}}}"]
        lines.append("")
    if not any(line == "[[packages]]" for line in lines):
        lines.append("packages = []")  # a profile that ships no wheel: PEP 751 still wants it
    text = "\n".join(lines)
    _validate(text)
    dest.write_text(text)


def _validate(text: str) -> None:
    data = tomllib.loads(text)
    try:
        from packaging.pylock import Pylock, PylockValidationError  # noqa: PLC0415
    except ImportError:  # an older packaging: the PEP's required keys
        missing = [k for k in ("lock-version", "created-by", "packages") if k not in data]
        bad = [p.get("name") for p in data.get("packages", [])
               if not p.get("name") or not all("sha256" in w.get("hashes", {})
                                                for w in p.get("wheels", []))]
        if missing or bad:
            raise BundleError(f"the computed pylock.toml lacks {missing or bad}",
                              hint="this is a pyodist bug; please report it") from None
        return
    try:
        Pylock.from_dict(data)
    except PylockValidationError as exc:
        raise BundleError(f"the computed pylock.toml is invalid: {exc}",
                          hint="this is a pyodist bug; please report it") from None
