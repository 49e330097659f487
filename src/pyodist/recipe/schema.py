"""The keys of Pyodide's ``meta.yaml`` and how each value is read from its YAML node.

Converters take a composed YAML node and return the Python value, or raise :class:`Bad`
with a message and a fix; :mod:`pyodist.recipe.loader` attaches the file, line and key.
``SCHEMA`` maps every section's YAML keys to the attributes of the frozen spec
(:mod:`pyodist.recipe.spec`), so the loader and the pyodide-build recipe writer read one table.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import yaml

from pyodist.recipe.spec import (
    BUILD_TYPES,
    DEBIAN_SCHEME,
    EXPORT_KINDS,
    PYPI_SCHEME,
    ExtraArchive,
)

__all__ = [
    "BOOL_TAG",
    "LIB_VERSION_RE",
    "MODULE_RE",
    "NAME_RE",
    "NULL_TAG",
    "REQUIRED",
    "SCHEMA",
    "SECTIONS",
    "SHA256_RE",
    "TAG_RE",
    "Bad",
    "construct_extra",
    "describe",
    "did_you_mean",
    "relative_inside",
    "short",
    "url_problem",
]

_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"

NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\Z")
LIB_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_~-]*\Z")
SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")
MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_URL_RE = re.compile(r"^(https?|file)://\S+\Z")
_PYPI_RE = re.compile(r"^pypi:([A-Za-z0-9][A-Za-z0-9._-]*)/([^/\s]+)\Z")
# Debian source package names: lowercase letters, digits, + - . (Debian policy 5.6.1)
_DEBIAN_RE = re.compile(r"^debian:([a-z0-9][a-z0-9+.-]+)/([^/\s]+)\Z")
TAG_RE = re.compile(r"^[A-Za-z0-9_-]+\Z")


class Bad(Exception):
    """A value failed a check; carries the message and the fix."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# -- converters: (node) -> python value, raising Bad ------------------------------------

def _scalar_text(node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag in (BOOL_TAG, NULL_TAG):
        raise Bad(f"expected {what}, got {describe(node)}", f"write {what} here")
    # The raw text, so `version: 1.10` stays "1.10" instead of the float 1.1.
    return str(node.value)


def _to_str(node: yaml.Node) -> str:
    return _scalar_text(node, "a string")


def _to_bool(node: yaml.Node) -> bool:
    if isinstance(node, yaml.ScalarNode) and node.tag == BOOL_TAG:
        return node.value.lower() in ("true", "yes", "on")
    raise Bad(f"expected true or false, got {describe(node)}", "write true or false")


def _to_str_list(node: yaml.Node) -> tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode):
        example = node.value if isinstance(node, yaml.ScalarNode) else "..."
        raise Bad(
            f"expected a list of strings, got {describe(node)}",
            f"write it as a list, e.g. [{example}]",
        )
    return tuple(_scalar_text(item, "a string") for item in node.value)


def _to_extras(node: yaml.Node) -> tuple[tuple[str, str], ...]:
    hint = "write each extra as [file-in-recipe-folder, destination-in-source-tree]"
    if not isinstance(node, yaml.SequenceNode):
        raise Bad(f"expected a list of pairs, got {describe(node)}", hint)
    pairs = []
    for item in node.value:
        if not isinstance(item, yaml.SequenceNode) or len(item.value) != 2:
            raise Bad(f"expected a pair [from, to], got {describe(item)}", hint)
        pairs.append((_to_str(item.value[0]), _to_str(item.value[1])))
    return tuple(pairs)


_ARCHIVE_KEYS = ("url", "sha256", "dest", "subdir")


def _to_extra_archives(node: yaml.Node) -> tuple[ExtraArchive, ...]:
    hint = ("write each as a mapping with 'url', 'sha256', 'dest' (folder in the source tree) "
            "and optionally 'subdir' (folder inside the archive)")
    if not isinstance(node, yaml.SequenceNode):
        raise Bad(f"expected a list of archives, got {describe(node)}", hint)
    found = []
    for item in node.value:
        if not isinstance(item, yaml.MappingNode):
            raise Bad(f"expected a mapping, got {describe(item)}", hint)
        fields: dict[str, str] = {}
        for key_node, value_node in item.value:
            key = _scalar_text(key_node, "a key")
            if key not in _ARCHIVE_KEYS:
                raise Bad(f"unknown key {short(key)} in an extra archive", hint)
            fields[key] = _to_str(value_node)
        missing = [k for k in ("url", "sha256", "dest") if k not in fields]
        if missing:
            raise Bad(f"an extra archive lacks {', '.join(missing)}", hint)
        problem = url_problem(fields["url"])
        if problem is not None:
            raise Bad(*problem)
        if not SHA256_RE.match(fields["sha256"]):
            raise Bad(f"not a sha256 digest: {short(fields['sha256'])}",
                       "write the 64 lowercase hex digits that sha256sum prints")
        for key in ("dest", "subdir"):
            value = fields.get(key)
            if value is not None and not relative_inside(value):
                raise Bad(f"{key} {short(value)} must be a relative folder that stays inside "
                           "the tree", f"write '{key}' like 'lapack-netlib' or 'src/lib'")
        found.append(ExtraArchive(**fields))
    return tuple(found)


