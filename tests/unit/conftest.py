"""Unit tests are pure: touching the network or starting a process fails loudly."""

from __future__ import annotations

import socket
import subprocess

import pytest


class ForbiddenInUnitTest(AssertionError):
    pass


def _forbid(what: str):  # type: ignore[no-untyped-def]
    def raiser(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise ForbiddenInUnitTest(f"unit tests must not use {what}; move this to tests/integration")

    return raiser


@pytest.fixture(autouse=True)
def _no_network_or_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _forbid("the network"))
    monkeypatch.setattr(socket, "create_connection", _forbid("the network"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _forbid("subprocesses"))
