"""The build toolchain: the Docker image, the cross-build environment, and executors."""

from pyodist.toolchain.executor import (
    EXECUTORS,
    DockerExecutor,
    Executor,
    HostExecutor,
    Limits,
    Mount,
    Step,
    StepResult,
    docker_client,
)
from pyodist.toolchain.image import ToolchainInfo, build_image, inspect_image

__all__ = [
    "EXECUTORS",
    "DockerExecutor",
    "Executor",
    "HostExecutor",
    "Limits",
    "Mount",
    "Step",
    "StepResult",
    "ToolchainInfo",
    "build_image",
    "docker_client",
    "inspect_image",
]
