"""The services of one worker process around its agent, and the batch protocol.

``Runtime`` wires the scanner, the state store, the judge, the materializer, the output producer, the metrics
and the web server, and runs the protocol for every agent batch: judge each transfer, queue its outputs (and the
batch's counter updates), publish them all, and only once the broker acknowledged them write done-markers and
record metrics. Faust acknowledges the input offsets after ``handle_batch`` returns: at-least-once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import hashlib
import logging
import os
import secrets
import sys
from dataclasses import dataclass
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from detectors import DetectorConfig, Scanner
from detectors.redact import load_hmac_key
from stream.health import KafkaHealth, LoopMonitor, install_log_rate_limit
from stream.judge import DeadLettered, Judge, Judged, counter_records, dumps
from stream.metrics import NerCollector, PiplwatchMetrics
from stream.outputs import OutputProducer
from stream.settings import Settings
from stream.state.materialize import Materializer
from stream.state.store import StateStore

logger = logging.getLogger(__name__)

#: How often the worker drops expired done markers and counter sets from its store (``StateStore.prune``).
PRUNE_INTERVAL_S = 600.0
RECENT_ALERTS = 200
SWITCH_INTERVAL_S = 0.001
LAG_INTERVAL_S = 10.0


@dataclass
class Published:
    """A judged transfer whose outputs are queued: recorded once the broker acknowledged them."""

    judged: Judged
    digest: bytes  # of the message value: a redelivery of the same message is recognised by it
    timestamp: float  # the input message's Kafka timestamp (seconds)
    finding_counts: dict[tuple[str, str, str], int]  # for the findings metric


@dataclass
class Failed:
    """A message whose judging raised: dead-lettered as ``invalid_field`` with the exception's type."""

    dead: DeadLettered


BatchItem = Published | DeadLettered | Failed


