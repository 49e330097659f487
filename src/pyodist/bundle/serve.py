"""A localhost static server for bundles, with the headers Pyodide needs.

- MIME types: ``application/wasm`` (without it ``loadPyodide`` hangs in a browser),
  ``text/javascript`` for ``.mjs``/``.js``, JSON, zip for wheels;
- precompressed siblings: ``X.br`` / ``X.gz`` are sent for ``X`` with ``Content-Encoding``
  when the request accepts it (``Vary: Accept-Encoding``) and they are not older than ``X``;
- optional ``Cross-Origin-Opener-Policy``/``Cross-Origin-Embedder-Policy`` for pages that
  need ``SharedArrayBuffer``;
- ``/`` serves a small Python console page when the bundle has no ``index.html``; a
  folder with an ``index.html`` (the ``simple/`` package index) serves that;
- paths never leave the bundle folder.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

__all__ = ["MIME_TYPES", "BundleServer", "running_server"]

MIME_TYPES = {
    ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
    ".json": "application/json", ".html": "text/html; charset=utf-8", ".whl": "application/zip",
    ".zip": "application/zip", ".tar": "application/x-tar", ".gz": "application/gzip",
    ".map": "application/json", ".ts": "text/plain", ".txt": "text/plain; charset=utf-8",
    ".png": "image/png", ".css": "text/css",
}
CONSOLE_PAGE = "console.html"


def _console_page() -> bytes:
    return (resources.files("pyodist.bundle") / CONSOLE_PAGE).read_bytes()


class BundleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, *, host: str = "127.0.0.1", port: int = 0,
                 isolation: bool = False) -> None:
        self.root = root.resolve()
        self.isolation = isolation
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: BundleServer
    # a request line without a version (a raw newline in a target) is answered as HTTP/1.0,
    # with a status line, not as HTTP/0.9's bare body
    default_request_version = "HTTP/1.0"

    def log_message(self, *_args: object) -> None:
        pass


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

    def _resolve(self) -> Path | None:
        """The file a request path names inside the bundle; None for anything else (a path
        leaving the bundle, a NUL byte, a name no file system accepts)."""
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path,
                                   errors="replace").lstrip("/")
        if "\0" in rel:
            return None
        try:
            target = (self.server.root / rel).resolve()
        except (OSError, ValueError, RuntimeError):  # too long, a link loop
            return None
        if target != self.server.root and not target.is_relative_to(self.server.root):
            return None
        return target

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, *, body: bool) -> None:
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
        if target is None or not _is_file(target):
            message = b"not found\n"
            self._headers(404, "text/plain", len(message))
            if body:
                self.wfile.write(message)
            return
        accepted = self.headers.get("Accept-Encoding", "")
        encoding = None
        send = target
        for suffix, name in ((".br", "br"), (".gz", "gzip")):
            sibling = target.with_name(target.name + suffix)
            # a sibling older than its file is stale (the file was edited): never serve it
            if name in accepted and sibling.is_file() \
                    and sibling.stat().st_mtime >= target.stat().st_mtime:
                send, encoding = sibling, name
                break
        data = send.read_bytes()
        ctype = MIME_TYPES.get(target.suffix, "application/octet-stream")
        self._headers(200, ctype, len(data), encoding)
        if body:
            self.wfile.write(data)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


@contextmanager
def running_server(root: Path, *, isolation: bool = False) -> Iterator[BundleServer]:
    """A server on a free loopback port, in a background thread, for tests and harnesses."""
    server = BundleServer(root, isolation=isolation)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
