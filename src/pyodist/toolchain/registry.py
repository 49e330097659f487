"""The executors a run can choose from, by name, and what each says about its toolchain.

A run names its executor once (``--executor`` / ``PYODIST_EXECUTOR``); everything that
depends on the choice goes through its :class:`ExecutorKind`: how to open it, what
identifies its toolchain in cache keys and manifests, and what killed runs left behind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pyodist.errors import ToolchainError
from pyodist.options import Options, StepLimits
from pyodist.toolchain.docker import DockerExecutor, docker_client, remove_stale_containers
from pyodist.toolchain.executor import Executor, Mount
from pyodist.toolchain.host import HostExecutor
from pyodist.toolchain.image import inspect_image

__all__ = ["EXECUTORS", "ExecutorKind", "ToolchainIdentity", "executor_kind"]


@dataclass(frozen=True)
class ToolchainIdentity:
    """What a build's outputs depend on in the toolchain, looked up once per run."""

    kind: str
    abi: str  # the Pyodide ABI the toolchain builds for, e.g. 2026_0
    toolchain_id: str  # the image id, or "host"
    # what a manifest records about the toolchain (image labels, versions)
    summary: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutorKind:
    name: str
    # (options, mounts, limits) -> an executor, not yet entered
    open: Callable[[Options, Sequence[Mount], StepLimits], Executor]
    identify: Callable[[Options], ToolchainIdentity]
    # remove what killed runs of this kind left (containers)
    clean_leftovers: Callable[[], None]


def _identify_image(options: Options) -> ToolchainIdentity:
    info = inspect_image(docker_client(), options.image)
    if info is None:
        raise ToolchainError(f"toolchain image {options.image!r} is not present",
                             hint="build it with 'pyodist toolchain build' (make image)")
    if info.pyodide_version != options.pyodide_version:
        raise ToolchainError(
            f"toolchain image {options.image} is for Pyodide {info.pyodide_version}, "
            f"not {options.pyodide_version}", hint="build the matching image")
    summary = {k: v for k, v in info.summary().items() if k != "size"}
    return ToolchainIdentity("docker", info.pyodide_abi, info.image_id,
                             {"executor": "docker", **summary})


def _remove_stale_containers() -> None:
    remove_stale_containers(docker_client())


def _identify_host(options: Options) -> ToolchainIdentity:
    return ToolchainIdentity("host", options.host_abi, "host", {"executor": "host"})


EXECUTORS: Mapping[str, ExecutorKind] = {
    "docker": ExecutorKind(
        "docker",
        open=lambda options, mounts, limits: DockerExecutor(options.image, mounts,
                                                            limits=limits),
        identify=_identify_image,
        clean_leftovers=_remove_stale_containers,
    ),
    "host": ExecutorKind(
        "host",
        open=lambda options, _mounts, limits: HostExecutor(base_env=options.environ,
                                                           limits=limits),
        identify=_identify_host,
        clean_leftovers=lambda: None,
    ),
}


def executor_kind(name: str) -> ExecutorKind:
    try:
        return EXECUTORS[name]
    except KeyError:
        raise ToolchainError(f"unknown executor {name!r}",
                             hint=f"use one of {', '.join(EXECUTORS)}") from None