def relative_inside(value: str) -> bool:
    parts = value.replace("\\", "/").split("/")
    return bool(value) and "\0" not in value and not value.startswith("/") and all(
        p not in ("", "..") for p in parts if p != ".") and value.strip("./") != ""


def url_problem(url: str) -> tuple[str, str] | None:
    """Why ``url`` is not a usable source address (message, hint); None if it is."""
    if url.startswith(PYPI_SCHEME):
        if not _PYPI_RE.match(url):
            return (f"malformed index source {short(url)}",
                    "write it as 'pypi:PROJECT/FILENAME', e.g. 'pypi:six/six-1.16.0.tar.gz'")
    elif url.startswith(DEBIAN_SCHEME):
        if not _DEBIAN_RE.match(url):
            return (f"malformed Debian source {short(url)}",
                    "write it as 'debian:SOURCE-PACKAGE/FILENAME', e.g. "
                    "'debian:zlib/zlib_1.3.1.orig.tar.gz'")
    elif not _URL_RE.match(url):
        return (f"unsupported URL {short(url)}",
                "use an http(s):// or file:// URL, 'pypi:PROJECT/FILENAME' or "
                "'debian:SOURCE-PACKAGE/FILENAME'")
    return None


def _to_exports(node: yaml.Node) -> str | tuple[str, ...]:
    if isinstance(node, yaml.SequenceNode):
        return _to_str_list(node)
    value = _to_str(node)
    if value not in EXPORT_KINDS:
        raise Bad(
            f"unknown exports kind {value!r}",
            f"use one of {', '.join(EXPORT_KINDS)}, or a list of symbol names",
        )
    return value


def _to_build_type(node: yaml.Node) -> str:
    value = _to_str(node)
    if value not in BUILD_TYPES:
        raise Bad(f"unknown build type {value!r}", f"use one of {', '.join(BUILD_TYPES)}")
    return value


Converter = Callable[[yaml.Node], Any]

# section -> yaml key -> (attribute, converter)
SCHEMA: dict[str, dict[str, tuple[str, Converter]]] = {
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
        "_cross-build-env-skip-install": ("cross_build_env_skip_install", _to_bool),
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
SECTIONS = (*SCHEMA, "extra")
REQUIRED = {"package": ("name", "version")}


def describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    kind = {
        BOOL_TAG: "a boolean", NULL_TAG: "nothing (null)", _INT_TAG: "a number",
        _FLOAT_TAG: "a number",
    }.get(node.tag, "a string")
    return f"{kind} ({short(node.value)})" if node.tag != NULL_TAG else kind


def short(text: str, limit: int = 60) -> str:
    """repr() cut to ``limit`` characters, so a 1 MB value does not flood the message."""
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[:limit]}...(+{len(shown) - limit} chars)"


def did_you_mean(key: str, allowed: Iterable[str]) -> str:
    options = sorted(allowed)
    close = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
    known = ", ".join(options)
    if close:
        return f"did you mean {close[0]!r}? (allowed: {known})"
    return f"remove it (allowed: {known})"




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
            raise Bad(f"expands to more than {_EXTRA_MAX_VALUES} values (through aliases?)",
                       "write the values out, without '*alias' references to itself or chains")
        if depth > _EXTRA_MAX_DEPTH:
            raise Bad(f"is nested more than {_EXTRA_MAX_DEPTH} levels deep (or an alias refers "
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


def construct_extra(node: yaml.Node) -> str:
    """``extra`` as canonical JSON text, or Bad naming what cannot be read."""
    _check_extra_shape(node)
    try:
        value = yaml.constructor.SafeConstructor().construct_object(node, deep=True)
    # SafeConstructor lets bad tagged scalars through raw: `!!int x` is a ValueError,
    # `!!timestamp x` an AttributeError, `!!bool x` a KeyError; a 5000-digit int a ValueError;
    # an empty `!!int ""` or `!!float ""` an IndexError.
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError,
            IndexError) as exc:
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["?"])[0]
        raise Bad(f"cannot read the value: {problem}",
                   "use plain strings, numbers, lists and mappings (no '!!' tags)") from None
    value = value or {}
    if not isinstance(value, dict):
        raise Bad("expected a mapping", "write 'key: value' lines under it")
    try:
        return json.dumps(_json_ready(value), sort_keys=True, default=str)
    except (TypeError, ValueError) as exc:
        raise Bad(f"cannot be stored as JSON: {exc}",
                   "use plain strings, numbers, lists and mappings") from None

