"""Get the toolchain image onto a machine without bootstrapping it, when that can be done.

A fresh runner tries, in order (:func:`ensure_image`):

1. an image here whose input-hash label is the checkout's (:func:`input_hash`, the same sum
   ``docker/bootstrap.sh`` computes over its own text and the three lock files);
2. the artifact store's ``toolchain-<input hash>``: a gzip of ``docker save``, checked by
   its layer digest, loaded, and accepted only with the image id and input hash the store
   recorded beside it;
3. a ``docker save`` file given with ``--load`` (``pyodist toolchain save`` writes one);
4. the bootstrap with the pins of ``docker/packages.lock``;
5. when pins have vanished from the mirror (Debian sid moves on within days): an image
   another runner re-resolved from the same lock (``toolchain-<input hash>-reresolved`` in
   the store), else a bootstrap that resolves again, which rewrites ``docker/packages.lock``,
   with a loud warning: the image id, and with it every artifact key, changes.

An image that was bootstrapped is pushed to a writable store under its input hash.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyodist.errors import StoreError, ToolchainError
from pyodist.toolchain.image import LABEL_PREFIX, build_image, inspect_image

if TYPE_CHECKING:
    from pyodist.store.oci import RemoteStore

__all__ = ["EnsuredImage", "copy_definition", "ensure_image", "input_hash", "load_image",
           "push_image", "save_image"]

SUITE = "sid"
VANISHED = "are no longer on"  # bootstrap.sh's words when pins left the mirror
_ID_KEY = "org.pyodist.image-id"
_HASH_KEY = "org.pyodist.input-hash"

Say = Callable[[str], None]


def input_hash(docker_dir: Path, pyodide_version: str) -> str | None:
    """bootstrap.sh's input hash of ``docker_dir`` (None without a packages.lock)."""
    lock = docker_dir / "packages.lock"
    if not lock.is_file():
        return None

    def digest(name: str) -> str:
        return hashlib.sha256((docker_dir / name).read_bytes()).hexdigest()

    archive = ""
    xb_lock = docker_dir / "xbuildenv.lock"
    if xb_lock.is_file():
        for line in xb_lock.read_text().splitlines():
            if line.startswith("archive_sha256="):
                archive = line.split("=", 1)[1].strip()
    text = (f"suite={SUITE} pyodide={pyodide_version}\n"
            + "".join(f"{digest(n)}  -\n" for n in ("bootstrap.sh", "packages.lock",
                                                   "wheelhouse.lock", "emcc-fast"))
            + f"{archive}\n")
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class EnsuredImage:
    image: str
    image_id: str
    # "local", "store", "file", "bootstrap", "re-resolved" (from the store or bootstrapped)
    source: str
    pushed: bool = False


def _by_label(client: Any, digest: str) -> Any | None:
    found = client.images.list(filters={"label": f"{_HASH_KEY}={digest}"})
    return found[0] if found else None


def save_image(client: Any, image: str, out: Path) -> Path:
    """``docker save`` of ``image``, gzipped, written atomically to ``out``."""
    try:
        found = client.images.get(image)
    except Exception as exc:  # noqa: BLE001 - docker-py raises several kinds here
        raise ToolchainError(f"toolchain image {image!r} is not present ({exc})",
                             hint="build it with 'pyodist toolchain build'") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1,
                                                  mtime=0) as gz:
            for chunk in found.save(named=True):
                gz.write(chunk)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def load_image(client: Any, file: Path, *, tag: str, want_hash: str | None,
               want_id: str | None = None) -> str:
    """Load a ``docker save`` file (gzipped or not), check it, tag it; its image id."""
    try:
        with file.open("rb") as data:
            loaded = client.images.load(data)
    except OSError as exc:
        raise ToolchainError(f"cannot read {file}: {exc.strerror}",
                             hint="give the file 'pyodist toolchain save' wrote") from None
    except Exception as exc:  # noqa: BLE001 - the engine's own refusal
        raise ToolchainError(f"docker could not load {file}: {exc}",
                             hint="give the file 'pyodist toolchain save' wrote") from None
    if len(loaded) != 1:
        raise ToolchainError(f"{file} holds {len(loaded)} images, not one",
                             hint="give the file 'pyodist toolchain save' wrote")
    image = loaded[0]
    labels = image.labels or {}
    got = labels.get(_HASH_KEY)
    if want_hash is not None and got != want_hash:
        raise ToolchainError(
            f"{file} holds a toolchain of other inputs (input hash {got}, this checkout's "
            f"docker/ gives {want_hash})",
            hint="save the image of this checkout, or check out the commit it was built from")
    if want_id is not None and image.id != want_id:
        raise ToolchainError(f"the image loaded from {file} is {image.id}, not {want_id}",
                             hint="the file was damaged or replaced; remove it")
    repo, _, version = tag.rpartition(":")
    image.tag(repo or tag, version if repo else "latest")
    return str(image.id)


def _pull(store: RemoteStore, client: Any, tag: str, *, image: str, workdir: Path,
          expect_hash: str | None) -> str | None:
    """The image under ``tag`` in the store, loaded, checked against the image id and input
    hash recorded with it (and ``expect_hash``), tagged ``image``; None: not there."""
    annotations = store.annotations(tag)
    if annotations is None:
        return None
    recorded = annotations.get(_HASH_KEY)
    if expect_hash is not None and recorded != expect_hash:
        raise StoreError(f"the store's {tag} records input hash {recorded}, not {expect_hash}",
                         hint="remove that tag from the store; it was not pushed by pyodist")
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pyodist-image-", dir=workdir) as tmp:
        file = store.pull_file(tag, Path(tmp))
        if file is None:
            return None
        return load_image(client, file, tag=image, want_hash=recorded,
                          want_id=annotations.get(_ID_KEY))


