"""A remote artifact store in an OCI registry, shared by CI runners.

``oci://HOST[:PORT]/REPO``: each artifact (the files of a cache entry and its
``artifact.json``) is an OCI artifact in REPO, tagged with its content key; the registry is
any OCI distribution server (a Git host's or a cloud's registry, Harbor, the CNCF registry).
Pushing uses the ``oras`` client library; pulling checks the manifest against the digest the
registry sends, every layer against its digest, and the files against the ``artifact.json``
they came with, whose key must be the one asked for: bytes that do not match are refused
(and the package is built locally). Two runners pushing one key push the same files; either
is fine.

Credentials come from Docker's ``config.json`` (read by oras) or
``PYODIST_STORE_USER``/``PYODIST_STORE_PASSWORD`` (read by the options layer) and are never
printed. A plain-HTTP registry on this machine (127.0.0.1, localhost, [::1]) is spoken to
without TLS; every other one with it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyodist.errors import StoreError
from pyodist.hashing import sha256_file
from pyodist.options import StoreSpec
from pyodist.store.local import META, Artifact, ArtifactCache

__all__ = ["ARTIFACT_TYPE", "Pulled", "RemoteStore", "connect"]

_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",)
ARTIFACT_TYPE = "application/vnd.pyodist.artifact.v1"
# (connect, read) seconds for every request to the store
TIMEOUT = (10.0, 300.0)
# files above this are uploaded in chunks (oras reads a monolithic upload into memory)
_CHUNKED_ABOVE = 64 * 1024**2
_CHUNK = 16 * 1024**2


@dataclass(frozen=True)
class Pulled:
    """What :meth:`RemoteStore.pull` found: the artifact, now in the local cache, or None
    and, when the store had bytes under the key that failed a check, why they were
    refused."""

    artifact: Artifact | None
    refused: str | None = None


class RemoteStore:
    """Pulls and pushes cache entries by key (see the module text)."""

    def __init__(self, spec: StoreSpec) -> None:
        self.spec = spec
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import oras.client  # noqa: PLC0415 - only store users pay for the import
            except ImportError:
                raise StoreError("the OCI client library (oras) is not installed",
                                 hint="pip install oras (pyodist depends on it)") from None
            client = oras.client.OrasClient(hostname=self.spec.host,
                                            insecure=self.spec.insecure)
            # oras sets no timeout: a store that stops answering must not hang a build
            client.session.request = functools.partial(client.session.request,
                                                       timeout=TIMEOUT)
            if self.spec.username and self.spec.password:
                with _quiet():
                    client.login(username=self.spec.username, password=self.spec.password,
                                 hostname=self.spec.host, insecure=self.spec.insecure)
            self._client = client
        return self._client

    def probe(self) -> None:
        """StoreError unless the registry answers its API root (200, or 401: it wants a
        login, which oras does per request)."""
        import requests  # noqa: PLC0415

        scheme = "http" if self.spec.insecure else "https"
        try:
            resp = requests.get(f"{scheme}://{self.spec.host}/v2/", timeout=TIMEOUT[0])
        except requests.RequestException as exc:
            raise self._unreachable(exc) from None
        if resp.status_code not in (200, 401):
            raise StoreError(f"{self.spec.url} answered {resp.status_code} at /v2/: not an OCI "
                             "registry", hint="check the address (oci://HOST[:PORT]/REPO)")

    def _target(self, tag: str) -> str:
        if not _TAG_RE.match(tag):
            raise StoreError(f"{tag!r} is not a usable tag", hint="this is a pyodist bug")
        return f"{self.spec.host}/{self.spec.repo}:{tag}"

    def _unreachable(self, exc: BaseException) -> StoreError:
        return StoreError(
            f"the artifact store {self.spec.url} does not answer ({exc.__class__.__name__})",
            hint="check the registry and the network, or pass --artifact-store-optional to "
                 "build locally when it is away")

    def _manifest(self, tag: str) -> dict[str, Any] | None:
        """The manifest of ``tag`` (None: no such tag), checked against its digest."""
        import requests  # noqa: PLC0415

        client = self.client
        container = client.get_container(self._target(tag))
        url = f"{client.prefix}://{container.manifest_url()}"
        try:
            resp = client.do_request(url, "GET",
                                            headers={"Accept": ", ".join(_MANIFEST_TYPES)})
        except requests.RequestException as exc:
            raise self._unreachable(exc) from None
        if resp.status_code == 404:
            return None
        if not resp.ok:
            raise StoreError(f"the artifact store answered {resp.status_code} for {tag}",
                             hint="check the repository name and the credentials")
        digest = "sha256:" + hashlib.sha256(resp.content).hexdigest()
        sent = resp.headers.get("Docker-Content-Digest")
        if sent is not None and sent != digest:
            raise _Mismatch(f"the manifest of {tag} has digest {digest}, not {sent}")
        manifest: dict[str, Any] = json.loads(resp.content)
        return manifest

    def _download(self, tag: str, manifest: Mapping[str, Any], folder: Path) -> None:
        """Every layer of ``manifest`` into ``folder`` by its title, each digest checked."""
        client = self.client
        container = client.get_container(self._target(tag))
        for layer in manifest.get("layers", []):
            title = (layer.get("annotations") or {}).get("org.opencontainers.image.title", "")
            if not title or "/" in title or title.startswith("."):
                raise _Mismatch(f"a layer of {tag} has the file name {title!r}")
            out = folder / title
            client.download_blob(container, layer["digest"], str(out))
            if "sha256:" + sha256_file(out) != layer["digest"]:
                raise _Mismatch(f"{title} of {tag} does not match its layer digest")

    def pull(self, key: str, cache: ArtifactCache) -> Pulled:
        """The entry for ``key`` from the store, into ``cache``. Without an artifact when the
        store does not have it, or has other bytes under it (``refused`` says why); then the
        caller builds."""
        import requests  # noqa: PLC0415

        with tempfile.TemporaryDirectory(prefix="pyodist-pull-") as tmp:
            folder = Path(tmp)
            try:
                manifest = self._manifest(key)
                if manifest is None:
                    return Pulled(None)
                try:
                    self._download(key, manifest, folder)
                except requests.RequestException as exc:
                    raise self._unreachable(exc) from None
                meta, files = _checked(key, folder)
            except _Mismatch as exc:
                return Pulled(None, refused=str(exc))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                return Pulled(None, refused=f"{key}: unreadable artifact "
                                            f"({exc.__class__.__name__})")
            info = {k: v for k, v in meta.items() if k not in ("files", "sha256", "name", "key")}
            return Pulled(cache.put(key, str(meta["name"]), files, info))

    def has(self, tag: str) -> bool:
        return self._manifest(tag) is not None

    def push(self, artifact: Artifact) -> bool:
        """Push ``artifact`` under its key unless the store has it already; False when it
        was there (or the store is read-only)."""
        if self.spec.readonly or self.has(artifact.key):
            return False
        files = [artifact.folder / name for name in (*artifact.files, META)]
        self._push(artifact.key, files)
        return True

    def _push(self, tag: str, files: list[Path],
              annotations: Mapping[str, str] | None = None) -> None:
        import requests  # noqa: PLC0415

        big = any(f.stat().st_size > _CHUNKED_ABOVE for f in files)
        with _quiet():
            try:
                self.client.push(target=self._target(tag), files=[str(f) for f in files],
                                 disable_path_validation=True, quiet=True, do_chunked=big,
                                 chunk_size=_CHUNK,
                                 manifest_annotations={"org.opencontainers.artifact.type":
                                                       ARTIFACT_TYPE, **(annotations or {})})
            except requests.RequestException as exc:
                raise self._unreachable(exc) from None
            except ValueError as exc:  # oras reports HTTP failures as ValueError
                raise StoreError(f"pushing {tag} to {self.spec.url} failed: {exc}",
                                 hint="check the credentials and that the repository may be "
                                      "written") from None

    def get_json(self, tag: str) -> dict[str, Any] | None:
        """A small JSON document the store keeps under ``tag`` (build timings)."""
        with tempfile.TemporaryDirectory(prefix="pyodist-pull-") as tmp:
            try:
                manifest = self._manifest(tag)
                if manifest is None:
                    return None
                self._download(tag, manifest, Path(tmp))
                data: dict[str, Any] = json.loads((Path(tmp) / f"{tag}.json").read_text())
            except (_Mismatch, OSError, ValueError):
                return None
            return data

    def put_json(self, tag: str, data: Mapping[str, Any]) -> None:
        if self.spec.readonly:
            return
        with tempfile.TemporaryDirectory(prefix="pyodist-push-") as tmp:
            path = Path(tmp) / f"{tag}.json"
            path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
            self._push(tag, [path])

    def push_file(self, tag: str, path: Path,
                  annotations: Mapping[str, str] | None = None) -> None:
        """One file (the toolchain image's ``docker save``) under ``tag``."""
        if not self.spec.readonly:
            self._push(tag, [path], annotations)

    def annotations(self, tag: str) -> dict[str, str] | None:
        """The manifest annotations of ``tag`` (None: no such tag)."""
        manifest = self._manifest(tag)
        if manifest is None:
            return None
        found = manifest.get("annotations") or {}
        return {str(k): str(v) for k, v in found.items()}

    def pull_file(self, tag: str, dest: Path) -> Path | None:
        """The one file under ``tag``, into ``dest`` (a folder); None when there is none."""
        manifest = self._manifest(tag)
        if manifest is None:
            return None
        with tempfile.TemporaryDirectory(prefix="pyodist-pull-", dir=dest) as tmp:
            self._download(tag, manifest, Path(tmp))
            [got] = list(Path(tmp).iterdir())
            target = dest / got.name
            shutil.move(got, target)
        return target


def connect(spec: StoreSpec | None, *, warn: Callable[[str], None]) -> RemoteStore | None:
    """The store ``spec`` names, once it answers; None without one. A store that does not
    answer is a StoreError, or when it is optional, a warning and None (work goes on
    without it)."""
    if spec is None:
        return None
    store = RemoteStore(spec)
    try:
        store.probe()
    except StoreError as exc:
        if not spec.optional:
            raise
        warn(f"{exc}; going on without the artifact store")
        return None
    return store


def _checked(key: str, folder: Path) -> tuple[dict[str, Any], list[Path]]:
    """The pulled ``artifact.json`` and files, each file against its sha256 there."""
    meta: dict[str, Any] = json.loads((folder / META).read_text())
    if meta.get("key") != key:
        raise _Mismatch(f"{key} holds the artifact of {meta.get('key')}")
    files = [folder / name for name in meta["files"]]
    for path in files:
        if path.parent != folder or not path.is_file() \
                or sha256_file(path) != meta["sha256"][path.name]:
            raise _Mismatch(f"{path.name} of {key} does not match its artifact.json")
    return meta, files


class _Mismatch(Exception):
    """Bytes in the store that are not what their key or digest says."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """oras logs and prints progress (and, on login, the registry it logged in to)."""
    import logging  # noqa: PLC0415

    logger = logging.getLogger("oras")
    old = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(old)
