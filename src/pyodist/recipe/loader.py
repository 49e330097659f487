"""Read ``meta.yaml`` files into :class:`~pyodist.recipe.spec.Recipe` objects.

The YAML is composed into nodes first (libyaml when available), so every problem can point
at the line and column of the key that caused it. All problems in one file are collected and
raised together as one :class:`~pyodist.errors.RecipeError`, so a recipe author fixes a file
in one pass instead of one error per run. What each key means and how its value is read is
in :mod:`pyodist.recipe.schema`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from pyodist.errors import Problem, RecipeError
from pyodist.fsutil import resolve_inside
from pyodist.recipe.schema import (
    LIB_VERSION_RE,
    MODULE_RE,
    NAME_RE,
    NULL_TAG,
    REQUIRED,
    SCHEMA,
    SECTIONS,
    SHA256_RE,
    TAG_RE,
    Bad,
    construct_extra,
    describe,
    did_you_mean,
    relative_inside,
    short,
    url_problem,
)
from pyodist.recipe.spec import (
    AboutSpec,
    BuildSpec,
    PackageSpec,
    Recipe,
    RequirementsSpec,
    SourceSpec,
    TestSpec,
    canonical_name,
    cross_field_problems,
)

__all__ = ["MAX_RECIPE_BYTES", "RECIPE_FILE", "LoadResult", "find_recipe_files", "load_recipe",
           "load_recipe_dirs", "load_recipe_file"]

RECIPE_FILE = "meta.yaml"
# Pyodide's largest recipes are a few kB; anything near this is not a recipe (and YAML of
# tens of MB takes seconds and a GB of memory to compose)
MAX_RECIPE_BYTES = 1024 * 1024
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _FileChecker:
    """Collects problems for one file while converting its node tree."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.marks: dict[str, tuple[int, int]] = {}

    def _problem(self, key: str | None, message: str, hint: str | None,
                 node: yaml.Node | None) -> Problem:
        line = column = None
        if node is not None:
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
        elif key is not None:
            line, column = self._nearest_mark(key)
        return Problem(self.path, key, message, hint, line, column)

    def add(self, key: str | None, message: str, hint: str | None, node: yaml.Node | None) -> None:
        self.problems.append(self._problem(key, message, hint, node))

    def warn(self, key: str, message: str, hint: str | None, node: yaml.Node | None) -> None:
        """Something pyodist reads anyway, but a careful author would change."""
        self.warnings.append(self._problem(key, message, hint, node))

    def _nearest_mark(self, key: str) -> tuple[int | None, int | None]:
        while key:
            if key in self.marks:
                return self.marks[key]
            key = key.rpartition("/")[0]
        return None, None

    def mapping(self, node: yaml.Node, key: str) -> list[tuple[str, yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            what = "the file" if not key else f"'{key}'"
            self.add(key or None, f"expected {what} to be a mapping, got {describe(node)}",
                     "write 'key: value' lines under it", node)
            return None
        items: list[tuple[str, yaml.Node, yaml.Node]] = []
        seen: set[str] = set()
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                # `? [a, b]` or `{x: 1}: y` - a complex key; str() of it would be node reprs.
                self.add(key or None, f"expected a plain name as a key, got {describe(knode)}",
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


Report = Callable[[str, str, str], None]  # (key, message, hint): a problem with a key


def _check_values(chk: _FileChecker, section: str, values: dict[str, Any],
                  nodes: dict[str, yaml.Node], folder: Path) -> None:
    """Per-field rules that need only the field itself (and the recipe folder)."""

    def bad(key: str, message: str, hint: str) -> None:
        chk.add(f"{section}/{key}", message, hint, nodes.get(_ATTR.get(key, key)))
        values.pop(_ATTR.get(key, key), None)

    rules = {"package": _check_package, "source": _check_source, "build": _check_build,
             "requirements": _check_requirements, "test": _check_test}.get(section)
    if rules is not None:
        rules(bad, values, folder)


# YAML key -> spec attribute, where they differ
_ATTR = {"variant-of": "variant_of", "cross-build-files": "cross_build_files"}


def _check_package(bad: Report, values: dict[str, Any], _folder: Path) -> None:
    name = values.get("name")
    if name is not None and not NAME_RE.match(name):
        bad("name", f"invalid package name {name!r}",
            "use letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
    variant_of = values.get("variant_of")
    if variant_of is not None and not NAME_RE.match(variant_of):
        bad("variant-of", f"{short(variant_of)} is not a recipe name",
            "name the recipe this one is a variant of, e.g. 'variant-of: numpy'")
    for tag in values.get("tag", ()):
        if not TAG_RE.match(tag):
            bad("tag", f"invalid tag {tag!r}", "use letters, digits, '-' and '_'")


def _check_source(bad: Report, values: dict[str, Any], folder: Path) -> None:
    url = values.get("url")
    problem = url_problem(url) if url is not None else None
    if problem is not None:
        bad("url", *problem)
    sha = values.get("sha256")
    if sha is not None and not SHA256_RE.match(sha):
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
    for _src, dst in values.get("extras", ()):
        if not relative_inside(dst):
            bad("extras", f"the destination {short(dst)} leaves the source tree",
                "write where in the source tree the file goes, e.g. 'setup.cfg' or "
                "'src/config.h'")
    extract_dir = values.get("extract_dir")
    if extract_dir is not None and not relative_inside(extract_dir):
        bad("extract_dir", f"{short(extract_dir)} is not a folder inside the archive",
            "name the archive's top folder, e.g. 'extract_dir: pkg-1.0'")
    raw_path = values.get("path")
    if raw_path is not None:
        _check_source_path(bad, values, folder, raw_path)


def _check_source_path(bad: Report, values: dict[str, Any], folder: Path, raw: str) -> None:
    try:
        resolved = (folder / raw).resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # NUL byte, symlink loop
        bad("path", f"unusable source path {short(raw)}: {exc}",
            "write a folder path relative to the recipe folder, e.g. 'src'")
        return
    # inside the recipe folder, or inside the recipes root: Pyodide's recipes may build from
    # a sibling's tree (numpy-tests reads ../numpy/build/...), a sibling built first
    root = folder.resolve().parent
    if not resolved.is_relative_to(root) or resolved == root:
        bad("path", f"{short(raw)} leads outside the recipes folder {root}",
            "keep the source tree in the recipe folder (e.g. 'path: src') or in a sibling "
            "recipe's folder; the build copies it and must not read other host folders")
    else:  # whether it is a folder is checked when the build prepares it
        values["path"] = resolved


def _check_build(bad: Report, values: dict[str, Any], _folder: Path) -> None:
    for member in values.get("cross_build_files", ()):
        if not relative_inside(member) or "\\" in member:
            bad("cross-build-files", f"{short(member)} is not a path inside the wheel",
                "list paths as they appear inside the built wheel, e.g. "
                "'numpy/_core/include/numpy/numpyconfig.h'")


def _check_requirements(bad: Report, values: dict[str, Any], _folder: Path) -> None:
    for key in ("run", "host"):
        for dep in values.get(key, ()):
            if not NAME_RE.match(dep):
                bad(key, f"{dep!r} is not a recipe name",
                    "list recipe names only (versions come from the recipes themselves)")


def _check_test(bad: Report, values: dict[str, Any], _folder: Path) -> None:
    for mod in values.get("imports", ()):
        if not MODULE_RE.match(mod):
            bad("imports", f"{mod!r} is not an importable module name",
                "list dotted module names, e.g. 'numpy.linalg'")


def _check_version(chk: _FileChecker, version: str, build_type: str,
                   node: yaml.Node | None) -> None:
    if len(version) > 200:  # packaging would turn a 5000-digit part into an int, and fail
        chk.add("package/version", f"{version[:40]!r}... is {len(version)} characters long",
                "use a version such as 1.2.3, 2.0rc1 or 1.0.post1", node)
    elif build_type in ("package", "cpython_module"):
        try:
            Version(version)
        except (InvalidVersion, ValueError):
            chk.add("package/version", f"{version!r} is not a valid PEP 440 version",
                    "use a version such as 1.2.3, 2.0rc1 or 1.0.post1", node)
    elif not LIB_VERSION_RE.match(version):
        chk.add("package/version", f"{version!r} is not a valid library version",
                "use letters, digits and . + _ ~ -", node)


def _inside_folder(folder: Path, name: str) -> bool:
    """``name`` is a relative path that stays in ``folder`` (symlinks resolved)."""
    if not name or "\0" in name or Path(name).is_absolute():
        return False
    try:
        root = folder.resolve()
    except (OSError, ValueError, RuntimeError):
        return False
    return resolve_inside(root, name) is not None


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


_REQUIRED_KEYS = {(s, k) for s, keys in REQUIRED.items() for k in keys}
# section -> attribute -> the spec's default (package has no default instance)
_DEFAULTS: dict[str, dict[str, Any]] = {
    name: {f.name: (f.default if f.default is not dataclasses.MISSING else
                    f.default_factory() if f.default_factory is not dataclasses.MISSING
                    else None)
           for f in dataclasses.fields(spec)}
    for name, spec in (("package", PackageSpec), ("source", SourceSpec), ("build", BuildSpec),
                       ("requirements", RequirementsSpec), ("test", TestSpec),
                       ("about", AboutSpec))
}


def _default_text(value: Any) -> str:
    if value == ():
        return "an empty list"
    if value == "":
        return "an empty string"
    return repr(value).lower() if isinstance(value, bool) else repr(value)


def parse_recipe(path: Path, text: str) -> Recipe:
    """Validate ``text`` as the recipe at ``path``; raise RecipeError with every problem."""
    return _parse(path, text)[0]


def _read_sections(chk: _FileChecker,
                   top: list[tuple[str, yaml.Node, yaml.Node]]) -> tuple[
        dict[str, dict[str, Any]], dict[str, dict[str, yaml.Node]], set[str], str]:
    """Convert every known key of every section; unknown ones are problems."""
    sections: dict[str, dict[str, Any]] = {name: {} for name in SCHEMA}
    section_nodes: dict[str, dict[str, yaml.Node]] = {name: {} for name in SCHEMA}
    build_keys: set[str] = set()
    extra = "{}"
    for sname, knode, vnode in top:
        if sname == "extra":
            try:
                extra = construct_extra(vnode)
            except Bad as exc:
                chk.add("extra", exc.message, exc.hint, vnode)
            continue
        if sname not in SCHEMA:
            chk.add(sname, "unknown section", did_you_mean(sname, SECTIONS), knode)
            continue
        if isinstance(vnode, yaml.ScalarNode) and vnode.tag == NULL_TAG:
            continue  # an empty section, e.g. `test:` with nothing under it
        items = chk.mapping(vnode, sname)
        for key, kn, vn in items or ():
            spec = SCHEMA[sname].get(key)
            if spec is None:
                chk.add(f"{sname}/{key}", "unknown key", did_you_mean(key, SCHEMA[sname]), kn)
                continue
            attr, convert = spec
            if _is_null(vn) and (sname, key) not in _REQUIRED_KEYS:
                # pyodide-build reads an empty value as "not given" for its optional keys
                # (about/home, build/script, ...); for the others pyodist does the same,
                # with a warning, since they have a non-empty default
                default = _DEFAULTS[sname].get(attr)
                if default is not None:
                    chk.warn(f"{sname}/{key}", f"is empty; read as the default "
                             f"({_default_text(default)})",
                             f"remove '{key}:' or give it a value", vn)
                continue
            if sname == "build":
                build_keys.add(key)
            try:
                sections[sname][attr] = convert(vn)
                section_nodes[sname][attr] = vn
            except Bad as exc:
                chk.add(f"{sname}/{key}", exc.message, exc.hint, vn)

    return sections, section_nodes, build_keys, extra


def _parse(path: Path, text: str) -> tuple[Recipe, list[Problem]]:
    """The recipe and the warnings about it, or RecipeError with every problem."""
    chk = _FileChecker(path)
    root = _compose(path, text)
    if root is None:
        raise RecipeError([Problem(path, None, "the file is empty",
                                   "write at least 'package: {name: ..., version: ...}'")])
    top = chk.mapping(root, "")
    if top is None:
        raise RecipeError(chk.problems)

    sections, section_nodes, build_keys, extra = _read_sections(chk, top)
    for sname, required in REQUIRED.items():
        for key in required:
            if key not in sections[sname] and not any(
                p.key == f"{sname}/{key}" for p in chk.problems
            ):
                chk.add(f"{sname}/{key}", "missing required key",
                        f"add '{key}:' under '{sname}'", None)
    for sname in SCHEMA:
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
    return recipe, chk.warnings


def load_recipe(path: Path) -> Recipe:
    """Load one ``meta.yaml`` (or a recipe folder containing one)."""
    return load_recipe_file(path)[0]


def load_recipe_file(path: Path) -> tuple[Recipe, list[Problem]]:
    """One ``meta.yaml`` (or a recipe folder containing one) and the warnings about it."""
    if path.is_dir():
        path = path / RECIPE_FILE
    try:
        size = path.stat().st_size
        if size > MAX_RECIPE_BYTES:
            raise RecipeError([Problem(
                path, None, f"the file is {size:,} bytes; a recipe may have at most "
                f"{MAX_RECIPE_BYTES:,}", "a meta.yaml is a few kB: keep scripts and data in "
                "files beside it (source/extras, patches)")])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError([Problem(
            path, None, "file not found", "create it, or point at a folder that has a meta.yaml",
        )]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError([Problem(path, None, f"cannot read the file: {exc}",
                                   "check the file's permissions and that it is UTF-8 text")])\
            from None
    return _parse(path, text)


def find_recipe_files(directory: Path) -> Iterator[Path]:
    """``<dir>/<name>/meta.yaml`` for each recipe folder, sorted by folder name."""
    for child in sorted(directory.iterdir()):
        candidate = child / RECIPE_FILE
        if candidate.is_file():
            yield candidate


def _skipped_folder(child: Path) -> Problem | None:
    """Why a folder of a recipe directory that looks meant as a recipe is not one."""
    meta = child / RECIPE_FILE
    if meta.is_symlink() and not meta.exists():
        return Problem(meta, None, "is a link that leads nowhere (or loops); the folder is "
                       "skipped", "point the link at a real meta.yaml, or remove it")
    if meta.exists() and not meta.is_file():  # a folder, a FIFO, a device (/dev/zero)
        return Problem(meta, None, "is not a regular file; the folder is skipped",
                       "make meta.yaml a file (the recipe)")
    for other in ("meta.yml", "Meta.yaml", "meta.YAML"):
        if (child / other).is_file() and not meta.is_file():
            return Problem(child / other, None, f"is not read: recipes are named {RECIPE_FILE}",
                           f"rename it to {RECIPE_FILE}")
    return None


@dataclass(frozen=True)
class LoadResult:
    """Every recipe found in a stack of directories, and every file that failed."""

    recipes: dict[str, Recipe]
    errors: dict[Path, RecipeError]
    # canonical name -> the earlier recipe files it replaced (later directories win)
    overridden: dict[str, tuple[Path, ...]]
    # what was read anyway (empty values) and folders skipped (a meta.yml, a dead link)
    warnings: tuple[Problem, ...] = ()

    def raise_errors(self) -> None:
        if self.errors:
            raise RecipeError([p for err in self.errors.values() for p in err.problems])


def load_recipe_dirs(directories: Sequence[Path]) -> LoadResult:
    """Load recipe directories in order; a recipe in a later directory replaces an earlier one."""
    recipes: dict[str, Recipe] = {}
    errors: dict[Path, RecipeError] = {}
    overridden: dict[str, list[Path]] = {}
    warnings: list[Problem] = []
    for directory in directories:
        if not directory.is_dir():
            errors[directory] = RecipeError([Problem(
                directory, None, "recipe directory not found",
                "create it, or pass an existing directory",
            )])
            continue
        in_this_dir: dict[str, Path] = {}
        warnings.extend(p for child in sorted(directory.iterdir()) if child.is_dir()
                        and (p := _skipped_folder(child)) is not None)
        for meta in find_recipe_files(directory):
            try:
                recipe, found = load_recipe_file(meta)
            except RecipeError as exc:
                errors[meta] = exc
                continue
            warnings.extend(found)
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
        warnings=tuple(warnings),
    )
