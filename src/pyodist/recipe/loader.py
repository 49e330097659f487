"""Read ``meta.yaml`` files into :class:`~pyodist.recipe.spec.Recipe` objects.

The YAML is composed into nodes first (libyaml when available), so every problem can point
at the line and column of the key that caused it. All problems in one file are collected and
raised together as one :class:`~pyodist.errors.RecipeError`, so a recipe author fixes a file
in one pass instead of one error per run.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from pyodist.errors import Problem, RecipeError
from pyodist.recipe.spec import (
    BUILD_TYPES,
    DEBIAN_SCHEME,
    EXPORT_KINDS,
    PYPI_SCHEME,
    AboutSpec,
    BuildSpec,
    ExtraArchive,
    PackageSpec,
    Recipe,
    RequirementsSpec,
    SourceSpec,
    TestSpec,
    canonical_name,
    cross_field_problems,
)

__all__ = ["RECIPE_FILE", "LoadResult", "find_recipe_files", "load_recipe", "load_recipe_dirs"]

RECIPE_FILE = "meta.yaml"

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"

_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_LIB_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_~-]*$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_URL_RE = re.compile(r"^(https?|file)://\S+$")
_PYPI_RE = re.compile(r"^pypi:([A-Za-z0-9][A-Za-z0-9._-]*)/([^/\s]+)$")
# Debian source package names: lowercase letters, digits, + - . (Debian policy 5.6.1)
_DEBIAN_RE = re.compile(r"^debian:([a-z0-9][a-z0-9+.-]+)/([^/\s]+)$")
_TAG_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class _Bad(Exception):
    """A value failed a check; carries the message and the fix."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# -- converters: (node) -> python value, raising _Bad ------------------------------------

def _scalar_text(node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag in (_BOOL_TAG, _NULL_TAG):
        raise _Bad(f"expected {what}, got {_describe(node)}", f"write {what} here")
    # The raw text, so `version: 1.10` stays "1.10" instead of the float 1.1.
    return str(node.value)


def _to_str(node: yaml.Node) -> str:
    return _scalar_text(node, "a string")


def _to_bool(node: yaml.Node) -> bool:
    if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL_TAG:
        return node.value.lower() in ("true", "yes", "on")
    raise _Bad(f"expected true or false, got {_describe(node)}", "write true or false")


def _to_str_list(node: yaml.Node) -> tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode):
        example = node.value if isinstance(node, yaml.ScalarNode) else "..."
        raise _Bad(
            f"expected a list of strings, got {_describe(node)}",
            f"write it as a list, e.g. [{example}]",
        )
    return tuple(_scalar_text(item, "a string") for item in node.value)


def _to_extras(node: yaml.Node) -> tuple[tuple[str, str], ...]:
    hint = "write each extra as [file-in-recipe-folder, destination-in-source-tree]"
    if not isinstance(node, yaml.SequenceNode):
        raise _Bad(f"expected a list of pairs, got {_describe(node)}", hint)
    pairs = []
    for item in node.value:
        if not isinstance(item, yaml.SequenceNode) or len(item.value) != 2:
            raise _Bad(f"expected a pair [from, to], got {_describe(item)}", hint)
        pairs.append((_to_str(item.value[0]), _to_str(item.value[1])))
    return tuple(pairs)


_ARCHIVE_KEYS = ("url", "sha256", "dest", "subdir")


