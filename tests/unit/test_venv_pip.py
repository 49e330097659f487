"""The venv's `pip install` of local wheels: checked first, installed whole or not at all."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from pyodist.bundle.venv import main


def _venv(tmp_path: Path) -> Path:
    venv = tmp_path / "v"
    (venv / "lib" / "python3.14" / "site-packages").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("version = 3.14\n")
    return venv


def _wheel(folder: Path, name: str, members: dict[str, bytes], meta: bool = True) -> Path:
    path = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
        if meta:
            zf.writestr(f"{name}-1.0.dist-info/METADATA", f"Name: {name}\nVersion: 1.0\n")
    return path


def test_good_wheels_install_and_a_bad_one_installs_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    venv = _venv(tmp_path)
    site = venv / "lib" / "python3.14" / "site-packages"
    good = _wheel(tmp_path, "two", {"two/__init__.py": b"x = 2\n"})
    assert main([str(venv), "install", str(good)]) == 0
    assert (site / "two" / "__init__.py").read_text() == "x = 2\n"
    assert "Successfully installed two-1.0" in capsys.readouterr().out
    (tmp_path / "junk-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    other = _wheel(tmp_path, "three", {"three/__init__.py": b""})
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    assert main([str(venv), "install", str(other), str(junk)]) == 2
    assert not (site / "three").exists()  # checked before anything was written
    assert "not a zip file" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["missing", "folder", "fifo", "no-metadata", "escape",
                                  "backslash", "bomb", "no-args", "option"])
def test_bad_input_is_a_short_error(tmp_path: Path, case: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    venv = _venv(tmp_path)
    site = venv / "lib" / "python3.14" / "site-packages"
    target = tmp_path / "x-1.0-py3-none-any.whl"
    argv = [str(venv), "install", str(target)]
    if case == "folder":
        target.mkdir()
    elif case == "fifo":
        os.mkfifo(target)
    elif case == "no-metadata":
        _wheel(tmp_path, "x", {"x.py": b""}, meta=False)
    elif case == "escape":
        _wheel(tmp_path, "x", {"../../evil.py": b""})
    elif case == "backslash":
        _wheel(tmp_path, "x", {"..\\..\\evil.py": b""})
    elif case == "bomb":
        _wheel(tmp_path, "x", {"x/zeros": bytes(64 << 20)})
    elif case == "no-args":
        argv = [str(venv), "install"]
    elif case == "option":
        argv = [str(venv), "install", "-r", "req.txt"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    # the error, and its fix when it has one
    assert err.count("\n") <= 2 and err.startswith(("error:", "usage:")), err
    assert list(site.iterdir()) == []
    assert not (tmp_path / "evil.py").exists()
