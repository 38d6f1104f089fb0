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
    sent = {("out.a" if i % 3 else "out.b", f"transfer-{i}".encode()): f"value-{i}".encode() * (1 + i % 50)
            for i in range(3000)}
    for i in range(6):  # large outputs fill record batches early: the producer must roll over to new ones
        sent[("out.a", f"big-{i}".encode())] = bytes([65 + i]) * (600 << 10)

    async def publish() -> None:
        out = OutputProducer(broker.bootstrap, max_request_size=2 << 20)
        await out.start()
        try:
            for (topic, key), value in sent.items():
                await out.add(topic, key, value)
            await out.flush()  # returns only after the broker acknowledged everything
        finally:
            await out.stop()

    asyncio.run(publish())
    for topic, n in (("out.a", 4), ("out.b", 3)):
        want = {k: v for (t, k), v in sent.items() if t == topic}
        got = read_topic(broker.bootstrap, topic, until=lambda ms: len(ms) >= len(want), timeout=30)
        assert {m.key: m.value for m in got} == want
        for m in got:
            assert m.partition == (murmur2(m.key) & 0x7FFFFFFF) % n  # kafka-python's (and Java's) keyed choice