def _to_extra_archives(node: yaml.Node) -> tuple[ExtraArchive, ...]:
    hint = ("write each as a mapping with 'url', 'sha256', 'dest' (folder in the source tree) "
            "and optionally 'subdir' (folder inside the archive)")
    if not isinstance(node, yaml.SequenceNode):
        raise _Bad(f"expected a list of archives, got {_describe(node)}", hint)
    found = []
    for item in node.value:
        if not isinstance(item, yaml.MappingNode):
            raise _Bad(f"expected a mapping, got {_describe(item)}", hint)
        fields: dict[str, str] = {}
        for key_node, value_node in item.value:
            key = _scalar_text(key_node, "a key")
            if key not in _ARCHIVE_KEYS:
                raise _Bad(f"unknown key {_short(key)} in an extra archive", hint)
            fields[key] = _to_str(value_node)
        missing = [k for k in ("url", "sha256", "dest") if k not in fields]
        if missing:
            raise _Bad(f"an extra archive lacks {', '.join(missing)}", hint)
        problem = _url_problem(fields["url"])
        if problem is not None:
            raise _Bad(*problem)
        if not _SHA256_RE.match(fields["sha256"]):
            raise _Bad(f"not a sha256 digest: {_short(fields['sha256'])}",
                       "write the 64 lowercase hex digits that sha256sum prints")
        for key in ("dest", "subdir"):
            value = fields.get(key)
            if value is not None and not _relative_inside(value):
                raise _Bad(f"{key} {_short(value)} must be a relative folder that stays inside "
                           "the tree", f"write '{key}' like 'lapack-netlib' or 'src/lib'")
        found.append(ExtraArchive(**fields))
    return tuple(found)


def _relative_inside(value: str) -> bool:
    parts = value.replace("\\", "/").split("/")
    return bool(value) and "\0" not in value and not value.startswith("/") and all(
        p not in ("", "..") for p in parts if p != ".") and value.strip("./") != ""


def _url_problem(url: str) -> tuple[str, str] | None:
    """Why ``url`` is not a usable source address (message, hint); None if it is."""
    if url.startswith(PYPI_SCHEME):
        if not _PYPI_RE.match(url):
            return (f"malformed index source {_short(url)}",
                    "write it as 'pypi:PROJECT/FILENAME', e.g. 'pypi:six/six-1.16.0.tar.gz'")
    elif url.startswith(DEBIAN_SCHEME):
        if not _DEBIAN_RE.match(url):
            return (f"malformed Debian source {_short(url)}",
                    "write it as 'debian:SOURCE-PACKAGE/FILENAME', e.g. "
                    "'debian:zlib/zlib_1.3.1.orig.tar.gz'")
    elif not _URL_RE.match(url):
        return (f"unsupported URL {_short(url)}",
                "use an http(s):// or file:// URL, 'pypi:PROJECT/FILENAME' or "
                "'debian:SOURCE-PACKAGE/FILENAME'")
    return None


def _to_exports(node: yaml.Node) -> str | tuple[str, ...]:
    if isinstance(node, yaml.SequenceNode):
        return _to_str_list(node)
    value = _to_str(node)
    if value not in EXPORT_KINDS:
        raise _Bad(
            f"unknown exports kind {value!r}",
            f"use one of {', '.join(EXPORT_KINDS)}, or a list of symbol names",
        )
    return value


def _to_build_type(node: yaml.Node) -> str:
    value = _to_str(node)
    if value not in BUILD_TYPES:
        raise _Bad(f"unknown build type {value!r}", f"use one of {', '.join(BUILD_TYPES)}")
    return value


Converter = Callable[[yaml.Node], Any]

