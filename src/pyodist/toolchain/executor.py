"""Where build steps run: one long-lived toolchain container, or the host.

Both executors satisfy :class:`Executor`. A build opens one executor for the whole run and
runs each step with :meth:`Executor.run`; the Docker one keeps a single container alive
(``docker exec`` per step costs well under a second, a fresh container per step would not)
with no network, read-only inputs, a non-root user, memory/pid limits and a per-step time
limit, and removes it on success, failure and Ctrl-C. Steps name host paths; the executor
maps them to what its processes see (:meth:`Executor.guest_path`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shlex
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self

from pyodist.errors import ToolchainError
from pyodist.process import pid_alive

__all__ = [
    "EXECUTORS",
    "DockerExecutor",
    "Executor",
    "HostExecutor",
    "Limits",
    "Mount",
    "Step",
    "StepResult",
    "docker_client",
    "remove_stale_containers",
]

RUN_LABEL = "org.pyodist.run"
PID_LABEL = "org.pyodist.pid"
HOST_LABEL = "org.pyodist.host"
BUILD_USER_UID = 1000  # the image's `builder` user
# Private users for one package's steps each (root callers only): 20000, 20001, ...
PRIVATE_UID_BASE = 20000
# A step with no time limit still runs under `timeout`, which makes it a process group leader
# that pyodist can kill as a whole (disk quota); this is its "no limit".
_NO_TIMEOUT = 30 * 24 * 3600
# HOME inside the container: any uid may run steps, and not all have a home folder there
GUEST_HOME = "/tmp/home"  # noqa: S108 - a path inside the throw-away container
# `timeout` exits 124 when the limit passed, 137 when the step also ignored SIGTERM
_TIMEOUT_CODES = frozenset({124, 137})


@dataclass(frozen=True)
class Mount:
    host: Path
    guest: str
    read_only: bool = True


@dataclass(frozen=True)
class Limits:
    """Resource limits for the build container (None: no limit)."""

    memory: int | None = 8 * 1024**3  # bytes
    pids: int | None = 4096
    step_timeout: float | None = 3600.0
    tmp_size: str = "8g"  # the container's /tmp (in memory)
    # bytes a step may write into its own folder (Step.quota_dir); checked while it runs
    disk: int | None = 20 * 1024**3


@dataclass(frozen=True)
class Step:
    """One command of a build. Paths are host paths; the executor maps them."""

    name: str
    argv: tuple[str, ...]
    cwd: Path
    env: Mapping[str, str] = field(default_factory=dict)
    log: Path | None = None
    timeout: float | None = None  # overrides Limits.step_timeout
    # the folder the step writes to: its size is held to Limits.disk while the step runs
    quota_dir: Path | None = None
    user: str | None = None  # run as this "uid:gid" (from Executor.lend); None: the default

    @classmethod
    def script(cls, name: str, script: str, cwd: Path, **kw: Any) -> Step:
        """A bash script step (recipe `script`/`post` blocks): fails on the first error."""
        return cls(name, ("bash", "-eo", "pipefail", "-c", script), cwd, **kw)


@dataclass(frozen=True)
class StepResult:
    name: str
    returncode: int
    seconds: float
    timed_out: bool
    quota_exceeded: bool = False

    @property
    def killed(self) -> bool:
        """Ended by SIGKILL without a time or disk limit being the reason (memory, usually)."""
        return self.returncode in (137, -9) and not self.timed_out and not self.quota_exceeded

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Executor(Protocol):
    """Runs build steps; used as a context manager for one pyodist run."""

    kind: ClassVar[str]
    limits: Limits

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def guest_path(self, host: Path) -> str: ...

    def lend(self, host: Path, *, private: bool = False) -> str | None:
        """Make a folder created after start-up writable for the steps that work in it.

        ``private``: the folder gets a user of its own where the executor can arrange that
        (a root caller in Docker), so that steps working in it cannot write anywhere else.
        Returns the user those steps should run as (``Step.user``), or None for the default.
        """

    def run(self, step: Step) -> StepResult: ...


def folder_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (links not followed; vanishing files skipped)."""
    total = 0
    stack = [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        continue
        except OSError:
            continue
    return total


class _QuotaWatch:
    """Polls a folder's size while a step runs; calls ``kill`` once it passes ``limit``."""

    def __init__(self, folder: Path | None, limit: int | None, kill: Callable[[], None],
                 interval: float = 0.5) -> None:
        self.folder, self.limit, self.kill, self.interval = folder, limit, kill, interval
        self.exceeded = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        if self.folder is not None and self.limit is not None:
            self._thread = threading.Thread(target=self._watch, daemon=True)
            self._thread.start()
        return self

    def _watch(self) -> None:
        folder, limit = self.folder, self.limit
        if folder is None or limit is None:
            return
        while not self._stop.wait(self.interval):
            if folder_size(folder) > limit:
                self.exceeded = True
                self.kill()
                return

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _open_log(path: Path | None) -> Any:
    if path is None:
        return Path(os.devnull).open("ab")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("ab")


class HostExecutor:
    """Runs steps directly on the host, for users who have emcc and pyodide-build on PATH."""

    kind: ClassVar[str] = "host"

    def __init__(self, *, base_env: Mapping[str, str], limits: Limits | None = None) -> None:
        self.base_env = dict(base_env)
        self.limits = limits or Limits()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None

    def guest_path(self, host: Path) -> str:
        return str(host)

    def lend(self, host: Path, *, private: bool = False) -> str | None:
        return None

    def run(self, step: Step) -> StepResult:
        timeout = step.timeout if step.timeout is not None else self.limits.step_timeout
        start = time.monotonic()
        with _open_log(step.log) as log:
            log.write(f"+ {shlex.join(step.argv)}\n".encode())
            log.flush()
            try:
                proc = subprocess.Popen(
                    step.argv, cwd=step.cwd, env={**self.base_env, **step.env},
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
            except FileNotFoundError:
                raise ToolchainError(f"{step.argv[0]!r} was not found on the host",
                                     hint="install the tool, or use the Docker executor") from None
            with _QuotaWatch(step.quota_dir, self.limits.disk,
                             lambda: _killpg(proc.pid)) as watch:
                try:
                    code = proc.wait(timeout=timeout)
                    timed_out = False
                except subprocess.TimeoutExpired:
                    _killpg(proc.pid)
                    code = proc.wait()
                    timed_out = True
                except BaseException:
                    _killpg(proc.pid)
                    proc.wait()
                    raise
        return StepResult(step.name, code, time.monotonic() - start, timed_out,
                          watch.exceeded)


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    os.chown(top, uid, gid)
    for root, dirs, files in os.walk(top):
        for name in (*dirs, *files):
            os.chown(Path(root, name), uid, gid, follow_symlinks=False)


def docker_client() -> Any:
    """A connected Docker SDK client, or a ToolchainError saying how to start an engine."""
    try:
        import docker  # noqa: PLC0415 - only Docker users pay for the import
    except ImportError:
        raise ToolchainError("the Docker SDK for Python is not installed",
                             hint="pip install docker (make test installs it)") from None
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure here means "no engine answers"
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise ToolchainError(
            f"no Docker engine answers at {where} ({exc.__class__.__name__})",
            hint="start one: 'dockerd --storage-driver=overlay2 --iptables=false &' as root "
                 "(or 'systemctl start docker'); 'make test' and 'make dist' start it for you",
        ) from None
    return client


def remove_stale_containers(client: Any) -> list[str]:
    """Remove build containers whose pyodist process on this host is gone (after a crash).

    Runs started together race for the same stale container: one that is already gone, or
    being removed by the other run, counts as removed.
    """
    import docker.errors  # noqa: PLC0415

    removed = []
    host = os.uname().nodename
    for container in client.containers.list(all=True, filters={"label": RUN_LABEL}):
        labels = container.labels
        try:
            pid = int(labels.get(PID_LABEL, "0"))
        except ValueError:
            pid = 0
        if labels.get(HOST_LABEL) == host and pid and pid_alive(pid):
            continue
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409:  # 409: "removal of container ... already in progress"
                raise
        removed.append(container.name)
    return removed


class DockerExecutor:
    """One long-lived container from the toolchain image; ``docker exec`` per step."""

    kind: ClassVar[str] = "docker"

    def __init__(self, image: str, mounts: Sequence[Mount], *, limits: Limits | None = None,
                 client: Any = None, uid: int | None = None, gid: int | None = None) -> None:
        self.image = image
        self.mounts = tuple(sorted(mounts, key=lambda m: len(str(m.host)), reverse=True))
        self.limits = limits or Limits()
        self._client = client
        self.uid = os.getuid() if uid is None else uid
        self.gid = os.getgid() if gid is None else gid
        self.container: Any = None
        self.run_id = uuid.uuid4().hex[:12]
        self._private_uids = itertools.count(PRIVATE_UID_BASE)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = docker_client()
        return self._client

    @property
    def _user(self) -> str:
        # A root caller builds as the image's unprivileged `builder`; anyone else as themself,
        # so files in the output folders belong to them without a chown.
        return str(BUILD_USER_UID) if self.uid == 0 else f"{self.uid}:{self.gid}"

    def __enter__(self) -> Self:
        import docker.errors  # noqa: PLC0415
        from docker.types import Mount as DockerMount  # noqa: PLC0415

        client = self.client
        remove_stale_containers(client)
        try:
            client.images.get(self.image)
        except docker.errors.ImageNotFound:
            raise ToolchainError(f"toolchain image {self.image!r} is not present",
                                 hint="build it with 'pyodist toolchain build'") from None
        for m in self.mounts:
            if not m.host.exists():
                m.host.mkdir(parents=True)
        try:
            self.container = client.containers.run(
                self.image, ["sleep", "infinity"], detach=True, init=True,
                name=f"pyodist-{self.run_id}", network_mode="none",
                mounts=[DockerMount(m.guest, str(m.host), type="bind", read_only=m.read_only)
                        for m in self.mounts],
                labels={RUN_LABEL: self.run_id, PID_LABEL: str(os.getpid()),
                        HOST_LABEL: os.uname().nodename},
                mem_limit=self.limits.memory, pids_limit=self.limits.pids,
                environment={"HOME": GUEST_HOME}, user=self._user,
                security_opt=["no-new-privileges"], cap_drop=["ALL"],
                # The image itself stays read-only; builds write to mounts and to /tmp, which
                # must allow exec (pyodide-build puts compiler wrappers there).
                read_only=True,
                tmpfs={"/tmp": f"rw,exec,nosuid,size={self.limits.tmp_size}"},  # noqa: S108
            )
        except docker.errors.APIError as exc:
            raise ToolchainError(f"cannot start the build container: {exc.explanation}",
                                 hint="check 'docker info' and the image") from None
        if self.uid == 0:
            # A root caller's writable folders are lent to `builder` while the container runs
            # and given back at exit (done on the host: the container holds no capabilities).
            self._chown_writable(BUILD_USER_UID, BUILD_USER_UID)
        self.container.exec_run(["mkdir", "-p", GUEST_HOME], user=self._user)
        return self

    def _chown_writable(self, uid: int, gid: int) -> None:
        for m in self.mounts:
            if not m.read_only:
                _chown_tree(m.host, uid, gid)

    def lend(self, host: Path, *, private: bool = False) -> str | None:
        if self.uid != 0:
            return None  # steps run as the caller, who cannot hand folders to other users
        if not private:
            _chown_tree(host, BUILD_USER_UID, BUILD_USER_UID)
            return None
        uid = next(self._private_uids)
        _chown_tree(host, uid, uid)
        host.chmod(0o700)  # not even readable by the other packages' users
        return f"{uid}:{uid}"

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        container, self.container = self.container, None
        if container is None:
            return
        try:
            container.remove(force=True)
        finally:
            if self.uid == 0:
                self._chown_writable(self.uid, self.gid)

    def _reap(self, pid: int | None, user: str | None) -> None:
        """Kill what a finished step left running (background jobs, a fork bomb's children).

        Its process group goes first; a step with a private user also loses every process of
        that user, which catches those that moved to a new session.
        """
        if pid:
            _killpg(int(pid))
        if user is not None and self.container is not None:
            self.container.exec_run(["kill", "-KILL", "-1"], user=user)

    def guest_path(self, host: Path) -> str:
        host = host.resolve() if not host.is_absolute() else host
        for m in self.mounts:
            if host == m.host or host.is_relative_to(m.host):
                rel = host.relative_to(m.host)
                return m.guest if str(rel) == "." else f"{m.guest}/{rel.as_posix()}"
        raise ToolchainError(f"{host} is not mounted into the build container",
                             hint="this is a pyodist bug: the step names an unmounted path")

    def run(self, step: Step) -> StepResult:
        if self.container is None:
            raise ToolchainError("the build container is not running",
                                 hint="use the executor as a context manager")
        timeout = step.timeout if step.timeout is not None else self.limits.step_timeout
        limit = int(timeout) if timeout is not None else _NO_TIMEOUT
        argv = list(step.argv)
        if step.user is not None and self.limits.pids:
            # The pids limit is the whole container's: a private user also gets a share of its
            # own (RLIMIT_NPROC counts per user), so a fork bomb cannot starve its neighbours.
            share = max(64, self.limits.pids // 4)
            argv = ["prlimit", f"--nproc={share}:{share}", "--", *argv]
        argv = ["timeout", "--kill-after=10", str(limit), *argv]
        api = self.client.api
        start = time.monotonic()
        exec_id = api.exec_create(
            self.container.id, argv, workdir=self.guest_path(step.cwd),
            environment=dict(step.env), user=step.user or self._user,
        )["Id"]

        def kill() -> None:
            # the host pid of `timeout`, which leads the step's process group
            pid = api.exec_inspect(exec_id).get("Pid")
            if pid:
                _killpg(int(pid))

        with _open_log(step.log) as log, _QuotaWatch(step.quota_dir, self.limits.disk,
                                                     kill) as watch:
            log.write(f"+ {shlex.join(step.argv)}\n".encode())
            log.flush()
            for chunk in api.exec_start(exec_id, stream=True):
                log.write(chunk)
                log.flush()
        info = api.exec_inspect(exec_id)
        code = -1 if info["ExitCode"] is None else int(info["ExitCode"])
        seconds = time.monotonic() - start
        self._reap(info.get("Pid"), step.user)
        # 137 is also what the kernel's OOM killer leaves: only a step that ran its whole
        # time limit timed out
        timed_out = code in _TIMEOUT_CODES and seconds >= limit - 1 and not watch.exceeded
        return StepResult(step.name, code, seconds, timed_out, watch.exceeded)


EXECUTORS: dict[str, type[HostExecutor] | type[DockerExecutor]] = {
    HostExecutor.kind: HostExecutor,
    DockerExecutor.kind: DockerExecutor,
}
