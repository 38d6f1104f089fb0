"""Shared fixtures. Network access other than loopback is blocked for every test."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PIPLWATCH_SHARED", ROOT.parent / "shared"))
TEST_KEY = b"piplwatch-test-hmac-key-0123456789"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else ""
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"tests may only reach loopback, not {host}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def scanner():
    from detectors import Scanner

    return Scanner(hmac_key=TEST_KEY)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"shared data not found at {data} (set PIPLWATCH_SHARED)")
    return data


@pytest.fixture
def faker_zh():
    from faker import Faker

    fk = Faker("zh_CN")
    fk.seed_instance(20261128)
    return fk
