"""Batched, keyed output publishing: verdicts, alerts and dead letters of one agent batch in a few requests.

Sending each output through Faust's producer costs ~95-170 us of CPU per message here (aiokafka's per-message
accumulator path, measured with ``tests/benchmarks/bench_stream.py``); building one record batch per topic
partition and handing it over with ``send_batch`` costs a few microseconds per message. Outputs keep their keys
and land on the partition Kafka's default (murmur2) partitioner picks, as a keyed ``send`` would.

The caller flushes before its input offsets are acknowledged, and flushes again after an error: at-least-once.
"""

from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError

#: the default largest record (and record batch) piplwatch produces: under Apache Kafka's default
#: ``max.message.bytes`` (1,048,588), so no output is refused by a broker left at its defaults
MAX_RECORD_BYTES = 1_000_000
#: what a broker answers for a record or batch over its ``max.message.bytes`` (error codes 10 and 18)
SIZE_ERRORS = (MessageSizeTooLargeError, RecordListTooLargeError)
#: bytes a record batch adds around one record (v2 batch header 61 + record framing), kept in reserve
RECORD_OVERHEAD = 128
_M = 0x5BD1E995
_WORDS = struct.Struct("<I")


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (the Java client's ``Utils.murmur2``, seed 0x9747b28c): aiokafka's port, reading whole
    little-endian words (about 3x faster per key; tests compare both)."""
    n = len(data)
    h = 0x9747B28C ^ n
    n4 = n & ~3
    for (k,) in _WORDS.iter_unpack(data[:n4]):
        k = (k * _M) & 0xFFFFFFFF
        k = ((k ^ (k >> 24)) * _M) & 0xFFFFFFFF
        h = ((h * _M) & 0xFFFFFFFF) ^ k
    rest = n & 3
    if rest == 3:
        h ^= data[n4 + 2] << 16
    if rest >= 2:
        h ^= data[n4 + 1] << 8
    if rest >= 1:
        h = ((h ^ data[n4]) * _M) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * _M) & 0xFFFFFFFF
    return h ^ (h >> 15)


def partition_for(key: bytes | None, partitions: list[int]) -> int:
    """The partition Kafka's default partitioner picks: murmur2 of the key, or any partition for no key."""
    if key is None:
        return random.choice(partitions)
    return partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]


class OutputTooLarge(ValueError):
    """An output record larger than the configured ``max_record_bytes`` (it would be refused by the broker)."""


Refused = Callable[[str, bytes | None, bytes], tuple[str, bytes | None, bytes] | None]


class OutputProducer:
    """Collects keyed messages per (topic, partition) and publishes them as record batches of at most
    ``max_record_bytes`` each."""

    def __init__(
        self,
        bootstrap: str,
        *,
        max_record_bytes: int = MAX_RECORD_BYTES,
        client_kwargs: dict | None = None,
        on_refused: Refused | None = None,
    ) -> None:
        self.max_record_bytes = max_record_bytes
        self._config = dict(
            bootstrap_servers=bootstrap,
            max_batch_size=max_record_bytes,
            max_request_size=max(max_record_bytes * 2, 1 << 20),
            linger_ms=0,
            acks="all",
            **(client_kwargs or {}),
        )
        #: called with a record the broker refused for its size, even alone: returns what to publish instead (a
        #: dead letter) or None; the refused record is dropped, so a size refusal is never retried forever
        self.on_refused = on_refused
        self.refused = 0
        self._producer: Any = None
        self._partitions: dict[str, list[int]] = {}
        self._pending: list[tuple[str, bytes | None, bytes]] = []

    async def start(self) -> None:
        """Connect (aiokafka clients must be created inside the running event loop)."""
        self._producer = AIOKafkaProducer(**self._config)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    @property
    def client(self) -> Any:
        """The producer's aiokafka client (the health probe asks it for metadata)."""
        return self._producer.client

    @property
    def pending(self) -> int:
        """Messages queued and not yet acknowledged."""
        return len(self._pending)

    def fits(self, key: bytes | None, value: bytes) -> bool:
        """Whether a record of this key and value stays under ``max_record_bytes`` (with its batch overhead)."""
        return len(key or b"") + len(value) + RECORD_OVERHEAD <= self.max_record_bytes

    def add(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Queue one message; nothing is sent before ``flush``. Raises ``OutputTooLarge`` for a record over
        ``max_record_bytes`` (the caller dead-letters its source instead)."""
        if not self.fits(key, value):
            raise OutputTooLarge(f"a {len(value)}-byte {topic} record exceeds {self.max_record_bytes} bytes")
        self._pending.append((topic, key, value))

    async def flush(self) -> None:
        """Send every queued message as record batches and wait until the broker acknowledged all of them.

        On a transient error the queue is kept and the error raised: a later ``flush`` sends everything again
        (outputs are keyed and idempotent, so a batch the broker did take before the error only repeats records).
        A batch the broker refuses for its size is sent again record by record; a record refused alone is handed to
        ``on_refused`` and dropped.
        """
        if not self._pending:
            return
        batches = await self._send(self._pending)
        results = await asyncio.gather(*(f for f, _ in batches), return_exceptions=True)
        too_large = [recs for (_, recs), r in zip(batches, results) if isinstance(r, SIZE_ERRORS)]
        other = [r for r in results if isinstance(r, BaseException) and not isinstance(r, SIZE_ERRORS)]
        if other:
            raise other[0]
        replacements = []
        for recs in too_large:
            for rec in recs:
                single = await self._send([rec])
                try:
                    await single[0][0]
                except SIZE_ERRORS:
                    self.refused += 1
                    alt = self.on_refused(*rec) if self.on_refused else None
                    if alt is not None:
                        replacements.append(alt)
        self._pending = replacements
        if replacements:
            await self.flush()

    async def _send(self, records: list[tuple[str, bytes | None, bytes]]) -> list[tuple[asyncio.Future, list]]:
        """Hand ``records`` to the producer as record batches per partition; (future, the batch's records) each."""
        sent: list[tuple[asyncio.Future, list]] = []
        open_batches: dict[tuple[str, int], tuple[Any, list]] = {}
        for rec in records:
            topic, key, value = rec
            parts = self._partitions.get(topic)
            if parts is None:
                parts = self._partitions[topic] = sorted(await self._producer.partitions_for(topic))
            partition = partition_for(key, parts)
            slot = (topic, partition)
            entry = open_batches.get(slot)
            if entry is None:
                entry = open_batches[slot] = (self._producer.create_batch(), [])
            if entry[0].append(key=key, value=value, timestamp=None) is None:
                sent.append((await self._producer.send_batch(entry[0], topic, partition=partition), entry[1]))
                entry = open_batches[slot] = (self._producer.create_batch(), [])
                if entry[0].append(key=key, value=value, timestamp=None) is None:
                    raise OutputTooLarge(f"an output message of {len(value)} bytes does not fit in one record batch")
            entry[1].append(rec)
        for (topic, partition), (batch, recs) in open_batches.items():
            sent.append((await self._producer.send_batch(batch, topic, partition=partition), recs))
        return sent
