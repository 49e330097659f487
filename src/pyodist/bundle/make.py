"""Make a profile's bundle: build its packages (cached), then assemble the bundle.

The caller hands in a :class:`~pyodist.builder.session.BuildSession` whose options were
resolved with the same project (``resolve_options(project=project.values())``); several
bundles of one run (``pyodist release``) share it, so the runtime and the toolchain are
looked up once.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from pyodist.builder.planner import BuildPlan
from pyodist.builder.report import BuildReport
from pyodist.builder.session import BuildRequest, BuildSession
from pyodist.bundle.assemble import MANIFEST, assemble, check_profile_targets
from pyodist.bundle.index_lock import LOCK_FILE, check_no_overlap, profile_pins
from pyodist.bundle.index_packages import index_package_inputs
from pyodist.bundle.inputs import BundleInputs, BundleResult, PackageInput
from pyodist.bundle.verify import compare_folders
from pyodist.errors import ConfigError, SelectionError, VerifyError
from pyodist.events import EventSink, ignore
from pyodist.options import Options
from pyodist.project import Profile, Project, require_resolved
from pyodist.recipe.spec import canonical_name
from pyodist.runtime.pyodide import RuntimeFacts
from pyodist.sources.cache import SourceCache
from pyodist.sources.fetch import make_fetcher
from pyodist.sources.resolve import TargetPlatform
from pyodist.targets import recipe_features

__all__ = ["make_bundle", "rebuild_differences"]


def _features(plan: BuildPlan) -> dict[str, tuple[str, ...]]:
    """WebAssembly features each package of ``plan`` needs: its flags and its libraries'."""
    return {name: recipe_features(task.recipe, [plan.tasks[lib].recipe
                                                for lib in task.libraries if lib in plan.tasks])
            for name, task in plan.tasks.items()}


def make_bundle(session: BuildSession, project: Project, profile_name: str | None, out: Path,
                *, on_event: EventSink = ignore) -> BundleResult:
    """Build and assemble ``profile_name`` (None: the default) of ``project`` into ``out``,
    ``session.options.jobs`` packages at a time.

    Raises BuildFailed (with the build report) when a package does not build, BundleError
    when the bundle cannot be assembled.
    """
    require_resolved(session.options, project)
    profile = project.profile(profile_name)
    runtime = session.runtime  # a runtime that cannot be had fails before any build
    # pins that are missing or stale fail before any build too
    pins = profile_pins(project, profile, target_platform(runtime))
    features: dict[str, tuple[str, ...]] = {}

    def check(plan: BuildPlan) -> None:
        # before building: a profile that cannot run on its target engines fails at once,
        # and so does one that takes a project both from a recipe and from the index
        features.update(_features(plan))
        check_profile_targets(project, profile, [(plan.tasks[n].recipe, f)
                                                 for n, f in features.items()])
        built = {t.recipe.dist_name for t in plan.tasks.values()}
        check_no_overlap(project, profile, built)
        stale = sorted(p.name for p in pins if canonical_name(p.name) in
                       {canonical_name(b) for b in built})
        if stale:
            raise ConfigError.single(
                f"{LOCK_FILE} pins {', '.join(stale)} for profile {profile.name!r}, which the "
                "profile now builds from a recipe", file=project.root / LOCK_FILE,
                key=f"profiles.{profile.name}",
                hint="run 'pyodist lock --upgrade' to resolve the index packages again")

    packages, report = _built_packages(session, project, profile, check=check,
                                       features=features, jobs=session.options.jobs,
                                       on_event=on_event)
    options = session.options
    packages += index_package_inputs(pins, make_fetcher(options),
                                     options.cache_dir / "index-wheels", project.root / LOCK_FILE)
    result = assemble(BundleInputs(project, profile, runtime, session.toolchain.summary,
                                   packages, options.source_date_epoch), out,
                      cache=options.cache_dir)
    return dataclasses.replace(result, build=report.to_json() if report else None)


def target_platform(runtime: RuntimeFacts) -> TargetPlatform:
    """What index wheels must fit to run on ``runtime``."""
    return TargetPlatform(runtime.python, runtime.abi_version)


def _built_packages(session: BuildSession, project: Project, profile: Profile, *,
                    check: Callable[[BuildPlan], None], features: dict[str, tuple[str, ...]],
                    jobs: int, on_event: EventSink,
                    ) -> tuple[list[PackageInput], BuildReport | None]:
    """The profile's recipes, built (or found cached), as bundle inputs, and the build's
    report; ``check`` fills ``features`` (each package's wasm features) from the plan before
    anything builds."""
    if not profile.packages:  # a profile of index wheels only
        return [], None
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
        # recorded in the artifact when it was built (the same wherever it is pulled to);
        # artifacts of older pyodist versions: the local source cache's record
        artifact = session.cache.get(task.key)
        meta = artifact.meta if artifact is not None else {}
        origin = meta["fetched_from"] if "fetched_from" in meta else \
            sources.fetched_from(src.sha256, src.url)
        packages.append(PackageInput(
            task.recipe, task.key, report.outcomes[name].files, task.patch_digests,
            features[name], origin))
    return packages, report


def rebuild_differences(options: Options, project: Project, folder: Path) -> list[str]:
    """Build the profile of the bundle at ``folder`` again from empty caches; the files that
    differ byte for byte (empty when the rebuild is identical)."""
    try:
        profile = json.loads((folder / MANIFEST).read_text())["distribution"]["profile"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VerifyError(f"{folder / MANIFEST}: no profile to rebuild ({exc})",
                          hint="rebuild a bundle written by 'pyodist bundle'") from None
    with tempfile.TemporaryDirectory(prefix="pyodist-rebuild-") as tmp:
        # no artifact store either: a rebuild that pulled would compare the store to itself
        require_resolved(options, project)
        clean = dataclasses.replace(options, cache_dir=Path(tmp) / "cache", artifact_store=None)
        again = make_bundle(BuildSession(clean), project, profile, Path(tmp) / "out")
        return compare_folders(folder, again.folder)
