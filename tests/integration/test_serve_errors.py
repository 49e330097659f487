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


def test_work_folder_and_start_script(tmp_path: Path) -> None:
    """--workdir serves a folder's files (no hidden ones, nothing outside it) and --run the
    code the console page starts with."""
    import json  # noqa: PLC0415
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    from pyodist.bundle.serve import running_server  # noqa: PLC0415

    bundle, work = tmp_path / "bundle", tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    bundle.mkdir()
    (work / "data.csv").write_text("a,b\n1,2\n")
    (work / "sub" / "more.txt").write_text("more")
    (work / ".secret").write_text("hidden")
    (tmp_path / "outside.txt").write_text("outside")
    (work / "link.txt").symlink_to(tmp_path / "outside.txt")
    script = tmp_path / "run.py"
    script.write_text("print('hi')\n")

    def get(base: str, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(base + path, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, b""

    with running_server(bundle, workdir=work, script=script) as server:
        status, listing = get(server.url, "_pyodist/work/index.json")
        assert status == 200
        assert json.loads(listing) == {"files": ["data.csv", "sub/more.txt"]}
        assert get(server.url, "_pyodist/work/sub/more.txt") == (200, b"more")
        for bad in (".secret", "..%2Foutside.txt", "%2E%2E/outside.txt", "link.txt",
                    "sub/../../outside.txt"):
            assert get(server.url, "_pyodist/work/" + bad)[0] == 404, bad
        assert get(server.url, "_pyodist/run.py") == (200, b"print('hi')\n")
    with running_server(bundle) as server:
        assert get(server.url, "_pyodist/work/index.json")[0] == 404
        assert get(server.url, "_pyodist/run.py")[0] == 404


@pytest.mark.parametrize(("args", "expected"), [
    (["--workdir", "/no/such/folder"], "--workdir /no/such/folder: not a folder"),
    (["--run", "/no/such/script.py"], "--run /no/such/script.py: not a file"),
])
def test_bad_work_folder_or_script(tmp_path: Path, args: list[str], expected: str) -> None:
    proc = serve(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr


def test_a_client_that_trickles_its_request_is_dropped(tmp_path: Path) -> None:
    import time  # noqa: PLC0415

    from pyodist.bundle.serve import running_server  # noqa: PLC0415

    (tmp_path / "a.txt").write_text("a")
    with running_server(tmp_path) as server:
        server.header_seconds = 1.0
        host, port = server.server_address[:2]
        with socket.create_connection((host, port), timeout=10) as slow:
            start = time.monotonic()
            slow.sendall(b"GET /a.txt HTTP/1.0\r\n")
            for _ in range(8):  # a byte every 0.3 s: each read is quick, the whole is not
                time.sleep(0.3)
                try:
                    slow.sendall(b"X")
                except OSError:
                    break
            assert slow.recv(100) == b""  # dropped, without an answer
            assert time.monotonic() - start < 5
        # a prompt client is served as before
        with socket.create_connection((host, port), timeout=10) as quick:
            quick.sendall(b"GET /a.txt HTTP/1.0\r\n\r\n")
            assert quick.recv(100).startswith(b"HTTP/1.0 200")


def test_connections_beyond_the_limit_are_closed_at_once(tmp_path: Path) -> None:
    from pyodist.bundle.serve import MAX_CONNECTIONS, running_server  # noqa: PLC0415

    (tmp_path / "a.txt").write_text("a")
    with running_server(tmp_path) as server:
        host, port = server.server_address[:2]
        idle = [socket.create_connection((host, port), timeout=10)
                for _ in range(MAX_CONNECTIONS)]
        try:
            with socket.create_connection((host, port), timeout=10) as extra:
                extra.sendall(b"GET /a.txt HTTP/1.0\r\n\r\n")
                try:
                    answer = extra.recv(100)
                except ConnectionResetError:
                    answer = b""
                assert answer == b""
        finally:
            for sock in idle:
                sock.close()
        # once they are gone the server answers again
        import time  # noqa: PLC0415
        for _ in range(50):
            with socket.create_connection((host, port), timeout=10) as again:
                again.sendall(b"GET /a.txt HTTP/1.0\r\n\r\n")
                try:
                    if again.recv(100).startswith(b"HTTP/1.0 200"):
                        break
                except ConnectionResetError:
                    pass
            time.sleep(0.1)
        else:
            raise AssertionError("the server did not answer after the idle connections closed")
