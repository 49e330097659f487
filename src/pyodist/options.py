"""Options resolved in one place, in one cascade: defaults, then the project file, then the
environment, then the command line (each later one wins).

Every ``PYODIST_*`` variable (and ``SOURCE_DATE_EPOCH``, ``CI``, ``PYODIDE_ABI_VERSION``) is
read here, into the frozen :class:`Options` that the library is handed; nothing below reads
``os.environ`` or ``Path.cwd()``. The project file's values arrive as
:class:`ProjectValues` (made by :meth:`pyodist.project.Project.values`). Tests build an
``Options`` directly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pyodist.errors import ConfigError
from pyodist.reproducible import ZIP_EPOCH
from pyodist.sizes import SIZE_HINT, parse_size

__all__ = ["DEFAULT_JOBS", "ENV_PREFIX", "MAX_JOBS", "Options", "ProjectValues", "RuntimeSpec",
           "StepLimits", "StoreSpec", "parse_jobs", "parse_store", "resolve_options",
           "runtime_spec", "store_at"]

ENV_PREFIX = "PYODIST_"
DEFAULT_RECIPE_DIR = "recipes"
# The Pyodide runtime the default distribution targets: its ABI decides wheel tags.
DEFAULT_PYODIDE_VERSION = "314.0.7"
# npm's SRI integrity of each runtime version pyodist pins itself
# (`npm view pyodide@314.0.7 dist.integrity`)
PINNED_INTEGRITY = {
    "314.0.7": "sha512-0YvXxEhfEdpLfb/XkM2BFAeMROq0iMUX2bzzH9pOttyMcWkwq+HbE5uyuGD82LN7y2q+SNvi"
               "/6V5JEsOlD2R1A==",
}
DEFAULT_PYODIDE_INTEGRITY = PINNED_INTEGRITY[DEFAULT_PYODIDE_VERSION]
DEFAULT_IMAGE_REPO = "pyodist-toolchain"
DEFAULT_SOURCE_DATE_EPOCH = ZIP_EPOCH
EXECUTOR_KINDS = ("docker", "host")
# packages built, or sources downloaded, at once (-j, PYODIST_JOBS, [build] jobs)
DEFAULT_JOBS = 2
# more than this many at once is a typo, not a machine
MAX_JOBS = 256


@dataclass(frozen=True)
class StepLimits:
    """What one build step may use (None: no limit).

    From PYODIST_STEP_TIMEOUT (seconds), PYODIST_MEMORY, PYODIST_PIDS, PYODIST_DISK_QUOTA
    (sizes like 500m or 20g; ``none`` lifts a limit). ``tmp_size`` is the Docker build
    container's in-memory /tmp.
    """

    step_timeout: float | None = 3600.0
    memory: int | None = 8 * 1024**3
    pids: int | None = 4096
    # bytes a step may write into its own folder; checked while it runs
    disk_quota: int | None = 20 * 1024**3
    tmp_size: str = "8g"


_STORE_RE = re.compile(r"^oci://(?P<host>[A-Za-z0-9.-]+(?::\d{1,5})?|\[[0-9a-fA-F:]+\](?::\d{1,5})?)"
                       r"/(?P<repo>[a-z0-9]+(?:(?:[._]|__|-+|/)[a-z0-9]+)*)$")
_LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class StoreSpec:
    """A shared artifact store: ``oci://HOST[:PORT]/REPO`` (see :mod:`pyodist.store.oci`).

    ``readonly``: pull, never push. ``optional``: a store that does not answer is a warning
    and local builds, not an error. The password is never part of a message or ``repr``.
    """

    url: str
    readonly: bool = False
    optional: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return self._part("host")

    @property
    def repo(self) -> str:
        return self._part("repo")

    def _part(self, name: str) -> str:
        match = _STORE_RE.match(self.url)
        if match is None:  # pragma: no cover - parse_store made it
            raise ValueError(self.url)
        return match.group(name)

    @property
    def insecure(self) -> bool:
        """Plain HTTP: only ever for a registry on this machine."""
        host = self.host
        return (host.rsplit(":", 1)[0] if not host.startswith("[") else
                host.split("]")[0] + "]") in _LOCAL_HOSTS


def parse_store(url: str, *, readonly: bool = False, optional: bool = False,
                username: str | None = None, password: str | None = None,
                key: str = "--artifact-store", file: Path | None = None) -> StoreSpec:
    authority = url.removeprefix("oci://").split("/", 1)[0] if url.startswith("oci://") else ""
    if "@" in authority:
        raise ConfigError.single(
            "the artifact store address carries credentials", key=key, file=file,
            hint=f"remove them from the address; use docker login or {ENV_PREFIX}STORE_USER "
                 f"and {ENV_PREFIX}STORE_PASSWORD")
    if not _STORE_RE.match(url):
        raise ConfigError.single(
            f"{url!r} is not an OCI artifact store address", key=key, file=file,
            hint="write oci://HOST[:PORT]/REPO, e.g. oci://127.0.0.1:5000/pyodist (REPO in "
                 "lower case)")
    if bool(username) != bool(password):
        raise ConfigError.single(
            f"only one of {ENV_PREFIX}STORE_USER and {ENV_PREFIX}STORE_PASSWORD is set",
            key=f"{ENV_PREFIX}STORE_USER", hint="set both, or neither (then Docker's "
                                                "config.json is used)")
    return StoreSpec(url, readonly, optional, username, password)


@dataclass(frozen=True)
class RuntimeSpec:
    """Which Pyodide core a run builds for and bundles: an npm version checked against an
    SRI integrity, or a local folder (``path``) holding the core files."""

    version: str
    integrity: str | None = None
    path: Path | None = None


def runtime_spec(version: str, integrity: str | None = None, path: Path | None = None, *,
                 file: Path | None = None) -> RuntimeSpec:
    """The one place that decides how a runtime is trusted: a local ``path`` as it is, an
    npm version by the given integrity or the one pyodist pins; ConfigError otherwise."""
    if path is not None:  # the folder's files are what is trusted; an integrity is not used
        return RuntimeSpec(version, None, path)
    chosen = integrity or PINNED_INTEGRITY.get(version)
    if chosen is None:
        raise ConfigError.single(
            f"Pyodide {version} has no pinned integrity", file=file, key="runtime.integrity",
            hint=f'add integrity = "sha512-..." (npm view pyodide@{version} dist.integrity)')
    return RuntimeSpec(version, chosen)


@dataclass(frozen=True)
class ProjectValues:
    """What the project file (``file``) says about the options: the second step of the
    cascade, under the environment and the command line."""

    file: Path
    recipe_dirs: tuple[Path, ...]
    runtime: RuntimeSpec
    artifact_store: str | None = None
    jobs: int | None = None


def packaged_docker_dir() -> Path:
    """The toolchain image's files that ship inside pyodist (``pyodist/toolchain/docker``)."""
    return Path(str(resources.files("pyodist.toolchain") / "docker"))


