"""Assemble a runtime bundle from the Pyodide core and built artifacts.

The bundle folder ``<name>-<version>-<profile>/`` holds the core files, the profile's
wheels, a ``pyodide-lock.json`` computed from them, ``manifest.json`` (every file's sha256
and size, recipe/source/artifact hashes, toolchain and runtime versions), ``sbom.cdx.json``
(CycloneDX 1.5) and optional ``.br``/``.gz`` siblings. Everything is written in a staging
folder and appears by one rename; the ``.tar.gz`` beside it is deterministic. A size budget
is checked before anything is published.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyodist import __version__
from pyodist.build.archive import write_tar
from pyodist.build.wheel import normalize_wheel, normalize_zip
from pyodist.bundle.config import Profile, Project
from pyodist.bundle.features import check_targets, optimization
from pyodist.bundle.lock import ShippedPackage, wheel_imports, write_lock
from pyodist.errors import BundleError
from pyodist.fsutil import remove_stale, replace_dir
from pyodist.recipe.spec import Recipe, canonical_name
from pyodist.runtime.node import run_harness
from pyodist.sources.cache import sha256_file

__all__ = ["CORE_FILES", "BundleInputs", "BundleResult", "PackageInput", "assemble",
           "bundle_name"]

# The core a page or Node needs: the loader (ES module and classic script), the runtime and
# its standard library. The lock is written by pyodist.
CORE_FILES = ("pyodide.mjs", "pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm")
STDLIB = "python_stdlib.zip"
MANIFEST = "manifest.json"
SBOM = "sbom.cdx.json"
LOCK = "pyodide-lock.json"
_SPDX_EXPR = re.compile(r"^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$")


@dataclass(frozen=True)
class PackageInput:
    recipe: Recipe
    key: str  # artifact key
    files: tuple[Path, ...]  # artifact files (wheels, -tests.zip, library zips/tars)
    patches: Mapping[str, str]  # patch file -> sha256
    # WebAssembly features its code needs (its own flags and its libraries'), e.g. simd128
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class BundleInputs:
    project: Project
    profile: Profile
    runtime_dir: Path
    runtime_integrity: str | None
    toolchain: Mapping[str, str]  # image labels worth recording
    packages: Sequence[PackageInput]  # in build order
    epoch: int


@dataclass(frozen=True)
class BundleResult:
    folder: Path
    tarball: Path
    total_bytes: int
    files: int


def bundle_name(project: Project, profile: Profile) -> str:
    return f"{project.name}-{project.version}-{profile.name}"


def _file_entry(path: Path) -> dict[str, object]:
    """A manifest entry: what ``pyodist verify`` checks a file against."""
    return {"sha256": sha256_file(path), "size": path.stat().st_size}


def _shipped_files(pkg: PackageInput, profile: Profile) -> list[Path]:
    kind = pkg.recipe.build.type
    if kind == "static_library":
        return []
    if kind == "shared_library":
        return [f for f in pkg.files if f.suffix == ".zip"]
    return [f for f in pkg.files
            if f.suffix == ".whl" or (profile.tests and f.name.endswith("-tests.zip"))]


def _startup_files(inputs: BundleInputs, shipped: Sequence[ShippedPackage],
                   wheels: Sequence[Path]) -> tuple[list[str], list[str]]:
    """Stdlib and site-packages files read when the runtime starts and each package of the
    profile (whose ``wheels`` these are) is imported, measured in the runtime itself (see
    runtime/startup_modules.mjs)."""
    imports = sorted({m for s in shipped for f in s.files if f.suffix == ".whl"
                      for m in (s.recipe.package.top_level or wheel_imports(f))})
    data = run_harness("startup_modules.mjs", {
        "indexURL": str(inputs.runtime_dir), "wheels": [str(w.resolve()) for w in wheels],
        "imports": imports}, timeout=600)
    if not data.get("ok"):
        raise BundleError(f"measuring the start-up modules in the runtime failed: "
                          f"{data.get('error')}", hint="check that the runtime loads under Node")
    return list(data["stdlib"]), list(data["site"])


def _compile(inputs: BundleInputs, staging: Path, shipped: Sequence[ShippedPackage]) -> None:
    """Write the stdlib (and, per profile, wheels) with .pyc made by the runtime itself."""
    profile = inputs.profile
    wheels = [f for s in shipped for f in s.files if f.suffix == ".whl"]
    hot_stdlib: list[str] | None = None
    hot_site: list[str] | None = None
    if "startup-pyc" in (profile.stdlib, profile.wheels):
        hot_stdlib, hot_site = _startup_files(inputs, shipped, wheels)
    options = {"strip_docstrings": profile.strip_docstrings, "source_form": profile.source_form}
    work = staging.parent / f"{staging.name}.pyc"
    (work / "in").mkdir(parents=True)
    (work / "out").mkdir()
    try:
        jobs: list[dict[str, Any]] = []
        stock = inputs.runtime_dir / STDLIB
        if profile.stdlib != "py" or profile.drop_stdlib or profile.source_form != "py":
            shutil.copy2(stock, work / "in" / STDLIB)
            jobs.append({"src": f"in/{STDLIB}", "dest": f"out/{STDLIB}", "mode": profile.stdlib,
                         "layout": "zip", "drop": list(profile.drop_stdlib),
                         "prefix": "/lib/python314.zip/", "hot": hot_stdlib, **options})
        else:
            shutil.copy2(stock, staging / STDLIB)
        if profile.wheels != "py":
            for wheel in wheels:
                shutil.copy2(wheel, work / "in" / wheel.name)
                jobs.append({"src": f"in/{wheel.name}", "dest": f"out/{wheel.name}",
                             "mode": profile.wheels, "layout": "site", "drop": [],
                             "prefix": "/lib/python3.14/site-packages/", "hot": hot_site,
                             **options})
        if jobs:
            data = run_harness("compile_pyc.mjs", {
                "indexURL": str(inputs.runtime_dir), "root": str(work), "jobs": jobs,
                "debug_ranges": profile.pyc_debug_ranges}, timeout=1800)
            if not data.get("ok"):
                raise BundleError(f"compiling to .pyc in the runtime failed: {data.get('error')}",
                                  hint="check that the runtime loads under Node")
            for job in jobs:
                out = work / job["dest"]
                os.replace(out, staging / out.name)
                if out.suffix != ".whl":  # the stdlib: stored, so .br/.gz compress it whole
                    normalize_zip(staging / out.name, epoch=inputs.epoch, store=True,
                                  sources_first=True)
        stored = profile.wheel_compression == "stored"
        if profile.wheels != "py" or stored:  # else they are as the build normalised them
            for wheel in wheels:
                normalize_wheel(wheel, epoch=inputs.epoch, store=stored)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _license(text: str | None) -> list[dict[str, Any]]:
    if not text:
        return []
    if _SPDX_EXPR.match(text):
        return [{"expression": text}]
    return [{"license": {"name": text}}]


def _sbom(inputs: BundleInputs, shipped: Sequence[PackageInput], digest: str) -> dict[str, Any]:
    project = inputs.project
    components: list[dict[str, Any]] = [{
        "type": "framework", "bom-ref": "pyodide", "name": "pyodide",
        "version": project.runtime.pyodide, "purl": f"pkg:npm/pyodide@{project.runtime.pyodide}",
        "description": "Pyodide runtime core (CPython compiled to WebAssembly)",
    }]
    dependencies = []
    # static libraries ship inside the packages that link them: listed, with those edges
    linked = [p for p in inputs.packages if p.recipe.build.type == "static_library"]
    libraries = {canonical_name(p.recipe.name) for p in linked}
    for pkg in [*shipped, *linked]:
        recipe = pkg.recipe
        src = recipe.source
        is_python = recipe.build.type == "package"
        component: dict[str, Any] = {
            "type": "library", "bom-ref": canonical_name(recipe.dist_name),
            "name": recipe.dist_name,
            "version": recipe.version,
            "purl": (f"pkg:pypi/{canonical_name(recipe.dist_name)}@{recipe.version}" if is_python
                     else f"pkg:generic/{recipe.name}@{recipe.version}"),
            "licenses": _license(recipe.about.license),
            "properties": [{"name": "pyodist:build-type", "value": recipe.build.type},
                           {"name": "pyodist:artifact-key", "value": pkg.key}],
        }
        if recipe.about.summary:
            component["description"] = recipe.about.summary
        if src.sha256:
            component["hashes"] = [{"alg": "SHA-256", "content": src.sha256}]
        if src.url:
            component["externalReferences"] = [{"type": "distribution", "url": src.url}]
        for archive in src.extra_archives:
            component["properties"].append({"name": "pyodist:extra-archive",
                                            "value": f"{archive.url} sha256:{archive.sha256}"})
        for patch, sha in sorted(pkg.patches.items()):
            component["properties"].append({"name": "pyodist:patch",
                                            "value": f"{patch} sha256:{sha}"})
        if recipe.about.home:
            component.setdefault("externalReferences", []).append(
                {"type": "website", "url": recipe.about.home})
        components.append(component)
        if recipe.dist_name != recipe.name:
            component["properties"].append({"name": "pyodist:recipe", "value": recipe.name})
        needs = {canonical_name(d) for d in recipe.requirements.run}
        needs |= {canonical_name(d) for d in recipe.requirements.host} & libraries
        dependencies.append({"ref": canonical_name(recipe.dist_name),
                             "dependsOn": sorted(needs)})
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(inputs.epoch))
    return {
        "bomFormat": "CycloneDX", "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.UUID(digest[:32])}", "version": 1,
        "metadata": {
            "timestamp": stamp,
            "tools": {"components": [{"type": "application", "name": "pyodist",
                                      "version": __version__}]},
            "component": {"type": "application", "bom-ref": "distribution",
                          "name": project.name, "version": project.version},
        },
        "components": components,
        "dependencies": [{"ref": "distribution",
                          "dependsOn": ["pyodide", *sorted(c["bom-ref"] for c in
                                                           components[1:])]},
                         *dependencies],
    }


def _compress(folder: Path, kinds: Sequence[str]) -> None:
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        data = path.read_bytes()
        if "gz" in kinds:
            with gzip.GzipFile(path.with_name(path.name + ".gz"), "wb", compresslevel=9,
                               mtime=0) as gz:
                gz.write(data)
        if "br" in kinds:
            try:
                import brotli  # noqa: PLC0415 - optional, only for profiles asking for .br
            except ImportError:
                raise BundleError("the profile asks for .br files but the brotli module is "
                                  "missing", hint="pip install brotli") from None
            path.with_name(path.name + ".br").write_bytes(brotli.compress(data, quality=11))


def _check_budget(inputs: BundleInputs, staging: Path,
                  owners: Mapping[str, str]) -> int:
    """Total raw bytes of the bundle's files; BundleError with a table over budget."""
    sizes: dict[str, int] = {}
    for path in staging.iterdir():
        if path.is_file() and not path.name.endswith((".br", ".gz")):
            owner = owners.get(path.name, f"core: {path.name}")
            sizes[owner] = sizes.get(owner, 0) + path.stat().st_size
    total = sum(sizes.values())
    budget = inputs.profile.size_budget
    if budget is not None and total > budget:
        rows = "\n".join(f"  {size:>12,}  {name}" for name, size in
                         sorted(sizes.items(), key=lambda kv: -kv[1]))
        raise BundleError(
            f"profile {inputs.profile.name!r} is {total:,} bytes, over its size budget of "
            f"{budget:,} bytes; what takes the space:\n{rows}",
            hint=f"drop packages or stdlib modules from [profiles.{inputs.profile.name}] in "
                 f"{inputs.project.path}, or raise size-budget")
    return total


