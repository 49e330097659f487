"""Every bundle is also a package index: a PEP 503 ``simple/`` tree over its wheels.

``simple/index.html`` lists the projects, ``simple/<name>/index.html`` each project's wheel
with its sha256, its ``Requires-Python`` and, as PEP 658/714 have it, the sha256 of its core
metadata, which sits beside the wheel as ``<wheel>.metadata``. So ``micropip.install(NAME,
index_urls=[BUNDLE_URL + "simple/"])`` in a page and ``pip download --index-url
BUNDLE_URL/simple/ --platform pyemscripten_... NAME`` on a host both work against
``pyodist serve`` (or any static host serving a folder's index.html).
"""

from __future__ import annotations

import hashlib
import html
import zipfile
from collections.abc import Sequence
from email.parser import Parser
from pathlib import Path

from pyodist.bundle.lock import ShippedPackage
from pyodist.hashing import sha256_file
from pyodist.recipe.spec import canonical_name

__all__ = ["SIMPLE", "write_simple_index"]

SIMPLE = "simple"


def _core_metadata(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist()
                    if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        return zf.read(name)


def _page(title: str, links: Sequence[str]) -> str:
    return ("<!DOCTYPE html>\n<html>\n<head><meta name=\"pypi:repository-version\" "
            f"content=\"1.0\"><title>{html.escape(title)}</title></head>\n<body>\n"
            + "".join(f"{link}<br>\n" for link in links) + "</body>\n</html>\n")


def write_simple_index(folder: Path, shipped: Sequence[ShippedPackage]) -> list[Path]:
    """Write ``simple/`` and the ``.metadata`` files into the bundle ``folder``; the files
    written. Only wheels are listed (test archives and libraries are not installable)."""
    written: list[Path] = []
    projects: dict[str, list[str]] = {}
    for item in shipped:
        for wheel in item.files:
            if wheel.suffix != ".whl":
                continue
            metadata = _core_metadata(wheel)
            meta_path = wheel.with_name(wheel.name + ".metadata")
            meta_path.write_bytes(metadata)
            written.append(meta_path)
            requires = Parser().parsestr(metadata.decode("utf-8", "replace")).get(
                "Requires-Python")
            attrs = f' data-requires-python="{html.escape(requires)}"' if requires else ""
            digest = hashlib.sha256(metadata).hexdigest()
            name = canonical_name(item.recipe.dist_name)
            projects.setdefault(name, []).append(
                f'<a href="../../{html.escape(wheel.name)}#sha256={sha256_file(wheel)}"{attrs}'
                f' data-dist-info-metadata="sha256={digest}"'
                f' data-core-metadata="sha256={digest}">{html.escape(wheel.name)}</a>')
    root = folder / SIMPLE
    for name, links in sorted(projects.items()):
        page = root / name / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(_page(f"Links for {name}", links))
        written.append(page)
    root.mkdir(exist_ok=True)
    (root / "index.html").write_text(_page("Simple index", [
        f'<a href="{html.escape(name)}/">{html.escape(name)}</a>' for name in sorted(projects)]))
    written.append(root / "index.html")
    return written
