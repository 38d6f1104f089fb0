"""The Faust application: one thin agent that hands each batch of transfers to the ``Judge``.

``create_app(settings)`` returns the app and its ``Runtime`` (scanner, state, judge,
materializer, metrics, web server). Agents stay thin; all decisions live in ``stream.judge``
and ``stream.authz``.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import os
import secrets
import sys
import time
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from detectors import DetectorConfig, Scanner
from detectors.redact import load_hmac_key
from stream.judge import Judge, counter_records, dumps
from stream.state.materialize import Materializer
from stream.metrics import PiplwatchMetrics
from stream.outputs import OutputProducer
from stream.settings import Settings
from stream.state import StateStore

logger = logging.getLogger(__name__)

#: Faust 0.15 hard-codes fetch_max_wait_ms=1500 for worker consumers. A broker that does not answer a
#: long poll when data arrives (the embedded Tansu; measured: median 715 ms, max 1.5 s per message at
#: 1500 ms, 3 ms at 50 ms) then adds that wait to every transfer. Apache Kafka answers early either way.
FETCH_MAX_WAIT_MS = 50
#: Transfers judged per agent batch, and the longest a batch waits to fill (adds at most this to latency).
BATCH_MAX = 256
BATCH_WITHIN_S = 0.01
#: How often the worker drops expired done markers and counter sets from its store (``StateStore.prune``).
PRUNE_INTERVAL_S = 600.0


def _bound_fetch_wait(ms: int) -> None:
    from faust.transport.drivers import aiokafka as drv

    original = drv.AIOKafkaConsumerThread._create_worker_consumer
    if getattr(original, "_piplwatch", False):
        return

    def create(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = ms  # read by aiokafka when the fetcher starts
        return consumer

    create._piplwatch = True  # type: ignore[attr-defined]
    drv.AIOKafkaConsumerThread._create_worker_consumer = create


class Runtime:
    """Per-process services around the agent."""

    def __init__(self, settings: Settings, app: faust.App) -> None:
        self.settings = settings
        self.app = app
        self.registry = CollectorRegistry()
        self.metrics = PiplwatchMetrics.create(self.registry)
        config = DetectorConfig.load(settings.detector_config) if settings.detector_config else DetectorConfig()
        ner = None
        if settings.ner and config.ner:
            from detectors.ner import load_ner

            ner = load_ner(required=False)
            if ner is not None and ner.nlp is not None:
                self.metrics.model_info.labels(ner.model_name, ner.model_version).set(1)
        self.scanner = Scanner(config, hmac_key=load_hmac_key(settings.hmac_key_file), ner=ner)
        self.state = StateStore(settings.state_dir)
        self.judge = Judge(self.scanner, self.state, max_message_bytes=settings.max_message_bytes)
        self.worker_id = secrets.token_hex(8)  # tells this process's counter updates from other workers'
        self.materializer = Materializer(settings.bootstrap, {"consents": settings.topics.consents,
                                                              "agreements": settings.topics.agreements,
                                                              "counters": settings.topics.counters},
                                         self.state, self.scanner, client_kwargs=settings.aiokafka_kwargs(),
                                         metrics=self.metrics, rebuild=settings.rebuild_state,
                                         worker_id=self.worker_id)
        self.outputs = OutputProducer(settings.bootstrap, max_request_size=settings.max_message_bytes * 2,
                                      client_kwargs=settings.aiokafka_kwargs())
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

        await self.materializer.start()
        await self.outputs.start()
        self._web = await start_web(self, self.settings.web_bind, self.settings.web_port)
        self.started.set()
        await self.materializer.ready.wait()
        self.metrics.state_ready.set(1)
        self._prune_task = asyncio.create_task(self._prune_loop())
        if os.environ.get("PIPLWATCH_GC_FREEZE", "1") != "0":
            # everything allocated so far (Faust, aiokafka, the compiled rules, the scanner) lives as long as the
            # process: take it out of the cyclic collector's generations so collections only walk new objects
            gc.collect()
            gc.freeze()

    async def _prune_loop(self) -> None:
        """Keep the durable store bounded: expired done markers and counter sets go every ``PRUNE_INTERVAL_S``."""
        while True:
            try:
                gone = self.state.prune()
                for kind, n in gone.items():
                    self.metrics.state_pruned.labels(kind).inc(n)
                for store, size in self.state.disk_bytes().items():
                    self.metrics.state_disk.labels(store).set(size)
                if any(gone.values()):
                    logger.info("state: pruned %s", gone)
            except Exception:  # noqa: BLE001 - housekeeping must never stop the worker
                logger.exception("state pruning failed")
            await asyncio.sleep(PRUNE_INTERVAL_S)

    async def stop(self) -> None:
        """Stop services and close the store."""
        self._stopping = True
        if self._prune_task is not None:
            self._prune_task.cancel()
        await self.materializer.stop()
        await self.outputs.stop()
        if self._web is not None:
            await self._web.cleanup()
        self.state.close()

    async def handle_batch(self, events: list[Any]) -> None:
        """Judge a batch of transfer events, publish every output, and return once the broker acknowledged them.

        Faust acknowledges (and later commits) the batch's input offsets only after this returns, so a crash
        before the acks means redelivery, never a lost verdict. Counters, done-markers and metrics are updated
        after the acks: a redelivered transfer is recognised by its done-marker and not counted twice.
        """
        await self.started.wait()
        acked: list[tuple[Any, Any]] = []
        for event in events:
            done = await self._judge_one(event)
            if done is not None:
                acked.append(done)
        # one update per counter set and batch, published with the verdicts: the other workers add it to theirs
        for rec in counter_records((item[0] for kind, item in acked if kind == "judged"), self.worker_id):
            self.outputs.add(self.settings.topics.counters, rec["set"].encode(), dumps(rec))
        await self._publish()
        for kind, item in acked:
            if kind == "error":
                self.metrics.dlq.labels(item).inc()
                self.metrics.messages.labels("error").inc()
            elif kind == "dlq":
                self.metrics.dlq.labels(item).inc()
                self.metrics.messages.labels("dead_letter").inc()
                self.summary.dead_letter()
            else:
                self._after_ack(*item)

    async def _publish(self) -> None:
        """Flush the batch's outputs; while the broker refuses them, retry with backoff instead of moving on (the
        input offsets stay unacknowledged meanwhile, and a restart would redeliver them)."""
        delay = 0.5
        while True:
            try:
                await self.outputs.flush()
                return
            except Exception as exc:  # noqa: BLE001 - a broker outage must not drop verdicts
                if self._stopping:
                    raise
                self.metrics.publish_retries.inc()
                logger.warning("publishing %d outputs failed (%s); retrying in %.1f s", self.outputs.pending,
                               type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _judge_one(self, event: Any) -> tuple[str, Any] | None:
        """Judge one event and queue its outputs; returns what to record once they are acknowledged."""
        msg = event.message
        raw = event.value if isinstance(event.value, (bytes, bytearray)) else bytes(event.value or b"")
        key = event.key if isinstance(event.key, (bytes, type(None))) else str(event.key).encode()
        await self.materializer.wait_synced(msg.timestamp * 1000)
        try:
            out = self.judge.judge(raw, key=key, source={"topic": msg.topic, "partition": msg.partition,
                                                          "offset": msg.offset, "timestamp_ms": int(msg.timestamp * 1000)})
        except Exception as exc:  # noqa: BLE001 - never stop the worker on one message
            logger.exception("judging failed at %s[%d]@%d", msg.topic, msg.partition, msg.offset)
            rec = self.judge.dead_letter(raw, key, "invalid_field", f"internal error: {type(exc).__name__}",
                                         {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset})
            self.outputs.add(self.settings.topics.dlq, key, dumps(rec))
            return "error", "invalid_field"
        if out.dlq is not None:
            self.outputs.add(self.settings.topics.dlq, key, dumps(out.dlq))
            return "dlq", out.dlq["reason"]
        t = out.transfer
        assert t is not None and out.verdict is not None and out.decision is not None
        digest = hashlib.blake2b(raw, digest_size=12).digest()
        if self.state.is_done(t.transfer_id, digest):
            # the same message again after a crash: its outputs were acknowledged (counters are sets: unchanged)
            self.metrics.messages.labels("redelivered").inc()
            return None
        self.outputs.add(self.settings.topics.verdicts, t.transfer_id.encode(), dumps(out.verdict))
        for a in out.alerts:
            self.outputs.add(self.settings.topics.alerts, a["alert_id"].encode(), dumps(a))
        return "judged", (out, digest, msg.timestamp)

    def _after_ack(self, out: Any, digest: bytes, timestamp: float) -> None:
        """Record a judged transfer whose outputs the broker acknowledged: done-marker, metrics, summary."""
        t = out.transfer
        if not self._stopping:
            self.state.mark_done(t.transfer_id, digest)
        m = self.metrics
        v = out.verdict["verdict"]
        m.child(m.messages, "judged").inc()
        m.child(m.transfers, t.channel, v).inc()
        m.detection_seconds.observe(out.detection_seconds)
        m.latency_seconds.observe(max(0.0, time.time() - timestamp))
        m.last_processed.set(time.time())
        for f in out.findings:
            m.child(m.findings, f.entity_type, f.category, f.sensitivity).inc()
        subj = out.verdict["subjects"]
        m.child(m.subjects, v, "uncovered").inc(subj["uncovered"])
        m.child(m.subjects, v, "covered").inc(max(0, subj["total"] - subj["uncovered"]))
        if out.facts.get("cross_border"):
            m.child(m.cbdt_ytd, "pi").set(out.facts["cb_individuals_ytd_after"])
            m.child(m.cbdt_ytd, "spi").set(out.facts["cb_spi_individuals_ytd_after"])
        recipient = m.recipient_label(t.recipient_id, out.facts["recipient_registered"])
        for h in out.decision.hits:
            if h.rule.verdict == "violation":
                m.child(m.violations, h.rule.id, h.severity).inc()
                m.child(m.recipient_violations, recipient, h.rule.id, h.severity).inc()
        self.summary.record(out.verdict, t.recipient_name, out.facts, out.alerts)
        for a in out.alerts:
            self.recent_alerts.append(a)
            if self.settings.print_alerts:
                u = a["unmapped"]
                print(f"ALERT {a['severity'].upper():8} {a['compliance']['control']:6} {u['recipient_id']:<16} "
                      f"{a['finding_info']['title']} / {u['rule_title_zh']} (transfer {u['transfer_id']}, "
                      f"{u['subjects']['uncovered']}/{u['subjects']['total']} subjects uncovered)", flush=True)
        del self.recent_alerts[:-200]


def create_app(settings: Settings) -> tuple[faust.App, Runtime]:
    """Build the Faust app for ``settings``."""
    _bound_fetch_wait(FETCH_MAX_WAIT_MS)
    credentials = None
    if settings.sasl_mechanism:
        credentials = faust.SASLCredentials(username=settings.sasl_username, password=settings.sasl_password,
                                            mechanism=settings.sasl_mechanism)
    elif settings.ssl_cafile:
        import ssl

        credentials = ssl.create_default_context(cafile=settings.ssl_cafile)
    app = faust.App(
        settings.app_id, broker=settings.broker, broker_credentials=credentials, store="memory://",
        broker_session_timeout=6, broker_heartbeat_interval=2, broker_commit_every=500, broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest", topic_partitions=settings.partitions, web_enabled=False,
        consumer_max_fetch_size=settings.max_message_bytes * 4, producer_max_request_size=settings.max_message_bytes * 2,
    )
    transfers = app.topic(settings.topics.transfers, key_type=bytes, value_type=bytes, key_serializer="raw",
                          value_serializer="raw", partitions=settings.partitions)
    runtime = Runtime(settings, app)

    @app.agent(transfers, name="judge_transfers")
    async def judge_transfers(stream: Any) -> None:
        # batches: outputs go out as one record batch per partition, and input offsets are acknowledged only
        # after the broker acknowledged the batch's outputs (Stream.take_events acks after the body returns)
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            await runtime.handle_batch(events)

    @app.task
    async def start_runtime() -> None:
        await runtime.start()

    @app.on_before_shutdown.connect
    async def stop_runtime(sender: Any, **kwargs: Any) -> None:
        await runtime.stop()

    return app, runtime


def run_worker(settings: Settings, *, loglevel: str = "warning") -> int:
    """Run a worker until stopped (blocks; handles SIGINT/SIGTERM)."""
    from faust.worker import Worker

    from stream.topics import ensure_topics

    ensure_topics(settings)
    app, _ = create_app(settings)
    worker = Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    worker.spinner = None  # no terminal escape codes in logs and piped output
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_worker(Settings()))
