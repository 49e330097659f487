"""Assemble a runtime bundle from the Pyodide core and built artifacts.

The bundle folder ``<name>-<version>-<profile>/`` holds the core files, the profile's
wheels, a ``pyodide-lock.json`` computed from them, ``manifest.json`` (every file's sha256
and size, recipe/source/artifact hashes, toolchain and runtime versions), ``sbom.cdx.json``
(CycloneDX 1.5) and optional ``.br``/``.gz`` siblings. Everything is written in a staging
folder and appears by one rename; the ``.tar.gz`` beside it is deterministic. A size budget
is checked before anything is published.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pyodist import __version__
from pyodist.builder.archive import write_tar
from pyodist.builder.wheel import normalize_wheel, normalize_zip
from pyodist.bundle.compress import compress_folder
from pyodist.bundle.inputs import BundleInputs, BundleResult, PackageInput
from pyodist.bundle.lock import ShippedPackage, wheel_imports, write_lock
from pyodist.bundle.pylock import PYLOCK, write_pylock
from pyodist.bundle.sbom import sbom
from pyodist.bundle.simple_index import write_simple_index
from pyodist.bundle.snapshot import SNAPSHOT, SNAPSHOT_INFO, SNAPSHOT_LOADER, make_snapshot
from pyodist.bundle.stepcache import StepCache
from pyodist.bundle.verify import MANIFEST
from pyodist.errors import BundleError
from pyodist.fsutil import remove_stale, replace_dir
from pyodist.hashing import sha256_file
from pyodist.project import Profile, Project
from pyodist.recipe.spec import Recipe, canonical_name
from pyodist.runtime.node import harness, run_harness
from pyodist.runtime.pyodide import CORE_FILES, RUNTIME_LOCK, STDLIB_ZIP
from pyodist.targets import check_targets, optimization

__all__ = ["MANIFEST", "SBOM", "BundleInputs", "BundleResult", "PackageInput", "assemble",
           "bundle_name", "check_profile_targets"]

SBOM = "sbom.cdx.json"


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
        "indexURL": str(inputs.runtime.folder), "wheels": [str(w.resolve()) for w in wheels],
        "imports": imports, "stdlibPrefix": inputs.runtime.stdlib_prefix}, timeout=600)
    if not data.get("ok"):
        raise BundleError(f"measuring the start-up modules in the runtime failed: "
                          f"{data.get('error')}", hint="check that the runtime loads under Node")
    return list(data["stdlib"]), list(data["site"])


def _compile(inputs: BundleInputs, staging: Path, shipped: Sequence[ShippedPackage],
             steps: StepCache) -> None:
    """Write the stdlib (and, per profile, wheels) with .pyc made by the runtime itself, or
    take them from the step cache when the same inputs were compiled before."""
    profile, runtime = inputs.profile, inputs.runtime
    wheels = [f for s in shipped for f in s.files if f.suffix == ".whl"]
    key = steps.key("pyc", {
        "core": {name: sha256_file(runtime.folder / name) for name in (*CORE_FILES, STDLIB_ZIP)},
        "prefixes": [runtime.stdlib_prefix, runtime.site_packages],
        "wheels": [[w.name, sha256_file(w)] for w in wheels],
        "top_level": [[s.recipe.name, list(s.recipe.package.top_level)] for s in shipped],
        "profile": [profile.stdlib, profile.wheels, list(profile.drop_stdlib),
                    profile.strip_docstrings, profile.source_form, profile.pyc_debug_ranges,
                    profile.wheel_compression],
        "epoch": inputs.epoch})
    if steps.restore("pyc", key, staging) is not None:
        return
    _compile_now(inputs, staging, shipped, wheels)
    steps.store("pyc", key, staging, [STDLIB_ZIP, *(w.name for w in wheels)])


def _compile_now(inputs: BundleInputs, staging: Path, shipped: Sequence[ShippedPackage],
                 wheels: Sequence[Path]) -> None:
    profile = inputs.profile
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
        runtime = inputs.runtime
        stock = runtime.folder / STDLIB_ZIP
        if profile.stdlib != "py" or profile.drop_stdlib or profile.source_form != "py":
            shutil.copy2(stock, work / "in" / STDLIB_ZIP)
            jobs.append({"src": f"in/{STDLIB_ZIP}", "dest": f"out/{STDLIB_ZIP}",
                         "mode": profile.stdlib, "layout": "zip",
                         "drop": list(profile.drop_stdlib), "prefix": runtime.stdlib_prefix,
                         "hot": hot_stdlib, **options})
        else:
            shutil.copy2(stock, staging / STDLIB_ZIP)
        if profile.wheels != "py":
            for wheel in wheels:
                shutil.copy2(wheel, work / "in" / wheel.name)
                jobs.append({"src": f"in/{wheel.name}", "dest": f"out/{wheel.name}",
                             "mode": profile.wheels, "layout": "site", "drop": [],
                             "prefix": runtime.site_packages, "hot": hot_site,
                             **options})
        if jobs:
            data = run_harness("compile_pyc.mjs", {
                "indexURL": str(runtime.folder), "root": str(work), "jobs": jobs,
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


def _bundle_files(folder: Path) -> dict[str, Path]:
    """Every file of a bundle folder by its relative POSIX path (subfolders included)."""
    return {p.relative_to(folder).as_posix(): p
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _check_budget(inputs: BundleInputs, staging: Path,
                  owners: Mapping[str, str]) -> int:
    """Total raw bytes of the bundle's files; BundleError with a table over budget."""
    sizes: dict[str, int] = {}
    for rel, path in _bundle_files(staging).items():
        if not path.name.endswith((".br", ".gz")):
            owner = owners.get(rel, f"core: {rel}")
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
        "runtime": {"pyodide": project.runtime.pyodide, "integrity": inputs.runtime.spec.integrity,
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
                    "targets": [str(t) for t in profile.targets],
                    **({"snapshot_imports": list(profile.snapshot_imports)}
                       if profile.snapshot_imports is not None else {})},
        "wasm_features": sorted({f for p in inputs.packages for f in p.features}),
        "source_date_epoch": inputs.epoch,
        "generator": f"pyodist {__version__}",
        "packages": {
            canonical_name(p.recipe.dist_name): {
                "name": p.recipe.dist_name, "recipe": p.recipe.name, "version": p.recipe.version,
                "type": p.recipe.build.type,
                **({"from_index": True} if p.from_index else
                   {"recipe_sha256": p.recipe.digest()}),
                "source": {"url": p.recipe.source.url, "sha256": p.recipe.source.sha256,
                           **({"fetched_from": p.fetched_from} if p.fetched_from else {}),
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


def _lock_and_index(inputs: BundleInputs, staging: Path, shipped: Sequence[ShippedPackage],
                    owners: dict[str, str],
                    steps: StepCache) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """What describes the shipped files: the runtime's lock, pylock.toml, the simple/ index
    and (per profile) the memory snapshot made from all of them; the lock's ``info`` and the
    snapshot's description."""
    profile = inputs.profile
    info = {**inputs.runtime.info, "version": inputs.project.runtime.pyodide}
    write_lock(info, shipped, staging / RUNTIME_LOCK)
    write_pylock(staging / PYLOCK, shipped, inputs.runtime.python)
    for path in write_simple_index(staging, shipped):
        rel = path.relative_to(staging).as_posix()
        owners[rel] = owners.get(rel.removesuffix(".metadata"), "simple/ index")
    snapshot = None
    if profile.snapshot_imports is not None:
        # made from every file of the bundle so far, in the bundle's own runtime
        key = steps.key("snapshot", {
            "files": {rel: sha256_file(p) for rel, p in _bundle_files(staging).items()},
            "imports": list(profile.snapshot_imports), "epoch": inputs.epoch})
        kept = steps.restore("snapshot", key, staging)
        if kept is not None:
            snapshot = kept["info"]
        else:
            snapshot = make_snapshot(staging, profile.snapshot_imports, profile=profile.name,
                                     epoch=inputs.epoch)
            steps.store("snapshot", key, staging, [SNAPSHOT, SNAPSHOT_INFO], {"info": snapshot})
        # the loader that restores it (compiled packages included), for pages and scripts
        shutil.copyfile(harness(SNAPSHOT_LOADER), staging / SNAPSHOT_LOADER)
        owners.update(dict.fromkeys((SNAPSHOT, SNAPSHOT_INFO, SNAPSHOT_LOADER),
                                    "memory snapshot"))
    return info, snapshot


def assemble(inputs: BundleInputs, out_dir: Path, *, cache: Path | None = None) -> BundleResult:
    """Assemble the bundle into ``out_dir``. ``cache`` (a folder of the user's cache) keeps
    what the slow steps made, by content: the .pyc compile, the snapshot, the .br/.gz files."""
    steps = StepCache(cache / "steps" if cache else None)
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
            source = inputs.runtime.folder / core
            if not source.is_file():
                raise BundleError(f"the runtime at {inputs.runtime.folder} has no {core}",
                                  hint="point [runtime] at a complete Pyodide core")
            shutil.copy2(source, staging / core)
        owners: dict[str, str] = {}
        shipped: list[ShippedPackage] = []
        shipped_inputs: list[PackageInput] = []
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
            if copied:
                shipped.append(ShippedPackage(pkg.recipe, copied))
                shipped_inputs.append(pkg)
        _compile(inputs, staging, shipped, steps)
        info, snapshot = _lock_and_index(inputs, staging, shipped, owners, steps)
        total = _check_budget(inputs, staging, owners)
        compress_folder(staging, profile.compress,
                        cache=cache / "compressed" if cache else None)
        files = {rel: _file_entry(p) for rel, p in _bundle_files(staging).items()}
        digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
        bom = sbom(inputs.project, inputs.packages, shipped_inputs, digest, epoch=inputs.epoch)
        (staging / SBOM).write_text(json.dumps(bom, indent=1, sort_keys=True) + "\n")
        files[SBOM] = _file_entry(staging / SBOM)
        manifest = _manifest(inputs, info, shipped, files)
        if snapshot is not None:
            manifest["snapshot"] = {k: snapshot[k] for k in ("imports", "packages", "made_for")}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        for path in staging.rglob("*"):
            os.utime(path, (inputs.epoch, inputs.epoch))
        folder = replace_dir(staging, out_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    members = [f"{name}/{rel}" for rel in _bundle_files(folder)]
    tarball = write_tar(out_dir / f"{name}.tar.gz", out_dir, members, epoch=inputs.epoch,
                        compress=True)
    return BundleResult(folder, tarball, total, len(members))
