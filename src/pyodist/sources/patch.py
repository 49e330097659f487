"""Apply a recipe's patches (``-p1``, in order) and copy its extras into a source tree.

GNU patch does the work, as in Pyodide. Each patch is tried with ``--dry-run`` first, so a
patch that does not apply changes nothing; the caller prepares the tree in a staging folder
and only renames it into place when everything applied, so no half-patched tree survives.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

from pyodist.errors import SourceError
from pyodist.fsutil import links_leaving
from pyodist.process import run

__all__ = ["apply_patches", "copy_extras"]

_FILE_RE = re.compile(r"^(?:patching|checking) file '?([^'\n]+?)'?$", re.MULTILINE)
_HUNK_RE = re.compile(r"^Hunk #(\d+) FAILED at (\d+)", re.MULTILINE)
_NEW_FILE_RE = re.compile(r"^\|?\+\+\+ (\S+)", re.MULTILINE)
_MISSING_RE = re.compile(r"can't find file to patch|No file to patch", re.IGNORECASE)


def _hunk_text(patch: Path, target: str, number: int) -> str:
    """The text of hunk ``number`` for ``target`` in ``patch``, to show what did not match."""
    current: str | None = None
    count = 0
    lines: list[str] = []
    for line in patch.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("+++ "):
            path = line[4:].split("\t", 1)[0].strip()
            current = path.split("/", 1)[1] if "/" in path else path
            count = 0
            if lines:
                break
        elif line.startswith("@@") and current == target:
            count += 1
            if count > number:
                break
        if current == target and count == number:
            if line.startswith(("diff ", "--- ")):
                break
            lines.append(line)
    return "\n".join(lines[:12])


def _explain(patch: Path, output: str) -> tuple[str, str | None]:
    """(failing file, hunk description) from GNU patch's output."""
    failed = _HUNK_RE.search(output)
    if failed:
        files = [m for m in _FILE_RE.finditer(output) if m.start() < failed.start()]
        target = files[-1].group(1) if files else "?"
        number, line = int(failed.group(1)), failed.group(2)
        text = _hunk_text(patch, target, number)
        return target, f"hunk #{number} (at line {line}) does not match:\n{text}"
    if _MISSING_RE.search(output):
        # GNU patch quotes the header it could not place: "+++ b/src/x.c"
        headers: list[str] = _NEW_FILE_RE.findall(output)
        name = headers[-1].split("/", 1)[-1] if headers else "?"
        return name, "the file to patch does not exist in the source"
    return "?", None


def apply_patches(tree: Path, patches: Sequence[Path]) -> None:
    """Apply each patch with -p1 semantics; raise SourceError naming patch, file and hunk."""
    for patch in patches:
        base = ["patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch",
                "--reject-file=-", "-i", str(patch)]
        check = run([*base, "--dry-run"], cwd=tree)
        if check.ok:
            result = run(base, cwd=tree)
            if result.ok:
                continue
            check = result
        target, detail = _explain(patch, check.stdout + check.stderr)
        message = f"patch {patch} does not apply to {target}"
        if detail:
            message += f": {detail}"
        else:
            message += f":\n{check.tail(10)}"
        raise SourceError(
            message,
            hint="refresh the patch against this source version (the source tree was left "
                 "untouched)",
        )


def copy_extras(tree: Path, recipe_folder: Path, extras: Sequence[tuple[str, str]]) -> None:
    """Copy ``(from, to)`` pairs: ``from`` relative to the recipe, ``to`` to the tree."""
    root = tree.resolve()
    for src, dst in extras:
        source = recipe_folder / src
        target = (tree / dst).resolve()
        if not target.is_relative_to(root):
            raise SourceError(f"extra {src!r} would be copied outside the source tree ({dst!r})",
                              hint="make 'source/extras' destinations relative paths in the tree")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            leaving = links_leaving(source, recipe_folder)
            if leaving:
                raise SourceError(
                    f"extra {src!r} holds symbolic links that lead out of the recipe folder or "
                    f"to a folder ({', '.join(leaving[:3])}): they are not copied",
                    hint="put the files themselves in the recipe folder")
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
