"""The recipe model: Pyodide's ``meta.yaml`` as typed, frozen objects.

Only :mod:`pyodist.recipe.loader` builds these from YAML; everything downstream (graph,
planner, cache keys) reads them and never sees raw dictionaries. The rules that relate
several fields live in :func:`cross_field_problems` so they can be tested without YAML.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

__all__ = [
    "BUILD_TYPES",
    "EXPORT_KINDS",
    "AboutSpec",
    "BuildSpec",
    "ExtraArchive",
    "PackageSpec",
    "Recipe",
    "RequirementsSpec",
    "SourceSpec",
    "TestSpec",
    "canonical_name",
    "cross_field_problems",
]

BuildType = Literal["package", "static_library", "shared_library", "cpython_module"]
BUILD_TYPES: tuple[BuildType, ...] = (
    "package", "static_library", "shared_library", "cpython_module",
)
EXPORT_KINDS = ("pyinit", "requested", "whole_archive")
LIBRARY_TYPES = frozenset({"static_library", "shared_library", "cpython_module"})

PYPI_SCHEME = "pypi:"
# ``debian:SOURCE/FILE``: a file of a Debian source package, from the mirror in apt's sources
DEBIAN_SCHEME = "debian:"
_CANON_RE = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """PEP 503 normalisation: ``Zope.Interface`` and ``zope_interface`` are one package."""
    return _CANON_RE.sub("-", name).lower()


@dataclass(frozen=True)
class PackageSpec:
    name: str
    version: str
    tag: tuple[str, ...] = ()
    top_level: tuple[str, ...] = ()
    disabled: bool = False
    pinned: bool = False
    # pyodist extension: this recipe builds the same distribution as the named recipe, another
    # way (e.g. numpy without BLAS). '*' and tags leave variants out; naming one in a selection
    # puts it in the place of its base everywhere in that selection.
    variant_of: str | None = None


def _url_filename(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0].split("#", 1)[0]


def _url_kind(url: str) -> Literal["url", "pypi", "debian"]:
    if url.startswith(PYPI_SCHEME):
        return "pypi"
    if url.startswith(DEBIAN_SCHEME):
        return "debian"
    return "url"


@dataclass(frozen=True)
class ExtraArchive:
    """A further archive unpacked into the source tree before patches apply (pyodist
    extension): ``subdir`` of the archive (below its single top folder) goes to ``dest``."""

    url: str
    sha256: str
    dest: str
    subdir: str | None = None

    @property
    def filename(self) -> str:
        return _url_filename(self.url)


@dataclass(frozen=True)
class SourceSpec:
    url: str | None = None
    sha256: str | None = None
    # Resolved against the recipe folder by the loader, so it is absolute here.
    path: Path | None = None
    extract_dir: str | None = None
    patches: tuple[str, ...] = ()
    # (file relative to the recipe folder, destination relative to the source tree)
    extras: tuple[tuple[str, str], ...] = ()
    extra_archives: tuple[ExtraArchive, ...] = ()

    @property
    def kind(self) -> Literal["url", "pypi", "debian", "path", "none"]:
        if self.url is not None:
            return _url_kind(self.url)
        if self.path is not None:
            return "path"
        return "none"

    @property
    def filename(self) -> str | None:
        """The archive's file name: ``pypi:six/six-1.16.0.tar.gz`` -> ``six-1.16.0.tar.gz``."""
        if self.url is None:
            return None
        return _url_filename(self.url)

    @property
    def pypi_project(self) -> str | None:
        """``pypi:six/six-1.16.0.tar.gz`` -> ``six``; None for other source kinds."""
        if self.kind != "pypi" or self.url is None:
            return None
        return self.url[len(PYPI_SCHEME):].split("/", 1)[0]

    @property
    def is_wheel(self) -> bool:
        return (self.filename or "").endswith(".whl")

    @property
    def downloaded(self) -> bool:
        return self.kind in ("url", "pypi", "debian")


