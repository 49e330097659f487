"""The command line imports only the module of the command it runs."""

from __future__ import annotations

import argparse
import ast
import importlib.util
from pathlib import Path

from pyodist.cli import COMMANDS, _command_module, build_parser


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_each_module_adds_the_commands_the_table_names() -> None:
    for module, commands in COMMANDS.items():
        assert _commands(build_parser(module)) == set(commands), module
    assert _commands(build_parser()) == {c for cs in COMMANDS.values() for c in cs}


def test_the_command_is_found_after_global_options() -> None:
    assert _command_module(["python", "B", "-c", "pass"]) == "python_cmd"
    assert _command_module(["--cache-dir", "build", "--offline", "verify", "B"]) == "bundle_cmd"
    assert _command_module(["--index-url=x", "serve", "B"]) == "testbundle_cmd"
    # help, the version, unknown commands and malformed globals: the whole parser
    for argv in ([], ["--help"], ["build", "-h"], ["--version"], ["nosuch"],
                 ["--executor", "bad", "build"], ["--cache-dir"]):
        assert _command_module(argv) is None, argv



def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a name imported from a module, not a submodule
        return False


def _top_level_imports(module: str) -> set[str]:
    """The pyodist modules ``module`` imports when it is imported (not inside functions,
    not under ``TYPE_CHECKING``), each with its parent packages."""
    spec = importlib.util.find_spec(module)
    assert spec is not None, module
    if spec.origin is None:  # a namespace package (no __init__.py) imports nothing
        return set()
    tree = ast.parse(Path(spec.origin).read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from pyodist.bundle import venv` imports the submodule too
            names.update(f"{node.module}.{a.name}" for a in node.names)
    found = set()
    for name in names:
        if name.split(".")[0] != "pyodist" or not _is_module(name):
            continue
        parts = name.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found


def test_pyodist_python_does_not_import_the_builder() -> None:
    # `pyodist python` start-up is the user's: the builder, the source fetcher (requests)
    # and the recipe loader cost it about half a second on 2 cores, and it runs none of them
    seen, todo = set(), ["pyodist.cli.python_cmd"]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_top_level_imports(module))
    heavy = {m for m in seen if m.startswith(("pyodist.builder", "pyodist.sources",
                                                "pyodist.recipe", "pyodist.graph"))}
    assert not heavy, sorted(heavy)