@dataclass(frozen=True)
class Options:
    project_root: Path
    recipe_dirs: tuple[Path, ...]
    cache_dir: Path
    debug: bool = False
    # plain line output instead of live terminal widgets (set on CI and when not a tty)
    plain: bool = False
    offline: bool = False
    # index URLs given on the command line; empty means "ask pip's configuration"
    index_urls: tuple[str, ...] = ()
    runtime: RuntimeSpec = RuntimeSpec(DEFAULT_PYODIDE_VERSION, DEFAULT_PYODIDE_INTEGRITY)
    image: str = f"{DEFAULT_IMAGE_REPO}:{DEFAULT_PYODIDE_VERSION}"
    executor: str = "docker"
    # stamped into every archive a build writes (SOURCE_DATE_EPOCH; default 1980-01-01)
    source_date_epoch: int = DEFAULT_SOURCE_DATE_EPOCH
    limits: StepLimits = StepLimits()
    # PYODIST_CHROMIUM: the browser `pyodist test` drives (None: chromium on PATH)
    chromium: str | None = None
    # PYODIST_DEBIAN_MIRROR: the mirror 'debian:' sources come from (None: apt's sources)
    debian_mirror: str | None = None
    # PYODIDE_ABI_VERSION for the host executor, whose toolchain pyodist cannot inspect
    host_abi: str = "host"
    # --artifact-store / PYODIST_ARTIFACT_STORE (or [build] artifact-store in pyodist.toml)
    artifact_store: StoreSpec | None = None
    # the modes and credentials for a store the project file names (its url is "")
    store_defaults: StoreSpec = StoreSpec("")
    # packages built, or sources downloaded, at once
    jobs: int = DEFAULT_JOBS
    # the pyodist.toml these options were resolved with (None: none was read)
    project_file: Path | None = None
    # The environment pyodist started in, only to hand on to processes that run user code
    # (host-executor steps, `pyodist python`); never read for settings below this module.
    environ: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def pyodide_version(self) -> str:
        return self.runtime.version

    @property
    def own_docker_dir(self) -> Path | None:
        """The project's own ``docker/`` (one with a ``bootstrap.sh``), if it has one."""
        own = self.project_root / "docker"
        return own if (own / "bootstrap.sh").is_file() else None

    @property
    def docker_dir(self) -> Path:
        """What the toolchain image is bootstrapped from (bootstrap script, locks, Dockerfile):
        the project's own ``docker/``, else the copy that ships inside pyodist."""
        return self.own_docker_dir or packaged_docker_dir()

    @property
    def toolchain_work_dir(self) -> Path:
        return self.cache_dir / "toolchain"

    @property
    def source_cache_dir(self) -> Path:
        return self.cache_dir / "sources"

    @property
    def build_dir(self) -> Path:
        """Scratch space for prepared sources and build trees."""
        return self.cache_dir / "work"


