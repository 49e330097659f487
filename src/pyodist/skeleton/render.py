"""``meta.yaml`` text for a new recipe, and in-place edits of an existing one.

New recipes are written as text (not dumped from a dict) so they can carry comments that say
why a line is there. Updates change only the three values a new release changes
(``package/version``, ``source/url``, ``source/sha256``), located by the YAML parser's own
positions, so every other byte the maintainer wrote — comments, patches, flags, order — stays.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from pyodist.errors import Problem, RecipeError

__all__ = ["Draft", "render_recipe", "update_recipe_text", "yaml_scalar"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def yaml_scalar(value: str) -> str:
    """``value`` as a YAML scalar that reads back as the same string (quoted only if needed)."""
    if value and value.strip() == value and "\n" not in value:
        try:
            readback = yaml.load(value, Loader=_Loader)  # noqa: S506 - _Loader is a safe loader
            if readback == value and not value.startswith(("*", "&")):
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted one


@dataclass(frozen=True)
class Draft:
    name: str
    version: str
    url: str
    sha256: str
    top_level: tuple[str, ...]
    test_imports: tuple[str, ...]
    # (requirement name, comment) — the comment keeps the version range Requires-Dist gave
    run: tuple[tuple[str, str], ...] = ()
    host: tuple[tuple[str, str], ...] = ()
    header: tuple[str, ...] = ()  # comment lines at the top
    source_comments: tuple[str, ...] = ()
    build_comments: tuple[str, ...] = ()
    cxxflags: str | None = None
    requirements_comments: tuple[str, ...] = ()
    # a reason to write `_disabled: true` (the toolchain cannot build it yet)
    disabled: str | None = None
    summary: str | None = None
    license: str | None = None
    home: str | None = None


def _comments(lines: Sequence[str], indent: str) -> list[str]:
    return [f"{indent}# {line}" if line else f"{indent}#" for line in lines]


def _items(items: Sequence[tuple[str, str]], indent: str) -> list[str]:
    return [f"{indent}- {yaml_scalar(name)}" + (f"  # {note}" if note else "")
            for name, note in items]


def render_recipe(draft: Draft) -> str:
    out = _comments(draft.header, "")
    out += ["package:", f"  name: {yaml_scalar(draft.name)}",
            f"  version: {yaml_scalar(draft.version)}"]
    if draft.disabled:
        out += [*_comments([draft.disabled], "  "), "  _disabled: true"]
    out += ["  top-level:", *_items([(t, "") for t in draft.top_level], "    ")]
    out += ["source:", *_comments(draft.source_comments, "  "),
            f"  url: {yaml_scalar(draft.url)}", f"  sha256: {draft.sha256}"]
    if draft.cxxflags:
        out += ["build:", *_comments(draft.build_comments, "  "),
                f"  cxxflags: {yaml_scalar(draft.cxxflags)}"]
    elif draft.build_comments:  # no build key needed: say it above the test section
        out += _comments(draft.build_comments, "")
    if draft.run or draft.host or draft.requirements_comments:
        out += ["requirements:", *_comments(draft.requirements_comments, "  ")]
        if draft.host:
            out += ["  host:", *_items(draft.host, "    ")]
        if draft.run:
            out += ["  run:", *_items(draft.run, "    ")]
    out += ["test:", "  imports:", *_items([(t, "") for t in draft.test_imports], "    ")]
    about = [(k, v) for k, v in (("home", draft.home), ("summary", draft.summary),
                                 ("license", draft.license)) if v]
    if about:
        out += ["about:", *(f"  {k}: {yaml_scalar(v)}" for k, v in about)]
    return "\n".join(out) + "\n"


def _mapping_value(node: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
            return v
    return None


def update_recipe_text(text: str, path: Path, *, version: str, url: str, sha256: str) -> str:
    """``text`` with package/version, source/url and source/sha256 replaced, all else kept."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise RecipeError([Problem(path, None, f"not valid YAML: {exc}",
                                   "fix the file, or rewrite it with --force")]) from None
    edits: list[tuple[int, int, str]] = []
    for section, key, value in (("package", "version", version), ("source", "url", url),
                                ("source", "sha256", sha256)):
        table = _mapping_value(root, section) if root is not None else None
        node = _mapping_value(table, key) if table is not None else None
        if not isinstance(node, yaml.ScalarNode) or node.start_mark is None:
            raise RecipeError([Problem(
                path, f"{section}/{key}", "--update needs this key as a plain value",
                "add it, or rewrite the recipe with --force")])
        edits.append((node.start_mark.index, node.end_mark.index, yaml_scalar(value)))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text