@dataclass(frozen=True)
class BuildSpec:
    type: BuildType = "package"
    script: str | None = None
    post: str | None = None
    cross_script: str | None = None
    cflags: str = ""
    cxxflags: str = ""
    ldflags: str = ""
    backend_flags: str = ""
    exports: str | tuple[str, ...] = "pyinit"
    unvendor_tests: bool = True
    retain_test_patterns: tuple[str, ...] = ()
    vendor_sharedlib: bool = True
    cross_build_env: bool = False
    # pyodide-build: do not install the package into the cross-build environment
    cross_build_env_skip_install: bool = False
    cross_build_files: tuple[str, ...] = ()

    @property
    def is_library(self) -> bool:
        return self.type in LIBRARY_TYPES


@dataclass(frozen=True)
class RequirementsSpec:
    run: tuple[str, ...] = ()
    host: tuple[str, ...] = ()
    executable: tuple[str, ...] = ()
    constraint: tuple[str, ...] = ()
    build_extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestSpec:
    imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class AboutSpec:
    home: str | None = None
    PyPI: str | None = None
    summary: str | None = None
    license: str | None = None


@dataclass(frozen=True)
class Recipe:
    """One validated ``meta.yaml``; ``path`` is the file it came from."""

    path: Path
    package: PackageSpec
    source: SourceSpec = field(default_factory=SourceSpec)
    build: BuildSpec = field(default_factory=BuildSpec)
    requirements: RequirementsSpec = field(default_factory=RequirementsSpec)
    test: TestSpec = field(default_factory=TestSpec)
    about: AboutSpec = field(default_factory=AboutSpec)
    # `extra` is free-form in Pyodide (recipe-maintainers, ...); kept as canonical JSON text
    # so the recipe stays hashable and frozen.
    extra_json: str = "{}"

    @property
    def name(self) -> str:
        return self.package.name

    @property
    def version(self) -> str:
        return self.package.version

    @property
    def dist_name(self) -> str:
        """The distribution the recipe builds: a variant's is its base's."""
        return self.package.variant_of or self.package.name

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def extra(self) -> Mapping[str, object]:
        value: dict[str, object] = json.loads(self.extra_json)
        return value

    @property
    def dependencies(self) -> tuple[str, ...]:
        """Recipes that must be built before this one: host first, then run, no repeats."""
        seen: dict[str, None] = {}
        for dep in (*self.requirements.host, *self.requirements.run):
            seen.setdefault(dep, None)
        return tuple(seen)

    def to_dict(self) -> dict[str, object]:
        """A plain, JSON-ready view (paths as strings) for reports and cache keys."""
        data = asdict(self)
        data["path"] = str(self.path)
        src = data["source"]
        if src["path"] is not None:
            src["path"] = str(src["path"])
        data["extra"] = self.extra
        del data["extra_json"]
        return data

    def digest(self) -> str:
        """sha256 of the recipe's meaning, independent of YAML layout and file location.

        Two recipes that parse to the same spec have the same digest even if comments or key
        order differ; moving the recipe folder does not change it either. Values left at
        their defaults are not part of it, so a key pyodist learns later does not change
        the digest of recipes that do not use it.
        """
        data = self.to_dict()
        del data["path"]
        src = data["source"]
        if isinstance(src, dict) and src["path"] is not None:
            src["path"] = "<path>"
        for section, spec in (("source", SourceSpec), ("build", BuildSpec),
                              ("requirements", RequirementsSpec), ("test", TestSpec),
                              ("about", AboutSpec)):
            defaults = asdict(spec())
            values = data[section]
            if isinstance(values, dict):
                data[section] = {k: v for k, v in values.items() if v != defaults.get(k)}
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def build_digest(self) -> str:
        """The digest of what the build reads: :meth:`digest` without the keys that only
        describe or select the package (tags, ``about``, ``extra``, ``disabled``, ``pinned``),
        so retagging a recipe or fixing its summary does not rebuild it and its dependents."""
        bare = replace(self, package=replace(self.package, tag=(), disabled=False,
                                             pinned=False),
                       about=AboutSpec(), extra_json="{}")
        return bare.digest()


