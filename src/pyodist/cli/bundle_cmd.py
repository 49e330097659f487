"""``pyodist bundle`` and ``pyodist verify``."""

from __future__ import annotations

import argparse
from pathlib import Path

from pyodist.builder.session import BuildFailed, BuildSession
from pyodist.bundle.make import make_bundle, rebuild_differences
from pyodist.bundle.verify import NOT_A_BUNDLE, bundle_folder, verify_bundle
from pyodist.cli.args import add_jobs
from pyodist.cli.progress import build_sink
from pyodist.cli.render import build_summary, emit_json
from pyodist.errors import VerifyError
from pyodist.fsutil import output_folder
from pyodist.hashing import sha256_file
from pyodist.options import Options
from pyodist.project import PROJECT_FILE

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bundle = sub.add_parser(
        "bundle", help="build a profile and assemble its runtime bundle",
        description="Build the packages of a profile of pyodist.toml (cached), then write "
                    "dist/<name>-<version>-<profile>/ (Pyodide core, stdlib, wheels, "
                    "pyodide-lock.json, manifest.json, sbom.cdx.json) and a deterministic "
                    ".tar.gz beside it. Recipe directories and the runtime come from the "
                    "project file (the global --recipe-dir does not apply).",
    )
    bundle.add_argument("--profile", metavar="NAME",
                        help="profile of pyodist.toml (default: its default-profile)")
    bundle.add_argument("--project", type=Path, metavar="FILE",
                        help=f"project file, or its folder (default: ./{PROJECT_FILE})")
    bundle.add_argument("--out", type=Path, default=Path("dist"), metavar="DIR",
                        help="output folder (default: dist)")
    add_jobs(bundle, what="packages built")
    bundle.add_argument("--json", action="store_true", help="print a JSON summary")
    bundle.set_defaults(handler=_bundle, project_use="required")

    verify = sub.add_parser(
        "verify", help="check a bundle against its manifest, or rebuild and compare",
        description="Re-hash every file of BUNDLE (a folder or its .tar.gz) against "
                    "manifest.json and the lock. With --rebuild, also build the same profile "
                    "again from empty caches and compare byte for byte.",
    )
    verify.add_argument("bundle", type=Path, metavar="BUNDLE")
    verify.add_argument("--rebuild", action="store_true",
                        help="rebuild from clean caches and compare (slow)")
    verify.add_argument("--project", type=Path, metavar="FILE",
                        help=f"project file or folder for --rebuild (default: ./{PROJECT_FILE})")
    verify.add_argument("--json", action="store_true", help="print a JSON report")
    verify.set_defaults(handler=_verify,
                        project_use=lambda a: "required" if a.rebuild else "none")


def _bundle(args: argparse.Namespace, options: Options) -> int:
    project = args.loaded_project
    session = BuildSession(options)
    out = output_folder(options.project_root / args.out, "--out")
    try:
        with build_sink(plain=options.plain, quiet=args.json) as sink:
            result = make_bundle(session, project, args.profile, out,
                                 on_event=sink)
    except BuildFailed as failed:
        if not args.json:
            print(build_summary(failed.report))
        raise
    summary = {"folder": str(result.folder), "tarball": str(result.tarball),
               "tarball_sha256": sha256_file(result.tarball), "bytes": result.total_bytes,
               "files": result.files, "build": result.build}
    if args.json:
        emit_json(summary)
    else:
        print(f"bundle {result.folder.name}: {result.files} files, "
              f"{result.total_bytes / 1e6:.1f} MB (raw, without .br/.gz)")
        print(f"  folder  {result.folder}")
        print(f"  tarball {result.tarball}")
        print(f"  sha256  {summary['tarball_sha256']}")
        store = (result.build or {}).get("store")
        if store:
            counts = result.build["counts"] if result.build else {}
            print(f"  built {counts.get('built', 0)}, artifact store {store['url']}: "
                  f"{len(store['pulled'])} pulled, {len(store['pushed'])} pushed")
    return 0


def _verify(args: argparse.Namespace, options: Options) -> int:
    with bundle_folder(args.bundle.resolve()) as folder:
        problems = verify_bundle(folder)
        diffs: list[str] = []
        if args.rebuild and not problems:
            diffs = rebuild_differences(options, args.loaded_project, folder)
    if args.json:
        emit_json({"bundle": str(args.bundle), "ok": not problems and not diffs,
                   "problems": problems, "rebuild_differences": diffs})
    if problems and problems[0].startswith(NOT_A_BUNDLE):
        raise VerifyError(f"{args.bundle}: {problems[0]}" + "".join(
            f"\n  {p}" for p in problems[1:]),
            hint="pass a bundle folder or .tar.gz written by 'pyodist bundle'")
    if problems:
        raise VerifyError(f"{args.bundle}: {len(problems)} problem(s):\n"
                          + "\n".join(f"  {p}" for p in problems),
                          hint="the bundle was changed after it was built; build it again")
    if diffs:
        raise VerifyError(f"{args.bundle}: the rebuild differs:\n"
                          + "\n".join(f"  {d}" for d in diffs),
                          hint="a build input is not pinned; compare the two manifests")
    if not args.json:
        what = "matches its manifest" + (" and a clean rebuild" if args.rebuild else "")
        print(f"{args.bundle}: ok, every file {what}")
    return 0
