"""`pyodist serve` first-run mistakes: one line each, exit 2, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def serve(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyodist", "serve", str(folder), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("args", "expected"), [
    (["--port", "99999"], "--port 99999: not a TCP port"),
    (["--port", "-1"], "--port -1: not a TCP port"),
    (["--host", "no-such-host.invalid"], "--host 'no-such-host.invalid': no such host"),
    (["--host", "192.0.2.1"], "cannot listen on 192.0.2.1:8000"),
])
def test_bad_addresses(tmp_path: Path, args: list[str], expected: str) -> None:
    proc = serve(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr


def test_a_port_in_use_says_which_and_how_to_pick_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = serve(tmp_path, "--port", str(port))
    assert proc.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in proc.stderr
    assert "--port 0 for any free port" in proc.stderr and "Traceback" not in proc.stderr