# section -> yaml key -> (attribute, converter)
_SCHEMA: dict[str, dict[str, tuple[str, Converter]]] = {
    "package": {
        "name": ("name", _to_str),
        "version": ("version", _to_str),
        "tag": ("tag", _to_str_list),
        "top-level": ("top_level", _to_str_list),
        "_disabled": ("disabled", _to_bool),
        "pinned": ("pinned", _to_bool),
        "variant-of": ("variant_of", _to_str),
    },
    "source": {
        "url": ("url", _to_str),
        "sha256": ("sha256", _to_str),
        "path": ("path", _to_str),
        "extract_dir": ("extract_dir", _to_str),
        "patches": ("patches", _to_str_list),
        "extras": ("extras", _to_extras),
        "extra-archives": ("extra_archives", _to_extra_archives),
    },
    "build": {
        "type": ("type", _to_build_type),
        "script": ("script", _to_str),
        "post": ("post", _to_str),
        "cross-script": ("cross_script", _to_str),
        "cflags": ("cflags", _to_str),
        "cxxflags": ("cxxflags", _to_str),
        "ldflags": ("ldflags", _to_str),
        "backend-flags": ("backend_flags", _to_str),
        "exports": ("exports", _to_exports),
        "unvendor-tests": ("unvendor_tests", _to_bool),
        "_retain-test-patterns": ("retain_test_patterns", _to_str_list),
        "vendor-sharedlib": ("vendor_sharedlib", _to_bool),
        "cross-build-env": ("cross_build_env", _to_bool),
        "cross-build-files": ("cross_build_files", _to_str_list),
    },
    "requirements": {
        "run": ("run", _to_str_list),
        "host": ("host", _to_str_list),
        "executable": ("executable", _to_str_list),
        "constraint": ("constraint", _to_str_list),
        "build-extras": ("build_extras", _to_str_list),
    },
    "test": {"imports": ("imports", _to_str_list)},
    "about": {
        "home": ("home", _to_str),
        "PyPI": ("PyPI", _to_str),
        "summary": ("summary", _to_str),
        "license": ("license", _to_str),
    },
}
_SECTIONS = (*_SCHEMA, "extra")
_REQUIRED = {"package": ("name", "version")}


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    kind = {
        _BOOL_TAG: "a boolean", _NULL_TAG: "nothing (null)", _INT_TAG: "a number",
        _FLOAT_TAG: "a number",
    }.get(node.tag, "a string")
    return f"{kind} ({_short(node.value)})" if node.tag != _NULL_TAG else kind


def _short(text: str, limit: int = 60) -> str:
    """repr() cut to ``limit`` characters, so a 1 MB value does not flood the message."""
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[:limit]}...(+{len(shown) - limit} chars)"


def _did_you_mean(key: str, allowed: Iterable[str]) -> str:
    options = sorted(allowed)
    close = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
    known = ", ".join(options)
    if close:
        return f"did you mean {close[0]!r}? (allowed: {known})"
    return f"remove it (allowed: {known})"