class Runtime:
    """Per-process services around the agent."""

    def __init__(self, settings: Settings, app: faust.App) -> None:
        self.settings = settings
        self.app = app
        self.registry = CollectorRegistry()
        self.metrics = PiplwatchMetrics.create(self.registry)
        config = DetectorConfig.load(settings.detector_config) if settings.detector_config else DetectorConfig()
        ner = None
        if settings.ner != "off" and config.ner:
            from detectors.ner import load_ner

            ner = load_ner(required=False)
            if ner is not None and ner.nlp is not None:
                self.metrics.model_info.labels(ner.model_name, ner.model_version).set(1)
        self.scanner = Scanner(config, hmac_key=load_hmac_key(settings.hmac_key_file), ner=ner, ner_mode=settings.ner)
        if ner is not None and ner.nlp is not None and settings.ner != "off":
            self.registry.register(NerCollector(ner, settings.ner))
        self.state = StateStore(settings.state_dir)
        self.judge = Judge(
            self.scanner,
            self.state,
            max_message_bytes=settings.max_message_bytes,
            max_record_count=settings.max_record_count,
        )
        self.metrics.set_tiers(self.judge.engine.constants)
        self.worker_id = secrets.token_hex(8)  # tells this process's counter updates from other workers'
        self.materializer = Materializer(
            settings.bootstrap,
            {
                "consents": settings.topics.consents,
                "agreements": settings.topics.agreements,
                "counters": settings.topics.counters,
            },
            self.state,
            self.scanner,
            client_kwargs=settings.aiokafka_kwargs(),
            metrics=self.metrics,
            rebuild=settings.rebuild_state,
            worker_id=self.worker_id,
        )
        self.outputs = OutputProducer(
            settings.bootstrap,
            max_record_bytes=settings.max_output_bytes,
            client_kwargs=settings.aiokafka_kwargs(),
            on_refused=self._refused,
        )
        #: judging runs here, off the event loop (one thread: the scanner and the judge are not thread-safe)
        self._judging = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="piplwatch-judge")
        self.health = KafkaHealth(self.metrics)
        self.loop_monitor = LoopMonitor(self.metrics)
        self._tasks: list[asyncio.Task] = []
        self._next_offset: dict[int, int] = {}  # transfers partition -> next offset to judge
        self.started = asyncio.Event()
        self.recent_alerts: list[dict[str, Any]] = []
        from stream.web.summary import LiveSummary

        self.summary = LiveSummary()
        self._stopping = False
        self._web: Any = None
        self._prune_task: asyncio.Task | None = None

    async def start(self) -> None:
        """Start the materializer and the web server (metrics, API, dashboard)."""
        from stream.web.server import start_web

        install_log_rate_limit()
        # the judging thread is CPU-bound: hand the interpreter back to the event loop every millisecond (5 by
        # default) so /metrics, /healthz and the Kafka clients wait less behind a big export
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._tasks.append(asyncio.create_task(self.loop_monitor.run()))
        await self.materializer.start()
        await self.outputs.start()
        self._tasks.append(asyncio.create_task(self.health.probe(self.outputs.client)))
        self._web = await start_web(self, self.settings.web_bind, self.settings.web_port, self.settings.web_auth_file)
        self.started.set()
        await self.materializer.ready.wait()
        self.metrics.state_ready.set(1)
        self._prune_task = asyncio.create_task(self._prune_loop())
        self._tasks.append(asyncio.create_task(self._lag_loop()))
        if os.environ.get("PIPLWATCH_GC_FREEZE", "1") != "0":
            freeze_gc()

    @property
    def ready(self) -> bool:
        """Ready to judge: consents and agreements caught up, and a broker answered recently."""
        return self.materializer.ready.is_set() and self.health.up

    async def _lag_loop(self) -> None:
        """Every ``LAG_INTERVAL_S``: per assigned transfers partition, the transfers waiting (end offset minus the next
        one to judge). Exact on Apache Kafka; on the embedded broker end offsets are under-reported."""
        delay = 2.0  # first soon after the state is ready, then every LAG_INTERVAL_S
        while True:
            await asyncio.sleep(delay)
            delay = LAG_INTERVAL_S
            try:
                consumer = self.app.consumer
                tps = [tp for tp in consumer.assignment() if tp.topic == self.settings.topics.transfers]
                highs = await consumer.highwaters(*tps) if tps else {}
                committed = getattr(consumer, "_committed_offset", {})
                lag = {}
                for tp, high in highs.items():
                    if high is None:
                        continue
                    done = self._next_offset.get(tp.partition)
                    if done is None:
                        done = committed.get(tp) or 0
                    lag[tp.partition] = max(0, int(high) - int(done))
                self.metrics.record_lag(lag)
            except Exception:
                logger.debug("consumer lag unavailable", exc_info=True)

    async def _prune_loop(self) -> None:
        """Keep the durable store bounded: expired done markers and counter sets go every ``PRUNE_INTERVAL_S``."""
        while True:
            try:
                gone = self.state.prune()
                self.metrics.record_prune(gone, self.state.disk_bytes())
                if any(gone.values()):
                    logger.info("state: pruned %s", gone)
            except Exception:
                logger.exception("state pruning failed")
            await asyncio.sleep(PRUNE_INTERVAL_S)

    async def stop(self) -> None:
        """Stop services and close the store."""
        self._stopping = True
        if self._prune_task is not None:
            self._prune_task.cancel()
        for task in self._tasks:
            task.cancel()
        await self.materializer.stop()
        await self.outputs.stop()
        if self._web is not None:
            await self._web.cleanup()
        # a batch still being judged finishes before the store it writes to is closed
        await asyncio.get_running_loop().run_in_executor(None, self._judging.shutdown)
        self.state.close()

    async def handle_batch(self, events: list[Any]) -> None:
        """Judge a batch of transfer events, publish every output, and return once the broker acknowledged them.

        Judging runs on one worker thread, never on the event loop: a 100,000-record export takes seconds of CPU,
        and meanwhile the loop keeps serving /metrics and /healthz and the Kafka clients keep their heartbeats.
        Faust acknowledges (and later commits) the batch's input offsets only after this returns, so a crash
        before the acks means redelivery, never a lost verdict. The batch's counter updates are queued with its
        verdicts (counter sets were already updated in the local store while judging, idempotently); done-markers
        and metrics are written after the acks, so a redelivered transfer is recognised by its done-marker.
        """
        await self.started.wait()
        # consents (and counter updates) produced before the batch's newest transfer are applied first (bounded)
        await self.materializer.wait_synced(max(e.message.timestamp for e in events) * 1000)
        loop = asyncio.get_running_loop()
        items = await loop.run_in_executor(self._judging, self._judge_batch, events)
        await self._publish()
        for event in events:
            p, o = event.message.partition, event.message.offset
            if o + 1 > self._next_offset.get(p, -1):
                self._next_offset[p] = o + 1
        for item in items:
            if isinstance(item, Published):
                self._after_ack(item)
            elif isinstance(item, Failed):
                self.metrics.record_dead_letter(item.dead.reason, failed=True)
            else:
                self.metrics.record_dead_letter(item.reason)
                self.summary.dead_letter()

    def _judge_batch(self, events: list[Any]) -> list[BatchItem]:
        """Judge every event of a batch and queue its outputs, the batch's counter updates included (on the judging
        thread: everything that grows with the size of a transfer stays off the event loop)."""
        items = []
        for event in events:
            item = self._judge_one(event)
            if item is not None:
                items.append(item)
        # counter updates, published with the verdicts: the other workers add them to theirs
        changes = (c for item in items if isinstance(item, Published) for c in item.judged.counter_changes)
        for rec in counter_records(changes, self.worker_id, max_bytes=self.settings.max_output_bytes):
            self.outputs.add(self.settings.topics.counters, rec["set"].encode(), dumps(rec))
        return items

    async def _publish(self) -> None:
        """Flush the batch's outputs; while the broker refuses them, retry with backoff instead of moving on (the
        input offsets stay unacknowledged meanwhile, and a restart would redeliver them). A record refused for its
        size is not retried: it becomes a dead letter (``_refused``)."""
        delay = 0.5
        while True:
            try:
                await self.outputs.flush()
                self.health.produced()
                return
            except Exception as exc:
                if self._stopping:
                    raise
                self.metrics.publish_retries.inc()
                self.health.failed()
                logger.warning(
                    "publishing %d outputs failed (%s); retrying in %.1f s",
                    self.outputs.pending,
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _refused(self, topic: str, key: bytes | None, value: bytes) -> tuple[str, bytes | None, bytes] | None:
        """A record the broker refused for its size, even alone: a small dead letter says so instead."""
        logger.error(
            "the broker refused a %d-byte record for %s as too large: raise max.message.bytes on the topic or lower "
            "PIPLWATCH_MAX_OUTPUT_BYTES; the record is dead-lettered",
            len(value),
            topic,
        )
        self.metrics.record_dead_letter("output_too_large")
        if topic == self.settings.topics.dlq:
            return None
        rec = self.judge.dead_letter(
            value,
            key,
            "output_too_large",
            f"the broker refused a {len(value)}-byte record for {topic}",
            {"topic": topic},
        ).record
        rec["excerpt"] = ""  # the refused record is piplwatch's own output: its digest is enough
        return self.settings.topics.dlq, key, dumps(rec)

    def _judge_one(self, event: Any) -> BatchItem | None:
        """Judge one event and queue its outputs; returns what to record once they are acknowledged (None: a
        redelivery whose outputs were acknowledged before)."""
        msg = event.message
        raw = event.value if isinstance(event.value, bytes) else bytes(event.value or b"")
        key = event.key if isinstance(event.key, (bytes, type(None))) else str(event.key).encode()
        source = {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}
        try:
            out = self.judge.judge(raw, key=key, source={**source, "timestamp_ms": int(msg.timestamp * 1000)})
        except Exception as exc:
            logger.exception("judging failed at %s[%d]@%d", msg.topic, msg.partition, msg.offset)
            dead = self.judge.dead_letter(raw, key, "invalid_field", f"internal error: {type(exc).__name__}", source)
            self.outputs.add(self.settings.topics.dlq, dead.kafka_key, dumps(dead.record))
            return Failed(dead)
        if isinstance(out, DeadLettered):
            self.outputs.add(self.settings.topics.dlq, out.kafka_key, dumps(out.record))
            return out
        t = out.transfer
        digest = hashlib.blake2b(raw, digest_size=12).digest()
        if self.state.is_done(t.transfer_id, digest):
            # the same message again after a crash: its outputs were acknowledged (counters are sets: unchanged)
            self.metrics.record_redelivered()
            return None
        records = [(self.settings.topics.verdicts, t.transfer_id.encode(), dumps(out.verdict))]
        records += [(self.settings.topics.alerts, a["alert_id"].encode(), dumps(a)) for a in out.alerts]
        if not all(self.outputs.fits(k, v) for _, k, v in records):
            big = max(len(v) for _, _, v in records)
            dead = self.judge.dead_letter(
                raw, key, "output_too_large", f"its verdict or an alert would be {big} bytes", source
            )
            self.outputs.add(self.settings.topics.dlq, dead.kafka_key, dumps(dead.record))
            return dead
        for topic, k, v in records:
            self.outputs.add(topic, k, v)
        return Published(out, digest, msg.timestamp, out.finding_counts())

    def _after_ack(self, item: Published) -> None:
        """Record a judged transfer whose outputs the broker acknowledged: done-marker, metrics, summary, alerts."""
        out = item.judged
        if not self._stopping:
            self.state.mark_done(out.transfer.transfer_id, item.digest)
        self.metrics.record(out, item.timestamp, item.finding_counts)
        self.summary.record(out.verdict, out.transfer.recipient_name, out.facts, out.alerts)
        for a in out.alerts:
            self.recent_alerts.append(a)
            if self.settings.print_alerts:
                print(alert_line(a), flush=True)
        del self.recent_alerts[:-RECENT_ALERTS]


def alert_line(a: dict[str, Any]) -> str:
    """The one line ``--print-alerts`` prints for an alert record."""
    u = a["unmapped"]
    return (
        f"ALERT {a['severity'].upper():8} {a['compliance']['control']:6} {u['recipient_id']:<16} "
        f"{a['finding_info']['title']} / {u['rule_title_zh']} (transfer {u['transfer_id']}, "
        f"{u['subjects']['uncovered']}/{u['subjects']['total']} subjects uncovered)"
    )


def freeze_gc() -> None:
    """Everything allocated so far (Faust, aiokafka, the compiled rules, the scanner) lives as long as the process:
    take it out of the cyclic collector's generations so collections only walk new objects."""
    gc.collect()
    gc.freeze()
