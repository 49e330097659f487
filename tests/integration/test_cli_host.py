"""The command line against a hostile host: outputs that cannot encode or take nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], *, env: dict[str, str] | None = None,
         stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", *args], cwd=ROOT, text=True,
                          stdout=stdout, stderr=subprocess.PIPE, timeout=120, check=False,
                          env={**os.environ, **(env or {})})


def test_a_name_the_output_cannot_encode_is_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "r" / "péché"
    folder.mkdir(parents=True)
    (folder / "meta.yaml").write_text("package:\n  name: péché\n  version: '1'\n"
                                      "source:\n  path: .\n", encoding="utf-8")
    proc = _run(["--recipe-dir", str(tmp_path / "r"), "recipes", "check"],
                env={"PYTHONIOENCODING": "ascii"})
    assert proc.returncode == 3, proc.stderr
    assert "p\\xe9ch\\xe9" in proc.stdout and "Traceback" not in proc.stderr


def test_an_output_that_takes_nothing_is_one_line_and_exit_13() -> None:
    with open("/dev/full", "w") as full:  # noqa: PTH123 - a device, not a path to build on
        proc = _run(["recipes", "list"], stdout=full.fileno())
    assert proc.returncode == 13, proc.stderr
    assert proc.stderr.strip().splitlines()[0] == "error: the output: No space left on device"
    assert "Traceback" not in proc.stderr
