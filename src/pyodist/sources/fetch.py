"""Bring a recipe's sources into the cache: from a URL, the configured index, the host's
Debian mirror, or nowhere.

``Fetcher.fetch(recipe)`` returns where the verified archive sits in the cache,
``Fetcher.fetch_extra(recipe)`` the same for its ``extra-archives``. With
``offline=True`` only the cache is consulted, and a miss says exactly which file is missing
and how to get it.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from pyodist.errors import SourceError
from pyodist.events import EventSink, FetchFinished, FetchProgress, FetchStarted, ignore
from pyodist.options import Options
from pyodist.recipe.scripts import script_downloads
from pyodist.recipe.spec import PYPI_SCHEME, Recipe
from pyodist.sources import debian
from pyodist.sources.cache import SourceCache
from pyodist.sources.index import PackageIndex, configured_index
from pyodist.urls import redact_url

__all__ = ["FetchCancelled", "FetchReport", "FetchResult", "Fetcher", "fetch_sources",
           "index_file_project", "make_fetcher"]

_CHUNK = 256 * 1024
# What one download may take: bytes (the largest source a recipe here needs is ~100 MB) and
# seconds in all (a server that sends a byte every few seconds never trips the read timeout)
MAX_DOWNLOAD_BYTES = 2 * 1024**3
MAX_DOWNLOAD_SECONDS = 1800.0
# A file of the Python package index's file host, by the shape of its path (any host, so a
# mirror of it too): the redirecting forms /packages/source/<l>/<project>/<file> and
# /packages/<py-tag>/<l>/<project>/<file>, and the content-addressed
# /packages/<2 hex>/<2 hex>/<60 hex>/<file>.
_INDEX_FILE_PATH = re.compile(
    r"^/packages/(?:(?:source|py2\.py3|py3|py2|any|cp\d+)/[^/]/(?P<project>[^/]+)"
    r"|[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{60})/(?P<file>[^/]+)$")


def index_file_project(url: str) -> str | None:
    """The project an index file URL belongs to, or None when ``url`` is not one.

    ``https://HOST/packages/source/s/six/six-1.17.0.tar.gz`` -> ``six``; for the
    content-addressed form the project comes from the file name.
    """
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("http", "https"):
        return None
    match = _INDEX_FILE_PATH.match(urllib.parse.unquote(parsed.path))
    if match is None:
        return None
    if match.group("project"):
        return match.group("project")
    filename = match.group("file")
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[0])
        return str(parse_sdist_filename(filename)[0])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
# Answers worth another try: the server or a proxy had a bad moment.
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class FetchResult:
    name: str
    filename: str
    sha256: str
    path: Path
    origin: str
    cached: bool


@dataclass
class FetchReport:
    """What :func:`fetch_sources` did, per recipe (in the order given)."""

    # recipe -> its main source (None: a local path, nothing to fetch)
    done: dict[str, FetchResult | None] = field(default_factory=dict)
    extra: dict[str, list[FetchResult]] = field(default_factory=dict)
    failed: dict[str, SourceError] = field(default_factory=dict)

    @property
    def files(self) -> int:
        """How many archives are now in the cache for the recipes that did not fail."""
        return sum((r is not None) + len(self.extra.get(n, ())) for n, r in self.done.items())


class _Retryable(Exception):
    pass


class FetchCancelled(KeyboardInterrupt):
    """A download stopped by :meth:`Fetcher.cancel` (Ctrl-C): nothing of it is kept."""


class Fetcher:
    def __init__(
        self,
        cache: SourceCache,
        *,
        index: Callable[[], PackageIndex] | None = None,
        offline: bool = False,
        session: requests.Session | None = None,
        retries: int = 3,
        timeout: tuple[float, float] = (10.0, 60.0),
        backoff: float = 0.5,
        on_event: EventSink = ignore,
        debian_mirror: Callable[[], str] = debian.debian_mirror,
        max_bytes: int = MAX_DOWNLOAD_BYTES,
        max_seconds: float = MAX_DOWNLOAD_SECONDS,
    ) -> None:
        self.cache = cache
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self._debian_mirror = debian_mirror
        self._index_factory = index
        self._index: PackageIndex | None = None
        self.offline = offline
        self.session = session or requests.Session()
        self.retries = retries
        self.timeout = timeout
        self.backoff = backoff
        self.on_event = on_event
        self._cancelled = threading.Event()
        self._active: set[requests.Response] = set()
        self._active_lock = threading.Lock()

    def cancel(self) -> None:
        """Stop every download now (another thread's Ctrl-C): each one's connection is cut,
        so a read waiting on a slow server returns at once, and its partial file goes."""
        self._cancelled.set()
        with self._active_lock:
            active = list(self._active)
        for resp in active:
            _cut(resp)

    def _check_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise FetchCancelled

    def _get_index(self) -> PackageIndex:
        if self._index is None:
            if self._index_factory is None:
                raise SourceError("no package index is configured for 'pypi:' sources",
                                  hint="configure pip's index-url, or use a full URL")
            self._index = self._index_factory()
        return self._index

    def fetch(self, recipe: Recipe) -> FetchResult | None:
        """Ensure the recipe's downloaded source is cached; None for path sources."""
        src = recipe.source
        if not src.downloaded or src.url is None or src.sha256 is None or src.filename is None:
            return None
        return self.fetch_one(recipe.name, src.url, src.sha256, src.filename)

    def fetch_extra(self, recipe: Recipe) -> list[FetchResult]:
        """Ensure the recipe's ``source/extra-archives`` are cached, in recipe order."""
        return [self.fetch_one(recipe.name, a.url, a.sha256, a.filename)
                for a in recipe.source.extra_archives]

    def fetch_all(self, recipe: Recipe) -> int:
        """Fetch every archive the recipe names; return how many that is."""
        main = self.fetch(recipe)
        return (main is not None) + len(self.fetch_extra(recipe))

    def fetch_one(self, name: str, url: str, sha256: str, filename: str, *,
                  fallback: str | None = None) -> FetchResult:
        with self.cache.lock(sha256):
            hit = self.cache.lookup(sha256)
            if hit is not None:
                self.on_event(FetchFinished(name, filename, sha256, hit.stat().st_size, True))
                return FetchResult(name, filename, sha256, hit, redact_url(url), cached=True)
            if self.offline:
                raise SourceError(
                    f"{name}: {filename} (sha256 {sha256[:12]}…) is not in the source cache "
                    f"{self.cache.root} and --offline forbids downloading it",
                    hint=f"run 'pyodist fetch {name}' with network access first "
                         "(same --cache-dir), then build offline",
                )
            try:
                candidates = self._candidates(url, filename, sha256)
            except SourceError:
                if fallback is None:
                    raise
                candidates = []  # not on the index (any more): the fallback may have it
            if fallback is not None and fallback not in candidates:
                candidates.append(fallback)
            *first, last = candidates
            for real_url in first:
                try:
                    return self._fetched(name, real_url, sha256, filename)
                except SourceError:
                    continue  # the next address may serve the same bytes
            return self._fetched(name, last, sha256, filename)

    def _fetched(self, name: str, url: str, sha256: str, filename: str) -> FetchResult:
        path = self._download(name, url, sha256, filename)
        self.on_event(FetchFinished(name, filename, sha256, path.stat().st_size, False))
        return FetchResult(name, filename, sha256, path, redact_url(url), cached=False)

    def fetch_index_file(self, project: str, filename: str, sha256: str,
                         url: str) -> FetchResult:
        """A file of ``project`` on the package index (a locked wheel): looked up on the
        configured index by project and file name first, then at ``url``, where it was
        found when it was locked; checked by ``sha256`` either way."""
        return self.fetch_one(project, f"{PYPI_SCHEME}{project}/{filename}", sha256, filename,
                              fallback=url)

    def fetch_unpinned(self, name: str, url: str, filename: str) -> FetchResult:
        """Download a file whose sha256 nobody stated yet, and cache it under the one it has.

        For writing recipes (``pyodist skeleton``) from indexes that publish no hashes; builds
        never use this, they always know the sha256 before downloading.
        """
        if self.offline:
            raise SourceError(f"{name}: {filename} has no known sha256 and --offline forbids "
                              "downloading it", hint="run without --offline")
        real_url = self._resolve(url, filename)
        tmp = self.cache.temp_path()
        try:
            if real_url.startswith("file://"):
                local = Path(urllib.parse.unquote(urllib.parse.urlparse(real_url).path))
                if not local.is_file():  # a device such as /dev/zero never ends
                    raise SourceError(f"{name}: {local} is not a regular file",
                                      hint="point the link at a file")
                chunks: Iterator[bytes] = _read_file(local)
            else:
                resp = self.session.get(real_url, stream=True, timeout=self.timeout)
                if not resp.ok:
                    raise SourceError(f"{name}: {real_url} answered HTTP {resp.status_code}",
                                      hint="check the URL")
                chunks = resp.iter_content(_CHUNK)
            digest = hashlib.sha256()
            with tmp.open("wb") as fh:
                for chunk in self._bounded(chunks, name, real_url, None):
                    digest.update(chunk)
                    fh.write(chunk)
        except (OSError, requests.RequestException) as exc:
            tmp.unlink(missing_ok=True)
            raise SourceError(f"{name}: cannot download {real_url}: {exc}",
                              hint="check the network and the URL") from None
        try:
            return self.fetch_local(name, tmp, digest.hexdigest(), filename, origin=real_url)
        finally:
            tmp.unlink(missing_ok=True)

    def fetch_local(self, name: str, path: Path, sha256: str, filename: str, *,
                    origin: str) -> FetchResult:
        with self.cache.lock(sha256):
            hit = self.cache.lookup(sha256)
            if hit is None:
                hit = self.cache.store(sha256, _read_file(path), filename=filename,
                                       origin=origin)
            return FetchResult(name, filename, sha256, hit, origin, cached=False)

    def _candidates(self, url: str, filename: str, sha256: str) -> list[str]:
        """Where to download ``url`` from, in order.

        A file of the package index's file host is looked up on the index pip is configured
        with first (a mirror or proxy may serve only its own file URLs), then tried at its
        own address; the bytes must match ``sha256`` either way.
        """
        project = index_file_project(url)
        if project is None or self._index_factory is None:
            return [self._resolve(url, filename)]
        try:
            found = self._get_index().find_file(project, filename)
        except SourceError:
            return [url]
        if found.sha256 is not None and found.sha256 != sha256:
            raise SourceError(
                f"the package index lists {filename} with sha256 {found.sha256[:12]}…, not the "
                f"recipe's {sha256[:12]}…", hint="the recipe and the index disagree about the "
                "file's bytes: check 'source/sha256' (pyodist never accepts other bytes)")
        return [found.url] if found.url == url else [found.url, url]

    def _resolve(self, url: str, filename: str) -> str:
        if url.startswith(debian.SCHEME):
            source = url[len(debian.SCHEME):].split("/", 1)[0]
            try:
                mirror = self._debian_mirror()
            except debian.MirrorNotFound as exc:
                raise SourceError(
                    f"{url}: {exc}",
                    hint="add a Debian mirror to apt's sources, or set PYODIST_DEBIAN_MIRROR "
                         "to the mirror's base URL",
                ) from None
            return debian.pool_url(mirror, source, filename)
        if not url.startswith("pypi:"):
            return url
        project = url[len("pypi:"):].split("/", 1)[0]
        found = self._get_index().find_file(project, filename)
        return found.url

    def _download(self, name: str, url: str, sha256: str, filename: str) -> Path:
        if url.startswith("file://"):
            local = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path))
            if not local.is_file():
                raise SourceError(f"{name}: {local} does not exist",
                                  hint="fix 'source/url' to point at an existing file")
            self.on_event(FetchStarted(name, filename, local.stat().st_size))
            return self.cache.store(sha256, self._bounded(_read_file(local), name, url, None),
                                    filename=filename, origin=url)
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._cancelled.wait(self.backoff * 2 ** (attempt - 1))
            self._check_cancelled()
            try:
                return self._try_download(name, url, sha256, filename)
            except _Retryable as exc:
                self._check_cancelled()  # a cut connection is not worth another try
                last = exc
        raise SourceError(
            f"{name}: downloading {url} failed after {self.retries + 1} attempts: {last}",
            hint="check the network or the URL; sources already cached are kept",
        )

    def _try_download(self, name: str, url: str, sha256: str, filename: str) -> Path:
        try:
            resp = self.session.get(url, stream=True, timeout=self.timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Retryable(exc.__class__.__name__) from None
        except requests.RequestException as exc:
            raise SourceError(f"{name}: cannot download {url}: {exc}",
                              hint="check 'source/url'") from None
        with self._active_lock:
            self._active.add(resp)
        try:
            self._check_cancelled()
            return self._read_response(resp, name, url, sha256, filename)
        finally:
            with self._active_lock:
                self._active.discard(resp)

    def _read_response(self, resp: requests.Response, name: str, url: str, sha256: str,
                       filename: str) -> Path:
        with resp:
            if resp.status_code in _RETRY_STATUS:
                raise _Retryable(f"HTTP {resp.status_code}")
            if not resp.ok:
                raise SourceError(f"{name}: {url} answered HTTP {resp.status_code}",
                                  hint="check 'source/url' in the recipe")
            length = resp.headers.get("content-length", "").strip()
            # a length that is no number is no length (the body's end says where it ends)
            total = int(length) or None if re.fullmatch(r"[0-9]{1,18}", length) else None
            self.on_event(FetchStarted(name, filename, total))
            # a read that never ends (a byte every few seconds keeps the read timeout happy)
            # is cut when the download's time is up
            expired = threading.Event()

            def cut() -> None:
                expired.set()
                _cut(resp)

            timer = threading.Timer(self.max_seconds, cut)
            timer.daemon = True
            timer.start()
            try:
                return self.cache.store(
                    sha256, self._chunks(name, resp, total), filename=filename, origin=url)
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                if expired.is_set():
                    raise self._too_long(name, url) from None
                raise _Retryable(f"connection lost during download ({exc.__class__.__name__})")\
                    from None
            finally:
                timer.cancel()

    def _bounded(self, chunks: Iterator[bytes], name: str, url: str,
                 total: int | None) -> Iterator[bytes]:
        """``chunks``, stopped with a SourceError past the size or time a download may take."""
        limit = self.max_bytes
        if total is not None and total > limit:
            raise SourceError(f"{name}: {redact_url(url)} is {total:,} bytes, more than the "
                              f"{limit:,} a download may be", hint="check 'source/url'")
        start, done = time.monotonic(), 0
        for chunk in chunks:
            done += len(chunk)
            if done > limit:
                raise SourceError(f"{name}: {redact_url(url)} sent more than the {limit:,} bytes "
                                  "a download may be; stopped", hint="check 'source/url'")
            if time.monotonic() - start > self.max_seconds:
                raise self._too_long(name, url)
            yield chunk

    def _too_long(self, name: str, url: str) -> SourceError:
        return SourceError(f"{name}: downloading {redact_url(url)} took more than "
                           f"{self.max_seconds:g} s; stopped",
                           hint="check the network, or the server at that URL")

    def _chunks(self, name: str, resp: requests.Response, total: int | None) -> Iterator[bytes]:
        done = 0
        for chunk in self._bounded(resp.iter_content(_CHUNK), name, str(resp.url), total):
            self._check_cancelled()
            done += len(chunk)
            self.on_event(FetchProgress(name, done, total))
            yield chunk
        self._check_cancelled()  # a cut connection can look like the end of the body
        if total is not None and done != total:
            raise requests.exceptions.ChunkedEncodingError(f"got {done} of {total} bytes")


def _response_socket(resp: requests.Response) -> socket.socket | None:
    """The socket a streamed response reads from: urllib3 hands it to http.client's
    response once the headers are in (no public handle; so looked up defensively)."""
    for path in (("raw", "connection", "sock"), ("raw", "_fp", "fp", "raw", "_sock")):
        found: object = resp
        for attr in path:
            found = getattr(found, attr, None)
        if isinstance(found, socket.socket):
            return found
    return None


def _cut(resp: requests.Response) -> None:
    """Shut a streamed response's connection, so a read waiting on it returns at once."""
    sock = _response_socket(resp)
    with contextlib.suppress(OSError):
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)