# (key path, message, hint); the loader attaches file/line/column.
RuleViolation = tuple[str, str, str]

_LIBRARY_BUILD_KEYS = frozenset({
    "type", "script", "exports", "unvendor-tests", "cflags", "cxxflags", "ldflags",
})
_WHEEL_BUILD_KEYS = frozenset({
    "type", "post", "cross-build-env", "_cross-build-env-skip-install", "cross-build-files",
    "exports", "unvendor-tests",
    "_retain-test-patterns", "vendor-sharedlib",
})


def cross_field_problems(
    recipe: Recipe, *, folder_name: str, build_keys: frozenset[str],
) -> list[RuleViolation]:
    """Rules that relate several fields. ``build_keys`` are the keys written under ``build``."""
    found: list[RuleViolation] = []
    pkg, src, build, req = recipe.package, recipe.source, recipe.build, recipe.requirements

    if pkg.name != folder_name:
        found.append((
            "package/name",
            f"name {pkg.name!r} does not match the recipe folder {folder_name!r}",
            f"rename the folder to {pkg.name!r} or set 'name: {folder_name}'",
        ))
    if src.url is not None and src.path is not None:
        found.append((
            "source",
            "has both 'url' and 'path'",
            "keep 'url' + 'sha256' for a downloaded source, or 'path' for a local one",
        ))
    if src.downloaded and src.sha256 is None:
        found.append((
            "source/url",
            "a downloaded source needs 'source/sha256'",
            "add 'sha256: <64 hex digits>' under 'source' (sha256sum prints it for a file)",
        ))
    if src.kind == "none" and build.type != "cpython_module":
        found.append((
            "source",
            "no source: a recipe needs 'source/url' (with 'sha256') or 'source/path'",
            "add 'url: pypi:PROJECT/FILE' and 'sha256', or 'path: <folder>'",
        ))
    if (src.patches or src.extras or src.extra_archives) and not (src.downloaded
                                                                 and not src.is_wheel):
        which = "a wheel" if src.is_wheel else "not downloaded"
        found.append((
            "source/patches" if src.patches else
            "source/extras" if src.extras else "source/extra-archives",
            "patches and extras apply only to a downloaded source archive "
            f"(this source is {which})",
            "edit a local 'path' source directly, or switch to a downloaded sdist",
        ))
    if build.is_library:
        extra = sorted(build_keys - _LIBRARY_BUILD_KEYS)
        found.extend(
            (f"build/{key}", f"not allowed when building a {build.type}",
             f"remove it; a {build.type} is built by 'build/script' alone")
            for key in extra
        )
    if src.is_wheel:
        extra = sorted(build_keys - _WHEEL_BUILD_KEYS)
        found.extend(
            (f"build/{key}", "not allowed for a prebuilt wheel source",
             "remove it, or use the sdist as the source to build from")
            for key in extra
        )
        if req.host:
            found.append((
                "requirements/host",
                "a prebuilt wheel source cannot have host requirements",
                "remove 'requirements/host', or build from the sdist instead",
            ))
    own = canonical_name(pkg.name)
    if pkg.variant_of is not None and canonical_name(pkg.variant_of) == own:
        found.append(("package/variant-of", f"{pkg.name!r} cannot be a variant of itself",
                      "name the recipe this one replaces, e.g. 'variant-of: numpy'"))
    for section, deps in (("run", req.run), ("host", req.host)):
        if any(canonical_name(d) == own for d in deps):
            found.append((
                f"requirements/{section}",
                f"{pkg.name!r} depends on itself",
                f"remove {pkg.name!r} from 'requirements/{section}'",
            ))
    return found
