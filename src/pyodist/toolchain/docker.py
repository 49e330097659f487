"""Build steps in one long-lived toolchain container: ``docker exec`` per step.

``docker exec`` costs well under a second, a fresh container per step would not. The
container has no network, read-only inputs, a non-root user, memory and pid limits and a
per-step time limit, and is removed on success, failure and Ctrl-C; containers left by a
killed run are removed by the next one.
"""

from __future__ import annotations

import itertools
import os
import shlex
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

from pyodist.errors import ToolchainError
from pyodist.options import StepLimits
from pyodist.process import pid_alive
from pyodist.toolchain.executor import Mount, QuotaWatch, Step, StepResult, killpg, open_log

__all__ = ["DockerExecutor", "docker_client", "remove_stale_containers"]

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
        # where the SDK looked: DOCKER_HOST as docker.from_env read it, or its default socket
        where = docker.utils.kwargs_from_env().get("base_url") or "unix:///var/run/docker.sock"
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


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    os.chown(top, uid, gid)
    for root, dirs, files in os.walk(top):
        for name in (*dirs, *files):
            os.chown(Path(root, name), uid, gid, follow_symlinks=False)


class DockerExecutor:
    """One long-lived container from the toolchain image; ``docker exec`` per step."""

    kind: ClassVar[str] = "docker"

    def __init__(self, image: str, mounts: Sequence[Mount], *, limits: StepLimits | None = None,
                 client: Any = None, uid: int | None = None, gid: int | None = None) -> None:
        self.image = image
        self.mounts = tuple(sorted(mounts, key=lambda m: len(str(m.host)), reverse=True))
        self.limits = limits or StepLimits()
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
            killpg(int(pid))
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
                killpg(int(pid))

        with open_log(step.log) as log, QuotaWatch(step.quota_dir, self.limits.disk_quota,
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
