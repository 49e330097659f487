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
import shlex
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from pyodist.builder.wheel import parse_wheel_name
from pyodist.errors import PyodistError, UsageError
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
        if not link.exists():
            link.symlink_to("python")
    (venv / CONFIG).write_text(
        f"home = {bundle}\nimplementation = pyodide\nversion = {python}\n"
        f"include-system-site-packages = false\npyodist-bundle = {bundle}\n")
    return venv


def _install_wheel(wheel: Path, site: Path) -> str:
    name = parse_wheel_name(wheel.name)
    if name.abi != "none" or name.platform != "any":
        raise UsageError(f"{wheel.name} is not a pure-Python wheel",
                         hint="compiled packages need a recipe: pyodist build, then bundle")
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.infolist():
            target = (site / member.filename).resolve()
            if not target.is_relative_to(site.resolve()):
                raise UsageError(f"{wheel.name}: member {member.filename!r} leaves the folder",
                                 hint="the wheel is malformed")
        zf.extractall(site)
    return f"{name.name}-{name.version}"


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
    installed = []
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
        for wheel in wheels:
            installed.append(_install_wheel(wheel, site))
    return installed


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[1] != "install":
        print("usage: pip install WHEEL|REQUIREMENT ... (pure-Python wheels only)",
              file=sys.stderr)
        return 2
    try:
        done = pip_install(Path(args[0]), [a for a in args[2:] if not a.startswith("-")])
    except PyodistError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print("Successfully installed " + " ".join(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
