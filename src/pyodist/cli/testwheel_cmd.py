"""``pyodist test-wheel``: a package's own pytest suite, run in Pyodide under Node."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import parse_wheel_filename

from pyodist.errors import INTERRUPTED_EXIT, RuntimeCheckError, SourceError, UsageError
from pyodist.fsutil import copy_atomic, write_atomic
from pyodist.options import Options
from pyodist.recipe.spec import canonical_name
from pyodist.runtime.node import PythonRun, python_exec

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tw = sub.add_parser(
        "test-wheel", help="run a wheel's own pytest suite in Pyodide (Node)", allow_abbrev=False,
        description="Install WHEEL into a Pyodide runtime under Node and run pytest on the "
                    "package's tests (--tests DIR, default ./tests), like cibuildwheel's "
                    "test-command. The runtime is BUNDLE (--bundle) or, by default, the "
                    "stock Pyodide core of the configured version (fetched once into the "
                    "cache). pytest, what --requires names and what the wheel requires "
                    "(Requires-Dist, less what --with wheels provide) are resolved on the "
                    "index for the runtime's platform and cached; the current folder is "
                    "mounted at its own path. Exit code: 0 when every test passed, 11 when "
                    "one failed or none ran, 2 for arguments pytest refused. Arguments after "
                    "-- go to pytest.",
    )
    tw.add_argument("wheel", type=Path, metavar="WHEEL")
    tw.add_argument("--tests", type=Path, metavar="DIR",
                    help="the test folder or file (default: ./tests)")
    tw.add_argument("--bundle", type=Path, metavar="BUNDLE",
                    help="a bundle folder to test in (default: the stock runtime core)")
    tw.add_argument("--with", dest="wheels", action="append", default=[], type=Path,
                    metavar="WHEEL", help="another local wheel to install (repeatable)")
    tw.add_argument("--requires", action="append", default=[], metavar="REQ",
                    help="another test requirement from the index, e.g. hypothesis "
                         "(repeatable)")
    tw.add_argument("--no-deps", action="store_true",
                    help="do not install what the wheel's metadata requires")
    tw.add_argument("--junit", type=Path, metavar="FILE",
                    help="also write JUnit XML (with --browser, Chromium's run goes to "
                         "FILE-chromium.xml)")
    tw.add_argument("--browser", action="store_true",
                    help="also run the tests in headless Chromium (Debian's chromium, driven "
                         "by playwright-core; the tests are copied into the page)")
    tw.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST ARGS")
    tw.set_defaults(handler=_test_wheel, _parser=tw)


def _requires_dist(wheel: Path) -> list[str]:
    """The wheel's unconditional and platform-marked Requires-Dist (no extras)."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            meta = next(n for n in zf.namelist()
                        if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
            text = zf.read(meta).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile, StopIteration):
        raise UsageError(f"{wheel}: not a wheel (no .dist-info/METADATA)",
                         hint="pass the .whl that pyodist wheel wrote") from None
    found = []
    for line in Parser().parsestr(text).get_all("Requires-Dist") or []:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is not None and "extra" in str(requirement.marker):
            continue
        found.append(line)
    return found


def _wheel_name(path: Path) -> str:
    try:
        return canonical_name(str(parse_wheel_filename(path.name)[0]))
    except ValueError:
        raise UsageError(f"{path}: not a wheel file name",
                         hint="pass a .whl file (NAME-VERSION-TAGS.whl)") from None


def _test_wheels(requirements: list[str], options: Options, platform: object) -> list[Path]:
    """The wheels ``requirements`` resolve to for the runtime, from the cache when this set
    was resolved before (so that a later run works offline)."""
    from pyodist.sources import configured_index  # noqa: PLC0415 - the index is slow to load
    from pyodist.sources.fetch import make_fetcher  # noqa: PLC0415
    from pyodist.sources.resolve import IndexPin, TargetPlatform, resolve_requirements  # noqa: PLC0415

    assert isinstance(platform, TargetPlatform)  # noqa: S101 - typed by the caller
    key = hashlib.sha256(json.dumps([sorted(requirements), platform.platform_tag,
                                     platform.python]).encode()).hexdigest()[:16]
    record = options.cache_dir / "test-wheel" / f"pins-{key}.json"
    pins: list[IndexPin]
    if record.is_file():
        pins = [IndexPin(**p) for p in json.loads(record.read_text())]
    elif options.offline:
        raise SourceError(f"the test requirements ({', '.join(requirements)}) were never "
                          "resolved here, and --offline forbids asking the index",
                          hint="run pyodist test-wheel once without --offline")
    else:
        pins = resolve_requirements(requirements, platform, configured_index(options.index_urls))
        write_atomic(record, json.dumps([p.__dict__ for p in pins], indent=1))
    fetcher = make_fetcher(options)
    named = options.cache_dir / "test-wheel" / "wheels"
    named.mkdir(parents=True, exist_ok=True)
    out = []
    for pin in pins:
        cached = fetcher.fetch_one(pin.name, pin.url, pin.sha256, pin.filename).path
        # the runtime loads a wheel by its file name: the cache holds it under its sha256
        out.append(copy_atomic(cached, named / pin.sha256[:16] / pin.filename,
                               keep_existing=True))
    return out


