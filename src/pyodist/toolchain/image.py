"""The toolchain image: build it without a registry, and read what it holds from its labels.

``docker/bootstrap.sh`` does the building (debootstrap a Debian sid rootfs, install the pinned
packages of ``docker/packages.lock``, add pyodide-build from a hash-locked wheelhouse and the
cross-build environment, ``docker import``). It labels the image with an input hash and skips
the work when an image with the same hash exists, so ``build_image`` is cheap when nothing
changed. Everything pyodist records about a toolchain (manifests, cache keys) comes from
:class:`ToolchainInfo`.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyodist.errors import ToolchainError
from pyodist.process import child_env
from pyodist.sources import debian

__all__ = ["LABEL_PREFIX", "ToolchainInfo", "build_image", "inspect_image"]

LABEL_PREFIX = "org.pyodist."


@dataclass(frozen=True)
class ToolchainInfo:
    image: str
    image_id: str
    labels: Mapping[str, str]
    size: int

    def label(self, key: str) -> str:
        return self.labels.get(LABEL_PREFIX + key, "unknown")

    @property
    def emscripten_version(self) -> str:
        return self.label("emscripten-version")

    @property
    def pyodide_version(self) -> str:
        return self.label("pyodide-version")

    @property
    def pyodide_abi(self) -> str:
        return self.label("pyodide-abi")

    @property
    def input_hash(self) -> str:
        return self.label("input-hash")

    def summary(self) -> dict[str, str]:
        """The labels worth showing and recording (the full package list is left out)."""
        keys = ("emscripten-version", "llvm-version", "python-version", "node-version",
                "pyodide-build-version", "pyodide-version", "pyodide-abi", "debian-suite",
                "input-hash", "packages-lock-sha256", "wheelhouse-lock-sha256",
                "xbuildenv-sha256")
        return {"image": self.image, "image_id": self.image_id, "size": str(self.size),
                **{k: self.label(k) for k in keys}}


def inspect_image(client: Any, image: str) -> ToolchainInfo | None:
    import docker.errors  # noqa: PLC0415

    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        return None
    return ToolchainInfo(image, found.id, dict(found.labels or {}), int(found.attrs.get("Size", 0)))


def build_image(
    *,
    image: str,
    docker_dir: Path,
    workdir: Path,
    pyodide_version: str,
    force: bool = False,
    log: Path,
    on_line: Callable[[str], None] | None = None,
) -> float:
    """Run the registry-less bootstrap; return the seconds it took.

    Output goes to ``log`` and, line by line, to ``on_line``. Root is needed (debootstrap,
    chroot and mounts), as it is for the Docker engine itself.
    """
    script = docker_dir / "bootstrap.sh"
    if not script.is_file():
        raise ToolchainError(f"{script} not found: {docker_dir} is not a toolchain image folder",
                             hint="remove that docker/ folder to use pyodist's own, or copy "
                                  "pyodist's into it with 'pyodist toolchain files docker'")
    if os.geteuid() != 0:
        raise ToolchainError("building the toolchain image needs root (debootstrap, chroot)",
                             hint="run 'sudo pyodist toolchain build', or 'docker load' a "
                                  "saved image")
    env = child_env({"PYODIDE_VERSION": pyodide_version, "FORCE": "1" if force else "0",
                     # hostcfg.py reads the apt mirror with pyodist's own resolver
                     "PYODIST_DEBIAN_MODULE": str(Path(debian.__file__).resolve())})
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(["bash", str(script), image, str(workdir)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None  # noqa: S101 - PIPE was requested just above
        try:
            for line in proc.stdout:
                out.write(line)
                if on_line is not None:
                    on_line(line.rstrip("\n"))
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    if code != 0:
        tail = "\n".join(log.read_text().splitlines()[-15:])
        raise ToolchainError(f"building the toolchain image failed (exit {code}):\n{tail}",
                             hint=f"the full log is {log}")
    return time.monotonic() - start
