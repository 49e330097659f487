"""What a source archive tells a new recipe: metadata, import names, native code, build needs.

Everything is read from the archive's listing and a handful of small files (``PKG-INFO`` or
``METADATA``, ``*.egg-info/requires.txt`` and ``top_level.txt``, ``pyproject.toml``,
``setup.py``, ``meson.build``); nothing in the archive is executed.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.parser import Parser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from pyodist.recipe.spec import canonical_name
from pyodist.sources.extract import ArchiveListing, list_archive

__all__ = [
    "LANGUAGES", "SourceFacts", "inspect_source", "numpy_headers_needed", "parse_requires_txt",
]

# suffix -> language; "Cargo.toml" marks Rust too
LANGUAGES: Mapping[str, str] = {
    ".c": "C", ".h": "C",
    ".cpp": "C++", ".cc": "C++", ".cxx": "C++", ".hpp": "C++", ".hh": "C++", ".hxx": "C++",
    ".pyx": "Cython", ".pxd": "Cython",
    ".rs": "Rust",
    ".f": "Fortran", ".f90": "Fortran", ".f95": "Fortran", ".f77": "Fortran", ".for": "Fortran",
}
# Folders whose code is not part of the built package (tests, docs, examples, CI helpers).
_NOT_SHIPPED = frozenset({
    "test", "tests", "testing", "doc", "docs", "documentation", "example", "examples",
    "benchmark", "benchmarks", "bench", "asv_bench", "ci", ".github", "tools", "scripts",
    "build", "dist", "_build", "site-packages",
})
# Root-level modules that are build tooling, not the package.
_TOOL_MODULES = frozenset({
    "setup", "conftest", "noxfile", "tasks", "fabfile", "versioneer", "ez_setup",
    "distribute_setup", "bootstrap", "runtests", "run_tests", "manage", "build", "hatch_build",
    "build_backend", "_build", "pavement", "setupext", "__init__", "__main__",
})
_EXTENSION_RE = re.compile(r"""Extension\(\s*(?:name\s*=\s*)?["']([A-Za-z_][\w.]*)["']""")
_MESON_EXT_RE = re.compile(r"""extension_module\(\s*['"]([A-Za-z_]\w*)['"]""")
# build requirements that mean "compiles against numpy's C headers"
_NUMPY_BUILD = frozenset({"numpy", "oldest-supported-numpy"})


@dataclass(frozen=True)
class SourceFacts:
    name: str
    version: str
    summary: str | None = None
    license: str | None = None
    home: str | None = None
    # Requires-Dist lines; None when the archive does not state them statically
    requires_dist: tuple[str, ...] | None = None
    requires_from: str = "none"  # which file the requirements came from
    top_level: tuple[str, ...] = ()
    # language -> number of source files (tests, docs and examples not counted)
    languages: Mapping[str, int] = field(default_factory=dict)
    build_requires: tuple[str, ...] = ()
    build_backend: str | None = None
    # compiled modules found (setup.py Extension names, .pyx files in the packages)
    extensions: tuple[str, ...] = ()

    @property
    def native(self) -> bool:
        return bool(self.languages)


def _wanted(name: str) -> bool:
    parts = name.split("/")
    base = parts[-1]
    if len(parts) <= 3 and (base in ("PKG-INFO", "METADATA", "requires.txt", "top_level.txt")
                            and (len(parts) == 1 or parts[-2].endswith((".egg-info",
                                                                        ".dist-info")))):
        return True
    if base.endswith(".pyx"):
        return True  # for Cython `include` lines
    return len(parts) == 1 and base in ("pyproject.toml", "setup.py", "meson.build")


def _text(listing: ArchiveListing, name: str) -> str | None:
    data = listing.contents.get(name)
    return None if data is None else data.decode("utf-8", "replace")


def parse_requires_txt(text: str) -> list[str]:
    """setuptools' ``requires.txt`` as Requires-Dist lines (extras sections dropped)."""
    out: list[str] = []
    marker: str | None = None
    skip = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            extra, _, cond = line[1:-1].partition(":")
            skip = bool(extra.strip())
            marker = cond.strip() or None
            continue
        if not skip:
            out.append(f"{line}; {marker}" if marker else line)
    return out


_LICENSE_CLASSIFIERS = {
    "MIT License": "MIT", "MIT No Attribution License (MIT-0)": "MIT-0",
    "Apache Software License": "Apache-2.0", "BSD License": "BSD-3-Clause",
    "ISC License (ISCL)": "ISC", "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "The Unlicense (Unlicense)": "Unlicense", "Zope Public License": "ZPL-2.1",
}


def _license(meta: Message) -> str | None:
    expression = meta.get("License-Expression")
    if expression:
        return str(expression).strip()
    for classifier in meta.get_all("Classifier") or []:
        if str(classifier).startswith("License :: "):
            short = str(classifier).rsplit(" :: ", 1)[-1]
            if short in _LICENSE_CLASSIFIERS:
                return _LICENSE_CLASSIFIERS[short]
    text = str(meta.get("License") or "").strip()
    # Some projects paste the whole license text here; only a short name is a license id.
    if text and "\n" not in text and len(text) <= 60 and text.upper() != "UNKNOWN":
        return text
    return None


def _home(meta: Message) -> str | None:
    urls: dict[str, str] = {}
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = str(entry).partition(",")
        urls[label.strip().lower().replace(" ", "").replace("-", "")] = url.strip()
    for label in ("homepage", "home", "documentation", "source", "sourcecode", "repository",
                  "code"):
        if urls.get(label):
            return urls[label]
    home = str(meta.get("Home-page") or "").strip()
    return home if home and home.upper() != "UNKNOWN" else None


def _metadata_file(listing: ArchiveListing, kind: str) -> str | None:
    if kind == "wheel":
        return next((n for n in listing.contents if n.endswith(".dist-info/METADATA")
                     and n.count("/") == 1), None)
    if "PKG-INFO" in listing.contents:
        return "PKG-INFO"
    return next((n for n in listing.contents if n.endswith(".egg-info/PKG-INFO")), None)


def _static_requires(meta: Message) -> tuple[str, ...] | None:
    """Requires-Dist when the metadata guarantees it is complete (PEP 643), else None."""
    version = tuple(int(p) for p in re.findall(r"\d+", str(meta.get("Metadata-Version", "1"))))
    dynamic = {str(d).strip().lower() for d in meta.get_all("Dynamic") or []}
    lines = tuple(str(r) for r in meta.get_all("Requires-Dist") or [])
    if version >= (2, 2) and "requires-dist" not in dynamic:
        return lines
    return lines or None


def _pyproject(listing: ArchiveListing) -> dict[str, object]:
    text = _text(listing, "pyproject.toml")
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):  # ValueError: 4300+ digits
        return {}


def _shipped(name: str) -> bool:
    return not any(part in _NOT_SHIPPED for part in name.split("/")[:-1])


def _languages(listing: ArchiveListing, build_requires: tuple[str, ...]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for name in listing.files:
        if not _shipped(name):
            continue
        base = name.rsplit("/", 1)[-1]
        suffix = "." + base.rsplit(".", 1)[-1].lower() if "." in base else ""
        language = LANGUAGES.get(suffix)
        if language:
            counts[language] += 1
        elif base == "Cargo.toml":  # a Rust crate even before its .rs files are counted
            counts.setdefault("Rust", 0)
    if any(canonical_name(r) in ("maturin", "setuptools-rust") for r in build_requires):
        counts.setdefault("Rust", 0)
    return dict(sorted(counts.items()))


def _identifier(name: str) -> bool:
    return name.isidentifier() and name not in _NOT_SHIPPED


def _top_level(listing: ArchiveListing, kind: str, project: str) -> tuple[str, ...]:
    files = listing.files
    if kind == "wheel":
        listed = next((n for n in listing.contents if n.endswith(".dist-info/top_level.txt")),
                      None)
        if listed:
            return tuple(sorted({n.split("/")[0] for n in (_text(listing, listed) or "").split()
                                 if n}))
        tops = set()
        for name in files:
            head = name.split("/", 1)[0]
            if "/" in name:
                if not head.endswith((".dist-info", ".data")) and head.isidentifier():
                    tops.add(head)
            elif head.endswith((".py", ".so")):
                tops.add(head.split(".", 1)[0])
        return tuple(sorted(tops))
    egg = next((n for n in listing.contents if n.endswith(".egg-info/top_level.txt")), None)
    if egg:
        names = {n.split("/")[0] for n in (_text(listing, egg) or "").split() if n}
        names = {n for n in names if _identifier(n) and n not in _TOOL_MODULES}
        if names:
            return tuple(sorted(names))
    wanted = canonical_name(project).replace("-", "_")
    found: set[str] = set()
    for base in ("src/", ""):
        packages: set[str] = set()
        modules: set[str] = set()
        for name in files:
            if not name.startswith(base):
                continue
            rel = name[len(base):].split("/")
            if len(rel) == 2 and rel[1] in ("__init__.py", "__init__.pyi") and _identifier(rel[0]):
                packages.add(rel[0])
            elif len(rel) == 1 and rel[0].endswith((".py", ".pyx")):
                stem = rel[0].rsplit(".", 1)[0]
                if (_identifier(stem) and stem not in _TOOL_MODULES
                        and not stem.startswith("test_") and not stem.endswith("_test")):
                    modules.add(stem)
        if base == "" and packages:
            # beside a package, root modules are usually tooling unless named for the project
            modules = {m for m in modules if m.lower() == wanted}
        found = packages | modules
        if found:
            break
    for source, pattern in (("setup.py", _EXTENSION_RE), ("meson.build", _MESON_EXT_RE)):
        for match in pattern.finditer(_text(listing, source) or ""):
            head = match.group(1).split(".")[0]
            if _identifier(head) and not (found and head not in found and "." in match.group(1)):
                found.add(head)
    return tuple(sorted(found)) or (wanted,)


_INCLUDE_RE = re.compile(r"""^\s*include\s+["']([^"']+)["']""", re.MULTILINE)


def _extensions(listing: ArchiveListing, top_level: tuple[str, ...]) -> tuple[str, ...]:
    """setup.py's Extension names; without them, .pyx files no other .pyx includes."""
    found = {m.group(1) for m in _EXTENSION_RE.finditer(_text(listing, "setup.py") or "")}
    if not found:
        pyx = [n for n in listing.files if n.endswith(".pyx") and _shipped(n)]
        included = {inc.rsplit("/", 1)[-1] for n in pyx
                    for inc in _INCLUDE_RE.findall(_text(listing, n) or "")}
        for name in pyx:
            parts = name.removeprefix("src/").removesuffix(".pyx").split("/")
            if name.rsplit("/", 1)[-1] not in included and all(p.isidentifier() for p in parts):
                found.add(".".join(parts))
    return tuple(sorted(n for n in found if n.split(".")[0] in top_level))


def inspect_source(archive: Path, *, filename: str, kind: str, project: str) -> SourceFacts:
    """Read ``archive`` (an sdist or a wheel) into :class:`SourceFacts`."""
    listing = list_archive(archive, filename=filename, read=_wanted)
    meta_name = _metadata_file(listing, kind)
    meta = Parser().parsestr(_text(listing, meta_name) or "") if meta_name else Message()
    pyproject = _pyproject(listing)
    project_table = pyproject.get("project")
    project_table = project_table if isinstance(project_table, dict) else {}
    build_system = pyproject.get("build-system")
    build_system = build_system if isinstance(build_system, dict) else {}
    build_requires = tuple(str(r) for r in build_system.get("requires", []) or [])
    if not build_system and "setup.py" in listing.files:
        build_requires = ("setuptools",)

    requires = _static_requires(meta) if meta_name else None
    source = meta_name or "none"
    if requires is None:
        egg_requires = next((n for n in listing.contents if n.endswith(".egg-info/requires.txt")),
                            None)
        dynamic = project_table.get("dynamic") or []
        if egg_requires:
            requires, source = tuple(parse_requires_txt(_text(listing, egg_requires) or "")), \
                egg_requires
        elif "dependencies" in project_table and "dependencies" not in dynamic:
            requires = tuple(str(d) for d in project_table.get("dependencies") or [])
            source = "pyproject.toml"
        elif meta_name and not (meta.get_all("Requires-Dist") or []) \
                and "setup.py" not in listing.files:
            requires, source = (), meta_name

    build_names = tuple(_requirement_name(r) for r in build_requires)
    top_level = _top_level(listing, kind, project)
    return SourceFacts(
        name=str(meta.get("Name") or project_table.get("name") or project),
        version=str(meta.get("Version") or project_table.get("version") or ""),
        summary=_one_line(meta.get("Summary") or project_table.get("description")),
        license=_license(meta),
        home=_home(meta),
        requires_dist=requires,
        requires_from=source,
        top_level=top_level,
        languages=_languages(listing, build_names) if kind == "sdist" else {},
        build_requires=build_names,
        build_backend=str(build_system.get("build-backend") or "") or None,
        extensions=_extensions(listing, top_level) if kind == "sdist" else (),
    )


def numpy_headers_needed(facts: SourceFacts) -> bool:
    return any(canonical_name(r) in _NUMPY_BUILD for r in facts.build_requires)


def _requirement_name(text: str) -> str:
    try:
        return canonical_name(Requirement(text).name)
    except InvalidRequirement:
        return canonical_name(re.split(r"[\s<>=!~;\[]", text.strip(), maxsplit=1)[0])


def _one_line(value: object) -> str | None:
    text = " ".join(str(value or "").split())
    return text or None
