#!/usr/bin/env python3
"""Resolve package-registry locations from the host's own configuration.

No registry host name is written in this file: every URL comes from
the host's apt sources, pip's configuration (or pip's built-in default)
and npm's configuration.

Usage: hostcfg.py debian-mirror | pip-index | npm-registry
Python 3.11 standard library only.
"""
from __future__ import annotations

import glob
import os
import re
import subprocess
import sys


def debian_mirror() -> str:
    """First non-security 'deb' URI from /etc/apt/sources.list{,.d}."""
    if os.environ.get("PYODIST_DEBIAN_MIRROR"):
        return os.environ["PYODIST_DEBIAN_MIRROR"].rstrip("/")
    candidates: list[tuple[str, str]] = []  # (uri, suites)
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path, encoding="utf-8") as f:
            text = f.read()
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
            for uri in fields.get("uris", "").split():
                candidates.append((uri, fields.get("suites", "")))
    list_files = ["/etc/apt/sources.list"] + sorted(
        glob.glob("/etc/apt/sources.list.d/*.list")
    )
    for path in list_files:
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = re.sub(r"\[[^\]]*\]", "", line.split("#", 1)[0]).split()
                if len(line) >= 3 and line[0] == "deb":
                    candidates.append((line[1], line[2]))
    for uri, suites in candidates:
        if "security" in suites or "security" in uri:
            continue
        if uri.startswith(("http://", "https://", "file:/")):
            return uri.rstrip("/")
    raise SystemExit("hostcfg: no usable Debian mirror in the host's apt sources")


def pip_index() -> str:
    """pip's index URL: env, then pip config, then pip's built-in default."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    for key in ("global.index-url", "download.index-url", "install.index-url"):
        r = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", key],
            capture_output=True, text=True, check=False,
        )
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip()
    r = subprocess.run(
        [sys.executable, "-c",
         "from pip._internal.models.index import PyPI; print(PyPI.simple_url)"],
        capture_output=True, text=True, check=True,
    )
    return r.stdout.strip()


def npm_registry() -> str:
    r = subprocess.run(["npm", "config", "get", "registry"],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip()


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    fn = {"debian-mirror": debian_mirror, "pip-index": pip_index,
          "npm-registry": npm_registry}.get(what)
    if fn is None:
        raise SystemExit(__doc__)
    print(fn())


if __name__ == "__main__":
    main()
