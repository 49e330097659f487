"""``pyodist build``: recipes to wheels in the toolchain, cached by content."""

from __future__ import annotations

import argparse
import os
import re
import shutil
from pathlib import Path

from pyodist.builder.report import BuildReport
from pyodist.builder.session import BuildRequest, BuildSession
from pyodist.cli.progress import build_sink
from pyodist.cli.render import build_summary, emit_json
from pyodist.fsutil import remove_stale
from pyodist.options import Options

__all__ = ["add_parser"]

_COPY_TMP = re.compile(r"^\..+\.(whl|zip)\.(?P<pid>\d+)\.tmp$")  # a killed -o copy


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    build = sub.add_parser(
        "build", help="build wheels and libraries from recipes",
        description="Build SELECTION and everything it needs, in dependency order, inside the "
                    "toolchain container (no network). Results are cached under a key of the "
                    "recipe, its source, patches, the toolchain image and the keys of its "
                    "dependencies: unchanged packages are reused, a changed one rebuilds with "
                    "its dependents. Each wheel's test.imports are imported in Pyodide under "
                    "Node; a wheel that does not import is a failed build.",
    )
    build.add_argument("selection", nargs="*", default=["*"], metavar="SELECTION",
                       help="'*' (default), NAME, tag:TAG, !NAME")
    build.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                       help="packages built at once (default 1)")
    build.add_argument("-k", "--keep-going", action="store_true",
                       help="build everything that does not need a failed package")
    build.add_argument("--force", nargs="?", const="*", default=None, metavar="NAMES",
                       help="rebuild even if cached: all selected (no value) or a comma list, "
                            "with their dependents")
    build.add_argument("-o", "--out", type=Path, metavar="DIR",
                       help="also copy the wheels of the selection and its dependencies here")
    build.add_argument("--no-import-check", action="store_true",
                       help="do not import the wheels in Pyodide after building")
    build.add_argument("--keep-work", action="store_true",
                       help="keep each package's build folder (for debugging)")
    build.add_argument("--json", action="store_true",
                       help="print a JSON report on stdout (for CI)")
    build.set_defaults(handler=_build)


def _build(args: argparse.Namespace, options: Options) -> int:
    session = BuildSession(options)
    request = BuildRequest(tuple(args.selection), jobs=args.jobs, keep_going=args.keep_going,
                           force=args.force, import_check=not args.no_import_check,
                           keep_work=args.keep_work)
    with build_sink(plain=options.plain, quiet=args.json) as sink:
        report = session.build(request, on_event=sink)
    if args.out is not None:
        _copy_out(report, args.out)
    if args.json:
        emit_json(report.to_json())
    else:
        print(build_summary(report))
    session.raise_for_failures(report)
    return 0


def _copy_out(report: BuildReport, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    remove_stale(out, _COPY_TMP)
    for outcome in report.outcomes.values():
        for path in outcome.files:
            if path.suffix in (".whl", ".zip"):
                # the pid keeps two runs copying into one folder from sharing a temp file
                tmp = out / f".{path.name}.{os.getpid()}.tmp"
                try:
                    shutil.copy2(path, tmp)
                    os.replace(tmp, out / path.name)
                finally:
                    tmp.unlink(missing_ok=True)
