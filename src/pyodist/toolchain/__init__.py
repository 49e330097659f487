"""The build toolchain: the Docker image, and the executors build steps run in."""

from pyodist.toolchain.docker import DockerExecutor, docker_client
from pyodist.toolchain.executor import Executor, Mount, Step, StepResult
from pyodist.toolchain.host import HostExecutor
from pyodist.toolchain.image import ToolchainInfo, build_image, inspect_image
from pyodist.toolchain.registry import EXECUTORS, ExecutorKind, ToolchainIdentity, executor_kind

__all__ = [
    "EXECUTORS",
    "DockerExecutor",
    "Executor",
    "ExecutorKind",
    "HostExecutor",
    "Mount",
    "Step",
    "StepResult",
    "ToolchainIdentity",
    "ToolchainInfo",
    "build_image",
    "docker_client",
    "executor_kind",
    "inspect_image",
]
