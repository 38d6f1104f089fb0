"""The batched output producer on the real embedded broker: every message acknowledged, keys kept, and each key on
the partition a keyed producer (Kafka's default murmur2 partitioner) would have chosen."""

from __future__ import annotations

import asyncio

import pytest
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.partitioner.default import murmur2

from stream.outputs import OutputProducer
from tests.stream.harness import read_topic

pytestmark = pytest.mark.broker


def test_batched_outputs_are_all_acknowledged_keyed_and_on_the_default_partition(broker) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    admin.create_topics([NewTopic("out.a", 4, 1), NewTopic("out.b", 3, 1)])
    admin.close()
    sent = {
        ("out.a" if i % 3 else "out.b", f"transfer-{i}".encode()): f"value-{i}".encode() * (1 + i % 50)
        for i in range(3000)
    }
    for i in range(6):  # large outputs fill record batches early: the producer must roll over to new ones
        sent[("out.a", f"big-{i}".encode())] = bytes([65 + i]) * (600 << 10)

    async def publish() -> None:
        out = OutputProducer(broker.bootstrap, max_record_bytes=1_000_000)
        await out.start()
        try:
            for (topic, key), value in sent.items():
                out.add(topic, key, value)
            await out.flush()  # returns only after the broker acknowledged everything
        finally:
            await out.stop()

    asyncio.run(publish())
    for topic, n in (("out.a", 4), ("out.b", 3)):
        want = {k: v for (t, k), v in sent.items() if t == topic}
        got = read_topic(broker.bootstrap, topic, until=lambda ms, want=want: len(ms) >= len(want), timeout=30)
        assert {m.key: m.value for m in got} == want
        for m in got:
            assert m.partition == (murmur2(m.key) & 0x7FFFFFFF) % n  # kafka-python's (and Java's) keyed choice


def test_outputs_survive_a_broker_outage_and_are_sent_again_after_it() -> None:
    from stream.dev.broker import EmbeddedBroker, free_port

    port = free_port()
    first = EmbeddedBroker(port).start()

    def make_topic(bootstrap: str) -> None:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        admin.create_topics([NewTopic("out.c", 2, 1)])
        admin.close()

    make_topic(first.bootstrap)
    msgs = {f"t-{i}".encode(): f"verdict-{i}".encode() for i in range(50)}

    async def run() -> tuple[str, int]:
        out = OutputProducer(
            first.bootstrap,
            max_record_bytes=1_000_000,
            client_kwargs={"request_timeout_ms": 1500, "retry_backoff_ms": 100},
        )
        await out.start()
        try:
            first.stop()
            for k, v in msgs.items():
                out.add("out.c", k, v)
            try:
                await out.flush()
                error = "none"
            except Exception as exc:  # noqa: BLE001 - any broker error
                error = type(exc).__name__
            kept = out.pending
            second = EmbeddedBroker(port).start()  # same address, empty memory storage
            try:
                make_topic(second.bootstrap)
                for _ in range(20):
                    try:
                        await out.flush()
                        break
                    except Exception:  # noqa: BLE001 - reconnecting
                        await asyncio.sleep(0.5)
                got = read_topic(second.bootstrap, "out.c", until=lambda ms: len(ms) >= len(msgs), timeout=20)
                assert {m.key: m.value for m in got} == msgs
            finally:
                second.stop()
            return error, kept
        finally:
            await out.stop()

    error, kept = asyncio.run(run())
    assert error != "none" and kept == len(msgs)  # the failed flush raised and kept every message


def test_word_wise_murmur2_equals_kafka_python_and_aiokafka_on_every_length() -> None:
    import random

    from aiokafka.partitioner import murmur2 as aiokafka_murmur2

    from stream.outputs import murmur2 as fast
    from stream.outputs import partition_for

    rnd = random.Random(9)
    for n in list(range(0, 80)) + [255, 256, 1023]:
        for _ in range(25):
            key = bytes(rnd.randrange(256) for _ in range(n))
            assert fast(key) == murmur2(key) == aiokafka_murmur2(key), key
            assert partition_for(key, [0, 1, 2, 3, 4]) == (murmur2(key) & 0x7FFFFFFF) % 5
    assert partition_for(None, [7]) == 7


def test_metric_children_are_cached_and_the_same_series() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from stream.metrics import PiplwatchMetrics

    registry = CollectorRegistry()
    m = PiplwatchMetrics.create(registry)
    c = m.child(m.transfers, "api", "violation")
    assert c is m.child(m.transfers, "api", "violation") is m.transfers.labels("api", "violation")
    c.inc(3)
    assert 'piplwatch_transfers_total{channel="api",verdict="violation"} 3.0' in generate_latest(registry).decode()
