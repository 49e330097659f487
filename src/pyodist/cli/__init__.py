"""The ``pyodist`` command line: parse, resolve options once, call the library, map errors.

Each command group lives in its own module with an ``add_parser`` function; handlers take
``(args, options)`` and return an exit code. Every :class:`~pyodist.errors.PyodistError`
is printed here, without a traceback unless ``--debug``.

The project file is read here, once, before the options are resolved (it is the cascade's
second step): a command says with ``set_defaults(project_use=...)`` whether it needs one
(``"required"``), reads ./pyodist.toml (or ``--project``) when there is one (``"optional"``,
the default) or never reads it (``"none"``). Handlers find it as ``args.loaded_project``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pyodist import __version__
from pyodist.errors import (
    HOST_ERRNOS,
    INTERNAL_ERROR_EXIT,
    INTERRUPTED_EXIT,
    PATH_ERRNOS,
    HostError,
    PyodistError,
    exit_code_summary,
)
from pyodist.options import resolve_options
from pyodist.urls import redact_url

if TYPE_CHECKING:
    from pyodist.project import Project

__all__ = ["COMMANDS", "build_parser", "main"]

# Each command group's module (in `--help` order) and the commands it adds. A run imports
# only the module of the command it runs (`pyodist python` should not pay for the builder's
# imports); `--help`, and anything that names no known command, builds the whole parser.
COMMANDS: dict[str, tuple[str, ...]] = {
    "init_cmd": ("init",), "recipes_cmd": ("recipes",), "skeleton_cmd": ("skeleton",),
    "fetch_cmd": ("fetch",), "wheel_cmd": ("wheel",),
    "plan_cmd": ("plan",), "build_cmd": ("build",), "lock_cmd": ("lock",),
    "bundle_cmd": ("bundle", "verify"), "testbundle_cmd": ("test", "serve"),
    "python_cmd": ("python", "venv"), "testwheel_cmd": ("test-wheel",),
    "release_cmd": ("release",),
    "toolchain_cmd": ("toolchain",),
}


def _command_module(argv: Sequence[str]) -> str | None:
    """The module of the command ``argv`` runs, or None (help, or no known command)."""
    if any(a in ("-h", "--help", "--version") for a in argv):
        return None
    pre = _global_parser(add_help=False, parser_class=_QuietParser)
    try:
        _known, rest = pre.parse_known_args(list(argv))
    except _ParseError:  # a malformed global option: the full parser says what is wrong
        return None
    if not rest:
        return None
    return next((mod for mod, cmds in COMMANDS.items() if rest[0] in cmds), None)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser: every command, or with ``only`` the commands of that one
    module of :data:`COMMANDS`."""
    parser = _global_parser(add_help=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in ([only] if only else COMMANDS):
        importlib.import_module(f"pyodist.cli.{name}").add_parser(sub)
    return parser


class _ParseError(Exception):
    pass


class _QuietParser(argparse.ArgumentParser):
    """Raises instead of printing usage and exiting (for the look-ahead parse)."""

    def error(self, message: str) -> NoReturn:
        raise _ParseError(message)


def _global_parser(*, add_help: bool,
                   parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser,
                   ) -> argparse.ArgumentParser:
    parser = parser_class(
        prog="pyodist", add_help=add_help,
        description="Reproducible WebAssembly build toolchain for Pyodide distributions: "
                    "read meta.yaml recipes, build wheels with Emscripten in a pinned Docker "
                    "toolchain, and assemble versioned runtime bundles.",
        epilog=f"Exit codes: {exit_code_summary()}.",
    )
    parser.add_argument("--version", action="version", version=f"pyodist {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks and debug output (also PYODIST_DEBUG=1)")
    parser.add_argument("--recipe-dir", action="append", default=[], metavar="DIR",
                        help="recipe directory; repeat to layer, later overriding earlier "
                             "(default: PYODIST_RECIPE_DIRS, else [build] recipe-dirs in "
                             "pyodist.toml, else ./recipes)")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="where sources, artifacts and work trees are cached "
                             "(default: PYODIST_CACHE_DIR, else ~/.cache/pyodist)")
    parser.add_argument("--offline", action="store_true",
                        help="never download; use only the cache (also PYODIST_OFFLINE=1)")
    parser.add_argument("--index-url", action="append", default=[], metavar="URL",
                        help="package index for 'pypi:' sources, repeatable (default: the "
                             "index pip is configured with)")
    parser.add_argument("--image", metavar="TAG",
                        help="toolchain image (default: PYODIST_IMAGE, else "
                             "pyodist-toolchain:<pyodide version>)")
    parser.add_argument("--executor", choices=("docker", "host"),
                        help="where build steps run (default: PYODIST_EXECUTOR, else docker)")
    parser.add_argument("--artifact-store", metavar="oci://HOST[:PORT]/REPO",
                        help="share built artifacts through this OCI registry repository: pull "
                             "what the local cache lacks, push what is built (default: "
                             "PYODIST_ARTIFACT_STORE, else [build] artifact-store in "
                             "pyodist.toml, else none)")
    parser.add_argument("--artifact-store-readonly", action="store_true",
                        help="pull from the artifact store, never push "
                             "(also PYODIST_ARTIFACT_STORE_READONLY=1)")
    parser.add_argument("--artifact-store-optional", action="store_true",
                        help="an artifact store that does not answer is a warning and local "
                             "builds, not an error (also PYODIST_ARTIFACT_STORE_OPTIONAL=1)")
    return parser


