"""Materialize the consents and agreements topics, read whole from the beginning, into the worker's store.

Why not a Faust table: GlobalTable does not replicate across workers (faust-streaming #283), and
changelog recovery is unreliable on the embedded broker. Why not ``group_by`` per subject: a
transfer carries thousands of subjects, one repartition message each. So every worker reads
both (small, slowly changing) topics whole with its own group-less consumer and keeps them in
RocksDB; transfers are then judged locally without any cross-worker hop.

Restarts: each poll's records go into the store in one atomic batch with, per source partition,
the next offset and a digest of the last record applied. A restarting worker seeks back one
record, checks that the record it last applied is still there (same offset, same digest), and
resumes from there; if any partition fails the check (the topic was recreated, the embedded
broker restarted empty, retention removed it) or ``rebuild`` is asked for, it drops the
materialized state and reads both topics from the beginning. Stale consents therefore never
outlive their topic, and a restart with 10 million consents does not re-read them all.

Shared counters: the same consumer reads ``piplwatch.counters``, where every worker publishes what it
added to its distinct-subject counter sets, and adds the other workers' members to this worker's
sets (unions: re-reading is harmless, so its position is simply kept in the durable store).

Readiness: a worker judges nothing before the first catch-up (every partition at its end
offset and one empty fetch). Afterwards ``synced_ms`` trails the start of the latest empty poll
by twice the fetch wait (an empty answer may come from a request sent before a record
arrived): a transfer produced before ``synced_ms`` sees every consent produced before it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from detectors import Scanner
from detectors.redact import printable, safe_ref
from stream.records import BadInput, Retraction, parse_agreement, parse_consent, parse_counter, parse_json
from stream.state.store import SourcePosition, StateStore

logger = logging.getLogger(__name__)
MAX_STATE_RECORD_BYTES = 1 << 20
FETCH_MAX_WAIT_MS = 20  # bounds how old an in-flight fetch request can be
POLL_MS = 25
VERIFY_TIMEOUT_S = 5.0  # how long a restart waits for the records it last applied before rebuilding instead
SYNC_MARGIN_MS = 2 * FETCH_MAX_WAIT_MS
#: catch-up without progress: after CATCHUP_WARN_S the lagging partitions are logged (topic, partition, position,
#: end offset) and their end offsets asked again; after CATCHUP_LIMIT_S the worker becomes ready with what it read
CATCHUP_WARN_S = 5.0
CATCHUP_LIMIT_S = 20.0  # an empty poll started at S proves only what was produced before S - margin


def subject_hmac(scanner: Scanner, kind: str, value: str) -> str:
    """The HMAC a consent subject is stored under (``key`` subjects arrive already HMAC-ed)."""
    return value if kind == "key" else scanner.hmac_of(kind, value)


def store_record(kind: str, raw: bytes, scanner: Scanner) -> tuple[bytes, bytes, Any]:
    """The store record of one consent or agreement message. Raises ``BadInput``."""
    obj = parse_json(raw, max_bytes=MAX_STATE_RECORD_BYTES)
    if kind == "agreements":
        a = parse_agreement(obj)
        # keyed as the judge looks recipients up: by safe reference (the id itself, unless it carries PI)
        return StateStore.agreement_record(dataclasses.replace(a, recipient_id=safe_ref(scanner, a.recipient_id)))
    c = parse_consent(obj)
    c = dataclasses.replace(c, recipient_id=safe_ref(scanner, c.recipient_id))
    return StateStore.consent_record(subject_hmac(scanner, c.subject_kind, c.subject_value), c)


def apply_record(kind: str, raw: bytes, state: StateStore, scanner: Scanner) -> None:
    """Apply one consent or agreement record (last write wins). Raises ``BadInput``."""
    state.apply([store_record(kind, raw, scanner)])


def record_digest(key: bytes | None, value: bytes | None) -> bytes:
    """Identifies a source record (with its offset) when a restart checks where it stopped."""
    h = hashlib.blake2b(digest_size=16)
    h.update(len(key or b"").to_bytes(4, "big"))
    h.update(key or b"")
    h.update(value or b"")
    return h.digest()


class Materializer:
    """Background consumer of the consents, agreements and shared counter topics (no consumer group)."""

    def __init__(
        self,
        bootstrap: str,
        topics: dict[str, str],
        state: StateStore,
        scanner: Scanner,
        *,
        client_kwargs: dict[str, Any] | None = None,
        metrics: Any = None,
        rebuild: bool = False,
        worker_id: str | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = topics  # {"consents": topic, "agreements": topic[, "counters": the shared counter topic]}
        self.worker_id = worker_id  # counter updates this worker published itself are already in its store
        self.state = state
        self.scanner = scanner
        self.kwargs = client_kwargs or {}
        self.metrics = metrics
        self.ready = asyncio.Event()
        self.synced_ms = 0.0
        self.rejected = 0
        self.rebuild = rebuild
        self.rebuild_reason: str | None = None  # why the last start read from the beginning (None: it resumed)
        self.applied = 0  # messages read from the source topics since start
        self._task: asyncio.Task | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Assign every partition of both topics from the beginning and start consuming."""
        c = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            group_id=None,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            **self.kwargs,
        )
        await c.start()
        self._kind = {v: k for k, v in self.topics.items()}
        tps = []
        for name in self.topics.values():
            parts = None
            for _ in range(50):
                parts = c.partitions_for_topic(name)
                if parts:
                    break
                await c._client.force_metadata_update()  # noqa: SLF001 - topic may have just been created
                await asyncio.sleep(0.1)
            if not parts:
                logger.error("topic %s not found: its %s are not read by this worker", name, self._kind[name])
            tps += [TopicPartition(name, p) for p in sorted(parts or [])]
        c.assign(tps)
        self._consumer = c
        counter_tps = [tp for tp in tps if self._kind[tp.topic] == "counters"]
        counted = self.state.counter_positions()
        for tp in counter_tps:  # the worker's counters persist in its durable store: go on where it stopped
            if (tp.topic, tp.partition) in counted:
                c.seek(tp, counted[(tp.topic, tp.partition)])
            else:
                await c.seek_to_beginning(tp)
        all_tps, tps = tps, [tp for tp in tps if tp not in counter_tps]
        stored = self.state.source_positions()
        reason: str | None
        if self.rebuild:
            reason = "requested"
        elif not stored:
            reason = "empty_store"
        else:
            reason = await self._check_positions(tps, stored)
        if reason is None:
            for tp in tps:
                pos = stored.get((tp.topic, tp.partition))
                if pos is not None:
                    c.seek(tp, pos.next_offset)
                else:
                    await c.seek_to_beginning(tp)
            logger.info(
                "state: resuming %d consents and %d agreements from stored source positions",
                self.state.consent_count,
                self.state.agreement_count,
            )
        else:
            self.state.reset_materialized()  # also what a store written before positions were kept holds
            await c.seek_to_beginning(*tps)
            logger.info("state: reading consents and agreements from the beginning (%s)", reason)
        self.rebuild_reason = reason
        if self.metrics is not None:
            self.metrics.state_loads.labels("resume" if reason is None else reason).inc()
        self._task = asyncio.create_task(self._run(all_tps))

    def _apply_counter(self, m: Any) -> None:
        """One shared counter update (``piplwatch.counter/v1``); a bad one is counted and skipped."""
        try:
            rec = parse_counter(parse_json(m.value or b"", max_bytes=64 << 20))
            if isinstance(rec, Retraction):
                removed = self.state.retract(rec.transfer_id)
                logger.warning(
                    "counters: retracted transfer %s (%s)",
                    printable(rec.transfer_id),
                    ", ".join(f"{printable(k)} -{v}" for k, v in removed.items()) or "it had added nothing",
                )
                if self.metrics is not None:
                    self.metrics.record_retraction(self.state)
            elif rec.worker != self.worker_id:
                self.state.apply_counter_update(rec.name, rec.members, rec.extra)
        except Exception as exc:  # noqa: BLE001 - a bad record never stops the worker
            self.rejected += 1
            logger.warning(
                "rejected counter update at %s[%d]@%d: %s", m.topic, m.partition, m.offset, type(exc).__name__
            )

    async def _check_positions(
        self, tps: list[TopicPartition], stored: dict[tuple[str, int], SourcePosition]
    ) -> str | None:
        """None if, for every partition the store has read, the record it last applied is still at its offset;
        else why not."""
        c = self._consumer
        assert c is not None
        want = {}
        for tp in tps:
            pos = stored.get((tp.topic, tp.partition))
            if pos is not None and pos.next_offset > 0:
                want[tp] = pos
                c.seek(tp, pos.next_offset - 1)
        if set(stored) - {(tp.topic, tp.partition) for tp in tps}:
            return "partitions_changed"
        deadline = time.monotonic() + VERIFY_TIMEOUT_S
        while want and time.monotonic() < deadline:
            batches = await c.getmany(*want, timeout_ms=POLL_MS * 4, max_records=len(want))
            for tp, msgs in batches.items():
                if tp not in want or not msgs:
                    continue
                m, pos = msgs[0], want.pop(tp)
                if m.offset != pos.next_offset - 1 or record_digest(m.key, m.value) != pos.digest:
                    return "source_changed"
        return "source_changed" if want else None

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
        progress_at = time.monotonic()
        warned = False
        while True:
            started = time.time() * 1000
            batches = await c.getmany(timeout_ms=POLL_MS, max_records=5000)
            n = sum(map(len, batches.values()))
            records = []
            reached = {}  # source partition -> where this poll leaves it
            for tp, msgs in batches.items():
                if not msgs:
                    continue
                kind = self._kind[tp.topic]
                if kind == "counters":
                    for m in msgs:
                        self._apply_counter(m)
                    self.state.set_counter_position(tp.topic, tp.partition, msgs[-1].offset + 1)
                    continue
                for m in msgs:
                    try:
                        records.append(store_record(kind, m.value or b"", self.scanner))
                    except BadInput as exc:
                        self.rejected += 1
                        logger.warning(
                            "rejected %s record at %s[%d]@%d: %s", kind, tp.topic, tp.partition, m.offset, exc.reason
                        )
                    except Exception:
                        self.rejected += 1
                        logger.exception("failed to apply %s record at offset %d", kind, m.offset)
                last = msgs[-1]
                reached[(tp.topic, tp.partition)] = SourcePosition(last.offset + 1, record_digest(last.key, last.value))
            if reached:
                self.state.apply(records, reached)
            self.applied += n
            if n:
                progress_at = time.monotonic()
            elif not self.ready.is_set():
                positions = {tp: await c.position(tp) for tp in tps}
                behind = {tp: (positions[tp], end[tp]) for tp in tps if positions[tp] < end[tp]}
                stalled = time.monotonic() - progress_at
                if behind and stalled >= CATCHUP_WARN_S and not warned:
                    # a partition whose end offset promises records nobody can read (seen on an embedded broker
                    # restarted empty): say which, and look again at the end offsets
                    warned = True
                    logger.warning("state: catch-up has read nothing for %.0f s; behind: %s", stalled, _where(behind))
                    end.update(await c.end_offsets(list(behind)))
                    behind = {tp: (positions[tp], end[tp]) for tp in behind if positions[tp] < end[tp]}
                if behind and stalled >= CATCHUP_LIMIT_S:
                    logger.error(
                        "state: catch-up gave up waiting after %.0f s for records the broker announced but never "
                        "served (%s); judging with what was read (a missing consent can only add alerts)",
                        stalled,
                        _where(behind),
                    )
                    if self.metrics is not None:
                        self.metrics.state_catchup_stalls.inc(len(behind))
                    behind = {}
                if not behind:
                    self.ready.set()
                    logger.info(
                        "state ready: %d consents, %d agreements",
                        self.state.consent_count,
                        self.state.agreement_count,
                    )
            if n == 0 and self.ready.is_set():
                self.synced_ms = started - SYNC_MARGIN_MS
            if self.metrics is not None:
                self.metrics.state_records.labels("consent").set(self.state.consent_count)
                self.metrics.state_records.labels("agreement").set(self.state.agreement_count)


def _where(behind: dict[TopicPartition, tuple[int, int]]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}] at {pos} of {end}" for tp, (pos, end) in sorted(behind.items()))
