"""``pyodist skeleton pypi``: write (or bump) a recipe from a project on the package index.

The release file is chosen from the index pip is configured with, downloaded once into the
source cache (so the first build needs no second download), inspected without running any of
its code, and turned into a ``meta.yaml`` that the loader accepts before it is written
atomically. Requirements are the project's ``Requires-Dist`` with environment markers
evaluated for the runtime (Emscripten, wasm32, its Python).
"""

from __future__ import annotations

import urllib.parse
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path
from typing import Literal

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from pyodist.errors import Problem, PyodistError, RecipeError, SourceError, UsageError
from pyodist.fsutil import write_atomic
from pyodist.recipe.loader import load_recipe, parse_recipe
from pyodist.recipe.spec import PYPI_SCHEME, Recipe, canonical_name
from pyodist.skeleton.choose import (
    Release,
    SourceKind,
    choose_release,
    is_pyodide_wheel,
    parse_request,
)
from pyodist.skeleton.inspect import SourceFacts, inspect_source, numpy_headers_needed
from pyodist.skeleton.render import Draft, render_recipe, update_recipe_text
from pyodist.sources.fetch import Fetcher, FetchResult
from pyodist.sources.index import IndexFile, PackageIndex

__all__ = ["Outcome", "Skeleton", "SkeletonRequest", "UrlStyle"]

UrlStyle = Literal["pypi", "full"]
# Build requirements that compile code; they come from the build-backend wheelhouse.
_BUILD_TOOLS = ("cython", "pybind11", "nanobind", "meson-python", "scikit-build-core",
                "cmake", "ninja", "setuptools-scm", "cffi")
_UNBUILDABLE = {
    "Rust": "Rust code: the toolchain image has no Rust compiler for wasm32-unknown-emscripten "
            "yet, so this recipe is disabled",
    "Fortran": "Fortran code: Emscripten has no Fortran compiler, so this recipe is disabled "
               "(a C translation or a prebuilt library is needed)",
}


@dataclass(frozen=True)
class SkeletonRequest:
    requirement: str  # NAME, NAME==VERSION or NAME>=X,<Y
    recipe_dir: Path
    update: bool = False
    force: bool = False
    source: SourceKind | None = None  # None: sdist for new recipes, the recipe's kind on update
    url_style: UrlStyle = "pypi"
    with_deps: bool = False


