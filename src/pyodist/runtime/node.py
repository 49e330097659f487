"""Run Python inside a Pyodide runtime under Node, through small JS harnesses."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pyodist.errors import RuntimeCheckError, ToolchainError
from pyodist.process import run

__all__ = [
    "ImportReport",
    "PythonRun",
    "check_imports",
    "harness",
    "load_bundle",
    "node_binary",
    "python_exec",
    "run_harness",
    "run_python",
]


def node_binary() -> str:
    found = shutil.which("node")
    if found is None:
        raise ToolchainError("Node.js is not installed", hint="apt-get install nodejs")
    return found


def harness(name: str) -> Path:
    """The path of a JS harness shipped inside the package (``runtime/*.mjs``)."""
    path = Path(str(resources.files("pyodist.runtime") / name))
    if not path.is_file():
        raise ToolchainError(f"harness {name} is missing from the pyodist package",
                             hint="reinstall pyodist")
    return path


def run_harness(name: str, payload: dict[str, Any], *, timeout: float = 600,
                extra_env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run ``runtime/NAME`` under Node with ``payload`` as JSON on stdin; its last stdout
    line is the JSON answer."""
    result = run([node_binary(), str(harness(name))], input_text=json.dumps(payload),
                 timeout=timeout, extra_env=extra_env)
    lines = result.stdout.strip().splitlines()
    try:
        data: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    except ValueError:
        data = {}
    if not data:
        raise RuntimeCheckError(f"the Pyodide runtime under Node failed:\n{result.tail(15)}",
                                hint="check the runtime files and that Node works")
    return data


@dataclass(frozen=True)
class ImportReport:
    ok: bool
    load_errors: tuple[str, ...]
    failed_imports: dict[str, str]
    seconds: float

    def describe(self) -> str:
        lines = [*self.load_errors]
        lines += [f"import {mod}: {err}" for mod, err in self.failed_imports.items()]
        return "\n".join(lines)


def check_imports(runtime_dir: Path, wheels: Sequence[Path], imports: Sequence[str], *,
                  timeout: float = 600) -> ImportReport:
    """Load ``wheels`` (dependencies first) and import each module; never raises on failure."""
    data = run_harness("check_imports.mjs", {
        "indexURL": str(runtime_dir), "wheels": [str(w.resolve()) for w in wheels],
        "imports": list(imports),
    }, timeout=timeout)
    failed = {m: r["error"] for m, r in data.get("imports", {}).items() if not r["ok"]}
    return ImportReport(bool(data.get("ok")), tuple(data.get("load_errors", ())), failed,
                        float(data.get("seconds", 0.0)))


def run_python(runtime_dir: Path, wheels: Sequence[Path], code: str, *,
               timeout: float = 600) -> dict[str, Any]:
    """Run ``code`` after loading ``wheels``; the result dict has ok/result/error/stdout.

    ``code``'s last expression should be a JSON string (``json.dumps(...)``).
    """
    return run_harness("run_python.mjs", {
        "indexURL": str(runtime_dir), "wheels": [str(w.resolve()) for w in wheels],
        "code": code,
    }, timeout=timeout)


def load_bundle(bundle: Path, packages: Sequence[str] | None = None, *,
                snapshot: bool = False, timeout: float = 900) -> dict[str, Any]:
    """Load ``bundle`` with the stock ``loadPyodide({indexURL, lockFileURL})`` (from its
    ``snapshot.bin`` with ``snapshot``) and import every module its lock lists for
    ``packages`` (default: all); never raises on failure."""
    return run_harness("load_bundle.mjs", {"bundle": str(bundle.resolve()),
                                           "packages": None if packages is None
                                           else list(packages), "snapshot": snapshot},
                       timeout=timeout)


# the host's own variables, which mean nothing (or the wrong thing) inside the runtime
_HOST_ONLY = frozenset({"HOME", "PATH", "PWD", "OLDPWD", "SHELL", "TMPDIR"})


@dataclass(frozen=True)
class PythonRun:
    """What ``python.mjs`` runs: Python with ``args`` in ``bundle`` under Node, the
    working folder ``cwd`` and each of ``mounts`` (host, guest) mounted with NODEFS."""

    bundle: Path
    args: Sequence[str]
    cwd: Path
    mounts: Sequence[tuple[str, str]] = ()
    sites: Sequence[Path] = ()
    wheels: Sequence[Path] = ()
    preload: bool = False
    snapshot: bool = False
    tests: bool = False
    timing: bool = False


def python_exec(run: PythonRun, environ: Mapping[str, str]) -> int:
    """Run ``run`` in the foreground (its output is the user's) and return its exit code;
    ``environ`` is passed in without the host-only variables."""
    env = {k: v for k, v in environ.items() if k not in _HOST_ONLY}
    config = {
        "bundle": str(run.bundle), "args": list(run.args), "cwd": str(run.cwd),
        "mounts": [list(m) for m in run.mounts], "sites": [str(d) for d in run.sites],
        "env": env, "wheels": [str(w) for w in run.wheels], "preload": run.preload,
        "snapshot": run.snapshot, "tests": run.tests, "timing": run.timing,
    }
    return subprocess.call([node_binary(), str(harness("python.mjs")), json.dumps(config)])