def _read_file(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def make_fetcher(options: Options, on_event: EventSink = ignore) -> Fetcher:
    """A Fetcher over the configured cache, index and Debian mirror; the index is only asked
    when a 'pypi:' source needs it."""

    def index() -> PackageIndex:
        return PackageIndex(configured_index(options.index_urls))

    cache = SourceCache(options.source_cache_dir)
    cache.clean_stale()
    return Fetcher(cache, index=index, offline=options.offline, on_event=on_event,
                   debian_mirror=lambda: debian.debian_mirror(override=options.debian_mirror))


def fetch_sources(fetcher: Fetcher, recipes: Sequence[Recipe], *, jobs: int = 4) -> FetchReport:
    """Fetch every archive of ``recipes``, ``jobs`` at a time; a recipe whose source fails is
    reported, the others go on."""
    report = FetchReport()

    def one(recipe: Recipe) -> None:
        try:
            main = fetcher.fetch(recipe)
            report.extra[recipe.name] = fetcher.fetch_extra(recipe)
            report.done[recipe.name] = main
        except SourceError as exc:
            report.failed[recipe.name] = exc
            return
        downloads = script_downloads(recipe)
        if downloads:  # its source is here, but its build would reach for the network
            report.failed[recipe.name] = SourceError(
                f"{recipe.name}: {downloads[0]} downloads during the build, which runs with "
                "no network, so the build cannot work",
                hint="give the file to the build instead: a source/extra-archives entry "
                     "(url and sha256) that pyodist fetch downloads and verifies, used by "
                     "the script from the source tree")

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="fetch")
    try:
        for future in [pool.submit(one, recipe) for recipe in recipes]:
            future.result()
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM) in this thread: stop every download
        fetcher.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    report.done = {r.name: report.done[r.name] for r in recipes if r.name in report.done}
    return report