def _terminate(_signum: int, _frame: object) -> None:
    # SIGTERM (CI cancelling a job) unwinds like Ctrl-C, so build containers are removed.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for stream in (sys.stdout, sys.stderr):
        # an output that cannot encode a name (PYTHONIOENCODING=ascii) shows it escaped
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    parser = build_parser(_command_module(argv))
    args = parser.parse_args(argv)
    debug = args.debug
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        args.loaded_project = project = _project(args)
        options = resolve_options(
            project=project.values() if project is not None else None,
            jobs=getattr(args, "jobs", None),
            recipe_dirs=args.recipe_dir,
            cache_dir=args.cache_dir, offline=args.offline, index_urls=args.index_url,
            image=args.image, executor=args.executor,
            artifact_store=args.artifact_store, store_readonly=args.artifact_store_readonly,
            store_optional=args.artifact_store_optional,
            debug=args.debug, is_tty=sys.stderr.isatty(),
        )
        debug = options.debug
        code: int = args.handler(args, options)
    except PyodistError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {redact_url(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT
    except BrokenPipeError:
        return 0
    except OSError as exc:
        if exc.errno in HOST_ERRNOS or exc.errno in PATH_ERRNOS:
            return _host_error(exc, debug)
        return _internal_error()
    except Exception:  # noqa: BLE001 - last resort: say it is our bug, not the user's
        return _internal_error()
    return code


def _project(args: argparse.Namespace) -> Project | None:
    """The project file the command runs with (see the module text)."""
    use = getattr(args, "project_use", "optional")
    if callable(use):  # it depends on the command's own arguments
        use = use(args)
    named = getattr(args, "project", None)
    if use == "none":
        return None
    # the project reader (TOML, packaging) is imported only by commands that may read one
    from pyodist.project import PROJECT_FILE, find_project  # noqa: PLC0415

    cwd = Path.cwd()
    if use == "required" or named is not None or (cwd / PROJECT_FILE).is_file():
        return find_project(cwd, named)
    return None


def _internal_error() -> int:
    traceback.print_exc()
    print("error: internal error in pyodist (the traceback above is a bug; please report "
          "it)", file=sys.stderr)
    return INTERNAL_ERROR_EXIT


def _host_error(exc: OSError, debug: bool) -> int:
    """A full disk, a read-only folder, an output that takes nothing: one line, exit 13."""
    if debug:
        traceback.print_exc()
    where = exc.filename or "the output"
    if exc.errno in PATH_ERRNOS:  # a path that cannot be used as it is
        with contextlib.suppress(OSError):
            print(f"error: {where}: {exc.strerror or exc}", file=sys.stderr)
            print("  fix: check that path (a folder where a folder is expected, no file in "
                  "the way, names under 255 characters, no link loops)", file=sys.stderr)
        return HostError.exit_code
    with contextlib.suppress(OSError):  # the output that failed is not written to again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    with contextlib.suppress(OSError):
        print(f"error: {where}: {exc.strerror or exc}", file=sys.stderr)
        print("  fix: free space, or choose a folder you can write to", file=sys.stderr)
    return HostError.exit_code


if __name__ == "__main__":
    sys.exit(main())
