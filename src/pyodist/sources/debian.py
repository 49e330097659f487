"""Debian source packages as recipe sources: ``debian:SOURCE/FILE``.

The mirror is the one the host's apt is configured with (``/etc/apt/sources.list`` and
``sources.list.d``, one-line and deb822 formats), or the override the caller passes
(``PYODIST_DEBIAN_MIRROR``, read by the options layer); no mirror host
is written in pyodist. Files live in the mirror's pool: ``pool/main/o/openblas/...``, or
``pool/main/libf/libffi/...`` for ``lib*`` sources.

Standard library only: ``docker/hostcfg.py`` loads this file by path before any virtual
environment exists.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["MirrorNotFound", "apt_sources", "debian_mirror", "pool_url"]

SCHEME = "debian:"


class MirrorNotFound(LookupError):
    pass


def _deb822_entries(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        found.extend((uri, fields.get("suites", "")) for uri in fields.get("uris", "").split())
    return found


def _one_line_entries(text: str) -> list[tuple[str, str]]:
    found = []
    for raw in text.splitlines():
        words = re.sub(r"\[[^\]]*\]", "", raw.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            found.append((words[1], words[2]))
    return found


def apt_sources(etc: Path = Path("/etc/apt")) -> list[tuple[str, str]]:
    """(URI, suites) of every enabled binary ('deb') source, deb822 files first."""
    entries: list[tuple[str, str]] = []
    for path in sorted((etc / "sources.list.d").glob("*.sources")):
        entries.extend(_deb822_entries(path.read_text(encoding="utf-8", errors="replace")))
    for path in [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            entries.extend(_one_line_entries(path.read_text(encoding="utf-8", errors="replace")))
    return entries


def debian_mirror(etc: Path = Path("/etc/apt"), override: str | None = None) -> str:
    """``override`` (PYODIST_DEBIAN_MIRROR) if given, else the first non-security mirror URI
    of apt's sources in ``etc``; without a trailing slash."""
    override = (override or "").strip()
    if override:
        return override.rstrip("/")
    for uri, suites in apt_sources(etc):
        if "security" in suites or "security" in uri:
            continue
        if uri.startswith(("http://", "https://", "file:/")):
            return uri.rstrip("/")
    raise MirrorNotFound(f"no usable Debian mirror in {etc}/sources.list or sources.list.d")


def pool_url(mirror: str, source: str, filename: str) -> str:
    """Where a file of source package ``source`` sits in ``mirror``'s pool (component main)."""
    prefix = source[:4] if source.startswith("lib") and len(source) > 3 else source[:1]
    return f"{mirror.rstrip('/')}/pool/main/{prefix}/{source}/{filename}"
