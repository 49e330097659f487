"""``pyodist test``: prove a bundle works where it will run.

Node: every wheel's sha256 is checked against the lock first (Pyodide does not in Node), then
each package is loaded with the stock loader and its lock ``imports`` are imported; a host
folder is mounted with NODEFS and read and written from Python. Results are per package and
per environment, with timings, as a table, JSON or JUnit XML.
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyodist.runtime.node import run_harness

__all__ = ["CheckResult", "EnvironmentReport", "junit_xml", "test_in_node"]


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


def test_in_node(bundle: Path, packages: Sequence[str] | None = None, *,
                 nodefs: bool = True) -> EnvironmentReport:
    report = EnvironmentReport("node")
    with tempfile.TemporaryDirectory(prefix="pyodist-nodefs-") as host:
        (Path(host) / "from-node.txt").write_text("written by Node")
        data = run_harness("test_bundle_node.mjs", {
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
    return report


# pytest would collect a module-level function called test_*
test_in_node.__test__ = False  # type: ignore[attr-defined]


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
