"""Reading build logs: the lines worth showing when a build fails, and linker findings."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["LOG_TAIL_LINES", "log_tail", "signature_mismatches"]

LOG_TAIL_LINES = 25
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FIRST_ERROR = re.compile(r"(\berror:|\bError:|\bERROR\b|fatal error|Traceback)")
_MISMATCH = re.compile(r"wasm-ld\S*: (?:warning|error): function signature mismatch: (\S+)")


def log_tail(path: Path | None, lines: int = LOG_TAIL_LINES) -> str:
    """The end of a log, preceded by its first error when that lies further up.

    Build logs end with the tool's traceback, while the cause (a compiler message, a missing
    module) is often printed much earlier.
    """
    if path is None or not path.is_file():
        return ""
    text = path.read_bytes()[-400_000:].decode("utf-8", "replace")
    all_lines = [_ANSI.sub("", line).rstrip() for line in text.rstrip().splitlines()]
    tail = all_lines[-lines:]
    start = len(all_lines) - len(tail)
    first = next((i for i, line in enumerate(all_lines) if _FIRST_ERROR.search(line)), None)
    if first is None or first >= start - 2:
        return "\n".join(tail)
    head = all_lines[max(0, first - 2): first + 8]
    return "\n".join([*head, "...", *all_lines[-(lines - len(head)):]])


def signature_mismatches(log: Path) -> list[str]:
    """Symbols wasm-ld reported as called with another signature than defined, in order."""
    found: dict[str, None] = {}
    with log.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if "signature mismatch" in line and (match := _MISMATCH.search(line)):
                found.setdefault(match.group(1), None)
    return list(found)