_NO_LIMIT = {"none", "off", "unlimited", "0"}


def _size(value: str, key: str) -> int:
    """``500m``, ``20g``, ``1.5 GiB``, ``1048576`` -> bytes (pyodist.sizes: one syntax)."""
    size = parse_size(value)
    if size is None:
        raise ConfigError.single(f"{key}={value[:80]!r} is not a size", key=key,
                                 hint=f"{SIZE_HINT}, or none")
    return size


def _setting(environ: Mapping[str, str], name: str) -> str | None:
    """``PYODIST_<name>``: None when unset; set but blank is a mistake, not "the default"."""
    key = f"{ENV_PREFIX}{name}"
    if key not in environ:
        return None
    text = environ[key].strip()
    if not text:
        raise ConfigError.single(f"{key} is set but empty", key=key,
                                 hint=f"unset it (unset {key}) or give it a value")
    return text


def _store_defaults(environ: Mapping[str, str], readonly: bool, optional: bool) -> StoreSpec:
    """Modes by flag or ``PYODIST_ARTIFACT_STORE_READONLY``/``_OPTIONAL``; credentials from
    ``PYODIST_STORE_USER``/``PYODIST_STORE_PASSWORD``."""
    return StoreSpec(
        "", readonly=readonly or _flag(environ, "ARTIFACT_STORE_READONLY"),
        optional=optional or _flag(environ, "ARTIFACT_STORE_OPTIONAL"),
        username=_setting(environ, "STORE_USER"), password=_setting(environ, "STORE_PASSWORD"))


def _store(environ: Mapping[str, str], url: str | None, defaults: StoreSpec,
           project: ProjectValues | None) -> StoreSpec | None:
    """``--artifact-store`` over ``PYODIST_ARTIFACT_STORE`` over ``[build] artifact-store``,
    with the modes and credentials of ``defaults``."""
    if url:
        return store_at(url, defaults, key="--artifact-store")
    chosen = _setting(environ, "ARTIFACT_STORE")
    if chosen is not None:
        return store_at(chosen, defaults, key=f"{ENV_PREFIX}ARTIFACT_STORE")
    if project is not None and project.artifact_store:
        return store_at(project.artifact_store, defaults, key="build.artifact-store",
                        file=project.file)
    return None


