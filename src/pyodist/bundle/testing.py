"""``pyodist test``: prove a bundle works where it will run.

Node: every wheel's sha256 is checked against the lock first (Pyodide does not in Node), then
each package is loaded with the stock loader and its lock ``imports`` are imported; a host
folder is mounted with NODEFS and read and written from Python. Results are per package and
per environment, with timings, as a table, JSON or JUnit XML.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyodist.bundle.serve import running_server
from pyodist.errors import ToolchainError
from pyodist.runtime.node import run_harness

__all__ = [
    "BrowserSetup",
    "CheckResult",
    "EnvironmentReport",
    "browser_setup",
    "check_in_browser",
    "check_in_node",
    "console_screenshot",
    "junit_xml",
]


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    seconds: float
    error: str | None = None


@dataclass
class EnvironmentReport:
    environment: str  # "node" or "chromium"
    ready_seconds: float = 0.0
    checks: list[CheckResult] = field(default_factory=list)
    error: str | None = None  # the environment itself failed

    @property
    def ok(self) -> bool:
        return self.error is None and all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "ready_seconds": round(self.ready_seconds, 3),
                "error": self.error,
                "checks": {c.name: {"ok": c.ok, "seconds": round(c.seconds, 3),
                                    "error": c.error} for c in self.checks}}


def check_in_node(bundle: Path, packages: Sequence[str] | None = None, *,
                 nodefs: bool = True) -> EnvironmentReport:
    report = EnvironmentReport("node")
    with tempfile.TemporaryDirectory(prefix="pyodist-nodefs-") as host:
        (Path(host) / "from-node.txt").write_text("written by Node")
        data = run_harness("check_bundle.mjs", {
            "bundle": str(bundle.resolve()),
            "packages": None if packages is None else list(packages),
            "hostDir": host if nodefs else None,
        }, timeout=1800)
    report.ready_seconds = float(data.get("ready_seconds", 0.0))
    for name, result in sorted(data.get("packages", {}).items()):
        report.checks.append(CheckResult(name, bool(result["ok"]), float(result["seconds"]),
                                         result.get("error")))
    fs = data.get("nodefs")
    if fs is not None:
        report.checks.append(CheckResult("NODEFS read/write", bool(fs.get("ok")), 0.0,
                                         fs.get("error") or (None if fs.get("ok") else
                                                             f"read {fs.get('read')!r}")))
    if (bundle / "snapshot.json").is_file():
        snap = run_harness("check_snapshot.mjs", {"bundle": str(bundle.resolve())}, timeout=600)
        report.checks.append(CheckResult("start from the memory snapshot", bool(snap.get("ok")),
                                         float(snap.get("ready_seconds") or 0.0),
                                         snap.get("error")))
    return report


@dataclass(frozen=True)
class BrowserSetup:
    """What the browser harnesses need: Debian's Chromium, and the folder whose
    ``node_modules`` has playwright-core (which drives it; no browser is downloaded)."""

    chromium: str
    node_root: Path

    @property
    def env(self) -> dict[str, str]:
        return {"PYODIST_NODE_ROOT": str(self.node_root), "PYODIST_CHROMIUM": self.chromium}


def browser_setup(project_root: Path, chromium: str | None = None) -> BrowserSetup:
    """Find Chromium (``chromium``: the configured path, else the one on PATH) and
    playwright-core (in ``project_root``), or say how to get them."""
    found = chromium or shutil.which("chromium")
    if not found:
        raise ToolchainError("Chromium is not installed",
                             hint="apt-get install chromium (make test installs it), or "
                                  "test in Node only with --node")
    if not (project_root / "node_modules" / "playwright-core").is_dir():
        raise ToolchainError("the npm package playwright-core is not installed",
                             hint="run 'npm install' in the pyodist checkout (make test does)")
    return BrowserSetup(found, project_root.resolve())


def check_in_browser(bundle: Path, setup: BrowserSetup, packages: Sequence[str] | None = None,
                     *, screenshot: Path | None = None) -> EnvironmentReport:
    """Load the bundle in headless Chromium from a local server; WORKERFS in a worker."""
    report = EnvironmentReport("chromium")
    with running_server(bundle) as server:
        data = run_harness("browser_check.mjs", {
            "bundleURL": server.url, "packages": None if packages is None else list(packages),
            "worker": True, "screenshot": str(screenshot) if screenshot else None,
        }, timeout=600, extra_env=setup.env)
    report.ready_seconds = float(data.get("ready_seconds") or 0.0)
    if data.get("error"):
        report.error = str(data["error"])
    integrity = data.get("integrity_errors") or []
    external = data.get("external_requests") or []
    by_package: dict[str, list[str]] = {}
    for mod, result in sorted((data.get("imports") or {}).items()):
        errors = by_package.setdefault(str(result.get("package") or mod), [])
        if not result.get("ok"):
            errors.append(f"import {mod}: {result.get('error')}")
    for name, failures in sorted(by_package.items()):
        details = list(failures)
        if details:
            related = [m for m in integrity if name in m]
            details += related or [m for m in data.get("load_errors") or [] if name in m]
        report.checks.append(CheckResult(name, not details, 0.0, "\n".join(details) or None))
    if external:
        report.checks.append(CheckResult("no requests outside the bundle", False, 0.0,
                                         "blocked: " + ", ".join(map(str, external))))
    fs = data.get("workerfs")
    if fs is not None:
        report.checks.append(CheckResult("WORKERFS read in a Web Worker", bool(fs.get("ok")),
                                         float(fs.get("ready_seconds") or 0.0),
                                         fs.get("error")))
    if (bundle / "snapshot.json").is_file():
        report.checks.append(_snapshot_in_browser(bundle, setup))
    return report


def _snapshot_in_browser(bundle: Path, setup: BrowserSetup) -> CheckResult:
    """The console page starts from the snapshot (it checks it against the manifest first);
    a compiled package the snapshot holds is used at once (its modules were instantiated
    again by the bundle's loader, not loaded)."""
    code = "import json, colorsys\nprint('snapshot ok')"
    if (bundle / "snapshot.json").is_file():
        info = json.loads((bundle / "snapshot.json").read_text())
        if "numpy" in (info.get("imports") or []):
            code = ("import numpy\nassert int(numpy.arange(10).sum()) == 45\n"
                    "assert abs(numpy.linalg.det(numpy.eye(3) * 2) - 8) < 1e-12\n" + code)
    with tempfile.TemporaryDirectory(prefix="pyodist-shot-") as tmp:
        data = console_screenshot(bundle, setup, code, Path(tmp) / "shot.png")
    status = str(data.get("status") or "")
    ok = bool(data.get("ok")) and "from snapshot.bin" in status \
        and "snapshot ok" in str(data.get("output"))
    return CheckResult("start from the memory snapshot", ok, 0.0,
                       None if ok else (data.get("error") or f"the page said: {status} "
                                                              f"{data.get('output')}"))


def junit_xml(bundle: str, reports: Sequence[EnvironmentReport]) -> str:
    suites = ET.Element("testsuites", name=f"pyodist test {bundle}")
    for report in reports:
        failures = sum(1 for c in report.checks if not c.ok) + (1 if report.error else 0)
        suite = ET.SubElement(suites, "testsuite", name=report.environment,
                              tests=str(len(report.checks) + (1 if report.error else 0)),
                              failures=str(failures),
                              time=f"{sum(c.seconds for c in report.checks):.3f}")
        if report.error:
            case = ET.SubElement(suite, "testcase", classname=report.environment,
                                 name="environment")
            ET.SubElement(case, "failure", message="environment failed").text = report.error
        for check in report.checks:
            case = ET.SubElement(suite, "testcase", classname=report.environment,
                                 name=check.name, time=f"{check.seconds:.3f}")
            if not check.ok:
                ET.SubElement(case, "failure",
                              message=(check.error or "failed").splitlines()[0][:200]).text = \
                    check.error
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def console_screenshot(bundle: Path, setup: BrowserSetup, code: str,
                       screenshot: Path) -> dict[str, Any]:
    """Run ``code`` on the console page `pyodist serve` offers and save a screenshot."""
    with running_server(bundle) as server:
        return run_harness("console_shot.mjs", {"url": server.url, "code": code,
                                                "screenshot": str(screenshot),
                                                "chromium": setup.chromium},
                           timeout=300, extra_env=setup.env)
