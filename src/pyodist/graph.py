"""The dependency graph over a set of recipes, and the selection language.

Edges are stored both ways: ``deps[a]`` is what ``a`` needs built first (its host and run
requirements), ``dependents[a]`` is what needs ``a``. "What must rebuild when ``a`` changes"
is ``downstream({a})``. Scheduling and progress display live elsewhere; this module is pure.

Selection syntax (Pyodide's): ``*`` every enabled recipe, ``NAME``, ``tag:TAG``, and ``!NAME``
or ``!tag:TAG`` to drop from the request. The request is then closed over dependencies, so an
excluded package still comes back when something selected needs it. Recipes tagged ``always``
are part of every selection unless excluded by name. ``*`` and tags skip disabled recipes and
whatever needs them (reported in :attr:`Selection.skipped`); naming one is an error.

Variants (``package/variant-of: BASE``, a pyodist extension) build the same distribution as
BASE another way, e.g. numpy without BLAS. ``*`` and tags leave them out. Naming a variant
makes it stand in for BASE in that selection: every requirement on BASE (host and run) then
means the variant, so BASE is neither built nor shipped for it.
"""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyodist.errors import GraphError, RecipeError, SelectionError
from pyodist.recipe.spec import Recipe, canonical_name

__all__ = ["RecipeGraph", "Selection", "parse_selection", "unknown_requirements",
           "usable_recipes", "without_broken"]

ALWAYS_TAG = "always"


@dataclass(frozen=True)
class Selection:
    """A resolved selection: what was asked for, its closure, and a build order."""

    requested: frozenset[str]
    closure: frozenset[str]
    order: tuple[str, ...]
    # matched by '*' or a tag, but left out because they need a disabled recipe
    skipped: frozenset[str] = frozenset()
    # base recipe -> the variant named in the selection, which stands in for it
    variants: Mapping[str, str] = field(default_factory=dict)

    @property
    def pulled_in(self) -> frozenset[str]:
        """Packages not asked for but needed by those that were."""
        return self.closure - self.requested


def parse_selection(patterns: Sequence[str]) -> list[tuple[bool, str, str]]:
    """Split selection words into (exclude, kind, value) with kind in {all, name, tag}.

    Words may also be comma-separated: ``numpy,tag:core`` is two words.
    """
    parsed: list[tuple[bool, str, str]] = []
    for word in (w.strip() for p in patterns for w in p.split(",")):
        if not word:
            continue
        exclude = word.startswith("!")
        body = word[1:] if exclude else word
        if body == "*":
            if exclude:
                raise SelectionError("'!*' excludes everything",
                                     hint="name what to exclude: '!NAME'")
            parsed.append((False, "all", "*"))
        elif body.startswith("tag:"):
            if not body[4:]:
                raise SelectionError(f"empty tag in {word!r}", hint="write 'tag:NAME'")
            parsed.append((exclude, "tag", body[4:]))
        elif body:
            parsed.append((exclude, "name", body))
        else:
            raise SelectionError(f"empty selection word {word!r}", hint="write '!NAME' to exclude")
    return parsed


def without_broken(recipes: Mapping[str, Recipe],
                   broken: Iterable[str]) -> tuple[dict[str, Recipe], dict[str, tuple[str, ...]]]:
    """The recipes that need none of ``broken`` (recipe folders that failed to load), and for
    each one left out, the broken recipes it needs (directly or through others)."""
    bad = {canonical_name(b): {canonical_name(b)} for b in broken}
    kept = dict(recipes)
    changed = True
    while changed:
        changed = False
        for name, recipe in list(kept.items()):
            roots = set().union(*(bad[canonical_name(d)] for d in recipe.dependencies
                                  if canonical_name(d) in bad))
            if roots:
                bad[canonical_name(name)] = roots
                del kept[name]
                changed = True
    left_out = {n: tuple(sorted(bad[canonical_name(n)])) for n in recipes if n not in kept}
    return kept, left_out


