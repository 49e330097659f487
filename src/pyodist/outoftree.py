"""Out-of-tree builds: a Pyodide wheel from a source tree, an sdist or the index, no recipe.

``pyodist wheel`` writes the recipe the package would need into a private recipe folder and
builds it with the same engine as every recipe: the pinned toolchain, offline after the
fetch, cached by content, the wheel imported in Pyodide. The package's own
``pyproject.toml`` may say what the recipe would (``[tool.pyodist]``):

.. code-block:: toml

    [tool.pyodist]
    cflags = "-O3"                 # build/cflags, added to Pyodide's
    cxxflags = ""                  # build/cxxflags
    ldflags = "-lm"                # build/ldflags
    exports = "requested"          # build/exports: pyinit, requested, whole_archive
    host-requires = ["libpng"]     # library (or numpy) recipes it compiles against
    imports = ["mypkg"]            # what the import check imports (default: top level)

A source tree is packed as an sdist would be (the files git tracks or would track, or the
tree without version-control, build and cache folders) into a tarball whose bytes depend
only on the files: the same tree gives the same recipe, the same cache key and the same
wheel.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import os
import re
import tarfile
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from pyodist.errors import ConfigError, Problem, ToolchainError, UsageError
from pyodist.hashing import sha256_file
from pyodist.process import run
from pyodist.recipe.spec import EXPORT_KINDS, canonical_name
from pyodist.skeleton.inspect import SourceFacts, inspect_source, numpy_headers_needed

__all__ = ["WheelConfig", "WheelSource", "pack_tree", "read_config", "recipe_for",
           "source_kind", "with_config"]

# folders and files of a tree that are never part of an sdist
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox",
                        "node_modules", "build", "dist", ".pytest_cache", ".mypy_cache",
                        ".ruff_cache", ".eggs", ".pyodist-work"})
_SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".o", ".a", ".whl")
_CONFIG_KEYS = {"cflags": str, "cxxflags": str, "ldflags": str, "exports": str,
                "host-requires": list, "imports": list}
_RUST_BACKENDS = frozenset({"maturin", "setuptools-rust"})
_SDIST = re.compile(r".*\.(?:tar\.gz|tgz|tar\.bz2|tar\.xz|zip)\Z")
# a distribution name (PEP 508): it becomes a file and folder name, so nothing else passes
_PROJECT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?\Z", re.ASCII)


def checked_name_version(name: object, version: object, where: str) -> tuple[str, str]:
    """``name`` and ``version`` as a package states them, or a clear error: both become
    parts of file names (the packed sdist, the recipe folder, the wheel)."""
    if not isinstance(name, str) or not _PROJECT_NAME.match(name):
        raise UsageError(f"{where}: {str(name)[:80]!r} is not a distribution name (letters, "
                         "digits, '.', '_' and '-', starting and ending with a letter or digit)",
                         hint="fix the package's name")
    try:
        text = str(Version(str(version))) if isinstance(version, str) and \
            len(version) <= 100 else None
    except InvalidVersion:
        text = None
    if text is None or "/" in str(version):
        raise UsageError(f"{where}: {str(version)[:80]!r} is not a PEP 440 version",
                         hint="fix the package's version, e.g. 1.0.2")
    return name, str(version)


@dataclass(frozen=True)
class WheelConfig:
    """What ``[tool.pyodist]`` (or the command line) adds to the generated recipe."""

    cflags: str = ""
    cxxflags: str = ""
    ldflags: str = ""
    exports: str | None = None
    host_requires: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class WheelSource:
    """The sdist a wheel is built from: the archive, its sha256, what it says of itself."""

    archive: Path
    sha256: str
    facts: SourceFacts


def source_kind(text: str, cwd: Path) -> str:
    """``tree``, ``sdist`` or ``index`` for what ``pyodist wheel`` was given."""
    path = (cwd / text)
    if path.is_dir():
        return "tree"
    if path.is_file():
        if not _SDIST.match(path.name):
            raise UsageError(f"{text} is not a source tree or an sdist (.tar.gz, .zip ...)",
                             hint="give the package's folder, its sdist, or NAME==VERSION")
        return "sdist"
    if "/" in text or text.startswith("."):
        raise UsageError(f"{text}: no such file or folder",
                         hint="give the package's folder, its sdist, or NAME==VERSION")
    return "index"


_MAX_PYPROJECT = 4 << 20


def parse_pyproject(text: str, where: Path | None) -> dict[str, Any]:
    """A pyproject.toml's text, parsed; a clear error for what is not valid or too big."""
    if len(text) > _MAX_PYPROJECT:
        raise ConfigError.single("is over 4 MiB, too big for a pyproject.toml", file=where,
                                 hint="check that this is the package's pyproject.toml")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError.single(f"not valid TOML ({exc})", file=where,
                                 hint="fix the line named") from None
    except RecursionError:
        raise ConfigError.single("not readable: nested too deeply", file=where,
                                 hint="fix the file") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ConfigError.single(f"not readable ({exc})", file=where,
                                 hint="fix the file") from None


