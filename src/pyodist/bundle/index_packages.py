"""Index wheels as bundle packages: fetched by their pins, checked, and given a recipe.

A pinned wheel (``pyodist.lock``) is fetched into the source cache like any source, copied
out under its own file name (``<cache>/index-wheels/<sha256>/<file>``, once) and described
by a frozen :class:`~pyodist.recipe.spec.Recipe` made from its metadata, so the lock,
manifest, SBOM, ``startup-pyc`` and ``pyodist test`` treat it as any built package.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from email.parser import Parser
from pathlib import Path

from pyodist.bundle.inputs import PackageInput
from pyodist.errors import BundleError
from pyodist.fsutil import copy_atomic
from pyodist.recipe.spec import AboutSpec, PackageSpec, Recipe, SourceSpec
from pyodist.sources.fetch import Fetcher
from pyodist.sources.resolve import IndexPin

__all__ = ["INDEX_KEY_PREFIX", "index_package_inputs"]

# what stands in for an artifact key: the wheel is the artifact, named by its bytes
INDEX_KEY_PREFIX = "index:sha256:"


def _metadata(wheel: Path) -> dict[str, str]:
    try:
        with zipfile.ZipFile(wheel) as zf:
            name = next(n for n in zf.namelist()
                        if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
            message = Parser().parsestr(zf.read(name).decode("utf-8", "replace"))
    except (OSError, zipfile.BadZipFile, StopIteration) as exc:
        raise BundleError(f"{wheel.name} is not a readable wheel ({exc.__class__.__name__})",
                          hint="run 'pyodist lock --upgrade', or pin another version") from None
    home = next((url.split(",", 1)[1].strip() for url in message.get_all("Project-URL") or []
                 if url.lower().startswith(("homepage,", "home,", "source,"))),
                message.get("Home-page"))
    return {"summary": message.get("Summary") or "",
            "license": message.get("License-Expression") or "",
            "home": home or ""}


def _stored_wheel(store: Path, pin: IndexPin, blob: Path) -> Path:
    """The cached blob under the wheel's own name (loaders read tags from the name)."""
    return copy_atomic(blob, store / pin.sha256 / pin.filename, keep_existing=True)


def index_package_inputs(pins: Sequence[IndexPin], fetcher: Fetcher, store: Path,
                         lock_file: Path) -> list[PackageInput]:
    """A PackageInput per pinned wheel, fetched (or found in the cache) and checked."""
    inputs = []
    for pin in pins:
        got = fetcher.fetch_index_file(pin.name, pin.filename, pin.sha256, pin.url)
        wheel = _stored_wheel(store, pin, got.path)
        meta = _metadata(wheel)
        recipe = Recipe(
            path=lock_file,
            package=PackageSpec(name=pin.name, version=pin.version),
            source=SourceSpec(url=f"pypi:{pin.name}/{pin.filename}", sha256=pin.sha256),
            about=AboutSpec(home=meta["home"] or None, summary=meta["summary"] or None,
                            license=meta["license"] or None),
        )
        origin = fetcher.cache.info(pin.sha256).get("origin") or pin.url
        inputs.append(PackageInput(recipe, INDEX_KEY_PREFIX + pin.sha256, (wheel,), {}, (),
                                   fetched_from=str(origin), from_index=True))
    return inputs
