"""``pyodist release``: check → fetch → build + bundle → test → verify → publish, in one run.

Every stage is recorded (status, seconds, error, exit code) in one report that is written as
``release.json`` and ``junit.xml`` into the release folder and printed for CI. A failing stage
stops the stages after it for that profile; other profiles go on, so one report shows every
problem. Nothing is published unless every stage passed: the release folder
``<out>/<name>-<version>/`` then holds the tarballs, their manifests and SBOMs, and a
``SHA256SUMS`` file, and appears by one rename.
"""

from __future__ import annotations

import json
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyodist.builder.session import BuildSession
from pyodist.bundle.assemble import MANIFEST, SBOM, bundle_name
from pyodist.bundle.make import make_bundle
from pyodist.bundle.testing import (
    BrowserSetup,
    EnvironmentReport,
    browser_setup,
    check_in_browser,
    check_in_node,
)
from pyodist.bundle.verify import verify_bundle
from pyodist.errors import PyodistError, RuntimeCheckError, VerifyError
from pyodist.fsutil import replace_dir, write_atomic
from pyodist.hashing import sha256_file
from pyodist.options import Options
from pyodist.project import Project, require_resolved
from pyodist.recipe import Recipe
from pyodist.sources.fetch import fetch_sources, make_fetcher
from pyodist.tree import load_graph

__all__ = ["ReleaseReport", "StageResult", "run_release"]


@dataclass
class StageResult:
    stage: str  # recipes | fetch | bundle | test-node | test-chromium | verify | publish
    profile: str | None
    status: str = "skipped"  # ok | failed | skipped
    seconds: float = 0.0
    error: str | None = None
    exit_code: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    checks: list[tuple[str, bool, float, str | None]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"stage": self.stage, "profile": self.profile,
                                "status": self.status, "seconds": round(self.seconds, 3)}
        if self.error:
            data |= {"error": self.error, "exit_code": self.exit_code}
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass
class ReleaseReport:
    name: str
    version: str
    profiles: tuple[str, ...]
    stages: list[StageResult] = field(default_factory=list)
    folder: Path | None = None  # the published release folder

    @property
    def ok(self) -> bool:
        return all(s.status == "ok" for s in self.stages)

    @property
    def exit_code(self) -> int:
        """The exit code of the first failed stage (its kind: 3 recipe, 8 build, ...)."""
        return next((s.exit_code for s in self.stages if s.status == "failed"), 0)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "ok": self.ok,
                "exit_code": self.exit_code, "profiles": list(self.profiles),
                "folder": str(self.folder) if self.folder else None,
                "stages": [s.to_json() for s in self.stages]}

    def junit(self) -> str:
        root = ET.Element("testsuites", name=f"pyodist release {self.name} {self.version}")
        for profile in (None, *self.profiles):
            stages = [s for s in self.stages if s.profile == profile]
            if not stages:
                continue
            label = profile or "release"
            suite = ET.SubElement(root, "testsuite", name=label)
            count = failures = skipped = 0
            for s in stages:
                cases = s.checks or [(s.stage, s.status != "failed", s.seconds, s.error)]
                if s.checks and s.error and not any(not ok for _, ok, _, _ in s.checks):
                    cases = [*cases, (s.stage, False, s.seconds, s.error)]
                for name, ok, seconds, error in cases:
                    count += 1
                    case = ET.SubElement(suite, "testcase", classname=f"{label}.{s.stage}",
                                         name=name, time=f"{seconds:.3f}")
                    if s.status == "skipped":
                        skipped += 1
                        ET.SubElement(case, "skipped", message="an earlier stage failed")
                    elif not ok:
                        failures += 1
                        ET.SubElement(case, "failure", message=(error or "failed")
                                      .splitlines()[0][:200]).text = error
            suite.set("tests", str(count))
            suite.set("failures", str(failures))
            suite.set("skipped", str(skipped))
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


@contextmanager
def _stage(result: StageResult, on_stage: Callable[[StageResult], None]) -> Iterator[None]:
    start = time.monotonic()
    try:
        yield
        result.status = "ok"
    except PyodistError as exc:
        result.status, result.error, result.exit_code = "failed", str(exc), exc.exit_code
    finally:
        result.seconds = time.monotonic() - start
        on_stage(result)


def _check_environment(report: EnvironmentReport, result: StageResult) -> None:
    result.detail = {"ready_seconds": round(report.ready_seconds, 3)}
    result.checks = [(c.name, c.ok, c.seconds, c.error) for c in report.checks]
    failed = [c for c in report.checks if not c.ok]
    if report.error or failed:
        details = "".join(f"\n  {c.name}: {(c.error or 'failed').splitlines()[0][:300]}"
                          for c in failed[:5])
        raise RuntimeCheckError(
            f"{report.environment}: " + (report.error or f"{len(failed)} check(s) failed:"
                                         + details),
            hint="run 'pyodist test BUNDLE' for the details of each check")