@dataclass(frozen=True)
class Outcome:
    name: str
    version: str
    path: Path
    action: Literal["created", "replaced", "updated", "unchanged"]
    filename: str
    native: Mapping[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # requirements/run with the version ranges Requires-Dist gave ("" for any)
    requires: tuple[tuple[str, str], ...] = ()


class Skeleton:
    """Writes recipes into one recipe folder, knowing which recipes exist elsewhere."""

    def __init__(self, index: PackageIndex, fetcher: Fetcher, environment: Mapping[str, str],
                 *, existing: Iterable[str] = (), platform_tag: str | None = None) -> None:
        """``platform_tag``: the runtime's wheel platform (pyemscripten_2026_0_wasm32), so
        that a release's published Pyodide wheel is noticed and can be taken."""
        self.index = index
        self.fetcher = fetcher
        self.environment = dict(environment)
        self.existing = {canonical_name(n) for n in existing}
        self.platform_tag = platform_tag

    def _choose(self, name: str, files: list[IndexFile], spec: SpecifierSet,
                kind: SourceKind) -> Release:
        return choose_release(name, files, spec, kind=kind, platform_tag=self.platform_tag,
                              python=self.environment["python_full_version"])

    def _pyodide_wheel(self, release: Release, files: list[IndexFile]) -> IndexFile | None:
        """The release's published Pyodide wheel, if it has one."""
        python = self.environment["python_full_version"].split(".")
        return next((f for f in files if is_pyodide_wheel(
            f.filename, self.platform_tag, f"cp{python[0]}{python[1]}")
            and parse_wheel_filename(f.filename)[1] == release.version), None)

    # -- one project ------------------------------------------------------------------------

    def run(self, request: SkeletonRequest) -> tuple[list[Outcome], dict[str, PyodistError]]:
        """Write the requested recipe (and, with ``with_deps``, recipes for missing deps)."""
        first = self.one(request)
        outcomes = [first]
        failures: dict[str, PyodistError] = {}
        if not request.with_deps:
            return outcomes, failures
        written = {canonical_name(first.name)}
        queue: deque[tuple[str, str]] = deque(self._missing(first, written))
        while queue:
            name, spec = queue.popleft()
            key = canonical_name(name)
            if key in written or key in failures:
                continue
            written.add(key)
            dep = SkeletonRequest(f"{name}{spec}", request.recipe_dir,
                                  url_style=request.url_style)
            try:
                outcome = self.one(dep, dependency=True)
            except PyodistError as exc:
                failures[key] = exc
                continue
            outcomes.append(outcome)
            queue.extend(self._missing(outcome, written))
        return outcomes, failures

    def one(self, request: SkeletonRequest, *, dependency: bool = False) -> Outcome:
        name, spec = parse_request(request.requirement)
        path = request.recipe_dir / canonical_name(name) / "meta.yaml"
        if path.is_file():
            if request.update:
                return self._update(name, spec, path, request)
            if not request.force:
                raise UsageError(f"{path} already exists",
                                 hint="use --update to move it to a new release (keeps your "
                                      "edits), or --force to write it again from scratch")
        elif request.update:
            raise UsageError(f"--update: there is no recipe at {path}",
                             hint="drop --update to write a new recipe")
        kind: SourceKind = request.source or "sdist"
        files = self.index.project_files(name)
        notes: list[str] = []
        try:
            release = self._choose(name, files, spec, kind)
        except SourceError:
            if not dependency or request.source:
                raise
            # a dependency with only a pure wheel is still usable as it is
            release = self._choose(name, files, spec, "wheel")
            notes.append("no usable sdist; the pure Python wheel is used as the source")
        published = self._pyodide_wheel(release, files) if release.kind == "sdist" else None
        if published is not None:
            notes.append(f"{name} {release.version} publishes a Pyodide wheel "
                         f"({published.filename}): '--source pyodide-wheel' takes it instead "
                         "of building the sdist")
        if release.passed_over:
            notes.append(f"newer {', '.join(release.passed_over)} passed over: no usable "
                         f"{release.kind}")
        fetched = self._fetch(release)
        facts = inspect_source(fetched.path, filename=release.file.filename,
                               kind="sdist" if release.kind == "sdist" else "wheel",
                               project=name)
        draft, warnings, more = self._draft(release, fetched, facts, files, request.url_style)
        if published is not None and draft.disabled:
            warnings.append(f"the published Pyodide wheel needs no build: 'pyodist skeleton "
                            f"pypi {name} --source pyodide-wheel --force'")
        text = render_recipe(draft)
        _check_loads(path, text)
        action: Literal["created", "replaced"] = "replaced" if path.is_file() else "created"
        write_atomic(path, text)
        if canonical_name(name) in self.existing and action == "created":
            notes.append("a recipe of that name exists in another recipe folder; this one "
                         "overrides it when its folder comes later")
        return Outcome(draft.name, draft.version, path, action, release.file.filename,
                       facts.languages, tuple(warnings), tuple(notes + more), draft.run)

    # -- pieces -----------------------------------------------------------------------------

    def _fetch(self, release: Release) -> FetchResult:
        name = canonical_name(release.project)
        url = f"{PYPI_SCHEME}{name}/{release.file.filename}"
        if release.file.sha256:
            return self.fetcher.fetch_one(name, url, release.file.sha256, release.file.filename)
        return self.fetcher.fetch_unpinned(name, release.file.url, release.file.filename)

    def _requirements(self, facts: SourceFacts, release: Release,
                      files: list[IndexFile]) -> tuple[list[str] | None, str]:
        if facts.requires_dist is not None:
            return list(facts.requires_dist), facts.requires_from
        # setup.py computes them: a wheel of the same release states them (PEP 658)
        for f in files:
            if not f.filename.endswith(".whl") or not f.core_metadata:
                continue
            try:
                if parse_wheel_filename(f.filename)[1] != release.version:
                    continue
            except InvalidWheelFilename:
                continue
            text = self.index.core_metadata(f)
            if text is not None:
                found = Parser().parsestr(text).get_all("Requires-Dist") or []
                return [str(r) for r in found], f"the index's metadata of {f.filename}"
        return None, "none"

    def _applies(self, lines: Iterable[str], where: str) -> list[tuple[str, str]]:
        found: dict[str, str] = {}
        for line in lines:
            try:
                req = Requirement(line)
                if req.marker is not None and not req.marker.evaluate(dict(self.environment)):
                    continue
            except (InvalidRequirement, InvalidMarker) as exc:
                raise SourceError(f"unreadable requirement {line!r} in {where}: {exc}",
                                  hint="write requirements/run by hand for this package") \
                    from None
            found.setdefault(canonical_name(req.name), str(req.specifier))
        return sorted(found.items())

    def _draft(self, release: Release, fetched: FetchResult, facts: SourceFacts,
               files: list[IndexFile], url_style: UrlStyle
               ) -> tuple[Draft, list[str], list[str]]:
        warnings: list[str] = []
        notes: list[str] = []
        name = canonical_name(release.project)
        version = str(release.version)
        lines, where = self._requirements(facts, release, files)
        if lines is None:
            lines = []
            warnings.append("the run requirements are computed by setup.py and no wheel "
                            "states them: check requirements/run by hand")
        run = self._applies(lines, where)
        host: list[tuple[str, str]] = []
        if numpy_headers_needed(facts):
            host.append(("numpy", "compiled against numpy's C headers (build-system.requires)"))
        build_comments: list[str] = []
        languages = dict(facts.languages)
        if languages:
            parts = [f"{lang} ({n} file{'s' if n != 1 else ''})" if n else lang
                     for lang, n in languages.items()]
            build_comments.append(f"Native code found: {', '.join(parts)}; compiled with emcc "
                                  "in the toolchain container.")
        tools = [t for t in facts.build_requires if t in _BUILD_TOOLS]
        if tools:
            build_comments.append(f"build-system.requires ({', '.join(tools)}) come from the "
                                  "offline build-backend wheelhouse; they need no recipe.")
        cxxflags = None
        if "C++" in languages:
            cxxflags = "-fwasm-exceptions"
            build_comments.append("C++ exceptions must be wasm exceptions, like the runtime's.")
        disabled = None
        for language, reason in _UNBUILDABLE.items():
            if language in languages:
                disabled = reason
                warnings.append(reason)
        source_comments: list[str] = []
        if release.kind == "wheel":
            source_comments.append("The upstream pure Python wheel, kept byte for byte.")
        elif release.kind == "pyodide-wheel":
            source_comments.append("The project's own Pyodide wheel (PEP 783), kept byte for "
                                   "byte: nothing is compiled here.")
        url = (f"{PYPI_SCHEME}{name}/{release.file.filename}" if url_style == "pypi"
               else release.file.url)
        public = tuple(t for t in facts.top_level if not t.startswith("_")) or facts.top_level
        # importing the compiled modules is what proves the wasm build links and loads
        public += tuple(e for e in facts.extensions if e not in public)
        header = (f"Written by pyodist skeleton from {release.file.filename}; edit freely:",
                  f"'pyodist skeleton pypi {name} --update' keeps your edits.")
        if where not in ("none",) and lines:
            notes.append(f"requirements from {where}")
        draft = Draft(
            name=name, version=version, url=url, sha256=fetched.sha256,
            top_level=facts.top_level, test_imports=public, run=tuple(run),
            host=tuple(host), header=header, source_comments=tuple(source_comments),
            build_comments=tuple(build_comments), cxxflags=cxxflags, disabled=disabled,
            summary=facts.summary, license=facts.license, home=self._home(facts.home),
        )
        return draft, warnings, notes

    def _home(self, home: str | None) -> str | None:
        """The project's home page, unless it is a page of the index itself."""
        if not home:
            return None
        host = urllib.parse.urlparse(home).hostname
        index_hosts = {urllib.parse.urlparse(u).hostname for u in self.index.settings.urls}
        return None if host in index_hosts else home

    def _missing(self, outcome: Outcome, written: set[str]) -> list[tuple[str, str]]:
        """Run requirements of ``outcome``'s recipe that have no recipe anywhere yet."""
        requires = outcome.requires or tuple(
            (r, "") for r in load_recipe(outcome.path).requirements.run)
        return [(dep, spec) for dep, spec in requires
                if canonical_name(dep) not in self.existing | written]

    # -- --update ---------------------------------------------------------------------------

    def _update(self, name: str, spec: SpecifierSet, path: Path,
                request: SkeletonRequest) -> Outcome:
        recipe = load_recipe(path)
        src = recipe.source
        if src.url is None or src.sha256 is None or src.filename is None:
            raise UsageError(f"{path}: --update needs a recipe whose source is a url "
                             "(this one builds from a local path or has no source)",
                             hint="edit the recipe by hand")
        kind: SourceKind = request.source or _source_kind(src.filename)
        files = self.index.project_files(name)
        release = self._choose(name, files, spec, kind)
        version = str(release.version)
        old_filenames = {f.filename for f in files}
        if src.kind == "pypi":
            url = f"{PYPI_SCHEME}{canonical_name(name)}/{release.file.filename}"
            fetched = self._fetch(release)
        elif src.filename in old_filenames:
            url = release.file.url  # a full URL of the index's own file: keep that style
            fetched = self._fetch(release)
        else:
            # somewhere else (a project's own download site): the same URL, new version
            url = src.url.replace(recipe.version, version)
            filename = src.filename.replace(recipe.version, version)
            fetched = self.fetcher.fetch_unpinned(canonical_name(name), url, filename)
        if version == recipe.version and fetched.sha256 == src.sha256 and url == src.url:
            return Outcome(recipe.name, version, path, "unchanged", release.file.filename)
        facts = inspect_source(fetched.path, filename=fetched.filename,
                               kind="sdist" if kind == "sdist" else "wheel", project=name)
        notes = self._drift(recipe, facts, release, files)
        text = update_recipe_text(path.read_text(encoding="utf-8"), path, version=version,
                                  url=url, sha256=fetched.sha256)
        _check_loads(path, text)
        write_atomic(path, text)
        return Outcome(recipe.name, version, path, "updated", fetched.filename,
                       facts.languages, (), tuple(notes))

    def _drift(self, recipe: Recipe, facts: SourceFacts, release: Release,
               files: list[IndexFile]) -> list[str]:
        """What changed upstream that the maintainer may want to carry into the recipe."""
        notes = [f"was {recipe.version}"]
        lines, where = self._requirements(facts, release, files)
        if lines is not None:
            now = {n for n, _ in self._applies(lines, where)}
            had = {canonical_name(r) for r in recipe.requirements.run}
            if now - had:
                notes.append(f"Requires-Dist now also names {', '.join(sorted(now - had))}: "
                             "add to requirements/run if the package needs them")
            if had - now:
                notes.append(f"Requires-Dist no longer names {', '.join(sorted(had - now))}")
        if recipe.package.top_level and set(facts.top_level) != set(recipe.package.top_level):
            notes.append(f"import names found now: {', '.join(facts.top_level)} "
                         "(package/top-level kept as written)")
        if recipe.source.patches:
            notes.append(f"{len(recipe.source.patches)} patch(es) kept: check they still apply "
                         f"with 'pyodist build {recipe.name}'")
        return notes


def _source_kind(filename: str) -> SourceKind:
    """What a recipe's source file is: an sdist, a pure wheel or a platform (Pyodide) wheel."""
    if not filename.endswith(".whl"):
        return "sdist"
    pure = all(tag.platform == "any" for tag in parse_wheel_filename(filename)[3])
    return "wheel" if pure else "pyodide-wheel"


def _check_loads(path: Path, text: str) -> None:
    """The drafted text must be a recipe our own loader accepts before it is written."""
    try:
        parse_recipe(path, text)
    except RecipeError as exc:
        raise RecipeError([*exc.problems, Problem(
            path, None, "nothing was written: the drafted recipe does not load (unusual "
                        "package metadata?)", "write this recipe by hand, and report it")]) \
            from None