def _split_after_wheel(parser: argparse.ArgumentParser,
                       words: list[str]) -> tuple[list[str], list[str]]:
    """The words after WHEEL: (pyodist's options, pytest's arguments)."""
    actions = parser._option_string_actions
    ours: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            return ours, words[i + 1:]
        action = actions.get(word.split("=", 1)[0])
        if action is None or action.dest == "help":
            break
        takes_value = action.nargs != 0 and "=" not in word
        ours += words[i:i + 2] if takes_value else [word]
        i += 2 if takes_value else 1
    return ours, words[i:]


def _test_wheel(args: argparse.Namespace, options: Options) -> int:
    from pyodist.runtime.pyodide import runtime_facts  # noqa: PLC0415
    from pyodist.sources.resolve import TargetPlatform  # noqa: PLC0415

    # pyodist's options may follow WHEEL; from the first other word on (or after --), the
    # words are pytest's
    ours, theirs = _split_after_wheel(args._parser, list(args.pytest_args))
    args._parser.parse_args([*ours, str(args.wheel)], namespace=args)
    args.pytest_args = theirs
    cwd = options.project_root
    wheel = (cwd / args.wheel).resolve()
    if not wheel.is_file() or wheel.suffix != ".whl":
        raise UsageError(f"{args.wheel}: not a wheel file", hint="pass a .whl path")
    extra = [(cwd / w).resolve() for w in args.wheels]
    for path in extra:
        if not path.is_file() or path.suffix != ".whl":
            raise UsageError(f"--with {path}: not a wheel file", hint="pass a .whl path")
    tests = (cwd / (args.tests or Path("tests"))).resolve()
    if not tests.exists():
        raise UsageError(f"no tests at {tests}",
                         hint="pass --tests DIR (the package's test folder or file)")
    if args.bundle is not None:
        runtime_dir = (cwd / args.bundle).resolve()
        if not (runtime_dir / "pyodide-lock.json").is_file():
            raise UsageError(f"{args.bundle} is not a bundle folder (no pyodide-lock.json)",
                             hint="pass dist/<name>-<version>-<profile> from pyodist bundle")
        try:
            info = json.loads((runtime_dir / "pyodide-lock.json").read_text())["info"]
            platform = TargetPlatform(str(info["python"]), str(info["abi_version"]))
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            raise UsageError(f"{args.bundle}/pyodide-lock.json does not say which Python and "
                             "ABI the bundle runs (no readable 'info')",
                             hint="pass a bundle folder written by pyodist bundle") from None
    else:
        runtime = runtime_facts(options.runtime, options.cache_dir, offline=options.offline)
        runtime_dir, platform = runtime.folder, TargetPlatform(runtime.python,
                                                               runtime.abi_version)
    provided = {_wheel_name(w) for w in [wheel, *extra]}
    requirements = ["pytest", *args.requires]
    if not args.no_deps:
        requirements += [r for r in _requires_dist(wheel)
                         if canonical_name(Requirement(r).name) not in provided]
    deps = _test_wheels(requirements, options, platform)
    pytest_args = list(args.pytest_args)
    if args.junit is not None:
        junit = _junit_path(cwd / args.junit)
        pytest_args.append(f"--junitxml={junit}")
    mounts = [(str(cwd), str(cwd))]
    for path in [tests, *([junit.parent] if args.junit is not None else [])]:
        folder = path if path.is_dir() else path.parent
        if not folder.is_relative_to(cwd):
            mounts.append((str(folder), str(folder)))
    # the package comes from the wheel, not from a source folder beside the tests
    environ = {"PYTEST_ADDOPTS": "--import-mode=importlib -p no:cacheprovider",
               **options.environ}
    wheels = [*deps, *extra, wheel]
    code = python_exec(PythonRun(runtime_dir, ["-m", "pytest", str(tests), *pytest_args], cwd,
                                 mounts=mounts, wheels=wheels), environ)
    wheel_paths = [str(p) for p in wheels]
    if args.browser:
        browser_code = _in_browser(options, runtime_dir, wheels=wheel_paths, tests=tests,
                                   pytest_args=pytest_args,
                                   junit=junit if args.junit is not None else None)
        code = code or browser_code
    return _exit_code(code)