def run_release(options: Options, project: Project, profiles: Sequence[str], out: Path, *,
                browser: bool = True,
                on_stage: Callable[[StageResult], None] = lambda _s: None) -> ReleaseReport:
    """Run every stage for ``profiles`` of ``project``; publish into ``out`` if all pass."""
    report = ReleaseReport(project.name, project.version, tuple(profiles))
    require_resolved(options, project)
    session = BuildSession(options)

    def stage(name: str, profile: str | None = None) -> StageResult:
        result = StageResult(name, profile)
        report.stages.append(result)
        return result

    selection: dict[str, Recipe] = {}
    checked = stage("recipes")
    with _stage(checked, on_stage):
        graph = load_graph(options.recipe_dirs, [
            word for name in profiles for word in project.profile(name).packages])
        for name in profiles:
            for picked in graph.select(list(project.profile(name).packages)).order:
                selection[picked] = graph.recipes[picked]
        checked.detail = {"recipes": len(graph.recipes), "selected": len(selection)}
    fetched = stage("fetch")
    if checked.status == "ok":
        with _stage(fetched, on_stage):
            # a package whose artifact the cache holds needs no source: its build is a lookup
            plan = session.plan(tuple(selection))
            needed = [r for n, r in selection.items()
                      if n not in plan.tasks or not plan.tasks[n].cached]
            sources = fetch_sources(make_fetcher(options), needed)
            if sources.failed:
                raise next(iter(sources.failed.values()))
            fetched.detail = {"sources": sources.files,
                              "skipped_cached": len(selection) - len(needed)}

    built: dict[str, tuple[Path, Path]] = {}
    staging = out / f".{project.name}-{project.version}.staging"
    for profile in profiles:
        steps = [stage("bundle", profile), stage("test-node", profile)]
        steps += [stage("test-chromium", profile)] if browser else []
        steps.append(stage("verify", profile))
        if fetched.status == "ok":
            made = _profile_stages(session, project, profile, staging / "bundles",
                                   steps=steps, on_stage=on_stage)
            if made is not None:
                built[profile] = made

    published = stage("publish")
    if all(s.status == "ok" for s in report.stages if s is not published):
        with _stage(published, on_stage):
            report.folder = _publish(project, built, staging, out)
            published.detail = {"folder": str(report.folder)}
    shutil.rmtree(staging, ignore_errors=True)
    if report.folder is not None:
        write_atomic(report.folder / "release.json", json.dumps(report.to_json(), indent=1)
                     + "\n")
        write_atomic(report.folder / "junit.xml", report.junit())
    return report


def _profile_stages(session: BuildSession, project: Project, profile: str, dest: Path, *,
                    steps: list[StageResult],
                    on_stage: Callable[[StageResult], None]) -> tuple[Path, Path] | None:
    """bundle, then tests, then verify, each only if the one before passed."""
    bundled, *tests, verified = steps
    with _stage(bundled, on_stage):
        made = make_bundle(session, project, profile, dest)
        folder, tarball = made.folder, made.tarball
        bundled.detail = {"tarball": tarball.name, "sha256": sha256_file(tarball),
                          "bytes": tarball.stat().st_size,
                          # how many packages were built and how many came from the cache
                          "packages": dict(made.build["counts"]) if made.build else {}}
    if bundled.status != "ok":
        return None
    options = session.options
    for test in tests:
        with _stage(test, on_stage):
            env = (check_in_node(folder) if test.stage == "test-node"
                   else check_in_browser(folder, _browser(options)))
            _check_environment(env, test)
        if test.status != "ok":
            return None
    with _stage(verified, on_stage):
        problems = verify_bundle(folder)
        if problems:
            raise VerifyError(f"{folder.name}: " + "; ".join(problems[:5]),
                              hint="the bundle changed after it was written; run again")
    return (folder, tarball) if verified.status == "ok" else None


def _browser(options: Options) -> BrowserSetup:
    return browser_setup(options.project_root, options.chromium)


def _publish(project: Project, built: dict[str, tuple[Path, Path]], staging: Path,
             out: Path) -> Path:
    ready = staging / "release"
    ready.mkdir(parents=True)
    sums: list[str] = []
    for profile, (folder, tarball) in sorted(built.items()):
        stem = bundle_name(project, project.profile(profile))
        shutil.copyfile(tarball, ready / tarball.name)
        shutil.copyfile(folder / MANIFEST, ready / f"{stem}.manifest.json")
        shutil.copyfile(folder / SBOM, ready / f"{stem}.sbom.cdx.json")
    for path in sorted(ready.iterdir()):
        sums.append(f"{sha256_file(path)}  {path.name}\n")
    (ready / "SHA256SUMS").write_text("".join(sums))
    return replace_dir(ready, out / f"{project.name}-{project.version}")
