"""``pyodist build``: recipes to wheels in the toolchain, cached by content."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pyodist.builder.session import BuildRequest, BuildSession
from pyodist.builder.shards import ShardPlan, ShardSpec, parse_shard
from pyodist.cli.args import add_jobs
from pyodist.cli.progress import build_sink
from pyodist.cli.render import build_summary, emit_json
from pyodist.errors import ConfigError, UsageError
from pyodist.options import Options
from pyodist.project import (
    PROJECT_FILE,
    why_unreadable,
)

__all__ = ["add_parser"]



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
    build.add_argument("selection", nargs="*", default=[], metavar="SELECTION",
                       help="'*' (default), NAME, tag:TAG, !NAME")
    build.add_argument("--profile", nargs="?", const="", default=None, metavar="NAME",
                       help="build what profile NAME of the project file needs (no NAME: its "
                            "default-profile), with the project's recipe folders, as 'pyodist "
                            "bundle' would; the bundle itself is not assembled")
    build.add_argument("--project", type=Path, metavar="FILE",
                       help=f"the project file, or its folder, whose recipe folders, "
                            f"store and jobs apply, and whose profiles --profile names "
                            f"(default: ./{PROJECT_FILE} when there is one)")
    add_jobs(build, what="packages built")
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
                       help="keep the build folders (CACHE/work/kept-PID-TIME; for debugging)")
    build.add_argument("--json", action="store_true",
                       help="print a JSON report on stdout (for CI)")
    shard = build.add_argument_group(
        "sharding", "Split the plan across CI runners sharing --artifact-store: each runner "
                    "builds its own packages and pulls the rest (see 'pyodist plan --shards').")
    shard.add_argument("--shard", metavar="I/N",
                       help="build only shard I of N (balanced by the store's build timings, "
                            "else by package count)")
    shard.add_argument("--wave", type=int, metavar="W",
                       help="with --shard: only the packages of dependency level W (from 1)")
    shard.add_argument("--shard-plan", type=Path, metavar="FILE",
                       help="with --shard: take the split from FILE ('pyodist plan --shards N "
                            "--json'), so every runner uses the same one")
    build.set_defaults(
        handler=_build,
        # a profile needs the project file (a SELECTION beside it is a usage error, below)
        project_use=lambda a: "required" if a.profile is not None and not a.selection
        else "optional")


def _build(args: argparse.Namespace, options: Options) -> int:
    selection = tuple(args.selection) or ("*",)
    if args.profile is not None:
        if args.selection:
            raise UsageError("give a SELECTION or --profile, not both",
                             hint="--profile builds the packages the profile lists")
        project = args.loaded_project
        profile = project.profile(args.profile or None)
        selection = tuple(profile.packages)
        if not selection:
            print(f"profile {profile.name!r} takes no package from a recipe: nothing to build",
                  file=sys.stderr)
            return 0
    session = BuildSession(options)
    shard, shard_plan = _shard_args(args)
    request = BuildRequest(selection, jobs=options.jobs, keep_going=args.keep_going,
                           force=args.force, import_check=not args.no_import_check,
                           keep_work=args.keep_work, shard=shard, shard_plan=shard_plan)
    with build_sink(plain=options.plain, quiet=args.json) as sink:
        report = session.build(request, on_event=sink)
    if args.out is not None:
        report.copy_wheels(args.out)
    if args.json:
        emit_json(report.to_json())
    else:
        print(build_summary(report))
    session.raise_for_failures(report)
    return 0


def _shard_args(args: argparse.Namespace) -> tuple[ShardSpec | None, ShardPlan | None]:
    if args.shard is None:
        if args.wave is not None or args.shard_plan is not None:
            raise UsageError("--wave and --shard-plan go with --shard I/N",
                             hint="add --shard I/N, e.g. --shard 1/4 --wave 2")
        return None, None
    shard = parse_shard(args.shard, args.wave)
    if args.shard_plan is None:
        return shard, None
    try:
        data = json.loads(args.shard_plan.read_text())
    except OSError as exc:
        raise ConfigError.single(f"cannot read the shard plan: {exc.strerror}",
                                 file=args.shard_plan, key="--shard-plan",
                                 hint="write it with 'pyodist plan --shards N --json'") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError.single(f"the shard plan is not JSON ({why_unreadable(exc)})",
                                 file=args.shard_plan,
                                 key="--shard-plan",
                                 hint="write it with 'pyodist plan --shards N --json'") from None
    if not isinstance(data, dict):
        data = {}
    return shard, ShardPlan.from_json(data, file=args.shard_plan)
