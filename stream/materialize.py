"""Materialize the consents and agreements topics, read whole from the beginning, into the worker's store.

Why not a Faust table: GlobalTable does not replicate across workers (faust-streaming #283), and
changelog recovery is unreliable on the embedded broker. Why not ``group_by`` per subject: a
transfer carries thousands of subjects, one repartition message each. So every worker reads
both (small, slowly changing) topics whole with its own group-less consumer and keeps them in
RocksDB; transfers are then judged locally without any cross-worker hop.

Readiness: a worker judges nothing before the first catch-up (every partition at its end
offset and one empty fetch). Afterwards ``synced_ms`` trails the start of the latest empty poll
by twice the fetch wait (an empty answer may come from a request sent before a record
arrived): a transfer produced before ``synced_ms`` sees every consent produced before it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from detectors import Scanner
from stream.records import BadInput, parse_agreement, parse_consent, parse_json
from stream.state import StateStore

logger = logging.getLogger(__name__)
MAX_STATE_RECORD_BYTES = 1 << 20
FETCH_MAX_WAIT_MS = 20  # bounds how old an in-flight fetch request can be
POLL_MS = 25
SYNC_MARGIN_MS = 2 * FETCH_MAX_WAIT_MS  # an empty poll started at S proves only what was produced before S - margin


def subject_hmac(scanner: Scanner, kind: str, value: str) -> str:
    """The HMAC a consent subject is stored under (``key`` subjects arrive already HMAC-ed)."""
    return value if kind == "key" else scanner.hmac_of(kind, value)


def apply_record(kind: str, raw: bytes, state: StateStore, scanner: Scanner) -> None:
    """Apply one consent or agreement record (last write wins). Raises ``BadInput``."""
    obj = parse_json(raw, max_bytes=MAX_STATE_RECORD_BYTES)
    if kind == "agreements":
        state.put_agreement(parse_agreement(obj))
    else:
        c = parse_consent(obj)
        state.put_consent(subject_hmac(scanner, c.subject_kind, c.subject_value), c)


class Materializer:
    """Background consumer of the consents and agreements topics (no consumer group)."""

    def __init__(self, bootstrap: str, topics: dict[str, str], state: StateStore, scanner: Scanner, *,
                 client_kwargs: dict[str, Any] | None = None, metrics: Any = None) -> None:
        self.bootstrap = bootstrap
        self.topics = topics  # {"consents": topic name, "agreements": topic name}
        self.state = state
        self.scanner = scanner
        self.kwargs = client_kwargs or {}
        self.metrics = metrics
        self.ready = asyncio.Event()
        self.synced_ms = 0.0
        self.rejected = 0
        self._task: asyncio.Task | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Assign every partition of both topics from the beginning and start consuming."""
        c = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
                             auto_offset_reset="earliest", fetch_max_wait_ms=FETCH_MAX_WAIT_MS, **self.kwargs)
        await c.start()
        tps = []
        for name in self.topics.values():
            parts = None
            for _ in range(50):
                parts = c.partitions_for_topic(name)
                if parts:
                    break
                await c._client.force_metadata_update()  # noqa: SLF001 - topic may have just been created
                await asyncio.sleep(0.1)
            tps += [TopicPartition(name, p) for p in sorted(parts or [])]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        self._consumer = c
        self._kind = {v: k for k, v in self.topics.items()}
        self._task = asyncio.create_task(self._run(tps))

    async def stop(self) -> None:
        """Stop consuming."""
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        if self._consumer:
            await self._consumer.stop()

    async def wait_synced(self, produced_ms: float, timeout: float = 2.0) -> bool:
        """Wait until state includes everything produced before ``produced_ms`` (bounded)."""
        await self.ready.wait()
        deadline = time.monotonic() + timeout
        while self.synced_ms < produced_ms and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.synced_ms >= produced_ms

    async def _run(self, tps: list[TopicPartition]) -> None:
        c = self._consumer
        assert c is not None
        end = await c.end_offsets(tps)
        while True:
            started = time.time() * 1000
            batches = await c.getmany(timeout_ms=POLL_MS, max_records=5000)
            n = 0
            for tp, msgs in batches.items():
                kind = self._kind[tp.topic]
                for m in msgs:
                    n += 1
                    try:
                        apply_record(kind, m.value or b"", self.state, self.scanner)
                    except BadInput as exc:
                        self.rejected += 1
                        logger.warning("rejected %s record at %s[%d]@%d: %s", kind, tp.topic, tp.partition, m.offset,
                                       exc.reason)
                    except Exception:  # noqa: BLE001 - a bad record never stops the worker
                        self.rejected += 1
                        logger.exception("failed to apply %s record at offset %d", kind, m.offset)
            if n == 0:
                if not self.ready.is_set():
                    positions = {tp: await c.position(tp) for tp in tps}
                    if all(positions[tp] >= end[tp] for tp in tps):
                        self.ready.set()
                        logger.info("state ready: %d consents, %d agreements", self.state.consent_count,
                                    self.state.agreement_count)
                if self.ready.is_set():
                    self.synced_ms = started - SYNC_MARGIN_MS
            if self.metrics is not None:
                self.metrics.state_records.labels("consent").set(self.state.consent_count)
                self.metrics.state_records.labels("agreement").set(self.state.agreement_count)
