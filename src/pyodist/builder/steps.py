"""The work of building one package, in a worker thread of the scheduler.

1. fetch and verify the source and prepare the patched tree (host side);
2. write pyodide-build's recipe (its ``source`` pointing at that tree), unpack the library
   artifacts it links against into its build folder and, for packages that build against a
   cross-build package (numpy), lay out that package's wasm headers;
3. make the build backend's wheels available offline (:mod:`pyodist.builder.backends`);
4. run pyodide-build's recipe builder in the toolchain (``guest_build.sh``);
5. normalise the outputs (reproducible wheels and archives), import the wheel's
   ``test.imports`` in Pyodide under Node, and store the result in the artifact cache.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

import yaml
from packaging.requirements import InvalidRequirement, Requirement

from pyodist.builder.archive import extract_tar, write_tar
from pyodist.builder.backends import BackendWheelhouse, backend_requirements
from pyodist.builder.logs import (
    failure_cause,
    first_error,
    log_tail,
    network_reach,
    port_download,
    signature_mismatches,
)
from pyodist.builder.planner import BuildPlan, BuildTask
from pyodist.builder.pyodide_recipe import pyodide_build_recipe
from pyodist.builder.wheel import normalize_wheel, normalize_zip, scrub_random_paths, unvendor_tests
from pyodist.builder.workspace import IMAGE_WHEELHOUSE, driver_path
from pyodist.errors import BuildError
from pyodist.events import BuildPhase, EventSink, ignore
from pyodist.fsutil import links_leaving
from pyodist.hashing import sha256_file
from pyodist.recipe.scripts import script_downloads
from pyodist.recipe.spec import Recipe, canonical_name
from pyodist.runtime.node import ImportReport, check_imports
from pyodist.sources.fetch import Fetcher
from pyodist.sources.prepare import prepare_source
from pyodist.store.local import Artifact, ArtifactCache
from pyodist.toolchain.executor import Executor, Step

__all__ = ["Artifacts", "PackageBuilder", "PackageFailed"]

DRIVER = "guest_build.sh"


# what a failure is put down to, in reports and in bench/corpus.py's table
Cause = str  # source | port | rust | tool | network | compile | link | import | limits | build
RUST_TOOLS = ("rustc", "cargo", "rustup")


RUST_BACKENDS = ("maturin", "setuptools-rust")


def _refuse_rust_backend(requires: Sequence[str]) -> None:
    """A build backend that compiles Rust cannot work here: said before anything is installed."""
    names = set()
    for text in requires:
        with contextlib.suppress(InvalidRequirement):  # pip says what is wrong with it
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(
                    {"python_version": "3.14", "sys_platform": "emscripten"}):
                names.add(canonical_name(requirement.name))
    rust = sorted(names & set(RUST_BACKENDS))
    if rust:
        raise PackageFailed(
            f"its build backend needs Rust ({', '.join(rust)} in the source's "
            "build-system.requires), which the toolchain cannot compile for "
            "wasm32-unknown-emscripten (no Rust standard library for that target); take the "
            "project's published Pyodide wheel instead: index-packages in pyodist.toml, or a "
            "recipe whose source is that wheel", cause="rust")


class PackageFailed(Exception):
    """One package's build failed; the message is what the report shows."""

    def __init__(self, message: str, log: Path | None = None, cause: Cause = "build") -> None:
        super().__init__(message)
        self.log = log
        self.cause = cause


class Artifacts:
    """The artifact of every package built or found cached so far in this run (thread-safe)."""

    def __init__(self) -> None:
        self._found: dict[str, Artifact] = {}
        self._lock = threading.Lock()

    def add(self, name: str, artifact: Artifact) -> None:
        with self._lock:
            self._found[name] = artifact

    def __getitem__(self, name: str) -> Artifact:
        with self._lock:
            return self._found[name]


def _gib(size: int | None) -> str:
    return "no limit" if size is None else f"{size / 1024**3:.3g} GiB"


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


