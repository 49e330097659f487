"""House rule: no package-registry host name is written anywhere in the repository.

Index and mirror addresses come from the user's pip, npm and apt configuration. The names
below are assembled from parts so that this file does not break its own rule.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "node_modules", "dist", "build", ".mypy_cache", ".ruff_cache",
             ".pytest_cache", ".hypothesis", "__pycache__", ".cache"}
HOSTS = [
    "pypi" + ".org", "pythonhosted" + ".org", "npmjs" + ".org", "npmjs" + ".com",
    "deb.debian" + ".org", "security.debian" + ".org", "registry-1.docker" + ".io",
    "hub.docker" + ".com", "ghcr" + ".io", "quay" + ".io", "jsdelivr" + ".net",
    "unpkg" + ".com", "anaconda" + ".org",
]


def _files() -> list[Path]:
    found = []
    stack = [ROOT]
    while stack:
        folder = stack.pop()
        for child in folder.iterdir():
            if child.is_dir():
                if child.name not in SKIP_DIRS:
                    stack.append(child)
            elif child.is_file() and child.stat().st_size < 2_000_000:
                found.append(child)
    return found


def test_no_registry_host_names_in_repo() -> None:
    offenders = []
    for path in _files():
        try:
            text = path.read_text(encoding="utf-8").lower()
        except UnicodeDecodeError:
            continue
        offenders += [f"{path.relative_to(ROOT)}: {host}" for host in HOSTS if host in text]
    assert offenders == []
