"""Reproducible wheels: the same contents always give the same bytes.

A wheel written by a build backend carries the build's clock in every zip entry, its
members in file-system order, and whatever permissions the container had. ``normalize_wheel``
rewrites it with sorted members (``*.dist-info`` last, ``RECORD`` at the very end, as the
wheel spec recommends), one fixed timestamp (``SOURCE_DATE_EPOCH``), modes reduced to 0644 or
0755, a fixed compression level, and a ``RECORD`` recomputed from the bytes actually stored.
"""

from __future__ import annotations

import base64
import csv
import fnmatch
import hashlib
import io
import re
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pyodist.errors import BuildError
from pyodist.fsutil import write_atomic
from pyodist.reproducible import ZIP_EPOCH

__all__ = [
    "DEFAULT_EPOCH",
    "WheelName",
    "is_test_file",
    "member_inside",
    "normalize_wheel",
    "normalize_zip",
    "parse_wheel_name",
    "scrub_random_paths",
    "unvendor_tests",
]

# what a caller that names no epoch gets (builds pass the run's SOURCE_DATE_EPOCH from its
# options)
DEFAULT_EPOCH = ZIP_EPOCH

_CANONICAL_RE = re.compile(r"[-_.]+")
_WHEEL_RE = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(?:-(?P<build>\d[^-]*))?-(?P<py>[^-]+)-(?P<abi>[^-]+)"
    r"-(?P<plat>[^-]+)\.whl$"
)


@dataclass(frozen=True)
class WheelName:
    name: str
    version: str
    build: str | None
    python: str
    abi: str
    platform: str

    @property
    def is_pure(self) -> bool:
        return self.abi == "none" and self.platform == "any"

    @property
    def filename(self) -> str:
        build = f"-{self.build}" if self.build else ""
        return f"{self.name}-{self.version}{build}-{self.python}-{self.abi}-{self.platform}.whl"


def parse_wheel_name(filename: str) -> WheelName:
    match = _WHEEL_RE.match(filename)
    if not match:
        raise BuildError(f"{filename!r} is not a wheel file name",
                         hint="expected NAME-VERSION[-BUILD]-PY-ABI-PLATFORM.whl")
    g = match.groupdict()
    return WheelName(g["name"], g["version"], g["build"], g["py"], g["abi"], g["plat"])


def _zip_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    stamp = time.gmtime(max(epoch, ZIP_EPOCH))
    return (stamp.tm_year, stamp.tm_mon, stamp.tm_mday, stamp.tm_hour, stamp.tm_min,
            stamp.tm_sec)


def _order(names: Iterable[str]) -> list[str]:
    """Package files first, then ``.dist-info`` files, ``RECORD`` last."""

    def key(name: str) -> tuple[int, str]:
        top = name.split("/", 1)[0]
        if top.endswith(".dist-info"):
            return (2 if name.endswith("/RECORD") else 1, name)
        return (0, name)

    return sorted(names, key=key)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


# Build environments live in randomly named folders (pypa/build's ``/tmp/build-env-XXXX``);
# some backends write that path into generated files (numpy's ``__config__.py``).
_RANDOM_PATHS = re.compile(rb"/tmp/build-env-[A-Za-z0-9_]+")
_TEXT_SUFFIXES = (".py", ".pc", ".cfg", ".txt", ".json", ".cmake", ".ini", ".toml")


def scrub_random_paths(name: str, data: bytes) -> bytes:
    """Replace random build-environment paths in generated text files with a fixed one."""
    if not name.endswith(_TEXT_SUFFIXES):
        return data
    return _RANDOM_PATHS.sub(b"/tmp/build-env", data)


def member_inside(name: str) -> bool:
    """A zip member name that stays where it is unpacked: relative, no '..', no backslash
    or NUL, no drive letter. Anything else, made inside the sandbox, must not decide a path
    on the host (cross-build files, unvendored tests, the bundle)."""
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and "\\" not in name and "\0" not in name \
        and ".." not in parts and not (len(parts[0]) == 2 and parts[0][1] == ":")


def _read_zip(path: Path, what: str) -> dict[str, tuple[bytes, int]]:
    try:
        with zipfile.ZipFile(path) as src:
            infos = [info for info in src.infolist() if not info.is_dir()]
            bad = [info.filename for info in infos if not member_inside(info.filename)]
            if bad:
                raise BuildError(
                    f"{path.name} has members whose names leave the archive: "
                    f"{', '.join(repr(b) for b in bad[:5])}",
                    hint="the build wrote a broken or hostile archive; look at the build log")
            return {info.filename: (src.read(info), (info.external_attr >> 16) & 0o777)
                    for info in infos}
    except (zipfile.BadZipFile, OSError) as exc:
        raise BuildError(f"{path.name} is not a readable {what}: {exc}",
                         hint="look at the build log: the build wrote a broken file") from None


