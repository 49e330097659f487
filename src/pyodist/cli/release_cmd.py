"""``pyodist release``: the whole pipeline a maintainer's CI runs, with one report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from pyodist.cli.args import add_jobs
from pyodist.cli.render import emit_json, table
from pyodist.errors import EXIT_CODES, UsageError, exit_code_summary
from pyodist.fsutil import output_folder, write_atomic
from pyodist.options import Options
from pyodist.project import PROJECT_FILE
from pyodist.release import StageResult, run_release

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    release = sub.add_parser(
        "release", help="fetch, build, bundle, test and verify, then publish a release folder",
        description="Run the release pipeline for the profiles of pyodist.toml: validate the "
                    "recipes, fetch every source, build and bundle each profile, test each "
                    "bundle in Node and headless Chromium, verify it against its manifest, and "
                    "only if all of that passed write <out>/<name>-<version>/ (tarballs, "
                    "manifests, SBOMs, SHA256SUMS, release.json, junit.xml) by one rename.",
        epilog="The exit code is the first failed stage's: "
               + exit_code_summary((c, k) for c, k in EXIT_CODES if 3 <= c < 70) + ".",
    )
    release.add_argument("--profile", action="append", default=[], metavar="NAME",
                         help="profile to release, repeatable (default: every profile)")
    release.add_argument("--project", type=Path, metavar="FILE",
                         help=f"project file, or its folder (default: ./{PROJECT_FILE})")
    release.add_argument("--out", type=Path, default=Path("dist/release"), metavar="DIR",
                         help="where the release folder is written (default: dist/release)")
    add_jobs(release, what="packages built")
    release.add_argument("--no-browser", action="store_true",
                         help="test in Node only (skip headless Chromium)")
    release.add_argument("--junit", type=Path, metavar="FILE",
                         help="also write the JUnit report here (it is always in the folder)")
    release.add_argument("--json", action="store_true", help="print the report as JSON")
    release.set_defaults(handler=_release, project_use="required")


def _printer(quiet: bool) -> Callable[[StageResult], None]:
    def show(result: StageResult) -> None:
        if quiet:
            return
        where = f"[{result.profile}] " if result.profile else ""
        line = f"release: {where}{result.stage} {result.status} ({result.seconds:.1f} s)"
        print(line, file=sys.stderr, flush=True)
    return show


def _release(args: argparse.Namespace, options: Options) -> int:
    project = args.loaded_project
    profiles = args.profile or sorted(project.profiles)
    for name in profiles:
        project.profile(name)  # unknown names fail here, with the known ones listed
    if len(set(profiles)) != len(profiles):
        raise UsageError("a profile is named twice", hint="name each --profile once")
    out = output_folder(options.project_root / args.out, "--out")

    report = run_release(options, project, profiles, out,
                         browser=not args.no_browser, on_stage=_printer(args.json))
    if args.junit is not None:
        write_atomic(args.junit, report.junit())
    if args.json:
        emit_json(report.to_json())
    else:
        rows = [(s.profile or "-", s.stage, s.status, f"{s.seconds:.1f}")
                for s in report.stages]
        print(table(("PROFILE", "STAGE", "STATUS", "SECONDS"), rows))
        for s in report.stages:
            if s.status == "failed":
                print(f"\n✗ {s.profile or 'release'} {s.stage}: {s.error}")
        if report.folder is not None:
            print(f"\nreleased {project.name} {project.version}: {report.folder}")
            for path in sorted(report.folder.iterdir()):
                print(f"  {path.name}")
        else:
            print("\nnothing published: a stage failed (exit code "
                  f"{report.exit_code})", file=sys.stderr)
    return report.exit_code
