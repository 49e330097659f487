"""``pyodist recipes check | list | graph``."""

from __future__ import annotations

import argparse
from pathlib import Path

from pyodist.cli.render import emit_json, table, tree
from pyodist.graph import RecipeGraph
from pyodist.options import Options
from pyodist.recipe import Recipe
from pyodist.tree import check_tree, load_graph

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    recipes = sub.add_parser("recipes", help="validate, list and graph recipes",
                             description="Work with meta.yaml recipes.")
    rsub = recipes.add_subparsers(dest="recipes_command", required=True, metavar="COMMAND")

    check = rsub.add_parser(
        "check", help="validate every recipe and the dependency graph",
        description="Validate every meta.yaml in the recipe directories (default: the "
                    "configured ones) and the graph they form. Exits 3 on a recipe error, "
                    "4 on a graph error.",
    )
    check.add_argument("dirs", nargs="*", metavar="DIR", type=Path,
                       help="recipe directories, later ones overriding earlier ones")
    check.add_argument("--json", action="store_true", help="print a JSON report")
    check.set_defaults(handler=_check)

    lst = rsub.add_parser("list", help="list recipes with version, type, tags and dependencies")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(handler=_list)

    graph = rsub.add_parser(
        "graph", help="show the dependency closure of a selection",
        description="Expand SELECTION ('*', NAME, tag:TAG, !NAME) to its dependency closure "
                    "and show it as a tree, or as JSON with the build order.",
    )
    graph.add_argument("selection", nargs="+", metavar="SELECTION")
    graph.add_argument("--json", action="store_true", help="print JSON")
    graph.set_defaults(handler=_graph)


def _source_label(recipe: Recipe) -> str:
    src = recipe.source
    if src.kind == "pypi":
        return f"index:{src.pypi_project}"
    if src.kind == "debian":
        return "debian:" + (src.url or "").split(":", 1)[1].split("/", 1)[0]
    if src.kind == "url":
        return "url"
    if src.kind == "path":
        return "path"
    return "-"


def _check(args: argparse.Namespace, options: Options) -> int:
    dirs = tuple(d.resolve() for d in args.dirs) or options.recipe_dirs
    check = check_tree(dirs)
    result, graph_error = check.loaded, check.graph_error
    failed = {p.parent.name: err for p, err in result.errors.items()}
    if args.json:
        emit_json({
            "directories": [str(d) for d in dirs],
            "recipes": {
                name: {"version": r.version, "type": r.build.type, "path": str(r.path)}
                for name, r in result.recipes.items()
            },
            "errors": [
                {"file": str(p.file), "line": p.line, "column": p.column, "key": p.key,
                 "message": p.message, "hint": p.hint}
                for err in result.errors.values() for p in err.problems
            ],
            "warnings": [
                {"file": str(p.file), "line": p.line, "column": p.column, "key": p.key,
                 "message": p.message, "hint": p.hint} for p in result.warnings
            ],
            "graph_error": str(graph_error) if graph_error else None,
            "ok": not result.errors and graph_error is None,
        })
    else:
        rows: list[tuple[str, ...]] = [
            (name, r.version, r.build.type, _source_label(r), "ok")
            for name, r in result.recipes.items()
        ]
        rows += [(name, "?", "?", "?", f"{len(err.problems)} error(s)")
                 for name, err in failed.items()]
        rows.sort()
        if rows:
            print(table(("RECIPE", "VERSION", "TYPE", "SOURCE", "STATUS"), rows))
        for err in result.errors.values():
            print()
            print(err)
        for warning in result.warnings:
            print(f"\nwarning: {warning}")
        if graph_error:
            print()
            print(graph_error)
        problems = check.problem_count
        warned = f", {len(result.warnings)} warning(s)" if result.warnings else ""
        print(f"\n{len(result.recipes) + len(failed)} recipe(s) checked in "
              f"{', '.join(map(str, dirs))}: "
              + ("all valid" if not problems else f"{problems} problem(s)") + warned)
    return check.exit_code


def _load_graph(options: Options) -> RecipeGraph:
    return load_graph(options.recipe_dirs, ["*"])


def _list(args: argparse.Namespace, options: Options) -> int:
    graph = _load_graph(options)
    if args.json:
        emit_json({"recipes": {
            name: {
                "version": r.version, "type": r.build.type, "tags": list(r.package.tag),
                "depends": sorted(graph.deps[name]), "disabled": r.package.disabled,
                "path": str(r.path),
            }
            for name, r in graph.recipes.items()
        }})
        return 0
    rows = [
        (name, r.version, r.build.type + (" (disabled)" if r.package.disabled else ""),
         ",".join(r.package.tag) or "-", ", ".join(sorted(graph.deps[name])) or "-")
        for name, r in graph.recipes.items()
    ]
    print(table(("RECIPE", "VERSION", "TYPE", "TAGS", "DEPENDS ON"), rows))
    return 0


def _graph(args: argparse.Namespace, options: Options) -> int:
    graph = _load_graph(options)
    selection = graph.select(args.selection)
    graph = graph.choosing(selection.variants)
    if args.json:
        emit_json({
            "requested": sorted(selection.requested),
            "variants": dict(sorted(selection.variants.items())),
            "pulled_in": sorted(selection.pulled_in),
            "order": list(selection.order),
            "packages": {
                name: {
                    "version": graph.recipes[name].version,
                    "type": graph.recipes[name].build.type,
                    "depends": sorted(graph.deps[name]),
                    "dependents": sorted(graph.dependents[name] & selection.closure),
                }
                for name in selection.order
            },
        })
        return 0
    roots = sorted(selection.requested)
    print(tree(
        roots,
        children=lambda n: sorted(graph.deps[n]),
        label=lambda n: f"{n} {graph.recipes[n].version}"
        + (f" (for {graph.variant_of[n]})" if n in graph.variant_of else ""),
    ))
    print(f"\n{len(selection.closure)} package(s); build order: {' '.join(selection.order)}")
    return 0