def parse_jobs(text: str, key: str) -> int:
    """A number of jobs: 1 to MAX_JOBS, in ASCII digits."""
    if not (_WHOLE.fullmatch(text) and 1 <= int(text) <= MAX_JOBS):
        raise ConfigError.single(f"{key}={text[:80]!r} is not a number of jobs", key=key,
                                 hint=f"give a whole number from 1 to {MAX_JOBS}")
    return int(text)


def store_at(url: str, defaults: StoreSpec, *, key: str, file: Path | None = None) -> StoreSpec:
    """The store at ``url`` with the modes and credentials of ``defaults``."""
    return parse_store(url, readonly=defaults.readonly, optional=defaults.optional,
                       username=defaults.username, password=defaults.password, key=key,
                       file=file)


def _limits(environ: Mapping[str, str]) -> StepLimits:
    defaults = StepLimits()

    def read(name: str, parse: Callable[[str, str], float | int | None],
             default: float | int | None) -> Any:
        text = _setting(environ, name)
        if text is None:
            return default
        return None if text.lower() in _NO_LIMIT else parse(text, f"{ENV_PREFIX}{name}")

    return StepLimits(
        step_timeout=read("STEP_TIMEOUT", _seconds, defaults.step_timeout),
        memory=read("MEMORY", _size, defaults.memory),
        pids=read("PIDS", _count, defaults.pids),
        disk_quota=read("DISK_QUOTA", _size, defaults.disk_quota),
    )


def _seconds(text: str, key: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value > 0 and value != float("inf")):
        raise ConfigError.single(f"{key}={text!r} is not a number of seconds", key=key,
                                 hint="write e.g. 600, or none")
    return value


# ASCII digits only (str.isdigit also takes other scripts' digits), and few enough of them
_WHOLE = re.compile(r"[0-9]{1,18}")
# zip files, which wheels and bundles are, keep years 1980 to 2107
_LAST_ZIP_SECOND = 4354819199


def _count(text: str, key: str) -> int:
    if not _WHOLE.fullmatch(text):
        raise ConfigError.single(f"{key}={text[:80]!r} is not a whole number", key=key,
                                 hint="write e.g. 4096, or none")
    return int(text)


def _truthy(value: str | None) -> bool:
    """CI's own variable: set to anything but a "no" means on (CI systems write their names)."""
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


