"""Make a profile's bundle: build its packages (cached), then assemble the bundle.

The caller hands in a :class:`~pyodist.builder.session.BuildSession` whose options came
from :func:`~pyodist.bundle.config.apply_project` for the same project; several bundles of
one run (``pyodist release``) share it, so the runtime and the toolchain are looked up once.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

from pyodist.builder.planner import BuildPlan
from pyodist.builder.session import BuildRequest, BuildSession
from pyodist.bundle.assemble import MANIFEST, assemble, check_profile_targets
from pyodist.bundle.config import Project, apply_project
from pyodist.bundle.features import recipe_features
from pyodist.bundle.inputs import BundleInputs, BundleResult, PackageInput
from pyodist.bundle.verify import compare_folders
from pyodist.errors import ConfigError, SelectionError, VerifyError
from pyodist.events import EventSink, ignore
from pyodist.options import Options
from pyodist.sources.cache import SourceCache

__all__ = ["make_bundle", "rebuild_differences"]


def _features(plan: BuildPlan) -> dict[str, tuple[str, ...]]:
    """WebAssembly features each package of ``plan`` needs: its flags and its libraries'."""
    return {name: recipe_features(task.recipe, [plan.tasks[lib].recipe
                                                for lib in task.libraries if lib in plan.tasks])
            for name, task in plan.tasks.items()}


def make_bundle(session: BuildSession, project: Project, profile_name: str | None, out: Path,
                *, jobs: int = 2, on_event: EventSink = ignore) -> BundleResult:
    """Build and assemble ``profile_name`` (None: the default) of ``project`` into ``out``.

    Raises BuildFailed (with the build report) when a package does not build, BundleError
    when the bundle cannot be assembled.
    """
    profile = project.profile(profile_name)
    runtime = session.runtime  # a runtime that cannot be had fails before any build
    features: dict[str, tuple[str, ...]] = {}

    def check(plan: BuildPlan) -> None:
        # before building: a profile that cannot run on its target engines fails at once
        features.update(_features(plan))
        check_profile_targets(project, profile, [(plan.tasks[n].recipe, f)
                                                 for n, f in features.items()])

    try:
        report = session.build(BuildRequest(tuple(profile.packages), jobs=jobs), check=check,
                               on_event=on_event)
    except SelectionError as exc:  # the profile names what the recipe folders do not have
        raise ConfigError.single(f"profile {profile.name!r}: {exc.message}", file=project.path,
                                 key=f"profiles.{profile.name}.packages",
                                 hint=exc.hint) from None
    session.raise_for_failures(report)
    sources = SourceCache(session.options.source_cache_dir)
    packages = []
    for name in report.plan.order:
        task = report.plan.tasks[name]
        src = task.recipe.source
        origin = sources.info(src.sha256).get("origin") if src.sha256 else None
        packages.append(PackageInput(
            task.recipe, task.key, report.outcomes[name].files, task.patch_digests,
            features[name], str(origin) if origin and origin != src.url else None))
    return assemble(BundleInputs(project, profile, runtime, session.toolchain.summary,
                                 packages, session.options.source_date_epoch), out)


def rebuild_differences(options: Options, project: Project, folder: Path) -> list[str]:
    """Build the profile of the bundle at ``folder`` again from empty caches; the files that
    differ byte for byte (empty when the rebuild is identical)."""
    try:
        profile = json.loads((folder / MANIFEST).read_text())["distribution"]["profile"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VerifyError(f"{folder / MANIFEST}: no profile to rebuild ({exc})",
                          hint="rebuild a bundle written by 'pyodist bundle'") from None
    with tempfile.TemporaryDirectory(prefix="pyodist-rebuild-") as tmp:
        clean = dataclasses.replace(apply_project(options, project),
                                    cache_dir=Path(tmp) / "cache")
        again = make_bundle(BuildSession(clean), project, profile, Path(tmp) / "out")
        return compare_folders(folder, again.folder)
