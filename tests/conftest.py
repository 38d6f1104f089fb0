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


@pytest.fixture
def judge_env(tmp_path, scanner):
    """A Judge over a fresh RocksDB store, with helpers to add agreements/consents and judge transfers."""
    import datetime as dt

    import orjson

    from stream.judge import Judge
    from stream.state.materialize import apply_record
    from stream.state.store import StateStore

    state = StateStore(tmp_path / "state")
    judge = Judge(scanner, state)
    now = dt.datetime.now(dt.UTC)

    class Env:
        pass

    env = Env()
    env.judge, env.state, env.scanner, env.now = judge, state, scanner, now
    iso = lambda d: (now + dt.timedelta(days=d)).isoformat()  # noqa: E731

    def agreement(
        rid="r1", role="independent_handler", cats=("basic_profile", "contact"), purposes=("marketing",), **kw
    ):
        rec = {
            "schema": "piplwatch.agreement/v1",
            "recipient_id": rid,
            "role": role,
            "allowed_categories": list(cats),
            "allowed_purposes": list(purposes),
            "valid_from": iso(-100),
            "valid_to": iso(100),
            "terminated_at": None,
            "country": "CN",
            "cross_border_mechanism": "none",
            "max_subjects_per_day": None,
        }
        rec.update(kw)
        apply_record("agreements", orjson.dumps(rec), state, scanner)

    def consent(subject, rid="r1", kind="separate", purposes=("marketing",), cats=("basic_profile", "contact"), **kw):
        rec = {
            "schema": "piplwatch.consent/v1",
            "subject": subject,
            "recipient_id": rid,
            "purposes": list(purposes),
            "categories": list(cats),
            "kind": kind,
            "granted_at": iso(-10),
            "expires_at": None,
            "withdrawn_at": None,
        }
        rec.update(kw)
        apply_record("consents", orjson.dumps(rec), state, scanner)

    def transfer(payload, rid="r1", country="CN", purpose="marketing", **kw):
        rec = {
            "schema": "piplwatch.transfer/v1",
            "transfer_id": kw.pop("transfer_id", "t1"),
            "occurred_at": iso(0),
            "platform": "p",
            "source_system": "s",
            "flow": "push",
            "channel": "api",
            "recipient": {"id": rid, "name": rid, "country": country},
            "purpose": purpose,
            "payload": payload,
            "record_count": len(payload) if isinstance(payload, list) else 1,
        }
        rec.update(kw)
        return judge.judge(orjson.dumps(rec))

    env.agreement, env.consent, env.transfer, env.iso = agreement, consent, transfer, iso
    yield env
    state.close()


@pytest.fixture(scope="module")
def broker():
    """A real embedded broker (Tansu) on a free loopback port, one per test module."""
    from stream.dev.broker import EmbeddedBroker, free_port

    b = EmbeddedBroker(free_port()).start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    p = tmp_path_factory.mktemp("key") / "hmac.key"
    p.write_text("e2e-test-hmac-key-0123456789abcdef")
    p.chmod(0o600)
    return p
