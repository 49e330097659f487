"""Sizes as people write them, one syntax everywhere (pyodist.toml and PYODIST_* variables).

A whole number of bytes, or a number with a unit: ``kB``/``MB``/``GB``/``TB`` are powers of
1000, ``KiB``/``MiB``/``GiB``/``TiB`` and the one-letter ``k``/``m``/``g``/``t`` (as ``ulimit``
and ``docker --memory`` write them) powers of 1024; a trailing ``B`` alone is bytes. Units
are case-insensitive: ``12 MB`` and ``12mb`` are 12,000,000 bytes, ``20g`` and ``20 GiB`` are
21,474,836,480.
"""

from __future__ import annotations

import math
import re

__all__ = ["SIZE_HINT", "parse_size"]

SIZE_HINT = "write a number of bytes, or one with a unit: 500m, 20g, 12 MB, 1.5 GiB"

_SIZE = re.compile(r"\s*(\d{1,15}(?:\.\d{1,6})?)\s*([kmgt]?)(i?)(b?)\s*", re.IGNORECASE | re.ASCII)


def parse_size(text: object) -> int | None:
    """Bytes for ``text`` (a str, or a non-negative int), None when it is not a size."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if text >= 0 else None
    if not isinstance(text, str):
        return None
    match = _SIZE.fullmatch(text)
    if match is None:
        return None
    number, prefix, binary, byte = match.groups()
    if binary and not prefix:
        return None  # "12 iB"
    power = "kmgt".index(prefix.lower()) + 1 if prefix else 0
    # "MB": decimal; "MiB" and the bare "m": binary
    base = 1000 if (byte and not binary) else 1024
    size = float(number) * base ** power
    return int(size) if math.isfinite(size) else None
