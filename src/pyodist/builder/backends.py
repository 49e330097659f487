"""Build-backend wheels for the offline build container.

The build container has no network, and pyodide-build installs each package's
``build-system.requires`` into an isolated environment with pip. So before a build, pyodist
reads those requirements from the prepared source tree and downloads matching wheels for the
container's Python (``pip download`` on the host, through the index pip is configured with)
into one shared folder that the container sees read-only as an extra ``--find-links``.

Each distinct requirement set is resolved once: the resolution is recorded under
``resolved/<key>.json`` (the wheel files it chose, with sha256) and reused while those files
are intact, which keeps repeated and offline builds fast. Resolving separately per package
matters: one joint resolve would pick a single version of ``flit_core`` for packages that
need ``<4`` and packages that take the newest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock
from packaging.requirements import InvalidRequirement, Requirement

from pyodist.errors import BuildError, PyodistError
from pyodist.fsutil import remove_stale, write_atomic
from pyodist.graph import RecipeGraph
from pyodist.hashing import sha256_file
from pyodist.options import Options
from pyodist.process import run
from pyodist.recipe.spec import Recipe
from pyodist.sources.fetch import Fetcher
from pyodist.sources.prepare import prepare_source

__all__ = [
    "BackendWheelhouse",
    "GuestPython",
    "backend_requirements",
    "backend_wheelhouse",
    "build_requirements",
    "prefetch_backends",
]

# What pypa/build assumes for a project without [build-system] (PEP 517's fallback).
_LEGACY_REQUIRES = ("setuptools>=40.8.0",)
# Backends ask for more at build time (get_requires_for_build_wheel); these are the usual.
_ALWAYS = ("wheel",)
# temp names with the writer's pid: .download.<pid>.<random>/ and
# resolved/.<key>.json.<pid>.<random>.tmp (fsutil.write_atomic)
_DOWNLOAD = re.compile(r"^\.download\.(?P<pid>\d+)\.[0-9a-f]+\Z")
_RECORD_TMP = re.compile(r"^\.[0-9a-f]{64}\.json\.(?P<pid>\d+)\.[0-9a-f]+\.tmp\Z")


@dataclass(frozen=True)
class GuestPython:
    """The interpreter inside the toolchain image that build environments are made for."""

    version: str = "3.14"
    glibc: str = "2_39"  # the image has a newer glibc; manylinux_2_39 and older all install
    arch: str = "x86_64"

    @property
    def abi(self) -> str:
        return "cp" + self.version.replace(".", "")

    def pip_target_args(self) -> list[str]:
        return ["--only-binary=:all:", "--python-version", self.version,
                "--implementation", "cp", "--abi", self.abi, "--abi", "abi3", "--abi", "none",
                *(a for p in self.platforms() for a in ("--platform", p))]

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values of the guest (what the build environment runs on)."""
        return {"implementation_name": "cpython", "platform_python_implementation": "CPython",
                "python_version": self.version, "python_full_version": f"{self.version}.0",
                "implementation_version": f"{self.version}.0", "sys_platform": "linux",
                "platform_system": "Linux", "os_name": "posix", "platform_machine": self.arch,
                "platform_release": "", "platform_version": ""}

    def applicable(self, requirements: Iterable[str], *, where: str) -> list[str]:
        """``requirements`` whose markers hold for the guest, markers removed.

        pip evaluates the markers of requirements it is given against the interpreter it
        runs on (the host's), not the --python-version it downloads for: zstandard's
        ``cffi~=1.17; python_version < '3.14'`` would be asked of a 3.14 guest.
        """
        env = self.marker_environment()
        kept = []
        for line in requirements:
            try:
                req = Requirement(line)
            except InvalidRequirement as exc:
                raise BuildError(f"{where}: build requirement {line!r} is not a PEP 508 "
                                 f"requirement ({exc})",
                                 hint="fix it with a patch in the recipe's source/patches"
                                 ) from None
            if req.marker is None:
                kept.append(line)
            elif req.marker.evaluate(env):
                req.marker = None
                kept.append(str(req))
        return kept

    def platforms(self) -> list[str]:
        """Platform tags the guest installs, newest first (pip does not expand them itself)."""
        newest = int(self.glibc.split("_")[1])
        tags = [f"manylinux_2_{minor}_{self.arch}" for minor in range(newest, 4, -1)]
        return [*tags, f"manylinux2014_{self.arch}", f"manylinux2010_{self.arch}",
                f"manylinux1_{self.arch}", f"linux_{self.arch}"]