def _inside(member: str) -> bool:
    """A relative path that stays where it is put (no root, no '..')."""
    path = PurePosixPath(member)
    return bool(member) and not path.is_absolute() and ".." not in path.parts \
        and "\\" not in member and "\0" not in member


class PackageBuilder:
    """Builds the packages of one plan with one executor, in one run folder."""

    def __init__(self, plan: BuildPlan, *, cache: ArtifactCache, fetcher: Fetcher,
                 executor: Executor, wheelhouse: BackendWheelhouse, work: Path, logs: Path,
                 runtime_dir: Path | None, epoch: int, artifacts: Artifacts,
                 keep_work: bool = False, on_event: EventSink = ignore) -> None:
        self.plan = plan
        self.cache = cache
        self.fetcher = fetcher
        self.executor = executor
        self.wheelhouse = wheelhouse
        self.work = work
        self.logs = logs
        self.runtime_dir = runtime_dir
        self.epoch = epoch
        self.artifacts = artifacts
        self.keep_work = keep_work
        self.on_event = on_event
        # executables recipes of this run need (requirements/executable) that the toolchain
        # lacks, found by prepare_run
        self.missing_tools: frozenset[str] = frozenset()

    def prepare_run(self) -> None:
        """Once per run with something to build: the driver, a writable Emscripten cache,
        and which executables the recipes to build need that the toolchain does not have."""
        self.work.mkdir(parents=True, exist_ok=True)
        shutil.copy2(driver_path(), self.work / DRIVER)
        self.executor.lend(self.work)
        log = self.logs / "prepare.log"
        result = self.executor.run(Step(
            "prepare", ("bash", self.executor.guest_path(self.work / DRIVER),
                        "--prepare", self.executor.guest_path(self.work)),
            self.work, log=log))
        if not result.ok:
            raise BuildError(f"preparing the toolchain for this run failed:\n{log_tail(log, 10)}",
                             hint=f"the full log is {log}")
        needed = sorted({tool for name in self.plan.to_build
                         for tool in self.plan.tasks[name].recipe.requirements.executable
                         if tool not in RUST_TOOLS})
        if needed:
            probe = self.logs / "tools.log"
            probe.unlink(missing_ok=True)
            self.executor.run(Step.script(
                "tools", 'for x in "$@"; do command -v "$x" >/dev/null || echo "missing:$x"; '
                "done", self.work, log=probe).with_args("tools", *needed))
            text = probe.read_text(errors="replace") if probe.is_file() else ""
            self.missing_tools = frozenset(line.split(":", 1)[1].strip()
                                           for line in text.splitlines()
                                           if line.startswith("missing:"))

    def _refuse(self, recipe: Recipe) -> None:
        """Fail a package whose build cannot work here, before anything of it runs."""
        tools = recipe.requirements.executable
        rust = [t for t in tools if t in RUST_TOOLS]
        if rust:
            raise PackageFailed(
                f"it needs Rust ({', '.join(rust)} in requirements/executable), which the "
                "toolchain cannot compile for wasm32-unknown-emscripten yet (no Rust standard "
                "library for that target); take the project's published Pyodide wheel instead "
                "(a recipe whose source is that wheel, or the index)", cause="rust")
        downloads = script_downloads(recipe)
        if downloads:
            raise PackageFailed(
                f"{downloads[0]} downloads during the build, which runs with no network; give "
                "the file to the build instead (source/extra-archives: a url and sha256 that "
                "pyodist fetch downloads and verifies)", cause="network")
        missing = [t for t in tools if t in self.missing_tools]
        if missing:
            raise PackageFailed(
                f"it needs {', '.join(missing)} (requirements/executable), which the toolchain "
                "image does not have; add the Debian package that provides it to the image "
                "(docker/bootstrap.sh, then re-lock docker/packages.lock), or remove the "
                "requirement if the build does not call it", cause="tool")

    def produce(self, task: BuildTask, log: Path) -> Artifact:
        """Build ``task`` and store it in the cache; PackageFailed (or a PyodistError) when
        it cannot be built."""
        recipe = task.recipe
        start = time.monotonic()
        folder = self.work / task.name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"pyodist: {recipe.name} {recipe.version} key {task.key}\n")
        try:
            self._refuse(recipe)
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
            target = self.plan.target
            return self.cache.put(task.key, task.name, files, {
                "recipe": recipe.name, "version": recipe.version, "type": recipe.build.type,
                "source_sha256": recipe.source.sha256, "toolchain": target.toolchain_id,
                "pyodide": target.pyodide_version, "abi": target.abi,
                "source_date_epoch": self.epoch, "build_backends": backends,
                "deps": {d: self.plan.tasks[d].key for d in task.deps},
                # what --shard balances by (the store keeps them by name)
                "build_seconds": round(time.monotonic() - start, 1),
                # for the manifest and SBOM of a bundle made where the source never was
                "fetched_from": self.fetcher.cache.fetched_from(recipe.source.sha256,
                                                                recipe.source.url),
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
        target = folder / "recipes" / recipe.name
        target.mkdir(parents=True)
        data = pyodide_build_recipe(recipe, self.executor.guest_path(tree))
        (target / "meta.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        for name in ("patches", "extras"):  # applied already, but scripts may read them
            if (recipe.folder / name).is_dir():
                leaving = links_leaving(recipe.folder / name, recipe.folder)
                if leaving:
                    raise PackageFailed(
                        f"{recipe.folder / name} holds symbolic links that lead out of the "
                        f"recipe folder or to a folder ({', '.join(leaving[:3])}); put the "
                        "files themselves there", cause="recipe")
                shutil.copytree(recipe.folder / name, target / name)
        libs = folder / "build" / ".libs"
        libs.mkdir(parents=True)
        for lib in task.libraries:
            for path in self.artifacts[lib].paths():
                if path.name.endswith("-libs.tar"):
                    extract_tar(path, libs)
        cross = self._cross_packages(task)
        if cross:
            self._write_cross(cross, folder / "cross")
        if recipe.build.type != "package":
            return {}
        requires = backend_requirements(recipe, tree, [c for c, _ in cross])
        _refuse_rust_backend(requires)
        return self.wheelhouse.ensure(requires, where=str(recipe.path),
                                      constraints=recipe.requirements.constraint)

    def _cross_packages(self, task: BuildTask) -> list[tuple[Recipe, Artifact]]:
        """Cross-build packages (``build: cross-build-env: true``) among the build deps."""
        return [(self.plan.tasks[dep].recipe, self.artifacts[dep])
                for dep in self.plan.all_deps(task.name)
                if self.plan.tasks[dep].recipe.build.cross_build_env]

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
                    if not _inside(member):  # the loader refuses these; a wheel must not win
                        raise BuildError(
                            f"{recipe.path}: build/cross-build-files lists {member!r}, which "
                            "is not a relative path inside the wheel",
                            hint="list paths as they appear inside the built wheel")
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
        result = self.executor.run(Step(
            f"build {recipe.name}",
            ("bash", guest(self.work / DRIVER), recipe.name, guest(folder)),
            folder, env={**self._environment(), "HOME": guest(home)}, log=log,
            quota_dir=folder, user=user,
        ))
        limits = self.executor.limits
        if result.quota_exceeded:
            raise PackageFailed(
                f"stopped: it wrote more than {_gib(limits.disk_quota)} into its build folder "
                "(the disk quota; PYODIST_DISK_QUOTA raises it)", log, "limits")
        if result.timed_out:
            raise PackageFailed(f"stopped: timed out after {result.seconds:.0f} s (the step "
                                "time limit; PYODIST_STEP_TIMEOUT raises it)", log, "limits")
        if result.killed:
            raise PackageFailed(
                f"the build was killed (SIGKILL) after {result.seconds:.0f} s, most likely out "
                f"of memory (limit {_gib(limits.memory)}; PYODIST_MEMORY raises it)", log,
                "limits")
        if not result.ok:
            port = port_download(log)
            if port is not None:
                raise PackageFailed(
                    f"the build asks emscripten for its port {port[0]}, whose source emscripten "
                    f"downloads from {port[1]} at first use (the toolchain runs with no "
                    "network, and the image holds no port sources); build the library from a "
                    "library recipe instead (a 'static_library' recipe, as recipes/libpng is)",
                    log, "port")
            reach = network_reach(log, {"build/script": recipe.build.script,
                                        "build/post": recipe.build.post})
            if reach is not None:
                raise PackageFailed(
                    f"the build reached for the network, which it does not have (the toolchain "
                    f"runs with no network): {reach}; give the file to the build instead "
                    "(source/extra-archives, source/extras or a library recipe)", log, "network")
            error = first_error(log)
            raise PackageFailed(f"the build exited with status {result.returncode}"
                                f"{': ' + error if error else ''}", log, failure_cause(log))
        mismatched = signature_mismatches(log)
        if mismatched and recipe.build.type != "static_library":
            raise PackageFailed(
                f"the linker found calls whose signature differs from the definition "
                f"({', '.join(mismatched[:8])}{', ...' if len(mismatched) > 8 else ''}); "
                "WebAssembly checks call types, so such a call traps when it runs. Make the "
                "declarations match the definitions (e.g. void vs int returns of Fortran-style "
                "routines) with a patch in the recipe", log, "link")
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
                raise PackageFailed(
                    f"expected one wheel in the build output, found {len(wheels)}: "
                    f"{', '.join(w.name for w in wheels) or 'none'}", cause="compile")
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
                raise PackageFailed(
                    "the build script installed nothing into $WASM_LIBRARY_DIR (install the "
                    "headers and libraries there, e.g. 'make install PREFIX=$WASM_LIBRARY_DIR')",
                    cause="compile")
            files.append(write_tar(out / f"{recipe.name}-{recipe.version}-libs.tar", libs,
                                   installed, epoch=self.epoch))
        return files

    def _check_imports(self, task: BuildTask, files: list[Path], log: Path) -> None:
        # Pyodide's recipes often list only top-level (what its lock calls imports)
        explicit = bool(task.recipe.test.imports)
        imports = task.recipe.test.imports or task.recipe.package.top_level
        if self.runtime_dir is None or not imports:
            return
        wheels: list[Path] = []
        for dep in task.runtime_deps:
            if self.plan.tasks[dep].recipe.build.type != "package":
                continue
            wheels += [p for p in self.artifacts[dep].paths() if p.name.endswith(".whl")]
        wheels += [p for p in files if p.name.endswith(".whl")]
        report = check_imports(self.runtime_dir, wheels, imports)
        with log.open("a") as out:
            out.write(f"\n--- import check in Pyodide under Node ({report.seconds:.1f} s) ---\n")
            out.write((report.describe() or "all imports ok: " + ", ".join(imports)) + "\n")
        if report.ok:
            return
        missing = None if explicit else _undeclared_modules(report, task.recipe.package.top_level)
        if missing:
            # pyodide-build imports only what test/imports lists; with none listed, a package
            # that needs a package which needs it back (soupsieve and beautifulsoup4) cannot
            # import alone, and that is not this build's fault
            with log.open("a") as out:
                out.write(f"not a failure: importing {', '.join(imports)} needs "
                          f"{', '.join(sorted(missing))}, which the recipe does not require "
                          "(requirements/run), and the recipe lists no test/imports\n")
            return
        first, *rest = report.describe().splitlines() or ["(no message)"]
        raise PackageFailed("\n".join([f"the wheel does not import in Pyodide: {first}", *rest]),
                            log, "import")


_NO_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


def _undeclared_modules(report: ImportReport, own: Sequence[str]) -> set[str] | None:
    """The modules the failed imports lacked, when every failure is a module outside the
    package's own top-level names (one it would need at run time); otherwise None."""
    if report.load_errors:
        return None
    missing: set[str] = set()
    for error in report.failed_imports.values():
        found = _NO_MODULE.search(error)
        if found is None or found.group(1).split(".")[0] in own:
            return None
        missing.add(found.group(1))
    return missing or None
