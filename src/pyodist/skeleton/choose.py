"""Choosing which release file of a project a new recipe builds from.

Pure logic over an index listing: versions are read from the file names, yanked files are
skipped unless that exact version was asked for (PEP 592), files whose ``Requires-Python``
excludes the runtime's Python are skipped, and pre-releases are only taken when asked for
or when nothing else exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from pyodist.errors import SourceError, UsageError
from pyodist.recipe.spec import canonical_name
from pyodist.sources.index import IndexFile

__all__ = ["SDIST_SUFFIXES", "Release", "SourceKind", "choose_release", "is_pyodide_wheel",
           "parse_request"]

# sdist: built here; wheel: a pure py3-none-any wheel; pyodide-wheel: a wheel the project
# publishes for the runtime (PEP 783, e.g. cp314-cp314-pyemscripten_2026_0_wasm32)
SourceKind = Literal["sdist", "wheel", "pyodide-wheel"]
SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz")


@dataclass(frozen=True)
class Release:
    project: str  # as the file names spell it, e.g. "MarkupSafe"
    version: Version
    kind: SourceKind
    file: IndexFile
    # newer matching versions passed over (no usable file of the kind), newest first
    passed_over: tuple[str, ...] = ()


def parse_request(text: str) -> tuple[str, SpecifierSet]:
    """``numpy``, ``numpy==2.4.6`` or ``numpy>=2,<3`` -> (name, specifier)."""
    for i, ch in enumerate(text):
        if ch in "=<>!~ ":
            name, spec = text[:i].strip(), text[i:].strip()
            break
    else:
        name, spec = text.strip(), ""
    if not name or not all(c.isalnum() or c in "-_." for c in name):
        raise UsageError(f"{text!r} is not a project name",
                         hint="write NAME or NAME==VERSION, e.g. 'six' or 'six==1.17.0'")
    try:
        return name, SpecifierSet(spec)
    except InvalidSpecifier:
        raise UsageError(f"{text!r}: {spec!r} is not a version specifier",
                         hint="write NAME==VERSION, e.g. 'six==1.17.0'") from None


def _sdist_version(project: str, filename: str) -> Version | None:
    lower = filename.lower()
    suffix = next((s for s in SDIST_SUFFIXES if lower.endswith(s)), None)
    if suffix is None:
        return None
    stem = filename[: -len(suffix)]
    # The project part may itself contain '-' in old sdists ("zope.interface-5.0.tar.gz" is
    # easy, "python-dateutil-2.9.0.tar.gz" is not): match it by canonical name.
    for i in range(len(stem) - 1, 0, -1):
        if stem[i] == "-" and canonical_name(stem[:i]) == canonical_name(project):
            try:
                return Version(stem[i + 1:])
            except InvalidVersion:
                return None
    return None


def _is_pure_wheel(filename: str) -> Version | None:
    try:
        _name, version, _build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return None
    pure = all(t.abi == "none" and t.platform == "any" and t.interpreter.startswith("py3")
               for t in tags)
    return version if pure else None


def _python_ok(file: IndexFile, python: Version) -> bool:
    if not file.requires_python:
        return True
    try:
        return python in SpecifierSet(file.requires_python)
    except InvalidSpecifier:
        return True  # an unreadable constraint is the index's problem, not a reason to skip


def is_pyodide_wheel(filename: str, platform_tag: str | None, python_tag: str) -> bool:
    """A wheel built for the runtime: its platform tag and a matching interpreter/ABI."""
    if platform_tag is None:
        return False
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return False
    return any(t.platform == platform_tag and t.interpreter in (python_tag, "py3")
               and t.abi in (python_tag, "abi3", "none") for t in tags)


def _listing(project: str, files: Sequence[IndexFile], platform_tag: str | None = None,
             python_tag: str = "") -> dict[Version, dict[SourceKind, list[IndexFile]]]:
    found: dict[Version, dict[SourceKind, list[IndexFile]]] = {}
    for f in files:
        if f.filename.endswith(".whl"):
            version = _is_pure_wheel(f.filename)
            kind: SourceKind = "wheel"
            if version is None and is_pyodide_wheel(f.filename, platform_tag, python_tag):
                version = parse_wheel_filename(f.filename)[1]
                kind = "pyodide-wheel"
            elif version is None:
                # platform wheels only count for "which versions exist" messages
                try:
                    version = parse_wheel_filename(f.filename)[1]
                except InvalidWheelFilename:
                    continue
                found.setdefault(version, {})
                continue
        else:
            version = _sdist_version(project, f.filename)
            kind = "sdist"
            if version is None:
                continue
        found.setdefault(version, {}).setdefault(kind, []).append(f)
    return found


def choose_release(project: str, files: Sequence[IndexFile], spec: SpecifierSet, *,
                   kind: SourceKind, python: str, platform_tag: str | None = None) -> Release:
    """The newest file of ``kind`` matching ``spec`` that the runtime's Python can use
    (``platform_tag``: the runtime's wheel platform, for Pyodide wheels)."""
    py = Version(python)
    listing = _listing(project, files, platform_tag, f"cp{py.major}{py.minor}")
    pinned = {Version(s.version) for s in spec if s.operator in ("==", "===")
              and "*" not in s.version}
    matching = sorted((v for v in listing if spec.contains(v, prereleases=True)), reverse=True)
    if not matching:
        newest = ", ".join(str(v) for v in sorted(listing, reverse=True)[:6]) or "none"
        raise SourceError(f"{project}: no release matches {str(spec) or 'any version'}",
                          hint=f"versions on the index (newest first): {newest}")
    stable = [v for v in matching if not v.is_prerelease] or matching
    candidates = [v for v in matching if v in pinned] or stable
    skipped: list[str] = []
    for version in candidates:
        usable = [f for f in listing[version].get(kind, [])
                  if (not f.yanked or version in pinned) and _python_ok(f, py)]
        if usable:
            # .tar.gz before .zip when a release has both (the common sdist form)
            usable.sort(key=lambda f: (not f.filename.endswith(".tar.gz"), f.filename))
            return Release(project, version, kind, usable[0], tuple(skipped))
        skipped.append(str(version))
    version = candidates[0]
    has = listing[version]
    if kind == "sdist" and "pyodide-wheel" in has:
        hint = (f"{project} {version} publishes a Pyodide wheel: use --source pyodide-wheel")
    elif kind == "sdist" and "wheel" in has:
        hint = (f"{project} {version} ships a pure Python wheel: use --source wheel")
    elif kind != "sdist" and "sdist" in has:
        hint = f"{project} {version} has an sdist: use --source sdist (the default)"
    else:
        others = [str(v) for v in stable if kind in listing[v]][:4]
        hint = (f"releases with a usable {kind}: {', '.join(others)}" if others else
                f"{project} publishes no usable {kind}; it cannot be built from the index")
    what = {"sdist": "sdist", "wheel": "pure Python (py3-none-any) wheel",
            "pyodide-wheel": f"Pyodide wheel ({platform_tag})"}[kind]
    raise SourceError(
        f"{project} {version}: no {what} usable with Python {python} on the index"
        + (f" (also none for {', '.join(skipped[1:4])})" if len(skipped) > 1 else ""),
        hint=hint)
