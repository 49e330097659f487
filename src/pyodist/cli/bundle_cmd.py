"""``pyodist bundle`` and ``pyodist verify``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

from pyodist.build.planner import BuildPlan, recipe_inputs
from pyodist.bundle.assemble import (
    CORE_FILES,
    BundleInputs,
    BundleResult,
    PackageInput,
    assemble,
    check_profile_targets,
)
from pyodist.bundle.config import PROJECT_FILE, Project, load_project
from pyodist.bundle.features import recipe_features
from pyodist.bundle.verify import bundle_folder, compare_folders, verify_bundle
from pyodist.cli.build_cmd import print_summary, raise_for_failures, run_build
from pyodist.cli.render import emit_json
from pyodist.errors import ConfigError, VerifyError
from pyodist.options import DEFAULT_PYODIDE_INTEGRITY, DEFAULT_PYODIDE_VERSION, Options
from pyodist.runtime.pyodide import RuntimeSpec, ensure_runtime
from pyodist.sources.cache import sha256_file
from pyodist.toolchain import docker_client
from pyodist.toolchain.image import inspect_image

__all__ = ["add_parser", "make_bundle", "project_file"]


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
                        help=f"project file (default: ./{PROJECT_FILE})")
    bundle.add_argument("--out", type=Path, default=Path("dist"), metavar="DIR",
                        help="output folder (default: dist)")
    bundle.add_argument("-j", "--jobs", type=int, default=2, metavar="N",
                        help="packages built at once (default 2)")
    bundle.add_argument("--json", action="store_true", help="print a JSON summary")
    bundle.set_defaults(handler=_bundle)

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
                        help=f"project file for --rebuild (default: ./{PROJECT_FILE})")
    verify.add_argument("--json", action="store_true", help="print a JSON report")
    verify.set_defaults(handler=_verify)


def project_file(options: Options, path: Path | None) -> Project:
    """The project ``--project`` names, else ./pyodist.toml, loaded and validated."""
    return load_project((path or options.project_root / PROJECT_FILE).resolve())


def _runtime_dir(project: Project, options: Options) -> tuple[Path, str | None]:
    runtime = project.runtime
    if runtime.path is not None:
        missing = [f for f in (*CORE_FILES, "python_stdlib.zip", "pyodide-lock.json")
                   if not (runtime.path / f).is_file()]
        if missing:
            raise ConfigError.single(
                f"the runtime folder {runtime.path} lacks {', '.join(missing)}",
                file=project.path, key="runtime.path",
                hint="point it at an unpacked Pyodide core (the npm package's files)")
        return runtime.path, None
    integrity = runtime.integrity
    if integrity is None and runtime.pyodide == DEFAULT_PYODIDE_VERSION:
        integrity = DEFAULT_PYODIDE_INTEGRITY
    if integrity is None:
        raise ConfigError.single(
            f"Pyodide {runtime.pyodide} has no pinned integrity", file=project.path,
            key="runtime.integrity",
            hint=f'add integrity = "sha512-..." (npm view pyodide@{runtime.pyodide} '
                 "dist.integrity)")
    return ensure_runtime(RuntimeSpec(runtime.pyodide, integrity), options.cache_dir,
                          offline=options.offline), integrity


def _features(plan: BuildPlan) -> dict[str, tuple[str, ...]]:
    """WebAssembly features each package of ``plan`` needs: its flags and its libraries'."""
    return {name: recipe_features(task.recipe, [plan.tasks[lib].recipe
                                                for lib in task.libraries if lib in plan.tasks])
            for name, task in plan.tasks.items()}


def make_bundle(options: Options, project: Project, profile_name: str | None, out: Path, *,
                jobs: int = 2, quiet: bool = False) -> BundleResult:
    profile = project.profile(profile_name)
    options = dataclasses.replace(options, recipe_dirs=project.recipe_dirs,
                                  pyodide_version=project.runtime.pyodide)
    runtime_dir, integrity = _runtime_dir(project, options)
    features: dict[str, tuple[str, ...]] = {}

    def check(plan: BuildPlan) -> None:
        # before building: a profile that cannot run on its target engines fails at once
        features.update(_features(plan))
        check_profile_targets(project, profile, [(plan.tasks[n].recipe, f)
                                                 for n, f in features.items()])

    report = run_build(options, list(profile.packages), jobs=jobs, quiet=quiet, check=check)
    if not report.ok:
        if not quiet:
            print_summary(report)
        raise_for_failures(report, options)
    packages = []
    for name in report.plan.order:
        task = report.plan.tasks[name]
        inputs = recipe_inputs(task.recipe)
        patches = inputs.get("patches", {})
        packages.append(PackageInput(task.recipe, task.key, report.outcomes[name].files,
                                     dict(patches) if isinstance(patches, dict) else {},
                                     features[name]))
    toolchain: dict[str, str] = {"executor": options.executor}
    if options.executor == "docker":
        info = inspect_image(docker_client(), options.image)
        if info is not None:
            toolchain.update(info.summary())
            toolchain.pop("size", None)
    return assemble(BundleInputs(project, profile, runtime_dir, integrity, toolchain,
                                 packages, options.source_date_epoch), out)


def _bundle(args: argparse.Namespace, options: Options) -> int:
    project = project_file(options, args.project)
    out = (options.project_root / args.out).resolve()
    result = make_bundle(options, project, args.profile, out, jobs=args.jobs, quiet=args.json)
    summary = {"folder": str(result.folder), "tarball": str(result.tarball),
               "tarball_sha256": sha256_file(result.tarball), "bytes": result.total_bytes,
               "files": result.files}
    if args.json:
        emit_json(summary)
    else:
        print(f"bundle {result.folder.name}: {result.files} files, "
              f"{result.total_bytes / 1e6:.1f} MB (raw, without .br/.gz)")
        print(f"  folder  {result.folder}")
        print(f"  tarball {result.tarball}")
        print(f"  sha256  {summary['tarball_sha256']}")
    return 0


def _verify(args: argparse.Namespace, options: Options) -> int:
    with bundle_folder(args.bundle.resolve()) as folder:
        problems = verify_bundle(folder)
        diffs: list[str] = []
        if args.rebuild and not problems:
            manifest = json.loads((folder / "manifest.json").read_text())
            project = project_file(options, args.project)
            with tempfile.TemporaryDirectory(prefix="pyodist-rebuild-") as tmp:
                clean = dataclasses.replace(options, cache_dir=Path(tmp) / "cache")
                again = make_bundle(clean, project, manifest["distribution"]["profile"],
                                    Path(tmp) / "out", quiet=True)
                diffs = compare_folders(folder, again.folder)
    if args.json:
        emit_json({"bundle": str(args.bundle), "ok": not problems and not diffs,
                   "problems": problems, "rebuild_differences": diffs})
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