def build_requirements(tree: Path, *, where: str) -> tuple[str, ...]:
    """The PEP 518 ``build-system.requires`` of the source tree at ``tree``.

    ``where`` names the recipe in errors.
    """
    pyproject = tree / "pyproject.toml"
    if not pyproject.is_file():
        return _LEGACY_REQUIRES
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BuildError(f"{where}: the source's pyproject.toml does not parse: "
                         f"{'nested too deeply' if isinstance(exc, RecursionError) else exc}",
                         hint="fix it with a patch in the recipe's source/patches") from None
    system = data.get("build-system")
    if not isinstance(system, dict):
        return _LEGACY_REQUIRES
    requires = system.get("requires", list(_LEGACY_REQUIRES))
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise BuildError(f"{where}: build-system.requires in pyproject.toml is not a list of "
                         "strings", hint="fix it with a patch in the recipe's source/patches")
    return tuple(requires)


def backend_requirements(recipe: Recipe, tree: Path, cross: Sequence[Recipe]) -> list[str]:
    """What the build environment of ``recipe`` (a package, its source prepared in ``tree``)
    installs: its ``build-system.requires``, the native build of each cross-build package it
    needs at build time (``cross``), and itself if it is one."""
    requires = list(build_requirements(tree, where=str(recipe.path)))
    requires += [f"{c.dist_name}=={c.version}" for c in cross]
    if recipe.build.cross_build_env:
        # pyodide-build installs the native build of a cross-build package into the host
        # site-packages and overlays its wasm headers (cross-build-files)
        requires.append(f"{recipe.dist_name}=={recipe.version}")
    return requires


