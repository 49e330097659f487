"""Integration fixtures: a real HTTP server on loopback serving files and a simple index."""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pyodist.options import (
    DEFAULT_IMAGE_REPO,
    DEFAULT_PYODIDE_INTEGRITY,
    DEFAULT_PYODIDE_VERSION,
    RuntimeSpec,
    default_cache_dir,
)
from pyodist.runtime.pyodide import ensure_runtime
from pyodist.toolchain import docker_client, inspect_image


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@dataclass
class FileServer:
    """Serves ``files`` by name; ``fail_times[name]`` 503s first; ``truncate`` cuts bodies;
    ``chunk_delay[name]`` streams the body in 64 KiB chunks with that many seconds between."""

    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    fail_times: dict[str, int] = field(default_factory=dict)
    truncate: set[str] = field(default_factory=set)
    chunk_delay: dict[str, float] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    # project -> list of filenames listed on the simple index
    projects: dict[str, list[str]] = field(default_factory=dict)
    # per file: listed as yanked / with data-requires-python / with PEP 658 metadata
    yanked: set[str] = field(default_factory=set)
    requires_python: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, bytes] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"{self.base}/files/{name}"

    def add(self, name: str, data: bytes, project: str | None = None) -> str:
        self.files[name] = data
        if project:
            self.projects.setdefault(project, []).append(name)
        return hashlib.sha256(data).hexdigest()


def _handler(state: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def _send(self, code: int, body: bytes, ctype: str = "application/octet-stream",
                  length: int | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)

        def _send_slowly(self, body: bytes, delay: float) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for start in range(0, len(body), 64 * 1024):
                    self.wfile.write(body[start:start + 64 * 1024])
                    self.wfile.flush()
                    time.sleep(delay)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client went away mid-download (killed on purpose)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            state.hits[path] += 1
            if path.startswith("/files/") and path.endswith(".metadata"):
                name = path[len("/files/"):-len(".metadata")]
                if name not in state.metadata:
                    return self._send(404, b"not found")
                return self._send(200, state.metadata[name], "text/plain")
            if path.startswith("/files/"):
                name = path[len("/files/"):]
                if name not in state.files:
                    return self._send(404, b"not found")
                if state.fail_times.get(name, 0) > 0:
                    state.fail_times[name] -= 1
                    return self._send(503, b"try later")
                data = state.files[name]
                if name in state.truncate:
                    return self._send(200, data[: len(data) // 2], length=len(data))
                if name in state.chunk_delay:
                    return self._send_slowly(data, state.chunk_delay[name])
                return self._send(200, data)
            for kind in ("json", "html"):
                prefix = f"/{kind}/simple/"
                if path.startswith(prefix):
                    project = path[len(prefix):].strip("/")
                    names = state.projects.get(project)
                    if names is None:
                        return self._send(404, b"")
                    digests = {n: hashlib.sha256(state.files[n]).hexdigest() for n in names}
                    if kind == "json" and "json" in self.headers.get("Accept", ""):
                        body = json.dumps({
                            "meta": {"api-version": "1.0"}, "name": project,
                            "files": [{"filename": n, "url": f"../../../files/{n}",
                                       "hashes": {"sha256": d}, "yanked": n in state.yanked,
                                       "requires-python": state.requires_python.get(n),
                                       "core-metadata": n in state.metadata}
                                      for n, d in digests.items()],
                        }).encode()
                        return self._send(200, body, "application/vnd.pypi.simple.v1+json")
                    links = "".join(
                        f'<a href="/files/{n}#sha256={d}"'
                        + (" data-yanked" if n in state.yanked else "")
                        + (f' data-requires-python="{html.escape(state.requires_python[n])}"'
                           if n in state.requires_python else "")
                        + (' data-core-metadata="true"' if n in state.metadata else "")
                        + f">{n}</a>\n" for n, d in digests.items())
                    return self._send(200, f"<html><body>{links}</body></html>".encode(),
                                      "text/html")
            return self._send(404, b"")

    return Handler


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    state = FileServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def toolchain_image() -> str:
    """The toolchain image `make test` built (PYODIST_IMAGE, else the default tag).

    A missing image or engine is a failure, not a skip: these tests exist to run for real.
    """
    image = os.environ.get("PYODIST_IMAGE") or f"{DEFAULT_IMAGE_REPO}:{DEFAULT_PYODIDE_VERSION}"
    if inspect_image(docker_client(), image) is None:
        pytest.fail(f"toolchain image {image} is missing: run 'make image' (make test does)")
    return image


@pytest.fixture(scope="session")
def runtime_dir() -> Path:
    """The Pyodide core of the default runtime, fetched once into the user's cache."""
    spec = RuntimeSpec(DEFAULT_PYODIDE_VERSION, DEFAULT_PYODIDE_INTEGRITY)
    return ensure_runtime(spec, default_cache_dir(os.environ))


def fresh_cache(path: Path, runtime_dir: Path) -> Path:
    """A new cache that shares the already fetched Pyodide runtime (npm is slow)."""
    (path / "runtime").mkdir(parents=True)
    (path / "runtime" / runtime_dir.name).symlink_to(runtime_dir)
    return path


@pytest.fixture(scope="session")
def slim(tmp_path_factory: pytest.TempPathFactory, toolchain_image: str) -> dict[str, Any]:
    """The project's slim bundle (`pyodist bundle --json`'s report), made once for every
    module that reads it: a test that changes a bundle changes a copy."""
    from tests.integration.test_bundle import bundle  # noqa: PLC0415 - its own helpers

    return bundle("slim", tmp_path_factory.mktemp("slim"))


@dataclass
class OciRegistry:
    """The CNCF distribution registry (Debian's docker-registry) on a free loopback port."""

    port: int
    storage: Path
    config: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def store(self, repo: str = "pyodist/cache") -> str:
        return f"oci://{self.host}/{repo}"

    def start(self) -> None:
        log = (self.storage.parent / "registry.log").open("ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.config)],
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), \
                    socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"docker-registry did not start; see {self.storage.parent / 'registry.log'}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None

    def blobs(self) -> list[Path]:
        return sorted(self.storage.glob("docker/registry/v2/blobs/sha256/*/*/data"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def oci_registry(tmp_path: Path) -> Iterator[OciRegistry]:
    """A real OCI registry for this test (a missing docker-registry is a failure: make test
    installs it)."""
    if shutil.which("docker-registry") is None:
        pytest.fail("docker-registry is not installed: run 'make host-deps' (make test does)")
    folder = tmp_path / "registry"
    storage = folder / "data"
    storage.mkdir(parents=True)
    port = _free_port()
    config = folder / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {storage}\n"
                      f"  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n"
                      "log:\n  level: error\n")
    registry = OciRegistry(port, storage, config)
    registry.start()
    try:
        yield registry
    finally:
        registry.stop()
