"""Batched, keyed output publishing: verdicts, alerts and dead letters of one agent batch in a few requests.

Sending each output through Faust's producer costs ~95-170 us of CPU per message here (aiokafka's per-message
accumulator path, measured with ``tests/benchmarks/bench_stream.py``); building one record batch per topic
partition and handing it over with ``send_batch`` costs a few microseconds per message. Outputs keep their keys
and land on the partition Kafka's default (murmur2) partitioner picks, as a keyed ``send`` would.

The caller awaits the returned futures before its input offsets are acknowledged: at-least-once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

MAX_BATCH_BYTES = 1 << 20


class OutputProducer:
    """Collects keyed messages per (topic, partition) and publishes them as record batches."""

    def __init__(self, bootstrap: str, *, max_request_size: int, client_kwargs: dict | None = None) -> None:
        self._config = dict(bootstrap_servers=bootstrap, max_batch_size=max(MAX_BATCH_BYTES, max_request_size // 2),
                            max_request_size=max_request_size, linger_ms=0, acks="all", **(client_kwargs or {}))
        self._producer: Any = None
        self._partitioner = DefaultPartitioner()
        self._partitions: dict[str, list[int]] = {}
        self._open: dict[tuple[str, int], Any] = {}
        self._sent: list[asyncio.Future] = []

    async def start(self) -> None:
        """Connect (aiokafka clients must be created inside the running event loop)."""
        self._producer = AIOKafkaProducer(**self._config)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def add(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Queue one message (sends a batch early if it fills up)."""
        parts = self._partitions.get(topic)
        if parts is None:
            parts = self._partitions[topic] = sorted(await self._producer.partitions_for(topic))
        partition = self._partitioner(key, parts, parts)
        slot = (topic, partition)
        batch = self._open.get(slot)
        if batch is None:
            batch = self._open[slot] = self._producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None) is None:
            self._sent.append(await self._producer.send_batch(batch, topic, partition=partition))
            batch = self._open[slot] = self._producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:
                raise ValueError(f"an output message of {len(value)} bytes does not fit in one record batch")

    async def flush(self) -> None:
        """Send every open batch and wait until the broker acknowledged all queued messages."""
        for (topic, partition), batch in self._open.items():
            self._sent.append(await self._producer.send_batch(batch, topic, partition=partition))
        self._open.clear()
        sent, self._sent = self._sent, []
        if sent:
            await asyncio.gather(*sent)