class BackendWheelhouse:
    """A folder of wheels for build environments in the container, filled on demand."""

    def __init__(self, root: Path, *, index_urls: Sequence[str], offline: bool,
                 guest: GuestPython | None = None, python: str = sys.executable) -> None:
        self.root = root
        self.wheels = root / "wheels"
        self.index_urls = tuple(index_urls)
        self.offline = offline
        self.guest = guest or GuestPython()
        self.python = python

    def clean_stale(self) -> list[Path]:
        """Remove download folders and record temp files of runs that were killed."""
        return [*remove_stale(self.root, _DOWNLOAD),
                *remove_stale(self.root / "resolved", _RECORD_TMP)]

    def _key(self, requirements: Iterable[str], constraints: Iterable[str]) -> str:
        text = json.dumps({"requires": sorted(set(requirements)),
                           "constraints": sorted(set(constraints)), "python": self.guest.abi,
                           "glibc": self.guest.glibc, "arch": self.guest.arch})
        return hashlib.sha256(text.encode()).hexdigest()

    def _recorded(self, key: str) -> dict[str, str] | None:
        try:
            record: dict[str, str] = json.loads(
                (self.root / "resolved" / f"{key}.json").read_text())["wheels"]
        except (OSError, ValueError, KeyError):
            return None
        for name, digest in record.items():
            path = self.wheels / name
            if not path.is_file() or sha256_file(path) != digest:
                return None
        return record

    def ensure(self, requirements: Sequence[str], *, where: str,
               constraints: Sequence[str] = ()) -> dict[str, str]:
        """Make wheels for ``requirements`` (and their dependencies) available.

        ``constraints`` are the recipe's ``requirements/constraint`` lines, which pyodide-build
        also applies inside the container. Returns the chosen wheel files and their sha256,
        for the build's provenance record.
        """
        wanted = (*self.guest.applicable(requirements, where=where), *_ALWAYS)
        key = self._key(wanted, constraints)
        found = self._recorded(key)
        if found is not None:
            return found
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.root / f".{key}.lock")):
            found = self._recorded(key)
            if found is not None:
                return found
            if self.offline:
                raise BuildError(
                    f"{where}: build-backend wheels for {', '.join(requirements)} are not in "
                    f"the cache ({self.root}) and --offline forbids downloading them",
                    hint="run the build once online; the wheels are then reused offline",
                )
            record = self._download(wanted, constraints, where=where)
            resolved = self.root / "resolved"
            resolved.mkdir(exist_ok=True)
            write_atomic(resolved / f"{key}.json",
                         json.dumps({"requires": sorted(set(wanted)), "wheels": record},
                                    indent=1, sort_keys=True))
            return record

    def _download(self, requirements: Sequence[str], constraints: Sequence[str], *,
                  where: str) -> dict[str, str]:
        staging = self.root / f".download.{os.getpid()}.{secrets.token_hex(4)}"
        staging.mkdir(parents=True)
        try:
            argv = [self.python, "-m", "pip", "download", "--disable-pip-version-check",
                    "--no-input", "--quiet", "--dest", str(staging / "wheels"),
                    *self.guest.pip_target_args()]
            if constraints:
                (staging / "constraints.txt").write_text("".join(f"{c}\n" for c in constraints))
                argv += ["--constraint", str(staging / "constraints.txt")]
            if self.index_urls:
                argv += ["--index-url", self.index_urls[0]]
                for extra in self.index_urls[1:]:
                    argv += ["--extra-index-url", extra]
            result = run([*argv, *requirements], timeout=900)
            if result.returncode != 0:
                raise BuildError(
                    f"{where}: cannot get build-backend wheels for Python {self.guest.version} "
                    f"({', '.join(requirements)}):\n{result.tail(8)}",
                    hint="every build requirement needs a wheel on the index pip is "
                         "configured with; an sdist-only backend cannot be installed offline",
                )
            self.wheels.mkdir(parents=True, exist_ok=True)
            record = {}
            for path in sorted((staging / "wheels").glob("*.whl")):
                record[path.name] = sha256_file(path)
                target = self.wheels / path.name
                if not target.exists():
                    os.replace(path, target)
            return record
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def backend_wheelhouse(options: Options) -> BackendWheelhouse:
    """The wheelhouse of ``options``' cache, resolving through the configured index."""
    return BackendWheelhouse(options.cache_dir / "backends", index_urls=options.index_urls,
                             offline=options.offline)


def prefetch_backends(fetcher: Fetcher, wheelhouse: BackendWheelhouse, graph: RecipeGraph,
                      names: Sequence[str], *, tmp: Path
                      ) -> tuple[dict[str, dict[str, str]], dict[str, PyodistError]]:
    """Resolve the build-backend wheels of ``names`` now, as their builds would, so that a
    later ``--offline`` build finds them: each source (already fetched) is prepared in a
    scratch folder under ``tmp`` with its patches, since a patch may change
    ``build-system.requires``. Returns the wheels chosen per package and the failures
    (pip found no wheel, a patch does not apply); library recipes and wheels need none."""
    done: dict[str, dict[str, str]] = {}
    failed: dict[str, PyodistError] = {}
    tmp.mkdir(parents=True, exist_ok=True)
    for name in names:
        recipe = graph.recipes[name]
        if recipe.build.type != "package" or recipe.source.is_wheel:
            continue
        cross = [graph.recipes[d] for d in sorted(graph.closure([name]) - {name})
                 if graph.recipes[d].build.cross_build_env]
        scratch = tmp / f"backends.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            tree = prepare_source(recipe, fetcher.fetch(recipe), scratch / "src",
                                  extra=fetcher.fetch_extra(recipe))
            done[name] = wheelhouse.ensure(backend_requirements(recipe, tree, cross),
                                           where=str(recipe.path),
                                           constraints=recipe.requirements.constraint)
        except PyodistError as exc:
            failed[name] = exc
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return done, failed
