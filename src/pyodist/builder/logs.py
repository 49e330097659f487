"""Reading build logs: the lines worth showing when a build fails, and linker findings."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["LOG_TAIL_LINES", "failure_cause", "first_error", "log_tail", "network_reach",
           "port_download", "signature_mismatches"]

LOG_TAIL_LINES = 25
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FIRST_ERROR = re.compile(r"(\berror:|\bError:|\bERROR\b|fatal error|Traceback)")
_MISMATCH = re.compile(r"wasm-ld\S*: (?:warning|error): function signature mismatch: (\S+)")
# what a tool prints when it reaches for a network the build does not have
_NO_NETWORK = re.compile(
    r"Could not resolve host|Temporary failure in name resolution|Name or service not known|"
    r"Network is unreachable|Failed to establish a new connection|No address associated|"
    r"getaddrinfo failed|unable to access 'https?://|urlopen error|"
    r"Could not find a version that satisfies the requirement|"
    r"No matching distribution found|emscripten: (?:retrieving|downloading) port|"
    r"Retrieving port|error: could not fetch|\b(?:wget|curl): command not found", re.IGNORECASE)
# emscripten fetching a port's source (embuilder, -sUSE_ZLIB, --use-port): its project's host
_PORT = re.compile(r"ports:INFO: retrieving port: (\S+) from (https?://[^/\s]+)\S*")
# script lines that need the network: where to point the author
_NETWORK_COMMAND = re.compile(
    r"\b(?:git\s+clone|git\s+fetch|git\s+submodule\s+update|wget|curl|pip3?\s+install|"
    r"python3?\s+-m\s+pip\s+install|npm\s+(?:install|ci)|cargo\s+(?:fetch|install|build)|"
    r"embuilder|--use-port|-sUSE_[A-Z0-9_]+=)", re.IGNORECASE)
_LINK_ERROR = re.compile(r"wasm-ld\S*: error:|undefined symbol:|error: linking|"
                         r"function signature mismatch")


def _log_end(log: Path) -> str:
    """The last 2 MB of a log as text ("" when there is none): where a failure shows."""
    return log.read_bytes()[-2_000_000:].decode("utf-8", "replace") if log.is_file() else ""


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


def network_reach(log: Path, scripts: dict[str, str | None]) -> str | None:
    """When a failed build's log shows a tool reaching for the network: which script line
    (``build/script`` line 3: ``git clone ...``) did it, or the log line that shows it."""
    text = _log_end(log)
    sign = _NO_NETWORK.search(text)
    if sign is None:
        return None
    for key, script in scripts.items():
        for number, line in enumerate((script or "").splitlines(), 1):
            if _NETWORK_COMMAND.search(line) and not line.lstrip().startswith("#"):
                return f"{key} line {number}: {line.strip()[:160]}"
    start = text.rfind("\n", 0, sign.start()) + 1
    end = text.find("\n", sign.end())
    return "the log says: " + _ANSI.sub("", text[start:end if end != -1 else None]).strip()[:200]


def port_download(log: Path) -> tuple[str, str] | None:
    """(port, host) when a failed build's log ends with emscripten downloading a port.

    Emscripten's ports (zlib, libjpeg, freetype ...) are not in the toolchain image: their
    sources come from their projects' hosts at first use, and the build has no network.
    """
    found = list(_PORT.finditer(_log_end(log)))
    return (found[-1].group(1), found[-1].group(2)) if found else None


# the line that names why a build failed, most telling kind first: a compiler's or linker's
# error, CMake's and meson's, a Python exception; pip's own summaries say only that it failed
_ERROR_KINDS = (
    re.compile(r"^\S+:\d+(?::\d+)?: (?:fatal )?error: |^wasm-ld\S*: error: |"
               r"undefined symbol: "),
    re.compile(r"^CMake Error|^meson\.build:\d+:\d+: ERROR: |"
               r"^ERROR: (?!Failed building|build script failed)"),
    re.compile(r"^(?:[A-Za-z_][\w.]*)?(?:Error|Exception): \S"),
    re.compile(r"\berror: (?!subprocess-exited-with-error|metadata-generation-failed|"
               r"failed-wheel-build)", re.IGNORECASE),
)


def first_error(log: Path) -> str | None:
    """The line of a failed build's log that best names the error, or None."""
    lines = [_ANSI.sub("", line).strip() for line in _log_end(log).splitlines()]
    for kind in _ERROR_KINDS:
        found = next((line for line in lines if kind.search(line)), None)
        if found is not None:
            return found[:200]
    return None


def failure_cause(log: Path) -> str:
    """``link`` when a failed build's log shows the linker failing, else ``compile``."""
    text = _log_end(log)
    return "link" if _LINK_ERROR.search(text) else "compile"
