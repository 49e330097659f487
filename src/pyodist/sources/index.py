"""The package index the user configured for pip, spoken to with the simple API.

No index host is written in pyodist: the addresses come from pip's own configuration
(``PIP_INDEX_URL``, ``PIP_EXTRA_INDEX_URL``, ``pip.conf`` files), and when nothing is set, from
pip's built-in default. JSON (PEP 691) is asked for first; HTML (PEP 503) is understood too, as
served by simple mirrors and ``file://`` index folders.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests

from pyodist.errors import SourceError
from pyodist.recipe.spec import canonical_name
from pyodist.urls import redact_url

__all__ = ["IndexFile", "IndexSettings", "PackageIndex", "configured_index"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"


@dataclass(frozen=True)
class IndexSettings:
    urls: tuple[str, ...]
    # CA bundle from pip's `cert` setting; None means requests' default store
    cert: str | None = None


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    sha256: str | None
    yanked: bool = False
    requires_python: str | None = None
    # the index serves the file's core metadata at ``url + ".metadata"`` (PEP 658 / 714)
    core_metadata: bool = False


def _pip_settings() -> dict[str, str]:
    """pip's configuration (files and PIP_* variables), read once, keyed by option name.

    Sections are applied in pip's order of precedence, so the environment wins.
    """
    from pip._internal.configuration import Configuration  # noqa: PLC0415 - slow import

    config = Configuration(isolated=False)
    config.load()
    values = dict(config.items())
    merged: dict[str, str] = {}
    for section in ("global", "download", "install", ":env:"):
        prefix = f"{section}."
        merged.update({k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)})
    return merged


def configured_index(override: Sequence[str] = ()) -> IndexSettings:
    """Index URLs in search order: ``override`` if given, else pip's index-url + extras."""
    settings = _pip_settings()
    cert = settings.get("cert")
    if override:
        return IndexSettings(tuple(override), cert)
    primary = settings.get("index-url")
    if not primary:
        from pip._internal.models.index import PyPI  # noqa: PLC0415

        primary = PyPI.simple_url
    extras = (settings.get("extra-index-url") or "").split()
    return IndexSettings((primary, *extras), cert)


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []
        self._href: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self._href["_text"] = "".join(self._text).strip()
            self.links.append(self._href)
            self._href = None


def _parse_html(base: str, text: str) -> list[IndexFile]:
    parser = _LinkParser()
    parser.feed(text)
    files = []
    for link in parser.links:
        href = link.get("href")
        if not href:
            continue
        url, _, fragment = urllib.parse.urljoin(base, href).partition("#")
        name = urllib.parse.unquote(url.rsplit("/", 1)[-1]) or (link.get("_text") or "")
        digest = fragment[len("sha256="):] if fragment.startswith("sha256=") else None
        has_metadata = any(link.get(k) not in (None, "false") for k in
                           ("data-core-metadata", "data-dist-info-metadata"))
        files.append(IndexFile(name, url, digest, "data-yanked" in link,
                               link.get("data-requires-python"), has_metadata))
    return files


def _parse_json(base: str, data: dict[str, Any]) -> list[IndexFile]:
    return [
        IndexFile(
            f["filename"], urllib.parse.urljoin(base, f["url"]), f.get("hashes", {}).get("sha256"),
            bool(f.get("yanked")), f.get("requires-python"),
            bool(f.get("core-metadata") or f.get("dist-info-metadata")),
        )
        for f in data.get("files", [])
    ]


class PackageIndex:
    """Reads project pages from the configured indexes, first index first."""

    def __init__(self, settings: IndexSettings, session: requests.Session | None = None,
                 timeout: float = 30.0) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        if settings.cert:
            self.session.verify = settings.cert
        self.timeout = timeout

    def _page(self, index: str, project: str) -> list[IndexFile] | None:
        url = f"{index.rstrip('/')}/{canonical_name(project)}/"
        if url.startswith("file://"):
            folder = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path))
            page = folder / "index.html"
            if not page.is_file():
                return None
            return _parse_html(url, page.read_text(encoding="utf-8", errors="replace"))
        try:
            resp = self.session.get(url, headers={"Accept": _ACCEPT}, timeout=self.timeout)
        except requests.RequestException as exc:
            raise SourceError(
                f"cannot reach the package index {redact_url(index)}: "
                f"{exc.__class__.__name__}",
                hint="check the network, or pip's index-url (pip config list); "
                     "use --offline with a filled source cache",
            ) from None
        if resp.status_code == 404:
            return None
        if not resp.ok:
            raise SourceError(f"the package index answered {resp.status_code} for "
                              f"{redact_url(url)}",
                              hint="check pip's index-url (pip config list) and try again")
        if resp.headers.get("content-type", "").split(";")[0].strip() == JSON_TYPE:
            try:
                return _parse_json(resp.url, json.loads(resp.text))
            except ValueError:
                raise SourceError(f"the package index sent invalid JSON for {redact_url(url)}",
                                  hint="check pip's index-url points at a simple index") from None
        return _parse_html(resp.url, resp.text)

    def project_files(self, project: str) -> list[IndexFile]:
        """Every file of ``project`` on the indexes; the first index listing a name wins."""
        found: dict[str, IndexFile] = {}
        listed = False
        for index in self.settings.urls:
            files = self._page(index, project)
            if files is None:
                continue
            listed = True
            for f in files:
                found.setdefault(f.filename, f)
        if not listed:
            missing = [i for i in self.settings.urls if not self._index_answers(i)]
            if len(missing) == len(self.settings.urls):
                raise SourceError(
                    "no package index answers at "
                    f"{', '.join(redact_url(i) for i in missing)} (its root page is missing)",
                    hint="check the index URL (--index-url, or pip's index-url: pip config "
                         "list); a simple index ends in /simple/")
            raise SourceError(
                f"project {project!r} was not found on the package index "
                f"({', '.join(redact_url(u) for u in self.settings.urls)})",
                hint="check the project name, or pip's index-url (pip config list)",
            )
        return list(found.values())

    def _index_answers(self, index: str) -> bool:
        """Whether ``index`` is there at all (a project missing from it is another matter)."""
        if index.startswith("file://"):
            return Path(urllib.parse.unquote(urllib.parse.urlparse(index).path)).is_dir()
        try:
            resp = self.session.head(index.rstrip("/") + "/", timeout=self.timeout,
                                     allow_redirects=True)
        except requests.RequestException:
            return False
        return resp.status_code != 404

    def core_metadata(self, file: IndexFile) -> str | None:
        """The METADATA text the index serves beside ``file`` (PEP 658), or None."""
        if not file.core_metadata or file.url.startswith("file://"):
            return None
        try:
            resp = self.session.get(file.url + ".metadata", timeout=self.timeout)
        except requests.RequestException:
            return None
        return resp.text if resp.ok else None

    def find_file(self, project: str, filename: str) -> IndexFile:
        files = self.project_files(project)
        for f in files:
            if f.filename == filename:
                return f
        version = _version_in(filename)
        same = sorted(f.filename for f in files if version and version in f.filename)
        hint = (f"files of that version: {', '.join(same[:6])}" if same
                else "check the file name in the recipe against the project's files")
        raise SourceError(f"{filename!r} is not among the files of {project!r} on the index",
                          hint=hint)


def _version_in(filename: str) -> str | None:
    match = re.search(r"-(\d[^-]*?)(?:\.tar\.gz|\.tar\.bz2|\.tar\.xz|\.zip|\.tgz|-)", filename)
    return match.group(1) if match else None
