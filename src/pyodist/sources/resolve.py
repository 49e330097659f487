"""Resolve requirements against the package index for the Pyodide runtime's platform.

pip's own resolver does the work (``pip download``) with the runtime's
platform (``pyemscripten_2026_0_wasm32``), Python version, implementation and ABI, through
the index pip is configured with (passed explicitly, with pip's other configuration left
out, so a local constraint or find-links folder cannot change the answer). Only wheels are
taken: pure ones and Pyodide ones. The answer is a pin per distribution: name, version,
file, sha256 (of the bytes pip downloaded, checked against what the index lists) and the
file's address on the index.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_wheel_filename

from pyodist.errors import SourceError
from pyodist.hashing import sha256_file
from pyodist.process import run
from pyodist.recipe.spec import canonical_name
from pyodist.sources.index import IndexSettings, PackageIndex
from pyodist.urls import redact_url

__all__ = ["IndexPin", "TargetPlatform", "resolve_requirements"]


@dataclass(frozen=True)
class TargetPlatform:
    """What the runtime runs, as pip's --platform/--python-version/--abi take it."""

    python: str  # 3.14.2
    abi_version: str  # 2026_0

    @property
    def platform_tag(self) -> str:
        return f"pyemscripten_{self.abi_version}_wasm32"

    @property
    def python_tag(self) -> str:
        major, minor = self.python.split(".")[:2]
        return f"cp{major}{minor}"

    def describe(self) -> str:
        return f"Python {self.python}, {self.platform_tag}"


@dataclass(frozen=True)
class IndexPin:
    name: str  # canonical
    version: str
    filename: str
    sha256: str
    url: str
    requested: bool  # named by the profile, not only needed by what it names

    @property
    def is_pure(self) -> bool:
        return all(tag.platform == "any" for tag in parse_wheel_filename(self.filename)[3])


def _pip_argv(requirements: Sequence[str], target: TargetPlatform, index: IndexSettings,
              work: Path) -> list[str]:
    """pip's resolver downloading into ``work/wheels`` (constraints in constraints.txt).

    ``pip download`` checks each file's Requires-Python against the target's Python
    (``pip install --dry-run --python-version`` checks the host's), so it is the one used.
    """
    argv = [sys.executable, "-m", "pip", "download", "--isolated", "--quiet",
            "--disable-pip-version-check", "--only-binary=:all:",
            "--platform", target.platform_tag, "--python-version", target.python,
            "--implementation", "cp", "--abi", target.python_tag, "--abi", "abi3",
            "--abi", "none", "--dest", str(work / "wheels"),
            "-c", str(work / "constraints.txt")]
    urls = list(index.urls)
    if urls:
        argv += ["--index-url", urls[0], *(a for u in urls[1:] for a in ("--extra-index-url", u))]
    if index.cert:
        argv += ["--cert", index.cert]
    return [*argv, *requirements]


def _pin(wheel: Path, index: PackageIndex, requested: set[str]) -> IndexPin:
    """A downloaded wheel as a pin: its sha256, and its address on the index."""
    name, version, _build, _tags = parse_wheel_filename(wheel.name)
    digest = sha256_file(wheel)
    found = index.find_file(str(name), wheel.name)
    if found.sha256 is not None and found.sha256 != digest:
        raise SourceError(f"the index lists {wheel.name} with sha256 {found.sha256[:12]}…, but "
                          f"served bytes with {digest[:12]}…",
                          hint="the index or a proxy in front of it is inconsistent; try again")
    return IndexPin(str(name), str(version), wheel.name, digest, redact_url(found.url),
                    str(name) in requested)


def resolve_requirements(requirements: Sequence[str], target: TargetPlatform,
                         index: IndexSettings, *,
                         constraints: Sequence[str] = ()) -> list[IndexPin]:
    """Pins for ``requirements`` and what they need, by name; SourceError naming the
    requirement and the platform when the index has nothing that fits.

    ``constraints`` (``name==version``) hold packages a recipe provides to its version.
    """
    from packaging.requirements import Requirement  # noqa: PLC0415

    requested = {canonical_name(Requirement(r).name) for r in requirements}
    with tempfile.TemporaryDirectory(prefix="pyodist-resolve-") as tmp:
        folder = Path(tmp)
        (folder / "constraints.txt").write_text("".join(f"{c}\n" for c in constraints))
        done = run(_pip_argv(requirements, target, index, folder), timeout=900)
        if not done.ok:
            lines = [line for line in (done.stderr + done.stdout).splitlines()
                     if line.startswith("ERROR")] or done.tail(6).splitlines()
            raise SourceError(
                f"cannot resolve {', '.join(requirements)} for {target.describe()} on "
                f"{', '.join(redact_url(u) for u in index.urls)}:\n  "
                + "\n  ".join(redact_url(line) for line in lines[:6]),
                hint="only pure wheels and Pyodide wheels (tagged "
                     f"{target.platform_tag}) can be used; relax the requirement, or build "
                     "the project from a recipe instead")
        listing = PackageIndex(index)
        pins = [_pin(wheel, listing, requested)
                for wheel in sorted((folder / "wheels").glob("*.whl"))]
    return sorted(pins, key=lambda p: p.name)
