"""The command line imports only the module of the command it runs."""

from __future__ import annotations

import argparse

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
    assert _command_module(["--index-url=x", "serve", "B"]) == "test_cmd"
    # help, the version, unknown commands and malformed globals: the whole parser
    for argv in ([], ["--help"], ["build", "-h"], ["--version"], ["nosuch"],
                 ["--executor", "bad", "build"], ["--cache-dir"]):
        assert _command_module(argv) is None, argv

