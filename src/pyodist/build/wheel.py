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
import hashlib
import io
import os
import re
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pyodist.errors import BuildError

__all__ = ["DEFAULT_EPOCH", "WheelName", "normalize_wheel", "parse_wheel_name"]

# 1980-01-01, the earliest time a zip entry can hold; used when SOURCE_DATE_EPOCH is unset.
DEFAULT_EPOCH = 315532800
_ZIP_EPOCH_MIN = 315532800

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
    stamp = time.gmtime(max(epoch, _ZIP_EPOCH_MIN))
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


def normalize_wheel(path: Path, *, epoch: int | None = None) -> Path:
    """Rewrite the wheel at ``path`` in place (atomically) in the reproducible form."""
    if epoch is None:
        epoch = int(os.environ.get("SOURCE_DATE_EPOCH", DEFAULT_EPOCH))
    try:
        with zipfile.ZipFile(path) as src:
            entries = {
                info.filename: (src.read(info), (info.external_attr >> 16) & 0o777)
                for info in src.infolist() if not info.is_dir()
            }
    except (zipfile.BadZipFile, OSError) as exc:
        raise BuildError(f"{path.name} is not a readable wheel: {exc}",
                         hint="look at the build log: the backend wrote a broken file") from None
    records = [n for n in entries if n.endswith(".dist-info/RECORD")]
    if len(records) != 1:
        raise BuildError(f"{path.name} has {len(records)} RECORD files, expected one",
                         hint="the build backend produced an invalid wheel")
    record_name = records[0]
    del entries[record_name]
    date_time = _zip_time(epoch)
    rows = []
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for name in _order(entries):
            data, mode = entries[name]
            info = zipfile.ZipInfo(name, date_time)
            info.external_attr = (0o100755 if mode & 0o111 else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode above is honoured
            out.writestr(info, data, compresslevel=9)
            rows.append((name, _record_hash(data), str(len(data))))
        rows.append((record_name, "", ""))
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows(rows)
        info = zipfile.ZipInfo(record_name, date_time)
        info.external_attr = 0o100644 << 16
        info.create_system = 3
        out.writestr(info, text.getvalue().encode(), compress_type=zipfile.ZIP_DEFLATED,
                     compresslevel=9)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)
    return path