def selection_reaches(selection: Sequence[str],
                      recipes: Mapping[str, Recipe]) -> Callable[[str], bool]:
    """Whether ``selection`` reaches a recipe by itself, not through what needs it: all for
    ``*``, by name, or (for a recipe in ``recipes``, that is one that loaded) by a tag."""
    words = parse_selection(list(selection))
    everything = any(kind == "all" for exclude, kind, _ in words if not exclude)
    named = {canonical_name(v) for exclude, kind, v in words if kind == "name" and not exclude}
    tags = {v for exclude, kind, v in words if kind == "tag" and not exclude}

    def reaches(name: str) -> bool:
        recipe = recipes.get(name)
        return (everything or canonical_name(name) in named
                or (recipe is not None and bool(tags & set(recipe.package.tag))))

    return reaches


def usable_recipes(recipes: Mapping[str, Recipe], errors: Mapping[Path, RecipeError],
                   selection: Sequence[str]) -> dict[str, Recipe]:
    """The recipes ``selection`` may draw on: those that load, whose requirements are all
    known recipes, and that need none that is not so.

    ``errors`` are the recipe files (or recipe directories) that did not load. Raises the
    RecipeError of each one the selection reaches: named, needed by a selected recipe, or
    every one for ``*``; a missing recipe directory is always an error. Then the GraphError
    of each reached recipe that requires an unknown one. A broken recipe the selection does
    not reach blocks nothing.
    """
    reaches = selection_reaches(selection, recipes)

    def reached(roots: Iterable[str], needs: Mapping[str, tuple[str, ...]]) -> set[str]:
        found = {canonical_name(n) for n in roots if reaches(n)}
        for name, needed in needs.items():
            if reaches(name):
                found.update(canonical_name(r) for r in needed)
        return found

    kept = dict(recipes)
    if errors:
        broken = {meta.parent.name: meta for meta in errors if meta.name == "meta.yaml"}
        kept, needs = without_broken(recipes, broken)
        hit = reached(broken, needs)
        problems = [p for path, err in errors.items()
                    if path.name != "meta.yaml" or canonical_name(path.parent.name) in hit
                    for p in err.problems]
        if problems:
            raise RecipeError(problems)
    dangling = unknown_requirements(kept)
    if dangling:
        kept, needs = without_broken({n: r for n, r in kept.items() if n not in dangling},
                                     dangling)
        hit = reached(dangling, needs)
        lines = [line for name, found in sorted(dangling.items())
                 if canonical_name(name) in hit for line in found]
        if lines:
            raise GraphError("\n".join(lines), hint=_UNKNOWN_HINT)
    return kept


def unknown_requirements(recipes: Mapping[str, Recipe]) -> dict[str, list[str]]:
    """Each recipe whose host or run requirements name no recipe in ``recipes`` (a
    variant's base counts), with one message per unknown requirement."""
    known = {canonical_name(n): n for n in recipes}
    found: dict[str, list[str]] = {}
    for name, recipe in sorted(recipes.items()):
        for section, names in (("host", recipe.requirements.host),
                               ("run", recipe.requirements.run)):
            for dep in names:
                if canonical_name(dep) not in known:
                    found.setdefault(name, []).append(
                        f"{recipe.path}: requirements/{section}: {dep!r} is not a known "
                        f"recipe{_suggestion(dep, known)}")
    return found


_UNKNOWN_HINT = ("add a recipe folder with that name (pyodist skeleton pypi NAME writes one), "
                 "or remove the requirement")


def _suggestion(name: str, known: Mapping[str, str]) -> str:
    close = difflib.get_close_matches(canonical_name(name), list(known), n=1)
    return f"; did you mean {known[close[0]]!r}?" if close else ""


