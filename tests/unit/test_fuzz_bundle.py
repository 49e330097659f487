"""Property-based fuzzing of what reads a finished bundle: `pyodist verify` and the server.

* verify: mutated manifests and locks (wrong types, names leaving the bundle, links, extra
  files and folders at any depth) end in a list of problems, never a traceback, and a
  bundle with anything added, removed, changed or linked is never reported clean.
* serve: request targets made of every byte value, percent-encodings, dot segments and
  lengths up to the request-line limit always get an HTTP response, and never one with a
  file from outside the bundle.

Bounded and seeded like tests/unit/test_fuzz.py (``PYODIST_FUZZ_EXAMPLES`` for more).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pyodist.bundle.serve import _Handler
from pyodist.bundle.verify import verify_bundle

Hardening = Callable[[str, int], None]

_EXAMPLES = int(os.environ.get("PYODIST_FUZZ_EXAMPLES") or 0) or 300
_SETTINGS = settings(max_examples=_EXAMPLES, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SECRET = b"outside the bundle: never served, never vouched for"


def _make_bundle(root: Path) -> Path:
    folder = root / "b"
    folder.mkdir()
    files = {}
    for name, data in (("pyodide.mjs", b"loader"), ("x-1.0-py3-none-any.whl", b"wheel"),
                       ("pyodide-lock.json", json.dumps({"packages": {"x": {
                           "file_name": "x-1.0-py3-none-any.whl",
                           "sha256": hashlib.sha256(b"wheel").hexdigest()}}}).encode())):
        (folder / name).write_bytes(data)
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    (folder / "manifest.json").write_text(json.dumps({"files": files}))
    (root / "secret.txt").write_bytes(SECRET)
    return folder


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
_NAMES = st.sampled_from(["pyodide.mjs", "x-1.0-py3-none-any.whl", "../secret.txt",
                          "/etc/passwd", "sub/new.js", "a/b/c.txt", "", ".", "..", "new.whl",
                          "pyodide-lock.json", "sub\\x", "\u202e.js"])
# (what, name, value): how one file of the bundle (or its manifest/lock) is changed
_CHANGES = st.tuples(st.sampled_from(["manifest-json", "manifest-files", "lock-json",
                                      "lock-file-name", "add", "remove", "modify",
                                      "link-inside", "link-outside", "folder"]),
                     _NAMES, _JSON)


def _apply(folder: Path, what: str, name: str, value: Any) -> bool:
    """Make one change to the bundle (False when it does not apply here)."""
    target = folder / name if name and name not in (".", "..") else None
    inside = target is not None and target.resolve().is_relative_to(folder.resolve()) \
        and target.resolve() != folder.resolve() and "\\" not in name
    if what == "manifest-json":
        (folder / "manifest.json").write_text(json.dumps(value))
        return True  # the manifest pyodist wrote is gone
    if what in ("manifest-files", "lock-file-name"):
        path = folder / ("manifest.json" if what == "manifest-files" else "pyodide-lock.json")
        if not path.is_file() or path.is_symlink():
            return False
        try:
            data = json.loads(path.read_text())
        except ValueError:  # an earlier change broke it
            return False
        if not isinstance(data, dict):
            return False
        if what == "manifest-files":
            data["files"] = value
        else:
            data["packages"] = {"x": {"file_name": name, "sha256": "0" * 64}}
        path.write_text(json.dumps(data))
        return True
    if what == "lock-json":
        (folder / "pyodide-lock.json").write_text(json.dumps(value))
        return True  # the lock's bytes are in the manifest
    if not inside or target is None:
        return False
    if what in ("add", "folder") and target.exists():
        return False
    if what == "add":
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(SECRET)
    elif what == "folder":
        target.mkdir(parents=True)
    elif what == "remove":
        if not target.is_file():
            return False
        target.unlink()
    elif what == "modify":
        if not target.is_file():
            return False
        target.write_bytes(target.read_bytes() + b"!")
    else:  # a link, to a copy of the same bytes or to a file outside
        if not target.is_file() or target.name == "manifest.json":
            return False
        copy = folder.parent / f"copy-{target.name}"
        shutil.copy2(target, copy)
        target.unlink()
        target.symlink_to(copy if what == "link-outside" else copy.resolve())
    return True


def _state(folder: Path) -> dict[str, object]:
    """What verify vouches for: every entry under the folder, links as links."""
    found: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        found[rel] = (("link", str(path.readlink())) if path.is_symlink() else
                      ("file", path.read_bytes()) if path.is_file() else ("folder",))
    return found


def test_verify_never_crashes_and_never_says_ok_wrongly(hardening: Hardening) -> None:
    tried = 0

    @_SETTINGS
    @given(st.lists(_CHANGES, min_size=1, max_size=3))
    @example([("lock-file-name", "../secret.txt", None)])
    @example([("link-outside", "pyodide.mjs", None)])
    @example([("add", "sub/new.js", None)])
    @example([("manifest-json", "", [1, 2])])
    @example([("manifest-files", "", ["a"])])
    @example([("lock-json", "", {"packages": ["a"]})])
    def check(changes: list[tuple[str, str, Any]]) -> None:
        nonlocal tried
        tried += 1
        with tempfile.TemporaryDirectory() as tmp:
            folder = _make_bundle(Path(tmp))
            pristine = _state(folder)
            for what, name, value in changes:
                _apply(folder, what, name, value)
            problems = verify_bundle(folder)
            assert all(isinstance(p, str) for p in problems)
            if _state(folder) != pristine:  # anything changed, added, removed or linked
                assert problems, changes

    check()
    hardening("fuzz: verify on tampered bundles", tried)


_BYTES = st.binary(min_size=0, max_size=40).map(
    lambda b: "".join(chr(c) if 0x21 <= c < 0x7F else f"%{c:02X}" for c in b))
_TARGETS = st.one_of(
    _BYTES.map(lambda s: "/" + s),
    st.lists(st.sampled_from(["..", ".", "%2e%2e", "%2E.", "b", "secret.txt", "%00", "%2f",
                              "pyodide.mjs", "x" * 300, "%ff%fe", "%", "%zz", "\\..",
                              "..%5c", ";", "?q=1", "#f"]), max_size=8)
    .map(lambda parts: "/" + "/".join(parts)),
    st.integers(min_value=0, max_value=70_000).map(lambda n: "/" + "a" * n),
    st.text(max_size=30).map(lambda s: "/" + s),
)


def _request(folder: Path, target: str) -> bytes:
    handler = _Handler.__new__(_Handler)
    handler.server = SimpleNamespace(root=folder.resolve(), isolation=False)  # type: ignore[assignment]
    raw = f"GET {target} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br, gzip\r\n\r\n"
    handler.rfile = io.BytesIO(raw.encode("utf-8", "surrogateescape"))
    handler.wfile = io.BytesIO()
    handler.client_address = ("127.0.0.1", 0)
    handler.request_version = "HTTP/1.1"
    handler.close_connection = True
    handler.handle_one_request()
    return handler.wfile.getvalue()


def test_every_request_target_gets_a_response(hardening: Hardening) -> None:
    tried = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = _make_bundle(Path(tmp))
        (folder / "inner-link").symlink_to(Path(tmp) / "secret.txt")

        @_SETTINGS
        @given(_TARGETS)
        @example("/%00")
        @example("/pyodide.mjs%00.txt")
        @example("/../secret.txt")
        @example("/%2e%2e/secret.txt")
        @example("/inner-link")
        @example("/" + "a" * 256)  # OSError: file name too long, from a folder check
        @example("/" + "a" * 70_000)
        def check(target: str) -> None:
            nonlocal tried
            tried += 1
            answer = _request(folder, target)
            assert answer.startswith(b"HTTP/1."), (target, answer[:80])
            assert SECRET not in answer, target

        check()
    hardening("fuzz: server request targets", tried)


def test_links_that_lead_out_of_the_bundle_are_not_served(tmp_path: Path) -> None:
    """A precompressed sibling or a folder's index.html that is a link to a host file."""
    folder = _make_bundle(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(SECRET)
    (folder / "data.json").write_text("{}\n")
    (folder / "data.json.gz").symlink_to(secret)
    (folder / "data.json.br").symlink_to(secret)
    (folder / "sub").mkdir()
    (folder / "sub" / "index.html").symlink_to(secret)
    (folder / "inside-link.json").symlink_to(folder / "data.json")  # stays inside: served
    for target in ("/data.json", "/sub/", "/sub/index.html", "/data.json.gz"):
        answer = _request(folder, target)
        assert answer.startswith(b"HTTP/1."), target
        assert SECRET not in answer, target
    assert b"Content-Encoding" not in _request(folder, "/data.json")
    assert _request(folder, "/inside-link.json").endswith(b"\r\n\r\n{}\n")