class _FileChecker:
    """Collects problems for one file while converting its node tree."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.marks: dict[str, tuple[int, int]] = {}

    def add(self, key: str | None, message: str, hint: str | None, node: yaml.Node | None) -> None:
        line = column = None
        if node is not None:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
        elif key is not None:
            line, column = self._nearest_mark(key)
        self.problems.append(Problem(self.path, key, message, hint, line, column))

    def _nearest_mark(self, key: str) -> tuple[int | None, int | None]:
        while key:
            if key in self.marks:
                return self.marks[key]
            key = key.rpartition("/")[0]
        return None, None

    def mapping(self, node: yaml.Node, key: str) -> list[tuple[str, yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            what = "the file" if not key else f"'{key}'"
            self.add(key or None, f"expected {what} to be a mapping, got {_describe(node)}",
                     "write 'key: value' lines under it", node)
            return None
        items: list[tuple[str, yaml.Node, yaml.Node]] = []
        seen: set[str] = set()
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                # `? [a, b]` or `{x: 1}: y` - a complex key; str() of it would be node reprs.
                self.add(key or None, f"expected a plain name as a key, got {_describe(knode)}",
                         "write keys as plain names, e.g. 'name: value'", knode)
                continue
            name = str(knode.value)
            path = f"{key}/{name}" if key else name
            if name in seen:
                self.add(path, "duplicate key", "keep only one of them", knode)
                continue
            seen.add(name)
            self.marks[path] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            items.append((name, knode, vnode))
        return items


# `extra` is free-form, but it ends up as JSON inside the recipe's digest; aliases make a small
# file expand exponentially (`&a [*b, *b]` chains) or refer to itself, so both are bounded.
_EXTRA_MAX_VALUES = 100_000
_EXTRA_MAX_DEPTH = 64


def _check_extra_shape(node: yaml.Node) -> None:
    """Refuse an ``extra`` whose aliases expand too far, nest too deep or loop."""
    stack: list[tuple[yaml.Node, int]] = [(node, 1)]
    count = 0
    while stack:
        current, depth = stack.pop()
        count += 1
        if count > _EXTRA_MAX_VALUES:
            raise _Bad(f"expands to more than {_EXTRA_MAX_VALUES} values (through aliases?)",
                       "write the values out, without '*alias' references to itself or chains")
        if depth > _EXTRA_MAX_DEPTH:
            raise _Bad(f"is nested more than {_EXTRA_MAX_DEPTH} levels deep (or an alias refers "
                       "to itself)",
                       "flatten it; 'extra' is meant for short notes such as recipe-maintainers")
        if isinstance(current, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in current.value)
        elif isinstance(current, yaml.MappingNode):
            for knode, vnode in current.value:
                stack.extend(((knode, depth + 1), (vnode, depth + 1)))


def _json_ready(value: Any) -> Any:
    """Keys as json.dumps would write them, so mixed key types sort; other values kept."""
    if isinstance(value, dict):
        return {_json_key(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def _json_key(key: Any) -> str:
    # the spelling json.dumps uses for the key types it accepts: 1 -> "1", True -> "true"
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    return str(key)


def _construct_extra(node: yaml.Node) -> str:
    """``extra`` as canonical JSON text, or _Bad naming what cannot be read."""
    _check_extra_shape(node)
    try:
        value = yaml.constructor.SafeConstructor().construct_object(node, deep=True)
    # SafeConstructor lets bad tagged scalars through raw: `!!int x` is a ValueError,
    # `!!timestamp x` an AttributeError, `!!bool x` a KeyError; a 5000-digit int a ValueError;
    # an empty `!!int ""` or `!!float ""` an IndexError.
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError,
            IndexError) as exc:
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["?"])[0]
        raise _Bad(f"cannot read the value: {problem}",
                   "use plain strings, numbers, lists and mappings (no '!!' tags)") from None
    value = value or {}
    if not isinstance(value, dict):
        raise _Bad("expected a mapping", "write 'key: value' lines under it")
    try:
        return json.dumps(_json_ready(value), sort_keys=True, default=str)
    except (TypeError, ValueError) as exc:
        raise _Bad(f"cannot be stored as JSON: {exc}",
                   "use plain strings, numbers, lists and mappings") from None


def _compose(path: Path, text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or exc.context or "invalid YAML"
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise RecipeError([Problem(
            path, None, f"invalid YAML: {detail}",
            "fix the YAML syntax at this position (check indentation and quoting)",
            line, column,
        )]) from None
    except yaml.YAMLError as exc:
        raise RecipeError([Problem(path, None, f"invalid YAML: {exc}", "fix the YAML syntax")])\
            from None


def _check_values(chk: _FileChecker, section: str, values: dict[str, Any],
                  nodes: dict[str, yaml.Node], folder: Path) -> None:
    """Per-field rules that need only the field itself (and the recipe folder)."""

    def bad(key: str, message: str, hint: str) -> None:
        chk.add(f"{section}/{key}", message, hint, nodes.get(key))
        values.pop(key, None)

    if section == "package":
        name = values.get("name")
        if name is not None and not _NAME_RE.match(name):
            bad("name", f"invalid package name {name!r}",
                "use letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
        variant_of = values.get("variant_of")
        if variant_of is not None and not _NAME_RE.match(variant_of):
            chk.add("package/variant-of", f"{_short(variant_of)} is not a recipe name",
                    "name the recipe this one is a variant of, e.g. 'variant-of: numpy'",
                    nodes.get("variant_of"))
            values.pop("variant_of")
        for tag in values.get("tag", ()):
            if not _TAG_RE.match(tag):
                bad("tag", f"invalid tag {tag!r}", "use letters, digits, '-' and '_'")
    elif section == "source":
        url = values.get("url")
        problem = _url_problem(url) if url is not None else None
        if problem is not None:
            bad("url", *problem)
        sha = values.get("sha256")
        if sha is not None and not _SHA256_RE.match(sha):
            bad("sha256", f"not a sha256 digest: {sha!r}",
                "write the 64 lowercase hex digits that sha256sum prints")
        for key, name in [("patches", p) for p in values.get("patches", ())] + \
                [("extras", src) for src, _dst in values.get("extras", ())]:
            if not _inside_folder(folder, name):
                bad(key, f"{name!r} points outside the recipe folder {folder}",
                    "keep patches and extra files in the recipe folder and write their path "
                    "relative to it (e.g. patches/fix.patch)")
            elif not (folder / name).is_file() and not (key == "extras"
                                                         and (folder / name).exists()):
                what = "patch file" if key == "patches" else "extra file"
                bad(key, f"{what} {name!r} not found in {folder}",
                    "add the file beside meta.yaml or fix the path (relative to the recipe folder)")
        raw_path = values.get("path")
        if raw_path is not None:
            try:
                values["path"] = (folder / raw_path).resolve()
            except (OSError, ValueError, RuntimeError) as exc:  # NUL byte, symlink loop
                bad("path", f"unusable source path {_short(raw_path)}: {exc}",
                    "write a folder path relative to the recipe folder, e.g. '../src'")
    elif section == "requirements":
        for key in ("run", "host"):
            for dep in values.get(key, ()):
                if not _NAME_RE.match(dep):
                    bad(key, f"{dep!r} is not a recipe name",
                        "list recipe names only (versions come from the recipes themselves)")
    elif section == "test":
        for mod in values.get("imports", ()):
            if not _MODULE_RE.match(mod):
                bad("imports", f"{mod!r} is not an importable module name",
                    "list dotted module names, e.g. 'numpy.linalg'")


def _check_version(chk: _FileChecker, version: str, build_type: str,
                   node: yaml.Node | None) -> None:
    if build_type in ("package", "cpython_module"):
        try:
            Version(version)
        except InvalidVersion:
            chk.add("package/version", f"{version!r} is not a valid PEP 440 version",
                    "use a version such as 1.2.3, 2.0rc1 or 1.0.post1", node)
    elif not _LIB_VERSION_RE.match(version):
        chk.add("package/version", f"{version!r} is not a valid library version",
                "use letters, digits and . + _ ~ -", node)


def _inside_folder(folder: Path, name: str) -> bool:
    """``name`` is a relative path that stays in ``folder`` (symlinks resolved)."""
    if not name or "\0" in name or Path(name).is_absolute():
        return False
    try:
        return (folder / name).resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def parse_recipe(path: Path, text: str) -> Recipe:
    """Validate ``text`` as the recipe at ``path``; raise RecipeError with every problem."""
    chk = _FileChecker(path)
    root = _compose(path, text)
    if root is None:
        raise RecipeError([Problem(path, None, "the file is empty",
                                   "write at least 'package: {name: ..., version: ...}'")])
    top = chk.mapping(root, "")
    if top is None:
        raise RecipeError(chk.problems)

    sections: dict[str, dict[str, Any]] = {name: {} for name in _SCHEMA}
    section_nodes: dict[str, dict[str, yaml.Node]] = {name: {} for name in _SCHEMA}
    build_keys: set[str] = set()
    extra = "{}"
    for sname, knode, vnode in top:
        if sname == "extra":
            try:
                extra = _construct_extra(vnode)
            except _Bad as exc:
                chk.add("extra", exc.message, exc.hint, vnode)
            continue
        if sname not in _SCHEMA:
            chk.add(sname, "unknown section", _did_you_mean(sname, _SECTIONS), knode)
            continue
        if isinstance(vnode, yaml.ScalarNode) and vnode.tag == _NULL_TAG:
            continue  # an empty section, e.g. `test:` with nothing under it
        items = chk.mapping(vnode, sname)
        for key, kn, vn in items or ():
            spec = _SCHEMA[sname].get(key)
            if spec is None:
                chk.add(f"{sname}/{key}", "unknown key", _did_you_mean(key, _SCHEMA[sname]), kn)
                continue
            attr, convert = spec
            if sname == "build":
                build_keys.add(key)
            try:
                sections[sname][attr] = convert(vn)
                section_nodes[sname][attr] = vn
            except _Bad as exc:
                chk.add(f"{sname}/{key}", exc.message, exc.hint, vn)

    for sname, required in _REQUIRED.items():
        for key in required:
            if key not in sections[sname] and not any(
                p.key == f"{sname}/{key}" for p in chk.problems
            ):
                chk.add(f"{sname}/{key}", "missing required key",
                        f"add '{key}:' under '{sname}'", None)
    for sname in _SCHEMA:
        _check_values(chk, sname, sections[sname], section_nodes[sname], path.parent)
    if "version" in sections["package"]:
        _check_version(chk, sections["package"]["version"],
                       sections["build"].get("type", "package"),
                       section_nodes["package"].get("version"))

    if chk.problems:
        raise RecipeError(chk.problems)

    recipe = Recipe(
        path=path,
        package=PackageSpec(**sections["package"]),
        source=SourceSpec(**sections["source"]),
        build=BuildSpec(**sections["build"]),
        requirements=RequirementsSpec(**sections["requirements"]),
        test=TestSpec(**sections["test"]),
        about=AboutSpec(**sections["about"]),
        extra_json=extra,
    )
    for key, message, hint in cross_field_problems(
        recipe, folder_name=path.parent.name, build_keys=frozenset(build_keys),
    ):
        chk.add(key, message, hint, None)
    if chk.problems:
        raise RecipeError(chk.problems)
    return recipe


def load_recipe(path: Path) -> Recipe:
    """Load one ``meta.yaml`` (or a recipe folder containing one)."""
    if path.is_dir():
        path = path / RECIPE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError([Problem(
            path, None, "file not found", "create it, or point at a folder that has a meta.yaml",
        )]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError([Problem(path, None, f"cannot read the file: {exc}",
                                   "check the file's permissions and that it is UTF-8 text")])\
            from None
    return parse_recipe(path, text)


def find_recipe_files(directory: Path) -> Iterator[Path]:
    """``<dir>/<name>/meta.yaml`` for each recipe folder, sorted by folder name."""
    for child in sorted(directory.iterdir()):
        candidate = child / RECIPE_FILE
        if candidate.is_file():
            yield candidate


@dataclass(frozen=True)
class LoadResult:
    """Every recipe found in a stack of directories, and every file that failed."""

    recipes: dict[str, Recipe]
    errors: dict[Path, RecipeError]
    # canonical name -> the earlier recipe files it replaced (later directories win)
    overridden: dict[str, tuple[Path, ...]]

    def raise_errors(self) -> None:
        if self.errors:
            raise RecipeError([p for err in self.errors.values() for p in err.problems])


def load_recipe_dirs(directories: Sequence[Path]) -> LoadResult:
    """Load recipe directories in order; a recipe in a later directory replaces an earlier one."""
    recipes: dict[str, Recipe] = {}
    errors: dict[Path, RecipeError] = {}
    overridden: dict[str, list[Path]] = {}
    for directory in directories:
        if not directory.is_dir():
            errors[directory] = RecipeError([Problem(
                directory, None, "recipe directory not found",
                "create it, or pass an existing directory",
            )])
            continue
        in_this_dir: dict[str, Path] = {}
        for meta in find_recipe_files(directory):
            try:
                recipe = load_recipe(meta)
            except RecipeError as exc:
                errors[meta] = exc
                continue
            key = canonical_name(recipe.name)
            if key in in_this_dir:
                errors[meta] = RecipeError([Problem(
                    meta, "package/name",
                    f"{recipe.name!r} is also defined by {in_this_dir[key]}",
                    "keep one recipe per package in a directory",
                )])
                continue
            in_this_dir[key] = meta
            if key in recipes:
                overridden.setdefault(key, []).append(recipes[key].path)
            recipes[key] = recipe
    return LoadResult(
        recipes={r.name: r for r in sorted(recipes.values(), key=lambda r: canonical_name(r.name))},
        errors=errors,
        overridden={k: tuple(v) for k, v in overridden.items()},
    )
