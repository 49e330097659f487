"""The command line against a hostile host: outputs that cannot encode or take nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def test_a_lock_file_name_leading_out_of_the_bundle_is_not_loaded(slim: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    # pyodist test and pyodist python load only files of the bundle, as verify checks
    copy = tmp_path / "b"
    shutil.copytree(slim["folder"], copy)
    lock = json.loads((copy / "pyodide-lock.json").read_text())
    key, pkg = next(iter(lock["packages"].items()))
    shutil.move(copy / pkg["file_name"], tmp_path / pkg["file_name"])
    pkg["file_name"] = f"../{pkg['file_name']}"
    (copy / "pyodide-lock.json").write_text(json.dumps(lock))
    run = subprocess.run([sys.executable, "-m", "pyodist", "python", str(copy), "-c",
                          f"import {pkg['imports'][0]}"], capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode != 0 and "does not name a file inside the bundle" in run.stderr, \
        run.stderr[-2000:]
    test = subprocess.run([sys.executable, "-m", "pyodist", "test", "--node", "--package", key,
                           str(copy)], capture_output=True, text=True, timeout=300, check=False)
    assert test.returncode == 11 and "does not name a file inside the bundle" in test.stdout, \
        test.stdout[-2000:]