def _manifest(inputs: BundleInputs, info: Mapping[str, Any],
              shipped: Sequence[ShippedPackage],
              files: Mapping[str, Mapping[str, object]]) -> dict[str, Any]:
    project, profile = inputs.project, inputs.profile
    runtime_emscripten = str(info.get("platform", "")).removeprefix("emscripten_") \
        .replace("_", ".")
    return {
        "format": 1,
        "distribution": {"name": project.name, "version": project.version,
                         "profile": profile.name},
        "runtime": {"pyodide": project.runtime.pyodide, "integrity": inputs.runtime_integrity,
                    "python": info.get("python"), "abi_version": info.get("abi_version"),
                    "emscripten": runtime_emscripten},
        "toolchain": {**inputs.toolchain,
                      "emscripten_matches_runtime":
                          inputs.toolchain.get("emscripten-version") == runtime_emscripten},
        "profile": {"stdlib": profile.stdlib, "wheels": profile.wheels,
                    "drop_stdlib": list(profile.drop_stdlib),
                    "compress": list(profile.compress), "tests": profile.tests,
                    "strip_docstrings": profile.strip_docstrings,
                    "source_form": profile.source_form,
                    "pyc_debug_ranges": profile.pyc_debug_ranges,
                    "wheel_compression": profile.wheel_compression,
                    "size_budget": profile.size_budget,
                    "targets": [str(t) for t in profile.targets]},
        "wasm_features": sorted({f for p in inputs.packages for f in p.features}),
        "source_date_epoch": inputs.epoch,
        "generator": f"pyodist {__version__}",
        "packages": {
            canonical_name(p.recipe.dist_name): {
                "name": p.recipe.dist_name, "recipe": p.recipe.name, "version": p.recipe.version,
                "type": p.recipe.build.type, "recipe_sha256": p.recipe.digest(),
                "source": {"url": p.recipe.source.url, "sha256": p.recipe.source.sha256,
                           **({"extra_archives": [
                               {"url": a.url, "sha256": a.sha256, "dest": a.dest}
                               for a in p.recipe.source.extra_archives]}
                              if p.recipe.source.extra_archives else {})},
                "patches": dict(sorted(p.patches.items())), "artifact_key": p.key,
                "optimization": optimization(p.recipe), "wasm_features": list(p.features),
                "files": sorted(f.name for s in shipped if s.recipe is p.recipe
                                for f in s.files),
            } for p in inputs.packages},
        "files": dict(sorted(files.items())),
    }


