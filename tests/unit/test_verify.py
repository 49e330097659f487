"""`pyodist verify` on tampered and malformed bundles: every entry is accounted for."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from pyodist.bundle.verify import verify_bundle
from pyodist.cli import main


def _bundle(tmp_path: Path) -> Path:
    folder = tmp_path / "demo-1.0-slim"
    folder.mkdir()
    files = {}
    for name, data in (("pyodide.mjs", b"loader"), ("a-1.0-py3-none-any.whl", b"wheel")):
        (folder / name).write_bytes(data)
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    lock = {"info": {}, "packages": {"a": {"file_name": "a-1.0-py3-none-any.whl",
                                           "sha256": files["a-1.0-py3-none-any.whl"]["sha256"]}}}
    (folder / "pyodide-lock.json").write_text(json.dumps(lock))
    data = (folder / "pyodide-lock.json").read_bytes()
    files["pyodide-lock.json"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    (folder / "manifest.json").write_text(json.dumps({"files": files}))
    return folder


def test_a_clean_bundle_verifies(tmp_path: Path) -> None:
    assert verify_bundle(_bundle(tmp_path)) == []


def test_subfolders_are_looked_into(tmp_path: Path) -> None:
    folder = _bundle(tmp_path)
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "sub" / "deeper" / "extra.js").write_text("added")
    (folder / "empty").mkdir()
    assert verify_bundle(folder) == [
        "empty/: a folder the manifest lists nothing in",
        "sub/: a folder the manifest lists nothing in",
        "sub/deeper/: a folder the manifest lists nothing in",
        "sub/deeper/extra.js: not listed in the manifest (added after the build?)"]


def test_links_are_tampering_even_to_identical_bytes(tmp_path: Path) -> None:
    folder = _bundle(tmp_path)
    outside = tmp_path / "copy.mjs"
    outside.write_bytes(b"loader")
    (folder / "pyodide.mjs").unlink()
    (folder / "pyodide.mjs").symlink_to(outside)
    problems = verify_bundle(folder)
    assert problems[0] == f"pyodide.mjs: a symbolic link (to {outside}), which the manifest " \
                          "cannot vouch for"
    assert "pyodide.mjs: listed in the manifest but missing" in problems


def test_a_lock_naming_a_file_outside_the_bundle_is_tampering(tmp_path: Path) -> None:
    folder = _bundle(tmp_path)
    (tmp_path / "evil.whl").write_bytes(b"wheel")  # the same bytes, outside
    lock = json.loads((folder / "pyodide-lock.json").read_text())
    lock["packages"]["a"]["file_name"] = "../evil.whl"
    (folder / "pyodide-lock.json").write_text(json.dumps(lock))
    problems = verify_bundle(folder)
    assert "pyodide-lock.json: a: file_name '../evil.whl' does not name a file inside the " \
           "bundle" in problems


@pytest.mark.parametrize(("manifest", "lock", "expected"), [
    ([1, 2], None, "manifest.json: not a pyodist manifest"),
    ({"files": ["a"]}, None, "manifest.json: not a pyodist manifest"),
    ({"files": {"a": 3}}, None, "manifest.json: not a pyodist manifest"),
    ("{not json", None, "manifest.json: unreadable (JSONDecodeError"),
    (None, {"packages": ["a"]}, "pyodide-lock.json: not a Pyodide lock"),
    (None, [1], "pyodide-lock.json: not a Pyodide lock"),
    (None, {"packages": {"a": "x"}}, "pyodide-lock.json: a: file_name None does not name"),
])
def test_malformed_bundles_are_problems_not_tracebacks(tmp_path: Path, manifest: object,
                                                       lock: object, expected: str) -> None:
    folder = _bundle(tmp_path)
    if lock is not None:
        (folder / "pyodide-lock.json").write_text(json.dumps(lock))
    if manifest is not None:
        (folder / "manifest.json").write_text(
            manifest if isinstance(manifest, str) else json.dumps(manifest))
    assert any(p.startswith(expected) for p in verify_bundle(folder)), verify_bundle(folder)


def test_the_cli_exits_10_with_the_right_cause(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["verify", str(empty)]) == 10
    err = capsys.readouterr().err
    assert "manifest.json: missing" in err and "written by 'pyodist bundle'" in err
    assert "changed after it was built" not in err
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(b"\x1f\x8b\x08\x00 this is not a tarball")
    assert main(["verify", str(damaged)]) == 10
    err = capsys.readouterr().err
    assert "is not a readable bundle tarball" in err and "source/url" not in err
    assert main(["verify", str(tmp_path / "missing")]) == 2  # as for test, python, serve
    folder = _bundle(tmp_path)
    os.chmod(folder / "pyodide.mjs", 0o644)
    (folder / "pyodide.mjs").write_bytes(b"changed")
    assert main(["verify", str(folder)]) == 10
    assert "changed after it was built" in capsys.readouterr().err


def test_venv_refuses_a_file_and_a_lock_without_python(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    folder = _bundle(tmp_path)
    afile = tmp_path / "a-file"
    afile.write_text("x")
    assert main(["venv", str(folder), str(afile)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    lock = json.loads((folder / "pyodide-lock.json").read_text())
    lock["info"] = {}
    (folder / "pyodide-lock.json").write_text(json.dumps(lock))
    assert main(["venv", str(folder), str(tmp_path / "v")]) == 2
    assert "does not say which Python the bundle runs" in capsys.readouterr().err