class RecipeGraph:
    """Recipes keyed by name, with dependency edges in both directions."""

    def __init__(self, recipes: Mapping[str, Recipe],
                 chosen: Mapping[str, str] | None = None) -> None:
        """``chosen`` maps base recipes to the variants that stand in for them."""
        self.recipes: dict[str, Recipe] = dict(sorted(recipes.items()))
        self._by_canon = {canonical_name(n): n for n in self.recipes}
        self.variant_of = self._variants()
        self.chosen: Mapping[str, str] = dict(chosen or {})
        # requirements resolve through this: a chosen variant answers for its base
        self._requirement = {**self._by_canon,
                             **{canonical_name(b): v for b, v in self.chosen.items()}}
        dangling = unknown_requirements(self.recipes)
        if dangling:
            raise GraphError("\n".join(line for lines in dangling.values() for line in lines),
                             hint=_UNKNOWN_HINT)
        deps = {name: frozenset(self._requirement[canonical_name(dep)]
                                for dep in (*recipe.requirements.host, *recipe.requirements.run))
                for name, recipe in self.recipes.items()}
        self.deps: Mapping[str, frozenset[str]] = deps
        back: dict[str, set[str]] = {n: set() for n in self.recipes}
        for name, needed in deps.items():
            for dep in needed:
                back[dep].add(name)
        self.dependents: Mapping[str, frozenset[str]] = {
            n: frozenset(v) for n, v in back.items()
        }
        cycle = self._find_cycle()
        if cycle:
            raise GraphError(
                "dependency cycle: " + " -> ".join(cycle),
                hint="remove one of these requirements to break the cycle",
            )

    def _variants(self) -> dict[str, str]:
        """variant -> base, checked: the base exists and is not a variant itself."""
        found: dict[str, str] = {}
        problems: list[str] = []
        for name, recipe in self.recipes.items():
            base_name = recipe.package.variant_of
            if base_name is None:
                continue
            base = self._by_canon.get(canonical_name(base_name))
            if base is None:
                problems.append(f"{recipe.path}: package/variant-of: {base_name!r} is not a "
                                f"known recipe{self._suggest(base_name)}")
            elif self.recipes[base].package.variant_of is not None:
                problems.append(f"{recipe.path}: package/variant-of: {base!r} is a variant "
                                "itself; name the recipe it is a variant of")
            else:
                found[name] = base
        if problems:
            raise GraphError("\n".join(problems),
                             hint="'variant-of' names the recipe whose distribution this one "
                                  "builds another way")
        return found

    def choosing(self, chosen: Mapping[str, str]) -> RecipeGraph:
        """This graph with ``chosen`` variants (base -> variant) standing in for their bases."""
        if dict(chosen) == dict(self.chosen):
            return self
        return RecipeGraph(self.recipes, chosen)

    def _suggest(self, name: str) -> str:
        return _suggestion(name, self._by_canon)

    def resolve(self, name: str) -> str:
        """A recipe's name from any spelling of it (``Zope.Interface`` -> ``zope-interface``)."""
        found = self._by_canon.get(canonical_name(name))
        if found is None:
            raise SelectionError(f"no recipe named {name!r}{self._suggest(name)}",
                             hint="run 'pyodist recipes list' to see what is available")
        return found

    def resolve_requirement(self, name: str) -> str:
        """The recipe a requirement on ``name`` means here (a chosen variant for its base)."""
        found = self._requirement.get(canonical_name(name))
        return found if found is not None else self.resolve(name)

    def _find_cycle(self) -> list[str] | None:
        """The first dependency cycle in name order, as [a, b, ..., a]; None if acyclic."""
        white, grey, black = 0, 1, 2
        color = dict.fromkeys(self.recipes, white)
        for root in self.recipes:
            if color[root] != white:
                continue
            path: list[str] = [root]
            stack = [iter(sorted(self.deps[root]))]
            color[root] = grey
            while stack:
                nxt = next(stack[-1], None)
                if nxt is None:
                    color[path.pop()] = black
                    stack.pop()
                elif color[nxt] == grey:
                    return [*path[path.index(nxt):], nxt]
                elif color[nxt] == white:
                    color[nxt] = grey
                    path.append(nxt)
                    stack.append(iter(sorted(self.deps[nxt])))
        return None

    def _walk(self, start: Iterable[str], edges: Mapping[str, frozenset[str]]) -> frozenset[str]:
        seen = set(start)
        todo = list(seen)
        while todo:
            for nxt in edges[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return frozenset(seen)

    def closure(self, names: Iterable[str]) -> frozenset[str]:
        """``names`` plus everything they need, transitively."""
        return self._walk(names, self.deps)

    def downstream(self, names: Iterable[str]) -> frozenset[str]:
        """``names`` plus everything that needs them, transitively: what a change rebuilds."""
        return self._walk(names, self.dependents)

    def order(self, names: Iterable[str]) -> tuple[str, ...]:
        """Dependencies before dependents; ties broken by name so the order is stable."""
        subset = set(names)
        waiting = {n: len(self.deps[n] & subset) for n in subset}
        ready = [n for n, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        out: list[str] = []
        while ready:
            name = heapq.heappop(ready)
            out.append(name)
            for user in self.dependents[name]:
                if user in waiting:
                    waiting[user] -= 1
                    if waiting[user] == 0:
                        heapq.heappush(ready, user)
        return tuple(out)

    def tags(self) -> frozenset[str]:
        return frozenset(t for r in self.recipes.values() for t in r.package.tag)

    def _named_variants(self, words: list[tuple[bool, str, str]]) -> dict[str, str]:
        """base -> variant for the variants the words name (not exclude)."""
        chosen: dict[str, str] = {}
        for exclude, kind, value in words:
            if exclude or kind != "name":
                continue
            name = self._by_canon.get(canonical_name(value))
            base = self.variant_of.get(name) if name is not None else None
            if name is None or base is None:
                continue
            if chosen.get(base, name) != name:
                raise SelectionError(
                    f"{chosen[base]!r} and {name!r} are both variants of {base!r}; a "
                    "selection can hold one", hint="name one of them")
            chosen[base] = name
        return chosen

    def select(self, patterns: Sequence[str]) -> Selection:
        """Expand selection words (see the module docstring) to a closed, ordered selection."""
        words = parse_selection(patterns)
        if not words:
            raise SelectionError("empty selection", hint="name packages, 'tag:NAME' or '*'")
        chosen = self._named_variants(words)
        if chosen != dict(self.chosen):
            return self.choosing(chosen).select(patterns)
        disabled = {n for n, r in self.recipes.items() if r.package.disabled}
        blocked = self.downstream(disabled)
        # variants only when named; a base is out when its variant stands in for it
        stood_in = set(self.chosen)
        enabled = [n for n in self.recipes if n not in blocked and n not in stood_in
                   and (n not in self.variant_of or n in self.chosen.values())]
        included: set[str] = {
            n for n in enabled if ALWAYS_TAG in self.recipes[n].package.tag
        }
        excluded: set[str] = set()
        for exclude, kind, value in words:
            if kind == "all":
                matched = set(enabled)
            elif kind == "tag":
                if value not in self.tags():
                    known = ", ".join(sorted(self.tags())) or "none"
                    raise SelectionError(f"no recipe has tag {value!r} (known tags: {known})",
                                     hint="fix the tag name, or add it under 'package/tag'")
                matched = {n for n in enabled if value in self.recipes[n].package.tag}
            else:
                name = self._requirement.get(canonical_name(value)) or self.resolve(value)
                if self.recipes[name].package.disabled and not exclude:
                    raise SelectionError(
                        f"{name!r} is disabled ({self.recipes[name].path}: package/_disabled)",
                        hint="remove '_disabled: true' from the recipe to build it",
                    )
                matched = {name}
            (excluded if exclude else included).update(matched)
        skipped = frozenset(
            n for n in blocked - disabled
            if any(k == "all" or (k == "tag" and v in self.recipes[n].package.tag)
                   for ex, k, v in words if not ex)
        )
        requested = frozenset(included - excluded)
        # '*' over folders without a recipe (a new project) is every one of none; a name, a
        # tag, or '*' that excludes everything there is, is a mistake
        if not requested and (self.recipes or not any(k == "all" for _, k, _v in words)):
            raise SelectionError("the selection matches no recipes",
                             hint="check the names and tags ('pyodist recipes list')")
        closure = self.closure(requested)
        for name in sorted(closure - requested):
            recipe = self.recipes[name]
            if recipe.package.disabled:
                users = sorted(u for u in self.dependents[name] if u in closure)
                raise SelectionError(
                    f"{name!r} is disabled ({recipe.path}: package/_disabled) but "
                    f"{', '.join(map(repr, users))} need{'s' if len(users) == 1 else ''} it",
                    hint="enable it, or drop the packages that need it from the selection",
                )
        return Selection(requested, closure, self.order(closure), skipped - excluded,
                         dict(self.chosen))