_ON, _OFF = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _flag(environ: Mapping[str, str], name: str) -> bool:
    """A PYODIST_* switch: 1/true/yes/on or 0/false/no/off (or unset); anything else is an
    error rather than a guess."""
    key = f"{ENV_PREFIX}{name}"
    text = (environ.get(key) or "").strip().lower()
    if text in _ON:
        return True
    if text in _OFF:
        return False
    raise ConfigError.single(f"{environ[key][:80]!r} is neither on nor off", key=key,
                             hint=f"write {key}=1 to turn it on, or leave it unset")


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/pyodist``, else ``~/.cache/pyodist``."""
    xdg = environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path(environ.get("HOME") or Path.home()) / ".cache"
    return base / "pyodist"


def _split_dirs(value: str, base: Path) -> tuple[Path, ...]:
    return tuple((base / part).resolve() for part in value.split(os.pathsep) if part)


def resolve_options(
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    recipe_dirs: Sequence[str] = (),
    cache_dir: str | None = None,
    offline: bool = False,
    index_urls: Sequence[str] = (),
    image: str | None = None,
    executor: str | None = None,
    artifact_store: str | None = None,
    store_readonly: bool = False,
    store_optional: bool = False,
    jobs: int | None = None,
    project: ProjectValues | None = None,
    debug: bool = False,
    is_tty: bool = False,
) -> Options:
    """Merge flag values with ``PYODIST_*`` variables, the project file's values and the
    defaults, each over the next.

    ``--recipe-dir`` (repeatable) wins over ``PYODIST_RECIPE_DIRS`` (``os.pathsep``-separated),
    over ``[build] recipe-dirs``, over ``./recipes``. Directories later in the list override
    earlier ones. ``-j`` wins over ``PYODIST_JOBS`` over ``[build] jobs`` over 2; the store
    likewise (``--artifact-store``, ``PYODIST_ARTIFACT_STORE``, ``[build] artifact-store``);
    the runtime comes from ``[runtime]``, else pyodist's pinned one. ``--cache-dir`` wins
    over ``PYODIST_CACHE_DIR`` over the XDG cache folder; ``--offline`` or
    ``PYODIST_OFFLINE=1`` forbid downloads. ``cwd`` and ``environ`` default to the process's
    own.
    """
    environ = os.environ if environ is None else environ
    root = (Path.cwd() if cwd is None else cwd).resolve()
    env_dirs = _setting(environ, "RECIPE_DIRS")
    if recipe_dirs:
        dirs = tuple((root / d).resolve() for d in recipe_dirs)
    elif env_dirs:
        dirs = _split_dirs(env_dirs, root)
    elif project is not None:
        dirs = project.recipe_dirs
    else:
        dirs = ((root / DEFAULT_RECIPE_DIR).resolve(),)
    env_jobs = _setting(environ, "JOBS")
    chosen_jobs = (jobs if jobs is not None
                   else parse_jobs(env_jobs, f"{ENV_PREFIX}JOBS") if env_jobs is not None
                   else project.jobs if project is not None and project.jobs is not None
                   else DEFAULT_JOBS)
    chosen_executor = executor or _setting(environ, "EXECUTOR") or "docker"
    if chosen_executor not in EXECUTOR_KINDS:
        raise ConfigError.single(
            f"unknown executor {chosen_executor!r}", key=f"--executor / {ENV_PREFIX}EXECUTOR",
            hint=f"use one of {', '.join(EXECUTOR_KINDS)}",
        )
    epoch_text = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch_text and (not _WHOLE.fullmatch(epoch_text)
                       or int(epoch_text) > _LAST_ZIP_SECOND):
        raise ConfigError.single(
            f"SOURCE_DATE_EPOCH={epoch_text[:80]!r} is not a whole number of seconds up to "
            f"{_LAST_ZIP_SECOND} (the end of 2107, the last time a zip file can hold)",
            key="SOURCE_DATE_EPOCH", hint="unset it, or set it to e.g. $(git log -1 --format=%ct)",
        )
    store_defaults = _store_defaults(environ, store_readonly, store_optional)
    env_cache = _setting(environ, "CACHE_DIR")
    if cache_dir:
        cache = (root / cache_dir).resolve()
    elif env_cache:
        cache = (root / env_cache).resolve()
    else:
        cache = default_cache_dir(environ)
    return Options(
        project_root=root,
        recipe_dirs=dirs,
        cache_dir=cache,
        debug=debug or _flag(environ, "DEBUG"),
        plain=_truthy(environ.get("CI")) or not is_tty,
        offline=offline or _flag(environ, "OFFLINE"),
        index_urls=tuple(index_urls),
        runtime=project.runtime if project is not None else RuntimeSpec(
            DEFAULT_PYODIDE_VERSION, DEFAULT_PYODIDE_INTEGRITY),
        image=image or _setting(environ, "IMAGE")
        or f"{DEFAULT_IMAGE_REPO}:{DEFAULT_PYODIDE_VERSION}",
        executor=chosen_executor,
        source_date_epoch=int(epoch_text) if epoch_text else DEFAULT_SOURCE_DATE_EPOCH,
        limits=_limits(environ),
        chromium=_setting(environ, "CHROMIUM"),
        debian_mirror=_setting(environ, "DEBIAN_MIRROR"),
        host_abi=environ.get("PYODIDE_ABI_VERSION") or "host",
        artifact_store=_store(environ, artifact_store, store_defaults, project),
        store_defaults=store_defaults,
        jobs=chosen_jobs,
        project_file=project.file if project is not None else None,
        environ=MappingProxyType(dict(environ)),
    )