def push_image(store: RemoteStore, client: Any, image: str, tags: list[str],
               workdir: Path) -> None:
    """``image`` into the store under each of ``tags`` (a gzip of ``docker save``)."""
    found = inspect_image(client, image)
    if found is None:
        raise ToolchainError(f"toolchain image {image!r} is not present",
                             hint="build it with 'pyodist toolchain build'")
    with tempfile.TemporaryDirectory(prefix="pyodist-image-", dir=workdir) as tmp:
        file = save_image(client, image, Path(tmp) / "toolchain.tar.gz")
        for tag in tags:
            store.push_file(tag, file, annotations={
                _ID_KEY: found.image_id,
                _HASH_KEY: found.labels.get(LABEL_PREFIX + "input-hash", "")})


def ensure_image(
    client: Any, *, image: str, docker_dir: Path, workdir: Path, pyodide_version: str,
    store: RemoteStore | None = None, load: Path | None = None, force: bool = False,
    log: Path, on_line: Say | None = None, warn: Say, local: bool = True,
    lock_out: Path | None = None,
) -> EnsuredImage:
    """The toolchain image for this checkout, by the first way that works (module text);
    ``local=False`` skips the images already here. A re-resolved lock is written to
    ``lock_out`` (default: ``docker_dir``'s packages.lock)."""
    wanted = input_hash(docker_dir, pyodide_version)
    if not force and wanted is not None:
        found = _by_label(client, wanted) if local else None
        if found is not None:
            repo, _, version = image.rpartition(":")
            found.tag(repo or image, version if repo else "latest")
            return EnsuredImage(image, str(found.id), "local")
        if store is not None:
            got = _store_pull(store, client, f"toolchain-{wanted}", image=image,
                              workdir=workdir, expect_hash=wanted, warn=warn)
            if got is not None:
                return EnsuredImage(image, got, "store")
    if load is not None:
        return EnsuredImage(image, load_image(client, load, tag=image, want_hash=wanted),
                            "file")
    source = "bootstrap"
    try:
        build_image(image=image, docker_dir=docker_dir, workdir=workdir,
                    pyodide_version=pyodide_version, force=force, log=log, on_line=on_line)
    except ToolchainError as exc:
        if VANISHED not in str(exc) or wanted is None:
            raise
        source = "re-resolved"
        got = _store_pull(store, client, f"toolchain-{wanted}-reresolved", image=image,
                          workdir=workdir, expect_hash=None,
                          warn=warn) if store is not None else None
        if got is not None:
            warn("pinned Debian packages of docker/packages.lock are gone from the mirror; "
                 "using the image another runner re-resolved from the same lock (its image "
                 "id differs from the pinned one's, so every artifact key changes)")
            return EnsuredImage(image, got, source)
        out = lock_out or docker_dir / "packages.lock"
        warn("PINNED DEBIAN PACKAGES OF docker/packages.lock ARE GONE FROM THE MIRROR: "
             "re-resolving the toolchain from today's mirror. The image id changes, and with "
             f"it every artifact key (everything rebuilds); the new lock is written to {out} "
             "- commit it to pin the new set")
        _re_resolve(image=image, docker_dir=docker_dir, workdir=workdir,
                    pyodide_version=pyodide_version, log=log, on_line=on_line, lock_out=out)
    info = inspect_image(client, image)
    if info is None:  # pragma: no cover - bootstrap.sh tags what it builds
        raise ToolchainError(f"the bootstrap did not leave {image!r}",
                             hint=f"see {log}")
    pushed = False
    if store is not None and not store.spec.readonly:
        tags = [f"toolchain-{info.input_hash}"]
        if source == "re-resolved" and wanted is not None:
            tags.append(f"toolchain-{wanted}-reresolved")
        tags = [t for t in tags if store.annotations(t) is None]
        if tags:
            try:
                push_image(store, client, image, tags, workdir)
                pushed = True
            except StoreError as exc:
                if not store.spec.optional:
                    raise
                warn(f"{exc}; the image was not pushed")
    return EnsuredImage(image, info.image_id, source, pushed)


def _store_pull(store: RemoteStore, client: Any, tag: str, *, image: str, workdir: Path,
                expect_hash: str | None, warn: Say) -> str | None:
    try:
        return _pull(store, client, tag, image=image, workdir=workdir,
                     expect_hash=expect_hash)
    except StoreError as exc:
        if not store.spec.optional:
            raise
        warn(f"{exc}; bootstrapping the toolchain instead")
        return None


def _re_resolve(*, image: str, docker_dir: Path, workdir: Path, pyodide_version: str,
                log: Path, on_line: Say | None, lock_out: Path) -> None:
    """Bootstrap from a copy of ``docker_dir`` without its packages.lock; the lock written
    replaces ``lock_out``."""
    with tempfile.TemporaryDirectory(prefix="pyodist-reresolve-") as tmp:
        copy = Path(tmp) / "docker"
        shutil.copytree(docker_dir, copy)
        (copy / "packages.lock").unlink()
        build_image(image=image, docker_dir=copy, workdir=workdir,
                    pyodide_version=pyodide_version, force=True, log=log, on_line=on_line)
        lock_out.parent.mkdir(parents=True, exist_ok=True)
        new = lock_out.with_name(f".packages.lock.{os.getpid()}.tmp")
        shutil.copyfile(copy / "packages.lock", new)
        os.replace(new, lock_out)


def copy_definition(source: Path, out: Path) -> Path:
    """Copy the image's definition (``source``: bootstrap script, locks, Dockerfile) into the
    new or empty folder ``out`` (``toolchain files``): through a temp folder beside it and
    one rename, without caches or a work folder."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("__pycache__", "work"))
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