def check_profile_targets(project: Project, profile: Profile,
                          packages: Sequence[tuple[Recipe, tuple[str, ...]]]) -> None:
    """Refuse a profile whose packages (recipe, features) need what a target engine lacks."""
    needs = {recipe.dist_name: features for recipe, features in packages
             if features and recipe.build.type != "static_library"}
    problems = check_targets(needs, profile.targets)
    if problems:
        raise BundleError(
            f"profile {profile.name!r} cannot run on every engine it targets:\n  "
            + "\n  ".join(problems),
            hint=f"raise those targets in [profiles.{profile.name}] targets of "
                 f"{project.path}, or select a variant of the package built without the "
                 "feature (e.g. 'numpy-noblas' in the profile's packages)")


def assemble(inputs: BundleInputs, out_dir: Path) -> BundleResult:
    project, profile = inputs.project, inputs.profile
    name = bundle_name(project, profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    # left by a killed run: .<name>.<pid>.staging and its .pyc work folder
    remove_stale(out_dir, re.compile(rf"^\.{re.escape(name)}\.(?P<pid>\d+)\.staging"))
    staging = out_dir / f".{name}.{os.getpid()}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for core in CORE_FILES:
            source = inputs.runtime_dir / core
            if not source.is_file():
                raise BundleError(f"the runtime at {inputs.runtime_dir} has no {core}",
                                  hint="point [runtime] at a complete Pyodide core")
            shutil.copy2(source, staging / core)
        owners: dict[str, str] = {}
        shipped: list[ShippedPackage] = []
        shipped_inputs: list[PackageInput] = []
        wheels: list[Path] = []
        for pkg in inputs.packages:
            copied: list[Path] = []
            for src in _shipped_files(pkg, profile):
                target = staging / src.name
                if target.exists():
                    raise BundleError(f"two packages ship a file named {src.name}",
                                      hint="rename one of the recipes' outputs")
                shutil.copy2(src, target)
                copied.append(target)
                owners[target.name] = pkg.recipe.name
                if target.suffix == ".whl":
                    wheels.append(target)
            if copied:
                shipped.append(ShippedPackage(pkg.recipe, copied))
                shipped_inputs.append(pkg)
        _compile(inputs, staging, shipped)
        runtime_lock = json.loads((inputs.runtime_dir / LOCK).read_text())
        info = {**runtime_lock["info"], "version": project.runtime.pyodide}
        write_lock(info, shipped, staging / LOCK)
        total = _check_budget(inputs, staging, owners)
        _compress(staging, profile.compress)
        files = {p.name: _file_entry(p) for p in sorted(staging.iterdir()) if p.is_file()}
        digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
        sbom = _sbom(inputs, shipped_inputs, digest)
        (staging / SBOM).write_text(json.dumps(sbom, indent=1, sort_keys=True) + "\n")
        files[SBOM] = _file_entry(staging / SBOM)
        manifest = _manifest(inputs, info, shipped, files)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        for path in staging.iterdir():
            os.utime(path, (inputs.epoch, inputs.epoch))
        folder = replace_dir(staging, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    members = [f"{name}/{p.name}" for p in sorted(folder.iterdir()) if p.is_file()]
    tarball = write_tar(out_dir / f"{name}.tar.gz", out_dir, members, epoch=inputs.epoch,
                        compress=True)
    return BundleResult(folder, tarball, total, len(members))
