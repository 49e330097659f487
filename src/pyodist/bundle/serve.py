"""A localhost static server for bundles, with the headers Pyodide needs.

- MIME types: ``application/wasm`` (without it ``loadPyodide`` hangs in a browser),
  ``text/javascript`` for ``.mjs``/``.js``, JSON, zip for wheels;
- precompressed siblings: ``X.br`` / ``X.gz`` are sent for ``X`` with ``Content-Encoding``
  when the request accepts it (``Vary: Accept-Encoding``) and they are not older than ``X``;
- optional ``Cross-Origin-Opener-Policy``/``Cross-Origin-Embedder-Policy`` for pages that
  need ``SharedArrayBuffer``;
- ``/`` serves a small Python console page when the bundle has no ``index.html``; a
  folder with an ``index.html`` (the ``simple/`` package index) serves that;
- with a work folder (``pyodist serve --workdir DIR``), ``/_pyodist/work/index.json`` lists
  its files and ``/_pyodist/work/PATH`` serves them: the console page copies them into the
  runtime's working folder; with a script (``--run FILE``), ``/_pyodist/run.py`` is the
  code the console page starts with and runs;
- paths never leave the bundle folder (or the work folder): only regular files whose real
  path is inside are sent, read in chunks (never whole into memory);
- a client has HEADER_SECONDS to send its request line and headers, and at most
  MAX_CONNECTIONS are served at once (one more is closed at once): a client that trickles
  bytes or opens many connections cannot hold the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

from pyodist.fsutil import resolve_inside

__all__ = ["MIME_TYPES", "BundleServer", "running_server"]

MIME_TYPES = {
    ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
    ".json": "application/json", ".html": "text/html; charset=utf-8", ".whl": "application/zip",
    ".zip": "application/zip", ".tar": "application/x-tar", ".gz": "application/gzip",
    ".map": "application/json", ".ts": "text/plain", ".txt": "text/plain; charset=utf-8",
    ".png": "image/png", ".css": "text/css",
}
CONSOLE_PAGE = "console.html"
WORK_PREFIX = "_pyodist/work/"
RUN_PATH = "_pyodist/run.py"
# what the console page copies into the browser's memory: enough for data files, not a disk
WORK_LIMITS = (1000, 200 * 1000**2)  # files, bytes
HEADER_SECONDS = 30.0
MAX_CONNECTIONS = 64


def _console_page() -> bytes:
    return (resources.files("pyodist.bundle") / CONSOLE_PAGE).read_bytes()


class BundleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int = 0,
                 isolation: bool = False, workdir: Path | None = None,
                 script: Path | None = None) -> None:
        self.root = root.resolve()
        self.isolation = isolation
        self.workdir = workdir.resolve() if workdir is not None else None
        self.script = script.resolve() if script is not None else None
        self.header_seconds = HEADER_SECONDS
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__((host, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # one thread per connection, up to MAX_CONNECTIONS: a connection beyond that is
        # closed at once instead of queueing threads without bound
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def work_files(self) -> list[str]:
        """The work folder's files (relative, '/'-separated, no hidden ones), within
        WORK_LIMITS; ValueError naming the limit when there are more."""
        if self.workdir is None:
            return []
        found: list[str] = []
        total = 0
        for path in sorted(self.workdir.rglob("*")):
            rel = path.relative_to(self.workdir)
            if any(part.startswith(".") for part in rel.parts) or path.is_symlink() \
                    or not path.is_file():
                continue
            found.append(rel.as_posix())
            total += path.stat().st_size
            if len(found) > WORK_LIMITS[0] or total > WORK_LIMITS[1]:
                raise ValueError(f"more than {WORK_LIMITS[0]} files or "
                                 f"{WORK_LIMITS[1] // 1000**2} MB")
        return found

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    # a client that sends nothing (or stops reading) for this long is dropped
    timeout = 60
    server: BundleServer
    # a request line without a version (a raw newline in a target) is answered as HTTP/1.0,
    # with a status line, not as HTTP/0.9's bare body
    default_request_version = "HTTP/1.0"

    _deadline: threading.Timer | None = None

    def log_message(self, *_args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # the request line and headers must arrive within header_seconds, however slowly
        # their bytes trickle in (the socket timeout alone is per byte read)
        self._deadline = threading.Timer(self.server.header_seconds, self._drop)
        self._deadline.daemon = True
        self._deadline.start()

    def _drop(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        if self._deadline is not None:  # a slow reader of the answer is bounded by `timeout`
            self._deadline.cancel()
        return parsed

    def finish(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().finish()

    def _headers(self, code: int, ctype: str, length: int, encoding: str | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Vary", "Accept-Encoding")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        if self.server.isolation:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.end_headers()

    def _relpath(self) -> str:
        return urllib.parse.unquote(urllib.parse.urlsplit(self.path).path,
                                    errors="replace").lstrip("/")

    def _resolve(self, base: Path | None = None, rel: str | None = None) -> Path | None:
        """The file a request path names inside the bundle (or ``base``); None for anything
        else (a path leaving it, a NUL byte, a name no file system accepts)."""
        root = self.server.root if base is None else base
        rel = self._relpath() if rel is None else rel
        return resolve_inside(root, rel)

    def _send_bytes(self, code: int, ctype: str, data: bytes, *, body: bool) -> None:
        self._headers(code, ctype, len(data))
        if body:
            self.wfile.write(data)

    def _serve_extra(self, rel: str, *, body: bool) -> bool:
        """The work folder and the start script (True when the request was one of them)."""
        server = self.server
        if rel == RUN_PATH:
            try:
                script = server.script.read_bytes() if server.script is not None else None
            except OSError:  # deleted or unreadable since the server started
                script = None
            if script is None:
                self._send_bytes(404, "text/plain", b"no script\n", body=body)
            else:
                self._send_bytes(200, "text/x-python; charset=utf-8", script, body=body)
            return True
        if not rel.startswith(WORK_PREFIX):
            return False
        inner = rel.removeprefix(WORK_PREFIX)
        if server.workdir is None:
            self._send_bytes(404, "text/plain", b"no work folder\n", body=body)
        elif inner == "index.json":
            listing: dict[str, object]
            try:
                listing = {"files": server.work_files()}
            except (OSError, ValueError) as exc:
                listing = {"files": [], "error": f"the work folder is not served: {exc}"}
            self._send_bytes(200, MIME_TYPES[".json"], json.dumps(listing).encode(), body=body)
        else:
            target = _regular_inside(server.workdir / inner, server.workdir)
            if target is None or any(p.startswith(".") for p in Path(inner).parts):
                self._send_bytes(404, "text/plain", b"not found\n", body=body)
            else:
                self._send_file(target, "application/octet-stream", None, body=body)
        return True

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, *, body: bool) -> None:
        if self._serve_extra(self._relpath(), body=body):
            return
        target = self._resolve()
        if target is not None and target == self.server.root:
            index = target / "index.html"
            if not index.is_file():
                data = _console_page()
                self._headers(200, MIME_TYPES[".html"], len(data))
                if body:
                    self.wfile.write(data)
                return
            target = index
        elif target is not None and _is_file(target / "index.html"):
            target = target / "index.html"  # simple/NAME/: the bundle's package index
        # what is sent is a regular file whose real path is inside the bundle: a link in it
        # that leads out (an index.html, a .br sibling) is not followed
        target = self._contained(target)
        if target is None:
            message = b"not found\n"
            self._headers(404, "text/plain", len(message))
            if body:
                self.wfile.write(message)
            return
        accepted = self.headers.get("Accept-Encoding", "")
        encoding = None
        send = target
        for suffix, name in ((".br", "br"), (".gz", "gzip")):
            sibling = self._contained(target.with_name(target.name + suffix))
            # a sibling older than its file is stale (the file was edited): never serve it
            if name in accepted and sibling is not None \
                    and sibling.stat().st_mtime >= target.stat().st_mtime:
                send, encoding = sibling, name
                break
        self._send_file(send, MIME_TYPES.get(target.suffix, "application/octet-stream"),
                        encoding, body=body)

    def _send_file(self, path: Path, ctype: str, encoding: str | None, *, body: bool) -> None:
        """``path`` streamed in chunks (a large file is never held in memory whole); 404
        when it went away since it was resolved."""
        try:
            handle = path.open("rb")
        except OSError:
            self._send_bytes(404, "text/plain", b"not found\n", body=body)
            return
        with handle:
            self._headers(200, ctype, os.fstat(handle.fileno()).st_size, encoding)
            if body:
                shutil.copyfileobj(handle, self.wfile, 1 << 20)

    def _contained(self, path: Path | None) -> Path | None:
        """``path``'s real path, if it is a regular file inside the bundle."""
        return None if path is None else _regular_inside(path, self.server.root)


def _regular_inside(path: Path, root: Path) -> Path | None:
    """``path``'s real path, if it is a regular file inside ``root`` (a real path)."""
    real = resolve_inside(root, path)
    return real if real is not None and _is_file(real) else None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


@contextmanager
def running_server(root: Path, *, isolation: bool = False, workdir: Path | None = None,
                   script: Path | None = None) -> Iterator[BundleServer]:
    """A server on a free loopback port, in a background thread, for tests and harnesses."""
    server = BundleServer(root, isolation=isolation, workdir=workdir, script=script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
