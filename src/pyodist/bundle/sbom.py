"""The bundle's software bill of materials: CycloneDX 1.5 JSON.

The runtime and every package with version, purl, license, source sha256 and URL, patches
and extra archives, and the dependency graph; static libraries are listed with the packages
that link them.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from pyodist import __version__
from pyodist.bundle.inputs import PackageInput
from pyodist.project import Project
from pyodist.recipe.spec import canonical_name

__all__ = ["sbom"]

_SPDX_EXPR = re.compile(r"^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*\Z")


def _license(text: str | None) -> list[dict[str, Any]]:
    if not text:
        return []
    if _SPDX_EXPR.match(text):
        return [{"expression": text}]
    return [{"license": {"name": text}}]


def sbom(project: Project, packages: Sequence[PackageInput], shipped: Sequence[PackageInput],
         digest: str, *, epoch: int) -> dict[str, Any]:
    """The CycloneDX document of a bundle: ``packages`` is everything built (in order),
    ``shipped`` those with files in the bundle; ``digest`` (of the file list) seeds the
    serial number, so a rebuild writes the same document."""
    components: list[dict[str, Any]] = [{
        "type": "framework", "bom-ref": "pyodide", "name": "pyodide",
        "version": project.runtime.pyodide, "purl": f"pkg:npm/pyodide@{project.runtime.pyodide}",
        "description": "Pyodide runtime core (CPython compiled to WebAssembly)",
    }]
    dependencies = []
    # static libraries ship inside the packages that link them: listed, with those edges
    linked = [p for p in packages if p.recipe.build.type == "static_library"]
    libraries = {canonical_name(p.recipe.name) for p in linked}
    for pkg in [*shipped, *linked]:
        recipe = pkg.recipe
        src = recipe.source
        is_python = recipe.build.type == "package"
        component: dict[str, Any] = {
            "type": "library", "bom-ref": canonical_name(recipe.dist_name),
            "name": recipe.dist_name,
            "version": recipe.version,
            "purl": (f"pkg:pypi/{canonical_name(recipe.dist_name)}@{recipe.version}" if is_python
                     else f"pkg:generic/{recipe.name}@{recipe.version}"),
            "licenses": _license(recipe.about.license),
            "properties": [{"name": "pyodist:build-type", "value": recipe.build.type},
                           {"name": "pyodist:artifact-key", "value": pkg.key},
                           *([{"name": "pyodist:source", "value": "index wheel"}]
                             if pkg.from_index else [])],
        }
        if recipe.about.summary:
            component["description"] = recipe.about.summary
        if src.sha256:
            component["hashes"] = [{"alg": "SHA-256", "content": src.sha256}]
        if src.url:
            component["externalReferences"] = [{"type": "distribution", "url": src.url}]
        if pkg.fetched_from:
            component["properties"].append({"name": "pyodist:fetched-from",
                                            "value": pkg.fetched_from})
        for archive in src.extra_archives:
            component["properties"].append({"name": "pyodist:extra-archive",
                                            "value": f"{archive.url} sha256:{archive.sha256}"})
        for patch, sha in sorted(pkg.patches.items()):
            component["properties"].append({"name": "pyodist:patch",
                                            "value": f"{patch} sha256:{sha}"})
        if recipe.about.home:
            component.setdefault("externalReferences", []).append(
                {"type": "website", "url": recipe.about.home})
        components.append(component)
        if recipe.dist_name != recipe.name:
            component["properties"].append({"name": "pyodist:recipe", "value": recipe.name})
        needs = {canonical_name(d) for d in recipe.requirements.run}
        needs |= {canonical_name(d) for d in recipe.requirements.host} & libraries
        dependencies.append({"ref": canonical_name(recipe.dist_name),
                             "dependsOn": sorted(needs)})
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    return {
        "bomFormat": "CycloneDX", "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.UUID(digest[:32])}", "version": 1,
        "metadata": {
            "timestamp": stamp,
            "tools": {"components": [{"type": "application", "name": "pyodist",
                                      "version": __version__}]},
            "component": {"type": "application", "bom-ref": "distribution",
                          "name": project.name, "version": project.version},
        },
        "components": components,
        "dependencies": [{"ref": "distribution",
                          "dependsOn": ["pyodide", *sorted(c["bom-ref"] for c in
                                                           components[1:])]},
                         *dependencies],
    }
