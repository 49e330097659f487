"""Run a build plan: recipes to wheels and library artifacts, in parallel, cached by content.

For each package the engine, in a worker thread:

1. fetches and verifies the source and prepares the patched tree (host side);
2. writes a copy of the recipe whose ``source`` points at that tree, unpacks the library
   artifacts it links against into its build folder and, for packages that build against a
   cross-build package (numpy), lays out that package's wasm headers;
3. makes the build backend's wheels available offline (:mod:`pyodist.build.backends`);
4. runs pyodide-build's recipe builder in the toolchain (``guest_build.sh``);
5. normalises the outputs (reproducible wheels and archives), imports the wheel's
   ``test.imports`` in Pyodide under Node, and stores the result in the artifact cache.

The main thread schedules: a package starts when everything it needs is built or cached;
with ``keep_going`` a failure only stops the packages that need it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import threading
import time
import zipfile
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from pyodist.build.archive import extract_tar, write_tar
from pyodist.build.backends import BackendWheelhouse, build_requirements
from pyodist.build.cache import Artifact, ArtifactCache
from pyodist.build.planner import BuildPlan, BuildTask
from pyodist.build.wheel import (
    normalize_wheel,
    normalize_zip,
    scrub_random_paths,
    unvendor_tests,
)
from pyodist.errors import BuildError, PyodistError
from pyodist.events import BuildFinished, BuildPhase, BuildStarted, EventSink, ignore
from pyodist.fsutil import remove_stale
from pyodist.recipe.spec import Recipe
from pyodist.runtime.node import check_imports
from pyodist.sources.cache import sha256_file
from pyodist.sources.fetch import Fetcher
from pyodist.sources.prepare import prepare_source
from pyodist.toolchain.executor import Executor, Step

__all__ = [
    "BuildEngine",
    "BuildOutcome",
    "BuildReport",
    "driver_script",
    "guest_paths",
    "remove_stale_run_folders",
    "report_json",
    "run_folder",
    "signature_mismatches",
]

Status = Literal["built", "cached", "failed", "blocked", "skipped"]
LOG_TAIL_LINES = 25
# In-container locations (the Docker executor mounts the run folder and the wheelhouse here);
# fixed, so that no random path can end up inside a build's output.
GUEST_WORK = "/pyodist/work"
GUEST_WHEELHOUSE = "/pyodist/wheelhouse"
IMAGE_WHEELHOUSE = "/opt/wheelhouse"
_RUN_FOLDER = re.compile(r"^run-(?P<pid>\d+)-\d+$")  # run-<pid>-<unix time>


def guest_paths(work: Path, wheelhouse: Path) -> dict[Path, str]:
    """Host folders the build container needs, and where it sees them."""
    return {work: GUEST_WORK, wheelhouse: GUEST_WHEELHOUSE}


def driver_script() -> str:
    """The text of the in-toolchain build driver (part of every cache key)."""
    return (resources.files("pyodist.build") / "guest_build.sh").read_text()


@dataclass(frozen=True)
class BuildOutcome:
    name: str
    status: Status
    key: str
    seconds: float = 0.0
    files: tuple[Path, ...] = ()
    log: Path | None = None
    error: str | None = None
    log_tail: str = ""
    blocked_by: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status, "key": self.key, "seconds": round(self.seconds, 2),
            "files": [str(f) for f in self.files],
            "log": str(self.log) if self.log else None,
            "error": self.error, "log_tail": self.log_tail or None,
            "blocked_by": list(self.blocked_by),
        }


@dataclass
class BuildReport:
    plan: BuildPlan
    outcomes: dict[str, BuildOutcome] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(o.status in ("built", "cached") for o in self.outcomes.values())

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes.values() if o.status == status)

    def failed(self) -> list[BuildOutcome]:
        return [o for n, o in self.outcomes.items() if o.status == "failed"]

    def blocked_by(self, name: str) -> list[str]:
        return [o.name for o in self.outcomes.values()
                if o.status == "blocked" and name in o.blocked_by]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "seconds": round(self.seconds, 2),
            "counts": {s: self.count(s) for s in ("built", "cached", "failed", "blocked",
                                                  "skipped")},
            "target": {"pyodide": self.plan.target.pyodide_version,
                       "abi": self.plan.target.abi,
                       "toolchain": self.plan.target.toolchain_id},
            "packages": {n: self.outcomes[n].to_json() for n in self.plan.order
                         if n in self.outcomes},
        }


@dataclass
class _Schedule:
    pending: list[str]
    running: dict[Future[BuildOutcome], str] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    bad: set[str] = field(default_factory=set)


def _gib(size: int | None) -> str:
    return "no limit" if size is None else f"{size / 1024**3:.3g} GiB"


class _TaskFailed(Exception):
    def __init__(self, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.log = log


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FIRST_ERROR = re.compile(r"(\berror:|\bError:|\bERROR\b|fatal error|Traceback)")


def _tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """The end of a log, preceded by its first error when that lies further up.

    Build logs end with the tool's traceback, while the cause (a compiler message, a missing
    module) is often printed much earlier.
    """
    if path is None or not path.is_file():
        return ""
    text = path.read_bytes()[-400_000:].decode("utf-8", "replace")
    all_lines = [_ANSI.sub("", line).rstrip() for line in text.rstrip().splitlines()]
    tail = all_lines[-lines:]
    start = len(all_lines) - len(tail)
    first = next((i for i, line in enumerate(all_lines) if _FIRST_ERROR.search(line)), None)
    if first is None or first >= start - 2:
        return "\n".join(tail)
    head = all_lines[max(0, first - 2): first + 8]
    return "\n".join([*head, "...", *all_lines[-(lines - len(head)):]])


def _snapshot(root: Path) -> dict[str, str]:
    """Relative path -> content digest of every file (and link target) under ``root``."""
    found: dict[str, str] = {}
    if not root.exists():
        return found
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = "link:" + str(path.readlink())
        elif path.is_file():
            found[rel] = sha256_file(path)
    return found


class BuildEngine:
    """Executes a :class:`BuildPlan` with one executor; see the module text."""

    def __init__(
        self,
        plan: BuildPlan,
        *,
        cache: ArtifactCache,
        fetcher: Fetcher,
        executor: Executor,
        wheelhouse: BackendWheelhouse,
        work: Path,
        logs: Path,
        runtime_dir: Path | None,
        epoch: int,
        jobs: int = 1,
        keep_going: bool = False,
        keep_work: bool = False,
        on_event: EventSink = ignore,
    ) -> None:
        self.plan = plan
        self.cache = cache
        self.fetcher = fetcher
        self.executor = executor
        self.wheelhouse = wheelhouse
        self.work = work
        self.logs = logs
        self.runtime_dir = runtime_dir
        self.epoch = epoch
        self.jobs = max(1, jobs)
        self.keep_going = keep_going
        self.keep_work = keep_work
        self.on_event = on_event
        self._artifacts: dict[str, Artifact] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # ------------------------------------------------------------------ scheduling

    def run(self) -> BuildReport:
        report = BuildReport(self.plan)
        start = time.monotonic()
        state = _Schedule(pending=list(self.plan.order))
        self._prepare_run()
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="build") as pool:
            try:
                while state.pending or state.running:
                    self._start_ready(state, report, pool)
                    if not state.running:
                        continue
                    finished, _ = wait(state.running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        name = state.running.pop(future)
                        outcome = future.result()
                        report.outcomes[name] = outcome
                        if outcome.status in ("built", "cached"):
                            state.done.add(name)
                        else:
                            state.bad.add(name)
                            if not self.keep_going:
                                self._stop.set()
                        self.on_event(BuildFinished(name, outcome.status, outcome.seconds))
            except BaseException:
                self._stop.set()
                for future in state.running:
                    future.cancel()
                raise
        report.seconds = time.monotonic() - start
        return report

    def _start_ready(self, state: _Schedule, report: BuildReport,
                     pool: ThreadPoolExecutor) -> None:
        """Settle blocked and cached packages; submit what can build now."""
        for name in list(state.pending):
            task = self.plan.tasks[name]
            if any(d in state.bad for d in task.deps):
                state.pending.remove(name)
                state.bad.add(name)
                roots = tuple(sorted(self._root_failures(name, report)))
                report.outcomes[name] = BuildOutcome(name, "blocked", task.key,
                                                     blocked_by=roots)
                self.on_event(BuildFinished(name, "blocked", 0.0))
            elif self._stop.is_set():
                state.pending.remove(name)
                report.outcomes[name] = BuildOutcome(name, "skipped", task.key)
            elif all(d in state.done for d in task.deps):
                found = self.cache.get(task.key) if task.cached else None
                if found is not None:
                    state.pending.remove(name)
                    self._remember(name, found)
                    state.done.add(name)
                    report.outcomes[name] = BuildOutcome(name, "cached", task.key,
                                                         files=tuple(found.paths()))
                    self.on_event(BuildFinished(name, "cached", 0.0))
                elif len(state.running) < self.jobs:
                    state.pending.remove(name)
                    state.running[pool.submit(self._build_one, task)] = name

    def _prepare_run(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self._driver_source(), self.work / "guest_build.sh")
        if not self.plan.to_build:
            return
        self.executor.lend(self.work)
        log = self.logs / "prepare.log"
        result = self.executor.run(Step(
            "prepare", ("bash", self.executor.guest_path(self.work / "guest_build.sh"),
                        "--prepare", self.executor.guest_path(self.work)),
            self.work, log=log))
        if not result.ok:
            raise BuildError(f"preparing the toolchain for this run failed:\n{_tail(log, 10)}",
                             hint=f"the full log is {log}")

    def _root_failures(self, name: str, report: BuildReport) -> set[str]:
        roots: set[str] = set()
        for dep in self.plan.tasks[name].deps:
            outcome = report.outcomes.get(dep)
            if outcome is None:
                continue
            if outcome.status == "failed":
                roots.add(dep)
            elif outcome.status == "blocked":
                roots.update(outcome.blocked_by)
        return roots

    @staticmethod
    def _driver_source() -> Path:
        return Path(str(resources.files("pyodist.build") / "guest_build.sh"))

    # ------------------------------------------------------------------ one package

    def _build_one(self, task: BuildTask) -> BuildOutcome:
        start = time.monotonic()
        self.on_event(BuildStarted(task.name, task.recipe.version))
        log = self.logs / f"{task.name}.log"
        try:
            if self._stop.is_set():
                return BuildOutcome(task.name, "skipped", task.key)
            with self.cache.lock(task.key):
                found = self.cache.get(task.key)
                if found is not None and not task.forced:  # another run stored it meanwhile
                    self._remember(task.name, found)
                    return BuildOutcome(task.name, "cached", task.key,
                                        files=tuple(found.paths()))
                artifact = self._produce(task, log)
            self._remember(task.name, artifact)
            return BuildOutcome(task.name, "built", task.key, time.monotonic() - start,
                                tuple(artifact.paths()), log)
        except _TaskFailed as exc:
            where = exc.log or log
            return BuildOutcome(task.name, "failed", task.key, time.monotonic() - start,
                                log=where if where.exists() else None, error=str(exc),
                                log_tail=_tail(where))
        except PyodistError as exc:
            return BuildOutcome(task.name, "failed", task.key, time.monotonic() - start,
                                log=log if log.exists() else None, error=str(exc),
                                log_tail=_tail(log))

    def _remember(self, name: str, artifact: Artifact) -> None:
        with self._lock:
            self._artifacts[name] = artifact

    def _artifact(self, name: str) -> Artifact:
        with self._lock:
            return self._artifacts[name]

    def _produce(self, task: BuildTask, log: Path) -> Artifact:
        recipe = task.recipe
        folder = self.work / task.name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"pyodist: {recipe.name} {recipe.version} key {task.key}\n")
        try:
            self.on_event(BuildPhase(task.name, "source"))
            fetched = self.fetcher.fetch(recipe)
            tree = prepare_source(recipe, fetched, folder / "src",
                                  extra=self.fetcher.fetch_extra(recipe))
            if recipe.source.is_wheel:
                files = self._prebuilt_wheel(tree, folder)
                backends: dict[str, str] = {}
            else:
                backends = self._setup(task, tree, folder)
                self.on_event(BuildPhase(task.name, "compile"))
                files = self._compile(task, folder, log)
            if recipe.build.type == "package":
                self.on_event(BuildPhase(task.name, "check"))
                self._check_imports(task, files, log)
            return self.cache.put(task.key, task.name, files, {
                "recipe": recipe.name, "version": recipe.version, "type": recipe.build.type,
                "source_sha256": recipe.source.sha256,
                "toolchain": self.plan.target.toolchain_id,
                "pyodide": self.plan.target.pyodide_version, "abi": self.plan.target.abi,
                "source_date_epoch": self.epoch, "build_backends": backends,
                "deps": {d: self.plan.tasks[d].key for d in task.deps},
            })
        finally:
            if not self.keep_work:
                shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def _prebuilt_wheel(tree: Path, folder: Path) -> list[Path]:
        wheels = sorted(tree.glob("*.whl"))
        out = folder / "out"
        out.mkdir()
        return [Path(shutil.copy2(w, out / w.name)) for w in wheels]

    def _setup(self, task: BuildTask, tree: Path, folder: Path) -> dict[str, str]:
        recipe = task.recipe
        guest = self.executor.guest_path
        data = self._recipe_copy(recipe, guest(tree))
        target = folder / "recipes" / recipe.name
        target.mkdir(parents=True)
        (target / "meta.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        for name in ("patches", "extras"):  # applied already, but scripts may read them
            if (recipe.folder / name).is_dir():
                shutil.copytree(recipe.folder / name, target / name)
        libs = folder / "build" / ".libs"
        libs.mkdir(parents=True)
        for lib in task.libraries:
            for path in self._artifact(lib).paths():
                if path.name.endswith("-libs.tar"):
                    extract_tar(path, libs)
        cross = self._cross_packages(task)
        if cross:
            self._write_cross(cross, folder / "cross")
        backends: dict[str, str] = {}
        if recipe.build.type == "package":
            requires = list(build_requirements(tree, where=str(recipe.path)))
            requires += [f"{recipe.dist_name}=={recipe.version}" for recipe, _ in cross]
            if recipe.build.cross_build_env:
                # pyodide-build installs the native build of a cross-build package into the
                # host site-packages and overlays its wasm headers (cross-build-files)
                requires.append(f"{recipe.dist_name}=={recipe.version}")
            backends = self.wheelhouse.ensure(requires, where=str(recipe.path),
                                              constraints=recipe.requirements.constraint)
        return backends

    @staticmethod
    def _recipe_copy(recipe: Recipe, source_path: str) -> dict[str, Any]:
        """The recipe's YAML with its source replaced by the prepared tree."""
        data = yaml.safe_load(recipe.path.read_text(encoding="utf-8"))
        # pyodide-build rejects a section left empty (`build:` with only comments under it)
        data = {k: v for k, v in data.items() if v is not None}
        data["source"] = {"path": source_path}
        # pyodist's own keys (pyodide-build rejects keys it does not know)
        if isinstance(data.get("package"), dict):
            data["package"] = {k: v for k, v in data["package"].items() if k != "variant-of"}
        build = recipe.build
        if build.is_library and build.script and (build.cflags or build.cxxflags
                                                   or build.ldflags):
            # pyodide-build applies build/cflags only to packages; a library script compiles
            # with $SIDE_MODULE_CFLAGS etc., so the recipe's flags go there, last (they win)
            prelude = "".join(
                f'export {var}="${{{var}:-}} "{shlex.quote(flags)}\n'
                for var, flags in (("SIDE_MODULE_CFLAGS", build.cflags),
                                   ("SIDE_MODULE_CXXFLAGS", build.cxxflags),
                                   ("SIDE_MODULE_LDFLAGS", build.ldflags)) if flags)
            data["build"] = {**data["build"], "script": prelude + build.script}
            for key in ("cflags", "cxxflags", "ldflags"):
                data["build"].pop(key, None)
        return data

    def _cross_packages(self, task: BuildTask) -> list[tuple[Recipe, Artifact]]:
        """Cross-build packages (``build: cross-build-env: true``) among the build deps."""
        return [(self.plan.tasks[dep].recipe, self._artifact(dep))
                for dep in self._all_deps(task.name)
                if self.plan.tasks[dep].recipe.build.cross_build_env]

    def _all_deps(self, name: str) -> list[str]:
        seen: list[str] = []
        todo = list(self.plan.tasks[name].deps)
        while todo:
            dep = todo.pop(0)
            if dep not in seen:
                seen.append(dep)
                todo.extend(self.plan.tasks[dep].deps)
        return sorted(seen)

    @staticmethod
    def _write_cross(cross: list[tuple[Recipe, Artifact]], root: Path) -> None:
        extras = root / "site-packages-extras"
        extras.mkdir(parents=True)
        lines = []
        for recipe, artifact in cross:
            lines.append(f"{recipe.dist_name}=={recipe.version}\n")
            wheel = next(p for p in artifact.paths() if p.name.endswith(".whl"))
            with zipfile.ZipFile(wheel) as zf:
                for member in recipe.build.cross_build_files:
                    target = extras / member
                    target.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        target.write_bytes(zf.read(member))
                    except KeyError:
                        raise BuildError(
                            f"{recipe.path}: build/cross-build-files lists {member!r}, which "
                            f"is not in {wheel.name}",
                            hint="list paths as they appear inside the built wheel",
                        ) from None
        (root / "requirements.txt").write_text("".join(lines))

    def _compile(self, task: BuildTask, folder: Path, log: Path) -> list[Path]:
        recipe = task.recipe
        libs = folder / "build" / ".libs"
        before = _snapshot(libs)
        home = folder / ".home"  # pip and friends write there; the image's /tmp/home is shared
        home.mkdir(exist_ok=True)
        # a user of its own (root callers): the build can write its folder and nothing else
        user = self.executor.lend(folder, private=True)
        guest = self.executor.guest_path
        step = Step(
            f"build {recipe.name}",
            ("bash", guest(self.work / "guest_build.sh"), recipe.name, guest(folder)),
            folder,
            env={**self._environment(), "HOME": guest(home)},
            log=log,
            quota_dir=folder,
            user=user,
        )
        result = self.executor.run(step)
        limits = self.executor.limits
        if result.quota_exceeded:
            raise _TaskFailed(
                f"stopped: it wrote more than {_gib(limits.disk)} into its build folder "
                "(the disk quota; PYODIST_DISK_QUOTA raises it)", log)
        if result.timed_out:
            raise _TaskFailed(f"stopped: timed out after {result.seconds:.0f} s (the step time "
                              "limit; PYODIST_STEP_TIMEOUT raises it)", log)
        if result.killed:
            raise _TaskFailed(
                f"the build was killed (SIGKILL) after {result.seconds:.0f} s, most likely out "
                f"of memory (limit {_gib(limits.memory)}; PYODIST_MEMORY raises it)", log)
        if not result.ok:
            raise _TaskFailed(f"the build exited with status {result.returncode}", log)
        mismatched = signature_mismatches(log)
        if mismatched and recipe.build.type != "static_library":
            raise _TaskFailed(
                f"the linker found calls whose signature differs from the definition "
                f"({', '.join(mismatched[:8])}{', ...' if len(mismatched) > 8 else ''}); "
                "WebAssembly checks call types, so such a call traps when it runs. Make the "
                "declarations match the definitions (e.g. void vs int returns of Fortran-style "
                "routines) with a patch in the recipe", log)
        return self._collect(task, folder, before)

    def _environment(self) -> dict[str, str]:
        return {
            "SOURCE_DATE_EPOCH": str(self.epoch),
            "PIP_FIND_LINKS": " ".join((IMAGE_WHEELHOUSE,
                                        self.executor.guest_path(self.wheelhouse.wheels))),
            "PIP_NO_INDEX": "1",
            "PYTHONHASHSEED": "0",
        }

    def _collect(self, task: BuildTask, folder: Path, before: Mapping[str, str]) -> list[Path]:
        recipe = task.recipe
        dist = folder / "recipes" / recipe.name / "dist"
        out = folder / "out"
        out.mkdir()
        files: list[Path] = []
        if recipe.build.type == "package":
            wheels = sorted(dist.glob("*.whl"))
            if len(wheels) != 1:
                raise _TaskFailed(
                    f"expected one wheel in the build output, found {len(wheels)}: "
                    f"{', '.join(w.name for w in wheels) or 'none'}")
            wheel = Path(shutil.copy2(wheels[0], out / wheels[0].name))
            normalize_wheel(wheel, epoch=self.epoch, rewrite=scrub_random_paths)
            files.append(wheel)
            if recipe.build.unvendor_tests:
                tests = unvendor_tests(wheel, retain=recipe.build.retain_test_patterns,
                                       epoch=self.epoch)
                if tests is not None:
                    files.append(tests)
        elif recipe.build.type == "shared_library":
            for archive in sorted(dist.glob("*.zip")):
                files.append(normalize_zip(Path(shutil.copy2(archive, out / archive.name)),
                                           epoch=self.epoch))
        if recipe.build.is_library:
            libs = folder / "build" / ".libs"
            after = _snapshot(libs)
            installed = [rel for rel, digest in after.items() if before.get(rel) != digest]
            if not installed:
                raise _TaskFailed(
                    "the build script installed nothing into $WASM_LIBRARY_DIR (install the "
                    "headers and libraries there, e.g. 'make install PREFIX=$WASM_LIBRARY_DIR')")
            files.append(write_tar(out / f"{recipe.name}-{recipe.version}-libs.tar", libs,
                                   installed, epoch=self.epoch))
        return files

    def _check_imports(self, task: BuildTask, files: list[Path], log: Path) -> None:
        imports = task.recipe.test.imports
        if self.runtime_dir is None or not imports:
            return
        wheels: list[Path] = []
        for dep in task.runtime_deps:
            if self.plan.tasks[dep].recipe.build.type != "package":
                continue
            wheels += [p for p in self._artifact(dep).paths() if p.name.endswith(".whl")]
        wheels += [p for p in files if p.name.endswith(".whl")]
        report = check_imports(self.runtime_dir, wheels, imports)
        with log.open("a") as out:
            out.write(f"\n--- import check in Pyodide under Node ({report.seconds:.1f} s) ---\n")
            out.write((report.describe() or "all imports ok: " + ", ".join(imports)) + "\n")
        if not report.ok:
            raise _TaskFailed(f"the wheel does not import in Pyodide:\n{report.describe()}",
                              log)


_MISMATCH = re.compile(r"wasm-ld\S*: (?:warning|error): function signature mismatch: (\S+)")


def signature_mismatches(log: Path) -> list[str]:
    """Symbols wasm-ld reported as called with another signature than defined, in order."""
    found: dict[str, None] = {}
    with log.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if "signature mismatch" in line and (match := _MISMATCH.search(line)):
                found.setdefault(match.group(1), None)
    return list(found)


def remove_stale_run_folders(root: Path) -> list[Path]:
    """Remove the run folders of killed runs (whose process is gone).

    Stop their build containers first (remove_stale_containers): a step still running
    there writes into the folder while it is being removed.
    """
    return remove_stale(root, _RUN_FOLDER)


@contextlib.contextmanager
def run_folder(root: Path, *, keep: bool = False) -> Iterator[Path]:
    """A fresh work folder for one build run, removed afterwards unless ``keep``."""
    root.mkdir(parents=True, exist_ok=True)
    remove_stale_run_folders(root)
    folder = root / f"run-{os.getpid()}-{int(time.time())}"
    folder.mkdir()
    try:
        yield folder
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def report_json(report: BuildReport) -> str:
    return json.dumps(report.to_json(), indent=2, sort_keys=False)

