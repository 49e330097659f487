"""What a recipe's build scripts do that cannot work in the toolchain: download files.

The build runs with no network, so a script line that fetches a URL (``wget``, ``curl``, a
``git clone``) fails there; ``pyodist fetch`` and the build say so at once, naming the line
and the way out, instead of a build failing minutes in.
"""

from __future__ import annotations

import re

from pyodist.recipe.spec import Recipe

__all__ = ["script_downloads"]

# a command that downloads, at the start of a command (not in a comment or an echo's text)
_DOWNLOAD = re.compile(r"(?:^|[;&|(]\s*|\bthen\s+|\bdo\s+)(wget|curl|git\s+clone|git\s+fetch)\b")


def script_downloads(recipe: Recipe) -> list[str]:
    """``build/script line 3: wget ...`` for every line of the recipe's scripts that
    downloads (empty when none does)."""
    found = []
    for key, script in (("build/script", recipe.build.script), ("build/post", recipe.build.post)):
        for number, line in enumerate((script or "").splitlines(), 1):
            text = line.strip()
            if text.startswith("#"):
                continue
            if _DOWNLOAD.search(text):
                found.append(f"{key} line {number}: {text[:160]}")
    return found
