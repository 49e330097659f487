"""The project file, ``pyodist.toml``: what a distribution is made of.

```toml
[distribution]
name = "pyodist-demo"
version = "0.1.0"
default-profile = "fullstack"

[runtime]
pyodide = "314.0.7"            # fetched with npm, integrity-checked
# integrity = "sha512-..."     # required for versions pyodist does not pin itself
# path = "vendor/pyodide"      # or a local folder with the core files

[build]
recipe-dirs = ["recipes"]
# jobs = 2                     # packages built (sources downloaded) at once
# artifact-store = "oci://HOST[:PORT]/REPO"

[profiles.slim]
packages = ["micropip"]        # a selection; dependencies are added
stdlib = "pyc"                 # py | pyc | both | startup-pyc
wheels = "py"                  # py | pyc | both | startup-pyc
source-form = "py"             # py | min: how modules shipped as source are written
pyc-debug-ranges = true        # false: .pyc without column tables (tracebacks keep lines)
wheel-compression = "deflate"  # deflate | stored (better when served as .br/.gz)
drop-stdlib = ["pydoc_data", "encodings.cp*", "!encodings.cp437"]  # "!" keeps
strip-docstrings = true        # .pyc without docstrings (smaller; help() shows less)
size-budget = "12 MB"          # fails the bundle when exceeded (raw bytes of all files)
compress = ["br", "gz"]        # precompressed siblings for static hosting
tests = false                  # ship the NAME-tests.zip archives
targets = ["node>=20", "chrome>=91", "firefox>=89", "safari>=16.4"]  # engines it must run
                               # on: packages needing a wasm feature one lacks are refused
```

Every problem is reported with the file, the key and a fix, all at once. What the file says
about the options (recipe folders, runtime, jobs, store) enters them through
:meth:`Project.values`, under the environment and the command line
(:func:`pyodist.options.resolve_options`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from pyodist.errors import ConfigError, Problem
from pyodist.options import MAX_JOBS, Options, ProjectValues, parse_store, runtime_spec
from pyodist.sizes import SIZE_HINT, parse_size
from pyodist.targets import ENGINES, EngineTarget, parse_target

__all__ = ["PROJECT_FILE", "Profile", "Project", "RuntimeConfig", "find_project",
           "load_project", "require_resolved"]

PROJECT_FILE = "pyodist.toml"
# startup-pyc: .pyc for the modules the runtime and the profile's packages import at start-up
# (measured in the runtime when the bundle is assembled), source for the rest
PycMode = Literal["py", "pyc", "both", "startup-pyc"]
_PYC_MODES = ("py", "pyc", "both", "startup-pyc")
SourceForm = Literal["py", "min"]
WheelCompression = Literal["deflate", "stored"]
_COMPRESS = ("br", "gz")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def why_unreadable(exc: Exception) -> str:
    """What a parse error says; a RecursionError (nesting deeper than Python reads) says
    nothing by itself."""
    return "nested too deeply to read" if isinstance(exc, RecursionError) else str(exc)


def _version_ok(text: str) -> bool:
    """A PEP 440 version, written with the characters of a file name (no '/', no '+..')."""
    if len(text) > 100 or not _NAME_RE.match(text):
        return False
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


@dataclass(frozen=True)
class RuntimeConfig:
    pyodide: str
    integrity: str | None = None
    path: Path | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    packages: tuple[str, ...]
    stdlib: PycMode = "pyc"
    wheels: PycMode = "py"
    drop_stdlib: tuple[str, ...] = ()
    size_budget: int | None = None
    compress: tuple[str, ...] = ()
    tests: bool = False
    strip_docstrings: bool = False
    # "min": source without docstrings and comments, re-printed with 1-space indents
    source_form: SourceForm = "py"
    pyc_debug_ranges: bool = True
    wheel_compression: WheelCompression = "deflate"
    # engines (and first versions) the bundle must run on; empty: not checked
    targets: tuple[EngineTarget, ...] = ()
    # requirements taken from the package index as wheels (pure or Pyodide ones), pinned in
    # pyodist.lock, e.g. ("pydantic>=2.12", "jiter")
    index_packages: tuple[str, ...] = ()
    # a memory snapshot of the runtime with these modules imported ships in the bundle
    # (snapshot.bin); None: no snapshot
    snapshot_imports: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Project:
    path: Path
    name: str
    version: str
    default_profile: str
    runtime: RuntimeConfig
    recipe_dirs: tuple[Path, ...]
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    # [build] artifact-store: used when neither --artifact-store nor the environment names one
    artifact_store: str | None = None
    # [build] jobs: used when neither -j nor PYODIST_JOBS says
    jobs: int | None = None

    @property
    def root(self) -> Path:
        return self.path.parent

    def values(self) -> ProjectValues:
        """What this file says about the options (its step of the cascade)."""
        runtime = self.runtime
        return ProjectValues(
            file=self.path, recipe_dirs=self.recipe_dirs,
            runtime=runtime_spec(runtime.pyodide, runtime.integrity, runtime.path,
                                 file=self.path),
            artifact_store=self.artifact_store, jobs=self.jobs)

    def profile(self, name: str | None) -> Profile:
        chosen = name or self.default_profile
        if chosen not in self.profiles:
            raise ConfigError.single(
                f"no profile {chosen!r}", file=self.path, key="profiles",
                hint=f"choose one of {', '.join(sorted(self.profiles))}, or add "
                     f"[profiles.{chosen}]")
        return self.profiles[chosen]


class _Reader:
    """Typed access to a TOML table that records problems instead of raising."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, key: str, message: str, hint: str) -> None:
        self.problems.append(Problem(file=self.path, key=key, message=message, hint=hint))

    def table(self, data: Mapping[str, Any], key: str, allowed: set[str],
              required: bool = True) -> dict[str, Any]:
        value = data.get(key.rsplit(".", 1)[-1])
        if value is None:
            if required:
                self.problem(key, "is missing", f"add a [{key}] table")
            return {}
        if not isinstance(value, dict):
            self.problem(key, "must be a table", f"write it as [{key}]")
            return {}
        for extra in sorted(set(value) - allowed):
            self.problem(f"{key}.{extra}", "is not a known key",
                         f"known keys: {', '.join(sorted(allowed))}")
        return value

    def string(self, data: Mapping[str, Any], table: str, key: str,
               default: str | None = None) -> str | None:
        value = data.get(key, default)
        if value is None:
            if default is None:
                self.problem(f"{table}.{key}", "is missing", f'add {key} = "..."')
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{table}.{key}", f"must be a non-empty string, not {value!r}",
                         f'write {key} = "..."')
            return None
        return value

    def folder(self, key: str, base: Path, text: str) -> Path | None:
        """``base / text`` resolved, or a problem for a path no file system accepts."""
        try:
            return (base / text).resolve()
        except (OSError, ValueError, RuntimeError) as exc:  # NUL byte, symlink loop
            self.problem(key, f"is not a usable path ({exc}): {text[:60]!r}",
                         "write a folder path relative to this file")
            return None

    def recipe_folder(self, base: Path, text: str) -> Path | None:
        """A ``build.recipe-dirs`` entry: an existing folder (checked now, not at build)."""
        key = "build.recipe-dirs"
        if not text.strip():
            self.problem(key, "has an empty entry", 'write folder paths, e.g. ["recipes"]')
            return None
        folder = self.folder(key, base, text)
        if folder is not None and not folder.is_dir():
            self.problem(key, f"{text!r} is not a folder ({folder})",
                         "create it, or fix the path (relative to this file)")
            return None
        return folder

    def strings(self, data: Mapping[str, Any], table: str, key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(f"{table}.{key}", "must be a list of strings",
                         f'write {key} = ["a", "b"]')
            return ()
        return tuple(value)

    def choice(self, data: Mapping[str, Any], table: str, key: str, default: str,
               options: tuple[str, ...]) -> str:
        value = data.get(key, default)
        if value not in options:
            self.problem(f"{table}.{key}", f"must be one of {', '.join(options)}, not {value!r}",
                         f'write {key} = "{default}"')
            return default
        return str(value)


def _profile(reader: _Reader, name: str, data: Any) -> Profile | None:
    table = f"profiles.{name}"
    allowed = {"packages", "stdlib", "wheels", "drop-stdlib", "size-budget", "compress",
               "tests", "strip-docstrings", "source-form", "pyc-debug-ranges",
               "wheel-compression", "targets", "index-packages", "snapshot"}
    if not isinstance(data, dict):
        reader.problem(table, "must be a table", f"write it as [{table}]")
        return None
    for extra in sorted(set(data) - allowed):
        reader.problem(f"{table}.{extra}", "is not a known key",
                       f"known keys: {', '.join(sorted(allowed))}")
    packages = reader.strings(data, table, "packages")
    index_packages = reader.strings(data, table, "index-packages")
    if "packages" not in data and not index_packages:
        reader.problem(f"{table}.packages", "is missing",
                       'list a selection, e.g. packages = ["micropip"] or ["*"]')
    for text in index_packages:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            reader.problem(f"{table}.index-packages", f"{text!r} is not a requirement ({exc})",
                           'write PEP 508 requirements, e.g. ["pydantic>=2.12", "jiter"]')
    budget = None
    if "size-budget" in data:
        budget = parse_size(data["size-budget"])
        if budget is None:
            reader.problem(f"{table}.size-budget",
                           f"{str(data['size-budget'])[:80]!r} is not a size",
                           f'{SIZE_HINT} (e.g. size-budget = "12 MB")')
    compress = reader.strings(data, table, "compress")
    for kind in compress:
        if kind not in _COMPRESS:
            reader.problem(f"{table}.compress", f"unknown compression {kind!r}",
                           f"use any of {', '.join(_COMPRESS)}")
    tests = data.get("tests", False)
    if not isinstance(tests, bool):
        reader.problem(f"{table}.tests", "must be true or false", "write tests = false")
        tests = False
    targets = []
    for text in reader.strings(data, table, "targets"):
        target = parse_target(text)
        if target is None:
            reader.problem(f"{table}.targets", f"{text!r} is not an engine target",
                           f"write ENGINE>=VERSION with ENGINE one of {', '.join(ENGINES)}, "
                           'e.g. "safari>=16.4"')
        else:
            targets.append(target)
    flags = {}
    for key, default in (("strip-docstrings", False), ("pyc-debug-ranges", True)):
        flags[key] = data.get(key, default)
        if not isinstance(flags[key], bool):
            reader.problem(f"{table}.{key}", "must be true or false",
                           f"write {key} = {str(default).lower()}")
            flags[key] = default
    snapshot_imports = _snapshot(reader, table, data.get("snapshot"))
    return Profile(
        name=name, packages=packages,
        stdlib=reader.choice(data, table, "stdlib", "pyc", _PYC_MODES),  # type: ignore[arg-type]
        wheels=reader.choice(data, table, "wheels", "py", _PYC_MODES),  # type: ignore[arg-type]
        drop_stdlib=reader.strings(data, table, "drop-stdlib"),
        size_budget=budget, compress=tuple(dict.fromkeys(compress)), tests=tests,
        strip_docstrings=flags["strip-docstrings"],
        source_form=reader.choice(data, table, "source-form", "py",  # type: ignore[arg-type]
                                  ("py", "min")),
        pyc_debug_ranges=flags["pyc-debug-ranges"],
        wheel_compression=reader.choice(  # type: ignore[arg-type]
            data, table, "wheel-compression", "deflate", ("deflate", "stored")),
        targets=tuple(targets),
        index_packages=index_packages,
        snapshot_imports=snapshot_imports,
    )


_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def _snapshot(reader: _Reader, table: str, value: Any) -> tuple[str, ...] | None:
    """``snapshot = { imports = ["json", "re"] }``: the modules imported before the
    runtime's memory is saved."""
    if value is None:
        return None
    key = f"{table}.snapshot"
    if not isinstance(value, dict):
        reader.problem(key, "must be a table", 'write snapshot = { imports = ["json", "re"] }')
        return None
    for extra in sorted(set(value) - {"imports"}):
        reader.problem(f"{key}.{extra}", "is not a known key", "known keys: imports")
    imports = reader.strings(value, key, "imports")
    for name in imports:
        if not _MODULE_RE.match(name):
            reader.problem(f"{key}.imports", f"{name!r} is not a module name",
                           'list importable modules, e.g. ["json", "email.parser"]')
    return imports


def _build_table(reader: _Reader, data: Mapping[str, Any],
                 path: Path) -> tuple[tuple[Path, ...], str | None, int | None]:
    """``[build]``: the recipe folders (checked now), the artifact store's address and the
    number of jobs."""
    build = reader.table(data, "build", {"recipe-dirs", "artifact-store", "jobs"},
                         required=False)
    jobs = build.get("jobs")
    if jobs is not None and (type(jobs) is not int or not 1 <= jobs <= MAX_JOBS):
        reader.problem("build.jobs", f"{str(jobs)[:80]!r} is not a number of jobs",
                       f"write a whole number from 1 to {MAX_JOBS}, e.g. jobs = 2")
        jobs = None
    store = build.get("artifact-store")
    if store is not None and not isinstance(store, str):
        reader.problem("build.artifact-store", "must be a string",
                       'write artifact-store = "oci://HOST[:PORT]/REPO"')
        store = None
    elif store is not None:
        try:
            parse_store(store, key="build.artifact-store", file=path)
        except ConfigError as exc:
            reader.problems.extend(exc.problems)
    recipe_dirs = tuple(
        folder for d in reader.strings(build, "build", "recipe-dirs")
        if (folder := reader.recipe_folder(path.parent, d)) is not None
    ) or ((path.parent / "recipes").resolve(),)
    return recipe_dirs, store, jobs


def load_project(path: Path) -> Project:
    """Read and validate ``pyodist.toml``; raises ConfigError listing every problem."""
    if not path.is_file():
        raise ConfigError.single(
            "project file not found", file=path,
            hint=f"create {PROJECT_FILE} ('pyodist init DIR' writes one), or pass --project FILE")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError, ValueError) as exc:
        # ValueError: an integer of more than 4300 digits
        raise ConfigError.single(f"not valid TOML: {why_unreadable(exc)}", file=path,
                                 hint="fix the syntax at the position given") from None
    reader = _Reader(path)
    for extra in sorted(set(data) - {"distribution", "runtime", "build", "profiles"}):
        reader.problem(extra, "is not a known table",
                       "known tables: distribution, runtime, build, profiles")
    dist = reader.table(data, "distribution", {"name", "version", "default-profile"})
    name = reader.string(dist, "distribution", "name")
    if name is not None and not _NAME_RE.match(name):
        reader.problem("distribution.name", f"{name!r} is not usable in a file name",
                       "use letters, digits, '.', '_' and '-'")
    version = reader.string(dist, "distribution", "version")
    if version is not None and not _version_ok(version):
        reader.problem("distribution.version", f"{version[:80]!r} is not a version number "
                       "usable in a file name", 'write a PEP 440 version, e.g. "1.0.2"')
    runtime_t = reader.table(data, "runtime", {"pyodide", "integrity", "path"})
    pyodide = reader.string(runtime_t, "runtime", "pyodide")
    integrity = runtime_t.get("integrity")
    if integrity is not None and not (isinstance(integrity, str)
                                      and integrity.startswith("sha512-")):
        reader.problem("runtime.integrity", "must be an npm integrity string",
                       'write integrity = "sha512-..." as npm records it')
    local = runtime_t.get("path")
    runtime_path = None
    if local is not None:
        if not isinstance(local, str):
            reader.problem("runtime.path", "must be a string", 'write path = "vendor/pyodide"')
        else:
            runtime_path = reader.folder("runtime.path", path.parent, local)
    recipe_dirs, store, jobs = _build_table(reader, data, path)
    profiles_t = data.get("profiles", {})
    profiles: dict[str, Profile] = {}
    if not isinstance(profiles_t, dict) or not profiles_t:
        reader.problem("profiles", "no profiles are defined",
                       'add e.g. [profiles.slim] with packages = ["micropip"]')
    else:
        for pname, pdata in profiles_t.items():
            if not _NAME_RE.match(pname):
                reader.problem(f"profiles.{pname}", "is not usable in a file name",
                               "use letters, digits, '.', '_' and '-'")
                continue
            found = _profile(reader, pname, pdata)
            if found is not None:
                profiles[pname] = found
    default = reader.string(dist, "distribution", "default-profile",
                            default=next(iter(profiles), "slim"))
    if default is not None and profiles and default not in profiles:
        reader.problem("distribution.default-profile", f"no profile named {default!r}",
                       f"choose one of {', '.join(sorted(profiles))}")
    if reader.problems:
        raise ConfigError(reader.problems)
    assert name and version and pyodide and default  # noqa: S101 - guaranteed above
    return Project(path=path, name=name, version=version, default_profile=default,
                   runtime=RuntimeConfig(pyodide, integrity, runtime_path),
                   recipe_dirs=recipe_dirs, profiles=profiles, artifact_store=store,
                   jobs=jobs)


def find_project(cwd: Path, path: Path | None = None) -> Project:
    """The project ``path`` names (``--project``: the file, or a folder holding pyodist.toml),
    else ``cwd``'s pyodist.toml, loaded and validated."""
    path = (cwd / (path or PROJECT_FILE)).resolve()
    return load_project(path / PROJECT_FILE if path.is_dir() else path)


def require_resolved(options: Options, project: Project) -> None:
    """Refuse options that were not resolved with ``project``'s values: a run on a project
    with another one's recipe folders or runtime would build the wrong thing quietly."""
    if options.project_file != project.path:
        raise ValueError(f"these options were resolved with {options.project_file}, not "
                         f"{project.path}: pass project=project.values() to resolve_options")
