"""Shared fixtures: small recipe trees written on the fly."""

from __future__ import annotations

import io
import tarfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.budget import pytest_addoption, pytest_runtest_makereport  # noqa: F401 - hooks

WriteRecipe = Callable[..., Path]

SHA = "a" * 64


@pytest.fixture
def recipe_dir(tmp_path: Path) -> Path:
    d = tmp_path / "recipes"
    d.mkdir()
    return d


@pytest.fixture
def write_recipe(recipe_dir: Path) -> WriteRecipe:
    """write_recipe(name, yaml_text, folder=None, base=recipe_dir) -> path of meta.yaml."""

    def write(name: str, text: str, *, folder: str | None = None,
              base: Path | None = None) -> Path:
        target = (base or recipe_dir) / (folder or name)
        target.mkdir(parents=True, exist_ok=True)
        meta = target / "meta.yaml"
        meta.write_text(textwrap.dedent(text).lstrip())
        return meta

    return write


def simple_recipe(name: str, version: str = "1.0", *, run: list[str] | None = None,
                  host: list[str] | None = None, tags: list[str] | None = None,
                  disabled: bool = False, variant_of: str | None = None) -> str:
    """A minimal valid recipe text."""
    lines = ["package:", f"  name: {name}", f'  version: "{version}"']
    if variant_of:
        lines.append(f"  variant-of: {variant_of}")
    if tags:
        lines.append(f"  tag: [{', '.join(tags)}]")
    if disabled:
        lines.append("  _disabled: true")
    lines += ["source:", f"  url: pypi:{name}/{name}-{version}.tar.gz", f"  sha256: {SHA}"]
    if run or host:
        lines.append("requirements:")
        if run:
            lines.append(f"  run: [{', '.join(run)}]")
        if host:
            lines.append(f"  host: [{', '.join(host)}]")
    return "\n".join(lines) + "\n"



def make_sdist(top: str, members: dict[str, str]) -> bytes:
    """A .tar.gz whose files (relative path -> text) sit in one folder ``top``, as sdists do."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for rel, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{rel}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()

# -- hardening counts -------------------------------------------------------------------------
# Fuzz and fault-injection tests add what they tried here; the totals are printed in the test
# summary (and recorded in the README), so "0 failures" always comes with "out of how many".
HARDENING: dict[str, int] = {}


@pytest.fixture
def hardening() -> Callable[[str, int], None]:
    """hardening("fuzz: meta.yaml documents", 500) adds to a printed counter."""

    def add(what: str, count: int = 1) -> None:
        HARDENING[what] = HARDENING.get(what, 0) + count

    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not HARDENING:
        return
    failed = len(terminalreporter.stats.get("failed", []))
    terminalreporter.section("hardening")
    for what, count in sorted(HARDENING.items()):
        terminalreporter.write_line(f"{what}: {count}")
    terminalreporter.write_line(f"failed tests in this run: {failed}")

