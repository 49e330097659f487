"""Addresses as pyodist shows and records them: never with the credentials they carry.

An index or mirror URL may hold ``user:password@`` (pip accepts that); it is used as given
to fetch, but every message, report, manifest and cache record gets it with the
credentials replaced.
"""

from __future__ import annotations

import re

__all__ = ["redact_url"]

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@]+)@")


def redact_url(text: str) -> str:
    """``https://me:secret@host/simple`` -> ``https://***@host/simple`` (anywhere in text)."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", text)
