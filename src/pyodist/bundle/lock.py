"""``pyodide-lock.json`` computed from the files a bundle ships, never copied from Pyodide's.

For every wheel: ``sha256`` of the bytes in the bundle, ``imports`` (the recipe's
``top-level``, else the wheel's ``top_level.txt``, else its top-level modules) and ``depends``
(the wheel's ``Requires-Dist`` with environment markers evaluated for the target runtime).
A dependency the bundle does not contain is an error naming the recipe to fix. The result is
validated with the ``pyodide-lock`` library and by the rules the JS loader applies.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement

from pyodist.builder.wheel import parse_wheel_name
from pyodist.errors import BundleError
from pyodist.hashing import sha256_file
from pyodist.recipe.spec import Recipe, canonical_name

__all__ = [
    "LockFile", "runtime_environment", "target_environment", "wheel_depends", "wheel_imports",
    "write_lock",
]


def target_environment(python: str, emscripten: str) -> dict[str, str]:
    """PEP 508 marker values of the Pyodide runtime (as its own ``sys`` reports them)."""
    short = ".".join(python.split(".")[:2])
    return {
        "implementation_name": "cpython", "implementation_version": python,
        "os_name": "posix", "platform_machine": "wasm32", "platform_release": emscripten,
        "platform_system": "Emscripten", "platform_version": "#1",
        "python_full_version": python, "platform_python_implementation": "CPython",
        "python_version": short, "sys_platform": "emscripten", "extra": "",
    }


def runtime_environment(runtime_info: Mapping[str, Any]) -> dict[str, str]:
    """Marker values for the runtime described by a lock's ``info`` table."""
    emscripten = str(runtime_info["platform"]).removeprefix("emscripten_").replace("_", ".")
    return target_environment(str(runtime_info["python"]), emscripten)


def _metadata(wheel: Path) -> tuple[zipfile.ZipFile, str]:
    zf = zipfile.ZipFile(wheel)
    dist_info = next((n.split("/", 1)[0] for n in zf.namelist()
                      if n.split("/", 1)[0].endswith(".dist-info")), None)
    if dist_info is None:
        zf.close()
        raise BundleError(f"{wheel.name} has no .dist-info folder", hint="rebuild the package")
    return zf, dist_info


def wheel_depends(wheel: Path, environment: Mapping[str, str]) -> list[str]:
    """Canonical names of the wheel's requirements that apply on the target."""
    zf, dist_info = _metadata(wheel)
    with zf:
        text = zf.read(f"{dist_info}/METADATA").decode("utf-8", "replace")
    found: dict[str, None] = {}
    for line in Parser().parsestr(text).get_all("Requires-Dist") or []:
        try:
            req = Requirement(line)
            applies = req.marker is None or req.marker.evaluate(dict(environment))
        except (InvalidRequirement, InvalidMarker) as exc:
            raise BundleError(f"{wheel.name}: unreadable Requires-Dist {line!r}: {exc}",
                              hint="fix the package metadata with a patch") from None
        if applies:
            found.setdefault(canonical_name(req.name), None)
    return list(found)


def wheel_imports(wheel: Path) -> list[str]:
    """Importable top-level names: top_level.txt, else packages and modules at the root."""
    zf, dist_info = _metadata(wheel)
    with zf:
        names = zf.namelist()
        if f"{dist_info}/top_level.txt" in names:
            listed = zf.read(f"{dist_info}/top_level.txt").decode().split()
            return sorted({n.split("/")[0] for n in listed if n})
    tops: set[str] = set()
    for name in names:
        head, _, rest = name.partition("/")
        if head.endswith((".dist-info", ".data", ".libs")):
            continue
        if rest:
            tops.add(head)
        elif head.endswith(".py"):
            tops.add(head[:-3])
        elif ".cpython-" in head and head.endswith(".so"):
            tops.add(head.split(".", 1)[0])
    return sorted(t for t in tops if t.isidentifier())


@dataclass(frozen=True)
class ShippedPackage:
    recipe: Recipe
    files: Sequence[Path]  # final files inside the bundle folder


@dataclass
class LockFile:
    info: dict[str, Any]
    packages: dict[str, dict[str, Any]]

    def to_json(self) -> str:
        return json.dumps({"info": self.info, "packages": self.packages}, indent=1,
                          sort_keys=True) + "\n"


def write_lock(runtime_info: Mapping[str, Any], shipped: Sequence[ShippedPackage],
               dest: Path) -> LockFile:
    """Compute the lock for ``shipped`` and write it to ``dest`` (validated first)."""
    env = runtime_environment(runtime_info)
    present = {canonical_name(s.recipe.dist_name) for s in shipped}
    packages: dict[str, dict[str, Any]] = {}
    for item in shipped:
        recipe = item.recipe
        key = canonical_name(recipe.dist_name)
        for path in item.files:
            if path.suffix == ".whl":
                depends = wheel_depends(path, env)
                missing = [d for d in depends if d not in present]
                if missing:
                    raise BundleError(
                        f"{path.name} requires {', '.join(missing)}, which the bundle does "
                        "not contain",
                        hint=f"add them to {recipe.path}: requirements/run (and recipes for "
                             "them), or to the profile's packages")
                parse_wheel_name(path.name)
                packages[key] = {
                    "name": recipe.dist_name, "version": recipe.version, "file_name": path.name,
                    "install_dir": "site", "package_type": "package", "sha256": sha256_file(path),
                    "imports": list(recipe.package.top_level) or wheel_imports(path),
                    "depends": sorted(depends),
                    "unvendored_tests": any(f.name.endswith("-tests.zip") for f in item.files),
                }
            elif path.name.endswith("-tests.zip"):
                packages[f"{key}-tests"] = {
                    "name": f"{recipe.dist_name}-tests", "version": recipe.version,
                    "file_name": path.name, "install_dir": "site", "package_type": "package",
                    "sha256": sha256_file(path), "imports": [], "depends": [key],
                    "unvendored_tests": False,
                }
            elif path.suffix == ".zip" and recipe.build.type == "shared_library":
                packages[key] = {
                    "name": recipe.dist_name, "version": recipe.version, "file_name": path.name,
                    "install_dir": "dynlib", "package_type": "shared_library",
                    "sha256": sha256_file(path), "imports": [],
                    "depends": sorted(canonical_name(d) for d in recipe.requirements.run),
                    "unvendored_tests": False,
                }
    lock = LockFile(info={k: runtime_info[k] for k in
                          ("abi_version", "arch", "platform", "python", "version")
                          if k in runtime_info},
                    packages=dict(sorted(packages.items())))
    _validate(lock)
    dest.write_text(lock.to_json())
    return lock


def _validate(lock: LockFile) -> None:
    from pyodide_lock import PyodideLockSpec  # noqa: PLC0415 - pydantic import is slow

    try:
        spec = PyodideLockSpec(**json.loads(lock.to_json()))
        spec.check_wheel_filenames()
    except (ValueError, TypeError) as exc:
        raise BundleError(f"the computed pyodide-lock.json is invalid: {exc}",
                          hint="this is a pyodist bug; please report it") from None
    if not lock.info.get("abi_version"):
        raise BundleError("the runtime's lock has no info.abi_version",
                          hint="use a Pyodide runtime whose pyodide-lock.json records it")
