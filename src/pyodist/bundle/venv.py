"""``pyodist venv BUNDLE DIR``: a virtual-environment-shaped folder around a bundle.

``DIR/bin/python`` runs ``pyodist python --site DIR/lib/python3.14/site-packages BUNDLE``,
so tools that expect a virtual environment can drive the WebAssembly runtime.
``DIR/bin/pip install`` installs pure-Python wheels (``py3-none-any``) into that
site-packages on the host: local ``.whl`` files, or requirements resolved with the host's
pip against the configured index for the runtime's Python. Compiled packages come from
recipes and the bundle, not from pip.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from pyodist.builder.wheel import parse_wheel_name
from pyodist.errors import HostError, PyodistError, UsageError
from pyodist.fsutil import write_atomic
from pyodist.process import run

__all__ = ["create_venv", "pip_install"]

CONFIG = "pyvenv.cfg"


def _site(venv: Path, python: str) -> Path:
    return venv / "lib" / f"python{python}" / "site-packages"


def _script(path: Path, body: str) -> None:
    write_atomic(path, "#!/bin/sh\n# written by pyodist venv\n" + body + "\n", mode=0o755)


def create_venv(bundle: Path, venv: Path) -> Path:
    bundle = bundle.resolve()
    lock_path = bundle / "pyodide-lock.json"
    if not lock_path.is_file():
        raise UsageError(f"{bundle} is not a bundle folder (no pyodide-lock.json)",
                         hint="pass dist/<name>-<version>-<profile> written by pyodist bundle")
    if venv.is_symlink() and not venv.exists():  # it would be made wherever the link points
        raise UsageError(f"{venv} is a link to {venv.readlink()}, which does not exist",
                         hint="remove the link, or give the folder it should point to")
    venv = venv.resolve()
    if venv.exists() and not venv.is_dir():
        raise UsageError(f"{venv} exists and is not a folder",
                         hint="choose a new or empty folder for the venv")
    if venv.exists() and any(venv.iterdir()) and not (venv / CONFIG).is_file():
        raise UsageError(f"{venv} exists and is not a pyodist venv",
                         hint="choose a new or empty folder")
    try:
        lock = json.loads(lock_path.read_text())
        python = ".".join(str(lock["info"]["python"]).split(".")[:2])
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise UsageError(f"{lock_path} does not say which Python the bundle runs "
                         f"(info.python: {exc.__class__.__name__})",
                         hint="pass a bundle written by 'pyodist bundle' (or rebuild it)") \
            from None
    fresh = not venv.exists() or not any(venv.iterdir())
    try:
        return _make_venv(bundle, venv, python)
    except BaseException:
        if fresh:  # what this call made goes again: no half-made venv is left
            shutil.rmtree(venv, ignore_errors=True)
        raise


def _make_venv(bundle: Path, venv: Path, python: str) -> Path:
    site = _site(venv, python)
    site.mkdir(parents=True, exist_ok=True)
    (venv / "bin").mkdir(exist_ok=True)
    host = shlex.quote(sys.executable)
    _script(venv / "bin" / "python",
            f'exec {host} -m pyodist python --site {shlex.quote(str(site))} '
            f'{shlex.quote(str(bundle))} "$@"')
    _script(venv / "bin" / "pip",
            f'exec {host} -m pyodist.bundle.venv {shlex.quote(str(venv))} "$@"')
    for alias in ("python3", f"python{python}"):
        link = venv / "bin" / alias
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to("python")
    (venv / CONFIG).write_text(
        f"home = {bundle}\nimplementation = pyodide\nversion = {python}\n"
        f"include-system-site-packages = false\npyodist-bundle = {bundle}\n")
    return venv


# what one wheel may unpack to, and how much bigger than itself (a zip bomb is refused)
_MAX_UNPACKED = 2 << 30
_MAX_RATIO = 200


def _check_wheel(wheel: Path) -> tuple[str, list[zipfile.ZipInfo]]:
    """``name-version`` and the members of a pure-Python wheel, every one checked before
    anything is written: a regular zip file with a .dist-info, members that stay inside the
    folder and unpack to a bounded size."""
    if not wheel.exists():
        raise UsageError(f"{wheel}: no such file", hint="give the path of a .whl file")
    if not wheel.is_file():  # a folder, a FIFO, a device (is_file follows links)
        raise UsageError(f"{wheel}: not a regular file", hint="give the path of a .whl file")
    try:
        name = parse_wheel_name(wheel.name)
    except PyodistError:
        raise UsageError(f"{wheel.name}: not a wheel file name (NAME-VERSION-TAGS.whl)",
                         hint="give the path of a .whl file") from None
    if name.abi != "none" or name.platform != "any":
        raise UsageError(f"{wheel.name} is not a pure-Python wheel",
                         hint="compiled packages need a recipe: pyodist build, then bundle")
    try:
        with zipfile.ZipFile(wheel) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{wheel.name}: not a zip file ({exc})",
                         hint="the wheel is damaged: download or build it again") from None
    if not any(m.filename.count("/") == 1 and m.filename.endswith(".dist-info/METADATA")
               for m in members):
        raise UsageError(f"{wheel.name}: not a wheel (no .dist-info/METADATA)",
                         hint="give a wheel that pip or pyodist built")
    total = 0
    for member in members:
        path = PurePosixPath(member.filename)
        if (path.is_absolute() or ".." in path.parts or "\\" in member.filename
                or "\0" in member.filename):
            raise UsageError(f"{wheel.name}: member {member.filename!r} leaves the folder",
                             hint="the wheel is malformed")
        total += member.file_size
    if total > _MAX_UNPACKED or total > _MAX_RATIO * max(1, wheel.stat().st_size):
        raise UsageError(f"{wheel.name} unpacks to {total} bytes, past the limit "
                         f"({_MAX_UNPACKED} bytes, {_MAX_RATIO} times its size)",
                         hint="the wheel is malformed (a zip bomb?)")
    return f"{name.name}-{name.version}", members


def _install(wheels: Sequence[Path], site: Path) -> list[str]:
    """Unpack every wheel into a staging folder beside site-packages, then move the result
    in: a failure (a bad wheel, a full disk) leaves site-packages as it was."""
    checked = [(_check_wheel(w), w) for w in wheels]
    staging = Path(tempfile.mkdtemp(prefix=".pyodist-pip-", dir=site.parent))
    try:
        for (_label, members), wheel in checked:
            with zipfile.ZipFile(wheel) as zf:
                for member in members:
                    zf.extract(member, staging)
        for entry in sorted(staging.iterdir()):
            target = site / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            os.replace(entry, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [label for (label, _members), _wheel in checked]


def pip_install(venv: Path, requirements: Sequence[str]) -> list[str]:
    """Install wheels/requirements into the venv's site-packages; returns what was installed."""
    config = (venv / CONFIG).read_text() if (venv / CONFIG).is_file() else ""
    version = next((line.split("=", 1)[1].strip() for line in config.splitlines()
                    if line.startswith("version")), None)
    if version is None:
        raise UsageError(f"{venv} is not a pyodist venv", hint="create it with pyodist venv")
    site = _site(venv, version)
    wheels = [Path(r) for r in requirements if r.endswith(".whl")]
    names = [r for r in requirements if not r.endswith(".whl")]
    with tempfile.TemporaryDirectory(prefix="pyodist-pip-") as tmp:
        if names:
            result = run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", tmp,
                          "--only-binary=:all:", "--python-version", version,
                          "--implementation", "py", "--abi", "none", "--platform", "any",
                          *names], timeout=600)
            if result.returncode != 0:
                raise UsageError(f"cannot get pure-Python wheels for {' '.join(names)}:\n"
                                 f"{result.tail(6)}",
                                 hint="only py3-none-any wheels install this way; build "
                                      "compiled packages from recipes")
            wheels += sorted(Path(tmp).glob("*.whl"))
        return _install(wheels, site)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: pip install WHEEL|REQUIREMENT ... (pure-Python wheels only)"
    if len(args) < 3 or args[1] != "install":
        print(usage, file=sys.stderr)
        return 2
    options = [a for a in args[2:] if a.startswith("-")]
    if options:
        print(f"error: pip options are not supported here ({' '.join(options)}); {usage}",
              file=sys.stderr)
        return 2
    try:
        done = pip_install(Path(args[0]), args[2:])
    except PyodistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a full disk, a read-only venv: nothing was installed
        print(f"error: {exc.filename or 'the venv'}: {exc.strerror or exc}; nothing was "
              "installed", file=sys.stderr)
        return HostError.exit_code
    print("Successfully installed " + " ".join(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