def _zip_info(name: str, date_time: tuple[int, int, int, int, int, int],
              mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time)
    info.external_attr = (0o100755 if mode & 0o111 else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # unix, so the mode above is honoured
    return info


def _epoch(epoch: int | None) -> int:
    return DEFAULT_EPOCH if epoch is None else epoch


def normalize_zip(path: Path, *, epoch: int | None = None, store: bool = False,
                  sources_first: bool = False) -> Path:
    """Rewrite a plain zip (a ``-tests`` archive, a shared-library bundle) reproducibly.

    ``store`` writes the members uncompressed: better when the whole file is served
    brotli- or gzip-compressed, and faster to import from (the stdlib zip).
    ``sources_first`` puts every ``.py`` before every ``.pyc`` (alike bytes next to each
    other compress better as a whole: 9 KB less brotli for a mixed stdlib zip).
    """
    return _write_zip(path, _read_zip(path, "zip archive"), _epoch(epoch), store=store,
                      sources_first=sources_first)


def _write_zip(path: Path, entries: dict[str, tuple[bytes, int]], epoch: int, *,
               store: bool = False, sources_first: bool = False) -> Path:
    date_time = _zip_time(epoch)
    method = zipfile.ZIP_STORED if store else zipfile.ZIP_DEFLATED
    buf = io.BytesIO()
    order = sorted(entries, key=lambda n: (n.endswith(".pyc"), n)) if sources_first \
        else sorted(entries)
    with zipfile.ZipFile(buf, "w", compression=method) as out:
        for name in order:
            data, mode = entries[name]
            info = _zip_info(name, date_time, mode)
            info.compress_type = method
            if store:
                out.writestr(info, data)
            else:
                out.writestr(info, data, compresslevel=9)
    write_atomic(path, buf.getvalue())
    return path


def is_test_file(name: str, retain: Iterable[str] = ()) -> bool:
    """Whether a wheel member belongs in the separate tests archive (Pyodide's rule).

    Files under a ``test``/``tests`` folder and files named ``test_*.py``, ``*_test.py`` or
    ``conftest.py`` are tests, unless their path matches one of the ``retain`` patterns
    (``build/_retain-test-patterns``).
    """
    parts = name.split("/")
    if any(p.endswith((".egg-info", ".dist-info", ".data"))
           for p in parts[:-1]):
        return False
    base = parts[-1]
    in_test_dir = any(p in ("test", "tests") for p in parts[:-1])
    named_test = (fnmatch.fnmatchcase(base, "test_*.py") or fnmatch.fnmatchcase(base, "*_test.py")
                  or base == "conftest.py")
    if not (in_test_dir or named_test):
        return False
    return not any(fnmatch.fnmatch(name, pattern) for pattern in retain)


def unvendor_tests(wheel: Path, *, retain: Iterable[str] = (),
                   epoch: int | None = None) -> Path | None:
    """Move the wheel's test files into ``<name>-tests.zip`` beside it.

    Returns the archive, or None when the wheel has no tests (then it is left as it was).
    The wheel is rewritten in the reproducible form without them.
    """
    retain = tuple(retain)
    entries = _read_zip(wheel, "wheel")
    tests = {n: e for n, e in entries.items() if is_test_file(n, retain)}
    if not tests:
        return None
    name = _CANONICAL_RE.sub("-", parse_wheel_name(wheel.name).name).lower()
    archive = _write_zip(wheel.with_name(f"{name}-tests.zip"), tests, _epoch(epoch))
    normalize_wheel(wheel, epoch=epoch, exclude=tests.__contains__)
    return archive


def normalize_wheel(path: Path, *, epoch: int | None = None,
                    rewrite: Callable[[str, bytes], bytes] | None = None,
                    exclude: Callable[[str], bool] | None = None,
                    store: bool = False) -> Path:
    """Rewrite the wheel at ``path`` in place (atomically) in the reproducible form.

    ``rewrite(name, data)`` may change a member's bytes first (see
    :func:`scrub_random_paths`) and members for which ``exclude(name)`` is true are left
    out; ``RECORD`` is recomputed from what is stored. ``store`` leaves the members
    uncompressed (a bundle served as .br/.gz then compresses the wheel as a whole).
    """
    epoch = _epoch(epoch)
    entries = _read_zip(path, "wheel")
    if exclude is not None:
        entries = {n: e for n, e in entries.items() if not exclude(n)}
    if rewrite is not None:
        entries = {n: (rewrite(n, d), m) for n, (d, m) in entries.items()}
    records = [n for n in entries if n.endswith(".dist-info/RECORD")]
    if len(records) != 1:
        raise BuildError(f"{path.name} has {len(records)} RECORD files, expected one",
                         hint="the build backend produced an invalid wheel")
    record_name = records[0]
    del entries[record_name]
    date_time = _zip_time(epoch)
    rows = []
    buf = io.BytesIO()
    method = zipfile.ZIP_STORED if store else zipfile.ZIP_DEFLATED

    def write(info: zipfile.ZipInfo, data: bytes) -> None:
        info.compress_type = method
        if store:
            out.writestr(info, data)
        else:
            out.writestr(info, data, compresslevel=9)

    with zipfile.ZipFile(buf, "w", compression=method) as out:
        for name in _order(entries):
            data, mode = entries[name]
            write(_zip_info(name, date_time, mode), data)
            rows.append((name, _record_hash(data), str(len(data))))
        rows.append((record_name, "", ""))
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        write(_zip_info(record_name, date_time, 0o644), text.getvalue().encode())
    write_atomic(path, buf.getvalue())
    return path
