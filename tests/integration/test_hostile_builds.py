"""Hostile build scripts in the real toolchain container (tests/data/hostile).

Each recipe's `build/script` attacks the build machine: the network, files outside its build
folder (the image, the read-only mounts, other packages' folders), the disk, the process
table, the clock and memory. The executor must stop each one with a clear per-package error,
build the innocent package beside them (`--keep-going`), and leave no container behind.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import docker

from pyodist.toolchain.docker import PID_LABEL, RUN_LABEL

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "data" / "hostile"
LIMITS = {"PYODIST_STEP_TIMEOUT": "25", "PYODIST_DISK_QUOTA": "300m", "PYODIST_MEMORY": "1g",
          "PYODIST_PIDS": "512"}


def test_hostile_scripts_are_stopped_and_the_rest_builds(
        tmp_path: Path, toolchain_image: str, hardening: Callable[[str, int], None]) -> None:
    # Popen, not run: the containers left behind are looked up by this process's pid
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyodist", "--cache-dir", str(tmp_path / "cache"),
         "--recipe-dir", str(HOSTILE), "build", "-k", "-j", "2", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "CI": "1", "PYODIST_IMAGE": toolchain_image, **LIMITS})
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 8, stderr[-3000:]  # BuildError: some packages failed
    packages = json.loads(stdout)["packages"]
    status = {name: p["status"] for name, p in packages.items()}
    assert status == {"innocent": "built", "net-probe": "failed", "escape": "failed",
                      "disk-hog": "failed", "fork-bomb": "failed", "forever": "failed",
                      "mem-hog": "failed"}

    def failure(name: str) -> tuple[str, str]:
        return packages[name]["error"], packages[name]["log_tail"]

    error, tail = failure("net-probe")
    assert "Network is unreachable" in tail
    error, tail = failure("escape")
    assert "every write outside the build folder was refused" in tail
    assert not re.search(r"^ESCAPED to", tail, re.MULTILINE)  # (the script's text is quoted)
    log = Path(packages["escape"]["log"]).read_text()
    tried = set(re.findall(r"^pyodist-test: trying (/pyodist/work/[^/]+)/pwned$", log, re.M))
    assert tried - {"/pyodist/work/escape"}, "no other package's folder was there to attack"
    error, _ = failure("disk-hog")
    assert error.startswith("stopped: it wrote more than 0.293 GiB into its build folder")
    for name in ("fork-bomb", "forever"):
        error, _ = failure(name)
        assert error.startswith("stopped: timed out after 25 s"), (name, error)
    error, _ = failure("mem-hog")
    assert "killed (SIGKILL)" in error and "out of memory (limit 1 GiB" in error
    # the build folders (the disk hog's 300 MB) are gone, and so is the run's container
    assert not any((tmp_path / "cache" / "work").iterdir())
    left = docker.from_env().containers.list(all=True, filters={"label": RUN_LABEL})
    assert not [c.name for c in left if c.labels.get(PID_LABEL) == str(proc.pid)]
    hardening("hostile build scripts stopped", 6)