def _read_pyproject(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            raw = fh.read(_MAX_PYPROJECT + 1)
    except OSError as exc:
        raise ConfigError.single(f"cannot be read ({exc.strerror})", file=path,
                                 hint="check the file") from None
    return parse_pyproject(raw.decode("utf-8", "replace"), path)


def read_config(pyproject: Path | None) -> WheelConfig:
    """``[tool.pyodist]`` of a pyproject.toml (empty config when there is none)."""
    if pyproject is None or not pyproject.is_file():
        return WheelConfig()
    data = _read_pyproject(pyproject)
    tool = data.get("tool", {})
    table = tool.get("pyodist", {}) if isinstance(tool, dict) else {}
    return config_from_table(table, pyproject)


def config_from_table(table: object, file: Path | None) -> WheelConfig:
    if not isinstance(table, dict):
        raise ConfigError.single("must be a table", file=file, key="tool.pyodist",
                                 hint="write it as [tool.pyodist]")
    problems = []
    for key, value in table.items():
        want = _CONFIG_KEYS.get(key)
        if want is None:
            problems.append(Problem(file=file, key=f"tool.pyodist.{key}",
                                    message="is not a known key",
                                    hint=f"known keys: {', '.join(sorted(_CONFIG_KEYS))}"))
        elif not isinstance(value, want) or (
                want is list and not all(isinstance(v, str) for v in value)):
            kind = "a string" if want is str else "a list of strings"
            problems.append(Problem(file=file, key=f"tool.pyodist.{key}",
                                    message=f"must be {kind}", hint=None))
    exports = table.get("exports")
    if isinstance(exports, str) and exports not in EXPORT_KINDS:
        problems.append(Problem(file=file, key="tool.pyodist.exports",
                                message=f"unknown exports kind {exports!r}",
                                hint=f"use one of {', '.join(EXPORT_KINDS)}"))
    if problems:
        raise ConfigError(problems)
    return WheelConfig(
        cflags=table.get("cflags", ""), cxxflags=table.get("cxxflags", ""),
        ldflags=table.get("ldflags", ""), exports=table.get("exports"),
        host_requires=tuple(table.get("host-requires", ())),
        imports=tuple(table.get("imports", ())))


def _git_files(tree: Path) -> list[str] | None:
    """The files git tracks or would track in ``tree`` (None: not a git work tree)."""
    if not (tree / ".git").exists():
        return None
    try:
        proc = run(["git", "-C", str(tree), "ls-files", "-z", "--cached", "--others",
                    "--exclude-standard"], timeout=120)
    except ToolchainError:  # no git, or it hung: the tree is walked instead
        return None
    if not proc.ok:
        return None
    return [n for n in proc.stdout.split("\0") if n]


def _walk(tree: Path) -> Iterator[str]:
    for root, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for name in files:
            if not name.endswith(_SKIP_SUFFIXES):
                yield (Path(root) / name).relative_to(tree).as_posix()


def pack_tree(tree: Path, out_dir: Path, *, name: str, version: str, epoch: int) -> Path:
    """``tree`` as ``NAME-VERSION.tar.gz`` in ``out_dir``: sorted members, fixed times and
    owners, so that the bytes (and the recipe's sha256) depend on the files alone."""
    listed = _git_files(tree)
    names = sorted(set(listed if listed is not None else _walk(tree)))
    top = f"{name}-{version}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in names:
            path = tree / rel
            if path.is_symlink() or not path.is_file():
                continue  # links and deleted-but-tracked files: an sdist has neither
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = path.stat().st_size
            info.mtime = epoch
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with path.open("rb") as data:
                tar.addfile(info, data)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{top}.tar.gz"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                              compresslevel=9) as gz:
        gz.write(buffer.getvalue())
    os.replace(tmp, out)
    return out


def tree_name_version(tree: Path) -> tuple[str, str]:
    """The ``[project]`` name and version a source tree states, or a clear error."""
    pyproject = tree / "pyproject.toml"
    if not pyproject.is_file():
        if (tree / "setup.py").is_file():
            raise UsageError(
                f"{tree} has a setup.py but no pyproject.toml with [project] name and version",
                hint="add them to pyproject.toml, or build an sdist first (python -m build "
                     "--sdist) and give pyodist wheel that file")
        raise UsageError(f"{tree} is not a Python project (no pyproject.toml or setup.py)",
                         hint="give the folder that holds the package's pyproject.toml")
    data = _read_pyproject(pyproject)
    found = data.get("project")
    project: dict[str, Any] = found if isinstance(found, dict) else {}
    name, version = project.get("name"), project.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        missing = "name" if not isinstance(name, str) else "version"
        raise ConfigError.single(
            f"[project] {missing} is not stated{' (it is dynamic)' if missing in project.get('dynamic', []) else ''}",  # noqa: E501
            file=pyproject, key=f"project.{missing}",
            hint="state it in pyproject.toml, or build an sdist first (python -m build "
                 "--sdist) and give pyodist wheel that file")
    return checked_name_version(name, version, str(pyproject))


def inspect_sdist(archive: Path) -> WheelSource:
    digest = sha256_file(archive)
    facts = inspect_source(archive, filename=archive.name, kind="sdist",
                           project=archive.name.split("-")[0])
    return WheelSource(archive, digest, facts)


def refuse_unbuildable(facts: SourceFacts, what: str) -> None:
    """What this toolchain cannot build, said before anything runs."""
    if facts.languages.get("Rust") or _RUST_BACKENDS & set(facts.build_requires):
        raise UsageError(
            f"{what} compiles Rust, which the toolchain cannot build for "
            "wasm32-unknown-emscripten (no Rust standard library for that target)",
            hint="take the project's published Pyodide wheel (pip download --platform "
                 "pyemscripten_<abi>_wasm32 ...), or index-packages in pyodist.toml")
    if not facts.version:
        raise UsageError(f"{what} states no version (no PKG-INFO, no static [project] version)",
                         hint="build it into an sdist first (python -m build --sdist)")
    checked_name_version(facts.name, facts.version, what)


def recipe_for(source: WheelSource, config: WheelConfig, *, url: str) -> dict[str, Any]:
    """The recipe a package needs to be built by the engine, as a meta.yaml mapping."""
    facts = source.facts
    if numpy_headers_needed(facts) and "numpy" not in config.host_requires:
        config = dataclasses.replace(config, host_requires=(*config.host_requires, "numpy"))
    recipe: dict[str, Any] = {
        "package": {"name": canonical_name(facts.name), "version": facts.version},
        "source": {"url": url, "sha256": source.sha256},
    }
    if facts.top_level:
        recipe["package"]["top-level"] = list(facts.top_level)
    return with_config(recipe, config)


def with_config(recipe: dict[str, Any], config: WheelConfig) -> dict[str, Any]:
    """``recipe`` (a meta.yaml mapping, changed in place) with ``config``'s build flags,
    exports, host requirements and imports added."""
    build: dict[str, Any] = recipe.get("build") or {}
    for key, value in (("cflags", config.cflags), ("cxxflags", config.cxxflags),
                       ("ldflags", config.ldflags)):
        if value:
            build[key] = value
    if config.exports:
        build["exports"] = config.exports
    if build:
        recipe["build"] = build
    existing = (recipe.get("requirements") or {}).get("host") or []
    host = [h for h in dict.fromkeys(config.host_requires) if h not in existing]
    if host:
        recipe.setdefault("requirements", {}).setdefault("host", []).extend(host)
    if config.imports:
        recipe["test"] = {"imports": list(config.imports)}
    return recipe


def write_recipe(folder: Path, recipe: Mapping[str, Any]) -> Path:
    path = folder / str(recipe["package"]["name"]) / "meta.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by pyodist wheel\n" + yaml.safe_dump(dict(recipe),
                                                                     sort_keys=False))
    return path