# pytest's exit codes (0 passed, 1 failed, 2 interrupted, 3 internal error, 4 usage, 5 no
# tests) in pyodist's table: a failed or empty run is a failed runtime check
def _exit_code(pytest_code: int) -> int:
    if pytest_code == 0:
        return 0
    what = {1: "tests failed", 2: "interrupted", 3: "pytest's internal error",
            4: "pytest was given bad arguments", 5: "no tests were collected"}
    print(f"pyodist test-wheel: pytest exited {pytest_code} "
          f"({what.get(pytest_code, 'the run failed')})", file=sys.stderr)
    if pytest_code == 2:
        return INTERRUPTED_EXIT
    if pytest_code == 4:
        return UsageError.exit_code
    return RuntimeCheckError.exit_code


def _junit_path(path: Path) -> Path:
    """Where the JUnit file goes: a file (new or regular) in a folder pyodist may make."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise UsageError(f"--junit {path}: not a regular file", hint="name a new .xml file")
    junit = path.resolve()
    if any(junit.is_relative_to(p) for p in (Path("/dev"), Path("/proc"), Path("/sys"))):
        raise UsageError(f"--junit {path}: not a file pytest can write in Pyodide",
                         hint="name a file in a folder of your own")
    existing = next(p for p in [junit.parent, *junit.parent.parents] if p.exists())
    if not existing.is_dir():
        raise UsageError(f"--junit {path}: {existing} is not a folder",
                         hint="name a file in an existing folder, or a new one")
    junit.parent.mkdir(parents=True, exist_ok=True)
    return junit


# the project files pytest reads its configuration from, copied into the page with the tests
_CONFIG_FILES = ("pyproject.toml", "pytest.ini", "setup.cfg", "tox.ini", "conftest.py")
_GUEST_ROOT = "/home/pyodide/project"


def _in_browser(options: Options, runtime_dir: Path, *, wheels: list[str], tests: Path,
                pytest_args: list[str], junit: Path | None) -> int:
    """pytest in headless Chromium: the tests (and the project's pytest configuration)
    copied into the page's memory file system, the runtime and wheels served by routing."""
    from pyodist.bundle.testing import browser_setup  # noqa: PLC0415
    from pyodist.runtime.node import run_harness  # noqa: PLC0415

    cwd = options.project_root
    setup = browser_setup(options.project_root, options.chromium)
    base = cwd if tests.is_relative_to(cwd) else tests.parent
    found = [tests] if tests.is_file() else sorted(
        p for p in tests.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    found += [cwd / n for n in _CONFIG_FILES if (cwd / n).is_file() and base == cwd]
    files = [[p.relative_to(base).as_posix(), str(p)] for p in found]
    args = [f"{_GUEST_ROOT}/{tests.relative_to(base).as_posix()}",
            *(a for a in pytest_args if not a.startswith("--junitxml="))]
    guest_junit = f"{_GUEST_ROOT}/.pyodist-junit.xml" if junit is not None else None
    if guest_junit:
        args.append(f"--junitxml={guest_junit}")
    result = run_harness("browser_pytest.mjs", {
        "runtime": str(runtime_dir), "wheels": wheels, "files": files, "root": _GUEST_ROOT,
        "args": args, "junit": guest_junit, "chromium": setup.chromium, "timeout": 600,
    }, timeout=900, extra_env=setup.env)
    print("--- Chromium ---")
    print(result.get("output", ""), end="")
    if result.get("error"):
        print(f"pyodist test-wheel: the run in Chromium failed: {result['error']}",
              file=sys.stderr)
        return 1
    if junit is not None and result.get("junit"):
        write_atomic(junit.with_name(junit.stem + "-chromium" + junit.suffix),
                     str(result["junit"]).encode())
    return int(result.get("code") or 0)
