"""Restarting a worker resumes its consent/agreement state from stored source positions, and rebuilds it from the
beginning whenever the topics no longer hold what the store applied (real embedded broker, real RocksDB store)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry

from detectors import Scanner
from stream.dev.broker import EmbeddedBroker, free_port
from stream.metrics import PiplwatchMetrics
from stream.settings import Settings, Topics
from stream.state import materialize
from stream.state.materialize import Materializer
from stream.state.store import StateStore
from stream.topics import ensure_topics
from tests.stream.harness import producer

pytestmark = [pytest.mark.broker, pytest.mark.slow]
_names = itertools.count()
NOW = dt.datetime.now(dt.UTC)


def _topics(bootstrap: str) -> dict[str, str]:
    """Fresh consent and agreement topics (2 partitions) on this broker, so tests do not share offsets."""
    n = next(_names)
    t = Topics(
        transfers=f"r{n}.transfers",
        agreements=f"r{n}.agreements",
        consents=f"r{n}.consents",
        verdicts=f"r{n}.verdicts",
        alerts=f"r{n}.alerts",
        dlq=f"r{n}.dlq",
        counters=f"r{n}.counters",
    )
    ensure_topics(Settings(broker=f"kafka://{bootstrap}", partitions=2, topics=t))
    return {"consents": t.consents, "agreements": t.agreements, "counters": t.counters}


@contextlib.contextmanager
def _restarted_broker(topics: dict[str, str]) -> Iterator[EmbeddedBroker]:
    """Another embedded broker with the same topics, empty: what a restarted in-memory broker looks like."""
    with EmbeddedBroker(free_port()) as other:
        ensure_topics(Settings(broker=other.url, partitions=2, topics=Topics(**topics)))
        yield other


def _consent(user: str, rid: str = "r1", withdrawn: bool = False) -> bytes:
    return orjson.dumps(
        {
            "schema": "piplwatch.consent/v1",
            "subject": {"user_id": user},
            "recipient_id": rid,
            "purposes": ["marketing"],
            "categories": ["contact"],
            "kind": "separate",
            "granted_at": (NOW - dt.timedelta(days=10)).isoformat(),
            "expires_at": None,
            "withdrawn_at": (NOW - dt.timedelta(days=1)).isoformat() if withdrawn else None,
        }
    )


def _agreement(rid: str) -> bytes:
    return orjson.dumps(
        {
            "schema": "piplwatch.agreement/v1",
            "recipient_id": rid,
            "role": "independent_handler",
            "allowed_categories": ["contact"],
            "allowed_purposes": ["marketing"],
            "valid_from": (NOW - dt.timedelta(days=100)).isoformat(),
            "valid_to": None,
            "terminated_at": None,
            "country": "CN",
            "cross_border_mechanism": "none",
            "max_subjects_per_day": None,
        }
    )


def _produce(
    bootstrap: str, topics: dict[str, str], users: range, *, withdrawn: bool = False, agreements: tuple[str, ...] = ()
) -> None:
    prod = producer(bootstrap)
    for rid in agreements:
        prod.send(topics["agreements"], key=rid.encode(), value=_agreement(rid))
    for i in users:
        prod.send(topics["consents"], key=f"u{i}".encode(), value=_consent(f"u{i}", withdrawn=withdrawn))
    prod.flush()
    prod.close()


def _load(bootstrap: str, topics: dict[str, str], state_dir: Path, scanner: Scanner, **kw):
    """Start a materializer on the store in ``state_dir``, wait until it is ready, stop it; return it, the reopened
    store and its metrics."""
    metrics = PiplwatchMetrics.create(CollectorRegistry())
    state = StateStore(state_dir)

    async def run() -> Materializer:
        m = Materializer(bootstrap, topics, state, scanner, metrics=metrics, **kw)
        await m.start()
        try:
            await asyncio.wait_for(m.ready.wait(), 60)
        finally:
            await m.stop()
        return m

    return asyncio.run(run()), state, metrics


def _consent_of(state: StateStore, scanner: Scanner, user: str, rid: str = "r1"):
    return state.consent(scanner.hmac_of("user_id", user), rid)


def test_restart_resumes_from_stored_positions_and_reads_only_new_records(broker, scanner, tmp_path) -> None:
    topics = _topics(broker.bootstrap)
    _produce(broker.bootstrap, topics, range(300), agreements=("r1", "r2"))
    first, state, metrics = _load(broker.bootstrap, topics, tmp_path, scanner)
    assert (first.rebuild_reason, first.applied) == ("empty_store", 302)
    assert (state.consent_count, state.agreement_count) == (300, 2)
    state.close()
    # while the worker is down: 50 new subjects, and 10 earlier ones withdraw (same subject and recipient: replaced)
    _produce(broker.bootstrap, topics, range(300, 350))
    _produce(broker.bootstrap, topics, range(10), withdrawn=True)
    second, state, metrics = _load(broker.bootstrap, topics, tmp_path, scanner)
    assert second.rebuild_reason is None
    assert second.applied == 60, "a resumed store reads only what arrived after it stopped"
    assert (state.consent_count, state.agreement_count) == (350, 2)
    assert _consent_of(state, scanner, "u3")["w"] is not None
    assert _consent_of(state, scanner, "u20")["w"] is None
    assert _consent_of(state, scanner, "u349") is not None
    assert state.agreement("r2") is not None
    assert metrics.state_loads.labels("resume")._value.get() == 1
    state.close()


def test_rebuild_requested_reads_both_topics_again(broker, scanner, tmp_path) -> None:
    topics = _topics(broker.bootstrap)
    _produce(broker.bootstrap, topics, range(120), agreements=("r1",))
    _load(broker.bootstrap, topics, tmp_path, scanner)[1].close()
    again, state, metrics = _load(broker.bootstrap, topics, tmp_path, scanner, rebuild=True)
    assert (again.rebuild_reason, again.applied) == ("requested", 121)
    assert (state.consent_count, state.agreement_count) == (120, 1)
    assert metrics.state_loads.labels("requested")._value.get() == 1
    state.close()


def test_restart_against_a_broker_that_lost_its_topics_drops_consents_it_no_longer_holds(
    broker, scanner, tmp_path
) -> None:
    """The embedded broker keeps topics in memory: restarted, it may hold other records at the same offsets (or more
    of them). The store must not keep consents its source no longer has: they would authorize transfers."""
    topics = _topics(broker.bootstrap)
    _produce(broker.bootstrap, topics, range(100), agreements=("r1",))
    _load(broker.bootstrap, topics, tmp_path, scanner)[1].close()
    with _restarted_broker(topics) as other:
        # same topic names; more records than before, so every stored offset exists there, holding other records
        _produce(other.bootstrap, topics, range(1000, 1300), agreements=("r9",))
        after, state, metrics = _load(other.bootstrap, topics, tmp_path, scanner)
    assert after.rebuild_reason == "source_changed"
    assert (state.consent_count, state.agreement_count) == (300, 1)
    assert _consent_of(state, scanner, "u5") is None
    assert state.agreement("r1") is None and state.agreement("r9") is not None
    assert metrics.state_loads.labels("source_changed")._value.get() == 1
    state.close()


def test_restart_against_empty_topics_rebuilds_after_a_bounded_wait(broker, scanner, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(materialize, "VERIFY_TIMEOUT_S", 1.0)
    topics = _topics(broker.bootstrap)
    _produce(broker.bootstrap, topics, range(40), agreements=("r1",))
    _load(broker.bootstrap, topics, tmp_path, scanner)[1].close()
    with _restarted_broker(topics) as other:
        after, state, _ = _load(other.bootstrap, topics, tmp_path, scanner)
    assert after.rebuild_reason == "source_changed"
    assert (state.consent_count, state.agreement_count) == (0, 0)
    assert _consent_of(state, scanner, "u1") is None
    state.close()


def test_counter_updates_of_other_workers_are_unions_own_ones_skipped_bad_ones_rejected(
    broker, scanner, tmp_path
) -> None:
    from stream.judge import counter_record

    topics = _topics(broker.bootstrap)
    prod = producer(broker.bootstrap)
    name = "cb|2026|pi"
    for rec in (
        counter_record(name, ["h1", "h2"], {"t1": 100}, "other"),
        counter_record(name, ["h2", "h3"], {"t1": 100, "t2": 5}, "other"),  # a repeat changes nothing
        counter_record(name, ["h9"], {"t9": 1000}, "me"),  # this worker's own: already in its store
        counter_record("../etc", ["h4"], {}, "other"),
    ):
        prod.send(topics["counters"], key=rec["set"].encode(), partition=0, value=orjson.dumps(rec))
    prod.send(topics["counters"], key=b"x", partition=1, value=b"\xff not json")
    prod.send(topics["counters"], key=b"x", partition=1, value=orjson.dumps({"set": name, "members": [1, 2]}))
    prod.flush()
    first, state, _ = _load(broker.bootstrap, topics, tmp_path, scanner, worker_id="me")
    assert state.set_size(name) == 3 + 100 + 5
    assert first.rejected == 3 and first.applied == 6
    state.close()
    # a restart goes on after the updates it applied (the counters live in the durable store)
    prod.send(
        topics["counters"],
        key=name.encode(),
        partition=0,
        value=orjson.dumps(counter_record(name, ["h5"], {"t1": 40}, "other")),
    )  # t1 corrected: 100 -> 40
    prod.flush()
    prod.close()
    second, state, _ = _load(broker.bootstrap, topics, tmp_path, scanner, worker_id="me-after-restart")
    assert second.applied == 1 and second.rejected == 0
    assert state.set_size(name) == 4 + 40 + 5
    state.close()


def test_a_store_written_before_positions_were_kept_is_read_again_from_the_beginning(broker, scanner, tmp_path) -> None:
    topics = _topics(broker.bootstrap)
    _produce(broker.bootstrap, topics, range(30), agreements=("r1",))
    old = StateStore(tmp_path)
    old.mat[b"c|" + scanner.hmac_of("user_id", "gone").encode() + b"|r1"] = (
        b'{"p":[],"c":[],"k":"separate","g":0,'
        b'"e":null,"w":null}'
    )  # as the earlier layout left it: no positions, no counts
    old.mat.delete(b"m|counts")
    old.close()
    first, state, _ = _load(broker.bootstrap, topics, tmp_path, scanner)
    assert first.rebuild_reason == "empty_store"
    assert _consent_of(state, scanner, "gone") is None
    assert (state.consent_count, state.agreement_count) == (30, 1)
    state.close()
