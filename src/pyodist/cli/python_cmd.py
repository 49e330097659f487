"""``pyodist python``: run a bundle's Python like a ``python`` executable, under Node."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from pyodist.errors import UsageError, VerifyError
from pyodist.options import Options
from pyodist.runtime.node import PythonRun, python_exec

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    py = sub.add_parser(
        "python", help="run a bundle's Python like a python executable (Node + NODEFS)",
        description="Run Python from BUNDLE under Node with the arguments python takes (-c, "
                    "-m MODULE, a script, - for stdin). The current folder is mounted with "
                    "NODEFS at the same path, so relative paths work and written files land "
                    "on the host; stdout/stderr stream; the exit code is Python's. Every "
                    "package of the bundle is importable: sha256-checked and installed when "
                    "first imported (--preload: all at start); a bundle with a memory "
                    "snapshot starts from it. "
                    "pyodist options go before BUNDLE, python's after it.",
    )
    py.add_argument("--mount", action="append", default=[], metavar="HOST:GUEST",
                    help="also mount a host folder (repeatable)")
    py.add_argument("--with", dest="wheels", action="append", default=[], type=Path,
                    metavar="WHEEL", help="also load a local wheel for this run (repeatable)")
    py.add_argument("--preload", action="store_true",
                    help="load every package of the bundle at start (default: each when it "
                         "is first imported)")
    py.add_argument("--no-snapshot", action="store_true",
                    help="start without the bundle's snapshot.bin (when it has one)")
    py.add_argument("--tests", action="store_true",
                    help="also load the bundle's NAME-tests archives (package test suites); "
                         "unless PYTEST_ADDOPTS is set, pytest then imports test modules by "
                         "their path under site-packages (the bundle's packages may be "
                         ".pyc-only, without the __init__.py pytest looks for)")
    py.add_argument("--timing", action="store_true", help="report the start-up time on stderr")
    py.add_argument("--site", action="append", default=[], type=Path, metavar="DIR",
                    help="mount a host folder and add it as a site directory (a venv's "
                         "site-packages; repeatable)")
    py.add_argument("bundle", type=Path, metavar="BUNDLE")
    py.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                    help="python arguments")
    py.set_defaults(handler=_python, project_use="none")

    venv = sub.add_parser(
        "venv", help="make a virtual-environment folder whose python is the bundle's",
        description="Write DIR/bin/python (pyodist python on BUNDLE, with DIR's site-packages "
                    "mounted) and DIR/bin/pip (installs pure-Python wheels into it), so tools "
                    "that expect a virtual environment can drive the WebAssembly runtime.",
    )
    venv.add_argument("bundle", type=Path, metavar="BUNDLE")
    venv.add_argument("dir", type=Path, metavar="DIR")
    venv.set_defaults(handler=_venv, project_use="none")


def _mounts(cwd: Path, extra: list[str]) -> list[tuple[str, str]]:
    if cwd == Path("/"):
        raise UsageError("cannot mount / as the working folder",
                         hint="run pyodist python from a project folder")
    mounts = [(str(cwd), str(cwd))]
    for item in extra:
        host, sep, guest = item.partition(":")
        if not sep or not host or not guest.startswith("/"):
            raise UsageError(f"--mount {item!r}: expected HOST:GUEST with an absolute GUEST",
                             hint="e.g. --mount ./data:/data")
        path = Path(host).resolve()
        if not path.is_dir():
            raise UsageError(f"--mount {item!r}: {path} is not a folder",
                             hint="mount an existing folder")
        mounts.append((str(path), guest))
    return mounts


def _python(args: argparse.Namespace, options: Options) -> int:
    bundle = args.bundle.resolve()
    if not (bundle / "pyodide-lock.json").is_file():
        raise UsageError(f"{args.bundle} is not a bundle folder (no pyodide-lock.json)",
                         hint="pass dist/<name>-<version>-<profile> written by pyodist bundle")
    _check_runtime_files(bundle)
    for wheel in args.wheels:
        if not wheel.is_file() or wheel.suffix != ".whl":
            raise UsageError(f"--with {wheel}: not a wheel file", hint="pass a .whl path")
    cwd = options.project_root  # the folder pyodist was started in
    sites = [d.resolve() for d in args.site]
    for site_dir in sites:
        if not site_dir.is_dir():
            raise UsageError(f"--site {site_dir}: not a folder", hint="create it first")
    mounts = _mounts(cwd, args.mount)
    mounts += [(str(d), str(d)) for d in sites if not d.is_relative_to(cwd)]
    environ = dict(options.environ)
    if args.tests and "PYTEST_ADDOPTS" not in environ:
        environ["PYTEST_ADDOPTS"] = _pytest_addopts(bundle)
    return python_exec(PythonRun(
        bundle, args.args, cwd, mounts=mounts, sites=sites,
        wheels=[w.resolve() for w in args.wheels], preload=args.preload,
        snapshot=not args.no_snapshot, tests=args.tests, timing=args.timing), environ)


# what Node runs of the bundle before Python starts; the wheels are checked as they install
_RUNTIME_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")


def _check_runtime_files(bundle: Path) -> None:
    """The runtime files Node is about to run are the ones the bundle's manifest lists."""
    manifest = bundle / "manifest.json"
    if not manifest.is_file():
        return  # a stock Pyodide folder: nothing vouches for it, nothing to compare
    try:
        files = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        expected = {name: str(files[name]["sha256"]) for name in _RUNTIME_FILES if name in files}
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise VerifyError(f"{manifest}: unreadable ({exc.__class__.__name__})",
                          hint=f"run 'pyodist verify {bundle}'") from None
    for name, digest in expected.items():
        try:
            with (bundle / name).open("rb") as fh:
                actual = hashlib.file_digest(fh, "sha256").hexdigest()
        except OSError:
            actual = "missing"
        if actual != digest:
            raise VerifyError(f"{bundle / name} differs from the bundle's manifest; not run",
                              hint=f"run 'pyodist verify {bundle}' to see what changed, and "
                                   "rebuild the bundle")


def _venv(args: argparse.Namespace, options: Options) -> int:
    # not at the top: it imports the wheel builder, which `pyodist python` does not need
    from pyodist.bundle.venv import create_venv  # noqa: PLC0415 - pyodist python's start-up

    made = create_venv(args.bundle, args.dir)
    print(f"created {made}: run {made / 'bin' / 'python'}")
    return 0


def _pytest_addopts(bundle: Path) -> str:
    """pytest options for a bundle's test archives.

    pytest finds a test module's package by walking up folders that hold ``__init__.py``; in a
    bundle built with startup-pyc, ``scipy/fft/__init__.py`` is ``__init__.pyc``, so pytest
    would import ``scipy/fft/tests/test_basic.py`` as ``tests.test_basic`` (clashing with every
    other ``tests`` package) and skip ``scipy/conftest.py``. Rooted at site-packages and
    importing by path with namespace packages considered, it names the module
    ``scipy.fft.tests.test_basic`` and loads the package conftests above it.
    """
    try:
        python = str(json.loads((bundle / "pyodide-lock.json").read_text())["info"]["python"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        python = ""
    xy = ".".join(python.split(".")[:2])
    site = f"/lib/python{xy}/site-packages" if xy else ""
    return " ".join(["--import-mode=importlib", "-o", "consider_namespace_packages=true",
                     *([f"--rootdir={site}"] if site else [])])
